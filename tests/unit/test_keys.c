/* test_keys.c — brick keys: every cost attribute changes the id; G partitioning; zoo dedup. */
#include <stdint.h>

#include "dlbricks/brick.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "lowered_model.h"
#include "test_util.h"

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

/* Key of brick b without its cache-state marks (":cold", ":cold=NM"). */
static void without_cold(const char *key, char *out, size_t size) {
    size_t n = 0;
    for (const char *p = key; *p && n + 1 < size;)
        if (!strncmp(p, ":cold", 5)) { /* and its distance, "=NM" */
            p += 5;
            if (*p == '=')
                for (p++; *p && *p != ' ' && *p != ':';) p++;
        } else
            out[n++] = *p++;
    out[n] = 0;
}

/* Cross-model dedup on the real zoo: resnet34 adds nothing after resnet18 but layers whose
 * inputs are cold in one and warm in the other (a residual around a longer stretch), vgg16_bn
 * nothing after vgg16 (BN folded by the exporter), and both keep all their layers. */
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
    ASSERT(dlb_registry_model(r, 1)->new_bricks <= 2);
    for (int i = 0; i < dlb_registry_n_bricks(r); i++) {
        const dlb_brick *b = dlb_registry_brick(r, i);
        if (b->first_model != 1) continue;
        char k1[4096], k0[4096];
        without_cold(b->key, k1, sizeof k1);
        bool twin = false;
        for (int j = 0; j < dlb_registry_n_bricks(r) && !twin; j++) {
            const dlb_brick *a = dlb_registry_brick(r, j);
            without_cold(a->key, k0, sizeof k0);
            twin = a->first_model == 0 && !strcmp(k0, k1);
        }
        if (!twin) fprintf(stderr, "resnet34 brick not in resnet18: %s\n", b->key);
        ASSERT(twin);
    }
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

/* ---- layout classes of brick inputs (docs/bricks.md, section 3) ---------------------------- */

/* First covered layer of op kind `op` (and algorithm `alg` unless NONE), or NULL. */
static const dlb_layer *first_layer(const dlb_lowered *l, dlb_lop op, dlb_alg alg) {
    for (int i = 0; i < l->n_layers; i++) {
        const dlb_layer *L = &l->layers[i];
        if (L->covered && L->spec.op == op && (alg == DLB_ALG_NONE || L->spec.alg == alg)) return L;
    }
    return NULL;
}

/* A transformer's softmax reads a matmul's output (plain in the whole model): its brick input is
 * plain and the key says so, so it is not deduplicated with a softmax after a convolution. */
static void test_layout_transformer(void) {
    lowered_model m;
    if (!lower_file("zoo/tiny/tiny_transformer.onnx", &m)) return;
    const dlb_layer *sm = first_layer(m.l, DLB_LOP_SOFTMAX, DLB_ALG_NONE);
    ASSERT(sm != NULL);
    if (sm) {
        char key[1024];
        ASSERT(sm->spec.src[0].plain_layout);
        dlb_op_spec_key(&sm->spec, key, sizeof key);
        /* tiny_transformer touches under DLB_COLD_DISTANCE per inference: "warm" */
        ASSERT_STREQ(key, "softmax:softmax src=f32:1x4x16x16:plain dst=f32:1x4x16x16 axis=3 warm");
        /* The same op fed by a convolution (natural layout) is another brick. */
        dlb_op_spec natural = sm->spec;
        dlb_operand src = sm->spec.src[0];
        src.plain_layout = false;
        natural.src = &src;
        char key2[1024];
        uint64_t a = id_of(&sm->spec, key, sizeof key), b = id_of(&natural, key2, sizeof key2);
        ASSERT(a != b);
        ASSERT_STREQ(key2, "softmax:softmax src=f32:1x4x16x16 dst=f32:1x4x16x16 axis=3 warm");
    }
    /* Layer norms never print the class (they read plain data either way); a matmul prints
     * it exactly for its plain 4-D f32 sources (a natural one would be reordered in the run). */
    int plain_matmul_srcs = 0;
    for (int i = 0; i < m.l->n_layers; i++) {
        const dlb_layer *L = &m.l->layers[i];
        char key[2048];
        dlb_op_spec_key(&L->spec, key, sizeof key);
        if (L->spec.op == DLB_LOP_LNORM) ASSERT(strstr(key, ":plain") == NULL);
        if (L->spec.op != DLB_LOP_MATMUL) continue;
        int want = 0, got = 0;
        for (int k = 0; k < L->spec.n_src; k++)
            want += L->spec.src[k].plain_layout && L->spec.src[k].shape.rank == 4;
        for (const char *p = key; (p = strstr(p, ":plain")) != NULL; p++) got++;
        ASSERT_EQ_INT(got, want);
        plain_matmul_srcs += got;
    }
    ASSERT(plain_matmul_srcs > 0); /* attention: batched matmuls of reshaped heads */
    free_lowered(&m);
}

