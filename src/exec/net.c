/* net.c — executor core: buffers, reorders between formats, steps and running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "placement.h"

const char *dlb__dnnl_status_str(int status) {
    switch (status) {
    case dnnl_success:
        return "success";
    case dnnl_out_of_memory:
        return "out of memory";
    case dnnl_invalid_arguments:
        return "invalid arguments";
    case dnnl_unimplemented:
        return "unimplemented";
    case dnnl_iterator_ends:
        return "iterator ends";
    case dnnl_runtime_error:
        return "runtime error";
    case dnnl_not_required:
        return "not required";
    default:
        return "unknown oneDNN status";
    }
}

/* ---- random data ------------------------------------------------------------------------------*/

static void fill_random(dlb_net *n, dlb__buf *b) {
    dlb__fill_random(b->data, b->size, &n->rng);
}

/* ---- descriptors ------------------------------------------------------------------------------*/

static dnnl_data_type_t dnnl_dt(dlb_dtype dt) {
    switch (dt) {
    case DLB_DT_F32:
        return dnnl_f32;
    case DLB_DT_BF16:
        return dnnl_bf16;
    case DLB_DT_F16:
        return dnnl_f16;
    case DLB_DT_S8:
        return dnnl_s8;
    case DLB_DT_U8:
        return dnnl_u8;
    case DLB_DT_S32:
        return dnnl_s32;
    default:
        return dnnl_data_type_undef;
    }
}

dlb_status dlb__plain_md(dnnl_memory_desc_t *md, const dlb_operand *o) {
    dnnl_dims_t dims, strides;
    int r = o->shape.rank;
    dnnl_data_type_t dt = dnnl_dt(o->dtype);
    /* Integer tensors (gather indices, ...) are stored as s32: the executor never needs more. */
    if (dt == dnnl_data_type_undef && dlb_dtype_is_integer(o->dtype)) dt = dnnl_s32;
    if (dt == dnnl_data_type_undef) return DLB_EUNSUPPORTED;
    if (r == 0) { /* scalars are 1-element 1-D tensors */
        dims[0] = 1;
        strides[0] = 1;
        r = 1;
    } else {
        int64_t s = 1;
        for (int i = r - 1; i >= 0; i--) {
            dims[i] = o->shape.dims[i];
            strides[i] = s;
            s *= o->shape.dims[i] > 0 ? o->shape.dims[i] : 1;
        }
    }
    return dnnl_memory_desc_init_by_strides(md, r, dims, dt, strides) == dnnl_success
               ? DLB_OK
               : DLB_EUNSUPPORTED;
}

int dlb__n_slots(const dlb_op_spec *s) {
    return s->n_src + s->n_post;
}

const dlb_operand *dlb__slot_operand(const dlb_op_spec *s, int slot) {
    return slot < s->n_src ? &s->src[slot] : &s->post[slot - s->n_src].operand;
}

static const dlb_brick_edge *find_edge(const dlb_netdesc *d, int op, int slot) {
    for (int i = 0; i < d->n_edges; i++)
        if (d->edges[i].to_op == op && d->edges[i].to_src == slot && d->edges[i].from_op >= 0)
            return &d->edges[i];
    return NULL;
}

static bool same_dims(const dnnl_memory_desc_t *md, const dlb_operand *o) {
    int r = o->shape.rank ? o->shape.rank : 1;
    if (md->ndims != r) return false;
    for (int i = 0; i < r; i++)
        if (md->dims[i] != (o->shape.rank ? o->shape.dims[i] : 1)) return false;
    return true;
}

/* ---- buffers ----------------------------------------------------------------------------------*/

