/* simulate.c — --simulate-ranks: replay the brick scheduler with measured brick costs. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim_brick {
    double predicted; /* the coordinator's cost model: orders the hand-out */
    double cost_s;    /* what timing the brick took a worker: (reps + warm-up) x median */
} sim_brick;

static int by_predicted_desc(const void *a, const void *b) {
    double x = ((const sim_brick *)a)->predicted, y = ((const sim_brick *)b)->predicted;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Split one CSV line in place (no quoted commas before the columns we read). */
static int split(char *line, char **f, int max) {
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

/* Columns of a --bricks-out file. */
static dlb_status read_costs(const char *path, int warmup, double min_time_ms, int min_reps,
                             sim_brick **out, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "error: %s: cannot open\n", path);
        return DLB_EIO;
    }
    char line[16384], *fld[32];
    int cap = 1024, cnt = 0, c_med = -1, c_reps = -1, c_flops = -1, c_bytes = -1, c_st = -1;
    sim_brick *v = malloc(sizeof *v * (size_t)cap);
    dlb_status st = v ? DLB_OK : DLB_ENOMEM;
    if (st == DLB_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        int k = split(line, fld, 32);
        for (int i = 0; i < k; i++) {
            if (!strcmp(fld[i], "median_ms")) c_med = i;
            if (!strcmp(fld[i], "reps")) c_reps = i;
            if (!strcmp(fld[i], "flops")) c_flops = i;
            if (!strcmp(fld[i], "bytes")) c_bytes = i;
            if (!strcmp(fld[i], "status")) c_st = i;
        }
    }
    if (st == DLB_OK && (c_med < 0 || c_reps < 0 || c_flops < 0 || c_bytes < 0 || c_st < 0)) {
        fprintf(stderr, "error: %s: not a --bricks-out file\n", path);
        st = DLB_EPARSE;
    }
    while (st == DLB_OK && fgets(line, sizeof line, f)) {
        int k = split(line, fld, 32);
        if (k <= c_bytes || k <= c_med || strcmp(fld[c_st], "ok")) continue;
        if (cnt == cap) {
            sim_brick *w = realloc(v, sizeof *v * (size_t)(cap *= 2));
            if (!w) {
                st = DLB_ENOMEM;
                break;
            }
            v = w;
        }
        double med = atof(fld[c_med]), reps = atof(fld[c_reps]);
        v[cnt].cost_s = (reps + warmup) * med / 1e3;
        double exec_ms = 1e-3 + atof(fld[c_flops]) / 50e6 + atof(fld[c_bytes]) / 20e6;
        double reps_p = exec_ms > 0 ? ceil(min_time_ms / exec_ms) : 1;
        if (reps_p < min_reps) reps_p = min_reps;
        v[cnt].predicted = (reps_p + warmup) * exec_ms; /* plan.c's model, without learning */
        cnt++;
    }
    fclose(f);
    if (st != DLB_OK) {
        free(v);
        return st;
    }
    *out = v;
    *n = cnt;
    return DLB_OK;
}

/* The hand-out of bricks_mpi.c, without message latency: the worker that frees up first takes
 * the most expensive brick left (by prediction); unless the coordinator is dedicated, rank 0
 * also times, taking the cheapest brick left.  Returns the makespan. */
static double makespan(const sim_brick *b, int n, int ranks, bool dedicated, double *free_at) {
    int first = dedicated && ranks > 1 ? 1 : 0, head = 0, tail = n;
    for (int r = 0; r < ranks; r++) free_at[r] = 0;
    while (head < tail) {
        int best = first;
        for (int r = first + 1; r < ranks; r++)
            if (free_at[r] < free_at[best]) best = r;
        bool cheap = best == 0 && !dedicated && ranks > 1;
        free_at[best] += b[cheap ? --tail : head++].cost_s;
    }
    double m = 0;
    for (int r = first; r < ranks; r++)
        if (free_at[r] > m) m = free_at[r];
    return m;
}

/* The alternative: a static LPT plan made up front from the predicted costs (each brick, most
 * expensive first, to the rank with the least predicted work), then run with the measured
 * costs.  Returns the makespan; pred[] and real[] hold per-rank loads. */
static double lpt_makespan(const sim_brick *b, int n, int ranks, double *pred, double *real) {
    for (int r = 0; r < ranks; r++) pred[r] = real[r] = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int r = 1; r < ranks; r++)
            if (pred[r] < pred[best]) best = r;
        pred[best] += b[i].predicted;
        real[best] += b[i].cost_s;
    }
    double m = 0;
    for (int r = 0; r < ranks; r++)
        if (real[r] > m) m = real[r];
    return m;
}

dlb_status dlb_cli_simulate(const dlb_cli_options *opt, FILE *out) {
    dlb_timing_settings ts;
    dlb_cli_timing_settings(opt, &ts);
    sim_brick *b = NULL;
    int n = 0;
    dlb_status st = read_costs(opt->costs, ts.warmup_reps, ts.min_time_ms, ts.min_reps, &b, &n);
    if (st != DLB_OK) return st;
    qsort(b, (size_t)n, sizeof *b, by_predicted_desc);
    double total = 0, longest = 0;
    for (int i = 0; i < n; i++) {
        total += b[i].cost_s;
        if (b[i].cost_s > longest) longest = b[i].cost_s;
    }
    bool dedicated = opt->dedicated_coordinator;
    fprintf(out, "simulate: bricks=%d total_s=%.2f longest_s=%.3f (%s)\n", n, total, longest,
            dedicated ? "dedicated coordinator" : "rank 0 times the cheapest bricks");
    for (int k = 0; k < opt->n_simulate; k++) {
        int ranks = opt->simulate[k], workers = dedicated && ranks > 1 ? ranks - 1 : ranks;
        double *free_at = malloc(sizeof *free_at * (size_t)ranks);
        if (!free_at) {
            free(b);
            return DLB_ENOMEM;
        }
        double m = makespan(b, n, ranks, dedicated, free_at);
        double ideal = total / workers > longest ? total / workers : longest;
        fprintf(out,
                "simulate: ranks=%d workers=%d makespan_s=%.3f efficiency=%.3f "
                "bound_efficiency=%.3f imbalance=%.3f\n",
                ranks, workers, m, total / (workers * m), total / (workers * ideal),
                m / (total / workers) - 1);
        double *real = malloc(sizeof *real * (size_t)workers);
        if (real) { /* the static alternative, for comparison (docs/cli.md) */
            double lm = lpt_makespan(b, n, workers, free_at, real);
            fprintf(out, "lpt: ranks=%d workers=%d makespan_s=%.3f efficiency=%.3f\n", ranks,
                    workers, lm, total / (workers * lm));
            free(real);
        }
        free(free_at);
    }
    free(b);
    return DLB_OK;
}
