/* bricks.c — the main job in one process: time every unique brick once, compose the models. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlbricks/exec.h"
#include "dlbricks/store.h"
#include "dlbricks/timing.h"

typedef dlb_cli_brick_result brick_result;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Cold weights (docs/timing.md): one pool per process, twice the last-level cache the rank's
 * binding reaches, allocated when a brick first needs it.  A brick whose working set exceeds
 * the pool rotates nothing (its own traffic evicts its weights).  Peak memory stays that of
 * the largest brick of the run: the pool is released before a brick that would not fit
 * beside it (in practice only the few largest), and kept otherwise (re-making it cost
 * ~20 ms each time). */
static dlb_weight_pool *weight_pool;
static size_t weight_pool_bytes = (size_t)64 << 20; /* when the cache size is unknown */
static int64_t largest_brick_bytes;                 /* of the whole run; 0: unknown */

void dlb_cli_set_weight_pool(const dlb_thread_info *ti) {
    if (ti && ti->llc_bytes > 0) weight_pool_bytes = (size_t)(2 * ti->llc_bytes);
}

/* Context eviction (--evict-mib, docs/timing.md): one evictor per process, allocated when a
 * brick first needs it. */
static dlb_evictor *evictor;
static size_t evict_bytes;

/* Streamed outputs' ageing (dlb_net_age_streamed_outputs): one per process, DLB_COLD_DISTANCE
 * bytes, allocated when a brick first has such an output. */
static dlb_evictor *ager;

void dlb_cli_set_eviction(const dlb_cli_options *opt) {
    evict_bytes = opt->evict_mib > 0 ? (size_t)opt->evict_mib << 20 : 0;
}

void dlb_cli_set_largest_brick(int64_t bytes) {
    largest_brick_bytes = bytes;
}

/* May brick b run beside the pool?  A brick may allocate up to about twice its compulsory
 * bytes (a boundary reorder's copy of an input, blocked-layout padding, scratchpads). */
static bool fits_beside_pool(const dlb_brick *b) {
    int64_t pool = (int64_t)weight_pool_bytes;
    int64_t peak = largest_brick_bytes > 2 * pool ? largest_brick_bytes : 2 * pool;
    return 2 * b->bytes + pool <= peak;
}

void dlb_cli_release_weight_pool(void) {
    dlb_weight_pool_free(weight_pool);
    weight_pool = NULL;
    dlb_evictor_free(evictor);
    evictor = NULL;
    dlb_evictor_free(ager);
    ager = NULL;
}

static dlb_evictor *brick_ager(dlb_net *net, const dlb_timing_settings *ts) {
    if (ts->cold_cache || dlb_net_streamed_output_bytes(net) + dlb_net_near_input_bytes(net) == 0)
        return NULL;
    if (!ager && dlb_evictor_create((size_t)DLB_COLD_DISTANCE, &ager) != DLB_OK) return NULL;
    return ager; /* out of memory: the outputs are not aged */
}

typedef struct brick_run {
    dlb_net *net;
    bool cold_cache;
    int copies;         /* the rotation's longest cycle (>= 2 when rotating) */
    int64_t rep;        /* repetitions so far: each rotated buffer's copy is rep modulo its own */
    dlb_evictor *evict; /* context eviction before each repetition, or NULL */
    dlb_evictor *age;   /* streamed outputs dirtied and aged before each repetition, or NULL */
} brick_run;

static dlb_status run_net(void *ctx) {
    return dlb_net_run(((brick_run *)ctx)->net);
}

/* Before each timed repetition (not timed): the next cold copies of the weights and cold inputs
 * (each cycling at its own reuse distance, dlb_net_weight_copies), then the context eviction,
 * then the streamed outputs dirtied and aged; --cold-cache evicts everything instead. */
static void before_rep(void *ctx) {
    brick_run *br = ctx;
    if (br->cold_cache) {
        dlb_net_flush_caches(br->net);
        return;
    }
    if (br->copies >= 2) {
        dlb_status st = dlb_net_use_weight_copy(br->net, weight_pool, br->rep++);
        (void)st; /* cannot fail once dlb_net_weight_copies planned a rotation */
    }
    if (br->evict) dlb_net_evict_context(br->net, br->evict);
    if (br->age) dlb_net_age_streamed_outputs(br->net, br->age);
    if (br->age) dlb_net_age_near_inputs(br->net, br->age);
}

