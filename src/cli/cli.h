/* cli.h — internal interface between the parts of the dlbricks-mpi command line tool. */
#ifndef DLBRICKS_CLI_H
#define DLBRICKS_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dlbricks/brick.h"
#include "dlbricks/layer.h"
#include "dlbricks/graph.h"
#include "dlbricks/probe.h"
#include "dlbricks/timing.h"
#include "dlbricks/status.h"

/* Exit statuses of dlbricks-mpi (docs/cli.md).  Only main() turns results into these. */
enum {
    DLB_EXIT_OK = 0,      /* every model was processed */
    DLB_EXIT_FAILURE = 1, /* nothing usable: missing PATH, no model files, out of memory, I/O */
    DLB_EXIT_USAGE = 2,   /* bad command line */
    DLB_EXIT_SKIPPED = 3, /* at least one model (or directory) was skipped, the rest processed */
};

#define DLB_CLI_MAX_BATCHES 64
#define DLB_CLI_MAX_BATCH 2147483647 /* largest --batch value */
#define DLB_CLI_MAX_GRANULARITY 1024 /* largest -G value */

typedef enum dlb_cli_mode {
    DLB_MODE_BRICKS,     /* default: time every unique brick, compose per-model estimates */
    DLB_MODE_DRY_RUN,    /* --dry-run: bricks and reuse only, nothing is run */
    DLB_MODE_TIME_MODEL, /* --time-model FILE: time one whole model */
    DLB_MODE_SIMULATE,   /* --simulate-ranks N[,M...] --costs FILE: replay the scheduler */
    DLB_MODE_COMPOSE,    /* --compose DECOMP RESULTS: estimates from stored files only */
} dlb_cli_mode;

typedef struct dlb_cli_options {
    dlb_cli_mode mode;
    const char *time_model;   /* --time-model FILE */
    const char *compose;      /* --compose DECOMP.h5 (the results file is the one PATH) */
    const char *system;       /* --system S: with --compose, only this system */
    const char *decomp_out;   /* --decompose-out FILE.h5 (--dry-run) */
    int threads;              /* --threads T; 0: the PUs of the process binding */
    double min_time_ms;       /* --min-time-ms; < 0: default */
    int min_reps;             /* --min-reps; 0: default */
    bool cold_cache;          /* --cold-cache */
    bool warm_weights;        /* --weights warm: brick weights stay in cache (default cold) */
    bool weights_distance;    /* --weights distance: cold weights rotate at their reuse distance */
    bool weights_auto;        /* --weights auto: a calibration picks cold or distance */
    bool cold_distance;       /* --cold-inputs distance (default memory) */
    bool cold_inputs_given;   /* --cold-inputs was given (--weights auto leaves it alone) */
    bool keep_denormals;      /* --denormals keep (default flush: FTZ and DAZ) */
    const char *calibration;  /* --weights auto: the calibration's summary (provenance) */
    int evict_mib;            /* --evict-mib N: context eviction per brick repetition, MiB
                                 (default 0: none) */
    bool validate;            /* --validate: also time every model whole */
    int validate_rounds;      /* --validate-rounds R: brick groups per check; 0: default */
    int validate_passes;      /* --validate-passes P: checks per model, spread; 0: default (1) */
    int validate_recheck;     /* --validate-recheck N: extra checks per model at most (0: none) */
    double validate_se_pct;   /* --validate-se S: recheck while the checks' standard error > S % */
    dlb_dtype dtype;          /* --dtype: f32 (default) or bf16 */
    const char *bricks_out;   /* --bricks-out FILE: per-brick CSV (never overwritten) */
    bool verbose;             /* -v: per-brick begin/end lines on stderr */
    bool quiet;               /* --quiet: no progress lines */
    bool dummy;               /* --backend dummy: deterministic fake brick times (tests) */
    int bind;                 /* --bind: dlb_bind_policy under MPI (default core) */
    bool allow_oversubscribe; /* --allow-oversubscribe */
    bool report_bindings;     /* --report-bindings */
    int n_simulate;           /* --simulate-ranks N[,M...] */
    int simulate[16];
    const char *costs;          /* --costs FILE (a --bricks-out file) */
    const char *system_name;    /* --system-name NAME; NULL: derived from CPU, ISA, threads */
    bool dedicated_coordinator; /* --dedicated-coordinator */
    bool no_host_probe;         /* --no-host-probe */
    const char *output;         /* -o FILE.h5 */
    bool resume, force;         /* --resume, --force */
    const char *stat;           /* --stat median|min|mean */
    double checkpoint_s;        /* --checkpoint-s: longest time between two saves of -o */
    double progress_s;          /* --progress-s: seconds between two plain progress lines */
    int64_t max_brick_mem_mib;  /* --max-brick-mem; 0: derived from the node's memory */
    bool fuse;                  /* false with --no-fuse */
    bool csv;                   /* --csv */
    int granularity;            /* -G k, default 1 */
    int n_batches;              /* 0: keep the batch size stored in each model */
    int64_t batches[DLB_CLI_MAX_BATCHES];
    int n_paths;
    char *const *paths;   /* points into argv */
    const char *job_file; /* --job FILE */
    const char *job_text; /* its contents (provenance) */
    int argc;             /* the command line (getopt may have moved options before PATHs) */
    char **argv;
} dlb_cli_options;

