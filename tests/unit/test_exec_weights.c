/* test_exec_weights.c — cold weights: a network's weights (and cold inputs and outputs) rotate
 * through copies in a pool; context eviction. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dlbricks/exec.h"
#include "dlbricks/layer.h"
#include "test_util.h"

static dlb_operand t4(int64_t a, int64_t b, int64_t c, int64_t d) {
    return (dlb_operand){.dtype = DLB_DT_F32, .shape = {.rank = 4, .dims = {a, b, c, d}}};
}
static dlb_operand t1(int64_t a) {
    return (dlb_operand){.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {a}}};
}

static dlb_net *net_of(const dlb_op_spec *s, int n_ops) {
    dlb_netdesc d = {.n_ops = n_ops, .ops = s, .name = "weights"};
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    dlb_net *net = NULL;
    dlb_status st = dlb_net_create(&d, NULL, &diag, &net);
    if (st != DLB_OK) fprintf(stderr, "%s", buf.text);
    ASSERT_EQ_INT(st, DLB_OK);
    return net;
}

/* Run and copy output 0 of op 0 (count values); true when every value is finite. */
static bool run_out(dlb_net *net, float *y, size_t count) {
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, y, count), DLB_OK);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(y[i])) return false;
    return true;
}

/* A 2-D convolution, stride 1, k x k kernel with "same" padding; n_wei 2 adds a bias. */
static dlb_op_spec conv_spec(dlb_operand *src, dlb_operand *wei, int n_wei, dlb_operand *dst,
                             int k) {
    dlb_op_spec s = {.op = DLB_LOP_CONV,
                     .n_src = 1,
                     .n_wei = n_wei,
                     .n_dst = 1,
                     .src = src,
                     .wei = wei,
                     .dst = dst};
    s.p.nsp = 2;
    s.p.group = 1;
    s.p.has_bias = n_wei > 1;
    for (int i = 0; i < 2; i++) {
        s.p.kernel[i] = k;
        s.p.stride[i] = s.p.dilation[i] = 1;
        s.p.pad_begin[i] = s.p.pad_end[i] = k / 2;
    }
    return s;
}

/* Run net on the first max_copies copies of its weights in a 1 MiB pool (at least 2 must
 * fit); every output of op 0 (n values) must be finite. */
static void all_copies_finite(dlb_net *net, size_t n, int max_copies, const char *what) {
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(1 << 20, &pool), DLB_OK);
    float *y = malloc(n * sizeof *y);
    int k = dlb_net_weight_copies(net, pool);
    ASSERT(k >= 2);
    for (int c = 0; c < k && c < max_copies; c++) {
        ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, c), DLB_OK);
        if (!run_out(net, y, n)) {
            fprintf(stderr, "%s, copy %d: non-finite output\n", what, c);
            test_failures++;
            break;
        }
    }
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, -1), DLB_OK);
    dlb_weight_pool_free(pool);
    free(y);
}

/* A conv with bias: weights 16x8x3x3 + 16 floats.  Copy k of the pool is read instead of the
 * net's own weights (other results), each copy differs, and copy -1 restores the original
 * results bit for bit. */
