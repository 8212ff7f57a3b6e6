/* options.c — the option table of dlbricks-mpi, its getopt_long parser and the --help text. */
#include "cli.h"

#include "dlbricks/binding.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_BASE_ = 256, /* values of options without a short letter: OPT_BASE_ + table index */
};

typedef enum opt_id {
    OPT_DRY_RUN,
    OPT_TIME_MODEL,
    OPT_COMPOSE,
    OPT_SYSTEM,
    OPT_DECOMPOSE_OUT,
    OPT_BATCH,
    OPT_GRANULARITY,
    OPT_NO_FUSE,
    OPT_CSV,
    OPT_THREADS,
    OPT_MIN_TIME_MS,
    OPT_MIN_REPS,
    OPT_COLD_CACHE,
    OPT_EVICT_MIB,
    OPT_WEIGHTS,
    OPT_COLD_INPUTS,
    OPT_DENORMALS,
    OPT_NO_HOST_PROBE,
    OPT_VALIDATE,
    OPT_VALIDATE_ROUNDS,
    OPT_VALIDATE_PASSES,
    OPT_VALIDATE_RECHECK,
    OPT_VALIDATE_SE,
    OPT_DTYPE,
    OPT_BRICKS_OUT,
    OPT_VERBOSE,
    OPT_QUIET,
    OPT_BACKEND,
    OPT_SIMULATE,
    OPT_COSTS,
    OPT_BIND,
    OPT_ALLOW_OVERSUBSCRIBE,
    OPT_REPORT_BINDINGS,
    OPT_SYSTEM_NAME,
    OPT_DEDICATED_COORDINATOR,
    OPT_OUTPUT,
    OPT_RESUME,
    OPT_FORCE,
    OPT_STAT,
    OPT_CHECKPOINT,
    OPT_PROGRESS,
    OPT_JOB,
    OPT_MAX_BRICK_MEM,
    OPT_HELP,
    OPT_VERSION,
    OPT_COUNT_
} opt_id;

typedef struct opt_def {
    const char *name; /* long name, without "--" */
    char short_name;  /* 0 if none */
    bool has_arg;
    const char *arg_name; /* shown in --help */
    const char *help;     /* lines separated by '\n' */
} opt_def;