typedef enum dlb_parse_result {
    DLB_PARSE_OK,
    DLB_PARSE_HELP,
    DLB_PARSE_VERSION,
    DLB_PARSE_BAD, /* the error was already printed to the error stream */
} dlb_parse_result;

/* main.c: set by SIGINT/SIGTERM; long loops stop between two bricks, save and return
 * DLB_EINTR. */
extern volatile sig_atomic_t dlb_cli_stop;

/* options.c */
/** \brief Parse argv (getopt_long, permuting).  Usage errors are printed to \p err as
 *  "error: WHAT" followed by "try 'dlbricks-mpi --help'". */
dlb_parse_result dlb_cli_parse(int argc, char **argv, dlb_cli_options *opt, FILE *err);
/** \brief dlb_cli_parse, with --job FILE: the job file's keys become options that the command
 *  line overrides; its paths are used when the command line names none.  Job-file errors
 *  name the file, the line and the key. */
dlb_parse_result dlb_cli_parse_job(int argc, char **argv, dlb_cli_options *opt, FILE *err);
/** \brief Print the --help text, generated from the option table. */
void dlb_cli_usage(FILE *out);

/* version.c */
/** \brief Print the --version text: the tool, then one line per library. */
void dlb_cli_print_version(FILE *out);

/* zoo_walk.c */
typedef struct dlb_cli_files {
    char **paths; /* model files, in processing order, each file once */
    int n, cap;
    int n_errors; /* entries below a PATH that could not be read (reported, skipped) */
} dlb_cli_files;

/** \brief Expand PATH arguments into model files: a file is taken as is, a directory is
 *  searched recursively for "*.onnx" (symlinks followed, hidden entries skipped, each
 *  directory and each file visited once), sorted by path within each argument.
 *  Problems are reported as "error: PATH: reason" to stderr.
 *  \return DLB_OK; DLB_ENOTFOUND if a PATH does not exist, is not a file or directory or
 *  holds no model file; DLB_ENOMEM.  Unreadable subdirectories only count in n_errors. */
dlb_status dlb_cli_collect_files(char *const *args, int n_args, dlb_cli_files *out);
void dlb_cli_files_free(dlb_cli_files *f);

/* dry_run.c */
typedef struct dlb_cli_run_info {
    int n_files;   /* model files found */
    int n_loaded;  /* models with at least one batch size registered */
    int n_skipped; /* models (or batch sizes of a model) skipped because of an error */
} dlb_cli_run_info;

/** \brief Load, infer shapes, lower and register every model of opt->paths into one registry
 *  (errors reported, models skipped).  \return DLB_OK, DLB_ENOTFOUND, DLB_ENOMEM */
