/* plan.c — the cost model (FLOPs and bytes -> time, refined per op from measured bricks) and
 * the hand-out order. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

/* Starting rates, per thread: a fused conv reaches about half of the ~100 GFLOP/s FMA peak
 * of one core here, and a memory-bound op streams about 20 GB/s.  Only the order of the
 * bricks depends on them at first; measured results correct them op by op. */
#define PLAN_GFLOPS_PER_THREAD 50.0
#define PLAN_GBPS 20.0
#define PLAN_CREATE_MS 2.0 /* primitive creation and buffers, outside the timed region */

void dlb_plan_init(dlb_plan *p, const dlb_timing_settings *ts, int threads) {
    *p = (dlb_plan){.ts = *ts,
                    .gflops = PLAN_GFLOPS_PER_THREAD * (threads > 0 ? threads : 1),
                    .gbps = PLAN_GBPS};
    for (int i = 0; i < DLB_LOP_COUNT_; i++) p->log_corr[i] = 0;
}

static int op_of(const dlb_brick *b) {
    int op = b->n_ops > 0 ? (int)b->ops[0].op : 0;
    return op >= 0 && op < DLB_LOP_COUNT_ ? op : 0;
}

/* One execution, from the roofline-like model alone. */
static double model_ms(const dlb_plan *p, const dlb_brick *b) {
    return 1e-3 + (double)b->flops / (p->gflops * 1e6) + (double)b->bytes / (p->gbps * 1e6);
}

double dlb_plan_exec_ms(const dlb_plan *p, const dlb_brick *b) {
    int op = op_of(b);
    return model_ms(p, b) * exp(p->n_obs[op] > 0 ? p->log_corr[op] : 0);
}

double dlb_plan_wall_s(const dlb_plan *p, const dlb_brick *b) {
    double t = dlb_plan_exec_ms(p, b);
    double reps = p->ts.min_reps > 0 ? p->ts.min_reps : 1;
    double need = t > 0 ? ceil(p->ts.min_time_ms / t) : reps;
    if (need > reps) reps = need;
    if (p->ts.max_reps > 0 && reps > p->ts.max_reps) reps = p->ts.max_reps;
    return (PLAN_CREATE_MS + (reps + p->ts.warmup_reps) * t) * 1e-3;
}

/* Running mean of log(measured / modelled) per op: rates are learnt in the geometric sense,
 * so one slow outlier cannot swamp many fast bricks. */
void dlb_plan_learn(dlb_plan *p, const dlb_brick *b, double measured_ms) {
    if (!(measured_ms > 0)) return;
    int op = op_of(b);
    double x = log(measured_ms / model_ms(p, b));
    p->n_obs[op]++;
    p->log_corr[op] += (x - p->log_corr[op]) / p->n_obs[op];
}

static const dlb_plan *sort_plan;
static const dlb_registry *sort_reg;
static int by_cost_desc(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    double x = dlb_plan_wall_s(sort_plan, dlb_registry_brick(sort_reg, i));
    double y = dlb_plan_wall_s(sort_plan, dlb_registry_brick(sort_reg, j));
    return x < y ? 1 : x > y ? -1 : i - j;
}

void dlb_plan_sort(const dlb_plan *p, const dlb_registry *reg, int *idx, int n) {
    sort_plan = p;
    sort_reg = reg;
    qsort(idx, (size_t)n, sizeof *idx, by_cost_desc);
    sort_plan = NULL;
    sort_reg = NULL;
}
