/* test_exec_data.c — executor data-movement ops checked exactly against naive references. */
#include <stdbool.h>
#include <stdint.h>

#include "dlbricks/exec.h"
#include "exec/net_internal.h" /* buffer formats, printed with DLB_TEST_VERBOSE */
#include "test_util.h"

#define MAXT 8 /* operands per test op */

/* ---- shapes -----------------------------------------------------------------------------------*/

/* Operand from "2x3x4" ("" is a scalar). */
static dlb_operand opd(const char *dims) {
    dlb_operand o = {.dtype = DLB_DT_F32};
    for (const char *p = dims; *p;) {
        char *end;
        o.shape.dims[o.shape.rank++] = strtoll(p, &end, 10);
        p = *end ? end + 1 : end;
    }
    return o;
}

static int64_t count(const dlb_shape *s) {
    int64_t c = 1;
    for (int i = 0; i < s->rank; i++) c *= s->dims[i];
    return c;
}

static void unravel(int64_t lin, const dlb_shape *s, int64_t *idx) {
    for (int i = s->rank - 1; i >= 0; i--) {
        idx[i] = lin % s->dims[i];
        lin /= s->dims[i];
    }
}

static int64_t ravel(const int64_t *idx, const dlb_shape *s) {
    int64_t lin = 0;
    for (int i = 0; i < s->rank; i++) lin = lin * s->dims[i] + idx[i];
    return lin;
}

/* ---- naive references -------------------------------------------------------------------------*/

/* Element of output k at dst index idx: the source value, or 0 (constant pad border). */
static float ref_elem(const dlb_op_spec *s, float *const *in, const int32_t *ind, int k,
                      const int64_t *idx) {
    int64_t si[DLB_MAX_RANK];
    const dlb_shape *S = &s->src[0].shape;
    int ax = (int)s->p.axis, r = S->rank;
    switch (s->op) {
    case DLB_LOP_CONCAT: {
        int64_t at = idx[ax];
        for (int j = 0; j < s->n_src; j++) {
            if (at < s->src[j].shape.dims[ax]) {
                memcpy(si, idx, sizeof si);
                si[ax] = at;
                return in[j][ravel(si, &s->src[j].shape)];
            }
            at -= s->src[j].shape.dims[ax];
        }
        return -1e30f;
    }
    case DLB_LOP_TRANSPOSE:
        for (int i = 0; i < r; i++) si[s->p.n_axes ? s->p.axes[i] : r - 1 - i] = idx[i];
        return in[0][ravel(si, S)];
    case DLB_LOP_SLICE:
        return in[0][ravel(idx, S)];
    case DLB_LOP_SPLIT:
        memcpy(si, idx, sizeof si);
        for (int j = 0; j < k; j++) si[ax] += s->dst[j].shape.dims[ax];
        return in[0][ravel(si, S)];
    case DLB_LOP_PAD:
        for (int i = 0; i < r; i++) {
            int64_t j = idx[i] - s->p.pad_begin[i], n = S->dims[i];
            if (j < 0 || j >= n) {
                if (s->p.pad_mode == 0) return 0.0f;
                if (s->p.pad_mode == 2)
                    j = j < 0 ? 0 : n - 1;
                else
                    j = j < 0 ? -j : 2 * (n - 1) - j;
            }
            si[i] = j;
        }
        return in[0][ravel(si, S)];
    case DLB_LOP_GATHER: {
        int ri = s->wei[0].shape.rank; /* dst = S[:ax] + indices + S[ax+1:] */
        int64_t ii[DLB_MAX_RANK];
        for (int i = 0; i < r; i++) si[i] = i < ax ? idx[i] : i > ax ? idx[i - 1 + ri] : 0;
        for (int i = 0; i < ri; i++) ii[i] = idx[ax + i];
        int64_t j = ind[ri ? ravel(ii, &s->wei[0].shape) : 0];
        si[ax] = j < 0 ? j + S->dims[ax] : j;
        return in[0][ravel(si, S)];
    }
    case DLB_LOP_EXPAND: {
        int off = s->dst[0].shape.rank - r;
        for (int i = 0; i < r; i++) si[i] = idx[i + off] % S->dims[i];
        return in[0][ravel(si, S)];
    }
    default:
        return -1e30f;
    }
}

