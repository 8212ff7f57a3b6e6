/* test_exec_simple.c — executor pool, eltwise, binary, norms, LRN, softmax, reduce and resample
 * ops against the naive references of ref_ops.c.
 * Tolerances, |got - ref| <= atol + rtol * |ref| (the reference runs in double):
 *   EXACT  0, 0        max pool, relu, abs, clip, round, max/min, reduce max/min, nearest resize
 *   ARITH  1e-5, 1e-5  avg pool, linear/leaky relu, add/sub/mul/div, bnorm, lnorm, inorm,
 *                      reduce sum/mean/prod/l2, linear resize
 *   TRANSC 1e-4, 1e-5  exp, log, tanh, erf, gelu, pow, ... (oneDNN's jit approximations),
 *                      softmax, LRN
 *   CONV   1e-4, 1e-4  networks that start with a convolution (f32 accumulation order) */
#include <math.h>
#include <stdint.h>

#include "dlbricks/exec.h"
#include "ref_ops.h"
#include "dlbricks/timing.h"
#include "test_util.h"

typedef struct tol {
    double rtol, atol;
} tol;

static const tol EXACT = {0, 0}, ARITH = {1e-5, 1e-5}, TRANSC = {1e-4, 1e-5}, CONV = {1e-4, 1e-4};

static int n_checks;

static uint64_t rng = 12345;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Random values in [-1, 1); domain 1: in [0.1, 1.1); domain 2: in [-4, 4). */
static float *rand_buf(size_t n, int domain) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        p[i] = domain == 1 ? fabsf(v) + 0.1f : domain == 2 ? 4 * v : v;
    }
    return p;
}

static dlb_operand tens(int rank, const int64_t *dims) {
    dlb_operand o = {.dtype = DLB_DT_F32, .shape = {.rank = rank}};
    for (int i = 0; i < rank; i++) o.shape.dims[i] = dims[i];
    return o;
}
#define T(...)                                                                                     \
    tens((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static void check(const float *got, const double *ref, size_t n, tol t, const char *what) {
    int bad = 0;
    n_checks++;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - ref[i]) <= t.atol + t.rtol * fabs(ref[i]))) {
            if (bad < 3)
                fprintf(stderr, "%s[%zu]: got %.9g expected %.9g\n", what, i, got[i], ref[i]);
            bad++;
        }
    if (bad) {
        fprintf(stderr, "%s: %d of %zu elements differ\n", what, bad, n);
        test_failures++;
    }
}

static dlb_net *create(const dlb_netdesc *d) {
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    dlb_net *net = NULL;
    dlb_status st = dlb_net_create(d, NULL, &diag, &net);
    if (st != DLB_OK) fprintf(stderr, "%s: %s", d->name, buf.text);
    ASSERT_EQ_INT(st, DLB_OK);
    return net;
}

/* Run one op: in[slot] for its sources and sum/binary post-op operands (NULL: random), w[k]
 * for its weights; y receives dst 0. */
static bool run1(const dlb_op_spec *s, float *const *in, float *const *w, float *y,
                 const char *what) {
    dlb_netdesc d = {.n_ops = 1, .ops = s, .name = what};
    dlb_net *net = create(&d);
    if (!net) return false;
    for (int k = 0; k < s->n_src + s->n_post; k++) {
        if (!in[k]) continue;
        const dlb_operand *o = k < s->n_src ? &s->src[k] : &s->post[k - s->n_src].operand;
        ASSERT_EQ_INT(dlb_net_set_input(net, 0, k, in[k], ref_numel(o)), DLB_OK);
    }
    for (int k = 0; k < s->n_wei; k++)
        ASSERT_EQ_INT(dlb_net_set_weight(net, 0, k, w[k], ref_numel(&s->wei[k])), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    if (getenv("DLB_TEST_VERBOSE")) printf("%-40s %s\n", what, dlb_net_impl(net, 0));
    dlb_status st = dlb_net_get_output(net, 0, 0, y, ref_numel(&s->dst[0]));
    ASSERT_EQ_INT(st, DLB_OK);
    dlb_net_free(net);
    return st == DLB_OK;
}

/* ---- pooling --------------------------------------------------------------------------------- */

static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                        bool ceil_mode) {
    int64_t num = in + pb + pe - ((k - 1) * d + 1);
    int64_t o = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + pb) o--; /* the last window starts inside */
    return o;
}

typedef struct pool_cfg {
    const char *name;
    dlb_alg alg;
    int nsp;
    int64_t c, h, k, s, d, pb, pe;
    bool ceil;
} pool_cfg;

static void check_pool(const pool_cfg *c) {
    dlb_operand src, dst;
    int64_t o = pool_out(c->h, c->k, c->s, c->d, c->pb, c->pe, c->ceil);
    if (c->nsp == 1) {
        src = T(2, c->c, c->h);
        dst = T(2, c->c, o);
    } else {
        src = T(1, c->c, c->h, c->h + 1);
        dst = T(1, c->c, o, pool_out(c->h + 1, c->k, c->s, c->d, c->pb, c->pe, c->ceil));
    }
    dlb_op_spec s = {
        .op = DLB_LOP_POOL, .alg = c->alg, .n_src = 1, .n_dst = 1, .src = &src, .dst = &dst};
    s.p.nsp = c->nsp;
    s.p.ceil_mode = c->ceil;
    for (int i = 0; i < c->nsp; i++) {
        s.p.kernel[i] = c->k;
        s.p.stride[i] = c->s;
        s.p.dilation[i] = c->d;
        s.p.pad_begin[i] = c->pb;
        s.p.pad_end[i] = c->pe;
    }
    float *x = rand_buf(ref_numel(&src), 0), *y = malloc(ref_numel(&dst) * sizeof *y);
    double *ref = malloc(ref_numel(&dst) * sizeof *ref);
    if (run1(&s, &x, NULL, y, c->name)) {
        ref_pool(&s, x, ref);
        check(y, ref, ref_numel(&dst), c->alg == DLB_ALG_POOL_MAX ? EXACT : ARITH, c->name);
    }
    free(x), free(y), free(ref);
}