dlb_status dlb_cli_build_registry(const dlb_cli_options *opt, dlb_registry **out,
                                  dlb_cli_run_info *info);
/** \brief The --dry-run pipeline: load, infer shapes, lower and register every model, write
 *  the --decompose-out file if asked, then the report to \p out.  \return DLB_OK (see info
 *  for skipped models), DLB_ENOTFOUND (bad PATH, already reported), DLB_ENOMEM, or the
 *  decomposition file's error (no report then). */
dlb_status dlb_cli_dry_run(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info);

/* decomp.c */
typedef struct dlb_results dlb_results;
/** \brief Store a registry model entry as /models/<model>/b<batch>: attributes (view, dtype,
 *  coverage, uncovered ops, ...) and the brick rows (id, key, count, op, flops, bytes); with
 *  \p with_layers also the per-layer table and the model's path (the main job), without them
 *  nothing that names layers or the file (a shareable decomposition). */
dlb_status dlb_cli_put_decomposition(dlb_results *doc, const dlb_registry *reg,
                                     const dlb_model_entry *m, const dlb_cli_options *opt,
                                     const char *run_id, bool with_layers);
/** \brief --dry-run --decompose-out FILE: write the decomposition-only file of the registry
 *  (an existing FILE is never overwritten).  Errors are reported.  \return DLB_OK, DLB_EIO,
 *  DLB_EHDF5, DLB_ENOMEM */
dlb_status dlb_cli_write_decomposition(const dlb_cli_options *opt, const dlb_registry *reg);

/* compose.c */
/** \brief --compose DECOMP RESULTS: per system x model x batch, the estimate of each stored
 *  decomposition from the results file's brick rows (by id and settings), its CI, coverage and
 *  missing bricks.  info->n_skipped counts partial rows.  \return DLB_OK or the error
 *  (reported): DLB_EIO, DLB_EPARSE (not a decomposition / results file), DLB_ENOTFOUND
 *  (unknown --system), DLB_ENOMEM. */
dlb_status dlb_cli_compose(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info);

/* time_model.c */
struct dlb_timing_settings;
struct dlb_timing_result;
struct dlb_thread_info;
/** \brief dlb_threads_setup with --threads, then subnormal floats flushed or kept
 *  (--denormals; a warning when they cannot be flushed).  \return dlb_threads_setup's status */
dlb_status dlb_cli_threads_setup(const dlb_cli_options *opt, struct dlb_thread_info *ti);
/** \brief Timing settings from the defaults and the command line. */
void dlb_cli_timing_settings(const dlb_cli_options *opt, struct dlb_timing_settings *s);
/** \brief Time one whole model (batch <= 0: as stored, symbolic batch -> 1) through the
 *  executor.  *coverage = covered share of FLOPs.  Errors are reported. */
dlb_status dlb_cli_measure_model(const char *path, int64_t batch, const dlb_cli_options *opt,
                                 struct dlb_timing_result *res, double *coverage,
                                 size_t *net_bytes);
/* One whole model ready to run through the executor (loaded from a file or from memory). */
struct dlb_net;
struct dlb_lowered;
typedef struct dlb_cli_model {
    dlb_graph *g;
    struct dlb_lowered *l;
    struct dlb_net *net;
    double coverage;
    dlb_diag diag;
} dlb_cli_model;
/** \brief Load (from \p buf when not NULL, else from \p path), set the batch, infer shapes,
 *  lower and build the network.  Errors are reported naming \p path. */
dlb_status dlb_cli_model_open(const char *path, const void *buf, size_t len, int64_t batch,
                              const dlb_cli_options *opt, dlb_cli_model *m);
dlb_status dlb_cli_model_time(dlb_cli_model *m, const dlb_timing_settings *ts,
                              dlb_timing_result *res);
void dlb_cli_model_close(dlb_cli_model *m);
/** \brief --time-model: print "model: NAME median_ms=X min_ms=Y p90_ms=Z coverage=C". */
dlb_status dlb_cli_time_model(const dlb_cli_options *opt, FILE *out);

