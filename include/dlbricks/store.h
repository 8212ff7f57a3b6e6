/* store.h — the results document (runs, systems, bricks, models, estimates) and its HDF5 file. */
#ifndef DLBRICKS_STORE_H
#define DLBRICKS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlbricks/diag.h"
#include "dlbricks/status.h"

/* Bumped on any change of the layout below; written as the root attribute format_version. */
#define DLB_STORE_FORMAT_VERSION 4

/* The one schema definition.  Each table is X(type, name, unit, description) with type one
 * of u64, i64, i32, f64, str.  It makes the C row structs, the HDF5 compound types and the
 * root attribute "schema" (JSON) that the Python reader (analysis/) takes its columns from. */

/* /systems/<system>/bricks: one row per measured brick. */
#define DLB_BRICK_ROW(X)                                                                           \
    X(u64, id, "", "brick id: XXH3-64 of key")                                                     \
    X(str, op, "", "first lowered op of the brick (conv, matmul, pool, ...)")                      \
    X(str, key, "", "canonical human-readable brick key")                                          \
    X(i64, flops, "flop", "floating-point operations of one execution")                            \
    X(i64, bytes, "B", "bytes of operands and results of one execution")                           \
    X(str, impl, "", "oneDNN implementation name(s)")                                              \
    X(str, dtype, "", "data type timed (f32, bf16, int8)")                                         \
    X(i64, batch, "", "leading dimension of the first input")                                      \
    X(i32, threads, "", "OpenMP threads of the timing rank")                                       \
    X(f64, min_ms, "ms", "minimum over repetitions")                                               \
    X(f64, median_ms, "ms", "median over repetitions")                                             \
    X(f64, mean_ms, "ms", "mean over repetitions")                                                 \
    X(f64, stddev_ms, "ms", "sample standard deviation")                                           \
    X(f64, p90_ms, "ms", "90th percentile")                                                        \
    X(f64, ci_low_ms, "ms", "95% CI of the median, low end (distribution-free)")                   \
    X(f64, ci_high_ms, "ms", "95% CI of the median, high end")                                     \
    X(i64, reps, "", "timed repetitions (statistics use all of them)")                             \
    X(i64, sample_start, "", "first raw sample of this brick in the samples dataset")              \
    X(i32, n_samples, "", "raw samples kept (evenly thinned beyond the cap)")                      \
    X(i32, rank, "", "MPI rank that timed it (0 without MPI)")                                     \
    X(str, host, "", "host name of that rank")                                                     \
    X(str, binding, "", "CPU list the rank was bound to (hwloc list)")                             \
    X(i32, oversubscribed, "", "1 if the rank shared cores with other ranks")                      \
    X(str, status, "", "ok, or the DLB_E... name of the failure")                                  \
    X(i32, remeasured, "", "times measured again because the median's CI was too wide")            \
    X(i32, unstable, "", "1 if the CI of the median stayed wider than 5% of it")                   \
    X(str, settings, "", "canonical settings string; the --resume cache key with id")              \
    X(str, run_id, "", "run that measured it (/runs/<run_id>)")                                    \
    X(f64, finished, "s", "UNIX time the result reached rank 0")

/* /systems/<system>/estimates: one row per (model, batch) composed on this system. */
#define DLB_ESTIMATE_ROW(X)                                                                        \
    X(str, model, "", "model name")                                                                \
    X(i64, batch, "", "batch size")                                                                \
    X(str, stat, "", "brick statistic summed (median, min, mean)")                                 \
    X(f64, estimate_ms, "ms", "sum over layers of count x brick statistic")                        \
    X(f64, ci_low_ms, "ms", "estimate from the bricks' CI low ends")                               \
    X(f64, ci_high_ms, "ms", "estimate from the bricks' CI high ends")                             \
    X(f64, critical_path_ms, "ms", "longest path through the layer graph (parallel branches)")     \
    X(f64, coverage, "", "share of the model's FLOPs in measured bricks")                          \
    X(i32, n_layers, "", "layers of the lowered model")                                            \
    X(i32, n_uncovered, "", "layers without a measured brick")                                     \
    X(f64, measured_median_ms, "ms",                                                               \
      "median of the whole-model medians of the check(s) (R+1 runs each; two: their mean)")        \
    X(f64, measured_min_ms, "ms", "whole-model minimum, else NaN")                                 \
    X(f64, measured_p90_ms, "ms", "whole-model 90th percentile, else NaN")                         \
    X(i64, measured_reps, "", "whole-model repetitions, all runs (0: not validated)")              \
    X(f64, close_estimate_ms, "ms",                                                                \
      "bricks re-timed between the whole-model runs at the median's speed (P checks: geomean)")    \
    X(f64, error_pct, "%", "(close_estimate - measured) / measured x 100, else NaN")               \
    X(f64, main_error_pct, "%",                                                                    \
      "(estimate - measured) / measured x 100 (drift included), else NaN")                         \
    X(f64, noise_floor_pct, "%",                                                                   \
      "(largest - smallest whole-model median) / measured_median x 100")                           \
    X(str, settings, "", "canonical settings string")                                              \
    X(str, run_id, "", "run that composed it")

