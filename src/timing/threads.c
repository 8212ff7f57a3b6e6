/* threads.c — read the process CPU binding with hwloc and size OpenMP's thread pool to it. */
#include "dlbricks/timing.h"

#include <hwloc.h>
#include <omp.h>
#include <string.h>

#include "check_hwloc.h"

/* Fill set with the process binding (fallback: the topology's allowed cpuset). */
static dlb_status read_binding(hwloc_topology_t topo, hwloc_bitmap_t set, dlb_diag *diag) {
    DLB_HWLOC_CHECK(diag, hwloc_topology_load(topo));
    errno = 0;
    if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) < 0 || hwloc_bitmap_iszero(set)) {
        /* Not supported on this OS, or nothing reported: use what the process may run on. */
        hwloc_const_cpuset_t allowed;
        DLB_HWLOC_CHECK_PTR(diag, allowed, hwloc_topology_get_allowed_cpuset(topo));
        DLB_HWLOC_CHECK(diag, hwloc_bitmap_copy(set, allowed));
    }
    return DLB_OK;
}

static dlb_status describe_binding(hwloc_const_bitmap_t set, dlb_thread_info *info,
                                   dlb_diag *diag) {
    int pus;
    DLB_HWLOC_CHECK(diag, pus = hwloc_bitmap_weight(set)); /* -1: infinite set */
    if (pus == 0) {
        dlb_error(diag, "hwloc", "the process binding has no PU");
        return DLB_EHWLOC;
    }
    /* Truncated (still NUL-terminated) when the list exceeds sizeof info->binding. */
    DLB_HWLOC_CHECK(diag, hwloc_bitmap_list_snprintf(info->binding, sizeof info->binding, set));
    info->pus_in_binding = pus;
    return DLB_OK;
}

/* The last-level cache the binding reaches: from its first PU up to the deepest-in-the-tree
 * largest cache (L3 usually), then the sum over every cache of that level that intersects
 * the binding (a rank bound to a socket of several L3 slices reaches all of them). */
static uint64_t llc_of(hwloc_topology_t topo, hwloc_const_bitmap_t set) {
    int first = hwloc_bitmap_first(set);
    hwloc_obj_t o = first < 0 ? NULL : hwloc_get_pu_obj_by_os_index(topo, (unsigned)first),
                llc = NULL;
    for (; o; o = o->parent)
        if (hwloc_obj_type_is_cache(o->type) && o->attr &&
            o->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION)
            llc = o;
    if (!llc) return 0;
    uint64_t sum = 0;
    for (hwloc_obj_t c = NULL; (c = hwloc_get_next_obj_by_depth(topo, llc->depth, c)) != NULL;)
        if (c->cpuset && hwloc_bitmap_intersects(c->cpuset, set)) sum += c->attr->cache.size;
    return sum;
}

/* Binding of the process in an initialised topology; owns (and frees) its one bitmap. */
static dlb_status binding_of(hwloc_topology_t topo, dlb_thread_info *info, dlb_diag *diag) {
    hwloc_bitmap_t set;
    DLB_HWLOC_CHECK_PTR(diag, set, hwloc_bitmap_alloc());
    dlb_status st = read_binding(topo, set, diag);
    if (st == DLB_OK) st = describe_binding(set, info, diag);
    if (st == DLB_OK) info->llc_bytes = llc_of(topo, set);
    hwloc_bitmap_free(set);
    return st;
}

/* The body of dlb_threads_setup with an explicit diagnostics sink (NULL: stderr). */
static dlb_status threads_setup(int requested, dlb_thread_info *info, dlb_diag *diag) {
    hwloc_topology_t topo;
    DLB_HWLOC_CHECK(diag, hwloc_topology_init(&topo));
    dlb_status st = binding_of(topo, info, diag);
    hwloc_topology_destroy(topo);
    if (st != DLB_OK) return st;

    /* libgomp sizes its default pool from the affinity mask when it is loaded, i.e. before
     * MPI_Init or a launcher's late binding: set the count explicitly, after binding. */
    omp_set_num_threads(requested > 0 ? requested : info->pus_in_binding);
    info->threads = omp_get_max_threads();
    return DLB_OK;
}

dlb_status dlb_threads_setup(int requested, dlb_thread_info *info) {
    if (!info) return DLB_EINVAL;
    memset(info, 0, sizeof *info);
    dlb_status st = threads_setup(requested, info, NULL);
    if (st != DLB_OK) memset(info, 0, sizeof *info);
    return st;
}
