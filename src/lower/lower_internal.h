/* lower_internal.h — private helpers shared by the lowering, fusion and FLOP-counting code. */
#ifndef DLB_LOWER_INTERNAL_H
#define DLB_LOWER_INTERNAL_H

#include "dlbricks/layer.h"

typedef struct dlb_arena dlb_arena;

/* Tensor helpers. */
const dlb_tensor *dlb__tensor(const dlb_graph *g, int t); /* NULL for t < 0 */
bool dlb__is_weight(const dlb_graph *g, int t);           /* initializer or Constant output */
/* Scalar value of a known constant tensor (any dtype, exactly one element). */
bool dlb__const_scalar(const dlb_graph *g, int t, double *v);
/* The only consumer of tensor t (-1 if none, several, or t is a graph output). */
int dlb__sole_consumer(const dlb_graph *g, int t);
bool dlb__op_is(const dlb_node *n, const char *op_type); /* default domain and op_type */

/* Build the spec of one node on its own (raw view).  On failure returns false and sets *why. */
bool dlb__build_node_op(const dlb_graph *g, int node, dlb_arena *a, dlb_op_spec *s,
                        int **src_tensors, int **dst_tensors, int **wei_tensors, const char **why);

/* Eltwise algorithm for a unary node (Relu, Clip with constant bounds, ...); false if none. */
bool dlb__unary_eltwise(const dlb_graph *g, const dlb_node *n, dlb_alg *alg, double *alpha,
                        double *beta);

/* A recognised multi-node eltwise pattern rooted at tensor x. */
typedef struct dlb_pattern {
    const char *name; /* "silu", "hardswish", "gelu_erf", "layernorm" */
    dlb_lop op;       /* DLB_LOP_ELTWISE or DLB_LOP_LNORM */
    dlb_alg alg;
    double alpha, beta, eps;
    int64_t axis;
    int nodes[12];
    int n_nodes;
    int out;        /* tensor produced by the last node */
    int n_weights;  /* lnorm: gamma/beta present */
    int weights[2]; /* lnorm: gamma, beta tensors */
} dlb_pattern;

/* Try every multi-node pattern whose input is tensor x.  \p assigned marks nodes already in a
 * layer.  With \p exclusive (x becomes a post-op input and disappears), every consumer of x
 * must belong to the pattern and x must not be a graph output. */
bool dlb__match_pattern(const dlb_graph *g, int x, const char *assigned, bool exclusive,
                        dlb_pattern *m);

/* FLOPs and bytes of a lowered op (formulas in docs/bricks.md). */
void dlb__op_cost(const dlb_op_spec *s, int64_t *flops, int64_t *bytes);
int64_t dlb__add_sat(int64_t a, int64_t b);               /* INT64_MAX on overflow */
int64_t dlb__operands_bytes(const dlb_operand *o, int n); /* their elements' bytes, saturating */

/* Set the layout class (dlb_operand.plain_layout, layout_groups) and the cache state
 * (dlb_operand.cold) of every source and sum/binary post-op operand of the covered layers, and
 * whether the model keeps their data in cache (dlb_op_spec.warm), in topological
 * order, from their bytes (layout.c, docs/bricks.md section 3). */
bool dlb__assign_layouts(dlb_lowered *l, dlb_arena *a, const dlb_lower_options *opt);

/* Allocate operand arrays. */
bool dlb__spec_alloc(dlb_arena *a, dlb_op_spec *s, int n_src, int n_wei, int n_dst);

#endif
