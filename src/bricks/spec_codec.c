/* spec_codec.c — a brick as a self-contained protobuf-c BrickSpec (proto/dlbricks.proto) and back.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dlbricks.pb-c.h"
#include "dlbricks/brick.h"

/* Enum identifiers travel by name ("CONV", "POOL_MAX"): unique, and stable when the X-macro
 * lists grow. */
static const char *const LOP_IDS[] = {
#define DLB_LOP_ID_(name, str) #name,
    DLB_LOP_MAP(DLB_LOP_ID_)
#undef DLB_LOP_ID_
};
static const char *const ALG_IDS[] = {
#define DLB_ALG_ID_(name, str) #name,
    DLB_ALG_MAP(DLB_ALG_ID_)
#undef DLB_ALG_ID_
};
static const char *const POST_IDS[] = {"eltwise", "sum", "binary"};

static int index_of(const char *const *ids, int n, const char *s) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(ids[i], s)) return i;
    return -1;
}

/* ---- encoding --------------------------------------------------------------------------------*/

typedef struct enc {
    dlb_arena *a;
    bool oom;
} enc;

static void *ealloc(enc *e, size_t n) {
    void *p = dlb__arena_alloc(e->a, n);
    if (!p) e->oom = true;
    return p;
}

static Dlbricks__Operand *enc_operand(enc *e, const dlb_operand *o) {
    Dlbricks__Operand *m = ealloc(e, sizeof *m);
    if (!m) return NULL;
    dlbricks__operand__init(m);
    m->dtype = (int32_t)o->dtype;
    m->n_dims = (size_t)(o->shape.rank > 0 ? o->shape.rank : 0);
    m->dims = ealloc(e, sizeof(int64_t) * (m->n_dims + 1));
    if (m->dims) memcpy(m->dims, o->shape.dims, sizeof(int64_t) * m->n_dims);
    m->has_plain = m->plain = o->plain_layout; /* absent for the (default) natural class */
    m->has_groups = o->layout_groups > 1;
    m->groups = m->has_groups ? o->layout_groups : 0;
    m->has_cold = m->cold = o->cold;
    m->has_cold_mib = o->cold && o->cold_mib > 0;
    m->cold_mib = m->has_cold_mib ? o->cold_mib : 0;
    m->has_streamed = m->streamed = o->streamed; /* absent for ordinary stores */
    m->has_near_kib = !o->cold && o->near_kib > 0;
    m->near_kib = m->has_near_kib ? o->near_kib : 0;
    m->n_view_dims = (size_t)(o->view_of.rank > 0 ? o->view_of.rank : 0);
    if (m->n_view_dims) {
        m->view_dims = ealloc(e, sizeof(int64_t) * m->n_view_dims);
        if (m->view_dims) memcpy(m->view_dims, o->view_of.dims, sizeof(int64_t) * m->n_view_dims);
    }
    m->has_view_groups = o->view_groups > 1;
    m->view_groups = m->has_view_groups ? o->view_groups : 0;
    m->has_view_mixed = m->view_mixed = o->view_mixed && m->n_view_dims > 0;
    return m;
}

static Dlbricks__Operand **enc_operands(enc *e, const dlb_operand *o, int n) {
    Dlbricks__Operand **v = ealloc(e, sizeof *v * (size_t)(n + 1));
    for (int i = 0; v && i < n; i++) v[i] = enc_operand(e, &o[i]);
    return v;
}

static Dlbricks__Param *enc_param(enc *e, const char *name, const int64_t *ints, int ni,
                                  const double *floats, int nf) {
    Dlbricks__Param *p = ealloc(e, sizeof *p);
    if (!p) return NULL;
    dlbricks__param__init(p);
    p->name = (char *)name;
    p->n_ints = (size_t)ni;
    p->ints = ni ? dlb__arena_memdup(e->a, ints, sizeof(int64_t) * (size_t)ni) : NULL;
    p->n_floats = (size_t)nf;
    p->floats = nf ? dlb__arena_memdup(e->a, floats, sizeof(double) * (size_t)nf) : NULL;
    if ((ni && !p->ints) || (nf && !p->floats)) e->oom = true;
    return p;
}