/* A brick is evicted unless the model keeps its data in cache (every op warm), and not under
 * --cold-cache (which flushes everything). */
static dlb_evictor *brick_evictor(const dlb_brick *b, const dlb_timing_settings *ts) {
    bool warm = true;
    for (int i = 0; i < b->n_ops; i++) warm = warm && b->ops[i].warm;
    if (warm || ts->cold_cache || evict_bytes == 0) return NULL;
    if (!evictor && dlb_evictor_create(evict_bytes, &evictor) != DLB_OK) return NULL;
    return evictor; /* out of memory: no eviction, as with --evict-mib 0 */
}

/* Weight copies for a brick: needs the pool (created on first use); none when its own
 * working set exceeds the pool (the pool was released before creating it). */
static int weight_copies(const dlb_brick *b, dlb_net *net, const dlb_timing_settings *ts) {
    if (!ts->cold_weights || ts->cold_cache || b->bytes > (int64_t)weight_pool_bytes ||
        !fits_beside_pool(b))
        return 0;
    if (!weight_pool && dlb_weight_pool_create(weight_pool_bytes, &weight_pool) != DLB_OK)
        return 0; /* out of memory: warm weights, as before */
    int k = dlb_net_weight_copies(net, weight_pool);
    return k >= 2 ? k : 0;
}

/* A median whose 95% CI is wider than this share of it is unstable: the brick is measured again
 * (at most DLB_REMEASURE more times) and the narrowest measurement is kept (docs/timing.md). */
#define DLB_UNSTABLE_CI_WIDTH 0.05
#define DLB_REMEASURE 2
#define DLB_REMEASURE_MAX_MS 1000.0 /* bricks whose measurement took longer are not repeated */

static double ci_width(const dlb_stats *s) {
    return s->median > 0 ? (s->ci_high - s->ci_low) / s->median : 0;
}

/* Time one brick; failures are reported with the brick id and op, and the run goes on. */
static void time_brick(const dlb_brick *b, const dlb_timing_settings *ts, brick_result *r,
                       dlb_cli_brick_times *t) {
    char where[64];
    snprintf(where, sizeof where, "brick %016" PRIx64 " (%s)", b->id, dlb_lop_name(b->ops[0].op));
    dlb_diag d = {.file = where};
    dlb_netdesc nd;
    dlb_net *net = NULL;
    memset(r, 0, sizeof *r);
    dlb_netdesc_of_brick(b, &nd);
    nd.name = NULL; /* messages name the brick through the diag file field */
    double t_setup = now_s();
    if (weight_pool && !fits_beside_pool(b)) dlb_cli_release_weight_pool();
    r->status = dlb_net_create(&nd, NULL, &d, &net);
    t->setup_s += now_s() - t_setup;
    if (r->status != DLB_OK) {
        if (d.n_errors == 0) dlb_error(&d, NULL, "cannot build: %s", dlb_strerror(r->status));
        t_setup = now_s();
        dlb_net_free(net);
        t->setup_s += now_s() - t_setup;
        return;
    }
    snprintf(r->impl, sizeof r->impl, "%s", dlb_net_impl(net, 0));
    brick_run br = {.net = net, .cold_cache = ts->cold_cache};
    t_setup = now_s();
    br.copies = weight_copies(b, net, ts);
    br.evict = brick_evictor(b, ts);
    br.age = brick_ager(net, ts);
    t->setup_s += now_s() - t_setup;
    dlb_timing_settings bts = *ts;
    /* the hook runs before every repetition, and an eviction's or ageing's cost counts */
    bts.cold_weights = br.copies >= 2 || br.evict || br.age;
    bts.flush_counts = br.evict != NULL || br.age != NULL;
    for (int attempt = 0; attempt <= DLB_REMEASURE; attempt++) {
        dlb_timing_result res = {0};
        double t0 = now_s();
        dlb_status st = dlb_time_runs(
            run_net, bts.cold_cache || bts.cold_weights ? before_rep : NULL, &br, &bts, &res);
        t->timing_s += now_s() - t0;
        if (st != DLB_OK) {
            dlb_error(&d, NULL, "run failed: %s", dlb_strerror(st));
            r->status = st;
            dlb_timing_result_free(&res);
            break;
        }
        double res_wall_ms = res.wall_ms;
        if (attempt == 0 || ci_width(&res.stats) < ci_width(&r->stats)) {
            free(r->samples);
            r->stats = res.stats;
            r->samples = res.samples; /* handed over */
            r->n_samples = res.n_samples;
            res.samples = NULL;
        }
        dlb_timing_result_free(&res);
        r->remeasured = attempt;
        /* Only cheap measurements are repeated: a long brick has few repetitions, so its CI is
         * wide by nature; measuring it again would cost seconds and not narrow it. */
        if (ci_width(&r->stats) <= DLB_UNSTABLE_CI_WIDTH || res_wall_ms > DLB_REMEASURE_MAX_MS)
            break;
    }
    r->unstable = r->status == DLB_OK && ci_width(&r->stats) > DLB_UNSTABLE_CI_WIDTH;
    t_setup = now_s();
    dlb_net_free(net);
    t->setup_s += now_s() - t_setup;
}