static void test_conv_rotation(void) {
    dlb_operand src = t4(1, 8, 10, 10), dst = t4(1, 16, 10, 10);
    dlb_operand wei[2] = {t4(16, 8, 3, 3), t1(16)};
    dlb_op_spec s = conv_spec(&src, wei, 2, &dst, 3);
    dlb_net *net = net_of(&s, 1);
    if (!net) return;
    size_t w = dlb_net_weight_bytes(net);
    /* 16*8*3*3 floats (possibly padded by a blocked layout) + 16 bias floats, 64-byte aligned */
    ASSERT(w >= 16 * 8 * 9 * 4 + 64 && w % 64 == 0 && w < 16 * 16 * 9 * 4 + 4096);
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(0, &pool), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_weight_pool_create(100000, &pool), DLB_OK);
    ASSERT(dlb_weight_pool_size(pool) >= 100000 && dlb_weight_pool_size(pool) % 4096 == 0);
    int k = dlb_net_weight_copies(net, pool);
    ASSERT_EQ_INT(k, (int)(dlb_weight_pool_size(pool) / w));
    ASSERT(k >= 2);
    ASSERT_EQ_INT(dlb_net_weight_copies(net, NULL), 0);

    size_t n = 16 * 10 * 10;
    float *y0 = malloc(n * sizeof *y0), *y1 = malloc(n * sizeof *y1), *y2 = malloc(n * 4);
    ASSERT(run_out(net, y0, n));
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, 0), DLB_OK);
    ASSERT(run_out(net, y1, n)); /* pool data is valid f32: finite results */
    ASSERT(memcmp(y0, y1, n * sizeof *y0) != 0);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, k - 1), DLB_OK);
    ASSERT(run_out(net, y2, n));
    ASSERT(memcmp(y1, y2, n * sizeof *y1) != 0);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, -1), DLB_OK);
    ASSERT(run_out(net, y2, n));
    ASSERT(memcmp(y0, y2, n * sizeof *y0) == 0);
    /* Repetition k wraps around to copy 0 (one cycle of k copies: weights and bias alike). */
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, 0), DLB_OK);
    ASSERT(run_out(net, y1, n));
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, k), DLB_OK);
    ASSERT(run_out(net, y2, n));
    ASSERT(memcmp(y1, y2, n * sizeof *y1) == 0);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, -1), DLB_OK);
    /* No pool: refused, and nothing changed. */
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, NULL, 0), DLB_EINVAL);
    ASSERT(run_out(net, y2, n));
    ASSERT(memcmp(y0, y2, n * sizeof *y0) == 0);
    dlb_net_free(net);
    dlb_weight_pool_free(pool);
    free(y0), free(y1), free(y2);
}

/* Batch-norm variances must stay positive: they are never rotated (otherwise a pool value
 * below zero would make NaNs); its scale, shift and mean are. */
static void test_bnorm_variance_fixed(void) {
    int64_t C = 32;
    dlb_operand src = t4(1, C, 6, 6), dst = src, wei[4] = {t1(C), t1(C), t1(C), t1(C)};
    dlb_op_spec s = {.op = DLB_LOP_BNORM,
                     .n_src = 1,
                     .n_wei = 4,
                     .n_dst = 1,
                     .src = &src,
                     .wei = wei,
                     .dst = &dst};
    s.p.eps = 1e-5;
    dlb_net *net = net_of(&s, 1);
    if (!net) return;
    ASSERT_EQ_INT((int)dlb_net_weight_bytes(net), 3 * 128); /* not the variance */
    all_copies_finite(net, (size_t)C * 36, 200, "batch norm");
    dlb_net_free(net);
}

/* A matmul whose weights are seen through a 2-D view follows the rotation as well. */
static void test_matmul_rotation(void) {
    dlb_operand a = {.dtype = DLB_DT_F32, .shape = {.rank = 3, .dims = {2, 5, 48}}};
    dlb_operand y = {.dtype = DLB_DT_F32, .shape = {.rank = 3, .dims = {2, 5, 24}}};
    dlb_operand w[2] = {{.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {48, 24}}}, t1(24)};
    dlb_op_spec s = {
        .op = DLB_LOP_MATMUL, .n_src = 1, .n_wei = 2, .n_dst = 1, .src = &a, .wei = w, .dst = &y};
    s.p.has_bias = true;
    dlb_net *net = net_of(&s, 1);
    if (!net) return;
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(1 << 20, &pool), DLB_OK);
    size_t n = 2 * 5 * 24;
    float *y0 = malloc(n * sizeof *y0), *y1 = malloc(n * sizeof *y1);
    ASSERT(run_out(net, y0, n));
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, 1), DLB_OK);
    ASSERT(run_out(net, y1, n));
    ASSERT(memcmp(y0, y1, n * sizeof *y0) != 0);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, -1), DLB_OK);
    ASSERT(run_out(net, y1, n));
    ASSERT(memcmp(y0, y1, n * sizeof *y0) == 0);
    dlb_net_free(net);
    dlb_weight_pool_free(pool);
    free(y0), free(y1);
}

