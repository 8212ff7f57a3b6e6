/* test_exec_compute.c — executor conv/deconv/matmul against naive references.
 * Tolerance: |got - ref| <= 1e-4 * (1 + |ref|) (f32 accumulation order differs from the
 * double-precision reference; inputs are in [-1, 1] and reductions are <= 600 terms). */
#include <math.h>
#include <stdint.h>

#include "dlbricks/exec.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "ref_ops.h"
#include "test_util.h"

static uint64_t rng = 12345;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *rand_buf(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static dlb_operand op4(int64_t a, int64_t b, int64_t c, int64_t d) {
    return (dlb_operand){.dtype = DLB_DT_F32, .shape = {.rank = 4, .dims = {a, b, c, d}}};
}

static size_t numel(const dlb_operand *o) {
    size_t n = 1;
    for (int i = 0; i < o->shape.rank; i++) n *= (size_t)o->shape.dims[i];
    return n;
}

static int compare(const float *got, const double *ref, size_t n, const char *what) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - ref[i]) <= 1e-4 * (1 + fabs(ref[i])))) {
            if (bad < 3) fprintf(stderr, "%s[%zu]: got %g expected %g\n", what, i, got[i], ref[i]);
            bad++;
        }
    if (bad) test_failures++;
    return bad;
}

/* ONNX convolution (ref_ops.c), then the post-ops relu / sum. */
static void ref_conv(const dlb_op_spec *s, const float *x, const float *w, const float *b,
                     const float *sum, double *y) {
    ref_conv2d(s, x, w, b, y);
    size_t n = numel(&s->dst[0]);
    for (size_t o = 0; o < n; o++)
        for (int k = 0; k < s->n_post; k++) {
            if (s->post[k].kind == DLB_POST_SUM) y[o] += sum[o];
            if (s->post[k].kind == DLB_POST_ELTWISE && s->post[k].alg == DLB_ALG_RELU)
                y[o] = y[o] > 0 ? y[o] : 0;
        }
}

/* A network of the one op s; its creation diagnostics are printed when it fails. */
static dlb_net *one_op_net(const dlb_op_spec *s, const char *name) {
    dlb_netdesc d = {.n_ops = 1, .ops = s, .name = name};
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    dlb_net *net = NULL;
    dlb_status st = dlb_net_create(&d, NULL, &diag, &net);
    if (st != DLB_OK) fprintf(stderr, "%s", buf.text);
    ASSERT_EQ_INT(st, DLB_OK);
    return net;
}

static int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

typedef struct conv_cfg {
    int64_t n, ic, h, w, oc, k, stride, dil, pb, pe, group;
    bool bias, relu, sum;
} conv_cfg;

