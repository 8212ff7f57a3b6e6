/* infer_internal.h — helpers shared by the per-op shape inference files (src/shape only). */
#ifndef DLB_SHAPE_INFER_INTERNAL_H
#define DLB_SHAPE_INFER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/arena.h"
#include "dlbricks/graph.h"
#include "ops.h"

struct dlb_infer_ctx {
    dlb_graph *g;
    dlb_diag *diag;
    int64_t opset;
    char reason[256]; /* why the current node could not be resolved (soft failure) */
};

/* Soft failure: remember why and return DLB_EUNSUPPORTED (the driver warns once). */
dlb_status dlb__unknown(dlb_infer_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hard failure: report an error naming the node and return st. */
dlb_status dlb__fail(dlb_infer_ctx *c, const dlb_node *n, dlb_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Input tensor i, or NULL when absent (beyond n_in or an omitted optional input). */
dlb_tensor *dlb__in(dlb_infer_ctx *c, const dlb_node *n, int i);
/* Static shape of input i, or NULL when absent or not (fully) known. */
const dlb_shape *dlb__in_shape(dlb_infer_ctx *c, const dlb_node *n, int i);
/* Input i when its contents are known (is_const), else NULL. */
const dlb_tensor *dlb__in_const(dlb_infer_ctx *c, const dlb_node *n, int i);
/* Output tensor i, or NULL when absent. */
dlb_tensor *dlb__out(dlb_infer_ctx *c, const dlb_node *n, int i);

/* Dtype of input i (UNDEFINED when absent). */
dlb_dtype dlb__in_dtype(dlb_infer_ctx *c, const dlb_node *n, int i);

/* Set output i's shape and dtype (dtype UNDEFINED keeps the current one); clears its value.
 * Checks dims (negative: ESHAPE) and the element count (EOVERFLOW); absent outputs are OK. */
dlb_status dlb__set_out(dlb_infer_ctx *c, const dlb_node *n, int i, const dlb_shape *s,
                        dlb_dtype dt);

/* Make output i constant with count elements (its shape and dtype must have been set):
 * float storage for float dtypes, integer storage otherwise.  NULL (not folded) when count
 * exceeds DLB_MAX_CONST_ELEMS or disagrees with the shape, or on out-of-memory (*st). */
dlb_tensor *dlb__const_out(dlb_infer_ctx *c, const dlb_node *n, int i, int64_t count,
                           dlb_status *st);
/* Forget a value started with dlb__const_out (folding turned out impossible). */
void dlb__const_drop(dlb_tensor *t);
/* Store element k of a constant output, converting to its storage (bool -> 0/1; f32/f16/bf16
 * values are rounded to float). */
void dlb__put_f(dlb_tensor *t, int64_t k, double x);
void dlb__put_i(dlb_tensor *t, int64_t k, int64_t x);
/* Store element j of src's value as element k of t. */
void dlb__put_elem(dlb_tensor *t, int64_t k, const dlb_tensor *src, int64_t j);
/* Output t (shape set) takes src's known value as is (views: same elements, same order). */
void dlb__const_share(dlb_tensor *t, const dlb_tensor *src);
/* Product of dims[from..to) into *r; false on overflow. */
bool dlb__prod(const int64_t *dims, int from, int to, int64_t *r);

/* Element k of a known value as integer / double. */
int64_t dlb__vi(const dlb_tensor *t, int64_t k);
double dlb__vf(const dlb_tensor *t, int64_t k);

/* Integer list from input in_idx (when present: must be constant) or else attribute attr (INT
 * or INTS; attr may be NULL), copied into v (room for max values) with its length in *count;
 * *present is false when neither exists.  Returns DLB_OK, or DLB_EUNSUPPORTED when the input
 * is not a known constant or the list is longer than max. */
dlb_status dlb__ints_arg(dlb_infer_ctx *c, const dlb_node *n, int in_idx, const char *attr,
                         int64_t *v, int max, int *count, bool *present);

/* Normalize a possibly negative axis into [0, rank); -1 when out of range. */
int dlb__axis(int64_t axis, int rank);

/* Checked int64 arithmetic; false on overflow. */
static inline bool dlb__add_ok(int64_t a, int64_t b, int64_t *r) {
    return !__builtin_add_overflow(a, b, r);
}
static inline bool dlb__mul_ok(int64_t a, int64_t b, int64_t *r) {
    return !__builtin_mul_overflow(a, b, r);
}

/* Numpy-style broadcast of a and b into out; false when incompatible or rank too large. */
bool dlb__broadcast(const dlb_shape *a, const dlb_shape *b, dlb_shape *out);

/* Flat index into a broadcast operand: the element of src (shape s) seen at flat position k
 * of the broadcast output (shape o). */
int64_t dlb__bcast_index(const dlb_shape *o, const dlb_shape *s, int64_t k);

/* Per-op infer functions, grouped by file. */
#define DLB_INFER_FN_(name) dlb_status dlb__infer_##name(dlb_infer_ctx *c, dlb_node *n)
/* infer_conv.c */
DLB_INFER_FN_(conv);
DLB_INFER_FN_(conv_transpose);
DLB_INFER_FN_(pool);
DLB_INFER_FN_(global_pool);
DLB_INFER_FN_(gemm);
DLB_INFER_FN_(matmul);
DLB_INFER_FN_(batchnorm);
DLB_INFER_FN_(same_as_input);
DLB_INFER_FN_(layernorm);
DLB_INFER_FN_(einsum);
/* infer_elementwise.c */
DLB_INFER_FN_(unary);
DLB_INFER_FN_(binary);
DLB_INFER_FN_(compare);
DLB_INFER_FN_(logical);
DLB_INFER_FN_(variadic);
DLB_INFER_FN_(where);
DLB_INFER_FN_(clip);
DLB_INFER_FN_(prelu);
DLB_INFER_FN_(cast);
DLB_INFER_FN_(cast_like);
/* infer_tensor.c */
DLB_INFER_FN_(concat);
DLB_INFER_FN_(reshape);
DLB_INFER_FN_(flatten);
DLB_INFER_FN_(transpose);
DLB_INFER_FN_(squeeze);
DLB_INFER_FN_(unsqueeze);
DLB_INFER_FN_(expand);
DLB_INFER_FN_(tile);
DLB_INFER_FN_(gather);
DLB_INFER_FN_(gather_elements);
DLB_INFER_FN_(depth_to_space);
DLB_INFER_FN_(space_to_depth);
/* infer_slice.c */
DLB_INFER_FN_(slice);
DLB_INFER_FN_(split);
DLB_INFER_FN_(pad);
DLB_INFER_FN_(resize);
DLB_INFER_FN_(upsample);
/* infer_fold.c */
DLB_INFER_FN_(shape);
DLB_INFER_FN_(size);
DLB_INFER_FN_(constant);
DLB_INFER_FN_(constant_of_shape);
DLB_INFER_FN_(range);
DLB_INFER_FN_(identity);
DLB_INFER_FN_(dropout);
DLB_INFER_FN_(reduce);
DLB_INFER_FN_(arg_reduce);
DLB_INFER_FN_(topk);
DLB_INFER_FN_(data_dependent);
#undef DLB_INFER_FN_

#endif