/* The pool's words are valid bf16 pairs too: a bf16 convolution on rotated weights gives
 * finite results (where the CPU runs bf16). */
static void test_bf16_rotation(void) {
    const char *why;
    if (!dlb_exec_dtype_supported(DLB_DT_BF16, &why)) return;
    dlb_operand src = t4(1, 32, 8, 8), dst = t4(1, 32, 8, 8), wei[1] = {t4(32, 32, 1, 1)};
    src.dtype = dst.dtype = wei[0].dtype = DLB_DT_BF16;
    dlb_op_spec s = conv_spec(&src, wei, 1, &dst, 1);
    dlb_net *net = net_of(&s, 1);
    if (!net) return;
    all_copies_finite(net, 32 * 64, 50, "bf16 conv");
    dlb_net_free(net);
}

/* A 3x3 convolution with bias on an 8x10x10 input the previous layer just wrote (hot) and the
 * same on one the model reads cold (dlb_operand.cold).  Initialise in place: the specs point
 * into the struct. */
typedef struct conv_pair {
    dlb_operand src[2], dst, wei[2];
    dlb_op_spec hot, cold;
} conv_pair;

static void conv_pair_init(conv_pair *p) {
    p->src[0] = p->src[1] = t4(1, 8, 10, 10);
    p->src[1].cold = true;
    p->dst = t4(1, 16, 10, 10);
    p->wei[0] = t4(16, 8, 3, 3);
    p->wei[1] = t1(16);
    p->hot = conv_spec(&p->src[0], p->wei, 2, &p->dst, 3);
    p->cold = conv_spec(&p->src[1], p->wei, 2, &p->dst, 3);
}

/* An external input the model reads cold (dlb_operand.cold) rotates with the weights: it adds
 * to the rotated bytes, a copy reads the pool instead of the input, copy -1 restores it bit for
 * bit.  A residual sum whose operand is cold accumulates in place into the pool copy: finite. */
static void test_cold_input_rotation(void) {
    conv_pair cp;
    conv_pair_init(&cp);
    dlb_net *nw = net_of(&cp.hot, 1), *nc = net_of(&cp.cold, 1);
    if (!nw || !nc) {
        dlb_net_free(nw);
        dlb_net_free(nc);
        return;
    }
    ASSERT(dlb_net_weight_bytes(nc) >= dlb_net_weight_bytes(nw) + 8 * 10 * 10 * 4);
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(1 << 20, &pool), DLB_OK);
    size_t n = 16 * 10 * 10;
    float *y0 = malloc(n * sizeof *y0), *y1 = malloc(n * sizeof *y1), *y2 = malloc(n * 4);
    ASSERT(run_out(nc, y0, n));
    /* The warm net on copy 0 rotates its weights only; the cold one its input as well. */
    ASSERT_EQ_INT(dlb_net_use_weight_copy(nw, pool, 0), DLB_OK);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(nc, pool, 0), DLB_OK);
    ASSERT(run_out(nc, y1, n));
    ASSERT(run_out(nw, y2, n));
    ASSERT(memcmp(y1, y2, n * sizeof *y1) != 0);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(nc, pool, -1), DLB_OK);
    ASSERT(run_out(nc, y1, n));
    ASSERT(memcmp(y0, y1, n * sizeof *y0) == 0);
    dlb_net_free(nw);
    dlb_net_free(nc);
    dlb_weight_pool_free(pool);
    free(y0), free(y1), free(y2);

    dlb_operand x = t4(1, 16, 8, 8), y = x, w1[1] = {t4(16, 16, 1, 1)};
    dlb_op_spec sum = conv_spec(&x, w1, 1, &y, 1);
    sum.n_post = 1;
    sum.post[0] = (dlb_postop){.kind = DLB_POST_SUM, .alg = DLB_ALG_ADD, .operand = y};
    sum.post[0].operand.cold = true;
    dlb_net *ns = net_of(&sum, 1);
    if (!ns) return;
    ASSERT(dlb_net_weight_bytes(ns) >= (16 * 16 + 16 * 64) * 4);
    all_copies_finite(ns, 16 * 64, 50, "conv + cold residual sum");
    dlb_net_free(ns);
}