/* The one table of options: the parser and the --help text are both made from it. */
static const opt_def OPTIONS[OPT_COUNT_] = {
    [OPT_DRY_RUN] = {"dry-run", 0, false, NULL,
                     "lower every model, split it into bricks, deduplicate\n"
                     "them and report; nothing is run"},
    [OPT_TIME_MODEL] = {"time-model", 0, true, "FILE",
                        "time one whole model through the executor and print\n"
                        "'model: NAME median_ms=X min_ms=Y p90_ms=Z coverage=C'"},
    [OPT_COMPOSE] = {"compose", 0, true, "DECOMP.h5",
                     "estimate the models stored in DECOMP.h5 (written by\n"
                     "--decompose-out, or a results file) from the brick\n"
                     "times of the one PATH, a results file; nothing is run"},
    [OPT_SYSTEM] = {"system", 0, true, "S", "--compose: only system S of the results file"},
    [OPT_DECOMPOSE_OUT] = {"decompose-out", 0, true, "FILE.h5",
                           "--dry-run: also write the models' decompositions\n"
                           "alone (brick keys, counts, op, FLOPs, bytes; no\n"
                           "layers, weights or timings); an existing FILE is\n"
                           "never overwritten"},
    [OPT_BATCH] = {"batch", 'b', true, "N[,M...]",
                   "run every model with each of these batch sizes, in\n"
                   "this order (leading dim of every input; 1 to\n"
                   "2147483647; default: the size stored in the file)"},
    [OPT_GRANULARITY] = {"granularity", 'G', true, "k",
                         "bricks of up to k connected layers (1 to 1024;\n"
                         "default 2; 1: one layer per brick, as in the paper)"},
    [OPT_NO_FUSE] = {"no-fuse", 0, false, NULL,
                     "raw view: one layer per ONNX node, no fused post-ops"},
    [OPT_CSV] = {"csv", 0, false, NULL,
                 "print one CSV row per layer occurrence instead of\n"
                 "the tables: model,layer,op,brick,flops"},
    [OPT_THREADS] = {"threads", 't', true, "T",
                     "threads per process (default: the PUs of the process's CPU\n"
                     "binding); OpenMP is set after reading the binding"},
    [OPT_MIN_TIME_MS] = {"min-time-ms", 0, true, "MS",
                         "time each brick or model until at least MS milliseconds\n"
                         "were measured (default: docs/timing.md)"},
    [OPT_MIN_REPS] = {"min-reps", 0, true, "N",
                      "and at least N repetitions (default: docs/timing.md)"},
    [OPT_COLD_CACHE] = {"cold-cache", 0, false, NULL,
                        "evict the caches before every timed repetition"},
    [OPT_EVICT_MIB] = {"evict-mib", 0, true, "N",
                       "before every timed repetition of a brick, write N MiB of\n"
                       "other data and read its inputs back, as the rest of a\n"
                       "model does between two runs of a layer (default 0: off;\n"
                       "docs/timing.md)"},
    [OPT_WEIGHTS] = {"weights", 0, true, "cold|warm|distance|auto",
                     "brick weights read from memory in every repetition (cold,\n"
                     "the default), left in cache (warm), or from as far as in\n"
                     "the model: rotated at their reuse distance (docs/timing.md);\n"
                     "auto: a calibration on the zoo's smallest models picks\n"
                     "cold or distance for this run, and the same for\n"
                     "--cold-inputs unless it is given"},
    [OPT_COLD_INPUTS] = {"cold-inputs", 0, true, "memory|distance",
                         "brick inputs the model reads cold come from memory (the\n"
                         "default), or from as far as in the model: rotated at their\n"
                         "reuse distance (docs/timing.md)"},
    [OPT_DENORMALS] = {"denormals", 0, true, "flush|keep",
                       "subnormal floats flushed to zero (FTZ and DAZ) in every\n"
                       "thread, as inference runtimes do (flush, the default), or\n"
                       "kept (docs/timing.md, \"Subnormal numbers\")"},
    [OPT_NO_HOST_PROBE] = {"no-host-probe", 0, false, NULL,
                           "main job: skip the host probe (a matmul and a memory\n"
                           "stream timed on every rank at the start and the end;\n"
                           "docs/timing.md, \"Host probe\")"},
    [OPT_VALIDATE] = {"validate", 0, false, NULL,
                      "also time every model whole and report the estimate's error"},
    [OPT_VALIDATE_ROUNDS] = {"validate-rounds", 0, true, "R",
                             "--validate: split each model's bricks into R groups and\n"
                             "time the model whole before, between and after them\n"
                             "(R+1 runs; 1 to 64, default 4)"},
    [OPT_VALIDATE_PASSES] = {"validate-passes", 0, true, "P",
                             "--validate: check every model P times, in P passes over\n"
                             "the models, and combine them (1 to 16, default 1)"},
    [OPT_VALIDATE_RECHECK] = {"validate-recheck", 0, true, "N",
                              "--validate: after the passes, check a model up to N\n"
                              "more times while its checks disagree (--validate-se;\n"
                              "0 to 15, passes + N at most 16; default 0)"},
    [OPT_VALIDATE_SE] = {"validate-se", 0, true, "PCT",
                         "--validate-recheck: recheck while the standard error of\n"
                         "a model's checks is above PCT % (0 to 100, default 2)"},
    [OPT_DTYPE] = {"dtype", 0, true, "f32|bf16|int8",
                   "data type of every brick and model (default f32); bf16 only\n"
                   "where the CPU has bf16 instructions; int8 falls back to f32\n"
                   "op by op where oneDNN has no int8 kernel"},
    [OPT_BRICKS_OUT] = {"bricks-out", 0, true, "FILE",
                        "main job: write one CSV row per unique brick (statistics,\n"
                        "implementation, key); an existing FILE is never overwritten"},
    [OPT_VERBOSE] = {"verbose", 'v', false, NULL,
                     "print 'brick: begin/end id=ID' around every brick on stderr"},
    [OPT_QUIET] = {"quiet", 'q', false, NULL, "no progress lines"},
    [OPT_BACKEND] = {"backend", 0, true, "onednn|dummy",
                     "main job: time bricks with oneDNN (default) or with the\n"
                     "deterministic dummy backend (tests; docs/cli.md)"},
    [OPT_SIMULATE] = {"simulate-ranks", 0, true, "N[,M...]",
                      "replay the brick hand-out with the costs of --costs FILE\n"
                      "for N ranks (2 to 1048576; up to 16 counts)"},
    [OPT_COSTS] = {"costs", 0, true, "FILE", "--simulate-ranks: a --bricks-out file of a real run"},
    [OPT_BIND] = {"bind", 0, true, "core|socket|numa|none|launcher",
                  "under MPI: one rank per core (default), socket or NUMA node\n"
                  "inside the mask the launcher gave; none/launcher keep it"},
    [OPT_ALLOW_OVERSUBSCRIBE] = {"allow-oversubscribe", 0, false, NULL,
                                 "under MPI: allow more ranks than binding units (results\n"
                                 "are marked oversubscribed)"},
    [OPT_REPORT_BINDINGS] = {"report-bindings", 0, false, NULL,
                             "under MPI: print one 'binding:' line per rank"},
    [OPT_SYSTEM_NAME] = {"system-name", 0, true, "NAME",
                         "name of this rank's system (default: CPU model, ISA and\n"
                         "threads per rank); each system times every brick"},
    [OPT_DEDICATED_COORDINATOR] = {"dedicated-coordinator", 0, false, NULL,
                                   "under MPI: rank 0 only hands out work (by default it\n"
                                   "also times bricks between hand-outs)"},
    [OPT_OUTPUT] = {"output", 'o', true, "FILE.h5",
                    "main job: store every result in this HDF5 file as it\n"
                    "arrives (docs/hdf5.md); an existing file needs --resume\n"
                    "or --force"},
    [OPT_RESUME] = {"resume", 0, false, NULL,
                    "reuse the bricks already in -o FILE for the same system\n"
                    "and settings; time only the rest"},
    [OPT_FORCE] = {"force", 0, false, NULL, "replace an existing -o FILE"},
    [OPT_STAT] = {"stat", 0, true, "median|min|mean",
                  "brick statistic summed into estimates (default median)"},
    [OPT_CHECKPOINT] = {"checkpoint-s", 0, true, "S",
                        "with -o: save the file at least every S seconds (default 5;\n"
                        "0.01 to 3600)"},
    [OPT_PROGRESS] = {"progress-s", 0, true, "S",
                      "seconds between two progress lines when stderr is not a\n"
                      "terminal (default 10; 0: after every brick and check)"},
    [OPT_JOB] = {"job", 0, true, "FILE",
                 "read options from an INI job file (jobs/README.md); the\n"
                 "command line overrides it"},
    [OPT_MAX_BRICK_MEM] = {"max-brick-mem", 0, true, "MiB",
                           "refuse bricks whose working set is larger (default: 80% of\n"
                           "the node's memory / ranks on the node)"},
    [OPT_HELP] = {"help", 'h', false, NULL, "print this help and exit"},
    [OPT_VERSION] = {"version", 'V', false, NULL,
                     "print the versions of dlbricks-mpi and its libraries"},
};

