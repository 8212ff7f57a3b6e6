/* main.c — entry point of dlbricks-mpi: parse options, run the mode, pick the exit status. */
#include "cli.h"

#include "check.h"
#include "dlbricks/exec.h"

#include <mpi.h>
#include <stdlib.h>

#include <errno.h>
#include <string.h>

volatile sig_atomic_t dlb_cli_stop;

static void on_signal(int sig) {
    (void)sig;
    dlb_cli_stop = 1;
}

/* SIGINT/SIGTERM: finish the brick at hand, save the results file, exit 1. */
static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Output that could not be written (full disk, closed pipe) is a failure, not a success. */
static int finish(int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "error: cannot write output: %s\n", strerror(errno ? errno : EIO));
        return DLB_EXIT_FAILURE;
    }
    return rc;
}

/* Started by mpirun/srun (a PMI/PMIx or Open MPI rank in the environment)?  Only then is MPI
 * initialised: a plain command line stays a single process without MPI. */
static bool launched_by_mpi(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static dlb_status main_job(int argc, char **argv, const dlb_cli_options *opt,
                           dlb_cli_run_info *info) {
    catch_signals();
    dlb_diag d = {0};
    if (dlb_exec_setup_process(&d) != DLB_OK) return DLB_EDNNL;
    if (!launched_by_mpi()) return dlb_cli_bricks(opt, stdout, info);
    dlb_diag *diag = NULL; /* for DLB_MPI_CHECK: its one line goes to stderr */
    const char *where = "MPI";
    dlb_status st = DLB_OK;
    int provided, rank = 0;
    DLB_MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    DLB_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    st = dlb_cli_bricks_mpi(opt, stdout, info); /* binds the rank, then times or hands out */
    if (rank != 0) fflush(stdout);
    DLB_MPI_CHECK(MPI_Finalize());
    return st;
cleanup: /* MPI_Init_thread, MPI_Comm_rank or MPI_Finalize failed */
    return st;
}

int main(int argc, char **argv) {
    dlb_cli_options opt;
    switch (dlb_cli_parse_job(argc, argv, &opt, stderr)) {
    case DLB_PARSE_HELP:
        dlb_cli_usage(stdout);
        return finish(DLB_EXIT_OK);
    case DLB_PARSE_VERSION:
        dlb_cli_print_version(stdout);
        return finish(DLB_EXIT_OK);
    case DLB_PARSE_BAD:
        return DLB_EXIT_USAGE;
    case DLB_PARSE_OK:
        break;
    }
    const char *why;
    if (opt.mode != DLB_MODE_DRY_RUN && opt.mode != DLB_MODE_SIMULATE &&
        opt.mode != DLB_MODE_COMPOSE && !dlb_exec_dtype_supported(opt.dtype, &why)) {
        fprintf(stderr, "error: --dtype %s: %s\n", dlb_dtype_name(opt.dtype), why);
        return finish(DLB_EXIT_FAILURE);
    }
    dlb_cli_run_info info = {0};
    dlb_status st;
    switch (opt.mode) {
    case DLB_MODE_DRY_RUN:
        st = dlb_cli_dry_run(&opt, stdout, &info);
        break;
    case DLB_MODE_TIME_MODEL:
        st = dlb_cli_time_model(&opt, stdout);
        break;
    case DLB_MODE_SIMULATE:
        st = dlb_cli_simulate(&opt, stdout);
        break;
    case DLB_MODE_COMPOSE:
        st = dlb_cli_compose(&opt, stdout, &info);
        break;
    default:
        st = main_job(argc, argv, &opt, &info);
        break;
    }
    if (st != DLB_OK) return finish(DLB_EXIT_FAILURE);
    return finish(info.n_skipped > 0 ? DLB_EXIT_SKIPPED : DLB_EXIT_OK);
}