static void check_conv(const conv_cfg *c) {
    int64_t oh = out_dim(c->h, c->k, c->stride, c->dil, c->pb, c->pe);
    int64_t ow = out_dim(c->w, c->k, c->stride, c->dil, c->pb, c->pe);
    dlb_operand src = op4(c->n, c->ic, c->h, c->w), dst = op4(c->n, c->oc, oh, ow);
    dlb_operand wei[2] = {op4(c->oc, c->ic / c->group, c->k, c->k),
                          {.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {c->oc}}}};
    dlb_op_spec s = {.op = DLB_LOP_CONV,
                     .n_src = 1,
                     .n_wei = c->bias ? 2 : 1,
                     .n_dst = 1,
                     .src = &src,
                     .wei = wei,
                     .dst = &dst};
    s.p.nsp = 2;
    s.p.group = c->group;
    s.p.has_bias = c->bias;
    for (int i = 0; i < 2; i++) {
        s.p.kernel[i] = c->k;
        s.p.stride[i] = c->stride;
        s.p.dilation[i] = c->dil;
        s.p.pad_begin[i] = c->pb;
        s.p.pad_end[i] = c->pe;
    }
    if (c->sum) s.post[s.n_post++] = (dlb_postop){.kind = DLB_POST_SUM, .operand = dst};
    if (c->relu) s.post[s.n_post++] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_RELU};
    dlb_net *net = one_op_net(&s, "conv");
    if (!net) return;
    float *x = rand_buf(numel(&src)), *w = rand_buf(numel(&wei[0])), *b = rand_buf((size_t)c->oc);
    float *r = rand_buf(numel(&dst)), *y = malloc(numel(&dst) * sizeof *y);
    double *ref = malloc(numel(&dst) * sizeof *ref);
    ASSERT_EQ_INT(dlb_net_set_input(net, 0, 0, x, numel(&src)), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 0, w, numel(&wei[0])), DLB_OK);
    if (c->bias) ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 1, b, (size_t)c->oc), DLB_OK);
    if (c->sum) ASSERT_EQ_INT(dlb_net_set_input(net, 0, 1, r, numel(&dst)), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, y, numel(&dst)), DLB_OK);
    ref_conv(&s, x, w, c->bias ? b : NULL, r, ref);
    compare(y, ref, numel(&dst), "conv");
    ASSERT(strlen(dlb_net_impl(net, 0)) > 0);
    dlb_net_free(net);
    free(x), free(w), free(b), free(r), free(y), free(ref);
}

static void test_conv(void) {
    const conv_cfg cases[] = {
        {1, 8, 9, 9, 16, 3, 1, 1, 1, 1, 1, true, true, false},     /* conv+bias+relu */
        {2, 8, 10, 10, 8, 3, 2, 1, 0, 1, 1, false, false, false},  /* asymmetric pads, stride */
        {1, 16, 12, 12, 16, 3, 1, 2, 2, 2, 1, true, false, false}, /* dilated */
        {1, 16, 8, 8, 16, 3, 1, 1, 1, 1, 16, true, true, false},   /* depthwise */
        {1, 8, 8, 8, 12, 1, 1, 1, 0, 0, 4, false, false, false},   /* grouped 1x1 */
        {1, 8, 7, 7, 8, 3, 1, 1, 1, 1, 1, true, true, true},       /* residual sum + relu */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_conv(&cases[i]);
}

/* C[b] = A[b] x B (B a weight [K,N] or, transposed, [N,K]) + bias. */
static void check_matmul(int64_t batch, int64_t M, int64_t K, int64_t N, bool trans_b, bool bias) {
    dlb_operand a = {.dtype = DLB_DT_F32, .shape = {.rank = 3, .dims = {batch, M, K}}};
    dlb_operand y = {.dtype = DLB_DT_F32, .shape = {.rank = 3, .dims = {batch, M, N}}};
    dlb_operand w[2] = {
        {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {trans_b ? N : K, trans_b ? K : N}}},
        {.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {N}}}};
    dlb_op_spec s = {.op = DLB_LOP_MATMUL,
                     .n_src = 1,
                     .n_wei = bias ? 2 : 1,
                     .n_dst = 1,
                     .src = &a,
                     .wei = w,
                     .dst = &y};
    s.p.trans_b = trans_b;
    s.p.has_bias = bias;
    dlb_net *net = one_op_net(&s, "matmul");
    if (!net) return;
    float *A = rand_buf(numel(&a)), *B = rand_buf((size_t)(K * N)), *bb = rand_buf((size_t)N);
    float *Y = malloc(numel(&y) * sizeof *Y);
    double *ref = calloc(numel(&y), sizeof *ref);
    ASSERT_EQ_INT(dlb_net_set_input(net, 0, 0, A, numel(&a)), DLB_OK);
    ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 0, B, (size_t)(K * N)), DLB_OK);
    if (bias) ASSERT_EQ_INT(dlb_net_set_weight(net, 0, 1, bb, (size_t)N), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, Y, numel(&y)), DLB_OK);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = bias ? bb[j] : 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (double)A[(b * M + i) * K + k] * (trans_b ? B[j * K + k] : B[k * N + j]);
                ref[(b * M + i) * N + j] = acc;
            }
    compare(Y, ref, numel(&y), "matmul");
    dlb_net_free(net);
    free(A), free(B), free(bb), free(Y), free(ref);
}

