/* test_load.c — ONNX loader: opsets 11/13/17, weights present/stripped/external, bad inputs. */
#include <regex.h>
#include <stdint.h>

#include "dlbricks/brick.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "test_util.h"

static const char *data_dir;

/* Load, infer and lower one file; returns the first non-OK status (DLB_OK if all passed). */
static dlb_status run_pipeline(const char *path, test_diag_buf *buf, dlb_registry *reg,
                               int *n_uncovered) {
    dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = buf};
    dlb_graph *g = NULL;
    dlb_lowered *l = NULL;
    dlb_status st = dlb_graph_load(path, &d, &g);
    if (st == DLB_OK) st = dlb_graph_infer_shapes(g, &d);
    if (st == DLB_OK) {
        dlb_lower_options o = {.fuse = true};
        st = dlb_lower(g, &o, &d, &l);
    }
    if (st == DLB_OK && n_uncovered) {
        *n_uncovered = 0;
        for (int i = 0; i < l->n_layers; i++) *n_uncovered += !l->layers[i].covered;
    }
    if (st == DLB_OK && reg) st = dlb_registry_add(reg, l, 1);
    dlb_lowered_free(l);
    dlb_graph_free(g);
    return st;
}

static void test_opset_variants(void) {
    static const char *files[] = {
        "cnn_opset11.onnx",          "cnn_opset11_stripped.onnx",   "cnn_opset13.onnx",
        "cnn_opset13_stripped.onnx", "cnn_opset13_float_data.onnx", "cnn_opset13_external.onnx",
        "cnn_opset17.onnx",          "cnn_opset17_stripped.onnx"};
    dlb_registry *reg = dlb_registry_new(1);
    int n_after_first = -1;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/opset/%s", data_dir, files[i]);
        test_diag_buf buf = {0};
        int unc = -1;
        dlb_status st = run_pipeline(path, &buf, reg, &unc);
        if (st != DLB_OK) fprintf(stderr, "%s:\n%s", files[i], buf.text);
        ASSERT_EQ_INT(st, DLB_OK);
        ASSERT_EQ_INT(unc, 0);
        ASSERT(strstr(buf.text, "error:") == NULL);
        /* Graph output: logits 1x10 whatever the opset or weight storage. */
        dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = &buf};
        dlb_graph *g = NULL;
        if (dlb_graph_load(path, &d, &g) == DLB_OK && dlb_graph_infer_shapes(g, &d) == DLB_OK) {
            const dlb_tensor *y = &g->tensors[g->outputs[0]];
            char s[64];
            dlb_shape_format(&y->shape, s, sizeof s);
            ASSERT_STREQ(s, "1x10");
            ASSERT_EQ_INT(g->opset, files[i][9] == '1' && files[i][10] == '1' ? 11
                                    : files[i][10] == '3'                     ? 13
                                                                              : 17);
        }
        dlb_graph_free(g);
        if (i == 0) n_after_first = dlb_registry_n_bricks(reg);
    }
    /* Stripped, typed float_data and external weights give the same bricks as the weighted
     * file: nothing new after the first file of each opset beyond opset-specific ops. */
    int total = dlb_registry_n_bricks(reg);
    ASSERT(n_after_first > 0);
    for (int m = 0; m < dlb_registry_n_models(reg); m++) {
        const dlb_model_entry *e = dlb_registry_model(reg, m);
        if (strstr(e->name, "_stripped") || strstr(e->name, "_float_data") ||
            strstr(e->name, "_external"))
            ASSERT_EQ_INT(e->new_bricks, 0);
    }
    printf("opset variants: %d unique bricks over %d files\n", total, dlb_registry_n_models(reg));
    dlb_registry_free(reg);
}

