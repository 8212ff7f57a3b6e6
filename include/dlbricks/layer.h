/* layer.h — lowered layers: ONNX node patterns mapped to single oneDNN-style ops with post-ops. */
#ifndef DLBRICKS_LAYER_H
#define DLBRICKS_LAYER_H

#include "dlbricks/graph.h"

/* Lowered op kinds; each maps to one oneDNN primitive.  X(NAME, key word). */
#define DLB_LOP_MAP(X)                                                                             \
    X(UNCOVERED, "uncovered")                                                                      \
    X(CONV, "conv")                                                                                \
    X(DECONV, "deconv")                                                                            \
    X(MATMUL, "matmul")                                                                            \
    X(INNER_PRODUCT, "inner_product")                                                              \
    X(POOL, "pool")                                                                                \
    X(BNORM, "bnorm")                                                                              \
    X(LNORM, "lnorm")                                                                              \
    X(INORM, "inorm")                                                                              \
    X(LRN, "lrn")                                                                                  \
    X(ELTWISE, "eltwise")                                                                          \
    X(BINARY, "binary")                                                                            \
    X(CONCAT, "concat")                                                                            \
    X(SOFTMAX, "softmax")                                                                          \
    X(REDUCE, "reduce")                                                                            \
    X(RESAMPLE, "resample")                                                                        \
    X(TRANSPOSE, "transpose")                                                                      \
    X(PAD, "pad")                                                                                  \
    X(SLICE, "slice")                                                                              \
    X(SPLIT, "split")                                                                              \
    X(GATHER, "gather")                                                                            \
    X(EXPAND, "expand")

typedef enum dlb_lop {
#define DLB_LOP_ENUM_(name, str) DLB_LOP_##name,
    DLB_LOP_MAP(DLB_LOP_ENUM_)
#undef DLB_LOP_ENUM_
        DLB_LOP_COUNT_
} dlb_lop;

/* Algorithms of eltwise, binary, pool, reduce, resample and softmax ops.  X(NAME, key word). */
#define DLB_ALG_MAP(X)                                                                             \
    X(NONE, "")                                                                                    \
    X(RELU, "relu")                                                                                \
    X(LEAKY_RELU, "leaky_relu")                                                                    \
    X(CLIP, "clip")                                                                                \
    X(LOGISTIC, "logistic")                                                                        \
    X(TANH, "tanh")                                                                                \
    X(HARDSIGMOID, "hardsigmoid")                                                                  \
    X(HARDSWISH, "hardswish")                                                                      \
    X(SWISH, "swish")                                                                              \
    X(GELU_ERF, "gelu_erf")                                                                        \
    X(GELU_TANH, "gelu_tanh")                                                                      \
    X(ELU, "elu")                                                                                  \
    X(SOFTPLUS, "softplus")                                                                        \
    X(EXP, "exp")                                                                                  \
    X(LOG, "log")                                                                                  \
    X(SQRT, "sqrt")                                                                                \
    X(POW, "pow")                                                                                  \
    X(ABS, "abs")                                                                                  \
    X(LINEAR, "linear")                                                                            \
    X(ERF, "erf")                                                                                  \
    X(ROUND, "round")                                                                              \
    X(ADD, "add")                                                                                  \
    X(SUB, "sub")                                                                                  \
    X(MUL, "mul")                                                                                  \
    X(DIV, "div")                                                                                  \
    X(MAX, "max")                                                                                  \
    X(MIN, "min")                                                                                  \
    X(POOL_MAX, "max")                                                                             \
    X(POOL_AVG_INCLUDE, "avg_include")                                                             \
    X(POOL_AVG_EXCLUDE, "avg_exclude")                                                             \
    X(REDUCE_MEAN, "mean")                                                                         \
    X(REDUCE_SUM, "sum")                                                                           \
    X(REDUCE_MAX, "max")                                                                           \
    X(REDUCE_MIN, "min")                                                                           \
    X(REDUCE_PROD, "prod")                                                                         \
    X(REDUCE_L2, "l2")                                                                             \
    X(NEAREST, "nearest")                                                                          \
    X(LINEAR_INTERP, "linear")                                                                     \
    X(SOFTMAX, "softmax")                                                                          \
    X(LOGSOFTMAX, "logsoftmax")

typedef enum dlb_alg {
#define DLB_ALG_ENUM_(name, str) DLB_ALG_##name,
    DLB_ALG_MAP(DLB_ALG_ENUM_)
#undef DLB_ALG_ENUM_
        DLB_ALG_COUNT_
} dlb_alg;

const char *dlb_lop_name(dlb_lop op);
const char *dlb_alg_name(dlb_alg alg);