/* Two ops wired by an edge through a view: conv -> (flatten) -> matmul. */
static void test_conv_flatten_matmul(void) {
    dlb_operand x = op4(1, 4, 6, 6), c = op4(1, 8, 6, 6);
    dlb_operand cw[2] = {op4(8, 4, 3, 3), {.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {8}}}};
    dlb_operand flat = {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {1, 288}}};
    dlb_operand mw = {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {288, 10}}};
    dlb_operand y = {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {1, 10}}};
    dlb_op_spec ops[2] = {
        {.op = DLB_LOP_CONV, .n_src = 1, .n_wei = 2, .n_dst = 1, .src = &x, .wei = cw, .dst = &c},
        {.op = DLB_LOP_MATMUL,
         .n_src = 1,
         .n_wei = 1,
         .n_dst = 1,
         .src = &flat,
         .wei = &mw,
         .dst = &y}};
    ops[0].p.nsp = 2;
    ops[0].p.group = 1;
    ops[0].p.has_bias = true;
    for (int i = 0; i < 2; i++) {
        ops[0].p.kernel[i] = 3;
        ops[0].p.stride[i] = ops[0].p.dilation[i] = 1;
        ops[0].p.pad_begin[i] = ops[0].p.pad_end[i] = 1;
    }
    dlb_brick_edge e = {.to_op = 1, .to_src = 0, .from_op = 0, .from_out = 0};
    dlb_netdesc d = {.n_ops = 2, .ops = ops, .n_edges = 1, .edges = &e, .name = "conv-mm"};
    dlb_net *net = NULL;
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    dlb_exec_options keep = {.keep_all = true}; /* the conv output is read back below */
    ASSERT_EQ_INT(dlb_net_create(&d, &keep, &diag, &net), DLB_OK);
    if (!net) {
        fprintf(stderr, "%s", buf.text);
        return;
    }
    float *X = rand_buf(144), *W = rand_buf(288), *B = rand_buf(8), *M = rand_buf(2880);
    float Y[10], C[288];
    dlb_net_set_input(net, 0, 0, X, 144);
    dlb_net_set_weight(net, 0, 0, W, 288);
    dlb_net_set_weight(net, 0, 1, B, 8);
    dlb_net_set_weight(net, 1, 0, M, 2880);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, C, 288), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 1, 0, Y, 10), DLB_OK);
    double ref[10];
    for (int j = 0; j < 10; j++) {
        ref[j] = 0;
        for (int k = 0; k < 288; k++) ref[j] += (double)C[k] * M[k * 10 + j];
    }
    compare(Y, ref, 10, "conv-flatten-matmul");
    dlb_net_free(net);
    free(X), free(W), free(B), free(M);
}

/* Activations with disjoint lifetimes share memory, and the final output is unchanged. */
/* A chain of n 3x3 "same" convolutions x -> x (weights w), the first reading src0. */
static dlb_netdesc conv_chain(int n, dlb_op_spec *ops, dlb_brick_edge *edges, dlb_operand *src0,
                              dlb_operand *x, dlb_operand *w) {
    for (int j = 0; j < n; j++) {
        ops[j] = (dlb_op_spec){.op = DLB_LOP_CONV,
                               .n_src = 1,
                               .n_wei = 1,
                               .n_dst = 1,
                               .src = j ? x : src0,
                               .wei = w,
                               .dst = x};
        ops[j].p.nsp = 2;
        ops[j].p.group = 1;
        for (int i = 0; i < 2; i++) {
            ops[j].p.kernel[i] = 3;
            ops[j].p.stride[i] = ops[j].p.dilation[i] = 1;
            ops[j].p.pad_begin[i] = ops[j].p.pad_end[i] = 1;
        }
        edges[j] = (dlb_brick_edge){.to_op = j, .to_src = 0, .from_op = j - 1, .from_out = 0};
    }
    return (dlb_netdesc){
        .n_ops = n, .ops = ops, .n_edges = n - 1, .edges = edges + 1, .name = "chain"};
}

