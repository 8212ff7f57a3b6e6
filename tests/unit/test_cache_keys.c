/* test_cache_keys.c — cache state in brick keys: cold inputs and their reuse distances, streamed
 * outputs, warm ops, weights at their distance, warm inputs at theirs, outputs at theirs
 * (docs/bricks.md, 3). */
#include <stdint.h>

#include "dlbricks/brick.h"
#include "lowered_model.h"
#include "placement.h"

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
        for (int o = 0; o < L->spec.n_dst; o++) cold += L->spec.dst[o].cold; /* with dist only */
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

/* Weights' buckets: the nearest quarter octave 2^(k/4) MiB on a log scale, rounded to whole MiB
 * (the boundary between 16 and 19 is 2^4.125 = 17.45), at least 1, and 0 where the nearest is
 * 181 MiB (256 / sqrt 2) or more. */
static void test_weight_buckets(void) {
    const int64_t MiB = 1 << 20;
    ASSERT_EQ_INT(dlb_weight_bucket_mib(0), 1);
    ASSERT_EQ_INT(dlb_weight_bucket_mib(DLB_COLD_DISTANCE), 4);
    ASSERT_EQ_INT(dlb_weight_bucket_mib(16 * MiB), 16);
    ASSERT_EQ_INT(dlb_weight_bucket_mib(17 * MiB + 400 * 1024), 16); /* 17.39 */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(17 * MiB + 500 * 1024), 19); /* 17.49: 2^4.25 = 19.03 */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(24 * MiB), 23);              /* 2^4.5 = 22.6 */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(27 * MiB), 27);              /* 2^4.75 = 26.9 */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(33 * MiB), 32);
    ASSERT_EQ_INT(dlb_weight_bucket_mib(150 * MiB), 152); /* 2^7.25 = 152.2 */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(165 * MiB), 152); /* < 2^7.375 = 166.0 */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(167 * MiB), 0);   /* nearest 181: memory */
    ASSERT_EQ_INT(dlb_weight_bucket_mib(INT64_MAX), 0);
    for (int64_t b = DLB_COLD_DISTANCE; b < 200 * MiB; b += MiB / 3) { /* monotone */
        int32_t x = dlb_weight_bucket_mib(b), y = dlb_weight_bucket_mib(b + MiB / 3);
        ASSERT(y == 0 || (x > 0 && y >= x));
    }
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
 * carry their reuse distance, bucketed by quarter octaves: one inference's bytes beside the op's
 * own weights, every other weight once and the activation memory the executor's placement gives
 * the layers' outputs (dlb_lowered.activation_bytes: at least the largest output, less than all
 * outputs together where memory is reused, 0 without the option).  It grows with the batch
 * (batch 16 against 1).  The key says ":cold=NM" after each such weight; bucket 0 (beyond
 * DLB_COLD_MEMORY_MIB) says nothing, so such a brick keeps the id it has without the option.
 * mobilenet_v3_small's weights (10 MB) have a bucket; wide_resnet101_2's (500 MB over 100 layers)
 * come from memory; tiny_resnet is warm.  Without the option no weight has a distance. */
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
        int64_t weights = 0, outputs = 0, largest = 0;
        for (int j = 0; j < m.l->n_layers; j++) {
            const dlb_op_spec *s = &m.l->layers[j].spec;
            if (!m.l->layers[j].covered) continue;
            for (int i = 0; i < s->n_wei; i++) weights += operand_bytes(&s->wei[i]);
            for (int i = 0; i < s->n_dst; i++) {
                outputs += operand_bytes(&s->dst[i]);
                if (operand_bytes(&s->dst[i]) > largest) largest = operand_bytes(&s->dst[i]);
            }
        }
        int64_t act = m.l->activation_bytes;
        ASSERT(act >= largest && act < outputs);
        ASSERT_EQ_INT(d.l->activation_bytes, 0);
        ASSERT(b16.l->activation_bytes > act);
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
                ASSERT_EQ_INT(got, dlb_weight_bucket_mib(weights - own + act));
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
/* Warm inputs at their reuse distance (dlb_operand.near_kib): the bucket, and in
 * efficientnet_b0 (batch 1) every warm source produced by the layer just before carries that
 * layer's bytes, bucketed, as ":near=NK" in the key; only with reuse distances asked for. */
