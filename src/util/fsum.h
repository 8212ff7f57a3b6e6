/* fsum.h — correctly rounded sums of doubles (Shewchuk / Python's math.fsum): order-independent. */
#ifndef DLB_FSUM_H
#define DLB_FSUM_H

#include <stdint.h>

/* An exact running sum: the non-overlapping partials of everything added so far.  The rounded
 * result does not depend on the order of the additions, and equals Python's math.fsum of the
 * same values bit for bit (so estimates composed in layer order, from brick counts, in C or in
 * Python are all the same double).  Zero-initialise ({0}) before use. */
typedef struct dlb_fsum {
    double p[64]; /* non-overlapping partials, increasing magnitude (at most ~40 are needed) */
    int n;
    double special; /* naive sum of the non-finite values added (0 if none) */
    int n_special;
} dlb_fsum;

void dlb_fsum_add(dlb_fsum *s, double x);
/** \brief Add count × x exactly (count < 2^53; the product is split with an fma). */
void dlb_fsum_add_times(dlb_fsum *s, int64_t count, double x);
/** \brief The correctly rounded (round-half-even) sum; NaN/inf when such a value was added. */
double dlb_fsum_value(const dlb_fsum *s);

#endif