static void test_buffer_reuse(void) {
    enum { N_CONV = 4 };
    dlb_operand x = op4(1, 16, 20, 20);
    dlb_operand w = op4(16, 16, 3, 3);
    dlb_op_spec ops[N_CONV];
    dlb_brick_edge edges[N_CONV];
    dlb_netdesc d = conv_chain(N_CONV, ops, edges, &x, &x, &w);
    float *in = rand_buf(6400), *wt[N_CONV], out[2][6400];
    for (int j = 0; j < N_CONV; j++) wt[j] = rand_buf(2304);
    size_t mem[2];
    for (int keep = 0; keep < 2; keep++) {
        dlb_exec_options o = {.keep_all = keep};
        dlb_net *net = NULL;
        ASSERT_EQ_INT(dlb_net_create(&d, &o, NULL, &net), DLB_OK);
        if (!net) return;
        dlb_net_set_input(net, 0, 0, in, 6400);
        for (int j = 0; j < N_CONV; j++) dlb_net_set_weight(net, j, 0, wt[j], 2304);
        ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
        ASSERT_EQ_INT(dlb_net_get_output(net, N_CONV - 1, 0, out[keep], 6400), DLB_OK);
        mem[keep] = dlb_net_memory_bytes(net);
        dlb_net_free(net);
    }
    ASSERT(mem[0] < mem[1]);
    ASSERT(memcmp(out[0], out[1], sizeof out[0]) == 0);
    free(in);
    for (int j = 0; j < N_CONV; j++) free(wt[j]);
}

/* Profiling (dlb_net_run_profiled): a chain of 3 convolutions fed a plain input runs as its
 * steps, in op order, an inserted reorder (op -1) per dlb_net_n_reorders, every step timed, and
 * the output is dlb_net_run's. */
static void test_profiled_run(void) {
    enum { N_CONV = 3 };
    dlb_operand x = op4(1, 16, 12, 12), xin = x, w = op4(16, 16, 3, 3);
    xin.plain_layout = true;
    dlb_op_spec ops[N_CONV];
    dlb_brick_edge edges[N_CONV];
    dlb_netdesc d = conv_chain(N_CONV, ops, edges, &xin, &x, &w);
    dlb_net *net = NULL;
    ASSERT_EQ_INT(dlb_net_create(&d, NULL, NULL, &net), DLB_OK);
    if (!net) return;
    int ns = dlb_net_n_steps(net), reorders = 0, last = -1, seen[N_CONV] = {0};
    ASSERT(ns >= N_CONV);
    for (int i = 0; i < ns; i++) {
        int op = dlb_net_step_op(net, i);
        ASSERT(op >= -1 && op < N_CONV);
        if (op < 0) {
            reorders++;
            continue;
        }
        ASSERT(op >= last); /* op order */
        last = op;
        seen[op]++;
    }
    for (int j = 0; j < N_CONV; j++) ASSERT(seen[j] >= 1);
    ASSERT_EQ_INT(reorders, dlb_net_n_reorders(net));
    ASSERT_EQ_INT(dlb_net_step_op(net, -1), -1);
    ASSERT_EQ_INT(dlb_net_step_op(net, ns), -1);
    float *in = rand_buf(16 * 144), a[16 * 144], b[16 * 144];
    double *ms = calloc((size_t)ns, sizeof *ms);
    dlb_net_set_input(net, 0, 0, in, 16 * 144);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, N_CONV - 1, 0, a, 16 * 144), DLB_OK);
    memset(b, 0, sizeof b);
    for (int r = 0; r < 3; r++) ASSERT_EQ_INT(dlb_net_run_profiled(net, ms), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, N_CONV - 1, 0, b, 16 * 144), DLB_OK);
    ASSERT(memcmp(a, b, sizeof a) == 0);
    for (int i = 0; i < ns; i++) ASSERT(ms[i] > 0); /* added to, three times */
    free(ms);
    free(in);
    dlb_net_free(net);
}