dlb_status dlb__new_buf(dlb_net *n, const dnnl_memory_desc_t *md, dlb__buf_kind kind, int *out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc ? n->desc->name : NULL;
    if (n->n_bufs == n->cap_bufs) {
        int cap = n->cap_bufs ? 2 * n->cap_bufs : 64;
        dlb__buf *b = realloc(n->bufs, sizeof *b * (size_t)cap);
        DLB_CHECK_ALLOC(b);
        n->bufs = b;
        n->cap_bufs = cap;
    }
    dlb__buf *b = &n->bufs[n->n_bufs];
    memset(b, 0, sizeof *b);
    b->md = *md;
    b->user_md = *md;
    b->kind = kind;
    b->alias_of = -1;
    b->size = dnnl_memory_desc_get_size(md);
    b->first_step = -1;
    b->last_step = -1;
    if (kind != DLB__BUF_ALIAS && (kind != DLB__BUF_ACT || n->no_reuse)) {
        size_t sz = (b->size + 63) & ~(size_t)63;
        b->data = aligned_alloc(64, sz ? sz : 64);
        DLB_CHECK_ALLOC(b->data);
        /* Filled buffers are written once, by fill_random: only their tail is cleared here. */
        size_t filled = kind == DLB__BUF_EXTERNAL || kind == DLB__BUF_WEIGHT
                            ? b->size / sizeof(float) * sizeof(float)
                            : 0;
        memset((char *)b->data + filled, 0, (sz ? sz : 64) - filled);
    }
    DLB_DNNL_CHECK(dnnl_memory_create(&b->mem, md, n->eng, b->data ? b->data : DNNL_MEMORY_NONE));
    if (kind == DLB__BUF_EXTERNAL || kind == DLB__BUF_WEIGHT) fill_random(n, b);
    *out = n->n_bufs++;
cleanup:
    if (st != DLB_OK && n->n_bufs < n->cap_bufs) free(n->bufs[n->n_bufs].data);
    return st;
}

static dlb_status add_reorder(dlb_net *n, int src, const dnnl_memory_desc_t *want, int *out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc ? n->desc->name : NULL;
    dnnl_primitive_desc_t pd = NULL;
    DLB_TRY(dlb__new_buf(n, want, DLB__BUF_ACT, out));
    DLB_DNNL_CHECK(
        dnnl_reorder_primitive_desc_create(&pd, &n->bufs[src].md, n->eng, want, n->eng, NULL));
    int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, bufs[2] = {src, *out};
    DLB_TRY(dlb__add_step(n, -1, pd, 2, kinds, bufs));
    n->n_reorders++;
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

/* A buffer of the same data in descriptor `want`: itself, a cached reorder, or a new one. */
static dlb_status as_md(dlb_net *n, int src, const dnnl_memory_desc_t *want, int *out) {
    if (dnnl_memory_desc_equal(&n->bufs[src].md, want)) {
        *out = src;
        return DLB_OK;
    }
    /* Reuse a reorder of the same buffer into the same descriptor. */
    for (int i = 0; i < n->n_steps; i++) {
        const dlb__step *s = &n->steps[i];
        if (s->op == -1 && s->arg_buf[0] == src &&
            dnnl_memory_desc_equal(&n->bufs[s->arg_buf[1]].md, want)) {
            *out = s->arg_buf[1];
            return DLB_OK;
        }
    }
    return add_reorder(n, src, want, out);
}

/* The layout a convolution producing tensor o would give it on this CPU (nhwc or a blocked
 * layout, as oneDNN picks): an external input of a brick that follows its input's format
 * (pooling, batch norm, eltwise, concat, ...) starts there, as in the whole model, and not in
 * a plain layout some kernels only have slow reference code for.  An input the whole model
 * hands over plain (o->plain_layout: a matmul's output, a graph input, ...; docs/bricks.md)
 * stays plain, so the brick runs the kernel the model runs on it. */
static dlb_status natural_md(dlb_net *n, const dlb_operand *o, dnnl_memory_desc_t *md) {
    return o->plain_layout ? dlb__plain_md(md, o) : dlb__conv_layout_md(n, o, md);
}

dlb_status dlb__conv_layout_md(dlb_net *n, const dlb_operand *o, dnnl_memory_desc_t *md) {
    dlb_status st = dlb__plain_md(md, o);
    if (st != DLB_OK || (o->shape.rank != 4 && o->shape.rank != 5) || md->data_type != dnnl_f32)
        return st;
    int nd = o->shape.rank;
    /* A dense 1x1 convolution, or one of layout_groups groups with a 3x3 kernel (as in the
     * networks that have them: ResNeXt, RegNet), keeping the channel count. */
    int64_t g = o->layout_groups, c = o->shape.dims[1];
    bool grouped = g > 1 && g < c && c % g == 0;
    dnnl_dims_t d, w, strides = {1, 1, 1}, pad = {0, 0, 0};
    for (int i = 0; i < nd; i++) d[i] = o->shape.dims[i];
    int wd = grouped ? nd + 1 : nd, k = 0;
    if (grouped) w[k++] = g;
    w[k++] = grouped ? c / g : c;
    w[k++] = grouped ? c / g : c;
    for (int i = 2; i < nd; i++) {
        w[k++] = grouped ? 3 : 1;
        pad[i - 2] = grouped ? 1 : 0;
    }
    dnnl_memory_desc_t any, wany;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_memory_desc_init_by_tag(&any, nd, d, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&wany, wd, w, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                           &any, &wany, NULL, &any, strides, pad, pad) ||
        dnnl_primitive_desc_create(&pd, &cd, NULL, n->eng, NULL))
        return DLB_OK; /* keep the plain layout */
    *md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_primitive_desc_destroy(pd);
    return DLB_OK;
}

