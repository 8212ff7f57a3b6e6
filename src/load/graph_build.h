/* graph_build.h — turn unpacked ONNX protobuf-c messages into the graph IR (private). */
#ifndef DLB_GRAPH_BUILD_H
#define DLB_GRAPH_BUILD_H

#include "dlbricks/graph.h"
#include "onnx.pb-c.h"

typedef struct dlb__graph_source {
    const Onnx__GraphProto *graph; /* without initializers */
    Onnx__TensorProto *const *inits;
    const bool *init_has_data;
    size_t n_inits;
    int64_t opset;
    int64_t ir_version;
    bool read_weights;
} dlb__graph_source;

dlb_status dlb__graph_build(const dlb__graph_source *src, const char *path, dlb_diag *diag,
                            dlb_graph **out);

/* Read the contents of a small TensorProto into v (arena memory); false if not available. */
bool dlb__tensor_proto_value(dlb_arena *a, const Onnx__TensorProto *t, dlb_value *v);

/* Topological order (Kahn); on a cycle reports a node on it and returns DLB_ECYCLE. */
dlb_status dlb__graph_toposort(dlb_graph *g, dlb_diag *diag);

/* Name index. */
int dlb__name_index_build(dlb_graph *g);
int dlb__name_index_insert(dlb_graph *g, const char *name, int tensor);
void dlb__name_index_free(dlb_graph *g);

#endif