/* Global pooling: the kernel is the whole spatial extent. */
static void check_global_pool(dlb_alg alg, const char *name) {
    dlb_operand src = T(2, 16, 7, 6), dst = T(2, 16, 1, 1);
    dlb_op_spec s = {
        .op = DLB_LOP_POOL, .alg = alg, .n_src = 1, .n_dst = 1, .src = &src, .dst = &dst};
    s.p.nsp = 2;
    for (int i = 0; i < 2; i++) {
        s.p.kernel[i] = s.p.stride[i] = src.shape.dims[2 + i];
        s.p.dilation[i] = 1;
    }
    float *x = rand_buf(ref_numel(&src), 0), y[32];
    double ref[32];
    if (run1(&s, &x, NULL, y, name)) {
        ref_pool(&s, x, ref);
        check(y, ref, 32, alg == DLB_ALG_POOL_MAX ? EXACT : ARITH, name);
    }
    free(x);
}

static void test_pool(void) {
    static const pool_cfg cases[] = {
        {"max 3x3 s2 p1", DLB_ALG_POOL_MAX, 2, 8, 9, 3, 2, 1, 1, 1, false},
        {"max 3x3 s2 ceil", DLB_ALG_POOL_MAX, 2, 8, 8, 3, 2, 1, 0, 0, true},
        {"avg_exclude 3x3 s2 p1 ceil", DLB_ALG_POOL_AVG_EXCLUDE, 2, 8, 8, 3, 2, 1, 1, 1, true},
        {"avg_include 3x3 s1 p1", DLB_ALG_POOL_AVG_INCLUDE, 2, 8, 7, 3, 1, 1, 1, 1, false},
        {"avg_include 2x2 s2", DLB_ALG_POOL_AVG_INCLUDE, 2, 3, 8, 2, 2, 1, 0, 0, false},
        {"avg_exclude 3x3 s3 pe2", DLB_ALG_POOL_AVG_EXCLUDE, 2, 4, 10, 3, 3, 1, 0, 2, false},
        {"max 2x2 dilated", DLB_ALG_POOL_MAX, 2, 4, 9, 2, 1, 2, 0, 0, false},
        {"max 1d k3 s2 p1", DLB_ALG_POOL_MAX, 1, 5, 12, 3, 2, 1, 1, 1, false},
        {"avg_exclude 1d ceil", DLB_ALG_POOL_AVG_EXCLUDE, 1, 5, 12, 3, 2, 1, 0, 0, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_pool(&cases[i]);
    check_global_pool(DLB_ALG_POOL_AVG_EXCLUDE, "global avg pool");
    check_global_pool(DLB_ALG_POOL_MAX, "global max pool");
}

static bool slow_kernel(const char *impl) {
    return !impl || !strncmp(impl, "simple", 6) || !strncmp(impl, "ref", 3);
}

/* A max pool fed plain data (AlexNet's first, after its gemm convolution; a key's `:plain`):
 * where the layout a convolution gives has a faster kernel than oneDNN's plain C loop, the
 * input is reordered to it first (one reorder, the same kernel as on natural input), with the
 * same result; where it has none, the pool runs on the plain data as it comes. */
static void test_pool_plain_input(void) {
    dlb_operand nat = T(1, 16, 13, 13), dst = T(1, 16, 6, 6);
    dlb_operand plain = nat;
    plain.plain_layout = true;
    char impl_nat[128] = "";
    for (int k = 0; k < 2; k++) {
        dlb_op_spec s = {.op = DLB_LOP_POOL,
                         .alg = DLB_ALG_POOL_MAX,
                         .n_src = 1,
                         .n_dst = 1,
                         .src = k ? &plain : &nat,
                         .dst = &dst};
        s.p.nsp = 2;
        for (int i = 0; i < 2; i++) {
            s.p.kernel[i] = 3;
            s.p.stride[i] = 2;
            s.p.dilation[i] = 1;
        }
        dlb_netdesc d = {.n_ops = 1, .ops = &s, .name = k ? "pool of plain" : "pool of natural"};
        dlb_net *net = create(&d);
        if (!net) return;
        float *x = rand_buf(ref_numel(&nat), 0), y[16 * 36];
        double ref[16 * 36];
        ASSERT_EQ_INT(dlb_net_set_input(net, 0, 0, x, ref_numel(&nat)), DLB_OK);
        ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
        ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, y, 16 * 36), DLB_OK);
        ref_pool(&s, x, ref);
        check(y, ref, 16 * 36, EXACT, d.name);
        const char *impl = dlb_net_impl(net, 0);
        if (getenv("DLB_TEST_VERBOSE"))
            printf("%-40s %s, %d reorders\n", d.name, impl, dlb_net_n_reorders(net));
        if (!k) {
            snprintf(impl_nat, sizeof impl_nat, "%s", impl ? impl : "");
        } else if (!slow_kernel(impl_nat)) {
            ASSERT_STREQ(impl ? impl : "(none)", impl_nat);
            ASSERT_EQ_INT(dlb_net_n_reorders(net), 1);
        } else {
            ASSERT_EQ_INT(dlb_net_n_reorders(net), 0);
        }
        dlb_net_free(net);
        free(x);
    }
}

/* ---- eltwise --------------------------------------------------------------------------------- */

typedef struct elt_cfg {
    dlb_alg alg;
    double alpha, beta;
    int domain; /* inputs: 0 [-1, 1), 1 positive, 2 [-4, 4) */
    tol t;
} elt_cfg;