/* bricks.c */
typedef struct dlb_cli_brick_result {
    dlb_status status;
    dlb_stats stats;
    char impl[96];
    double *samples; /* kept raw samples (ms), malloc'd; NULL when none */
    int n_samples;
    int remeasured; /* measured again this many times because its median was unstable */
    bool unstable;  /* still unstable after that (docs/timing.md) */
} dlb_cli_brick_result;

/** \brief Set the working-set limit of bricks: --max-brick-mem, or 80% of the node's memory
 *  shared by \p ranks_per_node.  Bricks above it are refused (DLB_ETOOBIG), not attempted. */
void dlb_cli_set_brick_mem_limit(const dlb_cli_options *opt, int ranks_per_node);
/** \brief That limit in bytes (0: none). */
int64_t dlb_cli_brick_mem_limit(void);
struct dlb_thread_info;
/** \brief Size the cold-weights pool of this process from its binding's last-level cache
 *  (twice it; 64 MiB when unknown).  The pool is allocated when a brick first needs it. */
void dlb_cli_set_weight_pool(const struct dlb_thread_info *ti);
void dlb_cli_release_weight_pool(void); /* and the evictor */
/* Context eviction's size from --evict-mib. */
void dlb_cli_set_eviction(const dlb_cli_options *opt);
/** \brief The working set of the run's largest brick: peak memory stays that (or twice the
 *  pool) when the pool is kept beside smaller bricks. */
void dlb_cli_set_largest_brick(int64_t bytes);
int64_t dlb_cli_largest_brick(const dlb_registry *reg);
/* Where a rank's brick time goes: inside timing loops (warm-up included), and setting bricks up
 * (primitive creation, buffers, weight reorders, freeing). */
typedef struct dlb_cli_brick_times {
    double timing_s;
    double setup_s;
} dlb_cli_brick_times;

/** \brief Time one brick with the chosen backend (oneDNN or dummy); failures are reported and
 *  recorded in r->status.  *t accumulates the time spent in timing loops and in set-up.
 *  r->samples is malloc'd (free it). */
void dlb_cli_time_one_brick(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                            const dlb_brick *b, dlb_cli_brick_result *r, dlb_cli_brick_times *t);

/* plan.c: the cost model and the hand-out order. */
typedef struct dlb_plan {
    dlb_timing_settings ts;
    double gflops, gbps;             /* modelled rates of one rank */
    double log_corr[DLB_LOP_COUNT_]; /* learnt log(measured / modelled) per op */
    int n_obs[DLB_LOP_COUNT_];
} dlb_plan;
void dlb_plan_init(dlb_plan *p, const dlb_timing_settings *ts, int threads);
/** \brief Predicted time of one execution of the brick, ms. */
double dlb_plan_exec_ms(const dlb_plan *p, const dlb_brick *b);
/** \brief Predicted wall time of timing the brick (creation, warm-up, repetitions), s. */
double dlb_plan_wall_s(const dlb_plan *p, const dlb_brick *b);
/** \brief Refine the model with a measured median. */
void dlb_plan_learn(dlb_plan *p, const dlb_brick *b, double measured_ms);
/** \brief Sort registry brick indices by predicted wall time, most expensive first. */
void dlb_plan_sort(const dlb_plan *p, const dlb_registry *reg, int *idx, int n);

/* validate.c: --validate checks, a whole model timed before, between and after groups of its
 * own bricks. */
