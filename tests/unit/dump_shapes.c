/* dump_shapes.c — debug tool: load ONNX models, infer shapes, print "tensor shape" lines. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlbricks/graph.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Usage: dump_shapes [--batch N] [--quiet] model.onnx...
 * Per model: "# model PATH status shapes_ok" then "tensor<TAB>shape<TAB>dtype[<TAB>const]". */
int main(int argc, char **argv) {
    long long batch = 0;
    int quiet = 0, rc = 0;
    double total = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = atoll(argv[++i]);
            continue;
        }
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
            continue;
        }
        dlb_diag diag = {.file = argv[i]};
        dlb_graph *g = NULL;
        double t0 = now();
        dlb_status st = dlb_graph_load(argv[i], &diag, &g);
        if (st == DLB_OK && batch > 0) st = dlb_graph_set_batch(g, batch);
        if (st == DLB_OK) st = dlb_graph_infer_shapes(g, &diag);
        total += now() - t0;
        printf("# model %s %s shapes_ok=%d\n", argv[i], dlb_errname(st), g ? g->shapes_ok : 0);
        if (st != DLB_OK) rc = 1;
        for (int k = 0; g && !quiet && k < g->n_tensors; k++) {
            const dlb_tensor *t = &g->tensors[k];
            char buf[160];
            dlb_shape_format(&t->shape, buf, (int)sizeof buf);
            printf("%s\t%s\t%s%s\n", t->name, t->shape.rank == 0 ? "" : buf,
                   dlb_dtype_name(t->dtype), t->is_const ? "\tconst" : "");
        }
        dlb_graph_free(g);
    }
    fprintf(stderr, "load+infer total %.3f s\n", total);
    return rc;
}