/* Every field of dlb_params, by name. */
static Dlbricks__Param **enc_params(enc *e, const dlb_params *p, size_t *n) {
    enum { NPARAMS = 16 };
    Dlbricks__Param **v = ealloc(e, sizeof *v * NPARAMS);
    if (!v) return NULL;
    int64_t scal[] = {p->nsp,       p->group,    p->axis,    p->n_axes,  p->size,    p->has_bias,
                      p->ceil_mode, p->keepdims, p->trans_a, p->trans_b, p->pad_mode};
    double fl[] = {p->alpha, p->beta, p->eps};
    size_t k = 0;
    v[k++] = enc_param(e, "scalars", scal, (int)(sizeof scal / sizeof *scal), NULL, 0);
    v[k++] = enc_param(e, "floats", NULL, 0, fl, 3);
    v[k++] = enc_param(e, "kernel", p->kernel, 3, NULL, 0);
    v[k++] = enc_param(e, "stride", p->stride, 3, NULL, 0);
    v[k++] = enc_param(e, "dilation", p->dilation, 3, NULL, 0);
    v[k++] = enc_param(e, "pad_begin", p->pad_begin, DLB_MAX_RANK, NULL, 0);
    v[k++] = enc_param(e, "pad_end", p->pad_end, DLB_MAX_RANK, NULL, 0);
    v[k++] = enc_param(e, "axes", p->axes, DLB_MAX_RANK, NULL, 0);
    v[k++] = enc_param(e, "starts", p->starts, DLB_MAX_RANK, NULL, 0);
    v[k++] = enc_param(e, "ends", p->ends, DLB_MAX_RANK, NULL, 0);
    v[k++] = enc_param(e, "steps", p->steps, DLB_MAX_RANK, NULL, 0);
    *n = k;
    return v;
}

static Dlbricks__OpSpec *enc_op(enc *e, const dlb_op_spec *s) {
    Dlbricks__OpSpec *m = ealloc(e, sizeof *m);
    if (!m) return NULL;
    dlbricks__op_spec__init(m);
    m->op = (char *)LOP_IDS[s->op];
    m->alg = (char *)ALG_IDS[s->alg];
    m->n_src = (size_t)s->n_src;
    m->src = enc_operands(e, s->src, s->n_src);
    m->n_wei = (size_t)s->n_wei;
    m->wei = enc_operands(e, s->wei, s->n_wei);
    m->n_dst = (size_t)s->n_dst;
    m->dst = enc_operands(e, s->dst, s->n_dst);
    m->params = enc_params(e, &s->p, &m->n_params);
    m->has_warm = m->warm = s->warm; /* written only when true */
    m->n_post = (size_t)s->n_post;
    m->post = ealloc(e, sizeof *m->post * (size_t)(s->n_post + 1));
    for (int k = 0; m->post && k < s->n_post; k++) {
        const dlb_postop *p = &s->post[k];
        Dlbricks__PostOp *q = ealloc(e, sizeof *q);
        if (!q) break;
        dlbricks__post_op__init(q);
        q->kind = (char *)POST_IDS[p->kind];
        q->alg = (char *)ALG_IDS[p->alg];
        q->has_alpha = q->has_beta = 1;
        q->alpha = p->alpha;
        q->beta = p->beta;
        if (p->kind != DLB_POST_ELTWISE) q->operand = enc_operand(e, &p->operand);
        m->post[k] = q;
    }
    return m;
}

dlb_status dlb_brick_encode(const dlb_brick *b, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    enc e = {.a = dlb__arena_new()};
    if (!e.a) return DLB_ENOMEM;
    Dlbricks__BrickSpec m = DLBRICKS__BRICK_SPEC__INIT;
    m.spec_version = DLB_SPEC_VERSION;
    m.id = b->id;
    m.key = (char *)b->key;
    m.n_ops = (size_t)b->n_ops;
    m.ops = ealloc(&e, sizeof *m.ops * (size_t)(b->n_ops + 1));
    for (int j = 0; m.ops && j < b->n_ops; j++) m.ops[j] = enc_op(&e, &b->ops[j]);
    m.n_edges = (size_t)b->n_edges;
    m.edges = ealloc(&e, sizeof *m.edges * (size_t)(b->n_edges + 1));
    for (int i = 0; m.edges && i < b->n_edges; i++) {
        Dlbricks__Edge *ed = ealloc(&e, sizeof *ed);
        if (!ed) break;
        dlbricks__edge__init(ed);
        ed->to_op = b->edges[i].to_op;
        ed->to_src = b->edges[i].to_src;
        ed->from_op = b->edges[i].from_op;
        ed->from_out = b->edges[i].from_out;
        m.edges[i] = ed;
    }
    m.has_flops = m.has_bytes = 1;
    m.flops = b->flops;
    m.bytes = b->bytes;
    dlb_status st = DLB_ENOMEM;
    if (!e.oom) {
        size_t n = dlbricks__brick_spec__get_packed_size(&m);
        *buf = malloc(n ? n : 1);
        if (*buf) {
            *len = dlbricks__brick_spec__pack(&m, *buf);
            st = DLB_OK;
        }
    }
    dlb__arena_free(e.a);
    return st;
}