/* ---- harness ----------------------------------------------------------------------------------*/

static test_diag_buf diag_text;

static dlb_diag make_diag(void) {
    diag_text.n = 0;
    diag_text.text[0] = 0;
    return (dlb_diag){.emit = test_diag_capture, .ctx = &diag_text};
}

/* Exact-integer test values (distinct per input). */
static float *seq(int64_t n, int base) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = (float)(base + i);
    return p;
}

static int compare(const char *what, int k, const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "%s: output %d element %lld: got %g, expected %g\n", what, k,
                    (long long)i, got[i], want[i]);
            return 1;
        }
    return 0;
}

/* Run spec alone (inputs 1000 k + i; indices `ind` via set_weight, or the compiler's rule
 * (7 j) mod dim when NULL) and compare every output with the reference. */
static void check_one(const char *what, dlb_op_spec *s, const int32_t *ind) {
    dlb_netdesc d = {.n_ops = 1, .ops = s, .name = what};
    dlb_diag diag = make_diag();
    dlb_net *n = NULL;
    float *in[MAXT] = {0};
    int32_t gen[64];
    dlb_status st = dlb_net_create(&d, NULL, &diag, &n);
    if (st != DLB_OK) fprintf(stderr, "%s: create failed:\n%s", what, diag_text.text);
    ASSERT_EQ_INT(st, DLB_OK);
    if (st != DLB_OK) return;
    for (int k = 0; k < s->n_src; k++) {
        int64_t c = count(&s->src[k].shape);
        in[k] = seq(c, 1000 * k);
        ASSERT_EQ_INT(dlb_net_set_input(n, 0, k, in[k], (size_t)c), DLB_OK);
    }
    if (s->op == DLB_LOP_GATHER) {
        int64_t c = count(&s->wei[0].shape), dim = s->src[0].shape.dims[s->p.axis];
        if (!ind) {
            for (int64_t j = 0; j < c && j < 64; j++) gen[j] = (int32_t)(7 * j % dim);
            ind = gen;
        } else {
            float bits[64];
            memcpy(bits, ind, sizeof(int32_t) * (size_t)c); /* s32 travels bit for bit */
            ASSERT_EQ_INT(dlb_net_set_weight(n, 0, 0, bits, (size_t)c), DLB_OK);
        }
    }
    ASSERT_EQ_INT(dlb_net_run(n), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(n), DLB_OK); /* twice: nothing may depend on a first run */
    ASSERT(dlb_net_impl(n, 0)[0] != 0);
    if (getenv("DLB_TEST_VERBOSE")) printf("%-28s %s\n", what, dlb_net_impl(n, 0));
    for (int k = 0; k < s->n_dst; k++) {
        const dlb_shape *D = &s->dst[k].shape;
        int64_t c = count(D), idx[DLB_MAX_RANK];
        float *got = malloc(sizeof(float) * (size_t)c), *want = malloc(sizeof(float) * (size_t)c);
        ASSERT_EQ_INT(dlb_net_get_output(n, 0, k, got, (size_t)c), DLB_OK);
        for (int64_t i = 0; i < c; i++) {
            unravel(i, D, idx);
            want[i] = ref_elem(s, in, ind, k, idx);
        }
        test_failures += compare(what, k, got, want, c);
        free(got);
        free(want);
    }
    for (int k = 0; k < MAXT; k++) free(in[k]);
    dlb_net_free(n);
}

/* A spec with operands from shape strings (NULL-terminated lists). */
typedef struct spec_buf {
    dlb_op_spec s;
    dlb_operand src[MAXT], wei[2], dst[MAXT];
} spec_buf;

