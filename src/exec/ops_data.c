/* ops_data.c — data-movement ops: concat, transpose, pad, slice, split, gather, expand. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* Every data op is compiled the way a oneDNN-based runtime executes it: concat is oneDNN's
 * concat; transpose, slice, split, pad and expand are reorders between views (sub-memories,
 * permuted or zero strides) of plain buffers; gather has no oneDNN primitive and is a parallel
 * row copy.  Outputs are plain (row-major) except concat's, which oneDNN chooses. */

static int64_t n_elems(const dlb_operand *o) {
    int64_t c = 1;
    for (int i = 0; i < o->shape.rank; i++) c *= o->shape.dims[i];
    return c;
}

/* A view of buffer `of` in descriptor md (copied: md may point into n->bufs). */
static dlb_status alias_buf(dlb_net *n, int of, const dnnl_memory_desc_t *md, int *out) {
    dnnl_memory_desc_t copy = *md;
    dlb_status st = dlb__new_buf(n, &copy, DLB__BUF_ALIAS, out);
    if (st == DLB_OK) n->bufs[*out].alias_of = of;
    return st;
}

/* Step of op: reorder buffer `from` into buffer `to` (their descriptors as they are). */
static dlb_status reorder_step(dlb_net *n, int op, int from, int to) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t a = n->bufs[from].md, b = n->bufs[to].md;
    DLB_DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, &a, n->eng, &b, n->eng, NULL));
    int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, bufs[2] = {from, to};
    DLB_TRY(dlb__add_step(n, op, pd, 2, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

/* New plain output k of op. */
static dlb_status plain_dst(dlb_net *n, int op, int k, int *buf) {
    dnnl_memory_desc_t md;
    dlb_status st = dlb__plain_md(&md, &n->desc->ops[op].dst[k]);
    if (st == DLB_OK) st = dlb__new_buf(n, &md, DLB__BUF_ACT, buf);
    if (st == DLB_OK) dlb__set_dst(n, op, k, *buf);
    return st;
}

/* ---- concat -----------------------------------------------------------------------------------*/

/* Reorder each source into its sub-memory of dst; false (nothing added) if a slice cannot be
 * described as a sub-memory of dst's layout. */
static bool concat_by_reorders(dlb_net *n, int op, const dnnl_memory_desc_t *mds, const int *srcs,
                               int k, int dst, const dnnl_memory_desc_t *dst_md, int axis) {
    dnnl_memory_desc_t subs[DLB__MAX_ARGS];
    dnnl_dims_t offsets = {0};
    for (int i = 0; i < k; i++) {
        if (dnnl_memory_desc_init_submemory(&subs[i], dst_md, mds[i].dims, offsets) != dnnl_success)
            return false;
        offsets[axis] += mds[i].dims[axis];
    }
    int first_step = n->n_steps;
    for (int i = 0; i < k; i++) {
        int alias;
        dnnl_primitive_desc_t rpd = NULL;
        if (dlb__new_buf(n, &subs[i], DLB__BUF_ALIAS, &alias) != DLB_OK) goto undo;
        n->bufs[alias].alias_of = dst;
        if (dnnl_reorder_primitive_desc_create(&rpd, &mds[i], n->eng, &subs[i], n->eng, NULL) !=
            dnnl_success)
            goto undo;
        int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, bufs[2] = {srcs[i], alias};
        dlb_status st = dlb__add_step(n, op, rpd, 2, kinds, bufs);
        dnnl_primitive_desc_destroy(rpd);
        if (st != DLB_OK) goto undo;
    }
    return true;
undo: /* drop the steps added so far; the generic concat takes over */
    while (n->n_steps > first_step) dnnl_primitive_destroy(n->steps[--n->n_steps].prim);
    free(n->impl[op]);
    n->impl[op] = NULL;
    return false;
}

static dlb_status compile_concat(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t mds[DLB__MAX_ARGS], dst_md;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], k = 0, b;
    if (s->n_src + 1 > DLB__MAX_ARGS) {
        dlb_error(diag, where, "op %d: concat of %d inputs exceeds the executor's %d arguments", op,
                  s->n_src, DLB__MAX_ARGS - 1);
        return DLB_EUNSUPPORTED;
    }
    for (int i = 0; i < s->n_src; i++) {
        if (n_elems(&s->src[i]) == 0) continue; /* empty inputs add nothing */
        /* Each source as its producer left it: oneDNN concat accepts differing formats. */
        DLB_TRY(dlb__slot_md(n, op, i, &mds[k]));
        DLB_TRY(dlb__slot_buf(n, op, i, &mds[k], &b));
        kinds[k] = DNNL_ARG_MULTIPLE_SRC + k;
        bufs[k++] = b;
    }
    if (k == 0) {
        dlb_error(diag, where, "op %d: concat of empty inputs only", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_dims_t dd;
    for (int i = 0; i < s->dst[0].shape.rank; i++) dd[i] = s->dst[0].shape.dims[i];
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, s->dst[0].shape.rank, dd, mds[0].data_type,
                                                dnnl_format_tag_any));
    DLB_DNNL_CHECK(
        dnnl_concat_primitive_desc_create(&pd, &dst_md, k, (int)s->p.axis, mds, NULL, n->eng));
    dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    DLB_TRY(dlb__new_buf(n, &dst_md, DLB__BUF_ACT, &b));
    dlb__set_dst(n, op, 0, b);
    /* Fast path, as runtimes do it: one reorder per source straight into its slice of dst
     * (oneDNN 2.6's generic concat is ~10x slower than these copies).  Taken when every slice
     * is a valid sub-memory of oneDNN's chosen dst layout (blocks aligned). */
    if (k > 1 && concat_by_reorders(n, op, mds, bufs, k, b, &dst_md, (int)s->p.axis)) goto cleanup;
    kinds[k] = DNNL_ARG_DST;
    bufs[k] = b;
    DLB_TRY(dlb__add_step(n, op, pd, k + 1, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

/* ---- transpose --------------------------------------------------------------------------------*/

/* One reorder from the source (in its producer's format) into the plain dst viewed with the
 * source's axes order: dst strides permuted by perm realise the transposition. */
static dlb_status compile_transpose(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int r = s->src[0].shape.rank, perm[DNNL_MAX_NDIMS], seen = 0;
    if (r < 1 || r != s->dst[0].shape.rank || (s->p.n_axes != 0 && s->p.n_axes != r)) {
        dlb_error(diag, where, "op %d: transpose perm does not match rank %d", op, r);
        return DLB_EINVAL;
    }
    for (int i = 0; i < r; i++) {
        perm[i] = s->p.n_axes ? (int)s->p.axes[i] : r - 1 - i;
        if (perm[i] < 0 || perm[i] >= r || (seen >> perm[i] & 1)) {
            dlb_error(diag, where, "op %d: transpose perm is not a permutation", op);
            return DLB_EINVAL;
        }
        seen |= 1 << perm[i];
    }
    dnnl_memory_desc_t src_md, dst_md, view;
    int src, dst, alias;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    DLB_TRY(dlb__slot_buf(n, op, 0, &src_md, &src));
    DLB_TRY(plain_dst(n, op, 0, &dst));
    dst_md = n->bufs[dst].md;
    DLB_DNNL_CHECK(dnnl_memory_desc_permute_axes(&view, &dst_md, perm));
    for (int i = 0; i < r; i++)
        if (view.dims[i] != s->src[0].shape.dims[i]) {
            dlb_error(diag, where, "op %d: transpose output shape does not match its perm", op);
            return DLB_EINVAL;
        }
    DLB_TRY(alias_buf(n, dst, &view, &alias));
    DLB_TRY(reorder_step(n, op, src, alias));
cleanup:
    return st;
}

/* ---- slice / split ----------------------------------------------------------------------------*/

/* Slot 0 of op viewed as sub-memories: piece k has dims[k] at offs[k].  The source stays in its
 * producer's format when every piece is a valid sub-memory of it (block-aligned), else it is
 * taken plain (the core inserts the reorder a runtime would need).  Writes piece k into a new
 * plain output k. */
static dlb_status copy_pieces(dlb_net *n, int op, int n_pieces, dnnl_dims_t *dims,
                              dnnl_dims_t *offs) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_memory_desc_t md, sub;
    int src, alias, dst;
    DLB_TRY(dlb__slot_md(n, op, 0, &md));
    bool ok = true;
    for (int k = 0; k < n_pieces && ok; k++)
        ok = dnnl_memory_desc_init_submemory(&sub, &md, dims[k], offs[k]) == dnnl_success;
    if (!ok) DLB_TRY(dlb__plain_md(&md, &n->desc->ops[op].src[0]));
    DLB_TRY(dlb__slot_buf(n, op, 0, &md, &src));
    for (int k = 0; k < n_pieces; k++) {
        DLB_DNNL_CHECK(dnnl_memory_desc_init_submemory(&sub, &md, dims[k], offs[k]));
        DLB_TRY(alias_buf(n, src, &sub, &alias));
        DLB_TRY(plain_dst(n, op, k, &dst));
        DLB_TRY(reorder_step(n, op, alias, dst));
    }
cleanup:
    return st;
}

/* Slice: the block of the dst's size at p.starts (a sub-memory), or with steps other than 1 a
 * strided view of the plain source.  Without known starts (p.n_axes != rank: non-constant
 * starts) and for negative steps, the leading block (offset 0) is copied: where it starts does
 * not change the cost, only the numbers. */
static dlb_status compile_slice(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int r = s->src[0].shape.rank;
    bool known = s->p.n_axes == r, strided = false;
    dnnl_dims_t dims, offs;
    if (r != s->dst[0].shape.rank || r < 1) {
        dlb_error(diag, where, "op %d: slice changes the rank", op);
        return DLB_EINVAL;
    }
    for (int i = 0; i < r; i++)
        if (known && s->p.steps[i] < 0) known = false;
    for (int i = 0; i < r; i++) {
        int64_t step = known ? s->p.steps[i] : 1;
        dims[i] = s->dst[0].shape.dims[i];
        offs[i] = known ? s->p.starts[i] : 0;
        strided |= step != 1 && dims[i] > 1;
        if (dims[i] > 0 && offs[i] + (dims[i] - 1) * step >= s->src[0].shape.dims[i]) {
            dlb_error(diag, where, "op %d: slice output larger than its input", op);
            return DLB_EINVAL;
        }
    }
    if (!strided) return copy_pieces(n, op, 1, &dims, &offs);
    dnnl_memory_desc_t md, view;
    dnnl_dims_t strides;
    int src, alias, dst;
    DLB_TRY(dlb__plain_md(&md, &s->src[0]));
    DLB_TRY(dlb__slot_buf(n, op, 0, &md, &src));
    int64_t off = 0;
    for (int i = 0; i < r; i++) {
        strides[i] = md.format_desc.blocking.strides[i] * s->p.steps[i];
        off += offs[i] * md.format_desc.blocking.strides[i];
    }
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&view, r, dims, md.data_type, strides));
    view.offset0 = off;
    DLB_TRY(alias_buf(n, src, &view, &alias));
    DLB_TRY(plain_dst(n, op, 0, &dst));
    DLB_TRY(reorder_step(n, op, alias, dst));
cleanup:
    return st;
}

/* Split: consecutive pieces along p.axis, sized by the dst shapes. */
static dlb_status compile_split(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int r = s->src[0].shape.rank, ax = (int)s->p.axis;
    dnnl_dims_t *dims = calloc((size_t)s->n_dst + 1, sizeof *dims);
    dnnl_dims_t *offs = calloc((size_t)s->n_dst + 1, sizeof *offs);
    DLB_CHECK_ALLOC(dims && offs);
    int64_t at = 0;
    for (int k = 0; k < s->n_dst; k++) {
        const dlb_shape *d = &s->dst[k].shape;
        bool bad = d->rank != r || ax < 0 || ax >= r;
        for (int i = 0; i < r && !bad; i++) {
            dims[k][i] = d->dims[i];
            offs[k][i] = i == ax ? at : 0;
            bad = i != ax && d->dims[i] != s->src[0].shape.dims[i];
        }
        if (bad || at + d->dims[ax] > s->src[0].shape.dims[ax]) {
            dlb_error(diag, where, "op %d: split output %d does not fit its input", op, k);
            st = DLB_EINVAL;
            goto cleanup;
        }
        at += d->dims[ax];
    }
    DLB_TRY(copy_pieces(n, op, s->n_dst, dims, offs));
cleanup:
    free(dims);
    free(offs);
    return st;
}

/* ---- pad --------------------------------------------------------------------------------------*/

static void zero_run(dlb__step *s, dlb_net *n) {
    dlb__buf *b = &n->bufs[s->arg_buf[0]];
    memset(b->data, 0, b->size);
}

/* Is output 0 of op the operand of a later sum post-op (which may accumulate in place)? */
static bool feeds_sum(const dlb_netdesc *d, int op) {
    for (int i = 0; i < d->n_edges; i++) {
        const dlb_brick_edge *e = &d->edges[i];
        if (e->from_op != op || e->from_out != 0) continue;
        const dlb_op_spec *c = &d->ops[e->to_op];
        if (e->to_src >= c->n_src && c->post[e->to_src - c->n_src].kind == DLB_POST_SUM)
            return true;
    }
    return false;
}

/* Step copying region `dims` of the plain buffer buf at `from` to `to`.  With bcast >= 0 the
 * source is one slice along that dim, repeated (stride 0). */
static dlb_status region_copy(dlb_net *n, int op, int buf, dnnl_dims_t dims, dnnl_dims_t from,
                              dnnl_dims_t to, int bcast) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_memory_desc_t md = n->bufs[buf].md, a, b;
    int fa, fb;
    DLB_DNNL_CHECK(dnnl_memory_desc_init_submemory(&b, &md, dims, to));
    if (bcast >= 0) {
        int64_t thick = dims[bcast];
        dims[bcast] = 1;
        DLB_DNNL_CHECK(dnnl_memory_desc_init_submemory(&a, &md, dims, from));
        dims[bcast] = thick;
        a.dims[bcast] = a.padded_dims[bcast] = thick;
        a.format_desc.blocking.strides[bcast] = 0;
    } else {
        DLB_DNNL_CHECK(dnnl_memory_desc_init_submemory(&a, &md, dims, from));
    }
    DLB_TRY(alias_buf(n, buf, &a, &fa));
    DLB_TRY(alias_buf(n, buf, &b, &fb));
    DLB_TRY(reorder_step(n, op, fa, fb));
cleanup:
    return st;
}