/* ---- decoding --------------------------------------------------------------------------------*/

struct dlb_brick_decoded {
    dlb_arena *a;
    dlb_brick brick;
};

void dlb_brick_decoded_free(dlb_brick_decoded *d) {
    if (!d) return;
    dlb__arena_free(d->a);
    free(d);
}

static bool dec_operand(const Dlbricks__Operand *m, dlb_operand *o) {
    if (!m || m->n_dims > DLB_MAX_RANK || m->n_view_dims > DLB_MAX_RANK) return false;
    o->dtype = (dlb_dtype)m->dtype;
    o->shape.rank = (int)m->n_dims;
    for (size_t i = 0; i < m->n_dims; i++) o->shape.dims[i] = m->dims[i];
    o->plain_layout = m->has_plain && m->plain;
    o->layout_groups = m->has_groups && m->groups > 1 && !o->plain_layout ? m->groups : 0;
    o->cold = m->has_cold && m->cold;
    o->cold_mib = o->cold && m->has_cold_mib && m->cold_mib > 0 ? m->cold_mib : 0;
    o->streamed = m->has_streamed && m->streamed;
    o->near_kib = !o->cold && m->has_near_kib && m->near_kib > 0 ? m->near_kib : 0;
    o->view_of.rank = (int)m->n_view_dims;
    for (size_t i = 0; i < m->n_view_dims; i++) o->view_of.dims[i] = m->view_dims[i];
    o->view_groups =
        m->has_view_groups && m->view_groups > 1 && o->view_of.rank > 0 ? m->view_groups : 0;
    o->view_mixed = m->has_view_mixed && m->view_mixed && o->view_of.rank > 0;
    return true;
}

static bool dec_operands(dlb_arena *a, Dlbricks__Operand **v, size_t n, dlb_operand **out) {
    *out = dlb__arena_calloc(a, n + 1, sizeof **out);
    if (!*out) return false;
    for (size_t i = 0; i < n; i++)
        if (!dec_operand(v[i], &(*out)[i])) return false;
    return true;
}

static void copy_ints(int64_t *dst, const Dlbricks__Param *p, size_t max) {
    for (size_t i = 0; i < p->n_ints && i < max; i++) dst[i] = p->ints[i];
}

static bool dec_params(const Dlbricks__OpSpec *m, dlb_params *p) {
    for (size_t i = 0; i < m->n_params; i++) {
        const Dlbricks__Param *q = m->params[i];
        if (!strcmp(q->name, "scalars") && q->n_ints == 11) {
            const int64_t *v = q->ints;
            p->nsp = (int)v[0];
            p->group = v[1];
            p->axis = v[2];
            p->n_axes = (int)v[3];
            p->size = v[4];
            p->has_bias = v[5];
            p->ceil_mode = v[6];
            p->keepdims = v[7];
            p->trans_a = v[8];
            p->trans_b = v[9];
            p->pad_mode = (int)v[10];
        } else if (!strcmp(q->name, "floats") && q->n_floats == 3) {
            p->alpha = q->floats[0];
            p->beta = q->floats[1];
            p->eps = q->floats[2];
        } else if (!strcmp(q->name, "kernel"))
            copy_ints(p->kernel, q, 3);
        else if (!strcmp(q->name, "stride"))
            copy_ints(p->stride, q, 3);
        else if (!strcmp(q->name, "dilation"))
            copy_ints(p->dilation, q, 3);
        else if (!strcmp(q->name, "pad_begin"))
            copy_ints(p->pad_begin, q, DLB_MAX_RANK);
        else if (!strcmp(q->name, "pad_end"))
            copy_ints(p->pad_end, q, DLB_MAX_RANK);
        else if (!strcmp(q->name, "axes"))
            copy_ints(p->axes, q, DLB_MAX_RANK);
        else if (!strcmp(q->name, "starts"))
            copy_ints(p->starts, q, DLB_MAX_RANK);
        else if (!strcmp(q->name, "ends"))
            copy_ints(p->ends, q, DLB_MAX_RANK);
        else if (!strcmp(q->name, "steps"))
            copy_ints(p->steps, q, DLB_MAX_RANK);
    }
    return p->nsp >= 0 && p->nsp <= 3 && p->n_axes >= 0 && p->n_axes <= DLB_MAX_RANK;
}