static void test_near_inputs(void) {
    ASSERT_EQ_INT(dlb_near_bucket_kib(300 << 10), 0); /* below 512 / sqrt 2 KiB: not aged */
    ASSERT_EQ_INT(dlb_near_bucket_kib(400 << 10), 512);
    ASSERT_EQ_INT(dlb_near_bucket_kib(700 << 10), 512);
    ASSERT_EQ_INT(dlb_near_bucket_kib(800 << 10), 1024);
    ASSERT_EQ_INT(dlb_near_bucket_kib(3 << 20), 4096);
    ASSERT_EQ_INT(dlb_near_bucket_kib(DLB_COLD_DISTANCE - 1), 4096);
    for (int dist = 0; dist <= 1; dist++) {
        lowered_model m;
        if (!lower_file_opts("zoo/efficientnet_b0.onnx", &m, dist)) return;
        int adjacent = 0, marked = 0;
        for (int j = 1; j < m.l->n_layers; j++) {
            const dlb_layer *L = &m.l->layers[j];
            if (!L->covered) continue;
            char key[16384];
            dlb_op_spec_key(&L->spec, key, sizeof key);
            int in_key = 0, near = 0;
            for (const char *p = key; (p = strstr(p, ":near=")) != NULL; p++) in_key++;
            for (int i = 0; i < L->spec.n_src; i++) {
                const dlb_operand *o = &L->spec.src[i];
                ASSERT(o->near_kib == 0 || (!o->cold && dist));
                near += o->near_kib > 0;
                if (o->near_kib > 0) {
                    char want[32];
                    snprintf(want, sizeof want, ":near=%dK", (int)o->near_kib);
                    ASSERT(strstr(key, want) != NULL);
                }
                if (producer_of(m.l, L->src_tensors[i]) != j - 1 || o->cold) continue;
                const dlb_layer *P = &m.l->layers[j - 1];
                ASSERT_EQ_INT(o->near_kib, dist ? dlb_near_bucket_kib(P->bytes) : 0);
                adjacent++;
            }
            for (int k = 0; k < L->spec.n_post; k++) near += L->spec.post[k].operand.near_kib > 0;
            ASSERT_EQ_INT(in_key, near);
            marked += near;
        }
        ASSERT(adjacent > 50);
        ASSERT(dist ? marked > 50 : marked == 0);
        free_lowered(&m);
    }
}

/* The executor's placement (dlb__place_buffers): largest first, each at the lowest offset free of
 * the placed buffers live at the same time, sizes rounded up to 64 bytes. */
static void test_placement(void) {
    /* 0: 100 B, steps 0-1; 1: 256 B, 1-2; 2: 64 B, 2-3; 3: 256 B, 3-4; 4: 300 B, 0-4 */
    const size_t size[] = {100, 256, 64, 256, 300};
    const int first[] = {0, 1, 2, 3, 0}, last[] = {1, 2, 3, 4, 4};
    int order[5];
    size_t off[5];
    size_t total = dlb__place_buffers(5, size, first, last, order, off);
    ASSERT_EQ_INT((int)off[4], 0);   /* largest, first */
    ASSERT_EQ_INT((int)off[1], 320); /* after 4 (300 -> 320) */
    ASSERT_EQ_INT((int)off[3], 320); /* 1 is dead by step 3: its bytes again */
    ASSERT_EQ_INT((int)off[0], 576); /* after 1 */
    ASSERT_EQ_INT((int)off[2], 576); /* 0 is dead by step 2; 1 and 3 live */
    ASSERT_EQ_INT((int)total, 704);
    ASSERT_EQ_INT((int)dlb__place_buffers(0, size, first, last, order, off), 0);
}

/* Bytes of an f32 operand. */
static int64_t f32_bytes(const dlb_operand *o) {
    int64_t n = 4;
    for (int i = 0; i < o->shape.rank; i++) n *= o->shape.dims[i];
    return n;
}