/* An output the model writes onto far bytes (dlb_operand.cold on a dst) rotates through the pool:
 * with warm weights it is all that rotates; the op writes its copy and the result read back is
 * the one the arena gives (first run on copy 0, while the arena still holds zeros); copy -1 puts
 * it back in the arena. */
static void test_cold_output_rotation(void) {
    conv_pair cp;
    conv_pair_init(&cp);
    dlb_operand dst = cp.dst;
    dst.cold = true;
    cp.hot.warm = true;
    dlb_op_spec s = cp.hot;
    s.dst = &dst;
    dlb_net *nw = net_of(&cp.hot, 1), *nc = net_of(&s, 1);
    if (!nw || !nc) {
        dlb_net_free(nw);
        dlb_net_free(nc);
        return;
    }
    ASSERT_EQ_INT((int)dlb_net_weight_bytes(nw), 0);
    ASSERT((int)dlb_net_weight_bytes(nc) >= 16 * 10 * 10 * 4);
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(1 << 20, &pool), DLB_OK);
    ASSERT(dlb_net_weight_copies(nc, pool) >= 2);
    size_t n = 16 * 10 * 10;
    float *y0 = calloc(n, sizeof *y0), *y1 = calloc(n, sizeof *y1);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(nc, pool, 0), DLB_OK);
    ASSERT(run_out(nc, y1, n));
    ASSERT_EQ_INT(dlb_net_use_weight_copy(nc, pool, -1), DLB_OK);
    ASSERT(run_out(nc, y0, n));
    ASSERT(memcmp(y0, y1, n * sizeof *y0) == 0);
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero += y0[i] != 0;
    ASSERT(nonzero > (int)n / 2);
    dlb_net_free(nw);
    dlb_net_free(nc);
    dlb_weight_pool_free(pool);
    free(y0), free(y1);
}

/* Weights the whole model finds in cache (dlb_op_spec.warm) are never rotated: a warm convolution
 * has no rotated bytes, so no copies, and keeps its own weights; with a cold input it rotates
 * that input alone. */
static void test_warm_weights_not_rotated(void) {
    conv_pair cp;
    conv_pair_init(&cp);
    dlb_op_spec cold = cp.hot, warm = cp.hot, warm_cold_in = cp.cold;
    warm.warm = warm_cold_in.warm = true;
    dlb_net *nc = net_of(&cold, 1), *nw = net_of(&warm, 1), *nwc = net_of(&warm_cold_in, 1);
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(1 << 20, &pool), DLB_OK);
    if (nc && nw && nwc && pool) {
        ASSERT(dlb_net_weight_bytes(nc) >= (16 * 8 * 9 + 16) * 4);
        ASSERT_EQ_INT((int)dlb_net_weight_bytes(nw), 0);
        ASSERT_EQ_INT(dlb_net_weight_copies(nw, pool), 0);
        size_t in = 8 * 10 * 10 * 4;
        ASSERT(dlb_net_weight_bytes(nwc) >= in && dlb_net_weight_bytes(nwc) < in + 64);
        /* The cold net has copies (test_conv_rotation checks that they change its output);
         * the warm one has none to use. */
        ASSERT(dlb_net_weight_copies(nc, pool) >= 2);
        ASSERT_EQ_INT(dlb_net_use_weight_copy(nw, pool, 0), DLB_EINVAL);
    }
    dlb_net_free(nc);
    dlb_net_free(nw);
    dlb_net_free(nwc);
    dlb_weight_pool_free(pool);
}