static dlb_op_spec *mk(spec_buf *b, dlb_lop op, const char *const *src, const char *const *dst) {
    memset(b, 0, sizeof *b);
    b->s.op = op;
    b->s.src = b->src;
    b->s.wei = b->wei;
    b->s.dst = b->dst;
    for (; src[b->s.n_src]; b->s.n_src++) b->src[b->s.n_src] = opd(src[b->s.n_src]);
    for (; dst[b->s.n_dst]; b->s.n_dst++) b->dst[b->s.n_dst] = opd(dst[b->s.n_dst]);
    return &b->s;
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- one-op tests -----------------------------------------------------------------------------*/

static int n_cases;

static void test_concat(void) {
    static const char *two[4][3] = {{"2x3x4x5", "3x3x4x5", "5x3x4x5"},
                                    {"2x3x4x5", "2x6x4x5", "2x9x4x5"},
                                    {"2x3x4x5", "2x3x1x5", "2x3x5x5"},
                                    {"2x3x4x5", "2x3x4x7", "2x3x4x12"}};
    static const char *five[4][6] = {
        {"1x3x4x5", "2x3x4x5", "1x3x4x5", "3x3x4x5", "1x3x4x5", "8x3x4x5"},
        {"2x8x4x5", "2x16x4x5", "2x3x4x5", "2x8x4x5", "2x1x4x5", "2x36x4x5"},
        {"2x3x4x5", "2x3x1x5", "2x3x2x5", "2x3x4x5", "2x3x3x5", "2x3x14x5"},
        {"2x3x4x5", "2x3x4x1", "2x3x4x2", "2x3x4x5", "2x3x4x3", "2x3x4x16"}};
    spec_buf b;
    char what[64];
    for (int ax = 0; ax < 4; ax++) {
        dlb_op_spec *s = mk(&b, DLB_LOP_CONCAT, L(two[ax][0], two[ax][1]), L(two[ax][2]));
        s->p.axis = ax;
        snprintf(what, sizeof what, "concat2 axis %d", ax);
        check_one(what, s, NULL);
        s = mk(&b, DLB_LOP_CONCAT,
               L(five[ax][0], five[ax][1], five[ax][2], five[ax][3], five[ax][4]), L(five[ax][5]));
        s->p.axis = ax;
        snprintf(what, sizeof what, "concat5 axis %d", ax);
        check_one(what, s, NULL);
        n_cases += 2;
    }
}

static void test_transpose(void) {
    static const struct {
        const char *src, *dst;
        int n;
        int64_t perm[6];
    } t[] = {
        {"5x7", "7x5", 2, {1, 0}},
        {"2x197x64", "2x64x197", 3, {0, 2, 1}}, /* ViT-style */
        {"2x3x4x5", "2x4x5x3", 4, {0, 2, 3, 1}},
        {"2x3x4x5", "2x5x3x4", 4, {0, 3, 1, 2}},
        {"2x3x4x5", "5x4x3x2", 0, {0}}, /* no perm: reverse */
        {"2x3x4x5x6", "2x4x3x6x5", 5, {0, 2, 1, 4, 3}},
        {"1x2x3x4x5x6", "1x3x5x2x4x6", 6, {0, 2, 4, 1, 3, 5}}, /* Swin window partition */
    };
    spec_buf b;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        dlb_op_spec *s = mk(&b, DLB_LOP_TRANSPOSE, L(t[i].src), L(t[i].dst));
        s->p.n_axes = t[i].n;
        for (int k = 0; k < t[i].n; k++) s->p.axes[k] = t[i].perm[k];
        check_one(t[i].dst, s, NULL);
        n_cases++;
    }
}

/* A source the model hands over through a view of a tensor in a natural layout (view_of:
 * ShuffleNet's channel shuffle, Reshape of a concat of convolutions, then Transpose): the brick
 * starts from that tensor in that layout and reorders it to plain before the view, as the model
 * does.  The values read through the view are exact, and the brick has that one reorder before
 * the op. */
