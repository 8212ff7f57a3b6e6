/* validate.c — --validate: a whole model timed before, between and after groups of its own
 * bricks on one rank, so that estimate and measurement share one stretch of time; the messages
 * that carry such a check. */
#include "messages.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlbricks/exec.h"

#define STRIP_KEEP_BYTES 65536 /* tensors up to this size travel with the model (shape data) */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int dlb_cli_model_bricks(const dlb_model_entry *m, int *idx, int64_t *counts) {
    int n = 0;
    for (int j = 0; j < m->n_layers; j++) {
        const dlb_model_layer *L = &m->layers[j];
        if (L->brick < 0 || !L->piece_start) continue;
        int k = 0;
        while (k < n && idx[k] != L->brick) k++;
        if (k == n) {
            idx[n] = L->brick;
            counts[n++] = 0;
        }
        counts[k]++;
    }
    return n;
}

void dlb_check_result_free(dlb_check_result *r) {
    free(r->bricks);
    free(r->wholes);
    memset(r, 0, sizeof *r);
}

int dlb_cli_check_rounds(const dlb_cli_options *opt, int n) {
    int r = opt->validate_rounds > 0 ? opt->validate_rounds : DLB_VALIDATE_ROUNDS;
    return r < n ? r : (n > 1 ? n : 1);
}

int dlb_cli_check_passes(const dlb_cli_options *opt) {
    return opt->validate_passes > 0 ? opt->validate_passes : 1;
}

int dlb_cli_check_slots(const dlb_cli_options *opt) {
    return dlb_cli_check_passes(opt) + (opt->validate_recheck > 0 ? opt->validate_recheck : 0);
}

/* Sequential checking: the standard error of the mean log ratio, s / sqrt(n), is the spread the
 * combined estimate (their geometric mean) still has; a model whose checks disagree by more than
 * the noise the user accepts gets another check, one that lies away from the others in time. */
bool dlb_cli_check_wants_more(const dlb_cli_options *opt, const double *ratios, int n) {
    if (n < 2 || n >= dlb_cli_check_slots(opt)) return false;
    double mean = 0, ss = 0;
    for (int k = 0; k < n; k++) {
        if (!(ratios[k] > 0)) return false;
        mean += log(ratios[k]) / n;
    }
    for (int k = 0; k < n; k++) ss += (log(ratios[k]) - mean) * (log(ratios[k]) - mean);
    double se = sqrt(ss / (n - 1) / n);
    return 100 * se > opt->validate_se_pct;
}

bool dlb_check_result_ok(const dlb_check_result *c) {
    if (c->status != DLB_OK || c->n_wholes < 2) return false;
    for (int i = 0; i < c->n_wholes; i++)
        if (c->wholes[i].status != DLB_OK) return false;
    return true;
}

static void time_whole(dlb_cli_model *mo, const dlb_timing_settings *ts, dlb_cli_brick_result *r,
                       double *model_s) {
    dlb_timing_result res = {0};
    double t0 = now_s();
    memset(r, 0, sizeof *r);
    r->status = dlb_cli_model_time(mo, ts, &res);
    *model_s += now_s() - t0;
    r->stats = res.stats;
    snprintf(r->impl, sizeof r->impl, "whole model");
    dlb_timing_result_free(&res);
}