/* Context eviction writes the evictor and reads back the inputs the model just produced, not
 * the weights or the inputs it reads cold; it changes no input, so the output stays the same. */
static void test_evict_context(void) {
    conv_pair cp;
    conv_pair_init(&cp);
    dlb_evictor *e = NULL;
    ASSERT_EQ_INT(dlb_evictor_create(0, &e), DLB_EINVAL);
    ASSERT(e == NULL);
    ASSERT_EQ_INT(dlb_evictor_create(5000, &e), DLB_OK);
    ASSERT_EQ_INT((int)dlb_evictor_size(e), 8192); /* whole pages */
    dlb_net *nh = net_of(&cp.hot, 1), *nc = net_of(&cp.cold, 1);
    if (nh && nc && e) {
        ASSERT_EQ_INT((int)dlb_net_evict_context(nh, e), 8 * 10 * 10 * 4);
        ASSERT_EQ_INT((int)dlb_net_evict_context(nh, NULL), 8 * 10 * 10 * 4);
        ASSERT_EQ_INT((int)dlb_net_evict_context(nc, e), 0);
        static float y0[16 * 100], y1[16 * 100];
        ASSERT(run_out(nh, y0, 16 * 100));
        for (int i = 0; i < 3; i++) dlb_net_evict_context(nh, e);
        ASSERT(run_out(nh, y1, 16 * 100));
        ASSERT(memcmp(y0, y1, sizeof y0) == 0);
    }
    dlb_net_free(nh);
    dlb_net_free(nc);
    dlb_evictor_free(e);
    dlb_evictor_free(NULL);
}

/* A 2x2 max pool (stride 2) over a 1 MiB input the model reads cold, nothing else rotated. */
static dlb_op_spec pool_spec(dlb_operand *src, dlb_operand *dst, int32_t cold_mib) {
    *src = t4(1, 64, 64, 64); /* 1 MiB of f32 */
    *dst = t4(1, 64, 32, 32); /* 256 KiB: what every repetition touches in the same place */
    src->cold = true;
    src->cold_mib = cold_mib;
    dlb_op_spec s = {.op = DLB_LOP_POOL,
                     .alg = DLB_ALG_POOL_MAX,
                     .n_src = 1,
                     .n_dst = 1,
                     .src = src,
                     .dst = dst};
    s.p.nsp = 2;
    for (int i = 0; i < 2; i++) {
        s.p.kernel[i] = s.p.stride[i] = 2;
        s.p.dilation[i] = 1;
    }
    return s;
}

/* Copy 1 of the rotated data gives another output (n values) than copy 0; copy k, the cycle's
 * length, the same. */
static void copies_cycle(dlb_net *net, const dlb_weight_pool *pool, int k, size_t n) {
    float *y0 = malloc(n * sizeof *y0), *y1 = malloc(n * sizeof *y1);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, 0), DLB_OK);
    ASSERT(run_out(net, y0, n));
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, 1), DLB_OK);
    ASSERT(run_out(net, y1, n));
    ASSERT(memcmp(y0, y1, n * sizeof *y0) != 0);
    ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, k), DLB_OK);
    ASSERT(run_out(net, y1, n));
    ASSERT(memcmp(y0, y1, n * sizeof *y0) == 0);
    free(y0), free(y1);
}

/* Data at a reuse distance cycles through as many copies as bring the distinct bytes between
 * two reads of one copy nearest that distance: the 1 MiB input at 4 MiB takes 4 copies (4.25
 * MiB with the output; 3 would give 3.25), at 8 MiB 8; from memory (cold_mib 0) as many as the
 * pool holds (16); at 4 MiB in a 2 MiB pool, the 2 that fit.  Repetition k reads copy 0
 * again, repetition 1 another copy. */
