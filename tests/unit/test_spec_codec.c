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

int main(int argc, char **argv) {
    const char *src = argc > 1 ? argv[1] : ".";
    static const char *models[] = {"zoo/tiny/tiny_resnet.onnx", "zoo/tiny/tiny_mobilenetv3.onnx",
                                   "zoo/tiny/tiny_transformer.onnx",
                                   "zoo/tiny/tiny_efficientnet.onnx",
                                   "tests/data/models/fusion/03_conv_add_relu_proj.onnx"};
    int total = 0, built = 0;
    for (int G = 1; G <= 3; G += 2) {
        dlb_registry *r = dlb_registry_new(G);
        for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", src, models[i]);
            add_model(r, path);
        }
        for (int i = 0; i < dlb_registry_n_bricks(r); i++)
            round_trip(dlb_registry_brick(r, i), &built);
        total += dlb_registry_n_bricks(r);
        dlb_registry_free(r);
    }
    ASSERT(total > 40);
    printf("spec codec: %d bricks round-tripped, %d built from decoded specs\n", total, built);
    return test_summary("test_spec_codec");
}