static void test_eltwise(void) {
    const elt_cfg cases[] = {
        {DLB_ALG_RELU, 0, 0, 0, EXACT},
        {DLB_ALG_LEAKY_RELU, 0.1, 0, 0, ARITH},
        {DLB_ALG_CLIP, -0.5, 0.25, 0, EXACT},
        {DLB_ALG_LOGISTIC, 0, 0, 2, TRANSC},
        {DLB_ALG_TANH, 0, 0, 2, TRANSC},
        {DLB_ALG_HARDSIGMOID, 0.2, 0.5, 2, ARITH},
        {DLB_ALG_HARDSWISH, 1.0 / 6, 0.5, 2, TRANSC},
        {DLB_ALG_SWISH, 1, 0, 2, TRANSC},
        {DLB_ALG_GELU_ERF, 0, 0, 2, TRANSC},
        {DLB_ALG_GELU_TANH, 0, 0, 2, TRANSC},
        {DLB_ALG_ELU, 1, 0, 2, TRANSC},
        {DLB_ALG_SOFTPLUS, 1, 0, 2, TRANSC},
        {DLB_ALG_EXP, 0, 0, 2, TRANSC},
        {DLB_ALG_LOG, 0, 0, 1, TRANSC},
        {DLB_ALG_SQRT, 0, 0, 1, TRANSC},
        {DLB_ALG_POW, 1, -1, 1, TRANSC},
        {DLB_ALG_POW, 1, 2, 0, TRANSC},
        {DLB_ALG_POW, 1, 0.5, 1, TRANSC},
        {DLB_ALG_ABS, 0, 0, 0, EXACT},
        {DLB_ALG_LINEAR, -1, 0, 0, EXACT},
        {DLB_ALG_LINEAR, 0.5, 0.25, 0, ARITH},
        {DLB_ALG_ERF, 0, 0, 2, TRANSC},
        {DLB_ALG_ROUND, 0, 0, 2, EXACT},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const elt_cfg *e = &cases[c];
        dlb_operand src = T(2, 5, 7, 3), dst = src;
        dlb_op_spec s = {
            .op = DLB_LOP_ELTWISE, .alg = e->alg, .n_src = 1, .n_dst = 1, .src = &src, .dst = &dst};
        s.p.alpha = e->alpha;
        s.p.beta = e->beta;
        size_t n = ref_numel(&src);
        float *x = rand_buf(n, e->domain), *y = malloc(n * sizeof *y);
        double *ref = malloc(n * sizeof *ref);
        char name[64];
        snprintf(name, sizeof name, "eltwise %s(%g, %g)", dlb_alg_name(e->alg), e->alpha, e->beta);
        if (run1(&s, &x, NULL, y, name)) {
            for (size_t i = 0; i < n; i++) ref[i] = ref_eltwise(e->alg, e->alpha, e->beta, x[i]);
            check(y, ref, n, e->t, name);
        }
        free(x), free(y), free(ref);
    }
}

/* Subnormal floats through a oneDNN kernel: read and written as zero when flushed
 * (dlb_denormals_setup), kept otherwise.  2x of a subnormal x is still subnormal.  Results are
 * compared bit for bit: under DAZ a subnormal would also compare equal to zero. */
static void test_denormals(void) {
    dlb_operand src = T(2, 16), dst = src;
    dlb_op_spec s = {.op = DLB_LOP_ELTWISE,
                     .alg = DLB_ALG_LINEAR,
                     .n_src = 1,
                     .n_dst = 1,
                     .src = &src,
                     .dst = &dst};
    s.p.alpha = 2;
    ASSERT_EQ_INT(dlb_denormals_setup(false), DLB_OK);
    float x[32], twice[32], y[32];
    for (int i = 0; i < 32; i++) {
        x[i] = (float)(i + 1) * 1e-40f; /* all below FLT_MIN */
        twice[i] = 2 * x[i];
    }
    float *in = x;
    for (int flush = 1; flush >= 0; flush--) {
        ASSERT_EQ_INT(dlb_denormals_setup(flush), DLB_OK);
        if (!run1(&s, &in, NULL, y, flush ? "linear on subnormals, flushed" : "kept")) continue;
        int zeros = 0, exact = 0;
        for (int i = 0; i < 32; i++) {
            uint32_t got, want;
            memcpy(&got, &y[i], 4);
            memcpy(&want, &twice[i], 4);
            zeros += got == 0, exact += got == want && want != 0;
        }
        ASSERT_EQ_INT(zeros, flush ? 32 : 0);
        ASSERT_EQ_INT(exact, flush ? 0 : 32);
        n_checks++;
    }
    ASSERT_EQ_INT(dlb_denormals_setup(false), DLB_OK); /* the rest as before */
}

/* ---- binary ---------------------------------------------------------------------------------- */

typedef struct bin_cfg {
    const char *name;
    dlb_alg alg;
    dlb_operand a, b, dst;
    bool b_const;  /* b is a weight (a constant operand) */
    bool relu;     /* eltwise relu post-op */
    bool post_add; /* binary add post-op with a [1, C, 1, 1] activation */
} bin_cfg;

static void check_binary(const bin_cfg *c) {
    dlb_operand src[2] = {c->a, c->b}, po = T(1, c->dst.shape.dims[1], 1, 1);
    dlb_op_spec s = {.op = DLB_LOP_BINARY,
                     .alg = c->alg,
                     .n_src = c->b_const ? 1 : 2,
                     .n_wei = c->b_const,
                     .n_dst = 1,
                     .src = src,
                     .wei = c->b_const ? &src[1] : NULL,
                     .dst = (dlb_operand *)&c->dst};
    if (c->relu) s.post[s.n_post++] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_RELU};
    if (c->post_add)
        s.post[s.n_post++] =
            (dlb_postop){.kind = DLB_POST_BINARY, .alg = DLB_ALG_ADD, .operand = po};
    size_t n = ref_numel(&c->dst);
    float *x = rand_buf(ref_numel(&c->a), 0);
    float *w = rand_buf(ref_numel(&c->b), c->alg == DLB_ALG_DIV ? 1 : 0);
    float *p = rand_buf(ref_numel(&po), 0), *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref);
    float *in[4] = {x, c->b_const ? NULL : w, NULL, NULL};
    in[s.n_src + s.n_post - 1] = c->post_add ? p : in[s.n_src + s.n_post - 1];
    if (run1(&s, in, &w, y, c->name)) {
        ref_binary(c->alg, &c->a, x, &c->b, w, &c->dst, ref);
        for (size_t i = 0; i < n; i++) {
            if (c->relu) ref[i] = ref[i] > 0 ? ref[i] : 0;
            if (c->post_add) ref[i] += p[ref_bcast_index(&c->dst, i, &po)];
        }
        bool exact = c->alg == DLB_ALG_MAX || c->alg == DLB_ALG_MIN;
        check(y, ref, n, exact ? EXACT : ARITH, c->name);
    }
    free(x), free(w), free(p), free(y), free(ref);
}

