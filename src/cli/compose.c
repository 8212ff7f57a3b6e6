/* compose.c — --compose DECOMP RESULTS: estimates of stored decompositions from the brick rows of
 * a results file, matched by brick id and settings; nothing is run. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlbricks/store.h"
#include "fsum.h"

/* What a decomposition was made with ("" where the file does not say). */
typedef struct view {
    char fuse[8], g[16], dtype[16];
} view;

/* One composed row: a decomposition entry on one system. */
typedef struct row {
    int bricks, missing, uncovered;
    int64_t occurrences, found;
    double estimate_ms, ci_low_ms, ci_high_ms;
} row;

typedef struct composer {
    const dlb_cli_options *opt;
    const dlb_results *dec, *res;
    FILE *out;
    FILE *miss; /* -v: the missing: lines, printed after the table */
    int width;  /* of the system column */
} composer;

static const char *attr(const dlb_store_attr *a, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(a[i].name, name)) return a[i].value;
    return NULL;
}

/* The value of \p key in a "k=v k=v ..." string, copied to buf ("" if absent). */
static void setting(const char *s, const char *key, char *buf, size_t size) {
    size_t kl = strlen(key);
    buf[0] = 0;
    for (const char *p = s ? s : ""; *p;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            snprintf(buf, size, "%.*s", (int)(len - kl - 1), p + kl + 1);
            return;
        }
        p += len;
    }
}

static void entry_view(const dlb_store_attr *a, int n, view *v) {
    const char *fuse = attr(a, n, "fuse"), *g = attr(a, n, "granularity");
    const char *dtype = attr(a, n, "dtype"), *vw = attr(a, n, "view");
    if (fuse)
        snprintf(v->fuse, sizeof v->fuse, "%s", fuse);
    else
        setting(vw, "fuse", v->fuse, sizeof v->fuse);
    if (g)
        snprintf(v->g, sizeof v->g, "%s", g);
    else
        setting(vw, "G", v->g, sizeof v->g);
    snprintf(v->dtype, sizeof v->dtype, "%s", dtype ? dtype : "");
}

/* Brick rows measured with \p settings are valid for a decomposition made with \p v when the
 * fusion view, granularity and data type agree (what the decomposition does not record does not
 * count against it).  The other settings (backend, threads, timing) are the system's own. */
static bool settings_match(const char *settings, const view *v) {
    const char *keys[] = {"fuse", "G", "dtype"}, *want[] = {v->fuse, v->g, v->dtype};
    for (int k = 0; k < 3; k++) {
        char got[32];
        setting(settings, keys[k], got, sizeof got);
        if (*want[k] && strcmp(got, want[k])) return false;
    }
    return true;
}

/* The settings to compose with: those of the newest ok brick row of the system that match the
 * decomposition (the newest run's), NULL if none. */
static const char *pick_settings(const dlb_results *res, int sys, const view *v) {
    for (size_t i = dlb_results_n_bricks(res, sys); i-- > 0;) {
        const dlb_brick_row *b = dlb_results_brick(res, sys, i);
        if (!strcmp(b->status, "ok") && settings_match(b->settings, v)) return b->settings;
    }
    return NULL;
}

static int by_id(const void *a, const void *b) {
    uint64_t x = ((const dlb_model_brick_row *)a)->brick_id;
    uint64_t y = ((const dlb_model_brick_row *)b)->brick_id;
    return x < y ? -1 : x > y;
}

/* The brick rows of entry i; made from its layers table when it has none (files from other
 * writers).  *owned is malloc'd when made (free it).  -1 on out-of-memory. */
static int entry_bricks(const dlb_results *dec, int i, const dlb_model_brick_row **rows,
                        dlb_model_brick_row **owned) {
    const dlb_layer_row *layers;
    int n_layers, n;
    *owned = NULL;
    dlb_results_model(dec, i, NULL, NULL, NULL, NULL, &layers, &n_layers, rows, &n);
    if (n > 0 || n_layers == 0) return n;
    dlb_model_brick_row *b = calloc((size_t)n_layers, sizeof *b);
    if (!b) return -1;
    for (int k = 0; k < n_layers; k++)
        if (layers[k].brick_id && layers[k].piece_start)
            b[n++] = (dlb_model_brick_row){
                .brick_id = layers[k].brick_id, .key = "", .count = 1, .op = ""};
    qsort(b, (size_t)n, sizeof *b, by_id);
    int w = 0;
    for (int k = 1; k < n; k++) {
        if (b[k].brick_id == b[w].brick_id)
            b[w].count++;
        else
            b[++w] = b[k];
    }
    *owned = b;
    *rows = b;
    return n ? w + 1 : 0;
}

static double stat_of(const dlb_brick_row *b, const char *stat) {
    if (!strcmp(stat, "min")) return b->min_ms;
    if (!strcmp(stat, "mean")) return b->mean_ms;
    return b->median_ms;
}