/* --dtype int8: an s8 conv + relu -> max pool -> gelu chain runs (gelu has no int8 kernel and
 * falls back to f32 with converting reorders); outputs of the int8 conv are integers. */
static void test_int8_chain(void) {
    dlb_operand x = op4(1, 16, 12, 12), y = op4(1, 16, 12, 12), p = op4(1, 16, 6, 6);
    dlb_operand w[2] = {op4(16, 16, 3, 3),
                        {.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {16}}}};
    x.dtype = y.dtype = p.dtype = w[0].dtype = DLB_DT_S8;
    dlb_op_spec ops[3] = {
        {.op = DLB_LOP_CONV, .n_src = 1, .n_wei = 2, .n_dst = 1, .src = &x, .wei = w, .dst = &y},
        {.op = DLB_LOP_POOL, .alg = DLB_ALG_POOL_MAX, .n_src = 1, .n_dst = 1, .src = &y, .dst = &p},
        {.op = DLB_LOP_ELTWISE,
         .alg = DLB_ALG_GELU_ERF,
         .n_src = 1,
         .n_dst = 1,
         .src = &p,
         .dst = &p}};
    ops[0].p.nsp = ops[1].p.nsp = 2;
    ops[0].p.group = 1;
    ops[0].p.has_bias = true;
    ops[0].post[ops[0].n_post++] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_RELU};
    for (int i = 0; i < 2; i++) {
        ops[0].p.kernel[i] = 3;
        ops[0].p.stride[i] = ops[0].p.dilation[i] = ops[1].p.dilation[i] = 1;
        ops[0].p.pad_begin[i] = ops[0].p.pad_end[i] = 1;
        ops[1].p.kernel[i] = ops[1].p.stride[i] = 2;
    }
    dlb_brick_edge e[2] = {{1, 0, 0, 0}, {2, 0, 1, 0}};
    dlb_netdesc d = {.n_ops = 3, .ops = ops, .n_edges = 2, .edges = e, .name = "int8"};
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    dlb_exec_options keep = {.keep_all = true};
    dlb_net *net = NULL;
    ASSERT_EQ_INT(dlb_net_create(&d, &keep, &diag, &net), DLB_OK);
    if (!net) {
        fprintf(stderr, "%s", buf.text);
        return;
    }
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    float out[16 * 144];
    ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, out, 16 * 144), DLB_OK);
    int bad = 0;
    for (int i = 0; i < 16 * 144; i++)
        bad += out[i] != (float)(int)out[i] || out[i] < 0 || out[i] > 127; /* s8 after relu */
    ASSERT_EQ_INT(bad, 0);
    ASSERT(strlen(dlb_net_impl(net, 2)) > 0);
    dlb_net_free(net);
}