/* Edge / reflect borders, dim by dim, from the part of dst already written: the border along
 * dim d spans the full extent of dims < d and the interior of dims > d.  Edge: one reorder per
 * side from the outermost interior slice (stride 0).  Reflect: one reorder per border slice. */
static dlb_status pad_borders(dlb_net *n, int op, int dst, const dnnl_dims_t ext,
                              const dnnl_dims_t pb, const dnnl_dims_t pe) {
    dlb_status st = DLB_OK;
    const dlb_op_spec *s = &n->desc->ops[op];
    int r = s->dst[0].shape.rank;
    bool edge = s->p.pad_mode == 2;
    for (int d = 0; d < r; d++) {
        dnnl_dims_t dims, from, to;
        for (int i = 0; i < r; i++) {
            dims[i] = i < d ? s->dst[0].shape.dims[i] : ext[i];
            from[i] = to[i] = i < d ? 0 : pb[i];
        }
        if (edge) {
            if (pb[d] > 0) {
                dims[d] = pb[d];
                to[d] = 0;
                DLB_TRY(region_copy(n, op, dst, dims, from, to, d));
            }
            if (pe[d] > 0) {
                dims[d] = pe[d];
                from[d] = pb[d] + ext[d] - 1;
                to[d] = pb[d] + ext[d];
                DLB_TRY(region_copy(n, op, dst, dims, from, to, d));
            }
            continue;
        }
        dims[d] = 1;
        for (int64_t k = 0; k < pb[d]; k++) {
            to[d] = pb[d] - 1 - k;
            from[d] = pb[d] + 1 + k;
            DLB_TRY(region_copy(n, op, dst, dims, from, to, -1));
        }
        for (int64_t k = 0; k < pe[d]; k++) {
            to[d] = pb[d] + ext[d] + k;
            from[d] = pb[d] + ext[d] - 2 - k;
            DLB_TRY(region_copy(n, op, dst, dims, from, to, -1));
        }
    }
cleanup:
    return st;
}

