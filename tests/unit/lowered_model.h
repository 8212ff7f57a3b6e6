/* lowered_model.h — test helper: a model file loaded, shaped for a batch and lowered; the layer
 * writing a tensor.  Set src_dir (the source tree) before the first call. */
#ifndef DLB_TEST_LOWERED_MODEL_H
#define DLB_TEST_LOWERED_MODEL_H

#include <stdio.h>
#include <string.h>

#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "test_util.h"

static const char *src_dir = ".";

typedef struct lowered_model {
    dlb_graph *g;
    dlb_lowered *l;
} lowered_model;

static inline bool lower_file_with(const char *rel, lowered_model *m, const dlb_lower_options *o,
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

static inline bool lower_file_opts(const char *rel, lowered_model *m, bool cold_distance) {
    dlb_lower_options o = {.fuse = true, .cold_distance = cold_distance};
    return lower_file_with(rel, m, &o, 0);
}

static inline bool lower_file(const char *rel, lowered_model *m) {
    return lower_file_opts(rel, m, false);
}

static inline void free_lowered(lowered_model *m) {
    dlb_lowered_free(m->l);
    dlb_graph_free(m->g);
}

/* Index of the covered layer writing tensor t (through views), or -1. */
static inline int producer_of(const dlb_lowered *l, int t) {
    for (int i = 0; i < l->n_layers; i++)
        for (int o = 0; l->layers[i].covered && o < l->layers[i].spec.n_dst; o++)
            if (l->layers[i].dst_tensors[o] == t) return i;
    return -1;
}

#endif
