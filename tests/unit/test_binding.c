/* test_binding.c — rank placement on synthetic hwloc topologies, inside inherited masks. */
#include <hwloc.h>

#include "dlbricks/binding.h"
#include "test_util.h"

static hwloc_topology_t synthetic(const char *desc) {
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) < 0 || hwloc_topology_set_synthetic(t, desc) < 0 ||
        hwloc_topology_load(t) < 0)
        return NULL;
    return t;
}

/* count ranks sharing `env`: each gets `pus` PUs, all inside env, pairwise disjoint. */
static void check_all(hwloc_topology_t t, hwloc_const_cpuset_t env, dlb_bind_policy p, int count,
                      int pus) {
    hwloc_bitmap_t seen = hwloc_bitmap_alloc(), out = hwloc_bitmap_alloc();
    for (int i = 0; i < count; i++) {
        bool over = true;
        ASSERT_EQ_INT(dlb_placement(t, env, p, i, count, false, out, &over, NULL), DLB_OK);
        ASSERT(!over);
        ASSERT_EQ_INT(hwloc_bitmap_weight(out), pus);
        ASSERT(hwloc_bitmap_isincluded(out, env));
        ASSERT(!hwloc_bitmap_intersects(out, seen));
        hwloc_bitmap_or(seen, seen, out);
    }
    hwloc_bitmap_free(seen);
    hwloc_bitmap_free(out);
}

int main(void) {
    hwloc_topology_t t = synthetic("pack:2 numa:2 core:8 pu:2"); /* 32 cores, 64 PUs */
    ASSERT(t != NULL);
    if (!t) return test_summary("test_binding");
    hwloc_const_cpuset_t all = hwloc_topology_get_topology_cpuset(t);
    check_all(t, all, DLB_BIND_CORE, 32, 2);
    check_all(t, all, DLB_BIND_SOCKET, 2, 32);
    check_all(t, all, DLB_BIND_NUMA, 4, 16);
    hwloc_bitmap_t out = hwloc_bitmap_alloc();
    bool over = false;
    /* More ranks than units: refused, or reused round-robin and marked. */
    ASSERT_EQ_INT(dlb_placement(t, all, DLB_BIND_CORE, 0, 33, false, out, &over, NULL), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_placement(t, all, DLB_BIND_SOCKET, 2, 3, true, out, &over, NULL), DLB_OK);
    ASSERT(over);
    ASSERT_EQ_INT(hwloc_bitmap_weight(out), 32);
    /* Narrowing only: a launcher gave these ranks package 1 (PUs 32-63). */
    hwloc_bitmap_t pkg1 = hwloc_bitmap_alloc();
    hwloc_bitmap_set_range(pkg1, 32, 63);
    check_all(t, pkg1, DLB_BIND_CORE, 16, 2);
    check_all(t, pkg1, DLB_BIND_NUMA, 2, 16);
    ASSERT_EQ_INT(dlb_placement(t, pkg1, DLB_BIND_SOCKET, 0, 2, false, out, &over, NULL),
                  DLB_EINVAL);
    /* A mask cutting through cores: the unit is restricted to the mask, never widened. */
    hwloc_bitmap_t odd = hwloc_bitmap_alloc();
    for (int pu = 1; pu < 64; pu += 2) hwloc_bitmap_set(odd, (unsigned)pu);
    check_all(t, odd, DLB_BIND_CORE, 32, 1);
    /* none and launcher keep the mask. */
    ASSERT_EQ_INT(dlb_placement(t, pkg1, DLB_BIND_NONE, 3, 4, false, out, &over, NULL), DLB_OK);
    ASSERT(hwloc_bitmap_isequal(out, pkg1));
    ASSERT_EQ_INT(dlb_placement(t, odd, DLB_BIND_LAUNCHER, 0, 1, false, out, &over, NULL), DLB_OK);
    ASSERT(hwloc_bitmap_isequal(out, odd));
    /* Another machine shape: one package, SMT off. */
    hwloc_topology_t t2 = synthetic("pack:1 core:2 pu:1");
    check_all(t2, hwloc_topology_get_topology_cpuset(t2), DLB_BIND_CORE, 2, 1);
    dlb_bind_policy p;
    ASSERT(dlb_bind_policy_parse("socket", &p) && p == DLB_BIND_SOCKET);
    ASSERT(!dlb_bind_policy_parse("sockets", &p));
    hwloc_bitmap_free(out);
    hwloc_bitmap_free(pkg1);
    hwloc_bitmap_free(odd);
    hwloc_topology_destroy(t);
    hwloc_topology_destroy(t2);
    return test_summary("test_binding");
}