/* In a CNN, what follows a convolution (max pool, residual sum) is natural, with the key format
 * of docs/bricks.md unchanged; the first convolution reads the graph input, which is plain:
 * its key shows the class (the reorder to the layout it picks runs inside the brick). */
static void test_layout_cnn(void) {
    lowered_model m;
    if (!lower_file("zoo/resnet18.onnx", &m)) return;
    const dlb_layer *conv = &m.l->layers[0],
                    *pool = first_layer(m.l, DLB_LOP_POOL, DLB_ALG_POOL_MAX);
    char key[2048];
    ASSERT_EQ_INT(conv->spec.op, DLB_LOP_CONV);
    ASSERT(conv->spec.src[0].plain_layout);
    dlb_op_spec_key(&conv->spec, key, sizeof key);
    ASSERT(conv->spec.src[0].cold); /* the graph input: read one inference ago */
    ASSERT_STREQ(key, "conv src=f32:1x3x224x224:plain:cold wei=f32:64x3x7x7 wei=f32:64 "
                      "dst=f32:1x64x112x112 k=7x7 s=2x2 d=1x1 pb=3x3 pe=3x3 g=1 bias=1 "
                      "post=eltwise:relu");
    ASSERT(pool != NULL);
    if (pool) {
        ASSERT(!pool->spec.src[0].plain_layout);
        ASSERT(!pool->spec.src[0].cold); /* the conv before it touched < 4 MiB */
        dlb_op_spec_key(&pool->spec, key, sizeof key);
        ASSERT_STREQ(key, "pool:max src=f32:1x64x112x112 dst=f32:1x64x56x56 k=3x3 s=2x2 d=1x1 "
                          "pb=1x1 pe=1x1 ceil=0");
    }
    int sums = 0;
    for (int i = 0; i < m.l->n_layers; i++) {
        const dlb_op_spec *s = &m.l->layers[i].spec;
        for (int k = 0; k < s->n_post; k++)
            if (s->post[k].kind == DLB_POST_SUM) {
                ASSERT(!s->post[k].operand.plain_layout); /* a pool's or a conv's output */
                sums++;
            }
        if (i > 0 && s->op == DLB_LOP_CONV) ASSERT(!s->src[0].plain_layout);
    }
    ASSERT_EQ_INT(sums, 8);
    /* Flatten of the global pool's output (natural layout) before the classifier: a view */
    const dlb_layer *fc = first_layer(m.l, DLB_LOP_INNER_PRODUCT, DLB_ALG_NONE);
    ASSERT(fc != NULL);
    if (fc) {
        dlb_op_spec_key(&fc->spec, key, sizeof key);
        ASSERT_CONTAINS(key, "inner_product src=f32:1x512:view=1x512x1x1 wei=");
    }
    free_lowered(&m);
    /* A view that changes the dims hands its source over plain: ShuffleNet's channel shuffle
     * (Reshape -> Transpose).  Of a concat of two convolutions (the first unit of each stage)
     * the view records its natural source; of a concat of a split half (plain) and a
     * convolution (the other units) it records it as mixed (:mixed), as oneDNN's layout for
     * that concat depends on the CPU (the brick picks it there). */
    if (!lower_file("zoo/shufflenet_v2_x0_5.onnx", &m)) return;
    const dlb_layer *tr = first_layer(m.l, DLB_LOP_TRANSPOSE, DLB_ALG_NONE);
    ASSERT(tr != NULL);
    if (tr) {
        ASSERT_EQ_INT(tr->spec.src[0].shape.rank, 5);
        ASSERT(tr->spec.src[0].plain_layout);
        dlb_op_spec_key(&tr->spec, key, sizeof key);
        ASSERT_CONTAINS(key, "transpose src=f32:1x2x24x28x28:plain:view=1x48x28x28 dst=");
    }
    int views = 0, mixed_views = 0, plain_views = 0;
    for (int j = 0; j < m.l->n_layers; j++) {
        const dlb_layer *L = &m.l->layers[j];
        if (!L->covered || L->spec.op != DLB_LOP_TRANSPOSE) continue;
        ASSERT(L->spec.src[0].plain_layout);
        const dlb_operand *o = &L->spec.src[0];
        *(o->view_of.rank != 4 ? &plain_views : o->view_mixed ? &mixed_views : &views) += 1;
        dlb_op_spec_key(&L->spec, key, sizeof key);
        ASSERT((strstr(key, ":mixed") != NULL) == o->view_mixed);
    }
    ASSERT_EQ_INT(views, 3);
    ASSERT_EQ_INT(mixed_views, 13);
    ASSERT_EQ_INT(plain_views, 0);
    free_lowered(&m);
    /* The same through a ReLU of such a concat (its layout follows the concat's) */
    if (!lower_file("tests/data/models/fusion/14_channel_shuffle_torch.onnx", &m)) return;
    int seen = 0;
    for (int j = 0; j < m.l->n_layers; j++) {
        const dlb_layer *L = &m.l->layers[j];
        if (!L->covered || L->spec.op != DLB_LOP_TRANSPOSE) continue;
        dlb_op_spec_key(&L->spec, key, sizeof key);
        ASSERT_CONTAINS(key, seen == 0 ? "src=f32:1x2x8x16x16:plain:view=1x16x16x16 dst="
                                       : "src=f32:1x2x8x16x16:plain dst=");
        seen++;
    }
    ASSERT_EQ_INT(seen, 2);
    const dlb_layer *cat = first_layer(m.l, DLB_LOP_CONCAT, DLB_ALG_NONE);
    ASSERT(cat != NULL);
    if (cat) ASSERT(!cat->spec.src[0].plain_layout); /* a convolution's output */
    free_lowered(&m);
}

