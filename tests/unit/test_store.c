/* test_store.c — results document and its HDF5 file: round trips, index, replacement, errors. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "dlbricks/store.h"
#include "test_util.h"

static char dir[4096];

static const char *path_in(const char *name) {
    static char p[8][4200];
    static int next;
    char *s = p[next++ % 8];
    snprintf(s, sizeof p[0], "%s/%s", dir, name);
    return s;
}

/* Strings that stress names and values: separators, quotes, UTF-8, empty, escapes. */
static const char *const strs[] = {
    "a/b/c",
    "x,y;z",
    "say \"hi\" 'there'",
    "µs – ünïcødé ✓ 日本",
    "",
    "back\\slash\nnew\tline",
    "conv/relu.fused",
    "plain",
};
#define N_STRS ((int)(sizeof strs / sizeof strs[0]))

/* Distinct values for every field, from a running counter k. */
#define FILL_u64(r, name) (r).name = 0xfedcba9876543210ull - (uint64_t)(k++);
#define FILL_i64(r, name) (r).name = -1234567890123LL * (int64_t)(++k);
#define FILL_i32(r, name) (r).name = -7 * (int32_t)(++k) + 3;
#define FILL_f64(r, name) (r).name = (k++ % 4 == 0) ? NAN : 0.1 * (double)k - 1e300 * (k % 3 == 1);
#define FILL_str(r, name) (r).name = strs[(k++) % N_STRS];
#define FILL_BRICK_(type, name, unit, doc) FILL_##type(b, name)
#define FILL_EST_(type, name, unit, doc) FILL_##type(e, name)
#define FILL_LAYER_(type, name, unit, doc) FILL_##type(l, name)
#define FILL_MBRICK_(type, name, unit, doc) FILL_##type(m, name)

static dlb_brick_row brick(int k) {
    dlb_brick_row b;
    DLB_BRICK_ROW(FILL_BRICK_)
    return b;
}
static dlb_estimate_row estimate(int k) {
    dlb_estimate_row e;
    DLB_ESTIMATE_ROW(FILL_EST_)
    return e;
}
static dlb_layer_row layer(int k) {
    dlb_layer_row l;
    DLB_LAYER_ROW(FILL_LAYER_)
    return l;
}
static dlb_model_brick_row mbrick(int k) {
    dlb_model_brick_row m;
    DLB_MODEL_BRICK_ROW(FILL_MBRICK_)
    return m;
}