/* Entry i of the decomposition file on system sys of the results file. */
static dlb_status compose_row(composer *c, int sys, int i, const char *settings, row *r) {
    const dlb_model_brick_row *b;
    dlb_model_brick_row *owned;
    const dlb_store_attr *a;
    const char *model;
    int64_t batch;
    int n_attrs;
    int n = entry_bricks(c->dec, i, &b, &owned);
    if (n < 0) return DLB_ENOMEM;
    dlb_results_model(c->dec, i, &model, &batch, &a, &n_attrs, NULL, NULL, NULL, NULL);
    const char *nl = attr(a, n_attrs, "n_layers"), *nc = attr(a, n_attrs, "n_covered");
    *r = (row){.bricks = n, .uncovered = nl && nc ? atoi(nl) - atoi(nc) : 0};
    dlb_fsum est = {0}, lo = {0}, hi = {0};
    for (int k = 0; k < n; k++) {
        r->occurrences += b[k].count;
        long at = settings ? dlb_results_find_brick(c->res, sys, b[k].brick_id, settings) : -1;
        if (at < 0) {
            r->missing++;
            if (c->miss)
                fprintf(c->miss,
                        "missing: system=%s model=%s batch=%" PRId64 " brick=%016" PRIx64
                        " count=%" PRId64 " op=%s key=%s\n",
                        dlb_results_system_name(c->res, sys), model, batch, b[k].brick_id,
                        b[k].count, *b[k].op ? b[k].op : "?", b[k].key);
            continue;
        }
        const dlb_brick_row *t = dlb_results_brick(c->res, sys, (size_t)at);
        r->found += b[k].count;
        dlb_fsum_add_times(&est, b[k].count, stat_of(t, c->opt->stat));
        dlb_fsum_add_times(&lo, b[k].count, t->ci_low_ms);
        dlb_fsum_add_times(&hi, b[k].count, t->ci_high_ms);
    }
    r->estimate_ms = dlb_fsum_value(&est);
    r->ci_low_ms = dlb_fsum_value(&lo);
    r->ci_high_ms = dlb_fsum_value(&hi);
    if (c->opt->csv) {
        fputs(dlb_results_system_name(c->res, sys), c->out);
        fputc(',', c->out);
        dlb_csv_field(model, c->out);
        fprintf(c->out, ",%" PRId64 ",%s,%d,%" PRId64 ",%" PRId64 ",%.17g,%.17g,%.17g,", batch,
                c->opt->stat, r->bricks, r->occurrences, r->found, r->estimate_ms, r->ci_low_ms,
                r->ci_high_ms);
        if (r->occurrences > 0) fprintf(c->out, "%.17g", (double)r->found / r->occurrences);
        fprintf(c->out, ",%d,%d,", r->missing, r->uncovered);
        dlb_csv_field(settings ? settings : "", c->out);
        fputc(',', c->out);
        for (int k = 0, first = 1; k < n; k++)
            if (!settings || dlb_results_find_brick(c->res, sys, b[k].brick_id, settings) < 0) {
                fprintf(c->out, "%s%016" PRIx64, first ? "" : " ", b[k].brick_id);
                first = 0;
            }
        fputc('\n', c->out);
    } else {
        char cov[16] = "-";
        if (r->occurrences > 0) {
            double pct = 100.0 * (double)r->found / (double)r->occurrences;
            if (r->found < r->occurrences && pct > 99.9) pct = 99.9; /* 100.0% means all */
            snprintf(cov, sizeof cov, "%.1f%%", pct);
        }
        fprintf(c->out, "%-*s %-28s %6" PRId64 " %8d %12.4f %12.4f %12.4f %8s %8d %9d%s\n",
                c->width, dlb_results_system_name(c->res, sys), model, batch, r->bricks,
                r->estimate_ms, r->ci_low_ms, r->ci_high_ms, cov, r->missing, r->uncovered,
                r->missing || r->uncovered ? " (partial)" : "");
    }
    free(owned);
    return DLB_OK;
}

/* Load both files and check that each is what its place asks for. */
static dlb_status load(const dlb_cli_options *opt, dlb_results **dec, dlb_results **res) {
    const char *dpath = opt->compose, *rpath = opt->paths[0];
    dlb_diag d = {.file = dpath};
    dlb_status st = dlb_results_load(dpath, &d, dec);
    if (st != DLB_OK) return st;
    if (dlb_results_n_models(*dec) == 0) {
        fprintf(stderr,
                "error: %s: no model decompositions in this file (/models is empty; write one "
                "with dlbricks-mpi --dry-run --decompose-out FILE MODEL...)\n",
                dpath);
        return DLB_EPARSE;
    }
    d = (dlb_diag){.file = rpath};
    if ((st = dlb_results_load(rpath, &d, res)) != DLB_OK) return st;
    if (dlb_results_n_systems(*res) == 0) {
        fprintf(stderr,
                "error: %s: no brick timings in this file (/systems is empty: a "
                "decomposition-only file?)\n",
                rpath);
        return DLB_EPARSE;
    }
    return DLB_OK;
}