/* The deterministic "dummy" backend (IOR's DUMMY pattern): a brick "takes"
 * 1 us + flops / 50 GFLOP/s + bytes / 20 GB/s, every repetition alike, so orchestration,
 * composition and storage can be tested exactly.  DLB_DUMMY_FAIL=<hex prefix> makes the bricks
 * whose id starts with it fail, as a oneDNN error would; DLB_DUMMY_UNSTABLE and DLB_DUMMY_NOISY
 * (below) imitate medians that are measured again and that stay unstable. */
static void dummy_brick(const dlb_brick *b, const dlb_timing_settings *ts, brick_result *r) {
    memset(r, 0, sizeof *r);
    char id[17];
    snprintf(id, sizeof id, "%016" PRIx64, b->id);
    const char *fail = getenv("DLB_DUMMY_FAIL");
    if (fail && *fail && !strncmp(id, fail, strlen(fail))) {
        dlb_diag d = {.file = "dummy"};
        dlb_error(&d, NULL, "brick %s (%s): injected failure", id, dlb_lop_name(b->ops[0].op));
        r->status = DLB_EDNNL;
        return;
    }
    double ms = 1e-3 + (double)b->flops / 50e9 * 1e3 + (double)b->bytes / 20e9 * 1e3;
    /* DLB_DUMMY_UNSTABLE=<hex prefix>: those bricks look unstable (CI of the median +-10%) until
     * measured again once (tests of the re-measurement). */
    const char *unstable = getenv("DLB_DUMMY_UNSTABLE");
    if (unstable && *unstable && !strncmp(id, unstable, strlen(unstable))) {
        r->remeasured = 1;
        ms *= 1.01; /* the second measurement: stable */
    }
    /* DLB_DUMMY_NOISY=<hex prefix>: those bricks stay unstable: samples spread evenly over
     * +-10% of the time, so the 95% CI of the median stays wider than DLB_UNSTABLE_CI_WIDTH after
     * DLB_REMEASURE more measurements (tests of the unstable flag and its report). */
    const char *noisy = getenv("DLB_DUMMY_NOISY");
    bool is_noisy = noisy && *noisy && !strncmp(id, noisy, strlen(noisy));
    const char *sleep_ms = getenv("DLB_DUMMY_SLEEP_MS"); /* tests: make a run last */
    if (sleep_ms && atof(sleep_ms) > 0) {
        double w = atof(sleep_ms) * 1e-3;
        struct timespec t = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
        while (nanosleep(&t, &t) != 0 && !dlb_cli_stop) {
        }
    }
    dlb_stats *s = &r->stats;
    s->n = ts->min_reps > 0 ? ts->min_reps : 1;
    if (is_noisy && s->n < 10) s->n = 10; /* enough repetitions for a spread */
    int keep = (int)(s->n < ts->max_samples || ts->max_samples <= 0 ? s->n : ts->max_samples);
    snprintf(r->impl, sizeof r->impl, "dummy");
    if ((r->samples = malloc(sizeof(double) * (size_t)keep)) != NULL) {
        for (int i = 0; i < keep; i++)
            r->samples[i] = is_noisy && keep > 1 ? ms * (0.9 + 0.2 * i / (keep - 1)) : ms;
        r->n_samples = keep;
    }
    if (is_noisy && r->samples && keep > 1) {
        s->n = keep; /* the statistics of exactly the samples kept */
        if (dlb_stats_compute(r->samples, keep, s) == DLB_OK) {
            r->remeasured = DLB_REMEASURE;
            r->unstable = ci_width(s) > DLB_UNSTABLE_CI_WIDTH;
            return;
        }
    }
    s->min = s->max = s->mean = s->median = s->p90 = s->ci_low = s->ci_high = ms;
}