static int same_f64(double a, double b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Field-by-field comparison through the X-macros (the line names the field). */
#define CMP_u64(a, b, name) ASSERT((a)->name == (b)->name);
#define CMP_i64(a, b, name) ASSERT((a)->name == (b)->name);
#define CMP_i32(a, b, name) ASSERT((a)->name == (b)->name);
#define CMP_f64(a, b, name) ASSERT(same_f64((a)->name, (b)->name));
#define CMP_str(a, b, name) ASSERT_STREQ((a)->name, (b)->name);
#define CMP_(type, name, unit, doc) CMP_##type(x, y, name)

static void cmp_brick(const dlb_brick_row *x, const dlb_brick_row *y) {
    ASSERT(x && y);
    if (!x || !y) return;
    DLB_BRICK_ROW(CMP_)
}
static void cmp_estimate(const dlb_estimate_row *x, const dlb_estimate_row *y) {
    ASSERT(x && y);
    if (!x || !y) return;
    DLB_ESTIMATE_ROW(CMP_)
}
static void cmp_layer(const dlb_layer_row *x, const dlb_layer_row *y) {
    DLB_LAYER_ROW(CMP_)
}
static void cmp_mbrick(const dlb_model_brick_row *x, const dlb_model_brick_row *y) {
    DLB_MODEL_BRICK_ROW(CMP_)
}

static dlb_diag capture(test_diag_buf *buf) {
    buf->n = 0;
    buf->text[0] = '\0';
    return (dlb_diag){.emit = test_diag_capture, .ctx = buf};
}

/* Everything of two documents equal (systems, runs and models in the same order). */
static void cmp_docs(const dlb_results *a, const dlb_results *b) {
    ASSERT_EQ_INT(dlb_results_n_runs(b), dlb_results_n_runs(a));
    for (int i = 0; i < dlb_results_n_runs(a) && i < dlb_results_n_runs(b); i++)
        ASSERT_STREQ(dlb_results_run_id(b, i), dlb_results_run_id(a, i));
    ASSERT_EQ_INT(dlb_results_n_systems(b), dlb_results_n_systems(a));
    for (int s = 0; s < dlb_results_n_systems(a) && s < dlb_results_n_systems(b); s++) {
        ASSERT_STREQ(dlb_results_system_name(b, s), dlb_results_system_name(a, s));
        ASSERT_EQ_INT(dlb_results_n_bricks(b, s), dlb_results_n_bricks(a, s));
        for (size_t i = 0; i < dlb_results_n_bricks(a, s) && i < dlb_results_n_bricks(b, s); i++) {
            const dlb_brick_row *x = dlb_results_brick(a, s, i), *y = dlb_results_brick(b, s, i);
            cmp_brick(x, y);
            const double *sx = dlb_results_samples(a, s, i), *sy = dlb_results_samples(b, s, i);
            for (int j = 0; j < x->n_samples && j < y->n_samples; j++)
                ASSERT(same_f64(sx[j], sy[j]));
        }
        ASSERT_EQ_INT(dlb_results_n_estimates(b, s), dlb_results_n_estimates(a, s));
        for (size_t i = 0; i < dlb_results_n_estimates(a, s); i++)
            cmp_estimate(dlb_results_estimate(a, s, i), dlb_results_estimate(b, s, i));
    }
    ASSERT_EQ_INT(dlb_results_n_models(b), dlb_results_n_models(a));
    for (int i = 0; i < dlb_results_n_models(a) && i < dlb_results_n_models(b); i++) {
        const char *na, *nb;
        int64_t ba, bb;
        const dlb_store_attr *aa, *ab;
        const dlb_layer_row *la, *lb;
        const dlb_model_brick_row *ma, *mb;
        int naa, nab, nla, nlb, nma, nmb;
        dlb_results_model(a, i, &na, &ba, &aa, &naa, &la, &nla, &ma, &nma);
        dlb_results_model(b, i, &nb, &bb, &ab, &nab, &lb, &nlb, &mb, &nmb);
        ASSERT_STREQ(nb, na);
        ASSERT_EQ_INT(bb, ba);
        ASSERT_EQ_INT(nab, naa);
        for (int j = 0; j < naa && j < nab; j++) {
            ASSERT_STREQ(ab[j].name, aa[j].name);
            ASSERT_STREQ(ab[j].value, aa[j].value);
        }
        ASSERT_EQ_INT(nlb, nla);
        for (int j = 0; j < nla && j < nlb; j++) cmp_layer(&la[j], &lb[j]);
        ASSERT_EQ_INT(nmb, nma);
        for (int j = 0; j < nma && j < nmb; j++) cmp_mbrick(&ma[j], &mb[j]);
    }
}

/* A document using every table, field and odd name. */
static dlb_results *full_doc(void) {
    dlb_results *r = dlb_results_new();
    ASSERT_EQ_INT(dlb_results_add_run(r, "2024-05-01T12:00:00/run.1"), DLB_OK);
    ASSERT_EQ_INT(dlb_results_run_attr(r, "2024-05-01T12:00:00/run.1", "argv", strs[2]), DLB_OK);
    ASSERT_EQ_INT(dlb_results_run_attr(r, "r2", "git", "abc,def"), DLB_OK); /* adds run r2 */
    ASSERT_EQ_INT(dlb_results_run_attr(r, "r2", "empty", ""), DLB_OK);
    int s0 = dlb_results_system(r, "node/a.b", true), s1 = dlb_results_system(r, "node_a.b", true);
    int s2 = dlb_results_system(r, "..", true);
    ASSERT(s0 == 0 && s1 == 1 && s2 == 2);
    ASSERT_EQ_INT(dlb_results_system_attr(r, s0, "cpu", strs[3]), DLB_OK);
    ASSERT_EQ_INT(dlb_results_system_attr(r, s0, "path/like", "v"), DLB_OK);
    int k = 1;
    for (int i = 0; i < 5; i++) {
        dlb_brick_row b = brick(k += 40);
        double x[7];
        for (int j = 0; j < 7; j++) x[j] = j == 3 ? NAN : 0.25 * i + j;
        ASSERT_EQ_INT(dlb_results_add_brick(r, i % 2 ? s1 : s0, &b, x, i % 3 == 1 ? 0 : 7 - i),
                      DLB_OK);
    }
    for (int i = 0; i < 3; i++) {
        dlb_estimate_row e = estimate(k += 40);
        ASSERT_EQ_INT(dlb_results_put_estimate(r, s0, &e), DLB_OK);
    }
    dlb_layer_row l[3] = {layer(1), layer(30), layer(77)};
    dlb_model_brick_row m[2] = {mbrick(5), mbrick(19)};
    dlb_store_attr at[2] = {{"opset", "17"}, {"source", "torchvision/resnet18, \"v1\""}};
    ASSERT_EQ_INT(dlb_results_put_model(r, "resnet/18.onnx", 16, at, 2, l, 3, m, 2), DLB_OK);
    ASSERT_EQ_INT(dlb_results_put_model(r, "resnet/18.onnx", -1, NULL, 0, NULL, 0, m, 1), DLB_OK);
    ASSERT_EQ_INT(dlb_results_put_model(r, "resnet_18.onnx", 1, NULL, 0, l, 1, NULL, 0), DLB_OK);
    ASSERT_EQ_INT(dlb_results_put_model(r, "empty", 0, NULL, 0, NULL, 0, NULL, 0), DLB_OK);
    return r;
}

static int run_quiet(const char *cmd) {
    char line[8400];
    snprintf(line, sizeof line, "%s >/dev/null 2>&1", cmd);
    return system(line);
}

static void test_round_trip(void) {
    dlb_results *r = full_doc(), *back = NULL;
    test_diag_buf buf;
    dlb_diag d = capture(&buf);
    const char *path = path_in("full.h5");
    ASSERT_EQ_INT(dlb_results_save(r, path, &d), DLB_OK);
    ASSERT_EQ_INT(dlb_results_load(path, &d, &back), DLB_OK);
    ASSERT_EQ_INT(d.n_errors, 0);
    ASSERT(back != NULL);
    if (back) {
        cmp_docs(r, back);
        ASSERT_STREQ(dlb_results_run_get(back, "2024-05-01T12:00:00/run.1", "argv"), strs[2]);
        ASSERT_STREQ(dlb_results_run_get(back, "r2", "git"), "abc,def");
        ASSERT_STREQ(dlb_results_run_get(back, "r2", "empty"), "");
        ASSERT(dlb_results_run_get(back, "r2", "absent") == NULL);
        ASSERT_STREQ(dlb_results_system_get(back, 0, "cpu"), strs[3]);
        ASSERT_STREQ(dlb_results_system_get(back, 0, "path/like"), "v");
        ASSERT_EQ_INT(dlb_results_system(back, "..", false), 2);
        /* Saving what was loaded gives the same document again. */
        dlb_results *again = NULL;
        ASSERT_EQ_INT(dlb_results_save(back, path, &d), DLB_OK);
        ASSERT_EQ_INT(dlb_results_load(path, &d, &again), DLB_OK);
        if (again) cmp_docs(r, again);
        dlb_results_free(again);
    }
    if (buf.n) fprintf(stderr, "%s", buf.text);

    /* The file itself: root attributes, packed compound fields in X-macro order, filters. */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT(f >= 0);
    hid_t a = H5Aopen(f, "schema", H5P_DEFAULT), t = H5Aget_type(a);
    char *schema = NULL, *mine = dlb_store_schema_json();
    ASSERT(H5Aread(a, t, &schema) >= 0);
    ASSERT_STREQ(schema, mine);
    ASSERT_CONTAINS(mine,
                    "{\"format_version\": 4, \"tables\": {\"bricks\": [{\"name\": \"id\", "
                    "\"type\": \"u64\", \"unit\": \"\", \"doc\": \"brick id: XXH3-64 of key\"}");
    ASSERT_CONTAINS(mine, "\"model_bricks\": [");
    H5free_memory(schema);
    H5Tclose(t);
    H5Aclose(a);
    hid_t ds = H5Dopen2(f, "/systems/node_a.b/bricks", H5P_DEFAULT);
    ASSERT(ds >= 0);
    t = H5Dget_type(ds);
    static const char *const names[] = {
#define NAME_(type, name, unit, doc) #name,
        DLB_BRICK_ROW(NAME_)};
    ASSERT_EQ_INT(H5Tget_nmembers(t), (int)(sizeof names / sizeof names[0]));
    for (int i = 0; i < H5Tget_nmembers(t); i++) {
        char *n = H5Tget_member_name(t, (unsigned)i);
        ASSERT_STREQ(n, names[i]);
        H5free_memory(n);
    }
    hid_t dcpl = H5Dget_create_plist(ds);
    ASSERT_EQ_INT(H5Pget_layout(dcpl), H5D_CHUNKED);
    ASSERT_EQ_INT(H5Pget_nfilters(dcpl), 2); /* shuffle + deflate */
    H5Pclose(dcpl);
    H5Tclose(t);
    H5Dclose(ds);
    /* "node_a.b" was taken by "node/a.b": the second system got "node_a.b~2"; ".." got "_..".
     * Empty tables are 0-row datasets. */
    ASSERT(H5Lexists(f, "/systems/node_a.b~2", H5P_DEFAULT) > 0);
    ASSERT(H5Lexists(f, "/systems/_..", H5P_DEFAULT) > 0);
    ASSERT(H5Lexists(f, "/models/resnet_18.onnx/b-1/layers", H5P_DEFAULT) > 0);
    ASSERT(H5Lexists(f, "/systems/_../estimates", H5P_DEFAULT) > 0);
    H5Fclose(f);

    /* Readable by the HDF5 tools and the schema is valid JSON (when the tools are there). */
    char cmd[8300];
    if (run_quiet("command -v h5dump") == 0) {
        snprintf(cmd, sizeof cmd, "h5dump -H '%s'", path);
        ASSERT_EQ_INT(run_quiet(cmd), 0);
        snprintf(cmd, sizeof cmd, "h5dump -d /systems/node_a.b/bricks '%s'", path);
        ASSERT_EQ_INT(run_quiet(cmd), 0);
    }
    if (run_quiet("python3 -c 'import json'") == 0) {
        const char *jpath = path_in("schema.json");
        FILE *jf = fopen(jpath, "w");
        fputs(mine, jf);
        fclose(jf);
        snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '%s'",
                 jpath);
        ASSERT_EQ_INT(run_quiet(cmd), 0);
        unlink(jpath);
    }
    free(mine);
    dlb_results_free(back);
    dlb_results_free(r);
}