dlb_status dlb__slot_md(dlb_net *n, int op, int slot, dnnl_memory_desc_t *md) {
    const dlb_op_spec *s = &n->desc->ops[op];
    const dlb_operand *o = dlb__slot_operand(s, slot);
    const dlb_brick_edge *e = find_edge(n->desc, op, slot);
    if (e) {
        int b = n->dst_buf[e->from_op][e->from_out];
        if (b >= 0 && same_dims(&n->bufs[b].md, o)) {
            *md = n->bufs[b].md;
            /* Same layout in the operand's own type (an int8 producer feeding an op that runs
             * in f32): the reorder to it converts. */
            dnnl_memory_desc_t own;
            if (dlb__plain_md(&own, o) == DLB_OK && own.data_type != md->data_type &&
                md->format_kind == dnnl_blocked && md->extra.flags == 0)
                md->data_type = own.data_type;
            return DLB_OK;
        }
    }
    return e ? dlb__plain_md(md, o) : natural_md(n, o, md);
}

/* Buffer b seen through a view as operand o (other dims), in layout want: b is brought to plain
 * layout, aliased with o's dims, then reordered to want (a plain want aliases it directly).
 * like: b's operand (its dtype; its dims are read from b's descriptor, which may differ from the
 * spec's: a matmul run as 2-D). */
static dlb_status view_buf(dlb_net *n, int op, int slot, int b, dlb_operand like,
                           const dlb_operand *o, const dnnl_memory_desc_t *want, int *out) {
    dlb_status st = DLB_OK;
    dnnl_memory_desc_t plain_src, plain_view;
    like.shape.rank = n->bufs[b].md.ndims;
    for (int i = 0; i < like.shape.rank; i++) like.shape.dims[i] = n->bufs[b].md.dims[i];
    DLB_TRY(dlb__plain_md(&plain_src, &like));
    DLB_TRY(dlb__plain_md(&plain_view, o));
    if (dnnl_memory_desc_get_size(&plain_src) != dnnl_memory_desc_get_size(&plain_view)) {
        dlb_error(n->diag, n->desc->name, "op %d input %d: view changes the element count", op,
                  slot);
        return DLB_EINVAL;
    }
    int plain;
    DLB_TRY(as_md(n, b, &plain_src, &plain));
    /* A dense row-major `want` of the same size (e.g. rank padded with leading 1s for
     * broadcasting) aliases the plain data directly. */
    bool want_plain = dnnl_memory_desc_get_size(want) == dnnl_memory_desc_get_size(&plain_view);
    if (want_plain) {
        dlb_operand w = {.dtype = o->dtype, .shape = {.rank = want->ndims}};
        for (int i = 0; i < want->ndims; i++) w.shape.dims[i] = want->dims[i];
        dnnl_memory_desc_t wp;
        want_plain = dlb__plain_md(&wp, &w) == DLB_OK && dnnl_memory_desc_equal(&wp, want);
    }
    int alias;
    DLB_TRY(dlb__new_buf(n, want_plain ? want : &plain_view, DLB__BUF_ALIAS, &alias));
    n->bufs[alias].alias_of = plain;
    if (want_plain)
        *out = alias;
    else
        DLB_TRY(as_md(n, alias, want, out));
cleanup:
    return st;
}

/* An external input's cache state in the model (rotated through the pool when cold). */
static void set_cache_state(dlb__buf *b, const dlb_operand *o) {
    b->cold = o->cold;
    b->cold_mib = o->cold_mib;
    if (!o->cold && o->near_kib > b->near_kib) b->near_kib = o->near_kib;
}

/* An external input that the whole model gets through a view of a tensor in a natural layout
 * (o->view_of): created in that layout with that tensor's dims, then viewed as the model does,
 * so the reorder to plain before the view runs inside the brick too.  A concat of a plain first
 * source and natural ones (o->view_mixed) has the natural layout only where that is blocked, as
 * oneDNN picks its output's (the first blocked source's, else the first source's): else it is
 * plain, and the view aliases it. */