#define DLB__MAX_PAD_STEPS 64

/* Pad: plain dst; the source (in its producer's format) is reordered into the interior
 * sub-memory.  Constant mode: the border is zeroed once when the buffer is created (new buffers
 * are zero-filled) and never written again, so a run only moves the interior — the cheapest
 * correct form.  If a later sum post-op may accumulate into the output in place, the whole dst
 * is re-zeroed every run.  Negative pads crop (constant mode only).  Edge and reflect borders are
 * copied from dst itself by extra reorders (see pad_borders). */
static dlb_status compile_pad(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int r = s->src[0].shape.rank, mode = s->p.pad_mode, dst, src, b;
    dnnl_dims_t ext, soff, doff, pb, pe;
    bool crop = false;
    int64_t steps = 1;
    if (r < 1 || r != s->dst[0].shape.rank || mode < 0 || mode > 2) {
        dlb_error(diag, where, "op %d: pad with mismatched ranks or unknown mode", op);
        return DLB_EINVAL;
    }
    for (int i = 0; i < r; i++) {
        pb[i] = s->p.pad_begin[i];
        pe[i] = s->p.pad_end[i];
        int64_t S = s->src[0].shape.dims[i], D = s->dst[0].shape.dims[i];
        soff[i] = pb[i] < 0 ? -pb[i] : 0;
        doff[i] = pb[i] > 0 ? pb[i] : 0;
        ext[i] = S - soff[i] - (pe[i] < 0 ? -pe[i] : 0);
        crop = crop || pb[i] < 0 || pe[i] < 0;
        if (ext[i] < 0 || D != ext[i] + doff[i] + (pe[i] > 0 ? pe[i] : 0)) {
            dlb_error(diag, where, "op %d: pad output shape does not match its pads", op);
            return DLB_EINVAL;
        }
        if (mode != 0 && (crop || (ext[i] == 0 && pb[i] + pe[i] > 0) ||
                          (mode == 1 && (pb[i] >= S || pe[i] >= S)))) {
            dlb_error(diag, where, "op %d: %s pad %lld/%lld of a dim of %lld is not supported", op,
                      mode == 1 ? "reflect" : "edge", (long long)pb[i], (long long)pe[i],
                      (long long)S);
            return DLB_EUNSUPPORTED;
        }
        steps += mode == 1 ? pb[i] + pe[i] : mode == 2 ? (pb[i] > 0) + (pe[i] > 0) : 0;
    }
    if (steps > DLB__MAX_PAD_STEPS) {
        dlb_error(diag, where, "op %d: reflect pad needs %lld copies (more than %d)", op,
                  (long long)steps, DLB__MAX_PAD_STEPS);
        return DLB_EUNSUPPORTED;
    }
    DLB_TRY(plain_dst(n, op, 0, &dst));
    n->bufs[dst].pinned = true; /* its border is written once, at creation */
    if (mode == 0 && feeds_sum(n->desc, op)) {
        int kind = DNNL_ARG_DST;
        DLB_TRY(dlb__add_custom_step(n, op, zero_run, 1, &kind, &dst, NULL));
    }
    for (int i = 0; i < r; i++)
        if (ext[i] == 0) return DLB_OK; /* nothing to copy: all border */
    dnnl_memory_desc_t md, sub, dmd = n->bufs[dst].md;
    DLB_TRY(dlb__slot_md(n, op, 0, &md));
    if (crop && dnnl_memory_desc_init_submemory(&sub, &md, ext, soff) != dnnl_success)
        DLB_TRY(dlb__plain_md(&md, &s->src[0]));
    DLB_TRY(dlb__slot_buf(n, op, 0, &md, &src));
    if (crop) {
        DLB_DNNL_CHECK(dnnl_memory_desc_init_submemory(&sub, &md, ext, soff));
        DLB_TRY(alias_buf(n, src, &sub, &src));
    }
    DLB_DNNL_CHECK(dnnl_memory_desc_init_submemory(&sub, &dmd, ext, doff));
    DLB_TRY(alias_buf(n, dst, &sub, &b));
    DLB_TRY(reorder_step(n, op, src, b));
    if (mode != 0) DLB_TRY(pad_borders(n, op, dst, ext, pb, pe));
cleanup:
    return st;
}

