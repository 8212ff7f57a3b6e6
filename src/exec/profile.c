/* profile.c — a network's steps one by one: which op each belongs to and how long each takes. */
#include <time.h>

#include "net_internal.h"

int dlb_net_n_steps(const dlb_net *n) {
    return n->n_steps;
}

int dlb_net_step_op(const dlb_net *n, int step) {
    return step >= 0 && step < n->n_steps ? n->steps[step].op : -1;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

dlb_status dlb_net_run_profiled(dlb_net *n, double *step_ms) {
    dlb_diag *diag = NULL; /* as dlb_net_run: a failure's one line goes to stderr */
    const char *where = NULL;
    dlb_status st = DLB_OK;
    double t = now_ms();
    for (int i = 0; i < n->n_steps; i++) {
        dlb__step *s = &n->steps[i];
        if (s->custom) {
            s->custom(s, n);
        } else {
            where = dlb__step_name(n, i);
            DLB_DNNL_CHECK(dnnl_primitive_execute(s->prim, n->strm, s->n_args, s->args));
            DLB_DNNL_CHECK(dnnl_stream_wait(n->strm));
        }
        double u = now_ms();
        step_ms[i] += u - t;
        t = u;
    }
cleanup:
    return st;
}
