/* diag.c — formatting and routing of diagnostic lines. */
#include "dlbricks/diag.h"

#include <stdio.h>

static const char *severity_word(dlb_severity sev) {
    switch (sev) {
    case DLB_SEV_ERROR:
        return "error";
    case DLB_SEV_WARNING:
        return "warning";
    default:
        return "note";
    }
}

void dlb_diag_vreport(dlb_diag *d, dlb_severity sev, const char *node, const char *fmt,
                      va_list ap) {
    char msg[768], line[1024];
    if (d) {
        if (sev == DLB_SEV_ERROR) d->n_errors++;
        if (sev == DLB_SEV_WARNING) d->n_warnings++;
        if (sev == DLB_SEV_WARNING && d->quiet_warnings) return;
    }
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *file = (d && d->file) ? d->file : "-";
    if (node)
        snprintf(line, sizeof line, "%s: %s: %s: %s", severity_word(sev), file, node, msg);
    else
        snprintf(line, sizeof line, "%s: %s: %s", severity_word(sev), file, msg);
    if (d && d->emit)
        d->emit(d->ctx, sev, line);
    else
        fprintf(stderr, "%s\n", line);
}

void dlb_diag_report(dlb_diag *d, dlb_severity sev, const char *node, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dlb_diag_vreport(d, sev, node, fmt, ap);
    va_end(ap);
}