static void test_rotation_at_distance(void) {
    static const struct {
        int32_t mib;
        size_t pool;
        int cycle;
    } cases[] = {{4, 16 << 20, 4}, {8, 16 << 20, 8}, {0, 16 << 20, 16}, {4, 2 << 20, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        dlb_operand src, dst;
        dlb_op_spec s = pool_spec(&src, &dst, cases[c].mib);
        dlb_net *net = net_of(&s, 1);
        dlb_weight_pool *pool = NULL;
        ASSERT_EQ_INT(dlb_weight_pool_create(cases[c].pool, &pool), DLB_OK);
        if (!net || !pool) {
            dlb_net_free(net);
            dlb_weight_pool_free(pool);
            return;
        }
        int k = dlb_net_weight_copies(net, pool);
        if (k != cases[c].cycle)
            fprintf(stderr, "case %zu: %d MiB in a %zu MiB pool: %d copies, want %d\n", c,
                    (int)cases[c].mib, cases[c].pool >> 20, k, cases[c].cycle);
        ASSERT_EQ_INT(k, cases[c].cycle);
        copies_cycle(net, pool, k, 64 * 32 * 32);
        dlb_net_free(net);
        dlb_weight_pool_free(pool);
    }
}

/* A cold input at a reuse distance and weights from memory: the input gets its own short cycle
 * and region first, the weights as many copies as the rest of the pool holds, fewer than the
 * whole pool would give them. */
static void test_rotation_mixed(void) {
    dlb_operand src = t4(1, 16, 64, 64), dst = src, wei[2] = {t4(16, 16, 3, 3), t1(16)};
    src.cold = true;
    src.cold_mib = 4;
    dlb_op_spec s = conv_spec(&src, wei, 2, &dst, 3);
    dlb_net *net = net_of(&s, 1);
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(16 << 20, &pool), DLB_OK);
    if (net && pool) {
        size_t in = 16 * 64 * 64 * 4, w = dlb_net_weight_bytes(net) - in;
        int k = dlb_net_weight_copies(net, pool);
        /* the input takes about (4 MiB - output) / (one copy of everything) ~ 14 copies */
        ASSERT((size_t)k < (16u << 20) / w);
        ASSERT((size_t)k >= ((16u << 20) - 20 * in) / w && (size_t)k <= ((16u << 20) - 8 * in) / w);
    }
    dlb_net_free(net);
    dlb_weight_pool_free(pool);
}

/* Weights at a reuse distance (--weights distance) rotate like an input at one: a 3x3 conv
 * with 144 KiB of weights over a 256 KiB input, whose output (256 KiB) and input stay in place,
 * takes the few copies that bring the distinct bytes between two reads of one weight copy
 * nearest 2 MiB (about 10), and many more from memory (cold_mib 0: what the 16 MiB pool holds).
 * Copy 1 gives another output than copy 0, copy k the same. */
static void test_weights_at_distance(void) {
    int cycle[2] = {0, 0};
    for (int c = 0; c < 2; c++) {
        dlb_operand src = t4(1, 64, 32, 32), dst = src, wei[2] = {t4(64, 64, 3, 3), t1(64)};
        for (int i = 0; i < 2; i++) wei[i].cold_mib = c == 0 ? 2 : 0;
        for (int i = 0; i < 2; i++) wei[i].cold = c == 0;
        dlb_op_spec s = conv_spec(&src, wei, 2, &dst, 3);
        dlb_net *net = net_of(&s, 1);
        dlb_weight_pool *pool = NULL;
        ASSERT_EQ_INT(dlb_weight_pool_create(16 << 20, &pool), DLB_OK);
        if (net && pool) {
            size_t w = dlb_net_weight_bytes(net);
            ASSERT_EQ_INT(w, 64 * 64 * 9 * 4 + 256);
            int k = cycle[c] = dlb_net_weight_copies(net, pool);
            if (c == 0) { /* F >= 512 KiB: (2 MiB - F) / w <= 10.7 copies, and F is under 1 MiB */
                ASSERT(k >= (int)(((2u << 20) - (1u << 20)) / w) && k <= 11);
            } else {
                ASSERT_EQ_INT(k, (int)((16u << 20) / w));
            }
            copies_cycle(net, pool, k, 64 * 32 * 32);
        }
        dlb_net_free(net);
        dlb_weight_pool_free(pool);
    }
    ASSERT(cycle[0] > 1 && cycle[0] < cycle[1]);
}

