/* graph.h — graph IR of a loaded ONNX model: tensors, nodes, attributes, static shapes. */
#ifndef DLBRICKS_GRAPH_H
#define DLBRICKS_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlbricks/diag.h"
#include "dlbricks/status.h"

#define DLB_MAX_RANK 8

/* X(NAME, onnx TensorProto.DataType value, short name, bytes per element). */
#define DLB_DTYPE_MAP(X)                                                                           \
    X(UNDEFINED, 0, "undef", 0)                                                                    \
    X(F32, 1, "f32", 4)                                                                            \
    X(U8, 2, "u8", 1)                                                                              \
    X(S8, 3, "s8", 1)                                                                              \
    X(U16, 4, "u16", 2)                                                                            \
    X(S16, 5, "s16", 2)                                                                            \
    X(S32, 6, "s32", 4)                                                                            \
    X(S64, 7, "s64", 8)                                                                            \
    X(STRING, 8, "str", 0)                                                                         \
    X(BOOL, 9, "bool", 1)                                                                          \
    X(F16, 10, "f16", 2)                                                                           \
    X(F64, 11, "f64", 8)                                                                           \
    X(U32, 12, "u32", 4)                                                                           \
    X(U64, 13, "u64", 8)                                                                           \
    X(C64, 14, "c64", 8)                                                                           \
    X(C128, 15, "c128", 16)                                                                        \
    X(BF16, 16, "bf16", 2)

typedef enum dlb_dtype {
#define DLB_DTYPE_ENUM_(name, val, str, size) DLB_DT_##name = val,
    DLB_DTYPE_MAP(DLB_DTYPE_ENUM_)
#undef DLB_DTYPE_ENUM_
} dlb_dtype;

const char *dlb_dtype_name(dlb_dtype dt); /* "f32", ...; "?" if unknown */
int dlb_dtype_size(dlb_dtype dt);         /* bytes per element; 0 if unknown */
bool dlb_dtype_is_float(dlb_dtype dt);    /* f16, bf16, f32, f64 */
bool dlb_dtype_is_integer(dlb_dtype dt);  /* signed/unsigned integers and bool */

/* A static shape.  rank < 0: unknown.  A dim < 0: unknown (symbolic in the file). */
typedef struct dlb_shape {
    int rank;
    int64_t dims[DLB_MAX_RANK];
} dlb_shape;

/* Known contents of a small constant tensor (shape arithmetic, axes, pads, scalars).
 * Integer and bool dtypes use i[], float dtypes use f[]; the other pointer is NULL. */
typedef struct dlb_value {
    int64_t n; /* number of elements */
    int64_t *i;
    double *f;
} dlb_value;

/* Largest tensor whose contents we keep or compute (elements).  Weights are never read. */
#define DLB_MAX_CONST_ELEMS 4096

typedef struct dlb_tensor {
    const char *name;
    dlb_dtype dtype;
    dlb_shape shape;    /* inferred (or, for inputs and initializers, given) shape */
    dlb_shape declared; /* shape from value_info / graph outputs; rank < 0 if none */
    int producer;       /* node index; -1 for graph inputs and initializers */
    int *consumers;     /* node indices (a node consuming twice appears twice) */
    int n_consumers;
    bool is_initializer; /* declared in graph.initializer */
    bool is_input;       /* a graph input that is not an initializer */
    bool is_output;      /* a graph output */
    bool has_data;       /* the file carried the initializer's data (weights present) */
    bool is_external;    /* data stored externally (never opened) */
    bool is_const;       /* value below is known (read from the file or folded) */
    dlb_value value;
    const float *weights; /* all elements as f32, only when loaded with read_weights */
} dlb_tensor;

typedef enum dlb_attr_type {
    DLB_ATTR_UNDEFINED = 0,
    DLB_ATTR_FLOAT = 1,
    DLB_ATTR_INT = 2,
    DLB_ATTR_STRING = 3,
    DLB_ATTR_TENSOR = 4,
    DLB_ATTR_GRAPH = 5,
    DLB_ATTR_FLOATS = 6,
    DLB_ATTR_INTS = 7,
    DLB_ATTR_STRINGS = 8,
} dlb_attr_type;

typedef struct dlb_attr {
    const char *name;
    dlb_attr_type type;
    int64_t i;         /* INT */
    double f;          /* FLOAT */
    const char *s;     /* STRING (NUL-terminated copy) */
    int64_t *ints;     /* INTS */
    double *floats;    /* FLOATS */
    int n;             /* element count of INTS / FLOATS / STRINGS */
    dlb_dtype t_type;  /* TENSOR: dtype */
    dlb_shape t_shape; /* TENSOR: dims */
    bool t_has_value;  /* TENSOR: contents known (small tensors only) */
    dlb_value t_value; /* TENSOR: contents */
} dlb_attr;

