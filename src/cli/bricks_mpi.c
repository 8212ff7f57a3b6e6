/* bricks_mpi.c — the main job over MPI: rank 0 hands bricks out, workers time them, results stream
 * back. */
#include "cli.h"

#include <inttypes.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "dlbricks.pb-c.h"
#include "dlbricks/binding.h"
#include "dlbricks/exec.h"

enum { TAG_WORK = 1, TAG_RESULT = 2, TAG_DONE = 3 };

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Predicted cost of a brick (the dummy backend's model), for cost-descending hand-out. */
static double predicted(const dlb_brick *b) {
    return 1e-6 + (double)b->flops / 50e9 + (double)b->bytes / 20e9;
}

static const dlb_registry *sort_reg;
static int by_cost_desc(const void *a, const void *b) {
    double x = predicted(dlb_registry_brick(sort_reg, *(const int *)a));
    double y = predicted(dlb_registry_brick(sort_reg, *(const int *)b));
    return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

/* A result message: the brick's index in rank 0's registry, then a packed BrickResult. */
static void *pack_result(int index, uint64_t id, const dlb_cli_brick_result *r, int rank,
                         int threads, int *len) {
    Dlbricks__BrickResult m = DLBRICKS__BRICK_RESULT__INIT;
    m.id = id;
    m.status = (int32_t)r->status;
    m.impl = (char *)r->impl;
    m.has_rank = m.has_threads = 1;
    m.rank = rank;
    m.threads = threads;
    m.has_min_ms = m.has_median_ms = m.has_mean_ms = m.has_stddev_ms = m.has_p90_ms = 1;
    m.has_ci_low_ms = m.has_ci_high_ms = 1;
    m.min_ms = r->stats.min;
    m.median_ms = r->stats.median;
    m.mean_ms = r->stats.mean;
    m.stddev_ms = r->stats.stddev;
    m.p90_ms = r->stats.p90;
    m.ci_low_ms = r->stats.ci_low;
    m.ci_high_ms = r->stats.ci_high;
    size_t n = dlbricks__brick_result__get_packed_size(&m);
    unsigned char *buf = malloc(n + sizeof(int32_t));
    if (!buf) return NULL;
    int32_t ix = index;
    memcpy(buf, &ix, sizeof ix);
    dlbricks__brick_result__pack(&m, buf + sizeof ix);
    *len = (int)(n + sizeof ix);
    return buf;
}

static bool unpack_result(const unsigned char *buf, int len, int nb, int *index,
                          dlb_cli_brick_result *r, int64_t reps) {
    int32_t ix;
    if (len < (int)sizeof ix) return false;
    memcpy(&ix, buf, sizeof ix);
    Dlbricks__BrickResult *m =
        dlbricks__brick_result__unpack(NULL, (size_t)len - sizeof ix, buf + sizeof ix);
    if (!m || ix < 0 || ix >= nb) {
        if (m) dlbricks__brick_result__free_unpacked(m, NULL);
        return false;
    }
    *index = ix;
    memset(r, 0, sizeof *r);
    r->status = (dlb_status)m->status;
    snprintf(r->impl, sizeof r->impl, "%s", m->impl ? m->impl : "");
    r->stats = (dlb_stats){.n = reps,
                           .min = m->min_ms,
                           .max = m->min_ms,
                           .mean = m->mean_ms,
                           .stddev = m->stddev_ms,
                           .median = m->median_ms,
                           .p90 = m->p90_ms,
                           .ci_low = m->ci_low_ms,
                           .ci_high = m->ci_high_ms};
    dlbricks__brick_result__free_unpacked(m, NULL);
    return true;
}

/* Worker: ask for work by sending a (first: empty) result, time what comes, until DONE. */
static dlb_status worker(const dlb_cli_options *opt, int rank, const dlb_thread_info *ti,
                         double *timing_s) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    dlb_timing_settings ts;
    dlb_cli_timing_settings(opt, &ts);
    void *out = NULL, *in = NULL;
    int out_len = 0;
    DLB_MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD));
    for (;;) {
        MPI_Status s;
        int len;
        DLB_MPI_CHECK(MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &s));
        DLB_MPI_CHECK(MPI_Get_count(&s, MPI_BYTE, &len));
        free(in);
        in = malloc((size_t)len + 1);
        DLB_CHECK_ALLOC(in);
        DLB_MPI_CHECK(MPI_Recv(in, len, MPI_BYTE, 0, s.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (s.MPI_TAG == TAG_DONE) break;
        int32_t ix;
        memcpy(&ix, in, sizeof ix);
        dlb_brick_decoded *d = NULL;
        dlb_cli_brick_result r = {.status = DLB_EPARSE};
        uint64_t id = 0;
        if (dlb_brick_decode((unsigned char *)in + sizeof ix, (size_t)len - sizeof ix, &d) ==
            DLB_OK) {
            const dlb_brick *b = dlb_brick_decoded_brick(d);
            id = b->id;
            dlb_cli_time_one_brick(opt, &ts, b, &r, timing_s);
        }
        dlb_brick_decoded_free(d);
        free(out);
        out = pack_result(ix, id, &r, rank, ti->threads, &out_len);
        DLB_CHECK_ALLOC(out);
        DLB_MPI_CHECK(MPI_Send(out, out_len, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD));
    }
cleanup:
    free(in);
    free(out);
    return st;
}