/* Warn once per system and view that the results file has nothing measured for it. */
static void warn_unmeasured(const composer *c, int sys, const view *v) {
    fprintf(stderr,
            "warning: %s: system %s has no brick measured with fuse=%s G=%s dtype=%s (the "
            "decomposition's); all its bricks are missing\n",
            c->opt->paths[0], dlb_results_system_name(c->res, sys), *v->fuse ? v->fuse : "?",
            *v->g ? v->g : "?", *v->dtype ? v->dtype : "?");
}

dlb_status dlb_cli_compose(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info) {
    dlb_results *dec = NULL, *res = NULL;
    char *miss_text = NULL;
    size_t miss_len = 0;
    const char **used = NULL; /* per system × entry: the settings composed with */
    composer c = {.opt = opt, .out = out, .width = 6};
    memset(info, 0, sizeof *info);
    dlb_status st = load(opt, &dec, &res);
    if (st != DLB_OK) goto done;
    c.dec = dec;
    c.res = res;
    int ns = dlb_results_n_systems(res), ne = dlb_results_n_models(dec), only = -1;
    if (opt->system && (only = dlb_results_system(res, opt->system, false)) < 0) {
        fprintf(stderr, "error: %s: no system '%s' (systems:", opt->paths[0], opt->system);
        for (int s = 0; s < ns; s++)
            fprintf(stderr, "%s %s", s ? "," : "", dlb_results_system_name(res, s));
        fputs(")\n", stderr);
        st = DLB_ENOTFOUND;
        goto done;
    }
    used = calloc((size_t)ns * (size_t)ne, sizeof *used);
    if (!used || (opt->verbose && !opt->csv && !(c.miss = open_memstream(&miss_text, &miss_len)))) {
        st = DLB_ENOMEM;
        goto done;
    }
    /* The settings of every row first: one line per system and settings, before the table. */
    for (int s = 0; s < ns; s++) {
        if (only >= 0 && s != only) continue;
        int w = (int)strlen(dlb_results_system_name(res, s));
        if (w > c.width) c.width = w;
        for (int i = 0; i < ne; i++) {
            const dlb_store_attr *a;
            int n_attrs;
            view v = {0};
            dlb_results_model(dec, i, NULL, NULL, &a, &n_attrs, NULL, NULL, NULL, NULL);
            entry_view(a, n_attrs, &v);
            const char *set = used[(size_t)s * ne + i] = pick_settings(res, s, &v);
            bool seen = false;
            for (int k = 0; k < i && !seen; k++) {
                view u = {0};
                dlb_results_model(dec, k, NULL, NULL, &a, &n_attrs, NULL, NULL, NULL, NULL);
                entry_view(a, n_attrs, &u);
                seen = used[(size_t)s * ne + k] == set && (set || !memcmp(&u, &v, sizeof u));
            }
            if (seen) continue;
            if (!set)
                warn_unmeasured(&c, s, &v);
            else if (!opt->csv)
                fprintf(out, "settings: system=%s %s\n", dlb_results_system_name(res, s), set);
        }
    }
    if (opt->csv)
        fputs("system,model,batch,stat,bricks,occurrences,found,estimate_ms,ci_low_ms,ci_high_ms,"
              "coverage,missing,uncovered,settings,missing_bricks\n",
              out);
    else
        fprintf(out, "%-*s %-28s %6s %8s %12s %12s %12s %8s %8s %9s\n", c.width, "system", "model",
                "batch", "bricks", "estimate_ms", "ci_low_ms", "ci_high_ms", "coverage", "missing",
                "uncovered");
    int rows = 0, partial = 0, missing = 0, systems = 0;
    for (int s = 0; s < ns && st == DLB_OK; s++) {
        if (only >= 0 && s != only) continue;
        systems++;
        for (int i = 0; i < ne && st == DLB_OK; i++) {
            row r;
            st = compose_row(&c, s, i, used[(size_t)s * ne + i], &r);
            rows++;
            partial += st == DLB_OK && (r.missing > 0 || r.uncovered > 0);
            missing += st == DLB_OK && r.missing > 0;
        }
    }
    if (st == DLB_OK && c.miss) {
        fclose(c.miss);
        c.miss = NULL;
        if (miss_text) fputs(miss_text, out);
    }
    if (st == DLB_OK && !opt->csv)
        fprintf(out, "compose: systems=%d entries=%d rows=%d partial=%d missing=%d stat=%s\n",
                systems, ne, rows, partial, missing, opt->stat);
    info->n_loaded = ne;
    info->n_skipped = missing; /* bricks missing from the results file: exit status 3 */
done:
    if (st == DLB_ENOMEM) fputs("error: out of memory\n", stderr);
    if (c.miss) fclose(c.miss);
    free(miss_text);
    free(used);
    dlb_results_free(dec);
    dlb_results_free(res);
    return st;
}
