/* test_keys.c — brick keys: every cost attribute changes the id; G partitioning; zoo dedup. */
#include <stdint.h>

#include "dlbricks/brick.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "test_util.h"

static const char *src_dir;

static dlb_operand opnd(dlb_dtype dt, int rank, const int64_t *dims) {
    dlb_operand o = {.dtype = dt, .shape = {.rank = rank}};
    for (int i = 0; i < rank; i++) o.shape.dims[i] = dims[i];
    return o;
}

typedef struct conv_case {
    dlb_operand src[1], wei[2], dst[1];
    dlb_op_spec s;
} conv_case;

static void base_conv(conv_case *c) {
    static const int64_t x[] = {1, 64, 56, 56}, w[] = {64, 64, 3, 3}, b[] = {64};
    memset(c, 0, sizeof *c);
    c->src[0] = opnd(DLB_DT_F32, 4, x);
    c->wei[0] = opnd(DLB_DT_F32, 4, w);
    c->wei[1] = opnd(DLB_DT_F32, 1, b);
    c->dst[0] = opnd(DLB_DT_F32, 4, x);
    c->s = (dlb_op_spec){.op = DLB_LOP_CONV, .n_src = 1, .n_wei = 2, .n_dst = 1};
    c->s.src = c->src;
    c->s.wei = c->wei;
    c->s.dst = c->dst;
    dlb_params *p = &c->s.p;
    p->nsp = 2;
    p->group = 1;
    p->has_bias = true;
    for (int i = 0; i < 2; i++) {
        p->kernel[i] = 3;
        p->stride[i] = 1;
        p->dilation[i] = 1;
        p->pad_begin[i] = 1;
        p->pad_end[i] = 1;
    }
}

static uint64_t id_of(const dlb_op_spec *s, char *key, int size) {
    int n = dlb_op_spec_key(s, key, size);
    return dlb_brick_id_of_key(key, (size_t)n);
}

/* Each variant changes exactly one cost attribute of the base conv. */
static void test_each_attribute_changes_id(void) {
    enum { N_VARIANTS = 16 };
    uint64_t ids[N_VARIANTS + 1];
    char key[1024], base_key[1024];
    conv_case c;
    base_conv(&c);
    ids[0] = id_of(&c.s, base_key, sizeof base_key);
    for (int v = 1; v <= N_VARIANTS; v++) {
        base_conv(&c);
        dlb_params *p = &c.s.p;
        switch (v) {
        case 1:
            p->kernel[1] = 5;
            break;
        case 2:
            p->stride[0] = 2;
            break;
        case 3:
            p->pad_begin[0] = 0;
            break;
        case 4:
            p->pad_end[1] = 2;
            break; /* asymmetric pads */
        case 5:
            p->dilation[0] = 2;
            break;
        case 6:
            p->group = 64;
            break;
        case 7:
            p->has_bias = false;
            break;
        case 8:
            c.src[0].dtype = DLB_DT_BF16;
            break;
        case 9:
            c.src[0].shape.dims[0] = 2;
            break; /* batch */
        case 10:
            c.dst[0].shape.dims[1] = 128;
            break;
        case 11:
            c.wei[0].shape.dims[1] = 32;
            break;
        case 12:
            c.s.n_post = 1;
            c.s.post[0] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_RELU};
            break;
        case 13:
            c.s.n_post = 1;
            c.s.post[0] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_SWISH, .alpha = 1};
            break;
        case 14:
            c.s.n_post = 1;
            c.s.post[0] =
                (dlb_postop){.kind = DLB_POST_SUM, .alg = DLB_ALG_ADD, .operand = c.dst[0]};
            break;
        case 15:
            c.s.n_post = 1;
            c.s.post[0] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_CLIP, .beta = 6};
            break;
        case 16:
            c.s.op = DLB_LOP_DECONV;
            break;
        }
        ids[v] = id_of(&c.s, key, sizeof key);
        if (ids[v] == ids[0]) fprintf(stderr, "variant %d kept the key: %s\n", v, key);
    }
    for (int a = 0; a <= N_VARIANTS; a++)
        for (int b = a + 1; b <= N_VARIANTS; b++) ASSERT(ids[a] != ids[b]);
    /* The same spec always gives the same key and id. */
    base_conv(&c);
    ASSERT(id_of(&c.s, key, sizeof key) == ids[0]);
    ASSERT_STREQ(key, base_key);
    ASSERT_CONTAINS(key, "conv src=f32:1x64x56x56 wei=f32:64x64x3x3");
    ASSERT_CONTAINS(key, "k=3x3 s=1x1 d=1x1 pb=1x1 pe=1x1 g=1 bias=1");
}

