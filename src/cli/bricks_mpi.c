/* bricks_mpi.c — the main job over MPI: rank 0 reads the zoo and hands bricks out per system,
 * every timing rank (rank 0 too, unless --dedicated-coordinator) times them, results stream back.
 */
#include "cli.h"

#include <inttypes.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_hwloc.h"
#include "messages.h"
#include "dlbricks/binding.h"
#include "dlbricks/exec.h"
#include "dlbricks/store.h"

enum { TAG_WORK = 1, TAG_RESULT = 2, TAG_DONE = 3, TAG_CHECK = 4, TAG_CHECK_RESULT = 5 };
/* A worker holds at least MIN_IN_HAND bricks and at least IN_HAND_S seconds of predicted work
 * (at most MAX_IN_HAND bricks), so it never runs dry while rank 0 times a brick of its own
 * (rank 0 takes the cheapest ones: ~0.1-0.2 s with the default 100 ms minimum time). */
enum { MIN_IN_HAND = 2, MAX_IN_HAND = 8 };
#define IN_HAND_S 0.5

/* A result message: a packed BrickResult naming the brick's index in rank 0's registry. */
static void *pack_result(int index, uint64_t id, const dlb_cli_brick_result *r, int rank,
                         int threads, int *len) {
    Dlbricks__BrickResult m;
    dlb_msg_from_result(r, id, rank, threads, &m);
    m.has_index = 1;
    m.index = index;
    size_t n = dlbricks__brick_result__get_packed_size(&m);
    unsigned char *buf = malloc(n > 0 ? n : 1);
    if (!buf) return NULL;
    *len = (int)dlbricks__brick_result__pack(&m, buf);
    return buf;
}

static bool unpack_result(const unsigned char *buf, int len, int nb, int *index,
                          dlb_cli_brick_result *r) {
    Dlbricks__BrickResult *m = dlbricks__brick_result__unpack(NULL, (size_t)len, buf);
    if (!m || !m->has_index || m->index < 0 || m->index >= nb) {
        if (m) dlbricks__brick_result__free_unpacked(m, NULL);
        return false;
    }
    *index = m->index;
    dlb_msg_to_result(m, r);
    dlbricks__brick_result__free_unpacked(m, NULL);
    return true;
}

/* A queued work message on a worker. */
typedef struct work_item {
    unsigned char *msg;
    int len, tag;
} work_item;

/* Worker: receive bricks (up to MAX_IN_HAND ahead), time them in order, send results back without
 * waiting for rank 0, until DONE.  *idle_s: time spent waiting for work during the brick pass,
 * which for this rank ends when its first model check arrives (the timing: line's share of the
 * pass; waits between checks are not counted). */
