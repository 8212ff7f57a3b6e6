/* ops_simple.h — shared helpers of ops_simple.c, ops_binary.c and ops_norm.c. */
#ifndef DLB_OPS_SIMPLE_H
#define DLB_OPS_SIMPLE_H

#include "net_internal.h"

#define DLB__SIMPLE_MAX_FIXED 8

/* One primitive of an op: sources read from the op's slots in the descriptor the primitive
 * wants, arguments already bound to buffers, and the destination the primitive chooses. */
typedef struct dlb__simple_step {
    const_dnnl_op_desc_t desc;
    int n_in;
    int in_arg[2], in_slot[2];
    int n_fixed;
    int fixed_arg[DLB__SIMPLE_MAX_FIXED], fixed_buf[DLB__SIMPLE_MAX_FIXED];
    float src0_scale; /* 0: none; else the scale of DNNL_ARG_SRC_0 (binary) */
    bool dst_view;    /* the spec's dst differs from the primitive's by unit dims (a view) */
    bool no_post_ops; /* the op's post-ops are realised otherwise (bnorm's fused relu flag) */
} dlb__simple_step;

/* Create the primitive of `ss` with the op's post-ops, bind its buffers and append it. */
dlb_status dlb__add_simple(dlb_net *n, int op, const dlb__simple_step *ss);

/* Set an external input's user layout to `plain` (same elements, other dims). */
void dlb__fix_user_md(dlb_net *n, int buf, const dnnl_memory_desc_t *plain);
/* Does oneDNN run desc with attr (may be NULL) in reference code, or not at all? */
bool dlb__ref_impl(dlb_net *n, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr);
/* Data type of an operand (f32, ...; integers as s32). */
dnnl_data_type_t dlb__dt_of(const dlb_operand *o);
/* Row-major descriptor of dims d[0..nd). */
dlb_status dlb__dense_md(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t d, dnnl_data_type_t dt);

/* Compilers of ops_binary.c and ops_norm.c. */
dlb_status dlb__compile_binary(dlb_net *n, int op);
dlb_status dlb__compile_bnorm(dlb_net *n, int op); /* bnorm, inorm */
dlb_status dlb__compile_lnorm(dlb_net *n, int op);
dlb_status dlb__compile_reduce(dlb_net *n, int op);

#endif