#define DLB_VALIDATE_ROUNDS 4      /* brick groups per check (--validate-rounds default) */
#define DLB_VALIDATE_MAX_ROUNDS 64 /* --validate-rounds at most */
#define DLB_VALIDATE_MAX_RUNS (DLB_VALIDATE_MAX_ROUNDS + 1) /* whole-model runs of a check */
#define DLB_VALIDATE_MAX_PASSES 16 /* --validate-passes (plus --validate-recheck) at most */
#define DLB_VALIDATE_SE_PCT 2.0    /* --validate-se default */
typedef struct dlb_check_result {
    dlb_status status;
    int n_wholes;
    dlb_cli_brick_result *wholes; /* the whole model's runs, in time order (no samples kept) */
    int n_bricks;
    dlb_cli_brick_result *bricks; /* its distinct bricks (dlb_cli_model_bricks order) */
} dlb_check_result;
/** \brief Brick groups of a check of a model with \p n distinct bricks (>= 1). */
int dlb_cli_check_rounds(const dlb_cli_options *opt, int n);
/** \brief Checks per model (--validate-passes; 1 when not given). */
int dlb_cli_check_passes(const dlb_cli_options *opt);
/** \brief Checks a model may get at most: the passes plus --validate-recheck. */
int dlb_cli_check_slots(const dlb_cli_options *opt);
/** \brief Whether a model whose checks (n of them, all succeeded) have drift-paired ratios
 *  \p ratios is checked again: fewer than dlb_cli_check_slots checks, at least two, and the
 *  standard error of their log ratios above --validate-se. */
bool dlb_cli_check_wants_more(const dlb_cli_options *opt, const double *ratios, int n);
/** \brief Whether every whole-model run of a check succeeded (and there were at least two). */
bool dlb_check_result_ok(const dlb_check_result *c);
/** \brief Distinct bricks of a model entry in order of first use, with their counts;
 *  idx and counts need n_layers entries.  \return how many. */
int dlb_cli_model_bricks(const dlb_model_entry *m, int *idx, int64_t *counts);
/** \brief Time the model (from \p onnx when not NULL, else \p path), then its bricks in
 *  dlb_cli_check_rounds groups with the whole model timed again after each group; \p between (may
 * be NULL) runs between two measurements (rank 0 serves its workers there).  A failure is recorded
 * in res->status (and reported); the return value is DLB_ENOMEM or DLB_OK. */
dlb_status dlb_cli_check_model(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                               const char *path, const void *onnx, size_t len, int64_t batch,
                               const dlb_brick *const *bricks, int n, dlb_check_result *res,
                               double *timing_s, double *model_s, void (*between)(void *),
                               void *ctx);
void dlb_check_result_free(dlb_check_result *r);
/** \brief ModelCheck message of a model entry: its file, weights stripped, and its bricks. */
dlb_status dlb_cli_encode_check(const dlb_registry *reg, int entry, void **buf, size_t *len);
/** \brief On a worker: run a ModelCheck, answer with a ModelCheckResult (*out malloc'd). */
dlb_status dlb_cli_run_check_message(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                                     int rank, int threads, const void *buf, size_t len, void **out,
                                     size_t *out_len, double *timing_s, double *model_s);
dlb_status dlb_cli_decode_check_result(const void *buf, size_t len, int *entry,
                                       dlb_check_result *res);

/* job.c: the state of a main job on rank 0 (or the only process): systems, their brick queues,
 * results as they arrive, the results document and its file. */
#define DLB_NAME_LEN 64
/* What rank 0 knows of every rank (gathered as raw bytes: plain fixed-size fields). */
typedef struct dlb_rank_info {
    char system[DLB_NAME_LEN]; /* --system-name or derived */
    char host[DLB_NAME_LEN];
    char binding[128];
    char cpu_model[96];
    char isa[32];
    int32_t threads;
    int32_t oversubscribed;
    int32_t times_bricks; /* 0: the dedicated coordinator */
} dlb_rank_info;

/** \brief Fill this process's rank info (system name derived unless opt->system_name). */
void dlb_cli_rank_info(const dlb_cli_options *opt, const dlb_thread_info *ti, bool oversubscribed,
                       bool times_bricks, dlb_rank_info *ri);

enum { DLB_BRICK_PENDING, DLB_BRICK_HANDED, DLB_BRICK_DONE, DLB_BRICK_REUSED };