static dlb_status external_view_buf(dlb_net *n, int op, int slot, const dlb_operand *o,
                                    const dnnl_memory_desc_t *want, int *out) {
    dlb_operand src = {.dtype = o->dtype, .shape = o->view_of, .layout_groups = o->view_groups};
    dnnl_memory_desc_t nat;
    int ext;
    dlb_status st = natural_md(n, &src, &nat);
    if (st == DLB_OK && o->view_mixed &&
        (nat.format_kind != dnnl_blocked || nat.format_desc.blocking.inner_nblks == 0))
        st = dlb__plain_md(&nat, &src);
    if (st == DLB_OK) st = dlb__new_buf(n, &nat, DLB__BUF_EXTERNAL, &ext);
    if (st == DLB_OK) st = dlb__plain_md(&n->bufs[ext].user_md, &src);
    if (st != DLB_OK) return st;
    set_cache_state(&n->bufs[ext], o);
    n->slot_buf[op][slot] = ext;
    return view_buf(n, op, slot, ext, src, o, want, out);
}

dlb_status dlb__slot_buf(dlb_net *n, int op, int slot, const dnnl_memory_desc_t *want, int *out) {
    dlb_status st = DLB_OK;
    const dlb_op_spec *s = &n->desc->ops[op];
    const dlb_operand *o = dlb__slot_operand(s, slot);
    const dlb_brick_edge *e = find_edge(n->desc, op, slot);
    if (!e && o->view_of.rank > 0) return external_view_buf(n, op, slot, o, want, out);
    if (!e) { /* external input: filled once */
        /* Created in the layout it arrives in (natural_md: plain, or as a producing convolution
         * gives it; docs/bricks.md); an op that wants another layout (a convolution picking
         * nhwc or blocked) reorders it inside the run, as the model does at that boundary. */
        dnnl_memory_desc_t nat;
        if (natural_md(n, o, &nat) == DLB_OK && nat.ndims == want->ndims &&
            !dnnl_memory_desc_equal(&nat, want)) {
            int ext;
            DLB_TRY(dlb__new_buf(n, &nat, DLB__BUF_EXTERNAL, &ext));
            DLB_TRY(dlb__plain_md(&n->bufs[ext].user_md, o));
            set_cache_state(&n->bufs[ext], o);
            n->slot_buf[op][slot] = ext;
            return as_md(n, ext, want, out);
        }
        DLB_TRY(dlb__new_buf(n, want, DLB__BUF_EXTERNAL, out));
        DLB_TRY(dlb__plain_md(&n->bufs[*out].user_md, o));
        set_cache_state(&n->bufs[*out], o);
        /* Rank padded with leading 1s (a broadcast post-op operand): the plain layout of the
         * wanted dims holds the same elements in the same order, and reorders need equal ranks. */
        if (want->ndims != n->bufs[*out].user_md.ndims &&
            dnnl_memory_desc_get_size(want) == dnnl_memory_desc_get_size(&n->bufs[*out].user_md)) {
            dlb_operand w = {.dtype = o->dtype, .shape = {.rank = want->ndims}};
            for (int i = 0; i < want->ndims; i++) w.shape.dims[i] = want->dims[i];
            DLB_TRY(dlb__plain_md(&n->bufs[*out].user_md, &w));
        }
        n->slot_buf[op][slot] = *out;
        return DLB_OK;
    }
    int b = n->dst_buf[e->from_op][e->from_out];
    if (same_dims(&n->bufs[b].md, o) && want->ndims == n->bufs[b].md.ndims)
        return as_md(n, b, want, out);
    /* A view (Reshape/Flatten/...) of the producer's output. */
    return view_buf(n, op, slot, b, n->desc->ops[e->from_op].dst[e->from_out], o, want, out);
cleanup:
    return st;
}

dlb_status dlb__weight_buf(dlb_net *n, int op, int w, const dnnl_memory_desc_t *md,
                           const dnnl_memory_desc_t *user_md, int *out) {
    dlb_status st = dlb__new_buf(n, md, DLB__BUF_WEIGHT, out);
    if (st != DLB_OK) return st;
    n->bufs[*out].warm = n->desc->ops[op].warm;
    if (w < n->desc->ops[op].n_wei) n->bufs[*out].cold_mib = n->desc->ops[op].wei[w].cold_mib;
    if (user_md)
        n->bufs[*out].user_md = *user_md;
    else if (w < n->desc->ops[op].n_wei)
        dlb__plain_md(&n->bufs[*out].user_md, &n->desc->ops[op].wei[w]);
    if (w < n->desc->ops[op].n_wei) n->wei_buf[op][w] = *out;
    return DLB_OK;
}