static void test_samples(void) {
    dlb_results *r = dlb_results_new(), *back = NULL;
    int s = dlb_results_system(r, "s", true);
    const int counts[] = {3, 0, 5, 1};
    double x[5] = {1.5, 2.5, 3.5, 4.5, 5.5};
    for (int i = 0; i < 4; i++) {
        dlb_brick_row b = brick(i);
        b.sample_start = 999; /* set by the document */
        b.n_samples = 77;
        ASSERT_EQ_INT(dlb_results_add_brick(r, s, &b, x, counts[i]), DLB_OK);
    }
    const int64_t starts[] = {0, 3, 3, 8};
    dlb_diag d = {0};
    ASSERT_EQ_INT(dlb_results_save(r, path_in("samples.h5"), &d), DLB_OK);
    ASSERT_EQ_INT(dlb_results_load(path_in("samples.h5"), &d, &back), DLB_OK);
    const dlb_results *docs[2] = {r, back};
    for (int k = 0; k < 2 && back; k++)
        for (size_t i = 0; i < 4; i++) {
            const dlb_brick_row *b = dlb_results_brick(docs[k], s, i);
            ASSERT_EQ_INT(b->sample_start, starts[i]);
            ASSERT_EQ_INT(b->n_samples, counts[i]);
            const double *y = dlb_results_samples(docs[k], s, i);
            for (int j = 0; j < counts[i]; j++) ASSERT(y[j] == x[j]);
        }
    ASSERT_EQ_INT(dlb_results_add_brick(r, s, &(dlb_brick_row){0}, NULL, 2), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_results_add_brick(r, 7, &(dlb_brick_row){0}, NULL, 0), DLB_EINVAL);
    dlb_results_free(back);
    dlb_results_free(r);
}