static int opt_value(int i) {
    return OPTIONS[i].short_name ? OPTIONS[i].short_name : OPT_BASE_ + i;
}

static int opt_index_of_value(int val) {
    for (int i = 0; i < OPT_COUNT_; i++)
        if (opt_value(i) == val) return i;
    return -1;
}

static dlb_parse_result usage_error(FILE *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "error: WHAT" and the hint line; every usage error goes through here. */
static dlb_parse_result usage_error(FILE *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", err);
    vfprintf(err, fmt, ap);
    fputs("\ntry 'dlbricks-mpi --help'\n", err);
    va_end(ap);
    return DLB_PARSE_BAD;
}

/* Parse a decimal integer in [1, max]: digits only, no sign, no spaces. */
static bool parse_positive(const char *s, size_t len, int64_t max, int64_t *out) {
    if (len == 0 || len > 19) return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
        if (v > max) return false;
    }
    if (v < 1) return false;
    *out = v;
    return true;
}

/* Parse a count in [0, max]: "0" or what parse_positive accepts. */
static bool parse_count(const char *s, int64_t max, int64_t *out) {
    if (!strcmp(s, "0")) {
        *out = 0;
        return true;
    }
    return parse_positive(s, strlen(s), max, out);
}

/* Parse a real number in [lo, hi]: the whole string, strtod's syntax. */
static bool parse_real(const char *s, double lo, double hi, double *out) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