dlb_status dlb__set_dst_view(dlb_net *n, int op, int buf) {
    dnnl_memory_desc_t view;
    int v;
    dlb_status st = dlb__plain_md(&view, &n->desc->ops[op].dst[0]);
    if (st == DLB_OK) st = dlb__new_buf(n, &view, DLB__BUF_ALIAS, &v);
    if (st != DLB_OK) return st;
    n->bufs[v].alias_of = buf;
    dlb__set_dst(n, op, 0, v);
    return DLB_OK;
}

void dlb__set_dst(dlb_net *n, int op, int k, int buf) {
    n->dst_buf[op][k] = buf;
    n->bufs[buf].streamed = n->bufs[buf].streamed || n->desc->ops[op].dst[k].streamed;
    dlb__plain_md(&n->bufs[buf].user_md, &n->desc->ops[op].dst[k]);
}

/* ---- steps ------------------------------------------------------------------------------------*/

static dlb_status push_step(dlb_net *n, dlb__step **out) {
    if (n->n_steps == n->cap_steps) {
        int cap = n->cap_steps ? 2 * n->cap_steps : 64;
        dlb__step *s = realloc(n->steps, sizeof *s * (size_t)cap);
        if (!s) return DLB_ENOMEM;
        n->steps = s;
        n->cap_steps = cap;
    }
    *out = &n->steps[n->n_steps++];
    memset(*out, 0, sizeof **out);
    return DLB_OK;
}

static void append_impl(dlb_net *n, int op, const char *impl) {
    if (op < 0) return;
    char *old = n->impl[op];
    size_t len = (old ? strlen(old) + 1 : 0) + strlen(impl) + 1;
    char *s = malloc(len);
    if (!s) return;
    snprintf(s, len, "%s%s%s", old ? old : "", old ? "+" : "", impl);
    free(old);
    n->impl[op] = s;
}

dlb_status dlb__add_step(dlb_net *n, int op, dnnl_primitive_desc_t pd, int n_args, const int *kinds,
                         const int *bufs) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc ? n->desc->name : NULL;
    dlb__step *s;
    DLB_TRY(push_step(n, &s));
    s->op = op;
    s->n_args = n_args;
    memcpy(s->arg_kind, kinds, sizeof(int) * (size_t)n_args);
    memcpy(s->arg_buf, bufs, sizeof(int) * (size_t)n_args);
    DLB_DNNL_CHECK(dnnl_primitive_create(&s->prim, pd));
    const char *impl = NULL;
    DLB_DNNL_CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    append_impl(n, op, impl ? impl : "?");
cleanup:
    if (st != DLB_OK) n->n_steps--;
    return st;
}

dlb_status dlb__add_custom_step(dlb_net *n, int op, dlb__custom_fn fn, int n_args, const int *kinds,
                                const int *bufs, const double *params) {
    dlb__step *s;
    dlb_status st = push_step(n, &s);
    if (st != DLB_OK) return st;
    s->op = op;
    s->custom = fn;
    s->n_args = n_args;
    memcpy(s->arg_kind, kinds, sizeof(int) * (size_t)n_args);
    memcpy(s->arg_buf, bufs, sizeof(int) * (size_t)n_args);
    if (params) memcpy(s->params, params, sizeof s->params);
    append_impl(n, op, "dlb:ref");
    return DLB_OK;
}

static void discard_line(void *ctx, dlb_severity sev, const char *line) {
    (void)ctx;
    (void)sev;
    (void)line;
}

/* ---- create / run / free ----------------------------------------------------------------------*/

static dlb_status compile_one(dlb_net *n, int op) {
    const dlb_op_spec *sp = &n->desc->ops[op];
    bool custom = sp->op == DLB_LOP_GATHER || (sp->op == DLB_LOP_ELTWISE && sp->alg == DLB_ALG_ERF);
    if (custom && sp->n_src > 0 && sp->src[0].dtype != DLB_DT_F32) return DLB_EUNSUPPORTED;
    switch (sp->op) {
    case DLB_LOP_CONV:
    case DLB_LOP_DECONV:
        return dlb__compile_conv(n, op);
    case DLB_LOP_MATMUL:
    case DLB_LOP_INNER_PRODUCT:
        return dlb__compile_matmul(n, op);
    case DLB_LOP_CONCAT:
    case DLB_LOP_TRANSPOSE:
    case DLB_LOP_PAD:
    case DLB_LOP_SLICE:
    case DLB_LOP_SPLIT:
    case DLB_LOP_GATHER:
    case DLB_LOP_EXPAND:
        return dlb__compile_data(n, op);
    case DLB_LOP_UNCOVERED:
        dlb_error(n->diag, n->desc->name, "op %d is not covered", op);
        return DLB_EUNSUPPORTED;
    default:
        return dlb__compile_simple(n, op);
    }
}