static dlb_status worker(const dlb_cli_options *opt, int rank, const dlb_thread_info *ti,
                         dlb_cli_brick_times *times, double *idle_s, double *model_s) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    dlb_timing_settings ts;
    dlb_cli_timing_settings(opt, &ts);
    work_item q[MAX_IN_HAND + 1];
    int nq = 0;
    bool done = false, checking = false;
    void *out = NULL;
    MPI_Request req = MPI_REQUEST_NULL;
    for (;;) {
        /* Take in whatever rank 0 sent; block only when there is nothing to time. */
        while (!done && nq <= MAX_IN_HAND) {
            MPI_Status s;
            int flag = 1, len;
            if (nq > 0)
                DLB_MPI_CHECK(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &s));
            else {
                double t0 = MPI_Wtime();
                DLB_MPI_CHECK(MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &s));
                if (!checking) *idle_s += MPI_Wtime() - t0;
            }
            if (!flag) break;
            DLB_MPI_CHECK(MPI_Get_count(&s, MPI_BYTE, &len));
            unsigned char *m = malloc((size_t)len + 1);
            DLB_CHECK_ALLOC(m);
            int rc = MPI_Recv(m, len, MPI_BYTE, 0, s.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS || s.MPI_TAG == TAG_DONE || len <= 0) {
                free(m);
                DLB_MPI_CHECK(rc);
                done = true;
                break;
            }
            checking |= s.MPI_TAG == TAG_CHECK;
            q[nq++] = (work_item){m, len, s.MPI_TAG};
        }
        if (nq == 0) break; /* DONE and nothing left */
        work_item w = q[0];
        memmove(q, q + 1, sizeof *q * (size_t)--nq);
        if (w.tag == TAG_CHECK) { /* --validate: a whole model and its bricks */
            void *res = NULL;
            size_t rlen = 0;
            double check_bricks_s = 0; /* not the brick pass */
            if (dlb_cli_run_check_message(opt, &ts, rank, ti->threads, w.msg, (size_t)w.len, &res,
                                          &rlen, &check_bricks_s, model_s) != DLB_OK)
                fprintf(stderr, "error: rank %d: a model check could not be run\n", rank);
            free(w.msg);
            DLB_MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
            free(out);
            out = res; /* empty on failure: rank 0 counts it as answered */
            DLB_MPI_CHECK(
                MPI_Isend(out, (int)rlen, MPI_BYTE, 0, TAG_CHECK_RESULT, MPI_COMM_WORLD, &req));
            continue;
        }
        Dlbricks__BrickTask *task = dlbricks__brick_task__unpack(NULL, (size_t)w.len, w.msg);
        int ix = task ? task->index : -1; /* -1: rank 0 cannot place the answer, and says so */
        dlb_brick_decoded *d = NULL;
        dlb_cli_brick_result r = {.status = DLB_EPARSE};
        uint64_t id = 0;
        if (task && dlb_brick_decode(task->spec.data, task->spec.len, &d) == DLB_OK) {
            const dlb_brick *b = dlb_brick_decoded_brick(d);
            id = b->id;
            if (opt->verbose) fprintf(stderr, "brick: begin id=%016" PRIx64 "\n", id);
            dlb_cli_time_one_brick(opt, &ts, b, &r, times);
            if (opt->verbose) fprintf(stderr, "brick: end id=%016" PRIx64 "\n", id);
        } else {
            fprintf(stderr, "error: rank %d: brick message %d cannot be decoded\n", rank, ix);
        }
        dlb_brick_decoded_free(d);
        if (task) dlbricks__brick_task__free_unpacked(task, NULL);
        free(w.msg);
        DLB_MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE)); /* the previous result went out */
        free(out);
        int out_len = 0;
        out = pack_result(ix, id, &r, rank, ti->threads, &out_len);
        free(r.samples);
        DLB_CHECK_ALLOC(out);
        DLB_MPI_CHECK(MPI_Isend(out, out_len, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD, &req));
    }
    DLB_MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
cleanup:
    for (int i = 0; i < nq; i++) free(q[i].msg);
    free(out);
    return st;
}

/* Rank 0's view of the workers. */
typedef struct pending_send {
    MPI_Request req;
    unsigned char *buf;
} pending_send;

typedef struct handout {
    dlb_job *job;
    pending_send *sends; /* work messages in flight: a rank busy timing cannot take them yet */
    int n_sends, cap_sends;
    int size;
    int *outstanding;     /* bricks handed to each rank and not yet answered */
    double *in_hand_s;    /* their predicted wall time */
    double *sent_s;       /* per brick: predicted wall time when it was sent */
    double *check_sent_s; /* per model entry: the same for --validate checks */
    int active;           /* workers not yet sent DONE */
    dlb_status st;        /* first failure seen by serve_pending */
} handout;

/* Free the buffers of work messages that have gone out. */
static dlb_status reap_sends(handout *h, bool wait) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    for (int k = 0; k < h->n_sends;) {
        int done = 1;
        if (wait)
            DLB_MPI_CHECK(MPI_Wait(&h->sends[k].req, MPI_STATUS_IGNORE));
        else
            DLB_MPI_CHECK(MPI_Test(&h->sends[k].req, &done, MPI_STATUS_IGNORE));
        if (!done) {
            k++;
            continue;
        }
        free(h->sends[k].buf);
        h->sends[k] = h->sends[--h->n_sends];
    }
cleanup:
    return st;
}

/* Send worker w one more brick of its system (non-blocking: a spec above the eager limit
 * would otherwise hold rank 0 until the worker finishes its brick); *sent = false when none
 * is left. */
