/* test_spec_codec.c — bricks survive the wire: encode -> decode -> encode is the identity. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>

#include "dlbricks/brick.h"
#include "dlbricks/exec.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "test_util.h"

static void add_model(dlb_registry *r, const char *path) {
    dlb_graph *g = NULL;
    dlb_lowered *l = NULL;
    dlb_lower_options o = {.fuse = true};
    test_diag_buf buf = {0};
    dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = &buf};
    if (dlb_graph_load(path, &d, &g) != DLB_OK || (dlb_graph_apply_batch(g, 0), false) ||
        dlb_graph_infer_shapes(g, &d) != DLB_OK || dlb_lower(g, &o, &d, &l) != DLB_OK ||
        dlb_registry_add(r, l, 1) != DLB_OK) {
        fprintf(stderr, "pipeline failed for %s:\n%s", path, buf.text);
        test_failures++;
    }
    dlb_lowered_free(l);
    dlb_graph_free(g);
}

static void round_trip(const dlb_brick *b, int *n_built) {
    void *m1 = NULL, *m2 = NULL;
    size_t n1 = 0, n2 = 0;
    dlb_brick_decoded *d = NULL;
    ASSERT_EQ_INT(dlb_brick_encode(b, &m1, &n1), DLB_OK);
    ASSERT_EQ_INT(dlb_brick_decode(m1, n1, &d), DLB_OK);
    if (!d) {
        free(m1);
        return;
    }
    const dlb_brick *c = dlb_brick_decoded_brick(d);
    ASSERT(c->id == b->id);
    ASSERT_STREQ(c->key, b->key);
    ASSERT_EQ_INT(c->n_ops, b->n_ops);
    ASSERT_EQ_INT(c->n_edges, b->n_edges);
    ASSERT_EQ_INT(c->flops, b->flops);
    for (int j = 0; j < c->n_ops && j < b->n_ops; j++) {
        char k1[4096], k2[4096];
        dlb_op_spec_key(&b->ops[j], k1, sizeof k1);
        dlb_op_spec_key(&c->ops[j], k2, sizeof k2);
        ASSERT_STREQ(k2, k1);
    }
    ASSERT_EQ_INT(dlb_brick_encode(c, &m2, &n2), DLB_OK);
    ASSERT(n1 == n2 && memcmp(m1, m2, n1) == 0); /* every field survived */
    /* A worker builds the decoded brick: the same executor input as on rank 0. */
    if (*n_built < 12) {
        dlb_netdesc nd;
        dlb_net *net = NULL;
        dlb_netdesc_of_brick(c, &nd);
        ASSERT_EQ_INT(dlb_net_create(&nd, NULL, NULL, &net), DLB_OK);
        if (net) ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
        dlb_net_free(net);
        (*n_built)++;
    }
    /* Damaged messages are refused, never half-decoded. */
    dlb_brick_decoded *bad = NULL;
    ASSERT(dlb_brick_decode(m1, n1 / 2, &bad) != DLB_OK && !bad);
    unsigned char *flip = malloc(n1);
    memcpy(flip, m1, n1);
    char *k = memmem(flip, n1, b->key, strlen(b->key));
    if (k) k[0] ^= 0x20; /* the key no longer hashes to the id */
    ASSERT(dlb_brick_decode(flip, n1, &bad) == DLB_EPARSE && !bad);
    free(flip);
    free(m1);
    free(m2);
    dlb_brick_decoded_free(d);
}

/* The layout class (plain_layout, layout_groups), cache state (cold, cold_mib, near_kib) and view
 * source (view_of, view_groups, view_mixed) of an external input, and an output's non-temporal
 * stores (streamed) and distance (cold, cold_mib), travel with the brick, and where they can change
 * what the executor runs they are part of the key, so of the id. */