/* Forget everything compile_one added for `op` after a failed attempt. */
static void roll_back(dlb_net *n, int op, int n_steps, int n_bufs, int n_reorders) {
    while (n->n_steps > n_steps) {
        dlb__step *s = &n->steps[--n->n_steps];
        if (s->prim) dnnl_primitive_destroy(s->prim);
    }
    while (n->n_bufs > n_bufs) {
        dlb__buf *b = &n->bufs[--n->n_bufs];
        if (b->mem) dnnl_memory_destroy(b->mem);
        if (b->kind != DLB__BUF_ALIAS) free(b->data);
    }
    n->n_reorders = n_reorders;
    const dlb_op_spec *s = &n->desc->ops[op];
    for (int k = 0; k < s->n_dst; k++) n->dst_buf[op][k] = -1;
    for (int k = 0; k < dlb__n_slots(s); k++) n->slot_buf[op][k] = -1;
    for (int k = 0; k < s->n_wei; k++) n->wei_buf[op][k] = -1;
    free(n->impl[op]);
    n->impl[op] = NULL;
}

static dlb_operand *as_f32(const dlb_operand *o, int count) {
    dlb_operand *c = malloc(sizeof *c * (size_t)(count ? count : 1));
    if (!c) return NULL;
    for (int i = 0; i < count; i++) {
        c[i] = o[i];
        if (c[i].dtype == DLB_DT_S8 || c[i].dtype == DLB_DT_U8) c[i].dtype = DLB_DT_F32;
    }
    return c;
}

/* An int8 op that oneDNN (or our own kernels) cannot run in int8 runs in f32, with reorders
 * (which convert) at its boundaries — the way an int8 runtime falls back op by op. */
static dlb_status compile_op(dlb_net *n, int op) {
    const dlb_op_spec *s = &n->desc->ops[op];
    bool int8 = false;
    for (int i = 0; i < s->n_src; i++) int8 |= s->src[i].dtype == DLB_DT_S8;
    for (int i = 0; i < s->n_dst; i++) int8 |= s->dst[i].dtype == DLB_DT_S8;
    if (!int8) return compile_one(n, op);
    int n_steps = n->n_steps, n_bufs = n->n_bufs, n_reorders = n->n_reorders;
    dlb_diag *diag = n->diag; /* the int8 attempt's errors are not the user's business */
    dlb_diag sink = {.file = diag ? diag->file : NULL, .emit = discard_line};
    n->diag = &sink;
    dlb_status st = compile_one(n, op);
    n->diag = diag;
    if (st != DLB_EUNSUPPORTED && st != DLB_EDNNL) return st;
    roll_back(n, op, n_steps, n_bufs, n_reorders);
    dlb_op_spec f = *s;
    dlb_operand *src = as_f32(s->src, s->n_src), *wei = as_f32(s->wei, s->n_wei),
                *dst = as_f32(s->dst, s->n_dst);
    dlb_op_spec *ops = malloc(sizeof *ops * (size_t)n->desc->n_ops);
    const dlb_netdesc *orig = n->desc;
    st = DLB_ENOMEM;
    if (src && wei && dst && ops) {
        f.src = src;
        f.wei = wei;
        f.dst = dst;
        for (int k = 0; k < f.n_post; k++)
            if (f.post[k].operand.dtype == DLB_DT_S8) f.post[k].operand.dtype = DLB_DT_F32;
        memcpy(ops, orig->ops, sizeof *ops * (size_t)orig->n_ops);
        ops[op] = f;
        dlb_netdesc tmp = *orig;
        tmp.ops = ops;
        n->desc = &tmp;
        st = compile_one(n, op);
        n->desc = orig;
    }
    free(src);
    free(wei);
    free(dst);
    free(ops);
    return st;
}

static dlb_status alloc_tables(dlb_net *n, const dlb_netdesc *d) {
    n->n_ops = d->n_ops;
    n->impl = calloc((size_t)d->n_ops + 1, sizeof(char *));
    n->dst_buf = calloc((size_t)d->n_ops + 1, sizeof(int *));
    n->slot_buf = calloc((size_t)d->n_ops + 1, sizeof(int *));
    n->wei_buf = calloc((size_t)d->n_ops + 1, sizeof(int *));
    if (!n->impl || !n->dst_buf || !n->slot_buf || !n->wei_buf) return DLB_ENOMEM;
    for (int j = 0; j < d->n_ops; j++) {
        const dlb_op_spec *s = &d->ops[j];
        n->dst_buf[j] = malloc(sizeof(int) * (size_t)(s->n_dst + 1));
        n->slot_buf[j] = malloc(sizeof(int) * (size_t)(dlb__n_slots(s) + 1));
        n->wei_buf[j] = malloc(sizeof(int) * (size_t)(s->n_wei + 1));
        if (!n->dst_buf[j] || !n->slot_buf[j] || !n->wei_buf[j]) return DLB_ENOMEM;
        for (int k = 0; k <= s->n_dst; k++) n->dst_buf[j][k] = -1;
        for (int k = 0; k <= dlb__n_slots(s); k++) n->slot_buf[j][k] = -1;
        for (int k = 0; k <= s->n_wei; k++) n->wei_buf[j][k] = -1;
    }
    return DLB_OK;
}

