/* test_calibrate.c — --weights auto: which models calibrate, the options of a calibration pass,
 * and the choice between cold and distance weights. */
#include "cli/cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static const char *base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The calibration models of the default zoo (SRC/zoo) under opt, which names that zoo. */
static dlb_status default_zoo_models(const char *src, char *dir, size_t size, char **paths,
                                     dlb_cli_options *opt, dlb_cli_calibration *c) {
    snprintf(dir, size, "%s/zoo", src);
    paths[0] = dir;
    opt->fuse = true;
    opt->paths = paths;
    opt->n_paths = 1;
    return dlb_cli_calibration_models(opt, c);
}

/* The default zoo: the three models with the fewest FLOPs above the toy floor, fewest first. */
static void test_models_of_zoo(const char *src) {
    char zoo[4096], *paths[1];
    dlb_cli_options opt = {0};
    dlb_cli_calibration c;
    ASSERT_EQ_INT(default_zoo_models(src, zoo, sizeof zoo, paths, &opt, &c), DLB_OK);
    ASSERT_EQ_INT(c.n, DLB_CALIBRATION_MODELS);
    ASSERT_STREQ(base(c.paths[0]), "shufflenet_v2_x0_5.onnx");
    ASSERT_STREQ(base(c.paths[1]), "mobilenet_v3_small.onnx");
    ASSERT_STREQ(base(c.paths[2]), "mnasnet0_5.onnx");
    ASSERT_STREQ(c.batches, "stored");
    dlb_cli_calibration_free(&c);
    /* the batch sizes a calibration holds for go into its line */
    opt.n_batches = 2;
    opt.batches[0] = 1;
    opt.batches[1] = 16;
    ASSERT_EQ_INT(dlb_cli_calibration_models(&opt, &c), DLB_OK);
    ASSERT_STREQ(c.batches, "1,16");
    ASSERT_STREQ(base(c.paths[0]), "shufflenet_v2_x0_5.onnx"); /* chosen at batch 1 either way */
    dlb_cli_calibration_free(&c);
}

/* A zoo of toys only (all under the FLOP floor): its three largest.  A zoo of one model, a
 * model that does not load, a PATH without models. */
static void test_models_of_small_zoos(const char *src) {
    char tiny[4096], one[4096], bad[4096];
    snprintf(tiny, sizeof tiny, "%s/zoo/tiny", src);
    snprintf(one, sizeof one, "%s/zoo/resnet18.onnx", src);
    snprintf(bad, sizeof bad, "%s/tests/data/bad/truncated.onnx", src);
    char *p1[] = {tiny};
    dlb_cli_options opt = {.fuse = true, .paths = p1, .n_paths = 1};
    dlb_cli_calibration c;
    ASSERT_EQ_INT(dlb_cli_calibration_models(&opt, &c), DLB_OK);
    ASSERT_EQ_INT(c.n, 3);
    ASSERT_STREQ(base(c.paths[0]), "tiny_mobilenetv3.onnx");
    ASSERT_STREQ(base(c.paths[1]), "tiny_efficientnet.onnx");
    ASSERT_STREQ(base(c.paths[2]), "tiny_resnet.onnx");
    dlb_cli_calibration_free(&c);

    char *p2[] = {one, bad};
    opt.paths = p2;
    opt.n_paths = 2;
    ASSERT_EQ_INT(dlb_cli_calibration_models(&opt, &c), DLB_OK);
    ASSERT_EQ_INT(c.n, 1); /* the model that does not load is left out */
    ASSERT_STREQ(base(c.paths[0]), "resnet18.onnx");
    dlb_cli_calibration_free(&c);
}

/* A calibration pass: the calibration models, validated, nothing stored, weights (and cold
 * inputs unless given) as the pass says; the rest of the options kept. */
static void test_pass_options(void) {
    char *zoo[] = {"zoo"};
    dlb_cli_options opt = {.paths = zoo,
                           .n_paths = 1,
                           .weights_auto = true,
                           .output = "r.h5",
                           .resume = true,
                           .bricks_out = "b.csv",
                           .min_reps = 7,
                           .granularity = 2,
                           .n_batches = 1,
                           .batches = {16}};
    dlb_cli_calibration c = {.n = 2};
    c.paths[0] = "a.onnx";
    c.paths[1] = "b.onnx";
    dlb_cli_options po;
    dlb_cli_calibration_options(&opt, &c, true, &po);
    ASSERT_EQ_INT(po.n_paths, 2);
    ASSERT_STREQ(po.paths[1], "b.onnx");
    ASSERT(po.validate && !po.output && !po.resume && !po.bricks_out && po.quiet);
    ASSERT(po.weights_distance && po.cold_distance && !po.weights_auto && !po.warm_weights);
    ASSERT_EQ_INT(po.min_reps, 7);
    ASSERT_EQ_INT(po.granularity, 2);
    ASSERT_EQ_INT(po.batches[0], 16);
    dlb_cli_calibration_options(&opt, &c, false, &po);
    ASSERT(!po.weights_distance && !po.cold_distance);
    opt.cold_inputs_given = true; /* --cold-inputs memory stays memory under distance weights */
    dlb_cli_calibration_options(&opt, &c, true, &po);
    ASSERT(po.weights_distance && !po.cold_distance);
    dlb_cli_options run = opt;
    run.cold_inputs_given = false;
    dlb_cli_weights_choice(&run, true);
    ASSERT(run.weights_distance && run.cold_distance && !run.weights_auto);
}

