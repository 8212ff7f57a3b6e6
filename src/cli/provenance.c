/* provenance.c — what a results file records about a run (/runs/<id>) and about each model's
 * decomposition (/models/<model>/b<batch>). */
#include "cli.h"

#include <hwloc.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlbricks/store.h"

extern char **environ;

/* A growable string. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
        if (b->n == 0) b->s[0] = 0;
    }
}

static void sb_reset(sbuf *b) {
    b->n = 0;
    if (b->s) b->s[0] = 0;
}

static const char *sb_str(sbuf *b) {
    if (!b->s) sb_add(b, "%s", "");
    return b->oom ? NULL : b->s;
}

/* One line of a small /sys or /proc file, "" if unreadable. */
static void read_line(const char *path, char *buf, size_t size) {
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(buf, (int)size, f)) buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

/* The command line, each word single-quoted when the shell would need it. */
static void command_line(const dlb_cli_options *opt, sbuf *b) {
    for (int i = 0; i < opt->argc; i++) {
        const char *a = opt->argv[i];
        bool plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_./=,:+@%") == strlen(a);
        if (i) sb_add(b, " ");
        if (plain) {
            sb_add(b, "%s", a);
            continue;
        }
        sb_add(b, "'");
        for (const char *p = a; *p; p++)
            if (*p == '\'')
                sb_add(b, "'\\''");
            else
                sb_add(b, "%c", *p);
        sb_add(b, "'");
    }
}

static const char *launcher(void) {
    /* mpirun inside a Slurm allocation starts its daemons with srun, so SLURM_STEP_ID is set
     * there too: Open MPI's own daemon URI says mpirun. */
    if (getenv("OMPI_MCA_orte_hnp_uri")) return "mpirun (Open MPI)";
    if (getenv("SLURM_STEP_ID") && (getenv("PMIX_RANK") || getenv("PMI_RANK"))) return "srun";
    if (getenv("OMPI_COMM_WORLD_SIZE")) return "mpirun (Open MPI)";
    if (getenv("PMIX_RANK") || getenv("PMI_RANK")) return "PMI";
    return "none";
}

static dlb_status attr(dlb_job *j, const char *name, const char *value) {
    return value ? dlb_results_run_attr(j->doc, j->run_id, name, value) : DLB_ENOMEM;
}

/* Node topology of rank 0 and the CPU power state where Linux shows it. */
static dlb_status machine_attrs(dlb_job *j) {
    char buf[256];
    dlb_status st = DLB_OK;
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) == 0) {
        if (hwloc_topology_load(t) == 0) {
            snprintf(buf, sizeof buf, "packages=%d numa=%d cores=%d pus=%d",
                     hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE),
                     hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE),
                     hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE),
                     hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU));
            st = attr(j, "topology", buf);
        }
        hwloc_topology_destroy(t);
    }
    static const char *files[][2] = {
        {"cpu_governor", "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"},
        {"cpu_boost", "/sys/devices/system/cpu/cpufreq/boost"},
        {"intel_no_turbo", "/sys/devices/system/cpu/intel_pstate/no_turbo"},
        {"smt_active", "/sys/devices/system/cpu/smt/active"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files && st == DLB_OK; i++) {
        read_line(files[i][1], buf, sizeof buf);
        st = attr(j, files[i][0], *buf ? buf : "unreadable");
    }
    return st;
}

static dlb_status run_attrs(dlb_job *j) {
    const dlb_cli_options *opt = j->opt;
    dlb_status st = dlb_results_add_run(j->doc, j->run_id);
    sbuf b = {0};
    char buf[256];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (st == DLB_OK) st = attr(j, "start_time", buf);
    command_line(opt, &b);
    if (st == DLB_OK) st = attr(j, "command_line", sb_str(&b));
    sb_reset(&b);
    if (st == DLB_OK) st = attr(j, "launcher", launcher());
    if (st == DLB_OK && opt->job_file) st = attr(j, "job_file", opt->job_file);
    if (st == DLB_OK && opt->job_text) st = attr(j, "job_file_contents", opt->job_text);
    for (int r = 0; r < j->n_ranks; r++) {
        const dlb_rank_info *ri = &j->ranks[r];
        sb_add(&b, "rank=%d host=%s system=%s binding=%s threads=%d oversubscribed=%d%s\n", r,
               ri->host, ri->system, ri->binding, ri->threads, ri->oversubscribed,
               ri->times_bricks ? "" : " coordinator-only");
    }
    if (st == DLB_OK) st = attr(j, "ranks", sb_str(&b));
    sb_reset(&b);
    for (int r = 0; r < j->n_ranks; r++) {
        bool seen = false;
        for (int q = 0; q < r && !seen; q++) seen = !strcmp(j->ranks[q].host, j->ranks[r].host);
        if (!seen) sb_add(&b, "%s%s", b.n ? "," : "", j->ranks[r].host);
    }
    if (st == DLB_OK) st = attr(j, "hosts", sb_str(&b));
    sb_reset(&b);
    for (int s = 0; s < j->n_systems; s++) sb_add(&b, "%s%s", s ? "," : "", j->sys[s].name);
    if (st == DLB_OK) st = attr(j, "systems", sb_str(&b));
    if (st == DLB_OK) st = attr(j, "cpu_model", j->ranks[0].cpu_model);
    if (st == DLB_OK) st = attr(j, "isa", j->ranks[0].isa);
    if (st == DLB_OK) st = attr(j, "settings", j->sys[0].settings);
    if (st == DLB_OK) st = attr(j, "stat", opt->stat);
    sb_reset(&b);
    char *vs = NULL;
    size_t vn = 0;
    FILE *mf = open_memstream(&vs, &vn);
    if (mf) {
        dlb_cli_print_version(mf);
        fclose(mf);
    }
    if (st == DLB_OK) st = attr(j, "versions", vs);
    free(vs);
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "SLURM_", 6) || !strncmp(*e, "OMP_", 4) || !strncmp(*e, "DNNL_", 5) ||
            !strncmp(*e, "ONEDNN_", 7))
            sb_add(&b, "%s\n", *e);
    if (st == DLB_OK) st = attr(j, "environment", sb_str(&b));
    if (st == DLB_OK) st = machine_attrs(j);
    free(b.s);
    return st;
}

dlb_status dlb_cli_provenance(dlb_job *j) {
    dlb_status st = run_attrs(j);
    for (int i = 0; i < dlb_registry_n_models(j->reg) && st == DLB_OK; i++)
        st = dlb_cli_put_decomposition(j->doc, j->reg, dlb_registry_model(j->reg, i), j->opt,
                                       j->run_id, true);
    return st;
}