static dlb_registry *registry_of(const char *const *files, int n, int G, bool fuse) {
    dlb_registry *r = dlb_registry_new(G);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", src_dir, files[i]);
        test_diag_buf buf = {0};
        dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = &buf};
        dlb_graph *g = NULL;
        dlb_lowered *l = NULL;
        dlb_lower_options o = {.fuse = fuse};
        if (dlb_graph_load(path, &d, &g) != DLB_OK || (dlb_graph_apply_batch(g, 0), false) ||
            dlb_graph_infer_shapes(g, &d) != DLB_OK || dlb_lower(g, &o, &d, &l) != DLB_OK ||
            dlb_registry_add(r, l, 1) != DLB_OK) {
            fprintf(stderr, "pipeline failed for %s:\n%s", path, buf.text);
            test_failures++;
        }
        dlb_lowered_free(l);
        dlb_graph_free(g);
    }
    return r;
}

/* G = 3 on a projection shortcut: the shortcut conv does not feed conv_a, so it stands alone;
 * conv_a -> conv_b (with the sum) form one piece. */
static void test_partition_projection(void) {
    const char *f[] = {"tests/data/models/fusion/03_conv_add_relu_proj.onnx"};
    dlb_registry *r = registry_of(f, 1, 3, true);
    ASSERT_EQ_INT(dlb_registry_n_bricks(r), 2);
    const dlb_model_entry *m = dlb_registry_model(r, 0);
    if (!m || m->n_layers != 3) {
        test_failures++;
        dlb_registry_free(r);
        return;
    }
    ASSERT_EQ_INT(m->n_layers, 3);
    ASSERT(m->layers[0].brick != m->layers[1].brick);
    ASSERT_EQ_INT(m->layers[1].brick, m->layers[2].brick);
    const dlb_brick *b = dlb_registry_brick(r, m->layers[1].brick);
    ASSERT_EQ_INT(b->n_ops, 2);
    /* conv_b's source 0 is conv_a's output; its sum operand is external input e1. */
    ASSERT_CONTAINS(b->key, "1.0<0.0");
    ASSERT_CONTAINS(b->key, "1.1<e1");
    dlb_registry_free(r);
}

/* Pieces never exceed G layers, cover every layer once, and larger G never gives more
 * pieces per model. */
static void test_partition_bounds(void) {
    const char *f[] = {"zoo/tiny/tiny_resnet.onnx", "zoo/tiny/tiny_mobilenetv3.onnx",
                       "zoo/tiny/tiny_transformer.onnx", "zoo/tiny/tiny_efficientnet.onnx"};
    int prev_uses = 1 << 30;
    for (int G = 1; G <= 5; G += 2) {
        dlb_registry *r = registry_of(f, 4, G, true);
        int64_t uses = 0;
        for (int i = 0; i < dlb_registry_n_bricks(r); i++) {
            const dlb_brick *b = dlb_registry_brick(r, i);
            ASSERT(b->n_ops >= 1 && b->n_ops <= G);
            uses += b->uses;
        }
        int64_t covered = 0;
        for (int m = 0; m < dlb_registry_n_models(r); m++)
            covered += dlb_registry_model(r, m)->n_covered;
        if (G == 1) ASSERT_EQ_INT(uses, covered); /* one brick use per covered layer */
        ASSERT(uses <= prev_uses);
        prev_uses = (int)uses;
        dlb_registry_free(r);
    }
}

/* Cross-model dedup on the real zoo: resnet34 adds nothing after resnet18, vgg16_bn nothing
 * after vgg16 (BN folded by the exporter), and both keep all their layers. */
static void test_zoo_dedup(void) {
    const char *f[] = {"zoo/resnet18.onnx", "zoo/resnet34.onnx", "zoo/vgg16.onnx",
                       "zoo/vgg16_bn.onnx"};
    dlb_registry *r = registry_of(f, 4, 1, true);
    ASSERT_EQ_INT(dlb_registry_n_models(r), 4);
    if (dlb_registry_n_models(r) != 4) { /* zoo files missing: already reported */
        dlb_registry_free(r);
        return;
    }
    ASSERT(dlb_registry_model(r, 0)->new_bricks > 0);
    ASSERT_EQ_INT(dlb_registry_model(r, 1)->new_bricks, 0);
    ASSERT_EQ_INT(dlb_registry_model(r, 3)->new_bricks, 0);
    ASSERT(dlb_registry_model(r, 1)->n_layers > dlb_registry_model(r, 0)->n_layers);
    dlb_registry_stats s;
    dlb_registry_get_stats(r, &s);
    ASSERT_EQ_INT(s.unique, dlb_registry_n_bricks(r));
    ASSERT(s.shared > 0 && s.layers_shared > 0);
    ASSERT(s.flops_unique < s.flops);
    dlb_registry_free(r);
    /* The raw view has more layers than the fused one and no fewer unique bricks. */
    dlb_registry *raw = registry_of(f, 2, 1, false), *fused = registry_of(f, 2, 1, true);
    dlb_registry_stats a, b;
    dlb_registry_get_stats(raw, &a);
    dlb_registry_get_stats(fused, &b);
    ASSERT(a.layers > b.layers);
    dlb_registry_free(raw);
    dlb_registry_free(fused);
}

int main(int argc, char **argv) {
    src_dir = argc > 1 ? argv[1] : ".";
    test_each_attribute_changes_id();
    test_partition_projection();
    test_partition_bounds();
    test_zoo_dedup();
    return test_summary("test_keys");
}