/* A tensor operand of a lowered op.  plain_layout: the layout class of an activation operand
 * (a source, or a sum/binary post-op operand) when it is a brick's external input — true when
 * the whole model hands it over in plain (row-major) layout, false ("natural") when it arrives
 * in the layout a convolution producing it would choose (docs/bricks.md, section 3).
 * layout_groups: with a natural layout, the group count of the grouped convolution (1 < G <
 * channels) that produced it, whose layout oneDNN picks differently (e.g. nChw8c); 0 for a
 * dense or depthwise one.
 * view_of: where the operand is a view (Reshape, Flatten, ...) that changes the dims of a
 * tensor the model holds in a natural layout, that tensor's shape (rank 0: none), and
 * view_groups its layout_groups.  The whole model reorders that tensor to plain layout before
 * the view, and a brick starts from it in that layout to do the same (docs/bricks.md,
 * section 3); the operand itself is then plain.  view_mixed: that tensor is a concat of a plain
 * first source and natural ones, which oneDNN lays out as the natural sources where their layout
 * is blocked on the CPU and plain where it is not (nhwc): a brick starts from it so. */
typedef struct dlb_operand {
    dlb_dtype dtype;
    dlb_shape shape;
    bool plain_layout;
    int32_t layout_groups;
    bool cold;        /* the model reads it cold: DLB_COLD_DISTANCE bytes went by since a layer last
                       * touched it; of an output (dlb_lower_options.cold_distance only): the model
                       * writes it onto arena bytes last used that far away (docs/bricks.md, 3) */
    int32_t cold_mib; /* cold: that reuse distance in MiB, rounded to a power of two below
                       * DLB_COLD_MEMORY_MIB (a weight's: to a quarter octave,
                       * dlb_weight_bucket_mib); 0: farther (from memory on any cache) */
    bool streamed;    /* an output the op writes with non-temporal stores onto bytes another layer
                       * of the model wrote before: a brick dirties them and ages them out of the
                       * core's private caches before each repetition (docs/bricks.md, 3) */
    int32_t near_kib; /* not cold, with reuse distances (dlb_lower_options.cold_distance): the
                       * model's reuse distance in KiB, a power of two from DLB_NEAR_MIN_KIB (0:
                       * nearer, or not given); a brick rewrites the input before each repetition
                       * amid as many other bytes (docs/bricks.md, section 3) */
    dlb_shape view_of;
    int32_t view_groups;
    bool view_mixed;
} dlb_operand;

/* An activation is cold where a layer reads it when the layers from the last one that wrote or
 * read it (included) to that layer (excluded) touched at least this many bytes (a whole
 * inference for a graph input): four times a typical per-core L2, so the data has left the
 * core's private caches. */
#define DLB_COLD_DISTANCE ((int64_t)4 << 20)
/* Reuse distances from this many MiB (after rounding) are beyond any cache a rank has: the
 * data comes from memory, and keys say just "cold". */
#define DLB_COLD_MEMORY_MIB 256
/** \brief The reuse-distance bucket of \p bytes (>= DLB_COLD_DISTANCE): the nearest power of
 *  two MiB on a log scale, or 0 from DLB_COLD_MEMORY_MIB up. */
int32_t dlb_cold_bucket_mib(int64_t bytes);
/** \brief The bucket of a weight \p bytes away (--weights distance): the nearest quarter octave
 *  (2^(k/4) MiB, rounded to whole MiB: ... 16, 19, 23, 27, 32, 38, ...) on a log scale, at least
 *  1, or 0 (memory) where the nearest is DLB_COLD_MEMORY_MIB / sqrt 2 = 181 MiB or more, that
 *  is from 166 MiB (dlb_cold_bucket_mib: from 181 MiB).  Finer than the octaves
 *  of activations: a small model's weights sit at the last-level cache's knee, where an octave
 *  is too coarse (docs/bricks.md, "Weights at their distance"). */
int32_t dlb_weight_bucket_mib(int64_t bytes);
/* Warm inputs read from nearer than this many KiB (after rounding) are left as a brick's own
 * loop leaves them: its own traffic already puts them about as far. */
#define DLB_NEAR_MIN_KIB 512
/** \brief The near reuse-distance bucket of \p bytes (< DLB_COLD_DISTANCE): the nearest power of
 *  two KiB on a log scale, from DLB_NEAR_MIN_KIB to DLB_COLD_DISTANCE, or 0 below. */
int32_t dlb_near_bucket_kib(int64_t bytes);

typedef enum dlb_post_kind { DLB_POST_ELTWISE, DLB_POST_SUM, DLB_POST_BINARY } dlb_post_kind;

typedef struct dlb_postop {
    dlb_post_kind kind;
    dlb_alg alg;         /* eltwise / binary algorithm */
    double alpha, beta;  /* eltwise parameters (oneDNN meaning) */
    dlb_operand operand; /* sum / binary: the second operand */
} dlb_postop;

#define DLB_MAX_POST 8