static void test_binary(void) {
    const dlb_operand full = T(2, 3, 4, 5), scalar = {.dtype = DLB_DT_F32};
    const bin_cfg cases[] = {
        {"add same shape", DLB_ALG_ADD, full, full, full},
        {"mul src1 [3,1,1]", DLB_ALG_MUL, full, T(3, 1, 1), full},
        {"add src0 broadcast (swap)", DLB_ALG_ADD, T(1, 3, 1, 1), full, full},
        {"sub src0 broadcast (-b + a)", DLB_ALG_SUB, T(3, 1, 5), full, full},
        {"div src0 broadcast (expand)", DLB_ALG_DIV, T(4, 5), full, full},
        {"sub both broadcast", DLB_ALG_SUB, T(2, 1, 4, 1), T(3, 1, 5), full},
        {"max src1 [5]", DLB_ALG_MAX, full, T(5), full},
        {"min src0 [4,1] (swap)", DLB_ALG_MIN, T(4, 1), full, full},
        {"div src1 [2,1,4,5]", DLB_ALG_DIV, full, T(2, 1, 4, 5), full},
        {"mul by constant scalar", DLB_ALG_MUL, full, scalar, full, true},
        {"add constant bias [3,1,1]", DLB_ALG_ADD, full, T(3, 1, 1), full, true},
        {"sub constant [4,5]", DLB_ALG_SUB, full, T(4, 5), full, true},
        {"add + relu post-op", DLB_ALG_ADD, full, full, full, false, true},
        {"mul + relu + binary add post-op", DLB_ALG_MUL, full, T(3, 1, 1), full, false, true, true},
        {"add 2-D [6,8] + [8]", DLB_ALG_ADD, T(6, 8), T(8), T(6, 8)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_binary(&cases[i]);
}

/* Plain data whose broadcast pattern oneDNN has no jit kernel for (x / std over the last axis,
 * then * gamma + beta as post-ops, as a decomposed LayerNorm): run with merged dims. */
static void test_binary_merged(void) {
    dlb_operand src[2] = {T(1, 6, 6, 8), T(1, 6, 6, 1)}, dst = src[0], vec = T(8);
    dlb_op_spec s = {.op = DLB_LOP_BINARY,
                     .alg = DLB_ALG_DIV,
                     .n_src = 2,
                     .n_dst = 1,
                     .src = src,
                     .dst = &dst,
                     .n_post = 2};
    s.post[0] = (dlb_postop){.kind = DLB_POST_BINARY, .alg = DLB_ALG_MUL, .operand = vec};
    s.post[1] = (dlb_postop){.kind = DLB_POST_BINARY, .alg = DLB_ALG_ADD, .operand = vec};
    size_t n = ref_numel(&dst);
    float *x = rand_buf(n, 0), *sd = rand_buf(36, 1), *g = rand_buf(8, 0), *b = rand_buf(8, 0);
    float *in[4] = {x, sd, g, b}, *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref);
    if (run1(&s, in, NULL, y, "div [1,6,6,1] + mul/add [8] post-ops (merged)")) {
        for (size_t i = 0; i < n; i++) ref[i] = (double)x[i] / sd[i / 8] * g[i % 8] + b[i % 8];
        check(y, ref, n, ARITH, "binary merged dims");
    }
    free(x), free(sd), free(g), free(b), free(y), free(ref);
    /* both sources broadcast: src0 expanded, then merged */
    dlb_operand a = T(1, 6, 6, 1), c = T(6, 1, 1, 8), d = T(6, 6, 6, 8);
    bin_cfg both = {"sub both broadcast (expand, merged)", DLB_ALG_SUB, a, c, d};
    check_binary(&both);
}

/* ---- normalisations and LRN ------------------------------------------------------------------ */

static void check_bnorm(dlb_operand src, bool inorm) {
    int64_t C = src.shape.dims[1];
    dlb_operand dst = src, wei[4];
    for (int k = 0; k < 4; k++) wei[k] = T(C);
    dlb_op_spec s = {.op = inorm ? DLB_LOP_INORM : DLB_LOP_BNORM,
                     .n_src = 1,
                     .n_wei = inorm ? 2 : 4,
                     .n_dst = 1,
                     .src = &src,
                     .wei = wei,
                     .dst = &dst};
    s.p.eps = 1e-5;
    size_t n = ref_numel(&src);
    float *x = rand_buf(n, 0), *y = malloc(n * sizeof *y);
    float *w[4] = {rand_buf((size_t)C, 0), rand_buf((size_t)C, 0), rand_buf((size_t)C, 0),
                   rand_buf((size_t)C, 1)};
    double *ref = malloc(n * sizeof *ref);
    const char *name = inorm ? "inorm" : src.shape.rank == 2 ? "bnorm 2-D" : "bnorm";
    if (run1(&s, &x, w, y, name)) {
        if (inorm)
            ref_inorm(&src, x, w[0], w[1], s.p.eps, ref);
        else
            ref_bnorm(&src, x, w[0], w[1], w[2], w[3], s.p.eps, ref);
        check(y, ref, n, ARITH, name);
    }
    free(x), free(y), free(ref);
    for (int k = 0; k < 4; k++) free(w[k]);
}

static void check_lnorm(int n_wei) {
    dlb_operand src = T(2, 3, 16), dst = src, wei[2] = {T(16), T(16)};
    dlb_op_spec s = {.op = DLB_LOP_LNORM,
                     .n_src = 1,
                     .n_wei = n_wei,
                     .n_dst = 1,
                     .src = &src,
                     .wei = wei,
                     .dst = &dst};
    s.p.axis = 2;
    s.p.eps = 1e-5;
    size_t n = ref_numel(&src);
    float *x = rand_buf(n, 0), *y = malloc(n * sizeof *y);
    float *w[2] = {rand_buf(16, 0), rand_buf(16, 0)};
    double *ref = malloc(n * sizeof *ref);
    char name[32];
    snprintf(name, sizeof name, "lnorm %d weights", n_wei);
    if (run1(&s, &x, w, y, name)) {
        ref_lnorm(&src, x, n_wei >= 1 ? w[0] : NULL, n_wei >= 2 ? w[1] : NULL, s.p.eps, ref);
        check(y, ref, n, ARITH, name);
    }
    free(x), free(y), free(ref), free(w[0]), free(w[1]);
}

static void check_lrn(int64_t size) {
    dlb_operand src = T(2, 8, 5, 4), dst = src;
    dlb_op_spec s = {.op = DLB_LOP_LRN, .n_src = 1, .n_dst = 1, .src = &src, .dst = &dst};
    s.p.size = size;
    s.p.alpha = 0.5;
    s.p.beta = 0.75;
    s.p.eps = 1.5; /* ONNX bias */
    size_t n = ref_numel(&src);
    float *x = rand_buf(n, 0), *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref);
    char name[32];
    snprintf(name, sizeof name, "lrn size %lld", (long long)size);
    if (run1(&s, &x, NULL, y, name)) {
        ref_lrn(&src, x, size, s.p.alpha, s.p.beta, s.p.eps, ref);
        check(y, ref, n, TRANSC, name);
    }
    free(x), free(y), free(ref);
}