/* The passes run cold, distance, distance, cold, and each pass's error adds to its rule's sum.
 * The case of session 14 at batch 16: a first pair that favoured cold (4.8 % against 7.5 %)
 * against the usual (cold 12 %, distance 2 %) in the second; the pair alone chose cold, the four
 * passes choose distance.  c: calibration models found, errors cleared here. */
static void check_passes(dlb_cli_calibration *c, FILE *out) {
    ASSERT_EQ_INT(DLB_CALIBRATION_PASSES, 4);
    ASSERT(!dlb_cli_calibration_pass_distance(0) && dlb_cli_calibration_pass_distance(1));
    ASSERT(dlb_cli_calibration_pass_distance(2) && !dlb_cli_calibration_pass_distance(3));
    c->err[0] = c->err[1] = (dlb_cli_check_error){0, 0};
    const double pct[4] = {4.8, 7.5, 2.0, 12.0};
    for (int pass = 0; pass < 4; pass++) {
        dlb_cli_check_error e = {3, 3 * log1p(pct[pass] / 100)};
        dlb_cli_calibration_add(c, pass, &e);
        if (pass == 1) {
            dlb_cli_calibration c2 = *c;
            ASSERT(!dlb_cli_calibration_choose(&c2, out)); /* the first pair: cold */
        }
    }
    ASSERT_EQ_INT(c->err[0].models, 6);
    ASSERT_EQ_INT(c->err[1].models, 6);
    ASSERT(dlb_cli_calibration_choose(c, out));
    ASSERT_CONTAINS(c->summary, "validated=6,6 cold_error_pct=8.3 distance_error_pct=4.7");
}

/* The choice: distance only when its mean |ln(estimate/measured)| is smaller by the margin. */
static void test_choice(const char *src) {
    char zoo[4096], *paths[1];
    dlb_cli_options opt = {0};
    dlb_cli_calibration c;
    ASSERT_EQ_INT(default_zoo_models(src, zoo, sizeof zoo, paths, &opt, &c), DLB_OK);
    FILE *out = tmpfile();
    ASSERT(out != NULL);
    if (!out) return;
    /* cold 20 % high on all three, distance 2 % low on all three */
    c.err[0] = (dlb_cli_check_error){3, 3 * log(1.2)};
    c.err[1] = (dlb_cli_check_error){3, 3 * fabs(log(0.98))};
    c.wall_s = 12.5;
    ASSERT(dlb_cli_calibration_choose(&c, out));
    ASSERT(c.distance);
    ASSERT_CONTAINS(c.summary, "models=shufflenet_v2_x0_5,mobilenet_v3_small,mnasnet0_5 "
                               "batch=stored validated=3,3");
    ASSERT_CONTAINS(c.summary, "validated=3,3 cold_error_pct=20.0 distance_error_pct=2.0");
    ASSERT_CONTAINS(c.summary, "weights=distance wall_s=12.5");
    /* within the margin: cold stays */
    c.err[1] = (dlb_cli_check_error){3, 3 * (log(1.2) - DLB_CALIBRATION_MARGIN / 2)};
    ASSERT(!dlb_cli_calibration_choose(&c, out));
    ASSERT_CONTAINS(c.summary, "weights=cold");
    /* cold nearer: cold */
    c.err[1] = (dlb_cli_check_error){3, 3 * log(1.3)};
    ASSERT(!dlb_cli_calibration_choose(&c, out));
    /* a pass that validated nothing: cold, whatever the other says */
    c.err[0] = (dlb_cli_check_error){0, 0};
    c.err[1] = (dlb_cli_check_error){3, 0};
    ASSERT(!dlb_cli_calibration_choose(&c, out));
    ASSERT_CONTAINS(c.summary, "validated=0,3");
    /* the line printed is "calibration: " and the summary */
    char line[512] = "";
    rewind(out);
    char last[512] = "";
    while (fgets(line, sizeof line, out)) snprintf(last, sizeof last, "%s", line);
    ASSERT(strncmp(last, "calibration: models=", 20) == 0);
    ASSERT_CONTAINS(last, c.summary);
    check_passes(&c, out);
    fclose(out);
    dlb_cli_calibration_free(&c);
}

int main(int argc, char **argv) {
    const char *src = argc > 1 ? argv[1] : ".";
    test_models_of_zoo(src);
    test_models_of_small_zoos(src);
    test_pass_options();
    test_choice(src);
    return test_summary("test_calibrate");
}
