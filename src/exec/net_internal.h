/* net_internal.h — the executor's network builder: buffers, steps and per-op compilers. */
#ifndef DLB_NET_INTERNAL_H
#define DLB_NET_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>
#include <stdbool.h>

#include "check.h"
#include "dlbricks/exec.h"

#define DLB__MAX_ARGS 64

typedef enum dlb__buf_kind {
    DLB__BUF_ACT,      /* produced by a step inside the network */
    DLB__BUF_EXTERNAL, /* network input: filled once */
    DLB__BUF_WEIGHT,   /* weights: filled once */
    DLB__BUF_ALIAS,    /* same memory as another buffer, other descriptor (a view) */
} dlb__buf_kind;

typedef struct dlb__buf {
    dnnl_memory_desc_t md;      /* physical descriptor */
    dnnl_memory_desc_t user_md; /* plain layout for set_input/set_weight/get_output */
    dnnl_memory_t mem;
    void *data;
    void *at; /* rotated: the copy in the pool its handle points to now (NULL: data) */
    size_t size;
    dlb__buf_kind kind;
    int alias_of;  /* DLB__BUF_ALIAS: the buffer whose memory it shares */
    bool pinned;   /* DLB__BUF_ACT that must keep its own memory (e.g. a pad's zero border) */
    bool fixed;    /* DLB__BUF_WEIGHT whose values matter (variances, indices): never rotated */
    bool cold;     /* an input the model reads, or an output it writes, far away: rotated */
    bool warm;     /* DLB__BUF_WEIGHT the model finds in cache (dlb_op_spec.warm): never rotated */
    bool streamed; /* an op's output written with non-temporal stores (dlb_operand.streamed) */
    int32_t cold_mib; /* rotated: its reuse distance in the model (dlb_operand.cold_mib) */
    int32_t near_kib; /* warm input rewritten amid other bytes (dlb_operand.near_kib) */
    int copies;       /* rotated: the copies it cycles through (weights.c, plan_rotation) */
    size_t pool_off;  /* rotated: where its copies start in the pool */
    int first_step, last_step; /* lifetime, for sharing memory between activations */
} dlb__buf;

/* Fill bytes (whole 32-bit words) with random data valid as f32, bf16 and s8 in [-1, 1]. */
void dlb__fill_random(void *data, size_t bytes, uint64_t *state);

struct dlb__step;
typedef void (*dlb__custom_fn)(struct dlb__step *s, dlb_net *n);

typedef struct dlb__step {
    dnnl_primitive_t prim; /* NULL for a custom step */
    dlb__custom_fn custom;
    int op; /* op index; -1 for an inserted reorder */
    int n_args;
    int arg_kind[DLB__MAX_ARGS];
    int arg_buf[DLB__MAX_ARGS];
    dnnl_exec_arg_t args[DLB__MAX_ARGS]; /* resolved once before the first run */
    double params[4];                    /* custom steps */
} dlb__step;

struct dlb_net {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dlb__buf *bufs;
    int n_bufs, cap_bufs;
    dlb__step *steps;
    int n_steps, cap_steps;
    int n_ops;
    char **impl;    /* per op */
    int **dst_buf;  /* per op, per dst */
    int **slot_buf; /* per op, per slot (sources then post-op operands): buffer, or -1 */
    int **wei_buf;  /* per op, per weight */
    int n_reorders;
    const dlb_netdesc *desc; /* valid during dlb_net_create only */
    dlb_diag *diag;
    uint64_t rng;
    unsigned char *flush;
    size_t flush_size;
    unsigned char *act_arena; /* memory shared by activations with disjoint lifetimes */
    size_t act_arena_size;
    bool no_reuse;
    const void *rotation_pool; /* the pool the rotation was planned for (weights.c) */
    size_t rotation_pool_size;
    int rotation_cycle; /* the most copies any rotated buffer has; 0: none planned */
};

/* ---- builder API used by the op compilers (net.c) ---- */

/* Plain (row-major) descriptor of an operand. */
dlb_status dlb__plain_md(dnnl_memory_desc_t *md, const dlb_operand *o);
/* Number of slots (sources + post-op operands) of op j. */
int dlb__n_slots(const dlb_op_spec *s);
/* The operand that fills slot `slot` of an op. */
const dlb_operand *dlb__slot_operand(const dlb_op_spec *s, int slot);
/* The layout a dense 1x1 convolution producing o would give it on this CPU (nhwc or blocked, as
 * oneDNN picks; plain where it has none), whatever o->plain_layout says. */
