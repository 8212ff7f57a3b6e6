/* key.c — canonical, human-readable key of a lowered op: every attribute that changes its cost. */
#include <stdarg.h>
#include <stdio.h>

#include "lower_internal.h"

const char *dlb_lop_name(dlb_lop op) {
    static const char *names[] = {
#define DLB_LOP_STR_(name, str) str,
        DLB_LOP_MAP(DLB_LOP_STR_)
#undef DLB_LOP_STR_
    };
    return op >= 0 && op < DLB_LOP_COUNT_ ? names[op] : "?";
}

const char *dlb_alg_name(dlb_alg alg) {
    static const char *names[] = {
#define DLB_ALG_STR_(name, str) str,
        DLB_ALG_MAP(DLB_ALG_STR_)
#undef DLB_ALG_STR_
    };
    return alg >= 0 && alg < DLB_ALG_COUNT_ ? names[alg] : "?";
}

typedef struct kbuf {
    char *p;
    int size, n;
} kbuf;

static void put(kbuf *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(kbuf *k, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int room = k->n < k->size ? k->size - k->n : 0;
    int w = vsnprintf(room ? k->p + k->n : NULL, (size_t)room, fmt, ap);
    va_end(ap);
    if (w > 0) k->n += w;
}

static void put_ints(kbuf *k, const char *name, const int64_t *v, int n) {
    put(k, " %s=", name);
    for (int i = 0; i < n; i++) put(k, "%s%lld", i ? "x" : "", (long long)v[i]);
}

/* Doubles are printed with %.9g: identical values give identical keys on every machine. */
static void put_operand(kbuf *k, const char *role, const dlb_operand *o) {
    char shape[160];
    dlb_shape_format(&o->shape, shape, sizeof shape);
    put(k, " %s=%s:%s", role, dlb_dtype_name(o->dtype), shape);
}

/* ":view=DIMS[:gN][:mixed]": the operand is a view of a tensor held in a natural layout (mixed:
 * a concat of a plain first source and natural ones, natural only where that is blocked),
 * reordered to plain inside the run (only a 4-D/5-D f32 one is ever not plain: natural_md in
 * src/exec/net.c). */
static void put_view(kbuf *k, const dlb_operand *o) {
    if (o->view_of.rank != 4 && o->view_of.rank != 5) return;
    if (o->dtype != DLB_DT_F32) return;
    char shape[160];
    dlb_shape_format(&o->view_of, shape, sizeof shape);
    put(k, ":view=%s", shape);
    if (o->view_groups > 1) put(k, ":g%d", (int)o->view_groups);
    if (o->view_mixed) put(k, ":mixed");
}

/* Can the layout class of source o of s change what the executor runs when o is an external
 * input?  Only a 4-D/5-D f32 input gets a non-plain (natural) layout (natural_md in
 * src/exec/net.c).  Ops created on their input's format read it; convolutions, matmuls and
 * inner products (format_tag_any) reorder a plain input inside the run, as the model does at
 * that boundary.  Not layer norm, gather, expand and erf (plain sources), nor post-op operands
 * (created in the format the primitive asks for). */
static bool layout_matters(const dlb_op_spec *s, const dlb_operand *o) {
    if (o->dtype != DLB_DT_F32 || (o->shape.rank != 4 && o->shape.rank != 5)) return false;
    switch (s->op) {
    case DLB_LOP_UNCOVERED:
    case DLB_LOP_LNORM:
    case DLB_LOP_GATHER:
    case DLB_LOP_EXPAND:
        return false;
    case DLB_LOP_ELTWISE:
        return s->alg != DLB_ALG_ERF;
    default:
        return true;
    }
}

static void put_params(kbuf *k, const dlb_op_spec *s) {
    const dlb_params *p = &s->p;
    switch (s->op) {
    case DLB_LOP_CONV:
    case DLB_LOP_DECONV:
        put_ints(k, "k", p->kernel, p->nsp);
        put_ints(k, "s", p->stride, p->nsp);
        put_ints(k, "d", p->dilation, p->nsp);
        put_ints(k, "pb", p->pad_begin, p->nsp);
        put_ints(k, "pe", p->pad_end, p->nsp);
        put(k, " g=%lld bias=%d", (long long)p->group, p->has_bias);
        break;
    case DLB_LOP_POOL:
        put_ints(k, "k", p->kernel, p->nsp);
        put_ints(k, "s", p->stride, p->nsp);
        put_ints(k, "d", p->dilation, p->nsp);
        put_ints(k, "pb", p->pad_begin, p->nsp);
        put_ints(k, "pe", p->pad_end, p->nsp);
        put(k, " ceil=%d", p->ceil_mode);
        break;
    case DLB_LOP_MATMUL:
    case DLB_LOP_INNER_PRODUCT:
        put(k, " ta=%d tb=%d bias=%d", p->trans_a, p->trans_b, p->has_bias);
        if (p->alpha != 0 && (p->alpha != 1 || p->beta != 1))
            put(k, " alpha=%.9g beta=%.9g", p->alpha, p->beta);
        break;
    case DLB_LOP_ELTWISE:
        put(k, " alpha=%.9g beta=%.9g", p->alpha, p->beta);
        break;
    case DLB_LOP_LRN:
        put(k, " size=%lld alpha=%.9g beta=%.9g bias=%.9g", (long long)p->size, p->alpha, p->beta,
            p->eps);
        break;
    case DLB_LOP_BNORM:
    case DLB_LOP_INORM:
        break; /* epsilon does not change the cost */
    case DLB_LOP_LNORM:
    case DLB_LOP_CONCAT:
    case DLB_LOP_SOFTMAX:
    case DLB_LOP_SPLIT:
    case DLB_LOP_GATHER:
        put(k, " axis=%lld", (long long)p->axis);
        break;
    case DLB_LOP_REDUCE:
        put_ints(k, "axes", p->axes, p->n_axes);
        put(k, " keep=%d", p->keepdims);
        break;
    case DLB_LOP_TRANSPOSE:
        put_ints(k, "perm", p->axes, p->n_axes);
        break;
    case DLB_LOP_PAD: {
        int r = s->n_src ? s->src[0].shape.rank : 0;
        put_ints(k, "pb", p->pad_begin, r);
        put_ints(k, "pe", p->pad_end, r);
        put(k, " mode=%d", p->pad_mode);
        break;
    }
    default:
        break;
    }
}

/* Cache state of a cold operand: ":cold" from memory, ":cold=NM" at a reuse distance of about
 * N MiB. */
static void put_cold(kbuf *k, bool cold, int32_t mib) {
    if (cold && mib > 0)
        put(k, ":cold=%dM", (int)mib);
    else if (cold)
        put(k, ":cold");
}

int dlb_op_spec_key(const dlb_op_spec *s, char *buf, int size) {
    kbuf k = {.p = buf, .size = size};
    if (size > 0) buf[0] = 0;
    put(&k, "%s", dlb_lop_name(s->op));
    if (s->alg != DLB_ALG_NONE) put(&k, ":%s", dlb_alg_name(s->alg));
    for (int i = 0; i < s->n_src; i++) {
        put_operand(&k, "src", &s->src[i]);
        if (s->src[i].plain_layout && layout_matters(s, &s->src[i])) put(&k, ":plain");
        if (s->src[i].layout_groups > 1 && layout_matters(s, &s->src[i]))
            put(&k, ":g%d", (int)s->src[i].layout_groups);
        put_view(&k, &s->src[i]);
        put_cold(&k, s->src[i].cold, s->src[i].cold_mib);
        if (s->src[i].near_kib > 0) put(&k, ":near=%dK", (int)s->src[i].near_kib);
    }
    for (int i = 0; i < s->n_wei; i++) {
        put_operand(&k, "wei", &s->wei[i]);
        if (s->warm) put(&k, ":warm");
        if (s->wei[i].cold_mib > 0) put_cold(&k, true, s->wei[i].cold_mib); /* memory: unsaid */
    }
    for (int i = 0; i < s->n_dst; i++) {
        put_operand(&k, "dst", &s->dst[i]);
        if (s->dst[i].streamed) put(&k, ":nt");           /* non-temporal stores onto dirty bytes */
        put_cold(&k, s->dst[i].cold, s->dst[i].cold_mib); /* lands on bytes last used that far */
    }
    put_params(&k, s);
    for (int i = 0; i < s->n_post; i++) {
        const dlb_postop *po = &s->post[i];
        if (po->kind == DLB_POST_ELTWISE) {
            put(&k, " post=eltwise:%s", dlb_alg_name(po->alg));
            if (po->alpha != 0 || po->beta != 0) put(&k, "(%.9g,%.9g)", po->alpha, po->beta);
        } else {
            put(&k, " post=%s:%s", po->kind == DLB_POST_SUM ? "sum" : "binary",
                dlb_alg_name(po->alg));
            put_operand(&k, "with", &po->operand);
            put_view(&k, &po->operand);
            put_cold(&k, po->operand.cold, po->operand.cold_mib);
            if (po->operand.near_kib > 0) put(&k, ":near=%dK", (int)po->operand.near_kib);
        }
    }
    if (s->warm && s->n_wei == 0) put(&k, " warm"); /* a weighted op says it per weight */
    return k.n;
}