/* ---- gather -----------------------------------------------------------------------------------*/

/* dst[o][j][:] = src[o][idx[j]][:] (rows of params[2] bytes); out-of-range indices give 0. */
static void gather_run(dlb__step *s, dlb_net *n) {
    const char *src = n->bufs[s->arg_buf[0]].data;
    const int32_t *idx = n->bufs[s->arg_buf[1]].data;
    char *dst = n->bufs[s->arg_buf[2]].data;
    int64_t outer = (int64_t)s->params[0], dim = (int64_t)s->params[1];
    int64_t nidx = (int64_t)s->params[3];
    size_t row = (size_t)s->params[2];
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nidx; j++) {
            int64_t i = idx[j] < 0 ? idx[j] + dim : idx[j];
            char *d = dst + (size_t)(o * nidx + j) * row;
            if (i < 0 || i >= dim)
                memset(d, 0, row);
            else
                memcpy(d, src + (size_t)(o * dim + i) * row, row);
        }
}

/* Gather with constant indices (wei[0], stored s32): oneDNN has no gather primitive, so a
 * parallel row copy over plain buffers.  The indices are filled with (7 j) mod dim (valid,
 * spread out); dlb_net_set_weight can replace them (s32 bit patterns). */
static dlb_status compile_gather(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int r = s->src[0].shape.rank, ax = (int)s->p.axis, src, idx, dst;
    if (s->n_wei < 1 || r < 1 || ax < 0 || ax >= r) {
        dlb_error(diag, where, "op %d: gather needs constant indices and a valid axis", op);
        return DLB_EINVAL;
    }
    int64_t outer = 1, inner = 1, dim = s->src[0].shape.dims[ax], nidx = n_elems(&s->wei[0]);
    for (int i = 0; i < r; i++)
        if (i < ax)
            outer *= s->src[0].shape.dims[i];
        else if (i > ax)
            inner *= s->src[0].shape.dims[i];
    if (n_elems(&s->dst[0]) != outer * nidx * inner || dim < 1) {
        dlb_error(diag, where, "op %d: gather output shape does not match its indices", op);
        return DLB_EINVAL;
    }
    dnnl_memory_desc_t md, imd;
    DLB_TRY(dlb__plain_md(&md, &s->src[0]));
    DLB_TRY(dlb__plain_md(&imd, &s->wei[0]));
    if (imd.data_type != dnnl_s32) {
        dlb_error(diag, where, "op %d: gather indices are not integers", op);
        return DLB_EUNSUPPORTED;
    }
    DLB_TRY(dlb__slot_buf(n, op, 0, &md, &src));
    DLB_TRY(dlb__weight_buf(n, op, 0, &imd, NULL, &idx));
    int32_t *iv = n->bufs[idx].data; /* replace the random (float) fill */
    for (int64_t j = 0; j < nidx; j++) iv[j] = (int32_t)(7 * j % dim);
    n->bufs[idx].fixed = true;
    DLB_TRY(plain_dst(n, op, 0, &dst));
    double params[4] = {(double)outer, (double)dim,
                        (double)(inner * (int64_t)dnnl_data_type_size(md.data_type)), (double)nidx};
    int kinds[3] = {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST}, bufs[3] = {src, idx, dst};
    DLB_TRY(dlb__add_custom_step(n, op, gather_run, 3, kinds, bufs, params));
cleanup:
    return st;
}