static bool dec_op(dlb_arena *a, const Dlbricks__OpSpec *m, dlb_op_spec *s) {
    int op = index_of(LOP_IDS, DLB_LOP_COUNT_, m->op);
    int alg = index_of(ALG_IDS, DLB_ALG_COUNT_, m->alg ? m->alg : "NONE");
    if (op < 0 || alg < 0 || m->n_post > DLB_MAX_POST) return false;
    s->op = (dlb_lop)op;
    s->alg = (dlb_alg)alg;
    s->n_src = (int)m->n_src;
    s->n_wei = (int)m->n_wei;
    s->n_dst = (int)m->n_dst;
    if (!dec_operands(a, m->src, m->n_src, &s->src) ||
        !dec_operands(a, m->wei, m->n_wei, &s->wei) ||
        !dec_operands(a, m->dst, m->n_dst, &s->dst) || !dec_params(m, &s->p))
        return false;
    s->warm = m->has_warm && m->warm;
    s->n_post = (int)m->n_post;
    for (size_t k = 0; k < m->n_post; k++) {
        const Dlbricks__PostOp *q = m->post[k];
        int kind = index_of(POST_IDS, 3, q->kind);
        int palg = index_of(ALG_IDS, DLB_ALG_COUNT_, q->alg ? q->alg : "NONE");
        if (kind < 0 || palg < 0) return false;
        dlb_postop *p = &s->post[k];
        p->kind = (dlb_post_kind)kind;
        p->alg = (dlb_alg)palg;
        p->alpha = q->alpha;
        p->beta = q->beta;
        if (kind != DLB_POST_ELTWISE && !dec_operand(q->operand, &p->operand)) return false;
    }
    return true;
}

dlb_status dlb_brick_decode(const void *buf, size_t len, dlb_brick_decoded **out) {
    *out = NULL;
    Dlbricks__BrickSpec *m = dlbricks__brick_spec__unpack(NULL, len, buf);
    if (!m) return DLB_EPARSE;
    dlb_status st = DLB_EPARSE;
    dlb_brick_decoded *d = calloc(1, sizeof *d);
    if (!d || !(d->a = dlb__arena_new())) {
        st = DLB_ENOMEM;
        goto done;
    }
    dlb_brick *b = &d->brick;
    if (m->spec_version != DLB_SPEC_VERSION || !m->key ||
        dlb_brick_id_of_key(m->key, strlen(m->key)) != m->id)
        goto done; /* another version, or a corrupted message */
    b->id = m->id;
    b->key = dlb__arena_strdup(d->a, m->key);
    b->n_ops = (int)m->n_ops;
    b->ops = dlb__arena_calloc(d->a, m->n_ops + 1, sizeof *b->ops);
    b->n_edges = (int)m->n_edges;
    b->edges = dlb__arena_calloc(d->a, m->n_edges + 1, sizeof *b->edges);
    if (!b->key || !b->ops || !b->edges) {
        st = DLB_ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < m->n_ops; j++)
        if (!dec_op(d->a, m->ops[j], &b->ops[j])) goto done;
    for (size_t i = 0; i < m->n_edges; i++)
        b->edges[i] = (dlb_brick_edge){m->edges[i]->to_op, m->edges[i]->to_src,
                                       m->edges[i]->from_op, m->edges[i]->from_out};
    b->flops = m->flops;
    b->bytes = m->bytes;
    st = DLB_OK;
done:
    dlbricks__brick_spec__free_unpacked(m, NULL);
    if (st != DLB_OK) {
        dlb_brick_decoded_free(d);
        return st;
    }
    *out = d;
    return DLB_OK;
}

const dlb_brick *dlb_brick_decoded_brick(const dlb_brick_decoded *d) {
    return &d->brick;
}