static void test_layout_class(void) {
    enum {
        N = 11
    }; /* natural, plain, grouped 2, cold, view, view of grouped 4, cold at 16 MiB,
        * streamed output, warm at 1 MiB, output landing 32 MiB away, view of a mixed concat */
    static const char *const marks[N] = {NULL,
                                         ":plain",
                                         ":g2",
                                         ":cold ",
                                         ":view=1x16x8x8 ",
                                         ":view=1x16x8x8:g4",
                                         ":cold=16M",
                                         ":nt",
                                         ":near=1024K",
                                         ":cold=32M",
                                         ":view=1x16x8x8:mixed"};
    dlb_operand x = {.dtype = DLB_DT_F32, .shape = {.rank = 4, .dims = {1, 4, 16, 16}}}, y = x;
    dlb_op_spec s = {.op = DLB_LOP_SOFTMAX,
                     .alg = DLB_ALG_SOFTMAX,
                     .n_src = 1,
                     .n_dst = 1,
                     .src = &x,
                     .dst = &y,
                     .p = {.axis = 3}};
    uint64_t ids[N];
    for (int v = 0; v < N; v++) {
        x.plain_layout = v == 1;
        x.layout_groups = v == 2 ? 2 : 0;
        x.cold = v == 3 || v == 6;
        x.cold_mib = v == 6 ? 16 : 0;
        x.view_of = (v >= 4 && v <= 6) || v == 10 ? (dlb_shape){.rank = 4, .dims = {1, 16, 8, 8}}
                                                  : (dlb_shape){0};
        x.view_groups = v == 5 ? 4 : 0;
        x.view_mixed = v == 10;
        y.streamed = v == 7;
        x.near_kib = v == 8 ? 1024 : 0;
        y.cold = v == 9;
        y.cold_mib = v == 9 ? 32 : 0;
        char key[512];
        int n = dlb_op_spec_key(&s, key, sizeof key);
        dlb_brick b = {
            .id = dlb_brick_id_of_key(key, (size_t)n), .key = key, .n_ops = 1, .ops = &s};
        ids[v] = b.id;
        for (int k = 1; k < N; k++) ASSERT(!strstr(key, marks[k]) == (k != v));
        void *m = NULL;
        size_t len = 0;
        dlb_brick_decoded *d = NULL;
        ASSERT_EQ_INT(dlb_brick_encode(&b, &m, &len), DLB_OK);
        ASSERT_EQ_INT(dlb_brick_decode(m, len, &d), DLB_OK);
        if (d) {
            const dlb_brick *c = dlb_brick_decoded_brick(d);
            ASSERT(c->id == b.id);
            ASSERT_EQ_INT(c->ops[0].src[0].plain_layout, x.plain_layout);
            ASSERT_EQ_INT(c->ops[0].src[0].layout_groups, x.layout_groups);
            ASSERT_EQ_INT(c->ops[0].src[0].cold, x.cold);
            ASSERT_EQ_INT(c->ops[0].src[0].cold_mib, x.cold_mib);
            ASSERT(dlb_shape_equal(&c->ops[0].src[0].view_of, &x.view_of));
            ASSERT_EQ_INT(c->ops[0].src[0].view_groups, x.view_groups);
            ASSERT_EQ_INT(c->ops[0].src[0].view_mixed, x.view_mixed);
            ASSERT_EQ_INT(c->ops[0].dst[0].plain_layout, 0);
            ASSERT_EQ_INT(c->ops[0].dst[0].view_of.rank, 0);
            ASSERT_EQ_INT(c->ops[0].dst[0].cold, y.cold);
            ASSERT_EQ_INT(c->ops[0].dst[0].cold_mib, y.cold_mib);
            ASSERT_EQ_INT(c->ops[0].dst[0].streamed, y.streamed);
            ASSERT_EQ_INT(c->ops[0].src[0].streamed, 0);
            ASSERT_EQ_INT(c->ops[0].src[0].near_kib, x.near_kib);
            ASSERT_EQ_INT(c->ops[0].dst[0].near_kib, 0);
        }
        dlb_brick_decoded_free(d);
        free(m);
    }
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++) ASSERT(ids[a] != ids[b]);
}