static void add(dlb_results *r, int s, uint64_t id, const char *settings, const char *status) {
    dlb_brick_row b = {.id = id, .settings = settings, .status = status, .key = "k"};
    ASSERT_EQ_INT(dlb_results_add_brick(r, s, &b, NULL, 0), DLB_OK);
}

static void test_find(void) {
    dlb_results *r = dlb_results_new(), *back = NULL;
    int s = dlb_results_system(r, "s", true), t = dlb_results_system(r, "t", true);
    ASSERT_EQ_INT(dlb_results_find_brick(r, s, 1, "a"), -1); /* empty */
    add(r, s, 1, "a", "ok");                                 /* 0 */
    add(r, s, 1, "a", "DLB_EDNNL");                          /* 1: failed, ignored */
    add(r, s, 1, "b", "ok");                                 /* 2: other settings */
    add(r, s, 2, "a", "DLB_ENOMEM");                         /* 3: only a failure */
    ASSERT_EQ_INT(dlb_results_find_brick(r, s, 1, "a"), 0);
    add(r, s, 1, "a", "ok"); /* 4: newer */
    add(r, s, 1, "a", "DLB_EIO");
    ASSERT_EQ_INT(dlb_results_find_brick(r, s, 1, "a"), 4);
    ASSERT_EQ_INT(dlb_results_find_brick(r, s, 1, "b"), 2);
    ASSERT_EQ_INT(dlb_results_find_brick(r, s, 2, "a"), -1);
    ASSERT_EQ_INT(dlb_results_find_brick(r, s, 3, "a"), -1);
    ASSERT_EQ_INT(dlb_results_find_brick(r, t, 1, "a"), -1); /* per system */
    ASSERT_EQ_INT(dlb_results_find_brick(r, 9, 1, "a"), -1);
    /* Many keys (index growth), colliding ids with distinct settings. */
    for (uint64_t i = 0; i < 3000; i++)
        add(r, t, 0xfedcba9876543210ull ^ (i / 2), i % 2 ? "x" : "y", "ok");
    int bad = 0;
    for (uint64_t i = 0; i < 3000; i++)
        bad += dlb_results_find_brick(r, t, 0xfedcba9876543210ull ^ (i / 2), i % 2 ? "x" : "y") !=
               (long)i;
    ASSERT_EQ_INT(bad, 0);
    dlb_diag d = {0};
    ASSERT_EQ_INT(dlb_results_save(r, path_in("find.h5"), &d), DLB_OK);
    ASSERT_EQ_INT(dlb_results_load(path_in("find.h5"), &d, &back), DLB_OK);
    ASSERT_EQ_INT(dlb_results_find_brick(back, 0, 1, "a"), 4);
    ASSERT_EQ_INT(dlb_results_find_brick(back, 1, 0xfedcba9876543210ull ^ 700, "x"), 1401);
    dlb_results_free(back);
    dlb_results_free(r);
}

