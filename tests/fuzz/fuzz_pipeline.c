/* fuzz_pipeline.c — libFuzzer target: one ONNX file through the whole dry-run pipeline.
 *
 * load (from memory) -> batch (the stored one, then one chosen by an input byte) -> static
 * shapes -> lowering (fused view, and the raw view on some inputs) -> bricks in a registry
 * (and every brick through its wire encoding and back) -> free everything.  Diagnostics go to
 * a sink that only checks their format and discards them.  Built with libFuzzer
 * (tests/fuzz/CMakeLists.txt, -DDLB_FUZZ=ON) or with tests/fuzz/replay_main.c (CTest
 * fuzz_replay, every build).  A broken invariant calls abort(), which both drivers report. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlbricks/brick.h"
#include "dlbricks/diag.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FILE "fuzz.onnx"

/* Every diagnostic line starts with "SEV: FILE: "; anything else is a bug of the sink's users. */
static void discard_line(void *ctx, dlb_severity sev, const char *line) {
    static const char *const words[] = {"note: ", "warning: ", "error: "};
    const char *w = words[sev <= DLB_SEV_ERROR ? sev : DLB_SEV_ERROR];
    size_t n = strlen(w);
    if (strncmp(line, w, n) != 0 || strncmp(line + n, FUZZ_FILE ": ", sizeof FUZZ_FILE + 1) != 0) {
        fprintf(stderr, "fuzz_pipeline: malformed diagnostic line: %s\n", line);
        abort();
    }
    (*(int *)ctx)++;
}

/* Batch sizes the CLI accepts (1 .. 2^31-1), small and large ones. */
static int64_t batch_of_byte(uint8_t b) {
    static const int64_t big[] = {2, 3, 7, 16, 64, 255, 1000, 4096, 65536, 1 << 20, 2147483647};
    if (b & 0x80) return big[(b & 0x7f) % (sizeof big / sizeof *big)];
    return 1 + (b & 0x7f);
}

/* Encode every brick of the registry and decode it again: must give the same key and id. */
static void check_wire_round_trip(const dlb_registry *r) {
    for (int i = 0; i < dlb_registry_n_bricks(r); i++) {
        const dlb_brick *b = dlb_registry_brick(r, i);
        void *buf = NULL;
        size_t len = 0;
        if (dlb_brick_encode(b, &buf, &len) != DLB_OK) abort();
        dlb_brick_decoded *d = NULL;
        if (dlb_brick_decode(buf, len, &d) != DLB_OK) abort();
        const dlb_brick *c = dlb_brick_decoded_brick(d);
        if (c->id != b->id || strcmp(c->key, b->key) != 0 || c->n_ops != b->n_ops ||
            c->n_edges != b->n_edges)
            abort();
        dlb_brick_decoded_free(d);
        free(buf);
    }
}

/* Shapes, lowering and registration of the graph as its batch now stands. */
static void run_batch(dlb_graph *g, dlb_registry *reg, dlb_diag *d, bool fuse, int64_t batch) {
    int errors = d->n_errors;
    dlb_status st = dlb_graph_infer_shapes(g, d);
    if (st != DLB_OK) {
        if (d->n_errors == errors && st != DLB_ENOMEM) {
            fprintf(stderr, "fuzz_pipeline: shape inference failed (%s) without an error line\n",
                    dlb_errname(st));
            abort();
        }
        return;
    }
    dlb_lower_options lo = {.fuse = fuse};
    dlb_lowered *l = NULL;
    if (dlb_lower(g, &lo, d, &l) == DLB_OK) {
        char key[512];
        for (int j = 0; j < l->n_layers; j++)
            if (l->layers[j].covered) dlb_op_spec_key(&l->layers[j].spec, key, sizeof key);
        (void)dlb_registry_add(reg, l, batch);
    }
    dlb_lowered_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int lines = 0;
    dlb_diag d = {.file = FUZZ_FILE, .emit = discard_line, .ctx = &lines};
    dlb_graph *g = NULL;
    dlb_status st = dlb_graph_load_buffer(data, size, FUZZ_FILE, &d, &g);
    if (st != DLB_OK) {
        if (d.n_errors == 0 && st != DLB_ENOMEM) { /* every failure must say why */
            fprintf(stderr, "fuzz_pipeline: load failed (%s) without an error line\n",
                    dlb_errname(st));
            abort();
        }
        dlb_graph_free(g);
        return 0;
    }
    /* Knobs from the last input byte (varies little in valid files, so mutations reach it). */
    uint8_t knob = data[size - 1];
    dlb_registry *reg = dlb_registry_new(1 + (knob & 3));
    if (!reg) abort();

    /* The run without --batch: the stored batch, or 1 for a symbolic one. */
    int64_t used = dlb_graph_apply_batch(g, 0);
    run_batch(g, reg, &d, true, used);

    /* A batch size from one input byte, in the fused or (on some inputs) the raw view. */
    int64_t batch = batch_of_byte(knob ^ (uint8_t)(size >> 3));
    if (dlb_graph_apply_batch(g, batch) == batch) run_batch(g, reg, &d, !(knob & 4), batch);
    if (knob & 8) {
        (void)dlb_graph_set_batch(g, 1);
        run_batch(g, reg, &d, false, 1);
    }
    check_wire_round_trip(reg);

    dlb_registry_stats s;
    dlb_registry_get_stats(reg, &s);
    if (s.unique != dlb_registry_n_bricks(reg) || s.covered_layers > s.layers) abort();
    dlb_registry_free(reg);
    dlb_graph_free(g);
    return 0;
}