/* Streamed outputs (dlb_operand.streamed): a batch norm's output, alone and read by a 1x1
 * convolution in the same network (a brick of two layers), is counted and aged; an output
 * without the mark is not; ageing before a run leaves the results bit for bit the same (the run
 * writes every byte it dirtied). */
static void test_age_streamed_outputs(void) {
    int64_t C = 32;
    dlb_operand src = t4(1, C, 6, 6), mid = src, wei[4] = {t1(C), t1(C), t1(C), t1(C)};
    dlb_operand cw = t4(16, C, 1, 1), out = t4(1, 16, 6, 6);
    dlb_op_spec s[2] = {{.op = DLB_LOP_BNORM,
                         .n_src = 1,
                         .n_wei = 4,
                         .n_dst = 1,
                         .src = &src,
                         .wei = wei,
                         .dst = &mid},
                        conv_spec(&mid, &cw, 1, &out, 1)};
    s[0].p.eps = 1e-5;
    dlb_evictor *e = NULL;
    ASSERT_EQ_INT(dlb_evictor_create(1 << 20, &e), DLB_OK);
    for (int streamed = 0; streamed <= 1; streamed++) {
        mid.streamed = streamed;
        for (int n_ops = 1; n_ops <= 2; n_ops++) {
            dlb_net *net = net_of(s, n_ops);
            if (!net) continue;
            size_t bytes = streamed ? (size_t)C * 36 * 4 : 0;
            ASSERT_EQ_INT((int)dlb_net_streamed_output_bytes(net), (int)bytes);
            ASSERT_EQ_INT((int)dlb_net_age_streamed_outputs(net, e), (int)bytes);
            ASSERT_EQ_INT((int)dlb_net_age_streamed_outputs(net, NULL), (int)bytes);
            size_t n = n_ops == 1 ? (size_t)C * 36 : 16 * 36;
            static float y0[32 * 36], y1[32 * 36];
            ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
            ASSERT_EQ_INT(dlb_net_get_output(net, n_ops - 1, 0, y0, n), DLB_OK);
            for (int i = 0; i < 3; i++) dlb_net_age_streamed_outputs(net, e);
            ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
            ASSERT_EQ_INT(dlb_net_get_output(net, n_ops - 1, 0, y1, n), DLB_OK);
            ASSERT(memcmp(y0, y1, n * sizeof *y0) == 0);
            dlb_net_free(net);
        }
    }
    mid.streamed = false;
    dlb_evictor_free(e);
}

/* A streamed output that also rotates (a batch norm's output, streamed and written far away):
 * the ageing dirties the copy the op just wrote, not the arena bytes it no longer uses.  One
 * byte of every 64-byte line changes, so exactly one float in 16 of the output read back from
 * that copy differs. */
