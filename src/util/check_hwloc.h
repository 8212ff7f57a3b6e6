/* check_hwloc.h — DLB_HWLOC_CHECK: run an hwloc call; on failure name it and return DLB_EHWLOC. */
#ifndef DLB_CHECK_HWLOC_H
#define DLB_CHECK_HWLOC_H

#include <errno.h>
#include <string.h>

#include "dlbricks/diag.h"
#include "dlbricks/status.h"

/* hwloc reports failure as a negative int (or NULL for pointers) and sets errno.  On failure
 * these report "error: -: hwloc: CALL failed at FILE:LINE: ERRNO-TEXT" through the dlb_diag
 * \p diag (NULL: stderr) and return DLB_EHWLOC from the enclosing function, which must
 * therefore own no resources at that point (keep cleanup in the caller).  Never exit/abort. */
#define DLB_HWLOC_FAIL_(diag, call_text)                                                           \
    do {                                                                                           \
        int e_ = errno;                                                                            \
        dlb_error((diag), "hwloc", "%s failed at %s:%d: %s", call_text, __FILE__, __LINE__,        \
                  e_ ? strerror(e_) : "no errno");                                                 \
        return DLB_EHWLOC;                                                                         \
    } while (0)

/* For calls returning int: negative is failure. */
#define DLB_HWLOC_CHECK(diag, call)                                                                \
    do {                                                                                           \
        errno = 0;                                                                                 \
        if ((call) < 0) DLB_HWLOC_FAIL_(diag, #call);                                              \
    } while (0)

/* For calls returning a pointer: NULL is failure; the pointer is stored in \p dst. */
#define DLB_HWLOC_CHECK_PTR(diag, dst, call)                                                       \
    do {                                                                                           \
        errno = 0;                                                                                 \
        if (!((dst) = (call))) DLB_HWLOC_FAIL_(diag, #call);                                       \
    } while (0)

#endif
