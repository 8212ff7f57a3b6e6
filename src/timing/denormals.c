/* denormals.c — flush subnormal floats to zero (FTZ, DAZ) in this process's compute threads. */
#include <omp.h>
#include <stdbool.h>

#include "dlbricks/timing.h"

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>

/* MXCSR, per thread: FTZ writes a subnormal result as zero, DAZ reads a subnormal operand as
 * zero.  Without them a subnormal takes a microcode assist of a hundred cycles or more. */
static void set_mode(bool flush) {
    _MM_SET_FLUSH_ZERO_MODE(flush ? _MM_FLUSH_ZERO_ON : _MM_FLUSH_ZERO_OFF);
    _MM_SET_DENORMALS_ZERO_MODE(flush ? _MM_DENORMALS_ZERO_ON : _MM_DENORMALS_ZERO_OFF);
}

bool dlb_denormals_flushed(void) {
    return _MM_GET_FLUSH_ZERO_MODE() == _MM_FLUSH_ZERO_ON &&
           _MM_GET_DENORMALS_ZERO_MODE() == _MM_DENORMALS_ZERO_ON;
}

dlb_status dlb_denormals_setup(bool flush) {
    set_mode(flush); /* threads started later inherit the creating thread's mode */
    int failed = 0;
#pragma omp parallel reduction(+ : failed)
    {
        set_mode(flush); /* OpenMP's pool threads, which oneDNN runs on, exist already */
        failed += dlb_denormals_flushed() != flush;
    }
    return failed ? DLB_EUNSUPPORTED : DLB_OK;
}
#else
bool dlb_denormals_flushed(void) {
    return false;
}

dlb_status dlb_denormals_setup(bool flush) {
    return flush ? DLB_EUNSUPPORTED : DLB_OK; /* no such mode known here: kept */
}
#endif
