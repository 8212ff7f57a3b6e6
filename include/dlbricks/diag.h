/* diag.h — diagnostics sink: one-line "error: FILE: NODE: reason" messages from library code. */
#ifndef DLBRICKS_DIAG_H
#define DLBRICKS_DIAG_H

#include <stdarg.h>

typedef enum dlb_severity { DLB_SEV_NOTE, DLB_SEV_WARNING, DLB_SEV_ERROR } dlb_severity;

/* Library code never prints on its own: it reports through a sink chosen by the caller.
 * With emit == NULL, lines go to stderr. */
typedef struct dlb_diag {
    const char *file; /* file the messages are about (set by the loader's caller) */
    void (*emit)(void *ctx, dlb_severity sev, const char *line); /* line has no trailing '\n' */
    void *ctx;
    int n_errors;
    int n_warnings;
    int quiet_warnings; /* count warnings but do not emit them */
} dlb_diag;

/** \brief Report "SEV: FILE: NODE: message"; NODE may be NULL (then it is left out). */
void dlb_diag_report(dlb_diag *d, dlb_severity sev, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dlb_diag_vreport(dlb_diag *d, dlb_severity sev, const char *node, const char *fmt, va_list ap);

#define dlb_error(d, node, ...) dlb_diag_report((d), DLB_SEV_ERROR, (node), __VA_ARGS__)
#define dlb_warning(d, node, ...) dlb_diag_report((d), DLB_SEV_WARNING, (node), __VA_ARGS__)

#endif