static dlb_status send_one(handout *h, int w, bool *sent) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    unsigned char *msg = NULL;
    void *spec = NULL;
    *sent = false;
    if (dlb_cli_stop) return DLB_OK; /* interrupted: no new work, workers finish what they hold */
    int sys = h->job->rank_system[w];
    int i = dlb_job_next(h->job, sys, false),
        e = i < 0 ? dlb_job_next_check(h->job, sys, false) : -1;
    if (i < 0 && e < 0) return DLB_OK;
    if (h->n_sends == h->cap_sends) {
        int cap = h->cap_sends ? 2 * h->cap_sends : 64;
        pending_send *p = realloc(h->sends, sizeof *p * (size_t)cap);
        DLB_CHECK_ALLOC(p);
        h->sends = p;
        h->cap_sends = cap;
    }
    size_t slen = 0, mlen = 0;
    int tag = TAG_WORK;
    if (i >= 0) {
        DLB_TRY(dlb_brick_encode(dlb_registry_brick(h->job->reg, i), &spec, &slen));
        Dlbricks__BrickTask task;
        dlbricks__brick_task__init(&task);
        task.index = i;
        task.spec.data = spec;
        task.spec.len = slen;
        mlen = dlbricks__brick_task__get_packed_size(&task);
        msg = malloc(mlen);
        DLB_CHECK_ALLOC(msg);
        mlen = dlbricks__brick_task__pack(&task, msg);
        h->sent_s[i] = dlb_plan_wall_s(&h->job->sys[sys].plan, dlb_registry_brick(h->job->reg, i));
        h->in_hand_s[w] += h->sent_s[i];
    } else {
        DLB_TRY(dlb_cli_encode_check(h->job->reg, e, &spec, &mlen));
        msg = spec;
        spec = NULL;
        tag = TAG_CHECK;
        h->check_sent_s[e] = dlb_job_check_cost(h->job, sys, e);
        h->in_hand_s[w] += h->check_sent_s[e];
    }
    pending_send *p = &h->sends[h->n_sends];
    DLB_MPI_CHECK(MPI_Isend(msg, (int)mlen, MPI_BYTE, w, tag, MPI_COMM_WORLD, &p->req));
    p->buf = msg;
    msg = NULL;
    h->n_sends++;
    h->outstanding[w]++;
    *sent = true;
cleanup:
    free(spec);
    free(msg);
    return st;
}

/* Keep worker w supplied (MIN_IN_HAND, IN_HAND_S, MAX_IN_HAND above); DONE once its system has
 * nothing left and it has answered everything. */
static dlb_status top_up(handout *h, int w) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    bool sent = true;
    while (sent && h->outstanding[w] < MAX_IN_HAND &&
           (h->outstanding[w] < MIN_IN_HAND || h->in_hand_s[w] < IN_HAND_S))
        DLB_TRY(send_one(h, w, &sent));
    /* empty: DONE (eager, never blocks), unless a check in flight may still call for a recheck
     * (--validate-recheck): then the worker waits for it, and wake_idle tops it up again */
    if (h->outstanding[w] == 0 &&
        (dlb_cli_stop || !dlb_job_checks_pending(h->job, h->job->rank_system[w]))) {
        DLB_MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, w, TAG_DONE, MPI_COMM_WORLD));
        h->active--;
        h->outstanding[w] = -1; /* finished */
    }
cleanup:
    return st;
}

/* Top up every worker left waiting with nothing in hand (a check that came back may have
 * called for a recheck, or ended the wait). */
static dlb_status wake_idle(handout *h) {
    dlb_status st = DLB_OK;
    for (int w = 1; w < h->size && st == DLB_OK; w++)
        if (h->outstanding[w] == 0) st = top_up(h, w);
    return st;
}

