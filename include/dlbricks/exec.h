/* exec.h — the one executor: compile any network of lowered ops (a brick or a whole model) into
 * oneDNN primitives and run it. */
#ifndef DLBRICKS_EXEC_H
#define DLBRICKS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "dlbricks/brick.h"
#include "dlbricks/diag.h"
#include "dlbricks/layer.h"

/* The executor's revision: raised by every change that alters what a brick or a whole model runs
 * for the same key (kernel choice, layouts, reorders, data fill, cache state) without changing the
 * key.  It is part of the settings string (` exec=N`), the --resume cache key, so bricks timed by
 * an earlier executor are timed again instead of reused (docs/executor.md, "Revisions").
 *   1  session 25: first numbered revision; includes the pooling of plain input (138b54c). */
#define DLB_EXEC_REVISION 1

/* A runnable network: ops in topological order and their wiring.  A source (or sum/binary
 * post-op operand: slot n_src + k) of op j with no edge is an external input of the network,
 * created in the format the op wants and filled once with random data (outside any timing). */
typedef struct dlb_netdesc {
    int n_ops;
    const dlb_op_spec *ops;
    int n_edges;
    const dlb_brick_edge *edges;
    const char *name; /* for messages */
} dlb_netdesc;

/** \brief The network of one brick. */
void dlb_netdesc_of_brick(const dlb_brick *b, dlb_netdesc *d);

/** \brief The network of a whole lowered model: every covered layer, wired through view ops
 *  such as Reshape/Flatten.  Uncovered layers are left out; what they would produce becomes an
 *  external (random) input.  Memory is owned by \p l's arena. */
dlb_status dlb_netdesc_of_model(const dlb_lowered *l, dlb_diag *diag, dlb_netdesc *d);

typedef struct dlb_exec_options {
    uint64_t seed; /* random data seed (default 42 when 0) */
    bool keep_all; /* give every activation its own memory (tests that read intermediate
                      outputs); by default activations with disjoint lifetimes share memory,
                      as in a runtime, and only the network's final outputs stay readable */
} dlb_exec_options;

typedef struct dlb_net dlb_net;

/** \brief The instruction set oneDNN dispatches to on this CPU ("avx512_core_bf16", ...). */
const char *dlb_exec_isa(void);
/** \brief Can the executor run \p dt here?  f32 always; bf16 only where the ISA has bf16
 *  instructions (avx512_core_bf16 or newer).  Otherwise *why says why not. */
bool dlb_exec_dtype_supported(dlb_dtype dt, const char **why);
/** \brief Process-wide oneDNN settings for a process that creates each network once: the
 *  primitive cache is switched off (every brick is unique, and 1024 cached primitives held
 *  ~170 MiB of a rank's memory and slowed creation) unless ONEDNN_PRIMITIVE_CACHE_CAPACITY or
 *  DNNL_PRIMITIVE_CACHE_CAPACITY is set.  \return DLB_OK or DLB_EDNNL */
dlb_status dlb_exec_setup_process(dlb_diag *diag);
/** \brief Rewrite every floating-point operand of every layer to \p dt (for --dtype). */
void dlb_lowered_set_dtype(dlb_lowered *l, dlb_dtype dt);

/** \brief Create every primitive, allocate and fill every buffer.  Errors (an op oneDNN cannot
 *  create, out of memory) are reported through \p diag naming the op.
 *  \return DLB_OK, DLB_EUNSUPPORTED, DLB_EDNNL, DLB_ENOMEM */
dlb_status dlb_net_create(const dlb_netdesc *d, const dlb_exec_options *o, dlb_diag *diag,
                          dlb_net **out);
/** \brief Execute the network once and wait for completion. */
dlb_status dlb_net_run(dlb_net *n);
void dlb_net_free(dlb_net *n);

