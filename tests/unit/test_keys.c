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

typedef struct lowered_model {
    dlb_graph *g;
    dlb_lowered *l;
} lowered_model;

static bool lower_file_with(const char *rel, lowered_model *m, const dlb_lower_options *o,
                            int64_t batch) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src_dir, rel);
    test_diag_buf buf = {0};
    dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = &buf};
    memset(m, 0, sizeof *m);
    if (dlb_graph_load(path, &d, &m->g) != DLB_OK || (dlb_graph_apply_batch(m->g, batch), false) ||
        dlb_graph_infer_shapes(m->g, &d) != DLB_OK || dlb_lower(m->g, o, &d, &m->l) != DLB_OK) {
        fprintf(stderr, "pipeline failed for %s:\n%s", path, buf.text);
        test_failures++;
        dlb_lowered_free(m->l);
        dlb_graph_free(m->g);
        return false;
    }
    return true;
}

static bool lower_file_opts(const char *rel, lowered_model *m, bool cold_distance) {
    dlb_lower_options o = {.fuse = true, .cold_distance = cold_distance};
    return lower_file_with(rel, m, &o, 0);
}

static bool lower_file(const char *rel, lowered_model *m) {
    return lower_file_opts(rel, m, false);
}

static void free_lowered(lowered_model *m) {
    dlb_lowered_free(m->l);
    dlb_graph_free(m->g);
}

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
     * convolution (the other units) it does not, as oneDNN's layout for that concat depends on
     * the CPU. */
    if (!lower_file("zoo/shufflenet_v2_x0_5.onnx", &m)) return;
    const dlb_layer *tr = first_layer(m.l, DLB_LOP_TRANSPOSE, DLB_ALG_NONE);
    ASSERT(tr != NULL);
    if (tr) {
        ASSERT_EQ_INT(tr->spec.src[0].shape.rank, 5);
        ASSERT(tr->spec.src[0].plain_layout);
        dlb_op_spec_key(&tr->spec, key, sizeof key);
        ASSERT_CONTAINS(key, "transpose src=f32:1x2x24x28x28:plain:view=1x48x28x28 dst=");
    }
    int views = 0, plain_views = 0;
    for (int j = 0; j < m.l->n_layers; j++) {
        const dlb_layer *L = &m.l->layers[j];
        if (!L->covered || L->spec.op != DLB_LOP_TRANSPOSE) continue;
        ASSERT(L->spec.src[0].plain_layout);
        *(L->spec.src[0].view_of.rank == 4 ? &views : &plain_views) += 1;
    }
    ASSERT_EQ_INT(views, 3);
    ASSERT_EQ_INT(plain_views, 13);
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

