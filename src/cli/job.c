/* job.c — the main job's state on rank 0: systems, brick queues, results as they arrive, and the
 * results file they are saved to. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlbricks/exec.h"
#include "dlbricks/store.h"

static double mono_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double dlb_job_now(const dlb_job *j) {
    return mono_s() - j->t0;
}

/* "model name" of /proc/cpuinfo (x86; with family and model numbers, since some VMs show
 * only "AMD EPYC"), or "uarch"/"CPU part" elsewhere; "unknown-cpu". */
static void cpu_model(char *buf, size_t size) {
    snprintf(buf, size, "unknown-cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512], name[256] = "", family[32] = "", model[32] = "";
    while (fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!c) continue;
        if (!strncmp(line, "processor", 9) && *name) break; /* first CPU only */
        char *v = c + 1;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = 0;
        if (!strncmp(line, "model name", 10) || !strncmp(line, "uarch", 5) ||
            (!*name && !strncmp(line, "CPU part", 8)))
            snprintf(name, sizeof name, "%s", v);
        else if (!strncmp(line, "cpu family", 10))
            snprintf(family, sizeof family, "%s", v);
        else if (!strncmp(line, "model\t", 6))
            snprintf(model, sizeof model, "%s", v);
    }
    fclose(f);
    if (*name && *family && *model)
        snprintf(buf, size, "%.80s f%.4s m%.4s", name, family, model);
    else if (*name)
        snprintf(buf, size, "%s", name);
}

/* A system name from free text: lower-case letters and digits, other runs become '-'. */
static void slug(const char *in, char *out, size_t size) {
    size_t n = 0;
    bool dash = false;
    for (const char *p = in; *p && n + 1 < size; p++) {
        if (isalnum((unsigned char)*p)) {
            if (dash && n > 0 && n + 2 < size) out[n++] = '-';
            out[n++] = (char)tolower((unsigned char)*p);
            dash = false;
        } else {
            dash = true;
        }
    }
    out[n] = 0;
}

void dlb_cli_rank_info(const dlb_cli_options *opt, const dlb_thread_info *ti, bool oversubscribed,
                       bool times_bricks, dlb_rank_info *ri) {
    memset(ri, 0, sizeof *ri);
    cpu_model(ri->cpu_model, sizeof ri->cpu_model);
    snprintf(ri->isa, sizeof ri->isa, "%s", dlb_exec_isa());
    if (gethostname(ri->host, sizeof ri->host - 1) != 0) snprintf(ri->host, sizeof ri->host, "?");
    snprintf(ri->binding, sizeof ri->binding, "%.*s", (int)sizeof ri->binding - 1, ti->binding);
    ri->threads = ti->threads;
    ri->oversubscribed = oversubscribed;
    ri->times_bricks = times_bricks;
    if (opt->system_name) {
        snprintf(ri->system, sizeof ri->system, "%s", opt->system_name);
    } else {
        char cpu[40], isa[24];
        slug(ri->cpu_model, cpu, sizeof cpu);
        slug(ri->isa, isa, sizeof isa);
        snprintf(ri->system, sizeof ri->system, "%.36s.%.16s.t%d", cpu, isa, ti->threads);
    }
}

static dlb_status save(dlb_job *j, bool final);

/* The settings that make two measurements of one brick comparable (the --resume key).  The
 * executor's revision is always said: rows without it (files from before it) are timed again. */
static void settings_string(const dlb_cli_options *opt, const dlb_timing_settings *ts, int threads,
                            char *buf, size_t size) {
    char evict[32] = ""; /* only when on: files written without it stay resumable */
    if (opt->evict_mib > 0) snprintf(evict, sizeof evict, " evict=%dMiB", opt->evict_mib);
    /* Only when kept: bricks read data without subnormals, so rows from before the flush were
     * measured alike and stay resumable (docs/timing.md, "Subnormal numbers"). */
    const char *denormals = opt->keep_denormals ? " denormals=keep" : "";
    snprintf(buf, size,
             "backend=%s dtype=%s threads=%d min_time_ms=%g min_reps=%d max_reps=%d warmup=%d "
             "cold_cache=%d weights=%s%s%s fuse=%d G=%d exec=%d",
             opt->dummy ? "dummy" : "onednn", dlb_dtype_name(opt->dtype), threads, ts->min_time_ms,
             ts->min_reps, ts->max_reps, ts->warmup_reps, ts->cold_cache,
             ts->cold_weights ? "cold" : "warm", evict, denormals, opt->fuse, opt->granularity,
             DLB_EXEC_REVISION);
}