static void test_transpose_of_view(void) {
    static const struct {
        const char *src, *view_of, *dst;
        int groups;
    } t[] = {
        {"1x2x24x28x28", "1x48x28x28", "1x24x2x28x28", 0},
        {"1x2x24x28x28", "1x48x28x28", "1x24x2x28x28", 6},
        {"1x2x58x7x7", "1x116x7x7", "1x58x2x7x7", 0},
    };
    spec_buf b;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        dlb_op_spec *s = mk(&b, DLB_LOP_TRANSPOSE, L(t[i].src), L(t[i].dst));
        s->p.n_axes = 5;
        int64_t perm[5] = {0, 2, 1, 3, 4};
        memcpy(s->p.axes, perm, sizeof perm);
        s->src[0].plain_layout = true;
        s->src[0].view_of = opd(t[i].view_of).shape;
        s->src[0].view_groups = t[i].groups;
        check_one(t[i].dst, s, NULL);
        /* the same op without the view: no reorder before it */
        dlb_netdesc d = {.n_ops = 1, .ops = s, .name = "view"};
        dlb_diag diag = make_diag();
        dlb_net *with = NULL, *without = NULL;
        ASSERT_EQ_INT(dlb_net_create(&d, NULL, &diag, &with), DLB_OK);
        s->src[0].view_of.rank = 0;
        ASSERT_EQ_INT(dlb_net_create(&d, NULL, &diag, &without), DLB_OK);
        if (with && without) {
            ASSERT_EQ_INT(dlb_net_n_steps(without), 1);
            /* x86 with AVX2 or more: a dense convolution never gives these dims plain nchw */
            int extra = dlb_net_n_steps(with) - 1;
            ASSERT_EQ_INT(extra, 1);
            ASSERT_EQ_INT(dlb_net_step_op(with, 0), -1);
            if (getenv("DLB_TEST_VERBOSE")) printf("view of %s: %d reorder\n", t[i].view_of, extra);
        }
        /* a view of a concat of a plain first source and natural ones (view_mixed): the source
         * starts blocked as above where the natural layout is blocked on this CPU, and plain
         * (viewed in place, no reorder) where it is not */
        dlb_net *mixed = NULL;
        s->src[0].view_of = opd(t[i].view_of).shape;
        s->src[0].view_mixed = true;
        check_one(t[i].dst, s, NULL);
        ASSERT_EQ_INT(dlb_net_create(&d, NULL, &diag, &mixed), DLB_OK);
        if (with && mixed) {
            const dnnl_memory_desc_t *nat = &with->bufs[with->slot_buf[0][0]].md,
                                     *got = &mixed->bufs[mixed->slot_buf[0][0]].md;
            bool blocked =
                nat->format_kind == dnnl_blocked && nat->format_desc.blocking.inner_nblks > 0;
            ASSERT_EQ_INT(dnnl_memory_desc_equal(nat, got), blocked);
            ASSERT_EQ_INT(dlb_net_n_steps(mixed), blocked ? 2 : 1);
            if (getenv("DLB_TEST_VERBOSE"))
                printf("mixed view of %s: natural %s\n", t[i].view_of,
                       blocked ? "blocked" : "not blocked");
        }
        s->src[0].view_mixed = false;
        s->src[0].view_of.rank = 0;
        dlb_net_free(mixed);
        dlb_net_free(with);
        dlb_net_free(without);
        n_cases++;
    }
}

static void test_slice_split(void) {
    spec_buf b;
    check_one("slice 4d", mk(&b, DLB_LOP_SLICE, L("2x8x10x10"), L("2x5x7x10")), NULL);
    check_one("slice 3d", mk(&b, DLB_LOP_SLICE, L("1x197x64"), L("1x1x64")), NULL);
    check_one("slice same", mk(&b, DLB_LOP_SLICE, L("3x4"), L("3x4")), NULL);
    check_one("slice empty", mk(&b, DLB_LOP_SLICE, L("3x4"), L("3x0")), NULL);
    static const struct {
        const char *src, *dst[4];
        int axis;
    } t[] = {
        {"2x12x5", {"2x4x5", "2x4x5", "2x4x5"}, 1},
        {"2x12x5", {"2x3x5", "2x9x5"}, 1},
        {"6x4", {"1x4", "2x4", "3x4"}, 0},
        {"2x3x10", {"2x3x7", "2x3x2"}, 2},          /* pieces not covering the input */
        {"1x116x7x7", {"1x58x7x7", "1x58x7x7"}, 1}, /* ShuffleNet */
        {"2x6", {"2x0", "2x6"}, 1},                 /* empty piece */
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        dlb_op_spec *s = mk(&b, DLB_LOP_SPLIT, L(t[i].src),
                            L(t[i].dst[0], t[i].dst[1], t[i].dst[2], t[i].dst[3]));
        s->p.axis = t[i].axis;
        check_one("split", s, NULL);
    }
    n_cases += 4 + (int)(sizeof t / sizeof *t);
}