dlb_status dlb_cli_check_model(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                               const char *path, const void *onnx, size_t len, int64_t batch,
                               const dlb_brick *const *bricks, int n, dlb_check_result *res,
                               double *timing_s, double *model_s, void (*between)(void *),
                               void *ctx) {
    memset(res, 0, sizeof *res);
    int rounds = dlb_cli_check_rounds(opt, n);
    res->bricks = calloc((size_t)n + 1, sizeof *res->bricks);
    res->wholes = calloc((size_t)rounds + 1, sizeof *res->wholes);
    if (!res->bricks || !res->wholes) {
        dlb_check_result_free(res);
        return DLB_ENOMEM;
    }
    res->n_bricks = n;
    dlb_cli_model mo;
    res->status = dlb_cli_model_open(path, onnx, len, batch, opt, &mo);
    if (res->status != DLB_OK) return DLB_OK; /* reported; a failed check is a result */
    /* W G1 W G2 ... W GR W: group g holds bricks [g*n/R, (g+1)*n/R) */
    double whole_s = 0; /* all runs; *model_s gets one run's worth (the speedup's wall ratio
                         * compares one whole-model measurement per model with the bricks) */
    time_whole(&mo, ts, &res->wholes[res->n_wholes++], &whole_s);
    res->status = res->wholes[0].status;
    for (int g = 0; g < rounds && res->status == DLB_OK && !dlb_cli_stop; g++) {
        for (int k = g * n / rounds; k < (g + 1) * n / rounds && !dlb_cli_stop; k++) {
            if (between) between(ctx);
            dlb_cli_brick_times t = {0};
            dlb_cli_time_one_brick(opt, ts, bricks[k], &res->bricks[k], &t);
            *timing_s += t.timing_s;
            free(res->bricks[k].samples);
            res->bricks[k].samples = NULL;
            res->bricks[k].n_samples = 0;
        }
        if (between) between(ctx);
        if (dlb_cli_stop) break;
        dlb_cli_brick_result *w = &res->wholes[res->n_wholes++];
        time_whole(&mo, ts, w, &whole_s);
        res->status = w->status;
    }
    *model_s += whole_s / res->n_wholes;
    if (dlb_cli_stop) res->status = DLB_EINTR;
    dlb_cli_model_close(&mo);
    return DLB_OK;
}