/* Outputs at their reuse distance (dlb_lower_options.cold_distance only): conv_chain's five
 * 4 MiB outputs a, b, c, d, y (layers 0-4) take two arena slots in turn: a, c and y at 0, b and d
 * at 4 MiB.  So c, d and y land on bytes the layer before the one before them last read: that
 * layer's bytes away; a on y's, written by the last layer one inference ago (its bytes); b on
 * d's, read by the last layer (its bytes and layer 0's).  Each such output is cold with that
 * bucket, ":cold=NM" after it in the key; nothing is marked without reuse distances. */
static void test_output_distances(void) {
    for (int dist = 0; dist <= 1; dist++) {
        lowered_model m;
        if (!lower_file_opts("tests/data/models/conv_chain.onnx", &m, dist)) return;
        ASSERT_EQ_INT(m.l->n_layers, 5);
        if (m.l->n_layers != 5) {
            free_lowered(&m);
            return;
        }
        int64_t b[5];
        for (int j = 0; j < 5; j++) b[j] = m.l->layers[j].bytes;
        const int64_t want[5] = {b[4], b[4] + b[0], b[1], b[2], b[3]};
        for (int j = 0; j < 5; j++) {
            const dlb_layer *L = &m.l->layers[j];
            ASSERT(L->covered && L->spec.n_dst == 1 && b[j] > 2 * DLB_COLD_DISTANCE);
            const dlb_operand *o = &L->spec.dst[0];
            ASSERT_EQ_INT(o->cold, dist);
            ASSERT_EQ_INT(o->cold_mib, dist ? dlb_cold_bucket_mib(want[j]) : 0);
            char key[4096], mark[48];
            dlb_op_spec_key(&L->spec, key, sizeof key);
            const char *d = strstr(key, " dst=");
            snprintf(mark, sizeof mark, ":cold=%dM ", (int)o->cold_mib);
            ASSERT(d != NULL && (strstr(d, mark) != NULL) == (dist == 1));
            ASSERT(d == NULL || dist || strstr(d, ":cold") == NULL);
        }
        if (dist) { /* 8 and 16 MiB: the two cases tell apart */
            ASSERT_EQ_INT(m.l->layers[0].spec.dst[0].cold_mib, 8);
            ASSERT_EQ_INT(m.l->layers[1].spec.dst[0].cold_mib, 16);
        }
        free_lowered(&m);
    }
    /* mobilenet_v2: at batch 16 the distance rule marks most outputs (at 4 MiB or more), the
     * default none, and never one under 4 MiB (its 7x7 stages), however far the bytes it lands
     * on; at batch 1 its outputs are small or near: none is marked. */
    for (int batch = 1; batch <= 16; batch += 15)
        for (int dist = 0; dist <= 1; dist++) {
            lowered_model m;
            dlb_lower_options opt = {.fuse = true, .cold_distance = dist};
            if (!lower_file_with("zoo/mobilenet_v2.onnx", &m, &opt, batch)) return;
            int marked = 0, small = 0;
            for (int j = 0; j < m.l->n_layers; j++)
                for (int o = 0; m.l->layers[j].covered && o < m.l->layers[j].spec.n_dst; o++) {
                    const dlb_operand *d = &m.l->layers[j].spec.dst[o];
                    marked += d->cold;
                    small += f32_bytes(d) < DLB_COLD_DISTANCE;
                    ASSERT(!d->cold || f32_bytes(d) >= DLB_COLD_DISTANCE);
                }
            ASSERT(batch == 16 && dist ? marked > 20 && small > 5 : marked == 0);
            free_lowered(&m);
        }
}

int main(int argc, char **argv) {
    src_dir = argc > 1 ? argv[1] : ".";
    test_cold_inputs();
    test_streamed_outputs();
    test_streamed_second_reader();
    test_cold_buckets();
    test_weight_buckets();
    test_warm();
    test_weights_distance();
    test_near_inputs();
    test_placement();
    test_output_distances();
    return test_summary("test_cache_keys");
}