/* Same bytes under another name: identical brick ids (names never enter keys). */
static void test_name_invariance(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/opset/cnn_opset13.onnx", data_dir);
    FILE *f = fopen(path, "rb");
    ASSERT(f != NULL);
    if (!f) return;
    static char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    dlb_registry *a = dlb_registry_new(1), *b = dlb_registry_new(1);
    const char *names[2] = {"x/one.onnx", "y/completely_different_name.onnx"};
    dlb_registry *regs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        test_diag_buf buf = {0};
        dlb_diag d = {.file = names[k], .emit = test_diag_capture, .ctx = &buf};
        dlb_graph *g = NULL;
        dlb_lowered *l = NULL;
        ASSERT_EQ_INT(dlb_graph_load_buffer(bytes, n, names[k], &d, &g), DLB_OK);
        ASSERT_EQ_INT(dlb_graph_infer_shapes(g, &d), DLB_OK);
        dlb_lower_options o = {.fuse = true};
        ASSERT_EQ_INT(dlb_lower(g, &o, &d, &l), DLB_OK);
        ASSERT_EQ_INT(dlb_registry_add(regs[k], l, 1), DLB_OK);
        dlb_lowered_free(l);
        dlb_graph_free(g);
    }
    ASSERT_EQ_INT(dlb_registry_n_bricks(a), dlb_registry_n_bricks(b));
    for (int i = 0; i < dlb_registry_n_bricks(a); i++)
        ASSERT(dlb_registry_brick(a, i)->id == dlb_registry_brick(b, i)->id);
    ASSERT_STREQ(dlb_registry_model(b, 0)->name, "completely_different_name");
    dlb_registry_free(a);
    dlb_registry_free(b);
}

/* tests/data/bad/expected.tsv: file, bytes, expected line pattern, verdict. */
static void test_bad_inputs(void) {
    char tsv[1024];
    snprintf(tsv, sizeof tsv, "%s/bad/expected.tsv", data_dir);
    FILE *f = fopen(tsv, "r");
    ASSERT(f != NULL);
    if (!f) return;
    char line[2048];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *file = strtok(line, "\t"), *bytes = strtok(NULL, "\t");
        char *pattern = strtok(NULL, "\t"), *verdict = strtok(NULL, "\t");
        (void)bytes;
        if (!file || !pattern || !verdict) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/bad/%s", data_dir, file);
        test_diag_buf buf = {0};
        int unc = 0;
        dlb_status st = run_pipeline(path, &buf, NULL, &unc);
        cases++;
        bool want_error = !strncmp(verdict, "error", 5);
        bool want_warning = !strncmp(verdict, "warning", 7);
        if (want_error != (st != DLB_OK))
            fprintf(stderr, "%s: status %s, diagnostics:\n%s", file, dlb_errname(st), buf.text);
        ASSERT_EQ_INT(st != DLB_OK, want_error);
        if (want_warning) {
            ASSERT(unc > 0);
            ASSERT_CONTAINS(buf.text, "warning: ");
        }
        if (!want_error && !want_warning) ASSERT(strstr(buf.text, "error:") == NULL);
        if (want_error) {
            /* Exactly one error line, in the documented form with FILE substituted. */
            int n_err = 0;
            for (const char *p = buf.text; (p = strstr(p, "error: ")); p++) n_err++;
            ASSERT_EQ_INT(n_err, 1);
            char re_src[1024];
            char *fp = strstr(pattern, "FILE");
            if (fp) {
                *fp = 0;
                snprintf(re_src, sizeof re_src, "%s%s%s", pattern, path, fp + 4);
            } else {
                snprintf(re_src, sizeof re_src, "%s", pattern);
            }
            regex_t re;
            ASSERT_EQ_INT(regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB), 0);
            if (regexec(&re, buf.text, 0, NULL, 0) != 0) {
                fprintf(stderr, "%s: no line matches /%s/ in:\n%s", file, re_src, buf.text);
                test_failures++;
            }
            regfree(&re);
        }
    }
    fclose(f);
    ASSERT(cases >= 20);
    printf("bad inputs: %d cases\n", cases);
}

int main(int argc, char **argv) {
    data_dir = argc > 1 ? argv[1] : "tests/data";
    test_opset_variants();
    test_name_invariance();
    test_bad_inputs();
    return test_summary("test_load");
}