int dlb_net_n_ops(const dlb_net *n);
/** \brief Implementation oneDNN chose for op i ("jit:avx2", "ref:any", ...; several joined with
 *  '+' when an op needs more than one primitive). */
const char *dlb_net_impl(const dlb_net *n, int op);
/** \brief Bytes of all buffers (activations, weights, scratchpads). */
size_t dlb_net_memory_bytes(const dlb_net *n);
/** \brief Number of reorders inserted between ops (format changes inside the network). */
int dlb_net_n_reorders(const dlb_net *n);
/* Steps, for profiling (tests/bench/bench_op_profile.c): every primitive, inserted reorder and
 * kernel of our own that dlb_net_run executes, in order. */
int dlb_net_n_steps(const dlb_net *n);
/** \brief The op (index in the netdesc) a step belongs to; -1 for a reorder inserted between
 *  ops or an index out of range. */
int dlb_net_step_op(const dlb_net *n, int step);
/** \brief Run as dlb_net_run, waiting for the stream after every step, and add each step's
 *  time (ms, CLOCK_MONOTONIC) to step_ms[step] (dlb_net_n_steps entries). */
dlb_status dlb_net_run_profiled(dlb_net *n, double *step_ms);

/* Cold weights for brick timing (docs/timing.md): before each timed repetition the weights
 * point at the next of several copies in a pool, so they come from as far as in a whole model
 * (from memory, or from a cache at their reuse distance) while activations stay warm.  Weights
 * whose values matter (batch-norm variances, gather indices) are not rotated; external inputs the
 * model reads cold (dlb_operand.cold) are, and count as weight bytes below. */
typedef struct dlb_weight_pool dlb_weight_pool;
/** \brief A pool of \p bytes (rounded up to pages) of data valid as f32, bf16 and s8 weights.
 *  \return DLB_OK, DLB_EINVAL (0 bytes), DLB_ENOMEM */
dlb_status dlb_weight_pool_create(size_t bytes, dlb_weight_pool **out);
void dlb_weight_pool_free(dlb_weight_pool *p);
size_t dlb_weight_pool_size(const dlb_weight_pool *p);
/** \brief Bytes of the network's rotated weights (each buffer rounded up to 64 bytes). */
size_t dlb_net_weight_bytes(const dlb_net *n);
/** \brief Plan the rotation through \p p (once per pool) and return its longest cycle (0: no
 *  pool, nothing rotated, or the pool cannot hold one copy).  Each rotated buffer gets its own
 *  cycle of copies, so that the distinct bytes the repetitions touch between two reads of one
 *  copy come nearest to its reuse distance in the model (dlb_operand.cold_mib; weights
 *  are read from memory); data the model reads from memory takes as many copies as the pool
 *  holds (docs/timing.md, "Cold data at its reuse distance"). */
int dlb_net_weight_copies(dlb_net *n, const dlb_weight_pool *p);
/** \brief Before repetition \p rep (>= 0), point every rotated buffer at its copy rep modulo
 *  its cycle; rep = -1: back at their own memory.  \return DLB_OK, DLB_EINVAL (rep >= 0 and
 *  nothing to rotate through \p p), DLB_EDNNL */
dlb_status dlb_net_use_weight_copy(dlb_net *n, const dlb_weight_pool *p, int64_t rep);

/* Context eviction for brick timing (docs/timing.md): in a whole model, between two runs of a
 * layer the other layers push its code, outputs, scratch data and oneDNN's own state out of the
 * near caches, while its inputs were just written by the layer before.  Before each timed
 * repetition the brick writes an evictor (one byte per cache line) and then reads its inputs
 * back.  The evictor is written, not read: the other layers write their outputs too. */
typedef struct dlb_evictor dlb_evictor;
/** \brief An evictor of \p bytes (rounded up to pages), its pages touched once.
 *  \return DLB_OK, DLB_EINVAL (0 bytes), DLB_ENOMEM */