/* Rank 0: hand the bricks out most expensive first, one at a time to whoever asks. */
static dlb_status coordinator(const dlb_cli_options *opt, const dlb_registry *reg, int size,
                              dlb_cli_brick_result *br, double *wall) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    int nb = dlb_registry_n_bricks(reg), next = 0, active = size - 1, done = 0;
    int *order = malloc(sizeof(int) * (size_t)(nb + 1));
    unsigned char *msg = NULL;
    DLB_CHECK_ALLOC(order);
    for (int i = 0; i < nb; i++) order[i] = i;
    sort_reg = reg;
    qsort(order, (size_t)nb, sizeof *order, by_cost_desc);
    dlb_timing_settings ts;
    dlb_cli_timing_settings(opt, &ts);
    double t0 = now_s(), last = t0;
    while (active > 0) {
        MPI_Status s;
        int len, ix;
        DLB_MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &s));
        DLB_MPI_CHECK(MPI_Get_count(&s, MPI_BYTE, &len));
        free(msg);
        msg = malloc((size_t)len + 1);
        DLB_CHECK_ALLOC(msg);
        DLB_MPI_CHECK(MPI_Recv(msg, len, MPI_BYTE, s.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                               MPI_STATUS_IGNORE));
        dlb_cli_brick_result r;
        if (len > 0 && unpack_result(msg, len, nb, &ix, &r, ts.min_reps)) {
            br[ix] = r; /* streamed in: stored as soon as it arrives */
            done++;
        }
        if (next < nb) {
            const dlb_brick *b = dlb_registry_brick(reg, order[next]);
            void *spec = NULL;
            size_t slen = 0;
            DLB_TRY(dlb_brick_encode(b, &spec, &slen));
            unsigned char *w = malloc(slen + sizeof(int32_t));
            if (!w) free(spec);
            DLB_CHECK_ALLOC(w);
            int32_t i32 = order[next++];
            memcpy(w, &i32, sizeof i32);
            memcpy(w + sizeof i32, spec, slen);
            free(spec);
            int rc = MPI_Send(w, (int)(slen + sizeof i32), MPI_BYTE, s.MPI_SOURCE, TAG_WORK,
                              MPI_COMM_WORLD);
            free(w);
            DLB_MPI_CHECK(rc);
        } else {
            DLB_MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, s.MPI_SOURCE, TAG_DONE, MPI_COMM_WORLD));
            active--;
        }
        double t = now_s();
        if (!opt->quiet && (t - last > 10 || (active == 0 && nb > 0))) {
            fprintf(stderr, "progress: bricks %d/%d elapsed_s=%.0f\n", done, nb, t - t0);
            last = t;
        }
    }
    *wall = now_s() - t0;
cleanup:
    free(order);
    free(msg);
    return st;
}

/* Place this rank: node-local ranks from MPI_Comm_split_type, grouped by the CPU mask they
 * inherited from the launcher (ranks with the same mask share it out); never wider. */