typedef struct dlb_job_system {
    char name[DLB_NAME_LEN];
    char settings[256];       /* canonical settings string: the --resume cache key with the id */
    int n_ranks;              /* ranks timing bricks for it */
    dlb_cli_brick_result *br; /* per registry brick */
    unsigned char *state;     /* DLB_BRICK_* per registry brick */
    int *queue, head, tail;   /* bricks to time, most expensive first: [head, tail) */
    int n_timed, n_failed, n_reused, n_todo;
    double timing_s;       /* time spent inside timing loops, over its ranks */
    double setup_s;        /* time spent setting bricks up (creation, buffers), over its ranks */
    double idle_s;         /* time its ranks waited for work, over its ranks */
    double done_s, todo_s; /* predicted wall of the bricks done / to do (for the ETA) */
    double check_done_s;   /* predicted wall of the checks recorded (for the ETA) */
    double end;            /* when its last result arrived (job clock) */
    /* --validate: the model entries to check, n_checks of them; each pass hands them out once,
     * from check_head or (cheap) check_tail, before the next pass begins (--validate-passes) */
    int *checks, check_head, check_tail, n_checks, check_pass;
    int *check_handed, *check_done; /* per model entry: checks handed out / recorded */
    dlb_check_result *check;        /* per model entry x check: [entry * slots + k], k < done */
    int *check_round;               /* per model entry: the recheck round of its last recheck */
    int recheck_round, n_rechecks;  /* --validate-recheck: the round handed out; rechecks so far */
    double model_s;                 /* time spent timing whole models */
    dlb_plan plan;
} dlb_job_system;

typedef struct dlb_job {
    const dlb_cli_options *opt;
    const dlb_registry *reg;
    dlb_timing_settings ts;
    int n_ranks;
    dlb_rank_info *ranks;
    double *rank_end; /* per rank: when its last result arrived (job clock) */
    int *rank_system; /* per rank: system index, -1 for the dedicated coordinator */
    int n_systems;
    dlb_job_system *sys;
    dlb_results *doc;
    int lock_fd;
    char lock_path[4096];
    char run_id[48];
    double t0, last_save, last_progress;
    bool progress_tty, progress_open;
    int name_width; /* of the system column */
    /* Host probe of every rank at the run's start and end (NULL: not run; owned by the
     * caller).  dlb_job_finish stores and reports them. */
    const dlb_host_probe *probe_start, *probe_end;
} dlb_job;

/** \brief -o FILE exists without --resume or --force (never overwritten): DLB_EIO, reported. */
dlb_status dlb_job_refuse_output(const dlb_cli_options *opt);
/** \brief Set up the job: systems from the rank infos, queues in predicted-cost order, the
 *  results file (-o: refused if it exists without --resume/--force; locked; with --resume
 *  bricks already measured for the same system and settings are taken from it), provenance
 *  and the models' decompositions.  \return DLB_OK, DLB_EIO (file refused, reported), ... */
dlb_status dlb_job_init(dlb_job *j, const dlb_cli_options *opt, const dlb_registry *reg,
                        const dlb_rank_info *ranks, int n_ranks);
/** \brief Next brick for a rank of system \p sys: the most expensive left, or with \p cheap
 *  the least expensive (rank 0 takes those, to stay responsive).  -1 when none is left. */
int dlb_job_next(dlb_job *j, int sys, bool cheap);
/** \brief Next model entry to check (--validate) for system \p sys, -1 when none is left. */
int dlb_job_next_check(dlb_job *j, int sys, bool cheap);
/** \brief Whether system \p sys may still hand out checks that do not exist yet: a model's
 *  check is in flight and its result may call for a recheck (--validate-recheck). */
bool dlb_job_checks_pending(const dlb_job *j, int sys);
/** \brief A check's drift-paired ratio estimate / measured (job_report.c), NaN when it failed. */
double dlb_job_check_ratio(const dlb_job *j, int entry, const dlb_check_result *c);
/** \brief Predicted wall time of checking a model entry, s. */
double dlb_job_check_cost(const dlb_job *j, int sys, int entry);
/** \brief A check result arrived (res is taken over). */
dlb_status dlb_job_record_check(dlb_job *j, int sys, int entry, int rank, dlb_check_result *res);
/* Store the estimate row of a model whose check succeeded (job_report.c). */
dlb_status dlb_job_put_check(dlb_job *j, int sys, int entry);
/** \brief Check a model entry in this process (rank 0, or the single process). */
dlb_status dlb_job_check_local(dlb_job *j, int sys, int entry, int rank, double *timing_s,
                               double *model_s, void (*between)(void *), void *ctx);