/* /models/<model>/b<batch>/layers: the decomposition, one row per lowered layer. */
#define DLB_LAYER_ROW(X)                                                                           \
    X(i32, index, "", "layer index in execution order")                                            \
    X(str, name, "", "layer name (anchor ONNX node)")                                              \
    X(str, op_type, "", "ONNX op type of the anchor node")                                         \
    X(u64, brick_id, "", "brick id, 0 for an uncovered layer")                                     \
    X(i32, piece_start, "", "1 on the first layer of a brick occurrence")                          \
    X(i64, flops, "flop", "floating-point operations of the layer")

/* /models/<model>/b<batch>/bricks: keys and counts only; enough to compose without the model
 * (the shareable part of a decomposition: no layer names, no order, no weights). */
#define DLB_MODEL_BRICK_ROW(X)                                                                     \
    X(u64, brick_id, "", "brick id")                                                               \
    X(str, key, "", "brick key")                                                                   \
    X(i64, count, "", "occurrences in the model")                                                  \
    X(str, op, "", "first lowered op of the brick (conv, matmul, pool, ...)")                      \
    X(i64, flops, "flop", "floating-point operations of one execution")                            \
    X(i64, bytes, "B", "bytes of operands and results of one execution")

#define DLB_STORE_CTYPE_u64 uint64_t
#define DLB_STORE_CTYPE_i64 int64_t
#define DLB_STORE_CTYPE_i32 int32_t
#define DLB_STORE_CTYPE_f64 double
#define DLB_STORE_CTYPE_str const char *
#define DLB_STORE_FIELD_(type, name, unit, doc) DLB_STORE_CTYPE_##type name;

/* Strings in rows are borrowed on add (copied into the document) and owned by the document on
 * read. */
typedef struct dlb_brick_row {
    DLB_BRICK_ROW(DLB_STORE_FIELD_)
} dlb_brick_row;
typedef struct dlb_estimate_row {
    DLB_ESTIMATE_ROW(DLB_STORE_FIELD_)
} dlb_estimate_row;
typedef struct dlb_layer_row {
    DLB_LAYER_ROW(DLB_STORE_FIELD_)
} dlb_layer_row;
typedef struct dlb_model_brick_row {
    DLB_MODEL_BRICK_ROW(DLB_STORE_FIELD_)
} dlb_model_brick_row;

/* Attributes (provenance, system identity, model facts) are name -> string pairs. */
typedef struct dlb_store_attr {
    const char *name, *value;
} dlb_store_attr;

typedef struct dlb_results dlb_results; /* the whole document, in memory */

dlb_results *dlb_results_new(void);
void dlb_results_free(dlb_results *r);

/* Runs: /runs/<run_id> with provenance attributes.  Adding an attribute twice replaces it. */
dlb_status dlb_results_add_run(dlb_results *r, const char *run_id);
dlb_status dlb_results_run_attr(dlb_results *r, const char *run_id, const char *name,
                                const char *value);
int dlb_results_n_runs(const dlb_results *r);
const char *dlb_results_run_id(const dlb_results *r, int i);
/** \brief Attribute of a run, NULL if absent. */
const char *dlb_results_run_get(const dlb_results *r, const char *run_id, const char *name);