static dlb_parse_result parse_batches(const char *arg, dlb_cli_options *opt, FILE *err) {
    opt->n_batches = 0;
    const char *p = arg;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int64_t v;
        if (!parse_positive(p, len, DLB_CLI_MAX_BATCH, &v))
            return usage_error(err,
                               "--batch: invalid batch size list '%s' (positive integers "
                               "up to 2147483647, separated by commas)",
                               arg);
        for (int i = 0; i < opt->n_batches; i++)
            if (opt->batches[i] == v)
                return usage_error(err, "--batch: batch size repeated in '%s'", arg);
        if (opt->n_batches == DLB_CLI_MAX_BATCHES)
            return usage_error(err, "--batch: more than 64 batch sizes in '%s'", arg);
        opt->batches[opt->n_batches++] = v;
        if (!comma) break;
        p = comma + 1;
    }
    return DLB_PARSE_OK;
}

/* getopt_long accepts unambiguous abbreviations ("--dry" for "--dry-run"); a stable command
 * line must not, or adding an option later would break scripts.  Check the spelling. */
static bool long_spelled_out(const char *token, const char *name) {
    size_t n = strlen(name);
    return token && strncmp(token, "--", 2) == 0 && strncmp(token + 2, name, n) == 0 &&
           (token[2 + n] == '\0' || token[2 + n] == '=');
}

/* The text of the option token that getopt_long just returned. */
static const char *current_token(char **argv, int index) {
    if (OPTIONS[index].has_arg && optarg && optind >= 2 && optarg == argv[optind - 1])
        return argv[optind - 2];
    return optind >= 1 ? argv[optind - 1] : NULL;
}

/* The name part of an unrecognised "--name[=value]" token, for the message. */
static void long_name_of(const char *token, char *buf, size_t size) {
    size_t n = strcspn(token, "=");
    if (n >= size) n = size - 1;
    memcpy(buf, token, n);
    buf[n] = '\0';
}