/** \brief A result arrived: keep it (samples are taken over), store it, save the file when the
 *  last save is a few seconds old, show progress. */
dlb_status dlb_job_record(dlb_job *j, int sys, int brick, int rank, dlb_cli_brick_result *r);
/** \brief Progress line (TTY: live, otherwise every 10 s); \p final ends it. */
void dlb_job_progress(dlb_job *j, bool final);
/** \brief Compose, validate (--validate), report and save the file a last time. */
dlb_status dlb_job_finish(dlb_job *j, FILE *out, dlb_cli_run_info *info);
void dlb_job_free(dlb_job *j);
/** \brief A job's validated models, summed over its systems: how many, and their
 *  Σ |ln(estimate/measured)| (the estimates from the bricks timed beside each whole model).
 *  For --weights auto's calibration. */
typedef struct dlb_cli_check_error {
    int models;
    double abs_log_ratio;
} dlb_cli_check_error;
dlb_status dlb_job_check_error(dlb_job *j, dlb_cli_check_error *err);
/* calibrate.c: --weights auto */
#define DLB_CALIBRATION_MODELS 3
#define DLB_CALIBRATION_MIN_FLOPS 10000000LL /* per batch-1 inference: no toys */
#define DLB_CALIBRATION_MARGIN 0.01 /* distance must be this much nearer (ln units: ~1 %) */
/* Passes in the order cold, distance, distance, cold: a host's drift (linear over the passes)
 * and a one-off slow pass weigh on both rules alike.  One pair misjudged at batch 16 once in
 * four (tests/bench/README.md, section 9, session 14). */
#define DLB_CALIBRATION_PASSES 4
typedef struct dlb_cli_calibration {
    dlb_cli_files files;                 /* the zoo's model files (paths point into them) */
    char *paths[DLB_CALIBRATION_MODELS]; /* the calibration models */
    int n;
    dlb_cli_check_error err[2]; /* their errors, summed over the passes: [0] cold, [1] distance */
    bool distance;              /* the choice */
    bool reused;                /* taken from an earlier run of the --resume file */
    char batches[128];          /* "1,16" or "stored" (no --batch) */
    double wall_s;              /* the passes took (set by the caller) */
    char summary[512];          /* the calibration line without its label (provenance) */
} dlb_cli_calibration;
/** \brief Pick the calibration models of opt's PATHs: the DLB_CALIBRATION_MODELS with the
 *  fewest FLOPs of at least DLB_CALIBRATION_MIN_FLOPS (the largest smaller ones where there
 *  are too few; models that do not load are left out quietly).  \return DLB_OK, DLB_ENOTFOUND (no
 * model file), DLB_ENOMEM */
dlb_status dlb_cli_calibration_models(const dlb_cli_options *opt, dlb_cli_calibration *c);
/** \brief The options of a calibration pass: opt on c's models, validated, with weights cold
 *  or at their distance (cold inputs too unless --cold-inputs was given), nothing stored. */
void dlb_cli_calibration_options(const dlb_cli_options *opt, const dlb_cli_calibration *c,
                                 bool distance, dlb_cli_options *out);
/** \brief Does calibration pass \p pass (0 .. DLB_CALIBRATION_PASSES - 1) time with weights at
 *  their distance (else cold)?  Cold, distance, distance, cold. */
bool dlb_cli_calibration_pass_distance(int pass);
/** \brief Add pass \p e's error to the sum of its rule. */
void dlb_cli_calibration_add(dlb_cli_calibration *c, int pass, const dlb_cli_check_error *e);
/** \brief Set the weights (and cold inputs, unless given) to cold or distance. */
void dlb_cli_weights_choice(dlb_cli_options *o, bool distance);
/** \brief Choose from c->err: distance when its mean |ln(estimate/measured)| is smaller than
 *  cold's by DLB_CALIBRATION_MARGIN or more (cold when either pass validated nothing); print
 * "calibration: ..." to \p out.  */