/* Systems: /systems/<name> (created on first use) with identity attributes. */
/** \brief Index of the system, creating it if \p create.  -1 if absent (or on ENOMEM). */
int dlb_results_system(dlb_results *r, const char *name, bool create);
int dlb_results_n_systems(const dlb_results *r);
const char *dlb_results_system_name(const dlb_results *r, int sys);
dlb_status dlb_results_system_attr(dlb_results *r, int sys, const char *name, const char *value);
const char *dlb_results_system_get(const dlb_results *r, int sys, const char *name);

/** \brief Append a brick row and its raw samples (row->sample_start and n_samples are set by
 *  the document).  \return DLB_OK, DLB_ENOMEM */
dlb_status dlb_results_add_brick(dlb_results *r, int sys, const dlb_brick_row *row,
                                 const double *samples, int n_samples);
size_t dlb_results_n_bricks(const dlb_results *r, int sys);
const dlb_brick_row *dlb_results_brick(const dlb_results *r, int sys, size_t i);
/** \brief The raw samples of brick row i (n = row->n_samples). */
const double *dlb_results_samples(const dlb_results *r, int sys, size_t i);
/** \brief The most recent row with status "ok" for (id, settings) on the system; -1 if none.
 *  Constant time (hash index). */
long dlb_results_find_brick(const dlb_results *r, int sys, uint64_t id, const char *settings);

/** \brief Replace the estimate row of one (model, batch, settings, stat) on a system, or add it. */
dlb_status dlb_results_put_estimate(dlb_results *r, int sys, const dlb_estimate_row *row);
size_t dlb_results_n_estimates(const dlb_results *r, int sys);
const dlb_estimate_row *dlb_results_estimate(const dlb_results *r, int sys, size_t i);

/* Models: /models/<model>/b<batch> with attributes, layer rows and brick rows (either may be
 * empty: a decomposition may be stored with brick keys and counts only).  Replaces an earlier
 * entry of the same (model, batch). */
dlb_status dlb_results_put_model(dlb_results *r, const char *model, int64_t batch,
                                 const dlb_store_attr *attrs, int n_attrs,
                                 const dlb_layer_row *layers, int n_layers,
                                 const dlb_model_brick_row *bricks, int n_bricks);
int dlb_results_n_models(const dlb_results *r);
/** \brief Model entry i: name, batch, attributes and rows (pointers owned by the document). */
void dlb_results_model(const dlb_results *r, int i, const char **model, int64_t *batch,
                       const dlb_store_attr **attrs, int *n_attrs, const dlb_layer_row **layers,
                       int *n_layers, const dlb_model_brick_row **bricks, int *n_bricks);

/* The file.  Saving writes a complete HDF5 file next to \p path and renames it over \p path
 * (atomic on POSIX), so the file at \p path is always a closed, consistent file: a writer
 * killed at any moment leaves the previous snapshot, and readers that have it open keep
 * theirs.  Datasets are chunked and gzip-compressed. */
/** \brief Write the document to \p path (atomic replace).  Errors name the file and the HDF5
 *  call.  \return DLB_OK, DLB_EHDF5, DLB_EIO, DLB_ENOMEM */
dlb_status dlb_results_save(const dlb_results *r, const char *path, dlb_diag *diag);
/** \brief dlb_results_save without compression, for the periodic saves of a running job: a
 *  third of the time (gzip dominated a save); the final save compresses. */
dlb_status dlb_results_checkpoint(const dlb_results *r, const char *path, dlb_diag *diag);
/** \brief Read a file written by dlb_results_save.  \return DLB_OK; DLB_EIO (cannot open);
 *  DLB_EPARSE (not a dlbricks results file, or another format_version: named in the error);
 *  DLB_EHDF5; DLB_ENOMEM */
dlb_status dlb_results_load(const char *path, dlb_diag *diag, dlb_results **out);

/** \brief The schema as JSON: {"format_version": N, "tables": {"bricks": [{"name", "type",
 *  "unit", "doc"}, ...], "estimates": [...], "layers": [...], "model_bricks": [...]}}.
 *  Written as the root attribute "schema"; malloc'd. */
char *dlb_store_schema_json(void);

#endif
