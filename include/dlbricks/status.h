/* status.h — the one error table of dlbricks-mpi: status codes, their names and messages. */
#ifndef DLBRICKS_STATUS_H
#define DLBRICKS_STATUS_H

/* X(NAME, message).  Library functions return dlb_status; only main() decides what to do. */
#define DLB_ERRNO_MAP(X)                                                                           \
    X(OK, "success")                                                                               \
    X(ENOMEM, "out of memory")                                                                     \
    X(EIO, "cannot read file")                                                                     \
    X(EPARSE, "not a valid ONNX protobuf")                                                         \
    X(EMODEL, "invalid model")                                                                     \
    X(ECYCLE, "graph has a cycle")                                                                 \
    X(ESHAPE, "shape inference failed")                                                            \
    X(EOVERFLOW, "integer overflow")                                                               \
    X(EUNSUPPORTED, "unsupported operation")                                                       \
    X(EINVAL, "invalid argument")                                                                  \
    X(ENOTFOUND, "not found")                                                                      \
    X(EMPI, "MPI call failed")                                                                     \
    X(EDNNL, "oneDNN call failed")                                                                 \
    X(EHDF5, "HDF5 call failed")                                                                   \
    X(EHWLOC, "hwloc call failed")                                                                 \
    X(EINTR, "interrupted by a signal")                                                            \
    X(ETOOBIG, "working set exceeds the memory limit")                                             \
    X(EMSG, "malformed message from another rank")

typedef enum dlb_status {
#define DLB_STATUS_ENUM_(name, msg) DLB_##name,
    DLB_ERRNO_MAP(DLB_STATUS_ENUM_)
#undef DLB_STATUS_ENUM_
        DLB_STATUS_COUNT_
} dlb_status;

/** \brief Human-readable message for a status code ("unknown status" if out of range). */
const char *dlb_strerror(dlb_status st);
/** \brief Symbolic name of a status code, e.g. "DLB_EPARSE". */
const char *dlb_errname(dlb_status st);

#endif