/* Ops the executor reports as unsupported, cleanly. */
static void check_unsupported(dlb_op_spec *s, const char *needle) {
    dlb_netdesc d = {.n_ops = 1, .ops = s, .name = "unsupported"};
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    dlb_net *net = NULL;
    ASSERT_EQ_INT(dlb_net_create(&d, NULL, &diag, &net), DLB_EUNSUPPORTED);
    ASSERT(net == NULL);
    ASSERT_CONTAINS(buf.text, needle);
    n_checks++;
}

static void test_norms(void) {
    check_bnorm(T(2, 6, 5, 5), false);
    check_bnorm(T(4, 6), false);
    check_bnorm(T(1, 6, 5, 4), true);
    for (int k = 0; k <= 2; k++) check_lnorm(k);
    check_lrn(5);
    check_lrn(3);
    dlb_operand x = T(2, 6, 5, 5), wei[2] = {T(6), T(6)};
    dlb_op_spec in = {
        .op = DLB_LOP_INORM, .n_src = 1, .n_wei = 2, .n_dst = 1, .src = &x, .wei = wei, .dst = &x};
    check_unsupported(&in, "batch above 1");
    dlb_op_spec ln = {.op = DLB_LOP_LNORM, .n_src = 1, .n_dst = 1, .src = &x, .dst = &x};
    ln.p.axis = 1;
    check_unsupported(&ln, "last axis");
}

/* ---- softmax --------------------------------------------------------------------------------- */

static void test_softmax(void) {
    static const struct {
        int axis;
        bool log;
    } cases[] = {{3, false}, {1, false}, {0, false}, {3, true}, {1, true}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        dlb_operand src = T(2, 3, 4, 5), dst = src;
        dlb_op_spec s = {.op = DLB_LOP_SOFTMAX,
                         .alg = cases[c].log ? DLB_ALG_LOGSOFTMAX : DLB_ALG_SOFTMAX,
                         .n_src = 1,
                         .n_dst = 1,
                         .src = &src,
                         .dst = &dst};
        s.p.axis = cases[c].axis;
        size_t n = ref_numel(&src);
        float *x = rand_buf(n, 2), *y = malloc(n * sizeof *y);
        double *ref = malloc(n * sizeof *ref);
        char name[48];
        snprintf(name, sizeof name, "%s axis %d", dlb_alg_name(s.alg), cases[c].axis);
        if (run1(&s, &x, NULL, y, name)) {
            ref_softmax(&src, cases[c].axis, cases[c].log, x, ref);
            check(y, ref, n, TRANSC, name);
        }
        free(x), free(y), free(ref);
    }
}

/* A transformer's softmax over attention scores: in the whole model a batched matmul hands it
 * its 4-D input in plain layout.  As a brick, that input is external; marked plain (the layout
 * class the lowering gives it), it must run the kernel the model runs, not the reference code
 * oneDNN has for the convolution layout a 4-channel tensor would get otherwise. */
static void test_softmax_plain_input(void) {
    dlb_operand a = T(1, 4, 16, 8), b = T(1, 4, 8, 16), scores = T(1, 4, 16, 16), probs = scores;
    dlb_operand mm_src[2] = {a, b};
    dlb_op_spec ops[2] = {
        {.op = DLB_LOP_MATMUL, .n_src = 2, .n_dst = 1, .src = mm_src, .dst = &scores},
        {.op = DLB_LOP_SOFTMAX,
         .alg = DLB_ALG_SOFTMAX,
         .n_src = 1,
         .n_dst = 1,
         .src = &scores,
         .dst = &probs,
         .p = {.axis = 3}}};
    dlb_brick_edge e = {1, 0, 0, 0};
    dlb_netdesc model = {.n_ops = 2, .ops = ops, .n_edges = 1, .edges = &e, .name = "mm-softmax"};
    dlb_net *m = create(&model);
    dlb_operand in = scores;
    in.plain_layout = true;
    dlb_op_spec brick = ops[1];
    brick.src = &in;
    dlb_netdesc bd = {.n_ops = 1, .ops = &brick, .name = "softmax brick"};
    dlb_net *n = create(&bd);
    if (m && n) {
        const char *in_model = dlb_net_impl(m, 1), *alone = dlb_net_impl(n, 0);
        if (getenv("DLB_TEST_VERBOSE"))
            printf("softmax in model %s, as a brick %s\n", in_model, alone);
        ASSERT_STREQ(alone, in_model);
        /* Where oneDNN has a jit softmax for plain data (AVX-512, AVX2), the brick uses it. */
        if (strncmp(in_model, "ref", 3) != 0) ASSERT(strncmp(alone, "ref", 3) != 0);
        ASSERT_EQ_INT(dlb_net_run(n), DLB_OK);
        n_checks++;
    }
    dlb_net_free(m);
    dlb_net_free(n);
}

/* ---- reduction ------------------------------------------------------------------------------- */

typedef struct red_cfg {
    dlb_alg alg;
    int n_axes;
    int64_t axes[4];
    bool keepdims;
} red_cfg;