dlb_status dlb_job_refuse_output(const dlb_cli_options *opt) {
    if (!opt->output || opt->resume || opt->force || access(opt->output, F_OK) != 0) return DLB_OK;
    fprintf(stderr,
            "error: %s: file exists; never overwritten (--resume to extend it, --force to "
            "replace it)\n",
            opt->output);
    return DLB_EIO;
}

/* -o FILE: refuse an existing file unless --resume/--force, and lock FILE.lock so two jobs
 * never write the same file. */
static dlb_status open_output(dlb_job *j) {
    const dlb_cli_options *opt = j->opt;
    bool exists = access(opt->output, F_OK) == 0;
    if (dlb_job_refuse_output(opt) != DLB_OK) return DLB_EIO;
    /* FILE.lock, removed at the end.  After locking, check that the path still names the
     * file we locked (another job may have removed it meanwhile), else lock the new one. */
    snprintf(j->lock_path, sizeof j->lock_path, "%s.lock", opt->output);
    for (int tries = 0; tries < 8; tries++) {
        j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (j->lock_fd < 0) break;
        struct stat a, b;
        if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            close(j->lock_fd);
            j->lock_fd = -1;
            fprintf(stderr, "error: %s: another job is writing this results file\n", opt->output);
            return DLB_EIO;
        }
        if (fstat(j->lock_fd, &a) == 0 && stat(j->lock_path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            break;
        close(j->lock_fd);
        j->lock_fd = -1;
    }
    if (j->lock_fd < 0) {
        fprintf(stderr, "error: %s: cannot lock (%s)\n", j->lock_path, strerror(errno));
        return DLB_EIO;
    }
    if (exists && opt->resume) {
        dlb_diag d = {.file = opt->output};
        dlb_results_free(j->doc);
        j->doc = NULL;
        dlb_status st = dlb_results_load(opt->output, &d, &j->doc);
        if (st != DLB_OK) return st;
    } else if (exists) {
        fprintf(stderr, "note: %s: replacing the existing file (--force)\n", opt->output);
    }
    return DLB_OK;
}

/* A row of the bricks table from a result. */
static dlb_brick_row brick_row(const dlb_job *j, const dlb_job_system *sy, const dlb_brick *b,
                               int rank, const dlb_cli_brick_result *r) {
    const dlb_rank_info *ri = &j->ranks[rank];
    const dlb_stats *s = &r->stats;
    dlb_brick_row row = {
        .id = b->id,
        .op = b->n_ops > 0 ? dlb_lop_name(b->ops[0].op) : "?",
        .key = b->key,
        .flops = b->flops,
        .bytes = b->bytes,
        .impl = r->impl,
        .dtype = dlb_dtype_name(j->opt->dtype),
        .batch = b->n_ops > 0 && b->ops[0].n_src > 0 && b->ops[0].src[0].shape.rank > 0
                     ? b->ops[0].src[0].shape.dims[0]
                     : 0,
        .threads = ri->threads,
        .min_ms = s->min,
        .median_ms = s->median,
        .mean_ms = s->mean,
        .stddev_ms = s->stddev,
        .p90_ms = s->p90,
        .ci_low_ms = s->ci_low,
        .ci_high_ms = s->ci_high,
        .reps = s->n,
        .rank = rank,
        .host = ri->host,
        .binding = ri->binding,
        .oversubscribed = ri->oversubscribed,
        .status = r->status == DLB_OK ? "ok" : dlb_errname(r->status),
        .remeasured = r->remeasured,
        .unstable = r->unstable,
        .settings = sy->settings,
        .run_id = j->run_id,
        .finished = (double)time(NULL),
    };
    return row;
}

/* Take the brick statistics of an earlier run (--resume) instead of timing it again. */
static void reuse(dlb_job_system *s, int i, const dlb_brick_row *row) {
    dlb_cli_brick_result *r = &s->br[i];
    memset(r, 0, sizeof *r);
    r->status = DLB_OK;
    r->stats = (dlb_stats){.n = row->reps,
                           .min = row->min_ms,
                           .max = row->min_ms,
                           .mean = row->mean_ms,
                           .stddev = row->stddev_ms,
                           .median = row->median_ms,
                           .p90 = row->p90_ms,
                           .ci_low = row->ci_low_ms,
                           .ci_high = row->ci_high_ms};
    snprintf(r->impl, sizeof r->impl, "%s", row->impl ? row->impl : "");
    s->state[i] = DLB_BRICK_REUSED;
    s->n_reused++;
}

static dlb_status init_system(dlb_job *j, dlb_job_system *s, const dlb_rank_info *first) {
    int nb = dlb_registry_n_bricks(j->reg);
    snprintf(s->name, sizeof s->name, "%s", first->system);
    settings_string(j->opt, &j->ts, first->threads, s->settings, sizeof s->settings);
    s->br = calloc((size_t)nb + 1, sizeof *s->br);
    s->state = calloc((size_t)nb + 1, 1);
    s->queue = malloc(sizeof(int) * ((size_t)nb + 1));
    if (!s->br || !s->state || !s->queue) return DLB_ENOMEM;
    dlb_plan_init(&s->plan, &j->ts, first->threads);
    int sys = dlb_results_system(j->doc, s->name, true);
    if (sys < 0) return DLB_ENOMEM;
    dlb_status st = DLB_OK;
    const char *attrs[][2] = {{"cpu_model", first->cpu_model}, {"isa", first->isa}};
    for (size_t a = 0; a < 2 && st == DLB_OK; a++)
        st = dlb_results_system_attr(j->doc, sys, attrs[a][0], attrs[a][1]);
    char t[16];
    snprintf(t, sizeof t, "%d", first->threads);
    if (st == DLB_OK) st = dlb_results_system_attr(j->doc, sys, "threads_per_rank", t);
    if (st == DLB_OK) st = dlb_results_system_attr(j->doc, sys, "settings", s->settings);
    for (int i = 0; i < nb && st == DLB_OK; i++) {
        const dlb_brick *b = dlb_registry_brick(j->reg, i);
        long k = j->opt->resume ? dlb_results_find_brick(j->doc, sys, b->id, s->settings) : -1;
        if (k >= 0) {
            reuse(s, i, dlb_results_brick(j->doc, sys, (size_t)k));
            continue;
        }
        s->queue[s->tail++] = i;
    }
    dlb_plan_sort(&s->plan, j->reg, s->queue, s->tail);
    if (j->opt->validate) {
        int nm = dlb_registry_n_models(j->reg);
        size_t slots = (size_t)dlb_cli_check_slots(j->opt);
        s->checks = malloc(sizeof(int) * ((size_t)nm + 1));
        s->check_handed = calloc((size_t)nm + 1, sizeof(int));
        s->check_done = calloc((size_t)nm + 1, sizeof(int));
        s->check_round = calloc((size_t)nm + 1, sizeof(int));
        s->check = calloc(((size_t)nm + 1) * slots, sizeof *s->check);
        if (!s->checks || !s->check_handed || !s->check_done || !s->check_round || !s->check)
            return DLB_ENOMEM;
        for (int m = 0; m < nm; m++) {
            const dlb_model_entry *e = dlb_registry_model(j->reg, m);
            if (e->n_covered == e->n_layers && e->n_layers > 0) s->checks[s->check_tail++] = m;
        }
        s->n_checks = s->check_tail;
    }
    for (int q = 0; q < s->tail; q++)
        s->todo_s += dlb_plan_wall_s(&s->plan, dlb_registry_brick(j->reg, s->queue[q]));
    s->n_todo = s->tail;
    return st;
}

dlb_status dlb_job_init(dlb_job *j, const dlb_cli_options *opt, const dlb_registry *reg,
                        const dlb_rank_info *ranks, int n_ranks) {
    memset(j, 0, sizeof *j);
    j->opt = opt;
    j->reg = reg;
    j->lock_fd = -1;
    j->t0 = mono_s();
    j->progress_tty = isatty(STDERR_FILENO);
    dlb_cli_timing_settings(opt, &j->ts);
    j->n_ranks = n_ranks;
    j->ranks = calloc((size_t)n_ranks, sizeof *j->ranks);
    j->rank_end = calloc((size_t)n_ranks, sizeof *j->rank_end);
    j->rank_system = calloc((size_t)n_ranks, sizeof *j->rank_system);
    j->sys = calloc((size_t)n_ranks, sizeof *j->sys);
    j->doc = dlb_results_new();
    if (!j->ranks || !j->rank_end || !j->rank_system || !j->sys || !j->doc) return DLB_ENOMEM;
    memcpy(j->ranks, ranks, sizeof *ranks * (size_t)n_ranks);
    /* Run id: UTC start time and the coordinator's pid, unique across reruns into one file. */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(j->run_id, sizeof j->run_id, "%s-%d", ts, (int)getpid());
    dlb_status st = DLB_OK;
    if (opt->output && (st = open_output(j)) != DLB_OK) return st;
    for (int r = 0; r < n_ranks; r++) {
        j->rank_system[r] = -1;
        if (!ranks[r].times_bricks) continue;
        int s = 0;
        while (s < j->n_systems && strcmp(j->sys[s].name, ranks[r].system)) s++;
        if (s == j->n_systems) {
            j->n_systems++;
            if ((st = init_system(j, &j->sys[s], &ranks[r])) != DLB_OK) return st;
        }
        j->rank_system[r] = s;
        j->sys[s].n_ranks++;
    }
    if (j->n_systems == 0) return DLB_EINVAL; /* cannot happen: rank 0 times or a worker does */
    if ((st = dlb_cli_provenance(j)) != DLB_OK) return st;
    j->last_save = dlb_job_now(j);
    return save(j, false);
}

int dlb_job_next(dlb_job *j, int sys, bool cheap) {
    dlb_job_system *s = &j->sys[sys];
    if (s->head >= s->tail) return -1;
    int i = cheap ? s->queue[--s->tail] : s->queue[s->head++];
    s->state[i] = DLB_BRICK_HANDED;
    return i;
}

/* --validate-recheck: whether entry e gets another check now: every check of it is back and
 * succeeded, and their ratios disagree (dlb_cli_check_wants_more). */
static bool wants_recheck(const dlb_job *j, const dlb_job_system *s, int e) {
    int n = s->check_done[e], slots = dlb_cli_check_slots(j->opt);
    double r[DLB_VALIDATE_MAX_PASSES];
    if (n != s->check_handed[e] || n < 2 || n >= slots) return false;
    for (int k = 0; k < n; k++) r[k] = dlb_job_check_ratio(j, e, &s->check[e * slots + k]);
    return dlb_cli_check_wants_more(j->opt, r, n);
}

/* The next recheck, in rounds over the models in check order: a model gets at most one recheck a
 * round, so that its checks stay apart in time when several models are rechecked; rank 0 (cheap)
 * takes the cheapest model that wants one.  -1 when none wants one now. */
static int next_recheck(dlb_job *j, int sys, bool cheap) {
    dlb_job_system *s = &j->sys[sys];
    for (int tries = 0; tries < 2; tries++) {
        int best = -1, waiting = 0;
        double best_cost = 0;
        for (int c = 0; c < s->n_checks; c++) {
            int e = s->checks[c];
            if (!wants_recheck(j, s, e)) continue;
            if (s->check_round[e] > s->recheck_round) {
                waiting++; /* rechecked in this round already */
                continue;
            }
            double cost = cheap ? dlb_job_check_cost(j, sys, e) : 0;
            if (best < 0 || cost < best_cost) best = e, best_cost = cost;
            if (!cheap) break;
        }
        if (best >= 0) {
            s->check_round[best] = s->recheck_round + 1;
            s->check_handed[best]++;
            s->n_rechecks++;
            return best;
        }
        if (waiting == 0) return -1;
        s->recheck_round++; /* every model that wants one had one this round: the next round */
    }
    return -1;
}

int dlb_job_next_check(dlb_job *j, int sys, bool cheap) {
    dlb_job_system *s = &j->sys[sys];
    /* the next pass begins once this one is handed out: a model's checks are spread over the
     * validation, not run back to back (--validate-passes) */
    if (s->check_head >= s->check_tail && s->check_pass + 1 < dlb_cli_check_passes(j->opt)) {
        s->check_pass++;
        s->check_head = 0;
        s->check_tail = s->n_checks;
    }
    if (s->check_head >= s->check_tail)
        return j->opt->validate_recheck > 0 ? next_recheck(j, sys, cheap) : -1;
    int e = cheap ? s->checks[--s->check_tail] : s->checks[s->check_head++];
    s->check_handed[e]++;
    return e;
}

bool dlb_job_checks_pending(const dlb_job *j, int sys) {
    const dlb_job_system *s = &j->sys[sys];
    if (j->opt->validate_recheck <= 0 || !s->check) return false;
    for (int c = 0; c < s->n_checks; c++) {
        int e = s->checks[c];
        if (s->check_done[e] < s->check_handed[e] &&
            s->check_handed[e] < dlb_cli_check_slots(j->opt))
            return true;
    }
    return false;
}

double dlb_job_check_cost(const dlb_job *j, int sys, int entry) {
    const dlb_model_entry *m = dlb_registry_model(j->reg, entry);
    const dlb_plan *p = &j->sys[sys].plan;
    double bricks = 0, once = 0;
    for (int k = 0; k < m->n_layers; k++) {
        const dlb_model_layer *L = &m->layers[k];
        if (L->brick < 0 || !L->piece_start) continue;
        const dlb_brick *b = dlb_registry_brick(j->reg, L->brick);
        once += dlb_plan_exec_ms(p, b) * 1e-3;
        bricks += dlb_plan_wall_s(p, b); /* distinct or not: an upper bound is fine here */
    }
    double reps = fmax(j->ts.min_reps, once > 0 ? j->ts.min_time_ms * 1e-3 / once : 1);
    int n = 0; /* occurrences stand in for distinct bricks: at most more groups, fine here */
    for (int k = 0; k < m->n_layers; k++) n += m->layers[k].brick >= 0 && m->layers[k].piece_start;
    return bricks + (dlb_cli_check_rounds(j->opt, n) + 1) * (reps + j->ts.warmup_reps) * once;
}

dlb_status dlb_job_record_check(dlb_job *j, int sys, int entry, int rank, dlb_check_result *res) {
    dlb_job_system *s = &j->sys[sys];
    (void)rank;
    if (!s->check || entry < 0 || entry >= dlb_registry_n_models(j->reg) ||
        s->check_done[entry] >= s->check_handed[entry]) {
        dlb_check_result_free(res);
        return DLB_EINVAL;
    }
    s->check[entry * dlb_cli_check_slots(j->opt) + s->check_done[entry]++] = *res;
    memset(res, 0, sizeof *res);
    s->check_done_s += dlb_job_check_cost(j, sys, entry);
    dlb_status st = dlb_job_put_check(j, sys, entry);
    if (st == DLB_OK && dlb_job_now(j) - j->last_save >= j->opt->checkpoint_s) st = save(j, false);
    if (!j->opt->quiet) dlb_job_progress(j, false);
    return st;
}

/* Saving rewrites the whole file: periodic checkpoints are written uncompressed (gzip was
 * two thirds of a save) and spaced out so that they never take more than ~5% of the time;
 * the final save and the save on an interrupt compress. */
static dlb_status save(dlb_job *j, bool final) {
    if (!j->opt->output) return DLB_OK;
    dlb_diag d = {.file = j->opt->output};
    double t = dlb_job_now(j);
    dlb_status st = final ? dlb_results_save(j->doc, j->opt->output, &d)
                          : dlb_results_checkpoint(j->doc, j->opt->output, &d);
    double took = dlb_job_now(j) - t;
    double every = j->opt->checkpoint_s;
    j->last_save = dlb_job_now(j) + (took * 20 > every ? took * 20 - every : 0);
    return st;
}

dlb_status dlb_job_save(dlb_job *j) {
    return save(j, true);
}

dlb_status dlb_job_record(dlb_job *j, int sys, int brick, int rank, dlb_cli_brick_result *r) {
    dlb_job_system *s = &j->sys[sys];
    if (brick < 0 || brick >= dlb_registry_n_bricks(j->reg) ||
        s->state[brick] != DLB_BRICK_HANDED) {
        free(r->samples);
        return DLB_EINVAL; /* a duplicate or a brick never handed out: ignored */
    }
    const dlb_brick *b = dlb_registry_brick(j->reg, brick);
    s->state[brick] = DLB_BRICK_DONE;
    s->br[brick] = *r;
    if (r->status == DLB_OK) {
        s->n_timed++;
        dlb_plan_learn(&s->plan, b, r->stats.median);
    } else {
        s->n_failed++;
    }
    s->done_s += dlb_plan_wall_s(&s->plan, b);
    double t = dlb_job_now(j);
    s->end = t;
    if (rank >= 0 && rank < j->n_ranks) j->rank_end[rank] = t;
    int dsys = dlb_results_system(j->doc, s->name, true);
    dlb_brick_row row = brick_row(j, s, b, rank >= 0 && rank < j->n_ranks ? rank : 0, r);
    dlb_status st =
        dsys < 0 ? DLB_ENOMEM : dlb_results_add_brick(j->doc, dsys, &row, r->samples, r->n_samples);
    free(s->br[brick].samples); /* the document keeps its copy */
    s->br[brick].samples = NULL;
    s->br[brick].n_samples = 0;
    if (st == DLB_OK && t - j->last_save >= j->opt->checkpoint_s) st = save(j, false);
    if (!j->opt->quiet) dlb_job_progress(j, false);
    return st;
}

/* Predicted wall of system k's checks still to come (--validate), from what the plan has learnt
 * so far. */
static double checks_left_s(const dlb_job *j, int k) {
    const dlb_job_system *s = &j->sys[k];
    double left = 0;
    for (int c = 0; c < s->n_checks; c++)
        left += fmax(dlb_cli_check_passes(j->opt) - s->check_done[s->checks[c]], 0) *
                dlb_job_check_cost(j, k, s->checks[c]);
    return left;
}

/* "progress: sys bricks D/T models C/M ETA ..." : ETA from the predicted cost still to do (bricks,
 * then checks), scaled by how long the predicted cost done so far actually took. */
void dlb_job_progress(dlb_job *j, bool final) {
    double t = dlb_job_now(j);
    if (!final && t - j->last_progress < (j->progress_tty ? 0.5 : j->opt->progress_s)) return;
    j->last_progress = t;
    char line[512];
    int n = 0;
    double eta = 0;
    for (int k = 0; k < j->n_systems && n < (int)sizeof line - 80; k++) {
        const dlb_job_system *s = &j->sys[k];
        int done = s->n_timed + s->n_failed;
        double did = s->done_s + s->check_done_s, rate = did > 0 ? t / did : 1;
        double left = fmax(s->todo_s - s->done_s, 0) + (final ? 0 : checks_left_s(j, k));
        if (left > 0 && s->n_ranks > 0 && left * rate > eta) eta = left * rate;
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s %d/%d", k ? ", " : "",
                      j->n_systems > 1 ? s->name : "bricks", done, s->n_todo);
        if (s->n_checks > 0) {
            int checked = 0, passes = dlb_cli_check_passes(j->opt);
            for (int m = 0; m < dlb_registry_n_models(j->reg); m++) checked += s->check_done[m];
            if (passes == 1 && j->opt->validate_recheck <= 0)
                n += snprintf(line + n, sizeof line - (size_t)n, " models %d/%d", checked,
                              s->n_checks);
            else
                n += snprintf(line + n, sizeof line - (size_t)n, " checks %d/%d", checked,
                              s->n_checks * passes + s->n_rechecks);
        }
    }
    if (j->progress_tty) {
        fprintf(stderr, "\rprogress: %s  elapsed %.0f s  ETA %.0f s   %s", line, t, eta,
                final ? "\n" : "");
        j->progress_open = !final;
    } else {
        fprintf(stderr, "progress: %s elapsed_s=%.0f eta_s=%.0f\n", line, t, eta);
    }
}

void dlb_job_free(dlb_job *j) {
    for (int s = 0; s < j->n_systems; s++) {
        int nb = dlb_registry_n_bricks(j->reg);
        for (int i = 0; j->sys[s].br && i < nb; i++) free(j->sys[s].br[i].samples);
        free(j->sys[s].br);
        free(j->sys[s].state);
        free(j->sys[s].queue);
        int nc = dlb_registry_n_models(j->reg) * dlb_cli_check_slots(j->opt);
        for (int c = 0; j->sys[s].check && c < nc; c++) dlb_check_result_free(&j->sys[s].check[c]);
        free(j->sys[s].check);
        free(j->sys[s].checks);
        free(j->sys[s].check_handed);
        free(j->sys[s].check_done);
        free(j->sys[s].check_round);
    }
    free(j->sys);
    free(j->ranks);
    free(j->rank_end);
    free(j->rank_system);
    dlb_results_free(j->doc);
    if (j->lock_fd >= 0) {
        unlink(j->lock_path); /* while still locked: a job that opened it re-checks the path */
        close(j->lock_fd);
    }
    memset(j, 0, sizeof *j);
    j->lock_fd = -1;
}