static dlb_status read_file(const char *path, void **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return DLB_EIO;
    dlb_status st = DLB_OK;
    if (fseek(f, 0, SEEK_END) != 0) st = DLB_EIO;
    long n = st == DLB_OK ? ftell(f) : -1;
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) st = DLB_EIO;
    *buf = st == DLB_OK ? malloc((size_t)n + 1) : NULL;
    if (st == DLB_OK && !*buf) st = DLB_ENOMEM;
    if (st == DLB_OK && fread(*buf, 1, (size_t)n, f) != (size_t)n) st = DLB_EIO;
    fclose(f);
    *len = (size_t)n;
    if (st != DLB_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

dlb_status dlb_cli_encode_check(const dlb_registry *reg, int entry, void **buf, size_t *len) {
    const dlb_model_entry *m = dlb_registry_model(reg, entry);
    int *idx = malloc(sizeof(int) * ((size_t)m->n_layers + 1));
    int64_t *counts = malloc(sizeof(int64_t) * ((size_t)m->n_layers + 1));
    ProtobufCBinaryData *specs = calloc((size_t)m->n_layers + 1, sizeof *specs);
    void *file = NULL, *stripped = NULL;
    size_t flen = 0, slen = 0;
    dlb_status st = idx && counts && specs ? DLB_OK : DLB_ENOMEM;
    int n = st == DLB_OK ? dlb_cli_model_bricks(m, idx, counts) : 0;
    if (st == DLB_OK && (st = read_file(m->path, &file, &flen)) != DLB_OK)
        fprintf(stderr, "error: %s: cannot read for --validate\n", m->path);
    if (st == DLB_OK) st = dlb_onnx_strip_weights(file, flen, STRIP_KEEP_BYTES, &stripped, &slen);
    for (int k = 0; k < n && st == DLB_OK; k++) {
        void *b = NULL;
        size_t bl = 0;
        st = dlb_brick_encode(dlb_registry_brick(reg, idx[k]), &b, &bl);
        specs[k] = (ProtobufCBinaryData){bl, b};
    }
    if (st == DLB_OK) {
        Dlbricks__ModelCheck mc = DLBRICKS__MODEL_CHECK__INIT;
        mc.entry = entry;
        mc.name = (char *)m->name;
        mc.has_batch = 1;
        mc.batch = m->batch;
        mc.onnx = (ProtobufCBinaryData){slen, stripped};
        mc.n_bricks = (size_t)n;
        mc.bricks = specs;
        *len = dlbricks__model_check__get_packed_size(&mc);
        *buf = malloc(*len + 1);
        if (!*buf)
            st = DLB_ENOMEM;
        else
            dlbricks__model_check__pack(&mc, *buf);
    }
    for (int k = 0; k < n; k++) free(specs[k].data);
    free(specs);
    free(idx);
    free(counts);
    free(file);
    free(stripped);
    return st;
}

void dlb_msg_from_result(const dlb_cli_brick_result *r, uint64_t id, int rank, int threads,
                         Dlbricks__BrickResult *m) {
    dlbricks__brick_result__init(m);
    m->id = id;
    m->status = (int32_t)r->status;
    m->impl = (char *)r->impl;
    m->has_rank = m->has_threads = 1;
    m->rank = rank;
    m->threads = threads;
    m->has_min_ms = m->has_median_ms = m->has_mean_ms = m->has_stddev_ms = m->has_p90_ms = 1;
    m->has_ci_low_ms = m->has_ci_high_ms = m->has_reps = 1;
    m->min_ms = r->stats.min;
    m->median_ms = r->stats.median;
    m->mean_ms = r->stats.mean;
    m->stddev_ms = r->stats.stddev;
    m->p90_ms = r->stats.p90;
    m->ci_low_ms = r->stats.ci_low;
    m->ci_high_ms = r->stats.ci_high;
    m->reps = r->stats.n;
    m->has_remeasured = m->has_unstable = 1;
    m->remeasured = r->remeasured;
    m->unstable = r->unstable;
    m->n_samples_ms = (size_t)r->n_samples;
    m->samples_ms = r->samples;
}

void dlb_msg_to_result(const Dlbricks__BrickResult *m, dlb_cli_brick_result *r) {
    memset(r, 0, sizeof *r);
    r->status = (dlb_status)m->status;
    snprintf(r->impl, sizeof r->impl, "%s", m->impl ? m->impl : "");
    r->stats = (dlb_stats){.n = m->has_reps ? m->reps : (int64_t)m->n_samples_ms,
                           .min = m->min_ms,
                           .max = m->min_ms,
                           .mean = m->mean_ms,
                           .stddev = m->stddev_ms,
                           .median = m->median_ms,
                           .p90 = m->p90_ms,
                           .ci_low = m->ci_low_ms,
                           .ci_high = m->ci_high_ms};
    r->remeasured = m->has_remeasured ? m->remeasured : 0;
    r->unstable = m->has_unstable && m->unstable;
    if (m->n_samples_ms > 0 && (r->samples = malloc(sizeof(double) * m->n_samples_ms))) {
        memcpy(r->samples, m->samples_ms, sizeof(double) * m->n_samples_ms);
        r->n_samples = (int)m->n_samples_ms;
    }
}

dlb_status dlb_cli_run_check_message(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                                     int rank, int threads, const void *buf, size_t len, void **out,
                                     size_t *out_len, double *timing_s, double *model_s) {
    Dlbricks__ModelCheck *mc = dlbricks__model_check__unpack(NULL, len, buf);
    if (!mc) return DLB_EPARSE;
    dlb_status st = DLB_OK;
    int n = (int)mc->n_bricks;
    dlb_brick_decoded **dec = calloc((size_t)n + 1, sizeof *dec);
    const dlb_brick **bricks = calloc((size_t)n + 1, sizeof *bricks);
    Dlbricks__BrickResult *bm = calloc((size_t)n + 1, sizeof *bm);
    Dlbricks__BrickResult **bp = calloc((size_t)n + 1, sizeof *bp);
    dlb_check_result res = {0};
    if (!dec || !bricks || !bm || !bp) st = DLB_ENOMEM;
    for (int k = 0; k < n && st == DLB_OK; k++) {
        st = dlb_brick_decode(mc->bricks[k].data, mc->bricks[k].len, &dec[k]);
        if (st == DLB_OK) bricks[k] = dlb_brick_decoded_brick(dec[k]);
    }
    if (st == DLB_OK)
        st = dlb_cli_check_model(opt, ts, mc->name, mc->onnx.data, mc->onnx.len,
                                 mc->has_batch ? mc->batch : 0, bricks, n, &res, timing_s, model_s,
                                 NULL, NULL);
    if (st == DLB_OK) {
        Dlbricks__ModelCheckResult r = DLBRICKS__MODEL_CHECK_RESULT__INIT;
        Dlbricks__BrickResult wm[DLB_VALIDATE_MAX_RUNS], *wp[DLB_VALIDATE_MAX_RUNS];
        r.entry = mc->entry;
        r.status = (int32_t)res.status;
        for (int i = 0; i < res.n_wholes && i < DLB_VALIDATE_MAX_RUNS; i++) {
            dlb_msg_from_result(&res.wholes[i], 0, rank, threads, &wm[i]);
            wp[i] = &wm[i];
        }
        r.n_wholes =
            (size_t)(res.n_wholes < DLB_VALIDATE_MAX_RUNS ? res.n_wholes : DLB_VALIDATE_MAX_RUNS);
        r.wholes = wp;
        for (int k = 0; k < n; k++) {
            dlb_msg_from_result(&res.bricks[k], bricks[k]->id, rank, threads, &bm[k]);
            bp[k] = &bm[k];
        }
        r.n_bricks = (size_t)n;
        r.bricks = bp;
        *out_len = dlbricks__model_check_result__get_packed_size(&r);
        *out = malloc(*out_len + 1);
        if (!*out)
            st = DLB_ENOMEM;
        else
            dlbricks__model_check_result__pack(&r, *out);
    }
    for (int k = 0; k < n && dec; k++) dlb_brick_decoded_free(dec[k]);
    dlb_check_result_free(&res);
    free(dec);
    free(bricks);
    free(bm);
    free(bp);
    dlbricks__model_check__free_unpacked(mc, NULL);
    return st;
}

dlb_status dlb_cli_decode_check_result(const void *buf, size_t len, int *entry,
                                       dlb_check_result *res) {
    Dlbricks__ModelCheckResult *m = dlbricks__model_check_result__unpack(NULL, len, buf);
    if (!m) return DLB_EPARSE;
    memset(res, 0, sizeof *res);
    dlb_status st = DLB_OK;
    *entry = m->entry;
    res->status = (dlb_status)m->status;
    res->bricks = calloc(m->n_bricks + 1, sizeof *res->bricks);
    if (!res->bricks) st = DLB_ENOMEM;
    res->n_bricks = (int)m->n_bricks;
    res->wholes = calloc(m->n_wholes + 1, sizeof *res->wholes);
    if (!res->wholes) st = DLB_ENOMEM;
    for (size_t i = 0; i < m->n_wholes && st == DLB_OK; i++) {
        dlb_msg_to_result(m->wholes[i], &res->wholes[i]);
        free(res->wholes[i].samples);
        res->wholes[i].samples = NULL;
        res->wholes[i].n_samples = 0;
        res->n_wholes++;
    }
    for (size_t k = 0; k < m->n_bricks && st == DLB_OK; k++) {
        dlb_msg_to_result(m->bricks[k], &res->bricks[k]);
        free(res->bricks[k].samples);
        res->bricks[k].samples = NULL;
        res->bricks[k].n_samples = 0;
    }
    dlbricks__model_check_result__free_unpacked(m, NULL);
    return st;
}

dlb_status dlb_job_check_local(dlb_job *j, int sys, int entry, int rank, double *timing_s,
                               double *model_s, void (*between)(void *), void *ctx) {
    const dlb_model_entry *m = dlb_registry_model(j->reg, entry);
    int *idx = malloc(sizeof(int) * ((size_t)m->n_layers + 1));
    int64_t *counts = malloc(sizeof(int64_t) * ((size_t)m->n_layers + 1));
    const dlb_brick **bricks = malloc(sizeof *bricks * ((size_t)m->n_layers + 1));
    dlb_status st = idx && counts && bricks ? DLB_OK : DLB_ENOMEM;
    dlb_check_result res = {0};
    if (st == DLB_OK) {
        int n = dlb_cli_model_bricks(m, idx, counts);
        for (int k = 0; k < n; k++) bricks[k] = dlb_registry_brick(j->reg, idx[k]);
        st = dlb_cli_check_model(j->opt, &j->ts, m->path, NULL, 0, m->batch, bricks, n, &res,
                                 timing_s, model_s, between, ctx);
    }
    if (st == DLB_OK) {
        dlb_status r = dlb_job_record_check(j, sys, entry, rank, &res);
        if (r != DLB_EINVAL) st = r;
    }
    dlb_check_result_free(&res);
    free(idx);
    free(counts);
    free(bricks);
    return st;
}