/* RegNet-Y: what reads a grouped convolution's output (several channels per group) has the
 * class grouped G, shown as :gG in the key where the class shows; what reads a dense or
 * depthwise convolution's output does not (MobileNet-V2). */
static void test_layout_grouped(void) {
    const char *files[2] = {"zoo/regnet_y_400mf.onnx", "zoo/mobilenet_v2.onnx"};
    for (int f = 0; f < 2; f++) {
        lowered_model m;
        if (!lower_file(files[f], &m)) return;
        int grouped = 0;
        for (int j = 0; j < m.l->n_layers; j++) {
            const dlb_layer *L = &m.l->layers[j];
            if (!L->covered) continue;
            char key[4096];
            dlb_op_spec_key(&L->spec, key, sizeof key);
            for (int i = 0; i < L->spec.n_src; i++) {
                int p = producer_of(m.l, L->src_tensors[i]);
                if (p < 0 || m.l->layers[p].spec.op != DLB_LOP_CONV) continue;
                const dlb_op_spec *c = &m.l->layers[p].spec;
                int64_t g = c->p.group, ic = c->src[0].shape.dims[1];
                int want = g > 1 && g != ic ? (int)g : 0;
                ASSERT_EQ_INT(L->spec.src[i].layout_groups, want);
                if (want) {
                    char mark[32];
                    snprintf(mark, sizeof mark, ":g%d", want);
                    ASSERT_CONTAINS(key, mark);
                    grouped++;
                }
            }
        }
        if (f == 0) ASSERT(grouped >= 10); /* 16 blocks, each a grouped conv read by a pool */
        if (f == 1) ASSERT_EQ_INT(grouped, 0);
        free_lowered(&m);
    }
}

/* G > 1: the class belongs to the brick's external inputs only.  Operands fed from inside the
 * piece carry none, in the stored specs and in the key (each op's key, as stored, is part of
 * the piece key). */
static void test_layout_pieces(void) {
    const char *f[] = {"zoo/tiny/tiny_transformer.onnx", "zoo/tiny/tiny_resnet.onnx"};
    dlb_registry *r = registry_of(f, 2, 3, true);
    int internal = 0, plain_ext = 0;
    for (int i = 0; i < dlb_registry_n_bricks(r); i++) {
        const dlb_brick *b = dlb_registry_brick(r, i);
        for (int e = 0; e < b->n_edges; e++) {
            const dlb_brick_edge *ed = &b->edges[e];
            const dlb_op_spec *s = &b->ops[ed->to_op];
            const dlb_operand *o = ed->to_src < s->n_src ? &s->src[ed->to_src]
                                                         : &s->post[ed->to_src - s->n_src].operand;
            if (ed->from_op >= 0) {
                ASSERT(!o->plain_layout && !o->cold && o->layout_groups == 0);
                internal++;
            } else {
                plain_ext += o->plain_layout;
            }
        }
        for (int j = 0; b->n_ops > 1 && j < b->n_ops; j++) {
            char key[4096], part[4100];
            dlb_op_spec_key(&b->ops[j], key, sizeof key);
            snprintf(part, sizeof part, "[%s]", key);
            ASSERT_CONTAINS(b->key, part);
        }
    }
    ASSERT(internal > 0 && plain_ext > 0);
    dlb_registry_free(r);
    /* tiny_transformer's softmax inside a piece (after the binary that scales the scores):
     * its key shows no class; where it starts a piece, its input is external and plain. */
    int inside = 0, first = 0;
    for (int G = 2; G <= 5; G++) {
        r = registry_of(f, 1, G, true);
        for (int i = 0; i < dlb_registry_n_bricks(r); i++) {
            const dlb_brick *b = dlb_registry_brick(r, i);
            if (strstr(b->key, "[softmax:softmax src=f32:1x4x16x16 dst=")) inside++;
            if (!strncmp(b->key, "[softmax:softmax src=f32:1x4x16x16:plain dst=", 45)) first++;
        }
        dlb_registry_free(r);
    }
    ASSERT(inside > 0 && first > 0);
}

int main(int argc, char **argv) {
    src_dir = argc > 1 ? argv[1] : ".";
    test_layout_grouped();
    test_layout_transformer();
    test_layout_cnn();
    test_layout_pieces();
    test_each_attribute_changes_id();
    test_partition_projection();
    test_partition_bounds();
    test_zoo_dedup();
    return test_summary("test_keys");
}