/* Resolve every step's arguments to memory handles (aliases share their target's memory). */
static int root_of(const dlb_net *n, int b) {
    while (n->bufs[b].kind == DLB__BUF_ALIAS) b = n->bufs[b].alias_of;
    return b;
}

/* Place activations in one arena (dlb__place_buffers): buffers whose lifetimes (first to last step
 * using them, inclusive) overlap never share bytes.  Buffers no later step reads (the network's
 * outputs) and pinned ones live to the end.  The lowering replays this plan to give each layer's
 * output its reuse distance (src/lower/layout.c). */
static dlb_status plan_activations(dlb_net *n) {
    for (int i = 0; i < n->n_steps; i++)
        for (int a = 0; a < n->steps[i].n_args; a++) {
            dlb__buf *r = &n->bufs[root_of(n, n->steps[i].arg_buf[a])];
            if (r->first_step < 0) r->first_step = i;
            r->last_step = i;
        }
    size_t nb = (size_t)n->n_bufs + 1;
    int *idx = malloc(sizeof(int) * nb), *order = malloc(sizeof(int) * nb),
        *first = malloc(sizeof(int) * nb), *last = malloc(sizeof(int) * nb);
    size_t *size = malloc(sizeof(size_t) * nb), *off = malloc(sizeof(size_t) * nb);
    dlb_status st = idx && order && first && last && size && off ? DLB_OK : DLB_ENOMEM;
    int m = 0;
    for (int i = 0; i < n->n_bufs && st == DLB_OK; i++) {
        dlb__buf *b = &n->bufs[i];
        if (b->kind != DLB__BUF_ACT || b->data) continue;
        if (b->pinned || b->first_step < 0 || b->last_step == b->first_step) {
            b->first_step = b->first_step < 0 ? 0 : b->first_step;
            b->last_step = n->n_steps; /* outputs and pinned buffers stay */
        }
        idx[m] = i;
        size[m] = b->size;
        first[m] = b->first_step;
        last[m++] = b->last_step;
    }
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    if (st != DLB_OK) goto cleanup;
    size_t total = dlb__place_buffers(m, size, first, last, order, off);
    n->act_arena_size = total;
    if (!(n->act_arena = aligned_alloc(64, total ? total : 64))) {
        st = DLB_ENOMEM;
        goto cleanup;
    }
    memset(n->act_arena, 0, total ? total : 64);
    for (int i = 0; i < m; i++) {
        n->bufs[idx[i]].data = n->act_arena + off[i];
        DLB_DNNL_CHECK(dnnl_memory_set_data_handle(n->bufs[idx[i]].mem, n->bufs[idx[i]].data));
    }
cleanup:
    free(idx);
    free(order);
    free(first);
    free(last);
    free(size);
    free(off);
    return st;
}

static dlb_status resolve_args(dlb_net *n) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    if (!n->no_reuse) DLB_TRY(plan_activations(n));
    for (int i = 0; i < n->n_bufs; i++) {
        dlb__buf *b = &n->bufs[i];
        if (b->kind != DLB__BUF_ALIAS) continue;
        int t = b->alias_of;
        while (n->bufs[t].kind == DLB__BUF_ALIAS) t = n->bufs[t].alias_of;
        b->data = n->bufs[t].data;
        DLB_DNNL_CHECK(dnnl_memory_set_data_handle(b->mem, b->data));
    }
    for (int i = 0; i < n->n_steps; i++) {
        dlb__step *s = &n->steps[i];
        for (int a = 0; a < s->n_args; a++)
            s->args[a] = (dnnl_exec_arg_t){s->arg_kind[a], n->bufs[s->arg_buf[a]].mem};
    }
cleanup:
    return st;
}

/* Outputs the model writes onto arena bytes it last used far away (dlb_operand.cold, docs/bricks.md
 * section 3, "Outputs at their distance"): rotated as cold inputs are, so a brick writes them onto
 * lines as far as the model's (only a brick rotates; a whole model runs as it is). */