dlb_parse_result dlb_cli_parse(int argc, char **argv, dlb_cli_options *opt, FILE *err) {
    memset(opt, 0, sizeof *opt);
    opt->fuse = true;
    opt->min_time_ms = -1;
    opt->validate_se_pct = DLB_VALIDATE_SE_PCT;
    opt->dtype = DLB_DT_F32;
    opt->bind = DLB_BIND_CORE;
    opt->granularity = 2;
    opt->stat = "median";
    opt->checkpoint_s = 5;
    opt->progress_s = 10;
    opt->argc = argc;
    opt->argv = argv;

    struct option longopts[OPT_COUNT_ + 1];
    char shortopts[2 * OPT_COUNT_ + 2];
    size_t ns = 0;
    shortopts[ns++] = ':'; /* report a missing argument as ':' */
    for (int i = 0; i < OPT_COUNT_; i++) {
        longopts[i] =
            (struct option){OPTIONS[i].name, OPTIONS[i].has_arg ? required_argument : no_argument,
                            NULL, opt_value(i)};
        if (OPTIONS[i].short_name) {
            shortopts[ns++] = OPTIONS[i].short_name;
            if (OPTIONS[i].has_arg) shortopts[ns++] = ':';
        }
    }
    longopts[OPT_COUNT_] = (struct option){NULL, 0, NULL, 0};
    shortopts[ns] = '\0';

    opterr = 0;
    optind = 0; /* full reinitialisation (glibc), so the parser can run more than once */
    for (;;) {
        int longindex = -1;
        int c = getopt_long(argc, argv, shortopts, longopts, &longindex);
        if (c == -1) break;
        if (c == '?' || c == ':') {
            const char *tok = optind >= 1 && optind <= argc ? argv[optind - 1] : "?";
            int idx = opt_index_of_value(optopt);
            char name[64];
            if (c == ':') {
                if (idx >= 0 && strncmp(tok, "--", 2) == 0)
                    return usage_error(err, "option '--%s' requires a value (%s)",
                                       OPTIONS[idx].name, OPTIONS[idx].arg_name);
                snprintf(name, sizeof name, "%c", optopt);
                return usage_error(err, "option '-%s' requires a value (%s)", name,
                                   idx >= 0 ? OPTIONS[idx].arg_name : "?");
            }
            if (idx >= 0) /* "--csv=x": a value for an option that takes none */
                return usage_error(err, "option '--%s' does not take a value", OPTIONS[idx].name);
            if (optopt > 0 && optopt < 256) {
                snprintf(name, sizeof name, "-%c", optopt);
                return usage_error(err, "unknown option '%s'", name);
            }
            long_name_of(tok, name, sizeof name);
            return usage_error(err, "unknown option '%s'", name);
        }
        int idx = opt_index_of_value(c);
        if (idx < 0) return usage_error(err, "internal option error");
        if (longindex >= 0) {
            const char *tok = current_token(argv, idx);
            if (!long_spelled_out(tok, OPTIONS[idx].name)) {
                char name[64];
                long_name_of(tok ? tok : "?", name, sizeof name);
                return usage_error(err, "unknown option '%s' (did you mean '--%s'?)", name,
                                   OPTIONS[idx].name);
            }
        }
        int64_t v;
        switch ((opt_id)idx) {
        case OPT_DRY_RUN:
        case OPT_TIME_MODEL:
        case OPT_COMPOSE:
            if (opt->mode != DLB_MODE_BRICKS)
                return usage_error(err, "--dry-run, --time-model, --compose and --simulate-ranks "
                                        "exclude each other");
            opt->mode = idx == OPT_DRY_RUN      ? DLB_MODE_DRY_RUN
                        : idx == OPT_TIME_MODEL ? DLB_MODE_TIME_MODEL
                                                : DLB_MODE_COMPOSE;
            if (idx == OPT_TIME_MODEL) opt->time_model = optarg;
            if (idx == OPT_COMPOSE) opt->compose = optarg;
            break;
        case OPT_SYSTEM:
            if (!*optarg) return usage_error(err, "--system: empty system name");
            opt->system = optarg;
            break;
        case OPT_DECOMPOSE_OUT:
            opt->decomp_out = optarg;
            break;
        case OPT_THREADS:
            if (!parse_positive(optarg, strlen(optarg), 4096, &v))
                return usage_error(err, "--threads: invalid value '%s' (1 to 4096)", optarg);
            opt->threads = (int)v;
            break;
        case OPT_MIN_TIME_MS:
            if (!parse_real(optarg, 0, 3.6e6, &opt->min_time_ms))
                return usage_error(err, "--min-time-ms: invalid value '%s' (0 to 3600000)", optarg);
            break;
        case OPT_MIN_REPS:
            if (!parse_positive(optarg, strlen(optarg), 1000000000, &v))
                return usage_error(err, "--min-reps: invalid value '%s' (1 to 1000000000)", optarg);
            opt->min_reps = (int)v;
            break;
        case OPT_COLD_CACHE:
            opt->cold_cache = true;
            break;
        case OPT_WEIGHTS:
            if (strcmp(optarg, "cold") && strcmp(optarg, "warm") && strcmp(optarg, "distance") &&
                strcmp(optarg, "auto"))
                return usage_error(
                    err, "--weights: invalid value '%s' (cold, warm, distance or auto)", optarg);
            opt->warm_weights = !strcmp(optarg, "warm");
            opt->weights_distance = !strcmp(optarg, "distance");
            opt->weights_auto = !strcmp(optarg, "auto");
            break;
        case OPT_COLD_INPUTS:
            if (strcmp(optarg, "memory") && strcmp(optarg, "distance"))
                return usage_error(err, "--cold-inputs: invalid value '%s' (memory or distance)",
                                   optarg);
            opt->cold_distance = !strcmp(optarg, "distance");
            opt->cold_inputs_given = true;
            break;
        case OPT_DENORMALS:
            if (strcmp(optarg, "flush") && strcmp(optarg, "keep"))
                return usage_error(err, "--denormals: invalid value '%s' (flush or keep)", optarg);
            opt->keep_denormals = !strcmp(optarg, "keep");
            break;
        case OPT_VALIDATE:
            opt->validate = true;
            break;
        case OPT_VALIDATE_ROUNDS:
            if (!parse_positive(optarg, strlen(optarg), DLB_VALIDATE_MAX_ROUNDS, &v))
                return usage_error(err, "--validate-rounds: invalid value '%s' (1 to 64)", optarg);
            opt->validate_rounds = (int)v;
            break;
        case OPT_VALIDATE_PASSES:
            if (!parse_positive(optarg, strlen(optarg), DLB_VALIDATE_MAX_PASSES, &v))
                return usage_error(err, "--validate-passes: invalid value '%s' (1 to 16)", optarg);
            opt->validate_passes = (int)v;
            break;
        case OPT_VALIDATE_RECHECK:
            if (!parse_count(optarg, DLB_VALIDATE_MAX_PASSES - 1, &v))
                return usage_error(err, "--validate-recheck: invalid value '%s' (0 to 15)", optarg);
            opt->validate_recheck = (int)v;
            break;
        case OPT_VALIDATE_SE:
            if (!parse_real(optarg, 0, 100, &opt->validate_se_pct))
                return usage_error(err, "--validate-se: invalid value '%s' (0 to 100)", optarg);
            break;
        case OPT_BRICKS_OUT:
            opt->bricks_out = optarg;
            break;
        case OPT_VERBOSE:
            opt->verbose = true;
            break;
        case OPT_QUIET:
            opt->quiet = true;
            break;
        case OPT_SIMULATE: {
            if (opt->mode != DLB_MODE_BRICKS)
                return usage_error(err, "--simulate-ranks excludes the other modes");
            opt->mode = DLB_MODE_SIMULATE;
            opt->n_simulate = 0;
            for (const char *p = optarg;;) {
                size_t len = strcspn(p, ",");
                if (opt->n_simulate == 16 || !parse_positive(p, len, 1048576, &v) || v < 2)
                    return usage_error(err, "--simulate-ranks: invalid list '%s'", optarg);
                opt->simulate[opt->n_simulate++] = (int)v;
                if (!p[len]) break;
                p += len + 1;
            }
            break;
        }
        case OPT_COSTS:
            opt->costs = optarg;
            break;
        case OPT_BIND: {
            dlb_bind_policy p;
            if (!dlb_bind_policy_parse(optarg, &p))
                return usage_error(err,
                                   "--bind: invalid value '%s' (core, socket, numa, none or "
                                   "launcher)",
                                   optarg);
            opt->bind = (int)p;
            break;
        }
        case OPT_ALLOW_OVERSUBSCRIBE:
            opt->allow_oversubscribe = true;
            break;
        case OPT_REPORT_BINDINGS:
            opt->report_bindings = true;
            break;
        case OPT_BACKEND:
            if (strcmp(optarg, "onednn") && strcmp(optarg, "dummy"))
                return usage_error(err, "--backend: invalid value '%s' (onednn or dummy)", optarg);
            opt->dummy = !strcmp(optarg, "dummy");
            break;
        case OPT_DTYPE:
            if (!strcmp(optarg, "f32"))
                opt->dtype = DLB_DT_F32;
            else if (!strcmp(optarg, "bf16"))
                opt->dtype = DLB_DT_BF16;
            else if (!strcmp(optarg, "int8"))
                opt->dtype = DLB_DT_S8;
            else
                return usage_error(err, "--dtype: invalid value '%s' (f32, bf16 or int8)", optarg);
            break;
        case OPT_BATCH:
            if (parse_batches(optarg, opt, err) != DLB_PARSE_OK) return DLB_PARSE_BAD;
            break;
        case OPT_GRANULARITY:
            if (!parse_positive(optarg, strlen(optarg), DLB_CLI_MAX_GRANULARITY, &v))
                return usage_error(err, "-G/--granularity: invalid value '%s' (1 to 1024)", optarg);
            opt->granularity = (int)v;
            break;
        case OPT_NO_FUSE:
            opt->fuse = false;
            break;
        case OPT_CSV:
            opt->csv = true;
            break;
        case OPT_SYSTEM_NAME:
            if (!*optarg || strlen(optarg) > 63 || strpbrk(optarg, " \t\n/=,"))
                return usage_error(err,
                                   "--system-name: invalid name '%s' (1 to 63 characters, no "
                                   "space, '/', '=' or ',')",
                                   optarg);
            opt->system_name = optarg;
            break;
        case OPT_DEDICATED_COORDINATOR:
            opt->dedicated_coordinator = true;
            break;
        case OPT_NO_HOST_PROBE:
            opt->no_host_probe = true;
            break;
        case OPT_OUTPUT:
            opt->output = optarg;
            break;
        case OPT_RESUME:
            opt->resume = true;
            break;
        case OPT_FORCE:
            opt->force = true;
            break;
        case OPT_STAT:
            if (strcmp(optarg, "median") && strcmp(optarg, "min") && strcmp(optarg, "mean"))
                return usage_error(err, "--stat: invalid value '%s' (median, min or mean)", optarg);
            opt->stat = optarg;
            break;
        case OPT_CHECKPOINT:
            if (!parse_real(optarg, 0.01, 3600, &opt->checkpoint_s))
                return usage_error(err, "--checkpoint-s: invalid value '%s' (0.01 to 3600)",
                                   optarg);
            break;
        case OPT_PROGRESS:
            if (!parse_real(optarg, 0, 86400, &opt->progress_s))
                return usage_error(err, "--progress-s: invalid value '%s' (0 to 86400)", optarg);
            break;
        case OPT_EVICT_MIB:
            if (!parse_count(optarg, 65536, &v))
                return usage_error(err, "--evict-mib: invalid value '%s' (MiB, 0 to 65536)",
                                   optarg);
            opt->evict_mib = (int)v;
            break;
        case OPT_MAX_BRICK_MEM:
            if (!parse_positive(optarg, strlen(optarg), (int64_t)1 << 40, &v))
                return usage_error(err, "--max-brick-mem: invalid value '%s' (MiB, 1 to 2^40)",
                                   optarg);
            opt->max_brick_mem_mib = v;
            break;
        case OPT_JOB: /* read by dlb_cli_parse_job before this parse */
            break;
        case OPT_HELP:
            return DLB_PARSE_HELP;
        case OPT_VERSION:
            return DLB_PARSE_VERSION;
        case OPT_COUNT_:
            break;
        }
    }
    if (opt->system && opt->mode != DLB_MODE_COMPOSE)
        return usage_error(err,
                           "--system needs --compose (--system-name names this rank's system)");
    if (opt->decomp_out && opt->mode != DLB_MODE_DRY_RUN)
        return usage_error(err, "--decompose-out needs --dry-run");
    if (opt->weights_auto && (opt->mode == DLB_MODE_DRY_RUN || opt->mode == DLB_MODE_COMPOSE))
        return usage_error(err, "--weights auto calibrates while timing: with --dry-run or "
                                "--compose give cold or distance");
    if (opt->weights_auto && opt->cold_cache)
        return usage_error(err, "--weights auto and --cold-cache exclude each other");
    if (dlb_cli_check_slots(opt) > DLB_VALIDATE_MAX_PASSES)
        return usage_error(
            err, "--validate-passes %d plus --validate-recheck %d: more than %d checks",
            dlb_cli_check_passes(opt), opt->validate_recheck, DLB_VALIDATE_MAX_PASSES);
    if (opt->mode == DLB_MODE_SIMULATE) {
        if (!opt->costs) return usage_error(err, "--simulate-ranks needs --costs FILE");
        if (optind < argc) return usage_error(err, "--simulate-ranks takes no PATH arguments");
        return DLB_PARSE_OK;
    }
    if (opt->mode == DLB_MODE_TIME_MODEL) {
        if (optind < argc) return usage_error(err, "--time-model takes no PATH arguments");
        return DLB_PARSE_OK;
    }
    if (opt->mode == DLB_MODE_COMPOSE) { /* -o, --resume, --force: ignored, as by --dry-run */
        if (argc - optind != 1)
            return usage_error(err, "--compose needs exactly one PATH: the results file "
                                    "(dlbricks-mpi --compose DECOMP.h5 RESULTS.h5)");
        opt->paths = argv + optind;
        opt->n_paths = 1;
        return DLB_PARSE_OK;
    }
    if (opt->resume && opt->force)
        return usage_error(err, "--resume and --force exclude each other");
    if ((opt->resume || opt->force) && !opt->output)
        return usage_error(err, "--resume and --force need -o FILE");
    if (optind >= argc) return usage_error(err, "no PATH given");
    opt->paths = argv + optind;
    opt->n_paths = argc - optind;
    return DLB_PARSE_OK;
}

