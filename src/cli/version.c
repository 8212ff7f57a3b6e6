/* version.c — the --version text: dlbricks-mpi and the libraries it runs on. */
#include "cli.h"

#include <string.h>

#include <hdf5.h>
#include <hwloc.h>
#include <mpi.h>
#include <oneapi/dnnl/dnnl.h>
#include <protobuf-c/protobuf-c.h>

#include "dlbricks/exec.h"
#include "dlb_git_revision.h" /* generated at build time: DLB_GIT_REVISION */

#ifndef DLB_VERSION
#define DLB_VERSION "unknown"
#endif

void dlb_cli_print_version(FILE *out) {
    fprintf(out, "dlbricks-mpi %s (git %s)\n", DLB_VERSION, DLB_GIT_REVISION);
    fprintf(out, "executor: revision %d\n", DLB_EXEC_REVISION);

    const dnnl_version_t *d = dnnl_version();
    fprintf(out, "oneDNN: %d.%d.%d", d->major, d->minor, d->patch);
    if (d->hash && *d->hash && strcmp(d->hash, "N/A") != 0) fprintf(out, " (git %s)", d->hash);
    fputc('\n', out);

    /* Legal before MPI_Init (MPI-3); only the first line (MPICH prints several). */
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    if (MPI_Get_library_version(lib, &len) == MPI_SUCCESS) {
        lib[len < MPI_MAX_LIBRARY_VERSION_STRING ? (len < 0 ? 0 : len)
                                                 : MPI_MAX_LIBRARY_VERSION_STRING - 1] = '\0';
        size_t n = strcspn(lib, "\r\n");
        while (n > 0 && (lib[n - 1] == ' ' || lib[n - 1] == '\t')) n--;
        fprintf(out, "MPI: %.*s\n", (int)n, lib);
    } else {
        fputs("MPI: unknown\n", out);
    }

    unsigned maj = 0, min = 0, rel = 0;
    if (H5get_libversion(&maj, &min, &rel) >= 0)
        fprintf(out, "HDF5: %u.%u.%u\n", maj, min, rel);
    else
        fputs("HDF5: unknown\n", out);

    unsigned api = hwloc_get_api_version();
    fprintf(out, "hwloc: API %u.%u.%u", api >> 16, (api >> 8) & 0xffu, api & 0xffu);
#ifdef HWLOC_VERSION
    fprintf(out, " (headers %s)", HWLOC_VERSION);
#endif
    fputc('\n', out);

    fprintf(out, "protobuf-c: %s\n", protobuf_c_version());
}