static void test_pad(void) {
    static const struct {
        const char *src, *dst;
        int mode;
        int64_t pb[4], pe[4];
    } t[] = {
        {"1x3x5x6", "1x3x8x9", 0, {0, 0, 1, 2}, {0, 0, 2, 1}},
        {"1x7x7x8", "1x8x8x8", 0, {0, 0, 0, 0}, {0, 1, 1, 0}}, /* Swin window pad (NHWC) */
        {"2x3x4", "3x5x4", 0, {1, 1, 0}, {0, 1, 0}},
        {"1x3x6x6", "1x3x5x7", 0, {0, 0, -1, 1}, {0, 0, 0, 0}}, /* negative pad crops */
        {"1x2x4x5", "1x2x7x9", 2, {0, 0, 1, 2}, {0, 0, 2, 2}},  /* edge */
        {"1x2x4x5", "1x2x7x9", 1, {0, 0, 1, 2}, {0, 0, 2, 2}},  /* reflect */
        {"3x4", "5x4", 1, {1, 0}, {1, 0}},
    };
    spec_buf b;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        dlb_op_spec *s = mk(&b, DLB_LOP_PAD, L(t[i].src), L(t[i].dst));
        s->p.pad_mode = t[i].mode;
        for (int k = 0; k < 4; k++) {
            s->p.pad_begin[k] = t[i].pb[k];
            s->p.pad_end[k] = t[i].pe[k];
        }
        check_one(t[i].dst, s, NULL);
        n_cases++;
    }
    /* Reflect wider than the input is reported, not run. */
    dlb_op_spec *s = mk(&b, DLB_LOP_PAD, L("2x3"), L("2x9"));
    s->p.pad_mode = 1;
    s->p.pad_begin[1] = s->p.pad_end[1] = 3;
    dlb_netdesc d = {.n_ops = 1, .ops = s, .name = "bad pad"};
    dlb_diag diag = make_diag();
    dlb_net *n = NULL;
    ASSERT_EQ_INT(dlb_net_create(&d, NULL, &diag, &n), DLB_EUNSUPPORTED);
    ASSERT_CONTAINS(diag_text.text, "reflect pad");
    ASSERT(n == NULL);
    n_cases++;
}

static void test_gather(void) {
    spec_buf b;
    dlb_op_spec *s = mk(&b, DLB_LOP_GATHER, L("10x4x3"), L("2x3x4x3"));
    b.wei[0] = opd("2x3");
    b.wei[0].dtype = DLB_DT_S64;
    s->n_wei = 1;
    static const int32_t i0[6] = {9, 0, 3, 3, -1, 5};
    check_one("gather axis 0", s, i0);
    check_one("gather axis 0, generated indices", s, NULL);
    s = mk(&b, DLB_LOP_GATHER, L("2x5x8"), L("2x4x8"));
    b.wei[0] = opd("4");
    b.wei[0].dtype = DLB_DT_S64;
    s->n_wei = 1;
    s->p.axis = 1;
    static const int32_t i1[4] = {4, 1, 1, 0};
    check_one("gather axis 1", s, i1);
    s = mk(&b, DLB_LOP_GATHER, L("2x197x16"), L("2x16")); /* ViT class token: scalar index */
    b.wei[0] = opd("");
    b.wei[0].dtype = DLB_DT_S64;
    s->n_wei = 1;
    s->p.axis = 1;
    static const int32_t i2[1] = {0};
    check_one("gather scalar", s, i2);
    n_cases += 4;
}

