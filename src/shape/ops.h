/* ops.h — private table of the ONNX ops that shape inference knows: class and infer function. */
#ifndef DLB_SHAPE_OPS_H
#define DLB_SHAPE_OPS_H

#include <stdbool.h>

#include "dlbricks/graph.h"

/* What running a node costs. */
typedef enum dlb_op_class {
    DLB_OPC_COMPUTE, /* real work on activations (Conv, Add, Concat, ...) */
    DLB_OPC_VIEW,    /* zero-cost view or copy (Reshape, Flatten, Squeeze, Identity, ...) */
    DLB_OPC_SHAPE,   /* shape arithmetic (Shape, Size, ConstantOfShape, Range) */
} dlb_op_class;

/* Per-run inference state; defined in infer_internal.h (only infer_*.c look inside). */
typedef struct dlb_infer_ctx dlb_infer_ctx;

/* Infer the outputs of one node (shape, dtype and, when small and computable, value).
 * Returns DLB_OK; DLB_EUNSUPPORTED when the node cannot be resolved statically (soft: the driver
 * warns once and falls back to value_info); a hard error after reporting it (ESHAPE, EOVERFLOW,
 * ENOMEM). */
typedef dlb_status (*dlb_infer_fn)(dlb_infer_ctx *c, dlb_node *n);

typedef struct dlb_op_info {
    const char *name; /* ONNX op_type of the default domain */
    dlb_op_class cls;
    dlb_infer_fn infer;
} dlb_op_info;

/** \brief Table entry for an op of the default ONNX domain; NULL if the op is not covered. */
const dlb_op_info *dlb__op_info(const char *op_type);

/** \brief The whole table (sorted by name) and its length, e.g. to list covered ops. */
const dlb_op_info *dlb__op_table(int *count);

/** \brief True for the default ("" or "ai.onnx") domain. */
bool dlb__is_onnx_domain(const char *domain);

/** \brief A node that costs nothing at run time: class VIEW or SHAPE, or every output was
 *  constant-folded by dlb_graph_infer_shapes (Gather/Concat/Slice/Mul on shape tensors).
 *  Only meaningful after dlb_graph_infer_shapes. */
bool dlb__node_is_zero_cost(const dlb_graph *g, const dlb_node *n);

/** \brief A node that passes its first input through unchanged, possibly under another shape:
 *  a VIEW-class op (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout), or a Pad with all
 *  pads zero, a Slice with the same shape and unit steps, an Expand/Tile/Resize/Cast that does
 *  not change shape or dtype (torch exports AvgPool2d as a zero Pad + AveragePool).  Its output
 *  is the same memory as its input; it is zero-cost.  Only meaningful after shape inference. */
bool dlb__node_is_view(const dlb_graph *g, const dlb_node *n);
/* Follow views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, zero Pad) back to the
 * tensor whose memory they show; t itself when it is not a view's output. */
int dlb__view_source(const dlb_graph *g, int t);

#endif