static dlb_status bind_rank(const dlb_cli_options *opt, int rank, bool *oversubscribed) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    MPI_Comm node = MPI_COMM_NULL, group = MPI_COMM_NULL;
    hwloc_topology_t topo = NULL;
    hwloc_bitmap_t env = hwloc_bitmap_alloc(), set = hwloc_bitmap_alloc();
    char mask[256] = "", host[MPI_MAX_PROCESSOR_NAME] = "";
    int index = 0, count = 1, hlen = 0;
    *oversubscribed = false;
    DLB_CHECK_ALLOC(env);
    DLB_CHECK_ALLOC(set);
    if (hwloc_topology_init(&topo) < 0 || hwloc_topology_load(topo) < 0 ||
        hwloc_get_cpubind(topo, env, HWLOC_CPUBIND_PROCESS) < 0) {
        dlb_error(diag, "binding", "hwloc cannot read this process's CPU binding");
        st = DLB_EHWLOC;
        goto cleanup;
    }
    hwloc_bitmap_list_snprintf(mask, sizeof mask, env);
    DLB_MPI_CHECK(
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    unsigned color = 5381; /* djb2 of the inherited mask: ranks sharing it form a group */
    for (const char *c = mask; *c; c++) color = color * 33 + (unsigned char)*c;
    DLB_MPI_CHECK(MPI_Comm_split(node, (int)(color & 0x7fffffff), rank, &group));
    DLB_MPI_CHECK(MPI_Comm_rank(group, &index));
    DLB_MPI_CHECK(MPI_Comm_size(group, &count));
    DLB_TRY(dlb_placement(topo, env, opt->bind, index, count, opt->allow_oversubscribe, set,
                          oversubscribed, NULL));
    if (opt->bind != DLB_BIND_NONE && opt->bind != DLB_BIND_LAUNCHER &&
        hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) < 0) {
        dlb_error(diag, "binding", "hwloc_set_cpubind failed");
        st = DLB_EHWLOC;
        goto cleanup;
    }
    if (opt->report_bindings) {
        char cpus[256];
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, set);
        MPI_Get_processor_name(host, &hlen);
        fprintf(stderr, "binding: rank=%d host=%s group=%d/%d policy=%s inherited=%s cpus=%s%s\n",
                rank, host, index, count, dlb_bind_policy_name(opt->bind), mask, cpus,
                *oversubscribed ? " oversubscribed" : "");
    }
cleanup:
    if (group != MPI_COMM_NULL) MPI_Comm_free(&group);
    if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
    hwloc_bitmap_free(env);
    hwloc_bitmap_free(set);
    if (topo) hwloc_topology_destroy(topo);
    return st;
}

dlb_status dlb_cli_bricks_mpi(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    int rank = 0, size = 1;
    dlb_registry *reg = NULL;
    dlb_cli_brick_result *br = NULL;
    DLB_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    DLB_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    bool over = false;
    st = bind_rank(opt, rank, &over);
    int ok = st == DLB_OK, all_ok = 0, any_over = 0, mine_over = over;
    DLB_MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    DLB_MPI_CHECK(MPI_Allreduce(&mine_over, &any_over, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    if (!all_ok) return st != DLB_OK ? st : DLB_EHWLOC; /* every rank stops: nothing timed */
    if (any_over && rank == 0)
        fprintf(stderr, "warning: ranks are oversubscribed: every result is marked as such\n");
    if (size == 1) return dlb_cli_bricks(opt, out, info); /* bound, and nobody to hand out to */
    dlb_thread_info ti;
    DLB_TRY(dlb_threads_setup(opt->threads, &ti));
    double timing_s = 0, wall = 0, total = 0;
    if (rank == 0) {
        st = dlb_cli_build_registry(opt, &reg, info);
        if (st != DLB_OK) {
            /* Nothing to hand out: send the workers home, then finish the collective. */
            for (int r = 1; r < size; r++) {
                MPI_Recv(NULL, 0, MPI_BYTE, r, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(NULL, 0, MPI_BYTE, r, TAG_DONE, MPI_COMM_WORLD);
            }
            MPI_Reduce(&timing_s, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
            return st;
        }
        int nb = dlb_registry_n_bricks(reg);
        br = calloc((size_t)nb + 1, sizeof *br);
        DLB_CHECK_ALLOC(br);
        for (int i = 0; i < nb; i++) br[i].status = DLB_EMPI; /* until a result arrives */
        fprintf(stderr, "note: %d unique bricks over %d worker ranks, threads %d, isa %s\n", nb,
                size - 1, ti.threads, dlb_exec_isa());
        DLB_TRY(coordinator(opt, reg, size, br, &wall));
    } else {
        DLB_TRY(worker(opt, rank, &ti, &timing_s));
    }
    DLB_MPI_CHECK(MPI_Reduce(&timing_s, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        st = dlb_cli_report_bricks(opt, reg, br, &ti, size, wall, total, out, info);
        if (any_over) fprintf(out, "oversubscribed: ranks=%d (results not for figures)\n", size);
    }
cleanup:
    free(br);
    dlb_registry_free(reg);
    return st;
}