static void test_expand(void) {
    spec_buf b;
    check_one("expand bcast", mk(&b, DLB_LOP_EXPAND, L("1x1x8"), L("2x5x8")), NULL);
    check_one("expand rank", mk(&b, DLB_LOP_EXPAND, L("3x1"), L("2x3x4")), NULL);
    check_one("expand same", mk(&b, DLB_LOP_EXPAND, L("2x3"), L("2x3")), NULL);
    check_one("tile", mk(&b, DLB_LOP_EXPAND, L("2x3"), L("4x9")), NULL);
    check_one("tile+bcast", mk(&b, DLB_LOP_EXPAND, L("1x2x1x5"), L("3x4x6x5")), NULL);
    n_cases += 5;
}

/* ---- two-op networks --------------------------------------------------------------------------*/

/* Identity convolution (c channels, k x k kernel with only the centre tap, same padding)
 * whose output (blocked where oneDNN prefers it) feeds op 1 slot 0. */
static void conv_identity(spec_buf *b, const char *shape, int c, int k) {
    char w[32];
    snprintf(w, sizeof w, "%dx%dx%dx%d", c, c, k, k);
    dlb_op_spec *s = mk(b, DLB_LOP_CONV, L(shape), L(shape));
    b->wei[0] = opd(w);
    s->n_wei = 1;
    s->p.nsp = 2;
    s->p.group = 1;
    for (int i = 0; i < 2; i++) {
        s->p.kernel[i] = k;
        s->p.stride[i] = s->p.dilation[i] = 1;
        s->p.pad_begin[i] = s->p.pad_end[i] = k / 2;
    }
}

/* conv -> data op: the data op sees the conv's input unchanged; compare with the one-op run. */
static void check_after_conv_k(const char *what, dlb_op_spec *data, int ks) {
    spec_buf cb;
    const int c = 32;
    conv_identity(&cb, "1x32x6x6", c, ks);
    dlb_op_spec ops[2] = {cb.s, *data};
    dlb_brick_edge e = {.to_op = 1, .to_src = 0, .from_op = 0, .from_out = 0};
    dlb_netdesc d = {.n_ops = 2, .ops = ops, .n_edges = 1, .edges = &e, .name = what};
    dlb_diag diag = make_diag();
    dlb_net *n = NULL;
    dlb_status st = dlb_net_create(&d, NULL, &diag, &n);
    if (st != DLB_OK) fprintf(stderr, "%s: create failed:\n%s", what, diag_text.text);
    ASSERT_EQ_INT(st, DLB_OK);
    if (st != DLB_OK) return;
    size_t nw = (size_t)(c * c * ks * ks);
    float *x = seq(c * 36, 0), *w = calloc(nw, sizeof(float));
    float *in[MAXT] = {x};
    for (int i = 0; i < c; i++) w[(i * c + i) * ks * ks + ks * ks / 2] = 1;
    ASSERT_EQ_INT(dlb_net_set_input(n, 0, 0, x, (size_t)c * 36), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(n, 0, 0, w, nw), DLB_OK);
    for (int k = 1; k < data->n_src; k++) {
        int64_t cnt = count(&data->src[k].shape);
        in[k] = seq(cnt, 1000 * k);
        ASSERT_EQ_INT(dlb_net_set_input(n, 1, k, in[k], (size_t)cnt), DLB_OK);
    }
    ASSERT_EQ_INT(dlb_net_run(n), DLB_OK);
    if (getenv("DLB_TEST_VERBOSE"))
        printf("%-24s k=%d %s (%s) | %s | %d reorders\n", what, ks, dlb_net_impl(n, 0),
               n->bufs[n->dst_buf[0][0]].md.format_desc.blocking.inner_nblks ? "blocked" : "dense",
               dlb_net_impl(n, 1), dlb_net_n_reorders(n));
    for (int k = 0; k < data->n_dst; k++) {
        const dlb_shape *D = &data->dst[k].shape;
        int64_t cnt = count(D), idx[DLB_MAX_RANK];
        float *got = malloc(sizeof(float) * (size_t)cnt),
              *want = malloc(sizeof(float) * (size_t)cnt);
        ASSERT_EQ_INT(dlb_net_get_output(n, 1, k, got, (size_t)cnt), DLB_OK);
        for (int64_t i = 0; i < cnt; i++) {
            unravel(i, D, idx);
            want[i] = ref_elem(data, in, NULL, k, idx);
        }
        test_failures += compare(what, k, got, want, cnt);
        free(got);
        free(want);
    }
    for (int k = 0; k < MAXT; k++) free(in[k]);
    free(w);
    dlb_net_free(n);
    n_cases++;
}