static void test_reduce(void) {
    static const red_cfg cases[] = {
        {DLB_ALG_REDUCE_MEAN, 1, {1}, true},
        {DLB_ALG_REDUCE_MEAN, 2, {2, 3}, false},
        {DLB_ALG_REDUCE_SUM, 2, {2, 3}, false},
        {DLB_ALG_REDUCE_SUM, 1, {0}, true},
        {DLB_ALG_REDUCE_MAX, 2, {0, 2}, true},
        {DLB_ALG_REDUCE_MAX, 1, {3}, false},
        {DLB_ALG_REDUCE_MIN, 4, {0, 1, 2, 3}, false},
        {DLB_ALG_REDUCE_PROD, 1, {3}, false},
        {DLB_ALG_REDUCE_L2, 1, {1}, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const red_cfg *r = &cases[c];
        dlb_operand src = T(2, 3, 4, 5), dst = {.dtype = DLB_DT_F32};
        for (int i = 0; i < 4; i++) {
            bool red = false;
            for (int k = 0; k < r->n_axes; k++) red |= r->axes[k] == i;
            if (!red || r->keepdims) dst.shape.dims[dst.shape.rank++] = red ? 1 : src.shape.dims[i];
        }
        dlb_op_spec s = {
            .op = DLB_LOP_REDUCE, .alg = r->alg, .n_src = 1, .n_dst = 1, .src = &src, .dst = &dst};
        s.p.n_axes = r->n_axes;
        s.p.keepdims = r->keepdims;
        for (int k = 0; k < r->n_axes; k++) s.p.axes[k] = r->axes[k];
        size_t n = ref_numel(&dst);
        float *x = rand_buf(ref_numel(&src), 0), *y = malloc(n * sizeof *y);
        double *ref = malloc(n * sizeof *ref);
        char name[64];
        snprintf(name, sizeof name, "reduce %s %d axes keepdims %d", dlb_alg_name(r->alg),
                 r->n_axes, r->keepdims);
        if (run1(&s, &x, NULL, y, name)) {
            ref_reduce(r->alg, &src, r->axes, r->n_axes, x, ref);
            bool exact = r->alg == DLB_ALG_REDUCE_MAX || r->alg == DLB_ALG_REDUCE_MIN;
            check(y, ref, n, exact ? EXACT : ARITH, name);
        }
        free(x), free(y), free(ref);
    }
}

/* ---- resampling ------------------------------------------------------------------------------ */

static void check_resample(dlb_alg alg, dlb_operand src, dlb_operand dst) {
    dlb_op_spec s = {
        .op = DLB_LOP_RESAMPLE, .alg = alg, .n_src = 1, .n_dst = 1, .src = &src, .dst = &dst};
    size_t n = ref_numel(&dst);
    float *x = rand_buf(ref_numel(&src), 0), *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref);
    char name[64];
    snprintf(name, sizeof name, "resample %s %lld->%lld", dlb_alg_name(alg),
             (long long)src.shape.dims[2], (long long)dst.shape.dims[2]);
    if (run1(&s, &x, NULL, y, name)) {
        ref_resample(alg, &src, &dst, x, ref);
        check(y, ref, n, alg == DLB_ALG_NEAREST ? EXACT : ARITH, name);
    }
    free(x), free(y), free(ref);
}

static void test_resample(void) {
    check_resample(DLB_ALG_NEAREST, T(1, 3, 4, 5), T(1, 3, 8, 10));
    check_resample(DLB_ALG_NEAREST, T(1, 3, 4, 5), T(1, 3, 12, 15));
    check_resample(DLB_ALG_LINEAR_INTERP, T(1, 3, 4, 5), T(1, 3, 8, 10));
    check_resample(DLB_ALG_LINEAR_INTERP, T(2, 3, 5, 7), T(2, 3, 7, 10));
    check_resample(DLB_ALG_LINEAR_INTERP, T(1, 2, 6), T(1, 2, 15));
}

/* ---- networks: a convolution's (blocked) output flowing into simple ops ---------------------- */

static dlb_op_spec conv_spec(dlb_operand *x, dlb_operand *w, dlb_operand *y) {
    dlb_op_spec s = {
        .op = DLB_LOP_CONV, .n_src = 1, .n_wei = 2, .n_dst = 1, .src = x, .wei = w, .dst = y};
    s.p.nsp = 2;
    s.p.group = 1;
    s.p.has_bias = true;
    for (int i = 0; i < 2; i++) {
        s.p.kernel[i] = 3;
        s.p.stride[i] = s.p.dilation[i] = 1;
        s.p.pad_begin[i] = s.p.pad_end[i] = 1;
    }
    return s;
}

static float *to_float(const double *d, size_t n) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    return f;
}

/* conv -> max pool -> tanh: the conv's layout flows through without reorders. */
static void test_conv_pool_eltwise(void) {
    dlb_operand x = T(1, 8, 10, 10), c = T(1, 16, 10, 10), p = T(1, 16, 5, 5);
    dlb_operand cw[2] = {T(16, 8, 3, 3), T(16)};
    dlb_op_spec ops[3] = {
        conv_spec(&x, cw, &c),
        {.op = DLB_LOP_POOL, .alg = DLB_ALG_POOL_MAX, .n_src = 1, .n_dst = 1, .src = &c, .dst = &p},
        {.op = DLB_LOP_ELTWISE, .alg = DLB_ALG_TANH, .n_src = 1, .n_dst = 1, .src = &p, .dst = &p}};
    ops[1].p.nsp = 2;
    for (int i = 0; i < 2; i++) {
        ops[1].p.kernel[i] = ops[1].p.stride[i] = 2;
        ops[1].p.dilation[i] = 1;
    }
    dlb_brick_edge edges[2] = {{1, 0, 0, 0}, {2, 0, 1, 0}};
    dlb_netdesc d = {.n_ops = 3, .ops = ops, .n_edges = 2, .edges = edges, .name = "conv-pool"};
    dlb_net *net = create(&d);
    if (!net) return;
    float *in = rand_buf(ref_numel(&x), 0), *w = rand_buf(ref_numel(&cw[0]), 0);
    float *b = rand_buf(16, 0), y[400];
    ASSERT_EQ_INT(dlb_net_set_input(net, 0, 0, in, ref_numel(&x)), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 0, w, ref_numel(&cw[0])), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 1, b, 16), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 2, 0, y, 400), DLB_OK);
    ASSERT_EQ_INT(dlb_net_n_reorders(net), 0);
    double cref[1600], pref[400];
    ref_conv2d(&ops[0], in, w, b, cref);
    float *cf = to_float(cref, 1600);
    ref_pool(&ops[1], cf, pref);
    for (int i = 0; i < 400; i++) pref[i] = tanh(pref[i]);
    check(y, pref, 400, CONV, "conv -> pool -> tanh");
    dlb_net_free(net);
    free(in), free(w), free(b), free(cf);
}