dlb_status dlb_evictor_create(size_t bytes, dlb_evictor **out);
void dlb_evictor_free(dlb_evictor *e);
size_t dlb_evictor_size(const dlb_evictor *e);
/** \brief Write every cache line of \p e (NULL: none), then read every cache line of the
 *  network's inputs, except those the model reads cold (dlb_operand.cold, rotated like
 *  weights).  \return the bytes of inputs read */
size_t dlb_net_evict_context(dlb_net *n, dlb_evictor *e);

/* Outputs written with non-temporal stores (dlb_operand.streamed; docs/bricks.md, section 3).
 * In the model such an output lands on arena bytes another layer wrote a few MiB of traffic
 * before: dirty lines in the shared cache, which each non-temporal store must first evict.  A
 * brick writes its own output with the same stores, so the lines would always be gone; before
 * each repetition it dirties them and then reads other data through the private caches. */
/** \brief The bytes of the network's streamed outputs (0: nothing to age). */
size_t dlb_net_streamed_output_bytes(const dlb_net *n);
/** \brief Write every cache line of the streamed outputs, then read every cache line of \p e
 *  (NULL: none; DLB_COLD_DISTANCE bytes, as far as an operand must be to be cold).
 *  \return the bytes of streamed outputs written */
size_t dlb_net_age_streamed_outputs(dlb_net *n, const dlb_evictor *e);

/* Warm inputs at their reuse distance (dlb_operand.near_kib; docs/bricks.md, section 3).  In the
 * model such an input was written by its producer amid the producer's other traffic, and more
 * layers may have run since: up to a few MiB, enough to push part of it out of the core's L2.
 * A brick's own loop leaves it wherever the brick's last repetition read it, often all in L2.
 * Before each repetition the brick rewrites every line of it (same values), interleaved with
 * reads of other data, so each line has as many bytes behind it as in the model. */
/** \brief The bytes of the network's inputs with a near reuse distance (0: nothing to age). */
size_t dlb_net_near_input_bytes(const dlb_net *n);
/** \brief Rewrite every cache line of each input with a near reuse distance, interleaved with
 *  reads of \p e (continuing where the last call stopped, wrapping around) so that the bytes
 *  read and rewritten add up to the input's distance.  \return the bytes of inputs rewritten */
size_t dlb_net_age_near_inputs(dlb_net *n, dlb_evictor *e);

/* Data access for tests and validation (outside any timing; plain row-major f32 layouts of the
 * spec's shapes).  Slot numbering as in dlb_netdesc. */
dlb_status dlb_net_set_input(dlb_net *n, int op, int slot, const float *data, size_t count);
dlb_status dlb_net_set_weight(dlb_net *n, int op, int w, const float *data, size_t count);
dlb_status dlb_net_get_output(dlb_net *n, int op, int k, float *data, size_t count);
/* Whole-model data access (validation against frameworks).  \p l must be the lowered model the
 * network was made from with dlb_netdesc_of_model, loaded with read_weights. */
/** \brief Copy every weight the file carries into the network (BatchNorm folded where the
 *  lowering folded it), and the constants that feed ops as external inputs (initializers, Constant
 *  nodes, folded values: LayerNorm gamma/beta post-op operands, ViT's class token).
 *  *missing = weights and external non-input operands without known data (left random). */
dlb_status dlb_net_load_model_weights(dlb_net *n, const dlb_lowered *l, int *missing);
/** \brief Set graph input \p i (plain f32, its inferred shape) wherever the network reads it. */
dlb_status dlb_net_set_model_input(dlb_net *n, const dlb_lowered *l, int i, const float *data,
                                   size_t count);
/** \brief Read graph output \p i (plain f32). */
dlb_status dlb_net_get_model_output(dlb_net *n, const dlb_lowered *l, int i, float *data,
                                    size_t count);

/** \brief Cold-cache support: evict the network's buffers from the CPU caches. */
void dlb_net_flush_caches(dlb_net *n);

#endif