static void mark_cold_outputs(dlb_net *n, const dlb_netdesc *d) {
    for (int j = 0; j < d->n_ops; j++)
        for (int k = 0; k < d->ops[j].n_dst; k++) {
            int b = n->dst_buf[j][k];
            if (b < 0 || n->bufs[b].kind != DLB__BUF_ACT || n->bufs[b].pinned) continue;
            n->bufs[b].cold = d->ops[j].dst[k].cold;
            n->bufs[b].cold_mib = d->ops[j].dst[k].cold_mib;
        }
}

dlb_status dlb_net_create(const dlb_netdesc *d, const dlb_exec_options *o, dlb_diag *diag,
                          dlb_net **out) {
    dlb_status st = DLB_OK;
    const char *where = d->name;
    *out = NULL;
    dlb_net *n = calloc(1, sizeof *n);
    DLB_CHECK_ALLOC(n);
    n->desc = d;
    n->diag = diag;
    n->rng = o && o->seed ? o->seed : 42;
    n->no_reuse = o && o->keep_all;
    DLB_DNNL_CHECK(dnnl_engine_create(&n->eng, dnnl_cpu, 0));
    DLB_DNNL_CHECK(dnnl_stream_create(&n->strm, n->eng, dnnl_stream_default_flags));
    DLB_TRY(alloc_tables(n, d));
    for (int j = 0; j < d->n_ops; j++) DLB_TRY(compile_op(n, j));
    DLB_TRY(resolve_args(n));
    mark_cold_outputs(n, d);
    n->desc = NULL;
    *out = n;
    return DLB_OK;
cleanup:
    if (n) n->desc = NULL;
    dlb_net_free(n);
    return st;
}

dlb_status dlb_net_run(dlb_net *n) {
    dlb_diag *diag = NULL; /* no report to append to here: a failure's one line goes to stderr */
    const char *where = NULL;
    dlb_status st = DLB_OK;
    for (int i = 0; i < n->n_steps; i++) {
        dlb__step *s = &n->steps[i];
        if (s->custom) {
            s->custom(s, n);
            continue;
        }
        where = dlb__step_name(n, i);
        DLB_DNNL_CHECK(dnnl_primitive_execute(s->prim, n->strm, s->n_args, s->args));
    }
    where = NULL;
    DLB_DNNL_CHECK(dnnl_stream_wait(n->strm));
cleanup:
    return st;
}

static bool in_arena(const dlb_net *n, const void *p) {
    const unsigned char *c = p;
    return n->act_arena && c >= n->act_arena && c < n->act_arena + n->act_arena_size + 64;
}

void dlb_net_free(dlb_net *n) {
    if (!n) return;
    for (int i = 0; i < n->n_steps; i++)
        if (n->steps[i].prim) dnnl_primitive_destroy(n->steps[i].prim);
    for (int i = 0; i < n->n_bufs; i++) {
        if (n->bufs[i].mem) dnnl_memory_destroy(n->bufs[i].mem);
        if (n->bufs[i].kind != DLB__BUF_ALIAS && !in_arena(n, n->bufs[i].data))
            free(n->bufs[i].data);
    }
    free(n->act_arena);
    for (int j = 0; j < n->n_ops; j++) {
        if (n->impl) free(n->impl[j]);
        if (n->dst_buf) free(n->dst_buf[j]);
        if (n->slot_buf) free(n->slot_buf[j]);
        if (n->wei_buf) free(n->wei_buf[j]);
    }
    free(n->impl);
    free(n->dst_buf);
    free(n->slot_buf);
    free(n->wei_buf);
    free(n->bufs);
    free(n->steps);
    free(n->flush);
    if (n->strm) dnnl_stream_destroy(n->strm);
    if (n->eng) dnnl_engine_destroy(n->eng);
    free(n);
}

int dlb_net_n_ops(const dlb_net *n) {
    return n->n_ops;
}

const char *dlb_net_impl(const dlb_net *n, int op) {
    return op >= 0 && op < n->n_ops && n->impl[op] ? n->impl[op] : "";
}

size_t dlb_net_memory_bytes(const dlb_net *n) {
    size_t s = n->act_arena_size;
    for (int i = 0; i < n->n_bufs; i++)
        if (n->bufs[i].kind != DLB__BUF_ALIAS && !in_arena(n, n->bufs[i].data))
            s += n->bufs[i].size;
    return s;
}

int dlb_net_n_reorders(const dlb_net *n) {
    return n->n_reorders;
}
