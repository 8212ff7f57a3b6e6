/* binding.c — placement of node-local ranks on cores, sockets or NUMA nodes inside a CPU mask. */
#include "dlbricks/binding.h"

#include <string.h>

#include "check_hwloc.h"

static const char *const NAMES[] = {"core", "socket", "numa", "none", "launcher"};

const char *dlb_bind_policy_name(dlb_bind_policy p) {
    return p >= DLB_BIND_CORE && p <= DLB_BIND_LAUNCHER ? NAMES[p] : "?";
}

bool dlb_bind_policy_parse(const char *s, dlb_bind_policy *p) {
    for (int i = 0; i <= DLB_BIND_LAUNCHER; i++)
        if (!strcmp(s, NAMES[i])) {
            *p = (dlb_bind_policy)i;
            return true;
        }
    return false;
}

static hwloc_obj_type_t unit_type(dlb_bind_policy p) {
    return p == DLB_BIND_CORE     ? HWLOC_OBJ_CORE
           : p == DLB_BIND_SOCKET ? HWLOC_OBJ_PACKAGE
                                  : HWLOC_OBJ_NUMANODE;
}

dlb_status dlb_placement(hwloc_topology_t topo, hwloc_const_cpuset_t envelope,
                         dlb_bind_policy policy, int index, int count, bool allow_oversubscribe,
                         hwloc_cpuset_t out, bool *oversubscribed, dlb_diag *diag) {
    *oversubscribed = false;
    if (index < 0 || count < 1 || index >= count) return DLB_EINVAL;
    if (policy == DLB_BIND_NONE || policy == DLB_BIND_LAUNCHER) {
        DLB_HWLOC_CHECK(diag, hwloc_bitmap_copy(out, envelope));
        return DLB_OK;
    }
    /* Units of the policy's type that have PUs inside the envelope, in logical order. */
    hwloc_obj_type_t type = unit_type(policy);
    int total = hwloc_get_nbobjs_by_type(topo, type), units = 0, pick = -1;
    if (total <= 0) {
        dlb_error(diag, "binding", "the topology has no %s", dlb_bind_policy_name(policy));
        return DLB_EINVAL;
    }
    for (int pass = 0; pass < 2; pass++) {
        int seen = 0;
        for (int i = 0; i < total; i++) {
            hwloc_obj_t o = hwloc_get_obj_by_type(topo, type, (unsigned)i);
            if (!o || !o->cpuset || !hwloc_bitmap_intersects(o->cpuset, envelope)) continue;
            if (pass == 1 && seen == pick) {
                DLB_HWLOC_CHECK(diag, hwloc_bitmap_and(out, o->cpuset, envelope));
                return DLB_OK;
            }
            seen++;
        }
        units = seen;
        if (units == 0) {
            dlb_error(diag, "binding", "no %s inside the inherited CPU mask",
                      dlb_bind_policy_name(policy));
            return DLB_EINVAL;
        }
        if (count > units && !allow_oversubscribe) {
            dlb_error(diag, "binding",
                      "%d ranks share a CPU mask with %d %s unit(s); use fewer ranks, another "
                      "--bind policy or --allow-oversubscribe",
                      count, units, dlb_bind_policy_name(policy));
            return DLB_EINVAL;
        }
        *oversubscribed = count > units;
        pick = index % units;
    }
    return DLB_EINVAL; /* not reached */
}