static void test_replace(void) {
    dlb_results *r = dlb_results_new();
    int s = dlb_results_system(r, "s", true);
    char model[] = "m";
    dlb_estimate_row e = {.model = model, .batch = 1, .settings = "s1", .estimate_ms = 1};
    ASSERT_EQ_INT(dlb_results_put_estimate(r, s, &e), DLB_OK);
    model[0] = 'X'; /* the document keeps its own copy */
    e.model = "m";
    e.estimate_ms = 2;
    ASSERT_EQ_INT(dlb_results_put_estimate(r, s, &e), DLB_OK);
    ASSERT_EQ_INT(dlb_results_n_estimates(r, s), 1);
    ASSERT(dlb_results_estimate(r, s, 0)->estimate_ms == 2);
    ASSERT_STREQ(dlb_results_estimate(r, s, 0)->model, "m");
    e.batch = 2;
    ASSERT_EQ_INT(dlb_results_put_estimate(r, s, &e), DLB_OK);
    e.batch = 1;
    e.settings = "s2";
    ASSERT_EQ_INT(dlb_results_put_estimate(r, s, &e), DLB_OK);
    e.settings = "s1";
    e.estimate_ms = 3;
    ASSERT_EQ_INT(dlb_results_put_estimate(r, s, &e), DLB_OK);
    ASSERT_EQ_INT(dlb_results_n_estimates(r, s), 3);
    ASSERT(dlb_results_estimate(r, s, 0)->estimate_ms == 3);

    dlb_layer_row l[3] = {layer(1), layer(2), layer(3)};
    dlb_store_attr a1 = {"k", "v1"}, a2 = {"k", "v2"};
    ASSERT_EQ_INT(dlb_results_put_model(r, "m", 16, &a1, 1, l, 2, NULL, 0), DLB_OK);
    ASSERT_EQ_INT(dlb_results_put_model(r, "m", 32, NULL, 0, NULL, 0, NULL, 0), DLB_OK);
    ASSERT_EQ_INT(dlb_results_put_model(r, "m", 16, &a2, 1, l, 3, NULL, 0), DLB_OK);
    ASSERT_EQ_INT(dlb_results_n_models(r), 2);
    const char *name;
    int64_t batch;
    const dlb_store_attr *at;
    const dlb_layer_row *lr;
    int na, nl;
    dlb_results_model(r, 0, &name, &batch, &at, &na, &lr, &nl, NULL, NULL);
    ASSERT_STREQ(name, "m");
    ASSERT_EQ_INT(batch, 16);
    ASSERT_EQ_INT(nl, 3);
    ASSERT(na == 1 && strcmp(at[0].value, "v2") == 0);
    cmp_layer(&lr[2], &l[2]);
    ASSERT_EQ_INT(dlb_results_put_model(r, "", 1, NULL, 0, NULL, 0, NULL, 0), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_results_put_model(r, "m", 1, NULL, 0, NULL, 2, NULL, 0), DLB_EINVAL);
    dlb_results_free(r);
}