typedef struct dlb_node {
    const char *name;    /* never NULL: "op_type#index" when the file has no name */
    const char *op_type; /* e.g. "Conv" */
    const char *domain;  /* "" for the default ONNX domain */
    int *in;             /* tensor indices; -1 for an omitted optional input */
    int n_in;
    int *out; /* tensor indices; -1 for an omitted optional output */
    int n_out;
    dlb_attr *attrs;
    int n_attrs;
    bool has_subgraph; /* If/Loop/Scan bodies: never benchmarked */
} dlb_node;

typedef struct dlb_arena dlb_arena;

typedef struct dlb_graph {
    const char *path; /* file it came from */
    const char *name; /* file stem: "resnet50" for zoo/resnet50.onnx */
    int64_t opset;    /* opset of the default domain */
    int64_t ir_version;
    dlb_tensor *tensors;
    int n_tensors;
    dlb_node *nodes;
    int n_nodes;
    int *order;  /* topological order of node indices (n_nodes entries) */
    int *inputs; /* graph inputs that are not initializers */
    int n_inputs;
    int *outputs;
    int n_outputs;
    bool shapes_ok;   /* every tensor consumed by a covered node has a static shape */
    dlb_arena *arena; /* owns everything above */
    void *name_index; /* private name -> tensor lookup */
} dlb_graph;

/** \brief Load an ONNX model (mmap, protobuf-c).  Weights are never read; only small integer
 *  and float constants are.  On success *out owns a graph with topological order but no shapes
 *  beyond inputs and initializers.  Errors are reported through \p diag (file = \p path).
 *  \return DLB_OK, DLB_EIO, DLB_EPARSE, DLB_EMODEL (dangling references, duplicate outputs,
 *  missing initializers), DLB_ECYCLE, DLB_ENOMEM. */
dlb_status dlb_graph_load(const char *path, dlb_diag *diag, dlb_graph **out);

typedef struct dlb_load_options {
    bool read_weights; /* also read float initializer data (validation against frameworks) */
} dlb_load_options;

/** \brief dlb_graph_load with options (NULL: defaults, weights never read). */
dlb_status dlb_graph_load_ex(const char *path, const dlb_load_options *opt, dlb_diag *diag,
                             dlb_graph **out);

/** \brief Same as dlb_graph_load, from memory; \p name is used as the model name. */
dlb_status dlb_graph_load_buffer(const void *data, size_t size, const char *path, dlb_diag *diag,
                                 dlb_graph **out);

/** \brief Copy an ONNX ModelProto with the data of every tensor larger than \p max_keep
 *  bytes removed (dims, data_type, name, doc kept), at the protobuf wire level: initializers
 *  of the main graph and of nested graphs (If/Loop/Scan attributes), Constant-node tensor
 *  attributes, and sparse initializers.  External-data references are kept as they are (the
 *  loader never opens them).  *out is malloc'd.  \return DLB_OK, DLB_EPARSE (malformed),
 *  DLB_ENOMEM */
dlb_status dlb_onnx_strip_weights(const void *data, size_t size, size_t max_keep, void **out,
                                  size_t *out_len);

void dlb_graph_free(dlb_graph *g);

/** \brief Infer static shapes of every tensor in topological order, folding shape arithmetic.
 *  Resets everything inferred before, so it can be re-run after dlb_graph_set_batch().
 *  Nodes whose shapes cannot be inferred are reported as warnings (their outputs stay unknown).
 *  \return DLB_OK; DLB_ESHAPE for invalid dims (zero/negative); DLB_EOVERFLOW for int64
 *  overflow of element counts; DLB_ENOMEM. */
dlb_status dlb_graph_infer_shapes(dlb_graph *g, dlb_diag *diag);

/** \brief Rewrite the leading (batch) dim of every graph input of rank >= 1 to \p batch. */
dlb_status dlb_graph_set_batch(dlb_graph *g, int64_t batch);

/** \brief Apply the batch size a run asks for: \p batch if > 0; otherwise 1 when an input has a
 *  symbolic leading dim (dynamic-batch exports), else leave the file's shapes alone.
 *  \return the batch size set, or 0 when the stored shapes are kept. */
int64_t dlb_graph_apply_batch(dlb_graph *g, int64_t batch);

/* Lookups; NULL / -1 when absent. */
int dlb_graph_find_tensor(const dlb_graph *g, const char *name);
const dlb_attr *dlb_node_attr(const dlb_node *n, const char *name);
int64_t dlb_node_attr_int(const dlb_node *n, const char *name, int64_t dflt);
double dlb_node_attr_float(const dlb_node *n, const char *name, double dflt);
const char *dlb_node_attr_string(const dlb_node *n, const char *name, const char *dflt);

/* Shapes. */
bool dlb_shape_known(const dlb_shape *s); /* rank >= 0 and every dim >= 0 */
bool dlb_shape_equal(const dlb_shape *a, const dlb_shape *b);
int64_t dlb_shape_numel(const dlb_shape *s); /* -1 if unknown or overflowing */
/* "1x3x224x224" ("?" for unknown dims, "scalar" for rank 0, "unknown" for unknown rank). */
int dlb_shape_format(const dlb_shape *s, char *buf, int size);

#endif