dlb_status dlb__conv_layout_md(dlb_net *n, const dlb_operand *o, dnnl_memory_desc_t *md);
/* Descriptor the data of slot `slot` currently has: the producer's dst descriptor, or plain. */
dlb_status dlb__slot_md(dlb_net *n, int op, int slot, dnnl_memory_desc_t *md);
/* Buffer holding slot `slot` in descriptor `want` (reorders or creates as needed). */
dlb_status dlb__slot_buf(dlb_net *n, int op, int slot, const dnnl_memory_desc_t *want, int *buf);
/* New buffer. */
dlb_status dlb__new_buf(dlb_net *n, const dnnl_memory_desc_t *md, dlb__buf_kind kind, int *buf);
/* Weight w of op j in descriptor md; user_md is its plain layout (may be NULL: same dims). */
dlb_status dlb__weight_buf(dlb_net *n, int op, int w, const dnnl_memory_desc_t *md,
                           const dnnl_memory_desc_t *user_md, int *buf);
/* Where buffer b's memory handle points now: a rotated buffer's current copy, else its data. */
static inline void *dlb__buf_at(const dlb__buf *b) {
    return b->at ? b->at : b->data;
}

/* What names step i in an error line: its op's oneDNN implementation, or "reorder". */
static inline const char *dlb__step_name(const dlb_net *n, int i) {
    return n->steps[i].op >= 0 ? dlb_net_impl(n, n->steps[i].op) : "reorder";
}

/* Create the primitive of pd, append it as a step with the given args; records impl name. */
dlb_status dlb__add_step(dlb_net *n, int op, dnnl_primitive_desc_t pd, int n_args, const int *kinds,
                         const int *bufs);
dlb_status dlb__add_custom_step(dlb_net *n, int op, dlb__custom_fn fn, int n_args, const int *kinds,
                                const int *bufs, const double *params);
void dlb__set_dst(dlb_net *n, int op, int k, int buf);
/* Output 0 of op is plain buffer `buf` seen with the spec's dst dims (unit dims differ). */
dlb_status dlb__set_dst_view(dlb_net *n, int op, int buf);
/* Post-ops of a spec as a primitive attribute; binary operands' buffers appended to
 * kinds/bufs (*n_args updated).  *sum_slot is the slot of a sum post-op operand or -1. */
dlb_status dlb__post_ops(dlb_net *n, int op, dnnl_primitive_attr_t *attr, int *n_args, int *kinds,
                         int *bufs, int *sum_slot);
/* Post-ops [first, end) of the spec only (for splitting a chain oneDNN cannot fuse fast). */
dlb_status dlb__post_ops_range(dlb_net *n, int op, int first, int end, dnnl_primitive_attr_t *attr,
                               int *n_args, int *kinds, int *bufs, int *sum_slot);
/* Create pd for op_desc with post-ops; when oneDNN only has a reference kernel for the fused
 * chain, cut the chain before its first binary post-op: *split = that index (else n_post), and
 * the caller applies the rest with dlb__add_split_binary after its step. */
dlb_status dlb__fast_pd(dlb_net *n, int op, const void *op_desc, dnnl_primitive_attr_t *attr,
                        int *n_args, int *kinds, int *bufs, int *sum_slot, int *split,
                        dnnl_primitive_desc_t *pd);
/* Apply post-ops [split, n_post) of op as a binary primitive in place on buffer dst. */
dlb_status dlb__add_split_binary(dlb_net *n, int op, int split, int dst);
/* dst buffer for an op whose pd wants dst_md: with a sum post-op, the sum operand in dst_md. */
dlb_status dlb__dst_buf(dlb_net *n, int op, const dnnl_memory_desc_t *dst_md, int sum_slot,
                        int *buf);
/* oneDNN binary algorithm (undef if alg is not a binary one). */
dnnl_alg_kind_t dlb__dnnl_binary_alg(dlb_alg alg);
/* oneDNN eltwise algorithm for a dlb eltwise alg; false if none (then a custom kernel). */
bool dlb__dnnl_eltwise(dlb_alg alg, double alpha, double beta, dnnl_alg_kind_t *k, float *a,
                       float *b);

/* ---- per-op compilers: one per lowered op family ---- */
dlb_status dlb__compile_conv(dlb_net *n, int op);   /* conv, deconv */
dlb_status dlb__compile_matmul(dlb_net *n, int op); /* matmul, inner_product */
dlb_status dlb__compile_simple(dlb_net *n, int op); /* pool, eltwise, binary, norms, ... */
dlb_status dlb__compile_data(dlb_net *n, int op);   /* concat, transpose, pad, slice, ... */

#endif