static int64_t brick_mem_limit; /* bytes; 0: no limit */

int64_t dlb_cli_largest_brick(const dlb_registry *reg) {
    int64_t m = 0;
    for (int i = 0; i < dlb_registry_n_bricks(reg); i++) {
        const dlb_brick *b = dlb_registry_brick(reg, i);
        if (b->bytes > m) m = b->bytes;
    }
    return m;
}

void dlb_cli_set_brick_mem_limit(const dlb_cli_options *opt, int ranks_per_node) {
    if (opt->max_brick_mem_mib > 0) {
        brick_mem_limit = opt->max_brick_mem_mib << 20;
        return;
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        brick_mem_limit = (int64_t)((double)pages * (double)page * 0.8 /
                                    (ranks_per_node > 0 ? ranks_per_node : 1));
}

int64_t dlb_cli_brick_mem_limit(void) {
    return brick_mem_limit;
}

void dlb_cli_time_one_brick(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                            const dlb_brick *b, dlb_cli_brick_result *r, dlb_cli_brick_times *t) {
    if (brick_mem_limit > 0 && b->bytes > brick_mem_limit) {
        memset(r, 0, sizeof *r);
        r->status = DLB_ETOOBIG;
        fprintf(stderr,
                "error: brick %016" PRIx64 " (%s): working set %.0f MiB exceeds --max-brick-mem "
                "%.0f MiB; not attempted\n",
                b->id, b->n_ops > 0 ? dlb_lop_name(b->ops[0].op) : "?", b->bytes / 1048576.0,
                brick_mem_limit / 1048576.0);
        return;
    }
    if (opt->dummy)
        dummy_brick(b, ts, r);
    else
        time_brick(b, ts, r, t);
}

/* One job in this process over opt's models.  With err (a calibration pass) nothing is
 * reported: the models' errors come back. */
static dlb_status run_pass(const dlb_cli_options *opt, const dlb_thread_info *ti, FILE *out,
                           dlb_cli_run_info *info, dlb_cli_check_error *err,
                           const dlb_host_probe *probe_start) {
    dlb_registry *reg;
    dlb_status st = dlb_cli_build_registry(opt, &reg, info);
    if (st != DLB_OK) return st;
    dlb_cli_set_largest_brick(dlb_cli_largest_brick(reg));
    dlb_rank_info ri;
    dlb_cli_rank_info(opt, ti, false, true, &ri);
    dlb_job job;
    st = dlb_job_init(&job, opt, reg, &ri, 1);
    if (st == DLB_OK && opt->calibration)
        st = dlb_results_run_attr(job.doc, job.run_id, "weights_calibration", opt->calibration);
    if (st == DLB_OK) {
        dlb_job_system *s = &job.sys[0];
        fprintf(stderr,
                "note: %s%d unique bricks (%d to time), system %s, threads %d, binding %s\n",
                err ? "calibration: " : "", dlb_registry_n_bricks(reg), s->n_todo, s->name,
                ti->threads, ti->binding);
        dlb_timing_settings ts;
        dlb_cli_timing_settings(opt, &ts);
        for (int i; st == DLB_OK && !dlb_cli_stop && (i = dlb_job_next(&job, 0, false)) >= 0;) {
            const dlb_brick *b = dlb_registry_brick(reg, i);
            dlb_cli_brick_result r;
            if (opt->verbose) fprintf(stderr, "brick: begin id=%016" PRIx64 "\n", b->id);
            dlb_cli_brick_times t = {0};
            dlb_cli_time_one_brick(opt, &ts, b, &r, &t);
            s->timing_s += t.timing_s;
            s->setup_s += t.setup_s;
            if (opt->verbose) fprintf(stderr, "brick: end id=%016" PRIx64 "\n", b->id);
            st = dlb_job_record(&job, 0, i, 0, &r);
        }
        double check_bricks_s = 0; /* bricks re-timed inside checks: not the brick pass */
        for (int e; st == DLB_OK && !dlb_cli_stop && (e = dlb_job_next_check(&job, 0, false)) >= 0;)
            st = dlb_job_check_local(&job, 0, e, 0, &check_bricks_s, &s->model_s, NULL, NULL);
        if (dlb_cli_stop) {
            fprintf(stderr, "error: interrupted: results so far are saved%s%s\n",
                    opt->output ? " in " : "", opt->output ? opt->output : "");
            st = DLB_EINTR;
            dlb_status s2 = dlb_job_save(&job);
            (void)s2;
        } else {
            dlb_host_probe probe_end;
            if (probe_start) { /* the main pass: the probe again at its end */
                dlb_cli_host_probe(opt, ti, &probe_end);
                job.probe_start = probe_start;
                job.probe_end = &probe_end;
            }
            dlb_status s2 = err ? dlb_job_check_error(&job, err) : dlb_job_finish(&job, out, info);
            if (st == DLB_OK) st = s2;
        }
    }
    dlb_job_free(&job);
    dlb_registry_free(reg);
    return st;
}

dlb_status dlb_cli_bricks(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info) {
    dlb_thread_info ti;
    dlb_status st = dlb_cli_threads_setup(opt, &ti);
    if (st != DLB_OK) return st;
    dlb_cli_set_brick_mem_limit(opt, 1);
    dlb_cli_set_weight_pool(&ti);
    dlb_cli_set_eviction(opt);
    dlb_host_probe probe_start;
    dlb_cli_host_probe(opt, &ti, &probe_start);
    dlb_cli_options run_opt = *opt;
    dlb_cli_calibration cal = {0};
    if (opt->weights_auto) { /* --weights auto: an earlier run's choice, or calibration passes */
        dlb_rank_info ri;
        dlb_cli_rank_info(opt, &ti, false, true, &ri);
        st = dlb_job_refuse_output(opt); /* a refused file stops the run before calibrating */
        if (st == DLB_OK) st = dlb_cli_calibration_reuse(opt, ri.system, &cal, out);
        bool reused = cal.reused;
        bool ok = st == DLB_OK && !reused && dlb_cli_calibration_models(opt, &cal) == DLB_OK;
        double t0 = now_s();
        for (int pass = 0; pass < DLB_CALIBRATION_PASSES && ok && st == DLB_OK; pass++) {
            dlb_cli_options po;
            dlb_cli_calibration_options(opt, &cal, dlb_cli_calibration_pass_distance(pass), &po);
            dlb_cli_run_info scratch = {0};
            dlb_cli_check_error err = {0};
            dlb_status ps = run_pass(&po, &ti, out, &scratch, &err, NULL);
            dlb_cli_calibration_add(&cal, pass, &err);
            if (ps == DLB_EINTR || dlb_cli_stop) st = DLB_EINTR;
            ok = ps == DLB_OK;
        }
        if (!reused) cal.wall_s = now_s() - t0;
        if (st == DLB_OK) dlb_cli_calibration_apply(&cal, ok && !reused, out, &run_opt);
    }
    if (st == DLB_OK) st = run_pass(&run_opt, &ti, out, info, NULL, &probe_start);
    dlb_cli_calibration_free(&cal);
    dlb_cli_release_weight_pool();
    return st;
}