/* Normalised attributes; only those that matter for an op are set (see the key rules). */
typedef struct dlb_params {
    int nsp;                                                /* spatial dims (conv, deconv, pool) */
    int64_t kernel[3], stride[3], dilation[3];              /* dilation in ONNX terms (1 = dense) */
    int64_t pad_begin[DLB_MAX_RANK], pad_end[DLB_MAX_RANK]; /* conv/pool: spatial; pad: all dims */
    int64_t group;
    int64_t axis;
    int n_axes;
    int64_t axes[DLB_MAX_RANK]; /* reduce axes, transpose perm, slice axes */
    int64_t starts[DLB_MAX_RANK], ends[DLB_MAX_RANK], steps[DLB_MAX_RANK]; /* slice */
    double alpha, beta, eps;                                               /* eltwise, lrn, norms */
    int64_t size;                                                          /* LRN size */
    bool has_bias;
    bool ceil_mode;
    bool keepdims;
    bool trans_a, trans_b;
    int pad_mode; /* 0 constant, 1 reflect, 2 edge */
} dlb_params;

/* Everything needed to build and time one lowered op, free of graph references. */
typedef struct dlb_op_spec {
    dlb_lop op;
    dlb_alg alg;
    int n_src, n_wei, n_dst;
    dlb_operand *src; /* activations */
    dlb_operand *wei; /* weights / constant operands */
    dlb_operand *dst;
    dlb_params p;
    int n_post;
    dlb_postop post[DLB_MAX_POST];
    bool warm; /* the whole model keeps this op's data in cache: one inference touches less
                * than DLB_COLD_DISTANCE bytes between two runs of it, so a brick timing it
                * neither rotates its weights nor evicts its context (docs/bricks.md, 3) */
} dlb_op_spec;

/* One layer of a model in the chosen view: one ONNX node (raw view) or a fused pattern. */
typedef struct dlb_layer {
    dlb_op_spec spec;
    const char *name;    /* name of the first (anchor) node */
    const char *op_type; /* ONNX op type of the first node */
    const char *pattern; /* fusion rule that formed it ("conv+bn+relu", ...), NULL if none */
    int *nodes;          /* ONNX node indices absorbed, anchor first */
    int n_nodes;
    int *src_tensors;  /* graph tensors feeding spec.src (n_src) */
    int *dst_tensors;  /* graph tensors produced (n_dst) */
    int *wei_tensors;  /* graph tensors of spec.wei (n_wei); -1 where synthesized */
    int bn_tensors[4]; /* conv+bn: scale, B, mean, var of the folded BatchNormalization */
    double bn_eps;
    int post_tensor[DLB_MAX_POST]; /* graph tensor of each sum/binary post-op, -1 otherwise */
    int64_t flops;                 /* see docs/bricks.md for the formulas */
    int64_t bytes;                 /* compulsory traffic: src + wei + dst + post-op operands */
    bool covered;
    const char *why_uncovered; /* reason, when !covered */
} dlb_layer;

typedef struct dlb_lowered {
    const dlb_graph *graph;
    dlb_layer *layers; /* in topological order of their anchor nodes */
    int n_layers;
    int n_zero_cost;          /* nodes that are views or shape arithmetic */
    int *node_layer;          /* graph node -> layer index, -1 for zero-cost nodes */
    int64_t activation_bytes; /* the executor's activation memory for the layers' outputs, as the
                               * lowering replays its placement (with cold_distance or
                               * weights_distance; else 0) */
    dlb_arena *arena;
} dlb_lowered;

typedef struct dlb_lower_options {
    bool fuse;                /* fusion view (default) vs the raw one-node-per-layer view */
    bool cold_distance;       /* cold inputs carry their reuse distance (dlb_operand.cold_mib), so a
                               * brick reads them from as far as the model does; false (default):
                               * every cold input is read from memory (docs/bricks.md, section 3) */
    bool weights_distance;    /* weights of ops the model does not keep in cache carry their reuse
                               * distance too (dlb_operand.cold_mib of dlb_op_spec.wei), so a brick
                               * rotates them at it; false (default): from memory */
    bool bnorm_cached_output; /* the executor's batch normalisations leave their output in
                               * cache (dtypes other than f32); false (default, f32): oneDNN's
                               * JIT kernel writes it with non-temporal stores, so its first
                               * reader finds it in memory (docs/bricks.md, section 3) */
} dlb_lower_options;

/** \brief Lower a shape-inferred graph into layers.  Nodes that cannot be lowered become
 *  uncovered layers (reported as warnings through \p diag).  \return DLB_OK or DLB_ENOMEM. */
dlb_status dlb_lower(const dlb_graph *g, const dlb_lower_options *opt, dlb_diag *diag,
                     dlb_lowered **out);
void dlb_lowered_free(dlb_lowered *l);

/** \brief Canonical key of one op spec, e.g. "conv f32 src=1x64x56x56 wei=64x64x3x3 ...".
 *  \return the length written (truncated to size-1 like snprintf) */
int dlb_op_spec_key(const dlb_op_spec *s, char *buf, int size);

#endif