/* Index of the covered layer writing tensor t (through views), or -1. */
static int producer_of(const dlb_lowered *l, int t) {
    for (int i = 0; i < l->n_layers; i++)
        for (int o = 0; l->layers[i].covered && o < l->layers[i].spec.n_dst; o++)
            if (l->layers[i].dst_tensors[o] == t) return i;
    return -1;
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

/* A batch normalisation whose source is not plain: the executor's JIT kernel writes its output
 * with non-temporal stores (f32). */
static bool is_streamed_bnorm(const dlb_layer *P) {
    return P->covered && P->spec.op == DLB_LOP_BNORM && P->spec.n_src >= 1 &&
           !P->spec.src[0].plain_layout;
}

/* DenseNet-121 lowered with or without reuse distances (dlb_lower_options.cold_distance). */
static void cold_inputs_of_densenet(bool dist) {
    lowered_model m;
    if (!lower_file_opts("zoo/densenet121.onnx", &m, dist)) return;
    int cold_cat = 0, warm_cat = 0, adjacent[2] = {0, 0}, buckets = 0;
    for (int j = 0; j < m.l->n_layers; j++) {
        const dlb_layer *L = &m.l->layers[j];
        if (!L->covered) continue;
        char key[16384];
        dlb_op_spec_key(&L->spec, key, sizeof key);
        int marks = 0, cold = 0;
        for (const char *p = key; (p = strstr(p, ":cold")) != NULL; p++) marks++;
        for (int i = 0; i < L->spec.n_src; i++) {
            cold += L->spec.src[i].cold;
            if (producer_of(m.l, L->src_tensors[i]) == j - 1 && j > 0) {
                const dlb_layer *P = &m.l->layers[j - 1];
                bool big = P->bytes >= DLB_COLD_DISTANCE;
                if (is_streamed_bnorm(P)) continue; /* test_streamed_outputs */
                ASSERT_EQ_INT(L->spec.src[i].cold, big);
                /* its reuse distance: that layer's bytes, bucketed (only when asked for) */
                ASSERT_EQ_INT(L->spec.src[i].cold_mib,
                              big && dist ? dlb_cold_bucket_mib(P->bytes) : 0);
                adjacent[big]++;
            }
            if (L->spec.op == DLB_LOP_CONCAT) {
                cold_cat += L->spec.src[i].cold;
                warm_cat += !L->spec.src[i].cold;
            }
        }
        for (int k = 0; k < L->spec.n_post; k++) cold += L->spec.post[k].operand.cold;
        ASSERT_EQ_INT(marks, cold);
        /* ":cold=NM" on exactly the cold sources with a bucket, with that bucket */
        for (int i = 0; i < L->spec.n_src; i++) {
            char want[32];
            snprintf(want, sizeof want, ":cold=%dM", (int)L->spec.src[i].cold_mib);
            if (L->spec.src[i].cold_mib > 0) ASSERT(strstr(key, want) != NULL);
            ASSERT(L->spec.src[i].cold_mib == 0 || L->spec.src[i].cold);
            buckets += L->spec.src[i].cold_mib > 0;
        }
        if (!dist) ASSERT(strstr(key, ":cold=") == NULL);
    }
    ASSERT(adjacent[0] > 100 && adjacent[1] > 0 && cold_cat > 100 && warm_cat > 50);
    ASSERT(dist ? buckets > 100 : buckets == 0);
    ASSERT(m.l->layers[0].spec.src[0].cold);
    ASSERT_EQ_INT(m.l->layers[0].spec.src[0].cold_mib, 0); /* new data: from memory */
    free_lowered(&m);
}

/* Outputs written past the caches (dlb_lower_options.bnorm_cached_output): in DenseNet-121
 * every pre-activation batch normalisation (blocked layout) streams its output to memory, so the
 * convolution reading it is cold, from memory (no bucket), under either input rule, whatever its
 * distance (a later reader: test_streamed_second_reader).  With bnorm_cached_output (bf16, int8)
 * the same inputs follow the distance rule again, and with it the key of every such reader changes
 * and nothing else does.  The batch normalisations' own outputs are streamed (":nt": the brick
 * dirties and ages them, dlb_net_age_streamed_outputs) exactly then. */
static void test_streamed_outputs(void) {
    for (int dist = 0; dist <= 1; dist++) {
        lowered_model a, b;
        dlb_lower_options oa = {.fuse = true, .cold_distance = dist};
        dlb_lower_options ob = {.fuse = true, .cold_distance = dist, .bnorm_cached_output = true};
        if (!lower_file_with("zoo/densenet121.onnx", &a, &oa, 0)) return;
        if (!lower_file_with("zoo/densenet121.onnx", &b, &ob, 0)) {
            free_lowered(&a);
            return;
        }
        ASSERT_EQ_INT(a.l->n_layers, b.l->n_layers);
        int readers = 0, near = 0, changed = 0, streamed = 0;
        for (int j = 1; j < a.l->n_layers && a.l->n_layers == b.l->n_layers; j++) {
            const dlb_layer *L = &a.l->layers[j], *M = &b.l->layers[j];
            bool reads_stream = false, streams = L->covered && is_streamed_bnorm(L);
            for (int o = 0; L->covered && o < L->spec.n_dst; o++) {
                ASSERT_EQ_INT(L->spec.dst[o].streamed, streams);
                ASSERT(!M->spec.dst[o].streamed);
            }
            streamed += streams;
            for (int i = 0; i < L->spec.n_src; i++) {
                int p = producer_of(a.l, L->src_tensors[i]);
                if (p < 0 || !is_streamed_bnorm(&a.l->layers[p])) continue;
                /* only the first reader finds it in memory; DenseNet's bnorm has one reader */
                reads_stream = true;
                readers++;
                ASSERT(L->spec.src[i].cold);
                ASSERT_EQ_INT(L->spec.src[i].cold_mib, 0);
                /* cached: cold only beyond DLB_COLD_DISTANCE (the bnorm's own traffic) */
                bool big = a.l->layers[p].bytes >= DLB_COLD_DISTANCE;
                ASSERT_EQ_INT(M->spec.src[i].cold, big);
                near += !big;
            }
            char ka[16384], kb[16384];
            dlb_op_spec_key(&L->spec, ka, sizeof ka);
            dlb_op_spec_key(&M->spec, kb, sizeof kb);
            bool differ = strcmp(ka, kb) != 0;
            changed += differ && !streams;
            ASSERT_EQ_INT(strstr(ka, ":nt") != NULL, streams);
            ASSERT(strstr(kb, ":nt") == NULL);
            if (!reads_stream) ASSERT_EQ_INT(differ, streams);
        }
        ASSERT_EQ_INT(readers, 62); /* norm1 of 58 dense layers, 3 transitions, norm5 */
        ASSERT_EQ_INT(streamed, 62);
        ASSERT(near > 30); /* the 28x28, 14x14 and 7x7 blocks */
        ASSERT(changed >= near && changed <= readers);
        free_lowered(&a);
        free_lowered(&b);
    }
}

/* A later reader is not affected: the first read brought the data into cache.  The model
 * (tests/data/gen_bn_two_readers.py) has a standalone bnorm after a concat of two convolutions,
 * read by two convolutions; it touches far less than DLB_COLD_DISTANCE, so only the stream makes
 * an input cold. */
static void test_streamed_second_reader(void) {
    for (int cached = 0; cached <= 1; cached++) {
        lowered_model m;
        dlb_lower_options o = {.fuse = true, .bnorm_cached_output = cached};
        if (!lower_file_with("tests/data/models/bn_two_readers.onnx", &m, &o, 0)) return;
        int bn = -1, readers = 0;
        for (int j = 0; j < m.l->n_layers; j++)
            if (m.l->layers[j].covered && m.l->layers[j].spec.op == DLB_LOP_BNORM) bn = j;
        ASSERT(bn >= 0 && is_streamed_bnorm(&m.l->layers[bn]));
        ASSERT_EQ_INT(bn >= 0 && m.l->layers[bn].spec.dst[0].streamed, !cached);
        for (int j = bn + 1; bn >= 0 && j < m.l->n_layers; j++) {
            const dlb_layer *L = &m.l->layers[j];
            for (int i = 0; i < L->spec.n_src; i++) {
                if (producer_of(m.l, L->src_tensors[i]) != bn) continue;
                bool first = readers++ == 0;
                ASSERT_EQ_INT(L->spec.src[i].cold, first && !cached);
                ASSERT_EQ_INT(L->spec.src[i].cold_mib, 0);
            }
        }
        ASSERT_EQ_INT(readers, 2);
        free_lowered(&m);
    }
}

/* Cache state: an input the previous layer wrote is cold exactly when that layer alone touched
 * DLB_COLD_DISTANCE bytes (DenseNet has both kinds); DenseNet's concats read some features
 * written many layers before (cold) and the newest ones (warm), and the key marks exactly the
 * cold inputs; a graph input is cold in a model that touches more than DLB_COLD_DISTANCE
 * bytes per inference and warm in one that touches less.  With --cold-inputs distance a cold
 * input also carries its distance, bucketed (":cold=NM"); a graph input is new data (from
 * memory, no bucket); without, no key has a bucket. */
static void test_cold_inputs(void) {
    cold_inputs_of_densenet(false);
    cold_inputs_of_densenet(true);
    lowered_model m;
    if (!lower_file("zoo/tiny/tiny_resnet.onnx", &m)) return;
    int64_t total = 0;
    for (int j = 0; j < m.l->n_layers; j++)
        total += m.l->layers[j].covered ? m.l->layers[j].bytes : 0;
    ASSERT(total < DLB_COLD_DISTANCE);
    for (int j = 0; j < m.l->n_layers; j++)
        for (int i = 0; m.l->layers[j].covered && i < m.l->layers[j].spec.n_src; i++)
            ASSERT(!m.l->layers[j].spec.src[i].cold);
    free_lowered(&m);
}

/* Reuse-distance buckets: the nearest power of two MiB on a log scale (the boundary between N
 * and 2N is N * sqrt 2), 0 from DLB_COLD_MEMORY_MIB up. */
static void test_cold_buckets(void) {
    const int64_t MiB = 1 << 20;
    ASSERT_EQ_INT(dlb_cold_bucket_mib(DLB_COLD_DISTANCE), 4);
    ASSERT_EQ_INT(dlb_cold_bucket_mib(5 * MiB + 600 * 1024), 4); /* 5.59 < 4 sqrt 2 = 5.657 */
    ASSERT_EQ_INT(dlb_cold_bucket_mib(5 * MiB + 700 * 1024), 8); /* 5.68 */
    ASSERT_EQ_INT(dlb_cold_bucket_mib(45 * MiB), 32);            /* 45 < 45.25 */
    ASSERT_EQ_INT(dlb_cold_bucket_mib(46 * MiB), 64);
    ASSERT_EQ_INT(dlb_cold_bucket_mib(180 * MiB), 128); /* 180 < 181.02 */
    ASSERT_EQ_INT(dlb_cold_bucket_mib(182 * MiB), 0);   /* memory */
    ASSERT_EQ_INT(dlb_cold_bucket_mib(INT64_MAX), 0);
}

/* An op last ran one inference ago: it is warm (weights not rotated, context not evicted;
 * ":warm" after every weight in the key, " warm" at the end of a weightless op's key) exactly
 * when the rest of the model touches less than DLB_COLD_DISTANCE bytes.  tiny_resnet's layers
 * are all warm; resnet18's (45 MB of weights) none. */
static void test_warm(void) {
    static const char *const files[] = {"zoo/tiny/tiny_resnet.onnx", "zoo/resnet18.onnx"};
    for (int f = 0; f < 2; f++) {
        lowered_model m;
        if (!lower_file(files[f], &m)) return;
        int64_t total = 0;
        for (int j = 0; j < m.l->n_layers; j++)
            total += m.l->layers[j].covered ? m.l->layers[j].bytes : 0;
        int warm = 0, covered = 0, weightless_warm = 0;
        for (int j = 0; j < m.l->n_layers; j++) {
            const dlb_layer *L = &m.l->layers[j];
            if (!L->covered) continue;
            char key[16384];
            dlb_op_spec_key(&L->spec, key, sizeof key);
            int marks = 0;
            for (const char *p = key; (p = strstr(p, ":warm")) != NULL; p++) marks++;
            bool want = total - L->bytes < DLB_COLD_DISTANCE;
            ASSERT_EQ_INT(L->spec.warm, want);
            ASSERT_EQ_INT(marks, want ? L->spec.n_wei : 0);
            /* weights carry no cache state but warm (docs/bricks.md, section 3) */
            for (const char *p = key; (p = strstr(p, " wei=")) != NULL; p++) {
                const char *end = strchr(p + 1, ' '), *c = strstr(p, ":cold");
                ASSERT(c == NULL || (end && c > end));
            }
            size_t len = strlen(key);
            bool tail = len >= 5 && !strcmp(key + len - 5, " warm");
            ASSERT_EQ_INT(tail, want && L->spec.n_wei == 0);
            warm += L->spec.warm;
            covered++;
            weightless_warm += L->spec.warm && L->spec.n_wei == 0;
        }
        ASSERT(covered > 0);
        ASSERT_EQ_INT(warm, f == 0 ? covered : 0);
        if (f == 0) ASSERT(weightless_warm > 0); /* tiny_resnet's pooling and adds */
        free_lowered(&m);
    }
}

static int64_t operand_bytes(const dlb_operand *o) {
    return dlb_shape_numel(&o->shape) * dlb_dtype_size(o->dtype);
}

/* A weight's reuse distance in bytes, for comparing buckets: bucket 0 is memory, the farthest. */
static int64_t bucket_order(int32_t mib) {
    return mib > 0 ? mib : INT64_MAX;
}

/* --weights distance (dlb_lower_options.weights_distance): the weights of an op that is not warm
 * carry their reuse distance, bucketed: one inference's bytes beside the op's own weights, every
 * other weight and every layer's output once.  It grows with the batch (batch 16 against 1).  The
 * key says ":cold=NM" after each such weight; bucket 0 (beyond DLB_COLD_MEMORY_MIB) says
 * nothing, so such a brick keeps the id it has without the option.  mobilenet_v3_small's weights
 * (10 MB) have a bucket; wide_resnet101_2's (500 MB over 100 layers) come from memory;
 * tiny_resnet is warm.  Without the option no weight has a distance. */
static void test_weights_distance(void) {
    static const struct {
        const char *file;
        int cold; /* weighted layers: 1 all with a bucket, 0 all from memory, -1 all warm */
    } cases[] = {{"zoo/mobilenet_v3_small.onnx", 1},
                 {"zoo/wide_resnet101_2.onnx", 0},
                 {"zoo/tiny/tiny_resnet.onnx", -1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        dlb_lower_options on = {.fuse = true, .weights_distance = true}, off = {.fuse = true};
        lowered_model m, d, b16;
        if (!lower_file_with(cases[c].file, &m, &on, 0)) return;
        if (!lower_file_with(cases[c].file, &d, &off, 0)) {
            free_lowered(&m);
            return;
        }
        if (!lower_file_with(cases[c].file, &b16, &on, 16)) {
            free_lowered(&m);
            free_lowered(&d);
            return;
        }
        ASSERT_EQ_INT(m.l->n_layers, d.l->n_layers);
        ASSERT_EQ_INT(m.l->n_layers, b16.l->n_layers);
        int64_t weights = 0, outputs = 0;
        for (int j = 0; j < m.l->n_layers; j++) {
            const dlb_op_spec *s = &m.l->layers[j].spec;
            if (!m.l->layers[j].covered) continue;
            for (int i = 0; i < s->n_wei; i++) weights += operand_bytes(&s->wei[i]);
            for (int i = 0; i < s->n_dst; i++) outputs += operand_bytes(&s->dst[i]);
        }
        int weighted = 0, changed = 0, grew = 0;
        for (int j = 0; j < m.l->n_layers; j++) {
            const dlb_op_spec *s = &m.l->layers[j].spec, *t = &d.l->layers[j].spec,
                              *u = &b16.l->layers[j].spec;
            if (!m.l->layers[j].covered) continue;
            int64_t own = 0;
            for (int i = 0; i < s->n_wei; i++) own += operand_bytes(&s->wei[i]);
            int32_t got = s->n_wei > 0 ? s->wei[0].cold_mib : 0;
            if (s->warm) {
                ASSERT_EQ_INT(got, 0);
            } else if (s->n_wei > 0) {
                ASSERT_EQ_INT(got, dlb_cold_bucket_mib(weights - own + outputs));
                ASSERT(u->warm || bucket_order(u->wei[0].cold_mib) >= bucket_order(got));
                grew += !u->warm && bucket_order(u->wei[0].cold_mib) > bucket_order(got);
            }
            char key[16384], plain[16384], mark[32];
            dlb_op_spec_key(s, key, sizeof key);
            dlb_op_spec_key(t, plain, sizeof plain);
            snprintf(mark, sizeof mark, ":cold=%dM", (int)got);
            int marks = 0;
            for (const char *p = key; (p = strstr(p, " wei=")) != NULL; p++) {
                const char *e = strchr(p + 1, ' '), *at = strstr(p, mark);
                marks += got > 0 && at && (!e || at < e);
            }
            for (int i = 0; i < s->n_wei; i++) {
                ASSERT_EQ_INT(s->wei[i].cold_mib, got);
                ASSERT_EQ_INT(s->wei[i].cold, got > 0);
                ASSERT_EQ_INT(t->wei[i].cold_mib, 0);
                ASSERT(!t->wei[i].cold);
            }
            ASSERT_EQ_INT(marks, got > 0 ? s->n_wei : 0);
            ASSERT_EQ_INT(strcmp(key, plain) != 0, got > 0);
            if (s->n_wei > 0) {
                weighted++;
                ASSERT_EQ_INT(s->warm ? -1 : got > 0, cases[c].cold);
            }
            changed += strcmp(key, plain) != 0;
        }
        ASSERT(weighted > 0);
        ASSERT(cases[c].cold == 1 ? changed == weighted && grew > 0 : changed == 0);
        free_lowered(&m);
        free_lowered(&d);
        free_lowered(&b16);
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
    test_cold_inputs();
    test_streamed_outputs();
    test_streamed_second_reader();
    test_cold_buckets();
    test_warm();
    test_weights_distance();
    test_layout_transformer();
    test_layout_cnn();
    test_layout_pieces();
    test_each_attribute_changes_id();
    test_partition_projection();
    test_partition_bounds();
    test_zoo_dedup();
    return test_summary("test_keys");
}