/* numpy 1-D rules: [K] x [K, N] -> [N] and [M, K] x [K] -> [M] (B a weight). */
static void check_matmul_1d(bool a_vector) {
    const int64_t M = 4, K = 7, N = 5;
    dlb_operand a = {.dtype = DLB_DT_F32, .shape = {.rank = a_vector ? 1 : 2}};
    dlb_operand w = {.dtype = DLB_DT_F32, .shape = {.rank = a_vector ? 2 : 1}};
    dlb_operand y = {.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {a_vector ? N : M}}};
    if (a_vector) {
        a.shape.dims[0] = K;
        w.shape.dims[0] = K;
        w.shape.dims[1] = N;
    } else {
        a.shape.dims[0] = M;
        a.shape.dims[1] = K;
        w.shape.dims[0] = K;
    }
    dlb_op_spec s = {
        .op = DLB_LOP_MATMUL, .n_src = 1, .n_wei = 1, .n_dst = 1, .src = &a, .wei = &w, .dst = &y};
    dlb_netdesc d = {.n_ops = 1, .ops = &s, .name = "matmul1d"};
    dlb_net *net = NULL;
    ASSERT_EQ_INT(dlb_net_create(&d, NULL, NULL, &net), DLB_OK);
    if (!net) return;
    float *A = rand_buf(numel(&a)), *B = rand_buf(numel(&w)), Y[8];
    double ref[8];
    dlb_net_set_input(net, 0, 0, A, numel(&a));
    dlb_net_set_weight(net, 0, 0, B, numel(&w));
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, Y, numel(&y)), DLB_OK);
    for (int64_t i = 0; i < (a_vector ? N : M); i++) {
        ref[i] = 0;
        for (int64_t k = 0; k < K; k++)
            ref[i] += a_vector ? (double)A[k] * B[k * N + i] : (double)A[i * K + k] * B[k];
    }
    compare(Y, ref, numel(&y), a_vector ? "matmul 1-D A" : "matmul 1-D B");
    dlb_net_free(net);
    free(A), free(B);
}

/* Gemm alpha 0.5 / beta 2 from a real file: folded into B and C when weights are loaded. */
static void test_gemm_alpha_beta(const char *path) {
    dlb_load_options lo = {.read_weights = true};
    dlb_graph *g = NULL;
    dlb_lowered *l = NULL;
    dlb_netdesc nd;
    dlb_net *net = NULL;
    dlb_lower_options o = {.fuse = true};
    int missing = -1;
    ASSERT_EQ_INT(dlb_graph_load_ex(path, &lo, NULL, &g), DLB_OK);
    if (!g) return;
    ASSERT_EQ_INT(dlb_graph_infer_shapes(g, NULL), DLB_OK);
    ASSERT_EQ_INT(dlb_lower(g, &o, NULL, &l), DLB_OK);
    ASSERT_EQ_INT(dlb_netdesc_of_model(l, NULL, &nd), DLB_OK);
    ASSERT_EQ_INT(dlb_net_create(&nd, NULL, NULL, &net), DLB_OK);
    if (!net) return;
    ASSERT_EQ_INT(dlb_net_load_model_weights(net, l, &missing), DLB_OK);
    ASSERT_EQ_INT(missing, 0);
    float *A = rand_buf(15), Y[18];
    double ref[18];
    ASSERT_EQ_INT(dlb_net_set_model_input(net, l, 0, A, 15), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_model_output(net, l, 0, Y, 18), DLB_OK);
    const float *B = g->tensors[dlb_graph_find_tensor(g, "B")].weights;
    const float *C = g->tensors[dlb_graph_find_tensor(g, "C")].weights;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 6; j++) {
            double acc = 0;
            for (int k = 0; k < 5; k++) acc += (double)A[i * 5 + k] * B[j * 5 + k];
            ref[i * 6 + j] = 0.5 * acc + 2.0 * C[j];
        }
    compare(Y, ref, 18, "gemm alpha/beta");
    dlb_net_free(net);
    dlb_lowered_free(l);
    dlb_graph_free(g);
    free(A);
}

int main(int argc, char **argv) {
    check_matmul_1d(true);
    check_matmul_1d(false);
    if (argc > 1) test_gemm_alpha_beta(argv[1]);
    test_int8_chain();
    test_buffer_reuse();
    test_profiled_run();
    test_conv();
    check_matmul(1, 4, 64, 32, false, false);
    check_matmul(3, 5, 48, 16, true, true);
    check_matmul(2, 7, 33, 9, false, true);
    test_conv_flatten_matmul();
    if (argc < 2) test_failures++; /* the Gemm model path is a required argument */
    return test_summary("test_exec_compute");
}
