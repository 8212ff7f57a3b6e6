/* fsum.c — correctly rounded summation (CPython's math_fsum algorithm, without its exceptions). */
#include "fsum.h"

#include <math.h>

void dlb_fsum_add(dlb_fsum *s, double x) {
    if (!isfinite(x)) {
        s->special += x;
        s->n_special++;
        return;
    }
    int i = 0;
    for (int j = 0; j < s->n; j++) {
        double y = s->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y;
        double lo = y - (hi - x);
        if (lo != 0.0) s->p[i++] = lo;
        x = hi;
    }
    s->n = i;
    if (x != 0.0) {
        if (!isfinite(x)) { /* overflow of the partial sum: give up exactness */
            s->special += x;
            s->n_special++;
        } else if (s->n < (int)(sizeof s->p / sizeof s->p[0])) {
            s->p[s->n++] = x;
        } else { /* cannot happen for finite doubles (partials do not overlap) */
            s->p[s->n - 1] += x;
        }
    }
}

void dlb_fsum_add_times(dlb_fsum *s, int64_t count, double x) {
    double c = (double)count;
    double p = c * x;
    if (!isfinite(p)) {
        dlb_fsum_add(s, p);
        return;
    }
    dlb_fsum_add(s, p);
    dlb_fsum_add(s, fma(c, x, -p)); /* the rounding error of the product, exactly */
}

double dlb_fsum_value(const dlb_fsum *s) {
    if (s->n_special) return s->special;
    int n = s->n;
    double hi = 0.0, lo = 0.0;
    if (n == 0) return hi;
    hi = s->p[--n];
    /* Sum from the top while the sum stays exact. */
    while (n > 0) {
        double x = hi, y = s->p[--n];
        hi = x + y;
        double yr = hi - x;
        lo = y - yr;
        if (lo != 0.0) break;
    }
    /* Round half to even across several partials: when the rest has the sign of lo, the
     * true sum lies beyond the half-way point that hi + lo rounded to even. */
    if (n > 0 && ((lo < 0.0 && s->p[n - 1] < 0.0) || (lo > 0.0 && s->p[n - 1] > 0.0))) {
        double y = lo * 2.0;
        double x = hi + y;
        double yr = x - hi;
        if (y == yr) hi = x;
    }
    return hi;
}