void dlb_cli_usage(FILE *out) {
    fputs("usage: dlbricks-mpi [OPTION...] PATH...\n"
          "       dlbricks-mpi --dry-run [--decompose-out DECOMP.h5] [OPTION...] PATH...\n"
          "       dlbricks-mpi --time-model FILE [OPTION...]\n"
          "       dlbricks-mpi --compose DECOMP.h5 RESULTS.h5 [--system S] [OPTION...]\n"
          "\n"
          "Split ONNX models into bricks (unique runnable pieces of layers lowered to\n"
          "oneDNN ops), deduplicated across all models, time every unique brick once\n"
          "with oneDNN and compose per-model latency estimates.  PATH is a model file\n"
          "or a directory searched recursively for *.onnx files.\n"
          "\n"
          "options:\n",
          out);
    for (int i = 0; i < OPT_COUNT_; i++) {
        const opt_def *o = &OPTIONS[i];
        char head[64];
        int n;
        if (o->short_name)
            n = snprintf(head, sizeof head, "  -%c, --%s", o->short_name, o->name);
        else
            n = snprintf(head, sizeof head, "      --%s", o->name);
        if (o->arg_name && n > 0 && (size_t)n < sizeof head)
            snprintf(head + n, sizeof head - (size_t)n, " %s", o->arg_name);
        fprintf(out, "%-26s", head);
        if (strlen(head) >= 26) fprintf(out, "\n%-26s", "");
        for (const char *p = o->help; *p;) {
            size_t len = strcspn(p, "\n");
            fprintf(out, "%.*s\n", (int)len, p);
            p += len;
            if (*p == '\n') {
                p++;
                fprintf(out, "%-26s", "");
            }
        }
    }
    fputs("\n"
          "output: a table per model (batch, layers, covered layers, bricks used, new\n"
          "bricks, coverage of layers and FLOPs, GFLOPs), registry reuse statistics,\n"
          "and a last line 'summary: models=M layers=L unique=U'.\n"
          "\n"
          "exit status: 0 all models processed, 1 failure (PATH missing, no model\n"
          "files, out of memory), 2 usage error, 3 some models skipped or partial\n"
          "(bricks failed, or missing from the results file with --compose).\n"
          "\n"
          "examples:\n"
          "  dlbricks-mpi --dry-run zoo/\n"
          "  dlbricks-mpi --dry-run --batch 1,32 -G 2 zoo/resnet50.onnx zoo/tiny\n"
          "  dlbricks-mpi --dry-run --csv zoo/ > layers.csv\n"
          "  dlbricks-mpi --dry-run --decompose-out decomp.h5 model.onnx\n"
          "  dlbricks-mpi --compose decomp.h5 results.h5 --stat min\n"
          "\n"
          "See docs/cli.md for the full reference.\n",
          out);
}