static void test_attrs(void) {
    dlb_results *r = dlb_results_new();
    ASSERT_EQ_INT(dlb_results_run_attr(r, "r", "a", "1"), DLB_OK);
    ASSERT_EQ_INT(dlb_results_run_attr(r, "r", "a", "2"), DLB_OK); /* replaces */
    ASSERT_EQ_INT(dlb_results_add_run(r, "r"), DLB_OK);            /* already there */
    ASSERT_EQ_INT(dlb_results_n_runs(r), 1);
    ASSERT_STREQ(dlb_results_run_get(r, "r", "a"), "2");
    ASSERT(dlb_results_run_get(r, "nope", "a") == NULL);
    ASSERT_EQ_INT(dlb_results_run_attr(r, "r", "name", "x"), DLB_EINVAL); /* reserved */
    int s = dlb_results_system(r, "sys", true);
    ASSERT_EQ_INT(dlb_results_system(r, "other", false), -1);
    ASSERT_EQ_INT(dlb_results_system(r, "sys", false), s);
    ASSERT_EQ_INT(dlb_results_system_attr(r, s, "x", "1"), DLB_OK);
    ASSERT_EQ_INT(dlb_results_system_attr(r, s, "x", "ü"), DLB_OK);
    ASSERT_STREQ(dlb_results_system_get(r, s, "x"), "ü");
    ASSERT_EQ_INT(dlb_results_system_attr(r, s, "name", "x"), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_results_system_attr(r, 5, "x", "1"), DLB_EINVAL);
    dlb_results_free(r);
}