/* ---- expand / tile ----------------------------------------------------------------------------*/

/* Expand (broadcast) and Tile in one form: a reorder from a view of the plain source with zero
 * strides.  dst dim D over source dim S: S == D copies, S == 1 broadcasts (stride 0), D = k S
 * (Tile) splits into [k (stride 0), S]; the plain dst is viewed with the split dims.  Missing
 * leading source dims broadcast. */
static dlb_status compile_expand(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int rs = s->src[0].shape.rank, rd = s->dst[0].shape.rank, nd = 0, src, dst, a, b;
    dnnl_dims_t dims, sstr, sstride;
    if (rd < rs) {
        dlb_error(diag, where, "op %d: expand output has a lower rank than its input", op);
        return DLB_EINVAL;
    }
    int64_t acc = 1;
    for (int i = rs - 1; i >= 0; i--) {
        sstride[i] = acc;
        acc *= s->src[0].shape.dims[i];
    }
    for (int i = 0; i < rd; i++) {
        int si = i - (rd - rs);
        int64_t S = si >= 0 ? s->src[0].shape.dims[si] : 1, D = s->dst[0].shape.dims[i];
        int64_t str = si >= 0 && S > 1 ? sstride[si] : 0;
        bool tile = S != D && S != 1;
        if ((tile && (S == 0 || D % S != 0)) || nd + 1 + tile > DNNL_MAX_NDIMS) {
            dlb_error(diag, where, "op %d: expand of dim %lld to %lld is not supported", op,
                      (long long)S, (long long)D);
            return DLB_EUNSUPPORTED;
        }
        if (tile) {
            dims[nd] = D / S;
            sstr[nd++] = 0;
            dims[nd] = S;
            sstr[nd++] = str;
        } else {
            dims[nd] = D;
            sstr[nd++] = S == D ? str : 0;
        }
    }
    dnnl_memory_desc_t md, view, dview;
    DLB_TRY(dlb__plain_md(&md, &s->src[0]));
    DLB_TRY(dlb__slot_buf(n, op, 0, &md, &src));
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&view, nd, dims, md.data_type, sstr));
    DLB_TRY(alias_buf(n, src, &view, &a));
    DLB_TRY(plain_dst(n, op, 0, &dst));
    b = dst;
    if (nd != rd) {
        int64_t t = 1;
        for (int i = nd - 1; i >= 0; i--) {
            sstr[i] = t;
            t *= dims[i];
        }
        DLB_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&dview, nd, dims, md.data_type, sstr));
        DLB_TRY(alias_buf(n, dst, &dview, &b));
    }
    DLB_TRY(reorder_step(n, op, a, b));
cleanup:
    return st;
}

/* ---- entry ------------------------------------------------------------------------------------*/

dlb_status dlb__compile_data(dlb_net *n, int op) {
    const dlb_op_spec *s = &n->desc->ops[op];
    if (s->n_src < 1 || s->n_dst < 1 || s->n_post > 0) {
        dlb_error(n->diag, n->desc->name, "op %d (%s): needs inputs, outputs and no post-ops", op,
                  dlb_lop_name(s->op));
        return DLB_EINVAL;
    }
    switch (s->op) {
    case DLB_LOP_CONCAT:
        return compile_concat(n, op);
    case DLB_LOP_TRANSPOSE:
        return compile_transpose(n, op);
    case DLB_LOP_SLICE:
        return compile_slice(n, op);
    case DLB_LOP_SPLIT:
        return compile_split(n, op);
    case DLB_LOP_PAD:
        return compile_pad(n, op);
    case DLB_LOP_GATHER:
        return compile_gather(n, op);
    case DLB_LOP_EXPAND:
        return compile_expand(n, op);
    default:
        dlb_error(n->diag, n->desc->name, "op %d (%s) is not a data-movement op", op,
                  dlb_lop_name(s->op));
        return DLB_EINVAL;
    }
}
