/* check.h — one checking macro per library: evaluate once, name the call, report, goto cleanup. */
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

#define DLB_HWLOC_CHECK(call)                                                                      \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            dlb_error(diag, where, "%s failed (%s:%d)", #call, __FILE__, __LINE__);                \
            st = DLB_EHWLOC;                                                                       \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

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

#endif
