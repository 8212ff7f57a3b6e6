/* net_data.c — data access outside timing: the caller's plain f32 values in and out of a
 * network's buffers, and a cache flush. */
#include <stdlib.h>

#include "net_internal.h"

static dlb_status copy_between(dlb_net *n, const dnnl_memory_desc_t *from_md, void *from,
                               const dnnl_memory_desc_t *to_md, void *to) {
    dlb_diag *diag = NULL; /* no report to append to here: a failure's one line goes to stderr */
    const char *where = "data copy";
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t a = NULL, b = NULL;
    dlb_status st = DLB_OK;
    DLB_DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from_md, n->eng, to_md, n->eng, NULL));
    DLB_DNNL_CHECK(dnnl_primitive_create(&p, pd));
    DLB_DNNL_CHECK(dnnl_memory_create(&a, from_md, n->eng, from));
    DLB_DNNL_CHECK(dnnl_memory_create(&b, to_md, n->eng, to));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
    DLB_DNNL_CHECK(dnnl_primitive_execute(p, n->strm, 2, args));
    DLB_DNNL_CHECK(dnnl_stream_wait(n->strm));
cleanup:
    if (a) dnnl_memory_destroy(a);
    if (b) dnnl_memory_destroy(b);
    if (p) dnnl_primitive_destroy(p);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

/* The caller's side of a buffer: its plain layout, in f32 for every reduced-precision type
 * (the reorder converts); 32-bit integer data (gather indices) stays as it is. */
static dnnl_memory_desc_t caller_md(const dlb__buf *b) {
    dnnl_memory_desc_t md = b->user_md;
    if (md.ndims != b->md.ndims) { /* a buffer kept with other dims (a 2-D matmul): plain */
        dlb_operand o = {.dtype = DLB_DT_F32, .shape = {.rank = b->md.ndims}};
        for (int i = 0; i < o.shape.rank; i++) o.shape.dims[i] = b->md.dims[i];
        dnnl_memory_desc_t plain;
        if (dlb__plain_md(&plain, &o) == DLB_OK) {
            plain.data_type = md.data_type;
            md = plain;
        }
    }
    if (md.data_type == dnnl_s8 || md.data_type == dnnl_u8 || md.data_type == dnnl_bf16 ||
        md.data_type == dnnl_f16)
        md.data_type = dnnl_f32;
    return md;
}

static dlb_status put(dlb_net *n, int buf, const float *data, size_t count) {
    if (buf < 0) return DLB_ENOTFOUND;
    dlb__buf *b = &n->bufs[buf];
    dnnl_memory_desc_t user = caller_md(b);
    if (dnnl_memory_desc_get_size(&user) != count * sizeof(float)) return DLB_EINVAL;
    return copy_between(n, &user, (void *)data, &b->md, b->data);
}

dlb_status dlb_net_set_input(dlb_net *n, int op, int slot, const float *data, size_t count) {
    if (op < 0 || op >= n->n_ops) return DLB_EINVAL;
    return put(n, n->slot_buf[op][slot], data, count);
}

dlb_status dlb_net_set_weight(dlb_net *n, int op, int w, const float *data, size_t count) {
    if (op < 0 || op >= n->n_ops) return DLB_EINVAL;
    return put(n, n->wei_buf[op][w], data, count);
}

dlb_status dlb_net_get_output(dlb_net *n, int op, int k, float *data, size_t count) {
    if (op < 0 || op >= n->n_ops || n->dst_buf[op][k] < 0) return DLB_EINVAL;
    dlb__buf *b = &n->bufs[n->dst_buf[op][k]];
    dnnl_memory_desc_t user = caller_md(b);
    if (dnnl_memory_desc_get_size(&user) != count * sizeof(float)) return DLB_EINVAL;
    /* where the op wrote: a rotated output's current copy in the pool */
    return copy_between(n, &b->md, dlb__buf_at(b), &user, data);
}

void dlb_net_flush_caches(dlb_net *n) {
    /* Write a buffer larger than the last-level cache so the network's data is evicted. */
    if (!n->flush) {
        n->flush_size = 64u << 20;
        n->flush = malloc(n->flush_size);
        if (!n->flush) return;
    }
    for (size_t i = 0; i < n->flush_size; i += 64) n->flush[i] = (unsigned char)i;
}