bool dlb_cli_calibration_choose(dlb_cli_calibration *c, FILE *out);
/** \brief After the passes (\p ran: both ran): the choice (reused, or
 *  dlb_cli_calibration_choose), or cold with a warning when they could not run; applied to
 *  \p run_opt with the summary for its provenance. */
void dlb_cli_calibration_apply(dlb_cli_calibration *c, bool ran, FILE *out,
                               dlb_cli_options *run_opt);
/** \brief --resume: take the choice of the latest run of the results file that calibrated
 *  for the same systems (\p systems: the "systems" attribute this run will get) and batch
 *  sizes; print its calibration line with " reused=RUN_ID" (the run that calibrated).
 *  c->reused says whether one was found (then c is filled, and nothing needs calibrating).
 *  \return DLB_EIO (reported) when, with --resume, -o names a file that does not load: the run
 *  stops before a minute of calibration (with dlb_job_refuse_output, before it). */
dlb_status dlb_cli_calibration_reuse(const dlb_cli_options *opt, const char *systems,
                                     dlb_cli_calibration *c, FILE *out);
void dlb_cli_calibration_free(dlb_cli_calibration *c);

/* host_probe.c */
/** \brief The host probe in this process, unless --no-host-probe or --backend dummy (then
 *  out->ok = 0): arrays of the binding's last-level cache (within the brick memory limit), a
 *  failure reported as a warning on stderr; the run goes on either way. */
void dlb_cli_host_probe(const dlb_cli_options *opt, const dlb_thread_info *ti, dlb_host_probe *out);
/** \brief With j->probe_start / probe_end: store the run's "host_probe" attribute (one line per
 *  rank and time) and print one "host:" line per system to \p out. */
dlb_status dlb_job_host_probe(dlb_job *j, FILE *out);

/** \brief Save the results file now (no-op without -o). */
dlb_status dlb_job_save(dlb_job *j);
/** \brief Write the run's provenance (/runs/<id>) and the models' decompositions. */
dlb_status dlb_cli_provenance(dlb_job *j);
/** \brief Seconds on the job clock. */
double dlb_job_now(const dlb_job *j);

/* simulate.c */
/** \brief --simulate-ranks: replay the brick hand-out with the costs measured in a
 *  --bricks-out file, for each rank count: makespan, efficiency, imbalance. */
dlb_status dlb_cli_simulate(const dlb_cli_options *opt, FILE *out);

/* bricks_mpi.c */
/** \brief The main job over MPI_COMM_WORLD (size > 1): rank 0 reads the zoo and hands bricks out
 *  (cost-descending self-scheduling, specs as protobuf-c BrickSpec); workers time them and
 *  stream BrickResults back.  Only rank 0 writes to \p out. */
dlb_status dlb_cli_bricks_mpi(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info);
/** \brief The main job (single process for now): time every unique brick once, print brick
 *  progress, per-model estimates and, with --validate, measured whole-model times. */
dlb_status dlb_cli_bricks(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info);

/* report.c */
typedef struct dlb_report_context {
    int granularity;
    bool fuse;
    int n_models;  /* distinct models loaded (several batch sizes count once) */
    int n_skipped; /* models skipped */
} dlb_report_context;

/** \brief Text report: per-model table, registry reuse statistics and the summary line. */
void dlb_report_text(const dlb_registry *r, const dlb_report_context *ctx, FILE *out);
/** \brief CSV report: header "model,layer,op,brick,flops", one row per layer occurrence. */
void dlb_report_csv(const dlb_registry *r, FILE *out);
/** \brief Write one CSV field, quoted per RFC 4180 when it holds ',', '"', CR or LF. */
void dlb_csv_field(const char *s, FILE *out);

#endif