static void check_after_conv(const char *what, dlb_op_spec *data) {
    check_after_conv_k(what, data, 1);
    check_after_conv_k(what, data, 3);
}

static void test_after_conv(void) {
    spec_buf b;
    dlb_op_spec *s = mk(&b, DLB_LOP_CONCAT, L("1x32x6x6", "1x8x6x6"), L("1x40x6x6"));
    s->p.axis = 1;
    check_after_conv("conv -> concat", s);
    s = mk(&b, DLB_LOP_CONCAT, L("1x32x6x6", "1x32x6x6"), L("1x32x6x12"));
    s->p.axis = 3;
    check_after_conv("conv -> concat axis 3", s);
    s = mk(&b, DLB_LOP_SPLIT, L("1x32x6x6"), L("1x16x6x6", "1x16x6x6"));
    s->p.axis = 1;
    check_after_conv("conv -> split aligned", s);
    s = mk(&b, DLB_LOP_SPLIT, L("1x32x6x6"), L("1x5x6x6", "1x27x6x6"));
    s->p.axis = 1;
    check_after_conv("conv -> split unaligned", s);
    check_after_conv("conv -> slice", mk(&b, DLB_LOP_SLICE, L("1x32x6x6"), L("1x16x3x6")));
    s = mk(&b, DLB_LOP_TRANSPOSE, L("1x32x6x6"), L("1x6x6x32"));
    s->p.n_axes = 4;
    s->p.axes[1] = 2, s->p.axes[2] = 3, s->p.axes[3] = 1;
    check_after_conv("conv -> transpose", s);
    s = mk(&b, DLB_LOP_PAD, L("1x32x6x6"), L("1x32x8x9"));
    s->p.pad_begin[2] = 1, s->p.pad_end[2] = 1, s->p.pad_begin[3] = 2, s->p.pad_end[3] = 1;
    check_after_conv("conv -> pad", s);
}

/* transpose [2,3,4] (0,2,1) -> matmul with weights [3,5]; small integers keep sums exact. */
static void test_transpose_matmul(void) {
    spec_buf tb, mb;
    dlb_op_spec *t = mk(&tb, DLB_LOP_TRANSPOSE, L("2x3x4"), L("2x4x3"));
    t->p.n_axes = 3;
    t->p.axes[0] = 0, t->p.axes[1] = 2, t->p.axes[2] = 1;
    dlb_op_spec *m = mk(&mb, DLB_LOP_MATMUL, L("2x4x3"), L("2x4x5"));
    mb.wei[0] = opd("3x5");
    m->n_wei = 1;
    dlb_op_spec ops[2] = {*t, *m};
    dlb_brick_edge e = {.to_op = 1, .to_src = 0, .from_op = 0, .from_out = 0};
    dlb_netdesc d = {.n_ops = 2, .ops = ops, .n_edges = 1, .edges = &e, .name = "t->mm"};
    dlb_diag diag = make_diag();
    dlb_net *n = NULL;
    dlb_status st = dlb_net_create(&d, NULL, &diag, &n);
    if (st != DLB_OK) fprintf(stderr, "transpose -> matmul:\n%s", diag_text.text);
    ASSERT_EQ_INT(st, DLB_OK);
    if (st != DLB_OK) return;
    float x[24], w[15], got[40], want[40];
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 7 - 3);
    for (int i = 0; i < 15; i++) w[i] = (float)(i % 5 - 2);
    ASSERT_EQ_INT(dlb_net_set_input(n, 0, 0, x, 24), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(n, 1, 0, w, 15), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(n), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(n, 1, 0, got, 40), DLB_OK);
    for (int bi = 0; bi < 2; bi++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 5; j++) {
                float acc = 0; /* A[b][i][k] = x[b][k][i] */
                for (int k = 0; k < 3; k++) acc += x[bi * 12 + k * 4 + i] * w[k * 5 + j];
                want[bi * 20 + i * 5 + j] = acc;
            }
    test_failures += compare("transpose -> matmul", 0, got, want, 40);
    dlb_net_free(n);
    n_cases++;
}

