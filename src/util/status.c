/* status.c — message and name lookup for the DLB_ERRNO_MAP error table. */
#include "dlbricks/status.h"

const char *dlb_strerror(dlb_status st) {
    switch (st) {
#define DLB_STATUS_MSG_(name, msg)                                                                 \
    case DLB_##name:                                                                               \
        return msg;
        DLB_ERRNO_MAP(DLB_STATUS_MSG_)
#undef DLB_STATUS_MSG_
    default:
        return "unknown status";
    }
}

const char *dlb_errname(dlb_status st) {
    switch (st) {
#define DLB_STATUS_NAME_(name, msg)                                                                \
    case DLB_##name:                                                                               \
        return "DLB_" #name;
        DLB_ERRNO_MAP(DLB_STATUS_NAME_)
#undef DLB_STATUS_NAME_
    default:
        return "DLB_UNKNOWN";
    }
}