/* Receive one result (blocking or not), record it and resupply its sender. */
static dlb_status service(handout *h, bool block, bool *got) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    unsigned char *msg = NULL;
    MPI_Status s;
    int flag = 1, len, ix = -1;
    *got = false;
    if (block)
        DLB_MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &s));
    else
        DLB_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &s));
    if (!flag) goto cleanup;
    DLB_MPI_CHECK(MPI_Get_count(&s, MPI_BYTE, &len));
    msg = malloc((size_t)len + 1);
    DLB_CHECK_ALLOC(msg);
    DLB_MPI_CHECK(
        MPI_Recv(msg, len, MPI_BYTE, s.MPI_SOURCE, s.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    *got = true;
    int w = s.MPI_SOURCE, sys = h->job->rank_system[w];
    double was = 0;
    if (s.MPI_TAG == TAG_CHECK_RESULT) {
        dlb_check_result res;
        int e = -1;
        if (len > 0 && dlb_cli_decode_check_result(msg, (size_t)len, &e, &res) == DLB_OK) {
            if (e >= 0 && e < dlb_registry_n_models(h->job->reg)) was = h->check_sent_s[e];
            dlb_status rs = dlb_job_record_check(h->job, sys, e, w, &res);
            if (rs != DLB_OK && rs != DLB_EINVAL) st = rs;
            dlb_check_result_free(&res);
        } else {
            fprintf(stderr, "error: rank %d: a model check failed or cannot be decoded\n", w);
        }
    } else {
        dlb_cli_brick_result r;
        if (unpack_result(msg, len, dlb_registry_n_bricks(h->job->reg), &ix, &r)) {
            was = h->sent_s[ix];
            dlb_status rs = dlb_job_record(h->job, sys, ix, w, &r);
            if (rs != DLB_OK && rs != DLB_EINVAL) st = rs; /* EINVAL: duplicate, ignored */
        } else {
            fprintf(stderr, "error: rank %d sent a result that cannot be decoded\n", w);
        }
    }
    if (h->outstanding[w] > 0) {
        h->outstanding[w]--;
        h->in_hand_s[w] -= was;
        if (h->outstanding[w] == 0 || h->in_hand_s[w] < 0) h->in_hand_s[w] = 0;
    }
    dlb_status t = reap_sends(h, false);
    if (t == DLB_OK) t = top_up(h, w);
    if (t == DLB_OK && s.MPI_TAG == TAG_CHECK_RESULT) t = wake_idle(h);
    if (st == DLB_OK) st = t;
cleanup:
    free(msg);
    return st;
}

/* Serve every result that is waiting (rank 0, between two of its own measurements). */
static void serve_pending(void *ctx) {
    handout *h = ctx;
    bool got = true;
    while (got && h->active > 0 && h->st == DLB_OK) h->st = service(h, false, &got);
}

/* Rank 0: supply the workers; between supplying, time the cheapest bricks of its own system
 * (never while a brick is being timed: see docs/cli.md). */
static dlb_status coordinator(dlb_job *job, int size, bool times, dlb_cli_brick_times *bt,
                              double *idle_s, double *model_s) {
    dlb_status st = DLB_OK;
    handout h = {.job = job, .size = size, .active = size - 1};
    h.outstanding = calloc((size_t)size, sizeof *h.outstanding);
    h.in_hand_s = calloc((size_t)size, sizeof *h.in_hand_s);
    h.sent_s = calloc((size_t)dlb_registry_n_bricks(job->reg) + 1, sizeof *h.sent_s);
    h.check_sent_s = calloc((size_t)dlb_registry_n_models(job->reg) + 1, sizeof *h.check_sent_s);
    if (!h.outstanding || !h.in_hand_s || !h.sent_s || !h.check_sent_s) {
        free(h.check_sent_s);
        free(h.outstanding);
        free(h.in_hand_s);
        free(h.sent_s);
        return DLB_ENOMEM;
    }
    /* Round robin, one brick each per pass, so the most expensive bricks spread out first. */
    for (int pass = 0; pass < MIN_IN_HAND && st == DLB_OK; pass++)
        for (int w = 1; w < size && st == DLB_OK; w++) {
            bool sent;
            st = send_one(&h, w, &sent);
        }
    for (int w = 1; w < size && st == DLB_OK; w++)
        if (h.outstanding[w] == 0) st = top_up(&h, w);
    int sys0 = job->rank_system[0];
    dlb_timing_settings ts;
    dlb_cli_timing_settings(job->opt, &ts);
    bool saved = false;
    while (st == DLB_OK) {
        if (dlb_cli_stop && !saved) { /* save now: the launcher may kill us any moment */
            st = dlb_job_save(job);
            saved = true;
            fprintf(stderr, "error: interrupted: waiting for the bricks in flight; results so far "
                            "are saved\n");
        }
        bool got = true;
        while (got && st == DLB_OK && h.active > 0) st = service(&h, false, &got);
        if (st != DLB_OK) break;
        int i = times && sys0 >= 0 && !dlb_cli_stop ? dlb_job_next(job, sys0, true) : -1;
        if (i >= 0) {
            const dlb_brick *b = dlb_registry_brick(job->reg, i);
            dlb_cli_brick_result r;
            if (job->opt->verbose) fprintf(stderr, "brick: begin id=%016" PRIx64 "\n", b->id);
            dlb_cli_time_one_brick(job->opt, &ts, b, &r, bt);
            if (job->opt->verbose) fprintf(stderr, "brick: end id=%016" PRIx64 "\n", b->id);
            st = dlb_job_record(job, sys0, i, 0, &r);
        } else if (times && sys0 >= 0 && !dlb_cli_stop &&
                   (i = dlb_job_next_check(job, sys0, true)) >= 0) {
            double check_bricks_s = 0; /* not the brick pass */
            st = dlb_job_check_local(job, sys0, i, 0, &check_bricks_s, model_s, serve_pending, &h);
            if (st == DLB_OK) st = h.st;
            if (st == DLB_OK) st = wake_idle(&h);
        } else if (h.active > 0 && (st = wake_idle(&h)) == DLB_OK && h.active > 0) {
            double t0 = MPI_Wtime();
            st = service(&h, true, &got);
            /* idle only while rank 0's system still has bricks to time (the brick pass) */
            const dlb_job_system *s0 = sys0 >= 0 ? &job->sys[sys0] : NULL;
            if (s0 && s0->n_timed + s0->n_failed < s0->n_todo) *idle_s += MPI_Wtime() - t0;
        } else {
            break;
        }
    }
    dlb_status s2 = reap_sends(&h, true);
    if (st == DLB_OK) st = s2;
    free(h.outstanding);
    free(h.in_hand_s);
    free(h.sent_s);
    free(h.check_sent_s);
    free(h.sends);
    return st == DLB_OK && dlb_cli_stop ? DLB_EINTR : st;
}

/* hwloc's view of this process: its topology (*topo, which the caller destroys) and the CPU
 * mask it inherited from the launcher. */
static dlb_status inherited_mask(hwloc_topology_t *topo, hwloc_bitmap_t env, dlb_diag *diag) {
    hwloc_topology_t t;
    DLB_HWLOC_CHECK(diag, hwloc_topology_init(&t));
    *topo = t;
    DLB_HWLOC_CHECK(diag, hwloc_topology_load(t));
    DLB_HWLOC_CHECK(diag, hwloc_get_cpubind(t, env, HWLOC_CPUBIND_PROCESS));
    return DLB_OK;
}

static dlb_status bind_process(hwloc_topology_t topo, hwloc_const_bitmap_t set, dlb_diag *diag) {
    DLB_HWLOC_CHECK(diag, hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_PROCESS));
    return DLB_OK;
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
    DLB_TRY(inherited_mask(&topo, env, diag));
    hwloc_bitmap_list_snprintf(mask, sizeof mask, env);
    DLB_MPI_CHECK(
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    unsigned color = 5381; /* djb2 of the inherited mask: ranks sharing it form a group */
    for (const char *c = mask; *c; c++) color = color * 33 + (unsigned char)*c;
    DLB_MPI_CHECK(MPI_Comm_split(node, (int)(color & 0x7fffffff), rank, &group));
    int on_node = 1;
    DLB_MPI_CHECK(MPI_Comm_size(node, &on_node));
    dlb_cli_set_brick_mem_limit(opt, on_node);
    DLB_MPI_CHECK(MPI_Comm_rank(group, &index));
    DLB_MPI_CHECK(MPI_Comm_size(group, &count));
    DLB_TRY(dlb_placement(topo, env, opt->bind, index, count, opt->allow_oversubscribe, set,
                          oversubscribed, NULL));
    if (opt->bind != DLB_BIND_NONE && opt->bind != DLB_BIND_LAUNCHER)
        DLB_TRY(bind_process(topo, set, diag));
    if (opt->report_bindings) {
        char cpus[256];
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, set);
        DLB_MPI_CHECK(MPI_Get_processor_name(host, &hlen));
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

/* What every pass of a run shares: this rank, its threads and every rank's info (rank 0). */
typedef struct pass_env {
    int rank, size;
    bool dedicated;
    const dlb_thread_info *ti;
    const dlb_rank_info *all;          /* rank 0 */
    bool probe;                        /* the main pass: time the host probe at its end */
    const dlb_host_probe *probe_start; /* rank 0: every rank's probe at the run's start */
} pass_env;

/* Every rank's packed message, gathered on rank 0: rank r's lens[r] bytes at data + displs[r]. */
typedef struct gathered {
    uint8_t *data;
    int *lens, *displs;
} gathered;

static void gathered_free(gathered *g) {
    free(g->data);
    free(g->lens);
    free(g->displs);
    *g = (gathered){0};
}

/* Gather every rank's packed message (len bytes; 0 when it could not pack one) into rank 0's g
 * (left empty elsewhere; gathered_free frees it). */
static dlb_status gather_packed(const uint8_t *mine, size_t len, int rank, int size, gathered *g) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    int n = len <= (size_t)INT32_MAX ? (int)len : 0;
    *g = (gathered){0};
    if (rank == 0) {
        g->lens = calloc((size_t)size, sizeof *g->lens);
        g->displs = calloc((size_t)size, sizeof *g->displs);
        if (!g->lens || !g->displs) MPI_Abort(MPI_COMM_WORLD, 1); /* cannot even coordinate */
    }
    DLB_MPI_CHECK(MPI_Gather(&n, 1, MPI_INT, g->lens, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        int64_t total = 0;
        for (int r = 0; r < size; r++) {
            g->displs[r] = (int)total;
            total += g->lens[r];
        }
        /* a few hundred bytes a rank: more than 2 GiB in all, or no memory, cannot coordinate */
        if (total <= INT32_MAX) g->data = malloc(total > 0 ? (size_t)total : 1);
        if (!g->data) MPI_Abort(MPI_COMM_WORLD, 1);
    }
    DLB_MPI_CHECK(
        MPI_Gatherv(mine, n, MPI_BYTE, g->data, g->lens, g->displs, MPI_BYTE, 0, MPI_COMM_WORLD));
cleanup:
    return st;
}

/* Every rank times the host probe at once (a barrier first, so that no rank is still timing a
 * brick); rank 0 gathers them (HostProbe messages) into all (size entries).  A rank whose message
 * does not decode counts as one whose probe did not run. */
static dlb_status probe_all(const dlb_cli_options *opt, const pass_env *e, dlb_host_probe *all) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    dlb_host_probe mine;
    uint8_t *packed = NULL;
    size_t len = 0;
    gathered g = {0};
    DLB_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    dlb_cli_host_probe(opt, e->ti, &mine);
    if (dlb_msg_pack_host_probe(&mine, &packed, &len) != DLB_OK) len = 0;
    DLB_TRY(gather_packed(packed, len, e->rank, e->size, &g));
    for (int r = 0; e->rank == 0 && r < e->size; r++)
        if (dlb_msg_unpack_host_probe(g.data + g.displs[r], (size_t)g.lens[r], &all[r]) != DLB_OK)
            fprintf(stderr, "warning: host probe of rank %d: %s; left out\n", r,
                    dlb_strerror(DLB_EMSG));
cleanup:
    free(packed);
    gathered_free(&g);
    return st;
}

/* Rank 0 gathers every rank's info (RankInfo messages) into all (size entries); every rank learns
 * whether all of them decoded (DLB_EMSG when not: the run cannot say where it ran). */
static dlb_status rank_info_all(const dlb_rank_info *mine, int rank, int size, dlb_rank_info *all) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    uint8_t *packed = NULL;
    size_t len = 0;
    gathered g = {0};
    int ok = 1;
    if (dlb_msg_pack_rank_info(mine, &packed, &len) != DLB_OK) len = 0;
    DLB_TRY(gather_packed(packed, len, rank, size, &g));
    for (int r = 0; rank == 0 && r < size; r++)
        if (dlb_msg_unpack_rank_info(g.data + g.displs[r], (size_t)g.lens[r], &all[r]) != DLB_OK) {
            fprintf(stderr, "error: rank %d: rank info: %s\n", r, dlb_strerror(DLB_EMSG));
            ok = 0;
        }
    DLB_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (!ok) st = DLB_EMSG;
cleanup:
    free(packed);
    gathered_free(&g);
    return st;
}