/* Warm weights (dlb_op_spec.warm) and weights at a reuse distance (--weights distance: cold,
 * cold_mib on each weight operand) travel with the brick and mark every weight in the key, so
 * the id; an op without them decodes without them. */
static void test_weight_cache_state(void) {
    dlb_operand x = {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {1, 8}}};
    dlb_operand w[2] = {{.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {4, 8}}},
                        {.dtype = DLB_DT_F32, .shape = {.rank = 1, .dims = {4}}}};
    dlb_operand y = {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {1, 4}}};
    dlb_op_spec s = {.op = DLB_LOP_INNER_PRODUCT,
                     .n_src = 1,
                     .n_wei = 2,
                     .n_dst = 1,
                     .src = &x,
                     .wei = w,
                     .dst = &y,
                     .p = {.has_bias = true, .trans_b = true}};
    uint64_t ids[3];
    for (int v = 0; v < 3; v++) { /* from memory, warm, 32 MiB away */
        s.warm = v == 1;
        for (int i = 0; i < 2; i++) {
            w[i].cold = v == 2;
            w[i].cold_mib = v == 2 ? 32 : 0;
        }
        char key[512];
        int n = dlb_op_spec_key(&s, key, sizeof key), warm = 0, far = 0;
        for (const char *p = key; (p = strstr(p, ":warm")) != NULL; p++) warm++;
        for (const char *p = key; (p = strstr(p, ":cold=32M")) != NULL; p++) far++;
        ASSERT_EQ_INT(warm, v == 1 ? 2 : 0);
        ASSERT_EQ_INT(far, v == 2 ? 2 : 0);
        ASSERT(v == 2 || !strstr(key, ":cold"));
        dlb_brick b = {
            .id = dlb_brick_id_of_key(key, (size_t)n), .key = key, .n_ops = 1, .ops = &s};
        ids[v] = b.id;
        void *m = NULL;
        size_t len = 0;
        dlb_brick_decoded *d = NULL;
        ASSERT_EQ_INT(dlb_brick_encode(&b, &m, &len), DLB_OK);
        ASSERT_EQ_INT(dlb_brick_decode(m, len, &d), DLB_OK);
        if (d) {
            const dlb_op_spec *c = &dlb_brick_decoded_brick(d)->ops[0];
            ASSERT_EQ_INT(c->warm, s.warm);
            for (int i = 0; i < 2; i++) {
                ASSERT_EQ_INT(c->wei[i].cold, w[i].cold);
                ASSERT_EQ_INT(c->wei[i].cold_mib, w[i].cold_mib);
            }
        }
        dlb_brick_decoded_free(d);
        free(m);
    }
    ASSERT(ids[0] != ids[1] && ids[0] != ids[2] && ids[1] != ids[2]);
}

int main(int argc, char **argv) {
    const char *src = argc > 1 ? argv[1] : ".";
    static const char *models[] = {"zoo/tiny/tiny_resnet.onnx", "zoo/tiny/tiny_mobilenetv3.onnx",
                                   "zoo/tiny/tiny_transformer.onnx",
                                   "zoo/tiny/tiny_efficientnet.onnx",
                                   "tests/data/models/fusion/03_conv_add_relu_proj.onnx"};
    int total = 0, built = 0, n_plain = 0;
    for (int G = 1; G <= 3; G += 2) {
        dlb_registry *r = dlb_registry_new(G);
        for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", src, models[i]);
            add_model(r, path);
        }
        for (int i = 0; i < dlb_registry_n_bricks(r); i++) {
            const dlb_brick *b = dlb_registry_brick(r, i);
            round_trip(b, &built);
            n_plain += strstr(b->key, ":plain") != NULL;
        }
        total += dlb_registry_n_bricks(r);
        dlb_registry_free(r);
    }
    ASSERT(total > 40);
    ASSERT(n_plain > 0); /* tiny_transformer's softmax, transposes, ... */
    test_layout_class();
    test_weight_cache_state();
    printf("spec codec: %d bricks round-tripped, %d built from decoded specs\n", total, built);
    return test_summary("test_spec_codec");
}