static void test_age_rotated_streamed_output(void) {
    int64_t C = 32;
    dlb_operand src = t4(1, C, 6, 6), mid = src, wei[4] = {t1(C), t1(C), t1(C), t1(C)};
    mid.streamed = mid.cold = true;
    dlb_op_spec s = {.op = DLB_LOP_BNORM,
                     .warm = true, /* only the output rotates */
                     .n_src = 1,
                     .n_wei = 4,
                     .n_dst = 1,
                     .src = &src,
                     .wei = wei,
                     .dst = &mid};
    s.p.eps = 1e-5;
    dlb_net *net = net_of(&s, 1);
    dlb_weight_pool *pool = NULL;
    ASSERT_EQ_INT(dlb_weight_pool_create(1 << 20, &pool), DLB_OK);
    if (net && pool) {
        const size_t n = (size_t)C * 36;
        static float y0[32 * 36], y1[32 * 36];
        ASSERT_EQ_INT((int)dlb_net_weight_bytes(net), (int)(n * 4));
        ASSERT(dlb_net_weight_copies(net, pool) >= 2);
        ASSERT_EQ_INT(dlb_net_use_weight_copy(net, pool, 1), DLB_OK);
        ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
        ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, y0, n), DLB_OK);
        ASSERT_EQ_INT((int)dlb_net_age_streamed_outputs(net, NULL), (int)(n * 4));
        ASSERT_EQ_INT(dlb_net_get_output(net, 0, 0, y1, n), DLB_OK);
        int changed = 0;
        for (size_t i = 0; i < n; i++) changed += memcmp(&y0[i], &y1[i], sizeof *y0) != 0;
        ASSERT_EQ_INT(changed, (int)(n / 16));
    }
    dlb_net_free(net);
    dlb_weight_pool_free(pool);
}

/* Warm inputs at a near reuse distance (dlb_operand.near_kib): rewritten before a repetition
 * with their values unchanged, so the network's output stays the same; cold inputs and inputs
 * without a distance are left alone. */
static void test_age_near_inputs(void) {
    int64_t C = 32;
    dlb_operand src = t4(1, C, 16, 16), mid = t4(1, 16, 16, 16), cw = t4(16, C, 1, 1);
    dlb_operand add_src[2] = {mid, mid}, sum = mid;
    dlb_op_spec s[2] = {conv_spec(&src, &cw, 1, &mid, 1),
                        {.op = DLB_LOP_BINARY,
                         .alg = DLB_ALG_ADD,
                         .n_src = 2,
                         .n_dst = 1,
                         .src = add_src,
                         .dst = &sum}};
    dlb_evictor *e = NULL;
    ASSERT_EQ_INT(dlb_evictor_create(1 << 20, &e), DLB_OK);
    const size_t src_bytes = (size_t)C * 256 * 4, side_bytes = 16 * 256 * 4;
    for (int v = 0; v < 4; v++) { /* none, the conv's source, the add's side input, both cold */
        src.near_kib = v == 1 ? 512 : 0;
        add_src[1].near_kib = v == 2 ? 2048 : 0;
        src.cold = add_src[1].cold = v == 3;
        dlb_net *net = net_of(s, 2);
        if (!net) continue;
        size_t bytes = v == 1 ? src_bytes : v == 2 ? side_bytes : 0;
        ASSERT_EQ_INT((int)dlb_net_near_input_bytes(net), (int)bytes);
        static float y0[16 * 256], y1[16 * 256];
        ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
        ASSERT_EQ_INT(dlb_net_get_output(net, 1, 0, y0, 16 * 256), DLB_OK);
        for (int i = 0; i < 5; i++) ASSERT_EQ_INT((int)dlb_net_age_near_inputs(net, e), (int)bytes);
        ASSERT_EQ_INT((int)dlb_net_age_near_inputs(net, NULL), (int)bytes);
        ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
        ASSERT_EQ_INT(dlb_net_get_output(net, 1, 0, y1, 16 * 256), DLB_OK);
        ASSERT(memcmp(y0, y1, sizeof y0) == 0);
        dlb_net_free(net);
    }
    dlb_evictor_free(e);
}

int main(void) {
    test_conv_rotation();
    test_bnorm_variance_fixed();
    test_matmul_rotation();
    test_bf16_rotation();
    test_cold_input_rotation();
    test_cold_output_rotation();
    test_warm_weights_not_rotated();
    test_evict_context();
    test_rotation_at_distance();
    test_rotation_mixed();
    test_weights_at_distance();
    test_age_streamed_outputs();
    test_age_rotated_streamed_output();
    test_age_near_inputs();
    return test_summary("test_exec_weights");
}