/* One job over opt's models on every rank: registry and hand-out (rank 0), timing, report.
 * With err (a calibration pass, rank 0) nothing is reported: the models' errors come back. */
static dlb_status run_pass(const dlb_cli_options *opt, const pass_env *e, FILE *out,
                           dlb_cli_run_info *info, dlb_cli_check_error *err) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    int rank = e->rank, size = e->size, go = 0;
    dlb_registry *reg = NULL;
    double *timing = NULL;
    dlb_host_probe *probe_end = NULL;
    dlb_job job;
    bool have_job = false;
    if (rank == 0) {
        timing = calloc(4 * (size_t)size, sizeof *timing);
        probe_end = calloc((size_t)size, sizeof *probe_end);
        if (!timing || !probe_end) MPI_Abort(MPI_COMM_WORLD, 1); /* cannot even coordinate */
        st = dlb_cli_build_registry(opt, &reg, info);
        if (st == DLB_OK) {
            st = dlb_job_init(&job, opt, reg, e->all, size);
            have_job = true;
        }
        if (st == DLB_OK && opt->calibration)
            st = dlb_results_run_attr(job.doc, job.run_id, "weights_calibration", opt->calibration);
        go = st == DLB_OK;
    }
    DLB_MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (!go) goto cleanup; /* rank 0 reported why; nothing was timed */
    int64_t largest = rank == 0 ? dlb_cli_largest_brick(reg) : 0;
    DLB_MPI_CHECK(MPI_Bcast(&largest, 1, MPI_INT64_T, 0, MPI_COMM_WORLD));
    dlb_cli_set_largest_brick(largest);
    dlb_cli_brick_times bt = {0};
    double idle_s = 0, model_s = 0, mine2[4];
    if (rank == 0) {
        for (int k = 0; k < job.n_systems; k++)
            fprintf(stderr, "note: %ssystem %s: %d unique bricks, %d to time, %d ranks\n",
                    err ? "calibration: " : "", job.sys[k].name, dlb_registry_n_bricks(reg),
                    job.sys[k].n_todo, job.sys[k].n_ranks);
        st = coordinator(&job, size, !e->dedicated, &bt, &idle_s, &model_s);
    } else {
        st = worker(opt, rank, e->ti, &bt, &idle_s, &model_s);
    }
    if (opt->verbose)
        fprintf(stderr, "rank: %d timing_s=%.2f setup_s=%.2f idle_s=%.2f\n", rank, bt.timing_s,
                bt.setup_s, idle_s);
    mine2[0] = bt.timing_s;
    mine2[1] = idle_s;
    mine2[2] = model_s;
    mine2[3] = bt.setup_s;
    DLB_MPI_CHECK(MPI_Gather(mine2, 4, MPI_DOUBLE, timing, 4, MPI_DOUBLE, 0, MPI_COMM_WORLD));
    int stop = st == DLB_EINTR || dlb_cli_stop, any_stop = 0;
    DLB_MPI_CHECK(MPI_Allreduce(&stop, &any_stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    if (e->probe && !any_stop) {
        dlb_status ps = probe_all(opt, e, probe_end);
        if (st == DLB_OK) st = ps;
        if (rank == 0) {
            job.probe_start = e->probe_start;
            job.probe_end = probe_end;
        }
    }
    if (rank == 0) {
        for (int r = 0; r < size; r++) {
            int k = job.rank_system[r];
            if (k < 0) continue;
            job.sys[k].timing_s += timing[4 * r];
            job.sys[k].idle_s += timing[4 * r + 1];
            job.sys[k].model_s += timing[4 * r + 2];
            job.sys[k].setup_s += timing[4 * r + 3];
        }
        dlb_status s2 = st == DLB_EINTR ? dlb_job_save(&job)
                        : err           ? dlb_job_check_error(&job, err)
                                        : dlb_job_finish(&job, out, info);
        if (st == DLB_OK) st = s2;
    }
cleanup:
    if (have_job) dlb_job_free(&job);
    free(timing);
    free(probe_end);
    dlb_registry_free(reg);
    return st;
}

/* The "systems" attribute this run's provenance will carry: the timing ranks' systems, each
 * once, in rank order (as dlb_job_init numbers them). */
static void systems_list(const pass_env *e, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = 0;
    for (int r = 0; r < e->size; r++) {
        if (!e->all[r].times_bricks) continue;
        bool seen = false;
        for (int q = 0; q < r && !seen; q++)
            seen = e->all[q].times_bricks && !strcmp(e->all[q].system, e->all[r].system);
        int k = seen ? 0 : snprintf(buf + n, size - n, "%s%s", n ? "," : "", e->all[r].system);
        if (k > 0 && n + (size_t)k < size) n += (size_t)k;
    }
}

/* --weights auto: the choice of an earlier run of the --resume file, or the calibration passes
 * (cold, distance, distance, cold) on every rank; rank 0's choice holds for all.  A pass that fails
 * (its models do not load) leaves the weights cold; an interrupt stops the run. */
static dlb_status calibrate(const dlb_cli_options *opt, const pass_env *e, FILE *out,
                            dlb_cli_options *run_opt, dlb_cli_calibration *cal) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    int ok = 1, distance = 0, reused = 0, refused = 0;
    if (e->rank == 0) {
        char systems[1024];
        systems_list(e, systems, sizeof systems);
        refused = dlb_job_refuse_output(opt) != DLB_OK ||
                  dlb_cli_calibration_reuse(opt, systems, cal, out) != DLB_OK;
        reused = cal->reused;
        if (!reused && !refused) ok = dlb_cli_calibration_models(opt, cal) == DLB_OK;
    }
    DLB_MPI_CHECK(MPI_Bcast(&refused, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (refused) return DLB_EIO; /* -o FILE refused or unreadable: reported by rank 0 */
    DLB_MPI_CHECK(MPI_Bcast(&reused, 1, MPI_INT, 0, MPI_COMM_WORLD));
    DLB_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
    double t0 = MPI_Wtime();
    for (int pass = 0; pass < DLB_CALIBRATION_PASSES && ok && !reused; pass++) {
        dlb_cli_options po;
        dlb_cli_calibration_options(opt, cal, dlb_cli_calibration_pass_distance(pass), &po);
        dlb_cli_run_info scratch = {0};
        dlb_cli_check_error err = {0};
        dlb_status ps = run_pass(&po, e, out, &scratch, e->rank == 0 ? &err : NULL);
        if (e->rank == 0) dlb_cli_calibration_add(cal, pass, &err);
        int mine = ps == DLB_EINTR || dlb_cli_stop ? 2 : ps != DLB_OK, worst = 0;
        DLB_MPI_CHECK(MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
        if (worst == 2) return DLB_EINTR;
        ok = worst == 0;
    }
    if (!reused) cal->wall_s = MPI_Wtime() - t0;
    if (e->rank == 0) {
        dlb_cli_calibration_apply(cal, ok && !reused, out, run_opt);
        distance = run_opt->weights_distance;
    }
    DLB_MPI_CHECK(MPI_Bcast(&distance, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (e->rank != 0) dlb_cli_weights_choice(run_opt, distance != 0);
cleanup:
    return st;
}

dlb_status dlb_cli_bricks_mpi(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = NULL;
    const char *where = NULL;
    int rank = 0, size = 1;
    dlb_rank_info *all = NULL;
    dlb_host_probe *probe_start = NULL; /* rank 0: every rank's, at the start */
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
    bool dedicated = opt->dedicated_coordinator && size > 1;
    if (opt->dedicated_coordinator && size == 1 && rank == 0)
        fprintf(stderr, "warning: --dedicated-coordinator needs 2 ranks or more; ignored\n");
    dlb_thread_info ti;
    DLB_TRY(dlb_cli_threads_setup(opt, &ti));
    dlb_cli_set_weight_pool(&ti);
    dlb_cli_set_eviction(opt);
    dlb_rank_info mine;
    dlb_cli_rank_info(opt, &ti, over, !(rank == 0 && dedicated), &mine);
    if (rank == 0) {
        all = calloc((size_t)size, sizeof *all);
        if (!all) MPI_Abort(MPI_COMM_WORLD, 1); /* cannot even coordinate */
    }
    DLB_TRY(rank_info_all(&mine, rank, size, all));
    pass_env e = {.rank = rank, .size = size, .dedicated = dedicated, .ti = &ti, .all = all};
    if (rank == 0) {
        probe_start = calloc((size_t)size, sizeof *probe_start);
        if (!probe_start) MPI_Abort(MPI_COMM_WORLD, 1); /* cannot even coordinate */
    }
    DLB_TRY(probe_all(opt, &e, probe_start));
    dlb_cli_options run_opt = *opt;
    dlb_cli_calibration cal = {0};
    if (opt->weights_auto) st = calibrate(opt, &e, out, &run_opt, &cal);
    e.probe = true;
    e.probe_start = probe_start;
    if (st == DLB_OK) st = run_pass(&run_opt, &e, out, info, NULL);
    dlb_cli_calibration_free(&cal);
cleanup:
    free(probe_start);
    free(all);
    dlb_cli_release_weight_pool();
    return st;
}
