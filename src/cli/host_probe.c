/* host_probe.c — the host probe of a run: every rank times it at the start and at the end; rank 0
 * stores each rank's figures in the run's provenance and prints one "host:" line per system. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "dlbricks/store.h"

void dlb_cli_host_probe(const dlb_cli_options *opt, const dlb_thread_info *ti,
                        dlb_host_probe *out) {
    *out = (dlb_host_probe){0};
    if (opt->no_host_probe || opt->dummy) return;
    dlb_cli_release_weight_pool(); /* made again when a brick needs it: the peak stays a brick's */
    size_t bytes = dlb_host_probe_stream_bytes(ti->llc_bytes);
    int64_t limit = dlb_cli_brick_mem_limit();
    while (limit > 0 && 3 * (int64_t)bytes > limit && bytes > ((size_t)1 << 20)) bytes /= 2;
    dlb_diag diag = {.file = "host probe"};
    if (dlb_host_probe_run(bytes & ~(((size_t)1 << 20) - 1), DLB_PROBE_MIN_TIME_MS, &diag, out) !=
        DLB_OK)
        fprintf(stderr, "warning: host probe failed; the run goes on without it\n");
}

/* Median of a figure over system k's ranks whose probe ran (0 when none did), by the harness's
 * own statistics (dlb_stats_compute). */
static double median_over(const dlb_job *j, int k, const dlb_host_probe *p, bool gbs, double *tmp) {
    int n = 0;
    for (int r = 0; r < j->n_ranks; r++)
        if (j->rank_system[r] == k && p[r].ok) tmp[n++] = gbs ? p[r].stream_gbs : p[r].gflops;
    dlb_stats st;
    return n > 0 && dlb_stats_compute(tmp, n, &st) == DLB_OK ? st.median : 0;
}

dlb_status dlb_job_host_probe(dlb_job *j, FILE *out) {
    if (!j->probe_start || !j->probe_end) return DLB_OK;
    bool any = false;
    for (int r = 0; r < j->n_ranks; r++) any |= j->probe_start[r].ok || j->probe_end[r].ok;
    if (!any) return DLB_OK; /* --no-host-probe, the dummy backend, or it failed everywhere */
    char *text = NULL, line[256];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return DLB_ENOMEM;
    for (int r = 0; r < j->n_ranks; r++)
        for (int when = 0; when < 2; when++) {
            dlb_host_probe_format(when ? &j->probe_end[r] : &j->probe_start[r], line, sizeof line);
            fprintf(f, "rank=%d when=%s %s\n", r, when ? "end" : "start", line);
        }
    dlb_status st = fclose(f) == 0 && text ? DLB_OK : DLB_ENOMEM;
    if (st == DLB_OK) st = dlb_results_run_attr(j->doc, j->run_id, "host_probe", text);
    free(text);
    double *tmp = malloc((size_t)j->n_ranks * sizeof *tmp);
    if (!tmp) return DLB_ENOMEM;
    for (int k = 0; k < j->n_systems; k++)
        fprintf(out,
                "host: system=%s ranks=%d start_gflops=%.2f end_gflops=%.2f "
                "start_stream_gbs=%.2f end_stream_gbs=%.2f\n",
                j->sys[k].name, j->sys[k].n_ranks, median_over(j, k, j->probe_start, false, tmp),
                median_over(j, k, j->probe_end, false, tmp),
                median_over(j, k, j->probe_start, true, tmp),
                median_over(j, k, j->probe_end, true, tmp));
    free(tmp);
    return st;
}