/* conv -> mul by a [C,1,1] constant -> mean over H, W (keepdims 0) -> add a [C] constant. */
static void test_conv_binary_reduce(void) {
    dlb_operand x = T(1, 4, 6, 6), c = T(1, 16, 6, 6), g = T(16, 1, 1), r = T(1, 16), bias = T(16);
    dlb_operand cw[2] = {T(16, 4, 3, 3), T(16)};
    dlb_op_spec ops[4] = {conv_spec(&x, cw, &c),
                          {.op = DLB_LOP_BINARY,
                           .alg = DLB_ALG_MUL,
                           .n_src = 1,
                           .n_wei = 1,
                           .n_dst = 1,
                           .src = &c,
                           .wei = &g,
                           .dst = &c},
                          {.op = DLB_LOP_REDUCE,
                           .alg = DLB_ALG_REDUCE_MEAN,
                           .n_src = 1,
                           .n_dst = 1,
                           .src = &c,
                           .dst = &r},
                          {.op = DLB_LOP_BINARY,
                           .alg = DLB_ALG_ADD,
                           .n_src = 1,
                           .n_wei = 1,
                           .n_dst = 1,
                           .src = &r,
                           .wei = &bias,
                           .dst = &r}};
    ops[2].p.n_axes = 2;
    ops[2].p.axes[0] = 2;
    ops[2].p.axes[1] = 3;
    dlb_brick_edge edges[3] = {{1, 0, 0, 0}, {2, 0, 1, 0}, {3, 0, 2, 0}};
    dlb_netdesc d = {.n_ops = 4, .ops = ops, .n_edges = 3, .edges = edges, .name = "conv-reduce"};
    dlb_net *net = create(&d);
    if (!net) return;
    float *in = rand_buf(ref_numel(&x), 0), *w = rand_buf(ref_numel(&cw[0]), 0);
    float *b = rand_buf(16, 0), *gv = rand_buf(16, 0), *bv = rand_buf(16, 0), y[16];
    ASSERT_EQ_INT(dlb_net_set_input(net, 0, 0, in, ref_numel(&x)), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 0, w, ref_numel(&cw[0])), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 1, b, 16), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 1, 0, gv, 16), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 3, 0, bv, 16), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 3, 0, y, 16), DLB_OK);
    double cref[576], ref[16];
    ref_conv2d(&ops[0], in, w, b, cref);
    for (int k = 0; k < 16; k++) {
        double m = 0;
        for (int i = 0; i < 36; i++) m += cref[k * 36 + i] * gv[k];
        ref[k] = m / 36 + bv[k];
    }
    check(y, ref, 16, CONV, "conv -> mul -> mean -> add");
    dlb_net_free(net);
    free(in), free(w), free(b), free(gv), free(bv);
}

/* One conv output (in the conv's layout) read by every kind of simple op at once. */
enum {
    FAN_BNORM = 1,
    FAN_LRN,
    FAN_SOFTMAX,
    FAN_REDUCE,
    FAN_RESAMPLE,
    FAN_ERF,
    FAN_ADD,
    FAN_MUL,
    FAN_AVGPOOL,
    FAN_HARDSIGMOID,
    FAN_N
};

/* groups > 1 with 8 channels per group: on AVX-512 the conv writes 8-channel blocks, which
 * oneDNN's jit binary does not take (the executor then runs it on plain data). */
static void test_conv_fanout(int64_t C, int64_t groups) {
    int64_t ic = groups > 1 ? C : 8;
    dlb_operand x = T(1, ic, 6, 6), c = T(1, C, 6, 6), cw[2] = {T(C, ic / groups, 3, 3), T(C)};
    dlb_operand cvec = T(C), gate = T(1, C, 1, 1), red = T(1, C, 1, 1), up = T(1, C, 12, 12);
    dlb_operand pooled = T(1, C, 3, 3), bw[4] = {cvec, cvec, cvec, cvec};
    dlb_operand add_src[2] = {c, c}, mul_src[2] = {c, gate};
    dlb_op_spec ops[FAN_N] = {conv_spec(&x, cw, &c)};
    ops[0].p.group = groups;
    for (int j = 1; j < FAN_N; j++)
        ops[j] = (dlb_op_spec){.op = DLB_LOP_ELTWISE, .n_src = 1, .n_dst = 1, .src = &c, .dst = &c};
    ops[FAN_BNORM].op = DLB_LOP_BNORM;
    ops[FAN_BNORM].n_wei = 4;
    ops[FAN_BNORM].wei = bw;
    ops[FAN_BNORM].p.eps = 1e-5;
    ops[FAN_LRN].op = DLB_LOP_LRN;
    ops[FAN_LRN].p = (dlb_params){.size = 5, .alpha = 0.5, .beta = 0.75, .eps = 1};
    ops[FAN_SOFTMAX].op = DLB_LOP_SOFTMAX;
    ops[FAN_SOFTMAX].alg = DLB_ALG_SOFTMAX;
    ops[FAN_SOFTMAX].p.axis = 1;
    ops[FAN_REDUCE].op = DLB_LOP_REDUCE;
    ops[FAN_REDUCE].alg = DLB_ALG_REDUCE_MEAN;
    ops[FAN_REDUCE].dst = &red;
    ops[FAN_REDUCE].p = (dlb_params){.n_axes = 2, .axes = {2, 3}, .keepdims = true};
    ops[FAN_RESAMPLE].op = DLB_LOP_RESAMPLE;
    ops[FAN_RESAMPLE].alg = DLB_ALG_LINEAR_INTERP;
    ops[FAN_RESAMPLE].dst = &up;
    ops[FAN_ERF].alg = DLB_ALG_ERF;
    ops[FAN_ADD].op = ops[FAN_MUL].op = DLB_LOP_BINARY;
    ops[FAN_ADD].n_src = ops[FAN_MUL].n_src = 2;
    ops[FAN_ADD].alg = DLB_ALG_ADD, ops[FAN_ADD].src = add_src;
    ops[FAN_MUL].alg = DLB_ALG_MUL, ops[FAN_MUL].src = mul_src;
    ops[FAN_AVGPOOL].op = DLB_LOP_POOL;
    ops[FAN_AVGPOOL].alg = DLB_ALG_POOL_AVG_EXCLUDE;
    ops[FAN_AVGPOOL].dst = &pooled;
    ops[FAN_AVGPOOL].p = (dlb_params){
        .nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {1, 1}, .pad_begin = {1, 1}};
    ops[FAN_HARDSIGMOID].alg = DLB_ALG_HARDSIGMOID;
    ops[FAN_HARDSIGMOID].p.alpha = 0.2;
    ops[FAN_HARDSIGMOID].p.beta = 0.5;
    dlb_brick_edge edges[FAN_N];
    for (int j = 1; j < FAN_N; j++) edges[j - 1] = (dlb_brick_edge){j, 0, 0, 0};
    dlb_netdesc d = {
        .n_ops = FAN_N, .ops = ops, .n_edges = FAN_N - 1, .edges = edges, .name = "conv-fanout"};
    dlb_net *net = create(&d);
    if (!net) return;
    size_t nc = ref_numel(&c), nu = ref_numel(&up);
    float *in = rand_buf(ref_numel(&x), 0), *w = rand_buf(ref_numel(&cw[0]), 0);
    float *b = rand_buf((size_t)C, 0), *other = rand_buf(nc, 0), *g = rand_buf((size_t)C, 0);
    float *bn[4] = {rand_buf((size_t)C, 0), rand_buf((size_t)C, 0), rand_buf((size_t)C, 0),
                    rand_buf((size_t)C, 1)};
    ASSERT_EQ_INT(dlb_net_set_input(net, 0, 0, in, ref_numel(&x)), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 0, w, ref_numel(&cw[0])), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 1, b, (size_t)C), DLB_OK);
    for (int k = 0; k < 4; k++)
        ASSERT_EQ_INT(dlb_net_set_weight(net, FAN_BNORM, k, bn[k], (size_t)C), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_input(net, FAN_ADD, 1, other, nc), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_input(net, FAN_MUL, 1, g, (size_t)C), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    double *cref = malloc(nc * sizeof *cref), *ref = malloc(nu * sizeof *ref);
    float *y = malloc(nu * sizeof *y);
    ref_conv2d(&ops[0], in, w, b, cref);
    float *cf = to_float(cref, nc);
    for (int j = 1; j < FAN_N; j++) {
        const dlb_op_spec *s = &ops[j];
        size_t n = ref_numel(&s->dst[0]);
        if (j == FAN_BNORM)
            ref_bnorm(&c, cf, bn[0], bn[1], bn[2], bn[3], 1e-5, ref);
        else if (j == FAN_LRN)
            ref_lrn(&c, cf, 5, 0.5, 0.75, 1, ref);
        else if (j == FAN_SOFTMAX)
            ref_softmax(&c, 1, false, cf, ref);
        else if (j == FAN_REDUCE)
            ref_reduce(DLB_ALG_REDUCE_MEAN, &c, s->p.axes, 2, cf, ref);
        else if (j == FAN_RESAMPLE)
            ref_resample(DLB_ALG_LINEAR_INTERP, &c, &up, cf, ref);
        else if (j == FAN_ADD)
            ref_binary(DLB_ALG_ADD, &c, cf, &c, other, &c, ref);
        else if (j == FAN_MUL)
            ref_binary(DLB_ALG_MUL, &c, cf, &gate, g, &c, ref);
        else if (j == FAN_AVGPOOL)
            ref_pool(s, cf, ref);
        else
            for (size_t i = 0; i < n; i++)
                ref[i] = ref_eltwise(s->alg, s->p.alpha, s->p.beta, cf[i]);
        char name[64];
        snprintf(name, sizeof name, "conv g%lld -> %s", (long long)groups, dlb_lop_name(s->op));
        if (getenv("DLB_TEST_VERBOSE")) printf("%-40s %s\n", name, dlb_net_impl(net, j));
        ASSERT_EQ_INT(dlb_net_get_output(net, j, 0, y, n), DLB_OK);
        check(y, ref, n, CONV, name);
    }
    dlb_net_free(net);
    free(in), free(w), free(b), free(other), free(g), free(cf), free(cref), free(ref), free(y);
    for (int k = 0; k < 4; k++) free(bn[k]);
}