static void test_errors(void) {
    test_diag_buf buf;
    dlb_diag d = capture(&buf);
    dlb_results *back = (dlb_results *)&d;
    /* Not HDF5. */
    const char *txt = path_in("not.h5");
    FILE *f = fopen(txt, "w");
    fputs("hello, this is not an HDF5 file\n", f);
    fclose(f);
    dlb_status st = dlb_results_load(txt, &d, &back);
    ASSERT(st == DLB_EPARSE || st == DLB_EIO);
    ASSERT(back == NULL);
    ASSERT_EQ_INT(d.n_errors, 1);
    ASSERT_EQ_INT((long)(strchr(buf.text, '\n') - buf.text) + 1, (long)buf.n); /* one line */
    ASSERT_CONTAINS(buf.text, txt);
    unlink(txt);
    /* Missing file. */
    d = capture(&buf);
    ASSERT_EQ_INT(dlb_results_load(path_in("missing.h5"), &d, &back), DLB_EIO);
    ASSERT_EQ_INT(d.n_errors, 1);
    ASSERT_CONTAINS(buf.text, "missing.h5");
    /* HDF5, but another format_version, or none. */
    const char *other = path_in("v99.h5");
    hid_t h = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    d = capture(&buf);
    ASSERT_EQ_INT(dlb_results_load(other, &d, &back), DLB_EPARSE);
    ASSERT_EQ_INT(d.n_errors, 1);
    ASSERT_CONTAINS(buf.text, "format_version");
    h = H5Fopen(other, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(h, "format_version", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int v = 99;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(h);
    d = capture(&buf);
    ASSERT_EQ_INT(dlb_results_load(other, &d, &back), DLB_EPARSE);
    ASSERT(back == NULL);
    ASSERT_EQ_INT(d.n_errors, 1);
    ASSERT_CONTAINS(buf.text, "v99.h5");
    ASSERT_CONTAINS(buf.text, "format_version 99");
    unlink(other);
    /* Saving into a directory that does not exist: one HDF5 error naming the call. */
    dlb_results *r = dlb_results_new();
    d = capture(&buf);
    ASSERT_EQ_INT(dlb_results_save(r, path_in("no/such/dir.h5"), &d), DLB_EHDF5);
    ASSERT_EQ_INT(d.n_errors, 1);
    ASSERT_CONTAINS(buf.text, "H5Fcreate");
    ASSERT_CONTAINS(buf.text, "no/such/dir.h5");
    dlb_results_free(r);
}

static void str_attr(hid_t loc, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value)); /* fixed length, space padded like many writers' */
    H5Tset_strpad(t, H5T_STR_SPACEPAD);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT(H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

/* A file written by another tool: no creation order, fixed-length strings, no datasets. */
static void test_foreign_and_damaged(void) {
    const char *path = path_in("foreign.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "format_version", H5T_STD_I64BE, sp, H5P_DEFAULT, H5P_DEFAULT);
    long long v = DLB_STORE_FORMAT_VERSION;
    H5Awrite(a, H5T_NATIVE_LLONG, &v);
    H5Aclose(a);
    H5Sclose(sp);
    hid_t g = H5Gcreate2(f, "/systems", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    g = H5Gcreate2(f, "/systems/zeta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    str_attr(g, "cpu", "x86");
    H5Gclose(g);
    g = H5Gcreate2(f, "/systems/alpha", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    g = H5Gcreate2(f, "/runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    g = H5Gcreate2(f, "/runs/r1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    str_attr(g, "name", "r/1");
    H5Gclose(g);
    H5Fclose(f);
    test_diag_buf buf;
    dlb_diag d = capture(&buf);
    dlb_results *back = NULL;
    ASSERT_EQ_INT(dlb_results_load(path, &d, &back), DLB_OK);
    if (buf.n) fprintf(stderr, "%s", buf.text);
    if (back) {
        ASSERT_EQ_INT(dlb_results_n_systems(back), 2);
        ASSERT_STREQ(dlb_results_system_name(back, 0), "alpha"); /* by name: no order kept */
        int z = dlb_results_system(back, "zeta", false);
        ASSERT_STREQ(dlb_results_system_get(back, z, "cpu"), "x86");
        ASSERT_EQ_INT(dlb_results_n_bricks(back, z), 0);
        ASSERT_EQ_INT(dlb_results_n_estimates(back, z), 0);
        ASSERT_STREQ(dlb_results_run_id(back, 0), "r/1");
        ASSERT_EQ_INT(dlb_results_n_models(back), 0);
    }
    dlb_results_free(back);
    back = NULL;

    /* Samples cut short under the brick rows that point into them. */
    dlb_results *r = dlb_results_new();
    int s = dlb_results_system(r, "s", true);
    dlb_brick_row b = brick(3);
    double x[4] = {1, 2, 3, 4};
    ASSERT_EQ_INT(dlb_results_add_brick(r, s, &b, x, 4), DLB_OK);
    ASSERT_EQ_INT(dlb_results_save(r, path, &d), DLB_OK);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "/systems/s/samples", H5P_DEFAULT);
    hsize_t two[1] = {2};
    ASSERT(H5Dset_extent(ds, two) >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    d = capture(&buf);
    ASSERT_EQ_INT(dlb_results_load(path, &d, &back), DLB_EPARSE);
    ASSERT(back == NULL);
    ASSERT_EQ_INT(d.n_errors, 1);
    ASSERT_CONTAINS(buf.text, "/systems/s");
    ASSERT_CONTAINS(buf.text, "outside the 2 samples");
    dlb_results_free(r);
    unlink(path);
}

static int count_files(void) {
    int n = 0;
    DIR *dd = opendir(dir);
    for (struct dirent *e; dd && (e = readdir(dd));)
        if (e->d_name[0] != '.') n++;
    if (dd) closedir(dd);
    return n;
}

static void test_atomic(void) {
    const char *path = path_in("snap.h5");
    int before = count_files();
    dlb_results *r = dlb_results_new(), *back = NULL;
    ASSERT_EQ_INT(dlb_results_add_run(r, "one"), DLB_OK);
    dlb_diag d = {0};
    ASSERT_EQ_INT(dlb_results_save(r, path, &d), DLB_OK);
    /* A reader holding the first snapshot open keeps it across the replacement. */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT(f >= 0);
    ASSERT_EQ_INT(dlb_results_add_run(r, "two"), DLB_OK);
    ASSERT_EQ_INT(dlb_results_save(r, path, &d), DLB_OK);
    H5G_info_t info = {0};
    hid_t g = H5Gopen2(f, "runs", H5P_DEFAULT);
    ASSERT(H5Gget_info(g, &info) >= 0);
    ASSERT_EQ_INT(info.nlinks, 1);
    H5Gclose(g);
    H5Fclose(f);
    ASSERT_EQ_INT(dlb_results_load(path, &d, &back), DLB_OK);
    ASSERT_EQ_INT(dlb_results_n_runs(back), 2);
    ASSERT_EQ_INT(count_files(), before + 1); /* no PATH.tmp.<pid> left behind */
    ASSERT_EQ_INT(d.n_errors, 0);
    dlb_results_free(back);
    dlb_results_free(r);
}

static void remove_dir(void) {
    DIR *dd = opendir(dir);
    for (struct dirent *e; dd && (e = readdir(dd));)
        if (e->d_name[0] != '.' || strlen(e->d_name) > 2) unlink(path_in(e->d_name));
    if (dd) closedir(dd);
    rmdir(dir);
}

int main(int argc, char **argv) {
    const char *tmp = argc > 1 ? argv[1] : getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    test_round_trip();
    test_samples();
    test_find();
    test_replace();
    test_attrs();
    test_errors();
    test_foreign_and_damaged();
    test_atomic();
    if (!getenv("TEST_STORE_KEEP"))
        remove_dir(); /* set it to look at the files */
    else
        printf("files kept in %s\n", dir);
    return test_summary("test_store");
}