/* "--avx2" caps oneDNN at AVX2 so convolutions produce blocked (nChw8c) outputs: the
 * sub-memory and mixed-format paths are then exercised even on AVX-512 machines. */
/* pad -> residual of a matmul's sum post-op, which accumulates in place into the pad's (plain)
 * output: the border must still be zero on the second run. */
static void test_pad_sum(void) {
    spec_buf pb, mb;
    dlb_op_spec *p = mk(&pb, DLB_LOP_PAD, L("4x5"), L("6x8"));
    p->p.pad_begin[0] = p->p.pad_end[0] = 1;
    p->p.pad_begin[1] = 2, p->p.pad_end[1] = 1;
    dlb_op_spec *m = mk(&mb, DLB_LOP_MATMUL, L("6x6"), L("6x8"));
    mb.wei[0] = opd("6x8");
    m->n_wei = 1;
    m->n_post = 1;
    m->post[0] = (dlb_postop){.kind = DLB_POST_SUM, .operand = opd("6x8")};
    dlb_op_spec ops[2] = {*p, *m};
    dlb_brick_edge e = {.to_op = 1, .to_src = 1, .from_op = 0, .from_out = 0};
    dlb_netdesc d = {.n_ops = 2, .ops = ops, .n_edges = 1, .edges = &e, .name = "pad->sum"};
    dlb_diag diag = make_diag();
    dlb_net *n = NULL;
    dlb_status st = dlb_net_create(&d, NULL, &diag, &n);
    if (st != DLB_OK) fprintf(stderr, "pad -> matmul sum:\n%s", diag_text.text);
    ASSERT_EQ_INT(st, DLB_OK);
    if (st != DLB_OK) return;
    float *x = seq(20, 0), *a = seq(36, 100), w[48] = {0}, got[48], want[48];
    for (int i = 0; i < 6; i++) w[i * 8 + i] = 1; /* a @ [I | 0] */
    ASSERT_EQ_INT(dlb_net_set_input(n, 0, 0, x, 20), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_input(n, 1, 0, a, 36), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(n, 1, 0, w, 48), DLB_OK);
    for (int r = 0; r < 3; r++) ASSERT_EQ_INT(dlb_net_run(n), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(n, 1, 0, got, 48), DLB_OK);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 8; j++) {
            bool in = i >= 1 && i <= 4 && j >= 2 && j <= 6;
            want[i * 8 + j] = (j < 6 ? a[i * 6 + j] : 0.0f) + (in ? x[(i - 1) * 5 + j - 2] : 0.0f);
        }
    test_failures += compare("pad -> matmul sum", 0, got, want, 48);
    free(x);
    free(a);
    dlb_net_free(n);
    n_cases++;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--avx2"))
        ASSERT_EQ_INT(dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2), dnnl_success);
    test_concat();
    test_transpose();
    test_transpose_of_view();
    test_slice_split();
    test_pad();
    test_gather();
    test_expand();
    test_after_conv();
    test_transpose_matmul();
    test_pad_sum();
    printf("test_exec_data: %d cases\n", n_cases);
    return test_summary("test_exec_data");
}