/* RegNet's squeeze-excitation pools the output of a grouped convolution (26 groups of 8
 * channels), which oneDNN gives a channel-blocked layout where a dense convolution's output is
 * nhwc.  As a brick, the pool's input is external; with the layout class the lowering gives it
 * (layout_groups 26) it starts in the grouped layout and runs the kernel the model runs, and
 * computes the same values as in either layout. */
static void test_pool_grouped_input(void) {
    dlb_operand x = T(1, 208, 14, 14), c = x, p = T(1, 208, 1, 1);
    dlb_operand cw[2] = {T(208, 8, 3, 3), T(208)};
    dlb_op_spec ops[2] = {conv_spec(&x, cw, &c),
                          {.op = DLB_LOP_POOL,
                           .alg = DLB_ALG_POOL_AVG_EXCLUDE,
                           .n_src = 1,
                           .n_dst = 1,
                           .src = &c,
                           .dst = &p}};
    ops[0].p.group = 26;
    ops[1].p.nsp = 2;
    for (int i = 0; i < 2; i++) {
        ops[1].p.kernel[i] = ops[1].p.stride[i] = 14;
        ops[1].p.dilation[i] = 1;
    }
    dlb_brick_edge e = {1, 0, 0, 0};
    dlb_netdesc model = {.n_ops = 2, .ops = ops, .n_edges = 1, .edges = &e, .name = "gconv-pool"};
    dlb_net *m = create(&model);
    dlb_operand in[2] = {c, c};
    in[0].layout_groups = 26;
    dlb_op_spec brick[2] = {ops[1], ops[1]};
    brick[0].src = &in[0];
    brick[1].src = &in[1];
    dlb_netdesc bd[2] = {{.n_ops = 1, .ops = &brick[0], .name = "pool brick, grouped input"},
                         {.n_ops = 1, .ops = &brick[1], .name = "pool brick, dense input"}};
    dlb_net *n[2] = {create(&bd[0]), create(&bd[1])};
    if (m && n[0] && n[1]) {
        const char *in_model = dlb_net_impl(m, 1);
        if (getenv("DLB_TEST_VERBOSE"))
            printf("pool in model %s, as a brick %s (dense input: %s)\n", in_model,
                   dlb_net_impl(n[0], 0), dlb_net_impl(n[1], 0));
        ASSERT_STREQ(dlb_net_impl(n[0], 0), in_model);
        size_t count = ref_numel(&c);
        float *v = rand_buf(count, 0), y[2][208];
        for (int k = 0; k < 2; k++) {
            ASSERT_EQ_INT(dlb_net_set_input(n[k], 0, 0, v, count), DLB_OK);
            ASSERT_EQ_INT(dlb_net_run(n[k]), DLB_OK);
            ASSERT_EQ_INT(dlb_net_get_output(n[k], 0, 0, y[k], 208), DLB_OK);
        }
        double ref[208];
        ref_pool(&ops[1], v, ref);
        check(y[0], ref, 208, CONV, "avg pool on a grouped layout");
        check(y[1], ref, 208, CONV, "avg pool on a dense layout");
        free(v);
    }
    dlb_net_free(m);
    dlb_net_free(n[0]);
    dlb_net_free(n[1]);
}

int main(void) {
    test_pool();
    test_pool_plain_input();
    test_eltwise();
    test_denormals();
    test_binary();
    test_binary_merged();
    test_norms();
    test_softmax();
    test_softmax_plain_input();
    test_reduce();
    test_resample();
    test_conv_pool_eltwise();
    test_conv_binary_reduce();
    test_conv_fanout(16, 1);
    test_conv_fanout(48, 6);
    test_pool_grouped_input();
    printf("test_exec_simple: %d checks\n", n_checks);
    return test_summary("test_exec_simple");
}
