/* binding.h — where a rank runs: placement of node-local ranks inside the inherited CPU mask. */
#ifndef DLBRICKS_BINDING_H
#define DLBRICKS_BINDING_H

#include <hwloc.h>
#include <stdbool.h>

#include "dlbricks/diag.h"
#include "dlbricks/status.h"

typedef enum dlb_bind_policy {
    DLB_BIND_CORE,     /* one rank per core */
    DLB_BIND_SOCKET,   /* one rank per package (socket) */
    DLB_BIND_NUMA,     /* one rank per NUMA node */
    DLB_BIND_NONE,     /* the whole inherited mask */
    DLB_BIND_LAUNCHER, /* keep what the launcher set (same as none: the mask is not changed) */
} dlb_bind_policy;

const char *dlb_bind_policy_name(dlb_bind_policy p);
/** \brief Parse "core", "socket", "numa", "none", "launcher"; false if unknown. */
bool dlb_bind_policy_parse(const char *s, dlb_bind_policy *p);

/** \brief The CPU set of rank \p index of \p count ranks that share the inherited mask
 *  \p envelope.  Units are the objects of the policy's type that intersect the envelope, in
 *  logical order; rank i gets unit i, restricted to the envelope (never wider).  More ranks
 *  than units is DLB_EINVAL unless \p allow_oversubscribe (then units are reused round-robin
 *  and *oversubscribed is set).  none/launcher: the envelope itself. */
dlb_status dlb_placement(hwloc_topology_t topo, hwloc_const_cpuset_t envelope,
                         dlb_bind_policy policy, int index, int count, bool allow_oversubscribe,
                         hwloc_cpuset_t out, bool *oversubscribed, dlb_diag *diag);

#endif
