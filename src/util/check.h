/* check.h — one checking macro per library (oneDNN, MPI; hwloc in check_hwloc.h): name the call,
 * report. */
#ifndef DLB_CHECK_H
#define DLB_CHECK_H

#include "dlbricks/diag.h"
#include "dlbricks/status.h"

/* Each macro needs, in scope: `dlb_diag *diag` (may be NULL), `const char *where` (node or op
 * name, may be NULL), `dlb_status st`, and a `cleanup:` label. */

#define DLB_DNNL_CHECK(call)                                                                       \
    do {                                                                                           \
        dnnl_status_t s_ = (call);                                                                 \
        if (s_ != dnnl_success) {                                                                  \
            dlb_error(diag, where, "%s failed: %s (%s:%d)", #call, dlb__dnnl_status_str(s_),       \
                      __FILE__, __LINE__);                                                         \
            st = s_ == dnnl_out_of_memory   ? DLB_ENOMEM                                           \
                 : s_ == dnnl_unimplemented ? DLB_EUNSUPPORTED                                     \
                                            : DLB_EDNNL;                                           \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* MPI: the error string of the failing call. */
#define DLB_MPI_CHECK(call)                                                                        \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != MPI_SUCCESS) {                                                                  \
            char msg_[MPI_MAX_ERROR_STRING];                                                       \
            int len_ = 0;                                                                          \
            MPI_Error_string(rc_, msg_, &len_);                                                    \
            dlb_error(diag, where, "%s failed: %s (%s:%d)", #call, msg_, __FILE__, __LINE__);      \
            st = DLB_EMPI;                                                                         \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* hwloc calls are checked with DLB_HWLOC_CHECK / DLB_HWLOC_CHECK_PTR in check_hwloc.h. */

#define DLB_CHECK_ALLOC(ptr)                                                                       \
    do {                                                                                           \
        if (!(ptr)) {                                                                              \
            st = DLB_ENOMEM;                                                                       \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* Status of a call that already reported its own errors. */
#define DLB_TRY(call)                                                                              \
    do {                                                                                           \
        st = (call);                                                                               \
        if (st != DLB_OK) goto cleanup;                                                            \
    } while (0)

const char *dlb__dnnl_status_str(int status);

/* HDF5: calls return a negative herr_t/htri_t/hid_t on failure (HDF5's own error-stack printing
 * is turned off by the caller, so this one line is the whole report). */
#define DLB_H5_FAIL_(call_text)                                                                    \
    do {                                                                                           \
        dlb_error(diag, where, "%s failed (%s:%d)", call_text, __FILE__, __LINE__);                \
        st = DLB_EHDF5;                                                                            \
        goto cleanup;                                                                              \
    } while (0)

#define DLB_H5_CHECK(call)                                                                         \
    do {                                                                                           \
        if ((call) < 0) DLB_H5_FAIL_(#call);                                                       \
    } while (0)

/* For calls returning an id (hid_t): stored in \p dst, which the cleanup code closes if >= 0. */
#define DLB_H5_CHECK_ID(dst, call)                                                                 \
    do {                                                                                           \
        if (((dst) = (call)) < 0) DLB_H5_FAIL_(#call);                                             \
    } while (0)

#endif
