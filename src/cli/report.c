/* report.c — rendering of the dry-run results: aligned text tables and per-layer CSV. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
    COL_MODEL,
    COL_BATCH,
    COL_LAYERS,
    COL_COVERED,
    COL_BRICKS,
    COL_NEW,
    COL_COV_LAYERS,
    COL_COV_FLOPS,
    COL_GFLOPS,
    NCOLS
};

#define CELL 32 /* bytes per numeric cell */

static const char *const HEADERS[NCOLS] = {"model", "batch",  "layers", "covered", "bricks",
                                           "new",   "layers", "FLOPs",  "GFLOPs"};

/* "97.3%"; never "100.0%" unless everything is covered; "-" when there is nothing. */
static void format_pct(char *buf, size_t size, int64_t part, int64_t whole) {
    if (whole <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    double p = 100.0 * (double)part / (double)whole;
    if (part < whole && p > 99.9) p = 99.9;
    snprintf(buf, size, "%.1f%%", p);
}

/* GFLOPs with 3 decimals; "<0.001" rather than a misleading 0.000 for tiny models. */
static void format_gflops(char *buf, size_t size, int64_t flops) {
    if (flops > 0 && flops < 500000)
        snprintf(buf, size, "<0.001");
    else
        snprintf(buf, size, "%.3f", (double)flops / 1e9);
}

typedef struct row {
    const char *model; /* not copied: names live in the registry */
    char num[NCOLS][CELL];
} row;

typedef struct table {
    row *rows;
    int n_rows;
    int width[NCOLS];
} table;

static const char *cell(const row *r, int j) {
    return j == COL_MODEL ? r->model : r->num[j];
}

static void fill_row(row *r, const char *model, const char *batch, int64_t layers, int64_t covered,
                     int64_t bricks, int64_t fresh, int64_t flops, int64_t flops_covered) {
    r->model = model;
    snprintf(r->num[COL_BATCH], CELL, "%s", batch);
    snprintf(r->num[COL_LAYERS], CELL, "%" PRId64, layers);
    snprintf(r->num[COL_COVERED], CELL, "%" PRId64, covered);
    snprintf(r->num[COL_BRICKS], CELL, "%" PRId64, bricks);
    snprintf(r->num[COL_NEW], CELL, "%" PRId64, fresh);
    format_pct(r->num[COL_COV_LAYERS], CELL, covered, layers);
    format_pct(r->num[COL_COV_FLOPS], CELL, flops_covered, flops);
    format_gflops(r->num[COL_GFLOPS], CELL, flops);
}

static void print_rule(const table *t, FILE *out) {
    for (int j = 0; j < NCOLS; j++) {
        if (j) fputs("  ", out);
        for (int k = 0; k < t->width[j]; k++) fputc('-', out);
    }
    fputc('\n', out);
}

/* The model name is left-aligned, numbers right-aligned; two spaces between columns. */
static void print_cells(const table *t, const char *const *c, FILE *out) {
    for (int j = 0; j < NCOLS; j++) {
        if (j == COL_MODEL)
            fprintf(out, "%-*s", t->width[j], c[j]);
        else
            fprintf(out, "  %*s", t->width[j], c[j]);
    }
    fputc('\n', out);
}

static void print_row(const table *t, const row *r, FILE *out) {
    const char *c[NCOLS];
    for (int j = 0; j < NCOLS; j++) c[j] = cell(r, j);
    print_cells(t, c, out);
}

/* Per-model table: one row per (model, batch) pair, then a total row. */
static void print_model_table(const dlb_registry *r, const dlb_registry_stats *s, FILE *out) {
    int n = dlb_registry_n_models(r);
    table t = {.n_rows = n + 1};
    t.rows = calloc((size_t)t.n_rows, sizeof *t.rows);
    if (!t.rows) { /* the table is a nicety; the statistics below still print */
        fputs("(per-model table left out: out of memory)\n", out);
        return;
    }
    int64_t sum_new = 0, flops_covered = 0;
    for (int i = 0; i < n; i++) {
        const dlb_model_entry *m = dlb_registry_model(r, i);
        char batch[CELL] = "-";
        if (m->batch > 0) snprintf(batch, sizeof batch, "%" PRId64, m->batch);
        fill_row(&t.rows[i], m->name ? m->name : "?", batch, m->n_layers, m->n_covered,
                 m->bricks_used, m->new_bricks, m->flops, m->flops_covered);
        sum_new += m->new_bricks;
        if (__builtin_add_overflow(flops_covered, m->flops_covered, &flops_covered))
            flops_covered = INT64_MAX; /* saturating, like the registry's sums */
    }
    /* Total: "bricks" is the number of unique bricks, not a sum. */
    fill_row(&t.rows[n], "total", "", s->layers, s->covered_layers, s->unique, sum_new, s->flops,
             flops_covered);

    for (int j = 0; j < NCOLS; j++) t.width[j] = (int)strlen(HEADERS[j]);
    for (int i = 0; i < t.n_rows; i++)
        for (int j = 0; j < NCOLS; j++) {
            int w = (int)strlen(cell(&t.rows[i], j));
            if (w > t.width[j]) t.width[j] = w;
        }

    /* "coverage" spans the two coverage columns, right-aligned over them. */
    int left = t.width[COL_MODEL];
    for (int j = COL_BATCH; j < COL_COV_LAYERS; j++) left += 2 + t.width[j];
    int span = 2 + t.width[COL_COV_LAYERS] + 2 + t.width[COL_COV_FLOPS];
    fprintf(out, "%*s%*s\n", left, "", span, "coverage");
    print_cells(&t, HEADERS, out);
    print_rule(&t, out);
    for (int i = 0; i < n; i++) print_row(&t, &t.rows[i], out);
    print_rule(&t, out);
    print_row(&t, &t.rows[n], out);
    free(t.rows);
}

static void stat_line(FILE *out, const char *label, const char *value, const char *note) {
    fprintf(out, "  %-30s %10s%s%s\n", label, value, note && *note ? "  " : "", note ? note : "");
}

void dlb_report_text(const dlb_registry *r, const dlb_report_context *ctx, FILE *out) {
    dlb_registry_stats s;
    memset(&s, 0, sizeof s);
    dlb_registry_get_stats(r, &s);

    if (dlb_registry_n_models(r) > 0)
        print_model_table(r, &s, out);
    else
        fputs("no model could be processed\n", out);

    char v[CELL], note[128], pct[CELL];
    fprintf(out, "\nbrick registry (granularity %d, %s view):\n", ctx->granularity,
            ctx->fuse ? "fused" : "raw");
    snprintf(v, sizeof v, "%d", ctx->n_models);
    note[0] = '\0';
    if (ctx->n_skipped > 0)
        snprintf(note, sizeof note, "(%d with errors, see stderr)", ctx->n_skipped);
    stat_line(out, "models", v, note);
    snprintf(v, sizeof v, "%d", s.models);
    stat_line(out, "model/batch entries", v, NULL);
    snprintf(v, sizeof v, "%" PRId64, s.layers);
    format_pct(pct, sizeof pct, s.covered_layers, s.layers);
    snprintf(note, sizeof note, "(%" PRId64 " covered, %s)", s.covered_layers, pct);
    stat_line(out, "layers", v, note);
    snprintf(v, sizeof v, "%d", s.unique);
    if (s.unique > 0)
        snprintf(note, sizeof note, "(%.1f covered layers per brick)",
                 (double)s.covered_layers / s.unique);
    else
        note[0] = '\0';
    stat_line(out, "unique bricks", v, note);
    snprintf(v, sizeof v, "%d", s.shared);
    format_pct(pct, sizeof pct, s.shared, s.unique);
    snprintf(note, sizeof note, "(%s of unique bricks)", pct);
    stat_line(out, "bricks shared by >= 2 entries", v, note);
    snprintf(v, sizeof v, "%" PRId64, s.layers_shared);
    format_pct(pct, sizeof pct, s.layers_shared, s.covered_layers);
    snprintf(note, sizeof note, "(%s of covered layers)", pct);
    stat_line(out, "layers on shared bricks", v, note);
    format_gflops(v, sizeof v, s.flops);
    stat_line(out, "GFLOPs, all layers", v, NULL);
    format_gflops(v, sizeof v, s.flops_unique);
    format_pct(pct, sizeof pct, s.flops_unique, s.flops);
    snprintf(note, sizeof note, "(%s of all layers)", pct);
    stat_line(out, "GFLOPs, each brick once", v, note);
    fprintf(out, "summary: models=%d layers=%" PRId64 " unique=%d\n", ctx->n_models, s.layers,
            s.unique);
}

void dlb_csv_field(const char *s, FILE *out) {
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

void dlb_report_csv(const dlb_registry *r, FILE *out) {
    fputs("model,layer,op,brick,flops\n", out);
    int n = dlb_registry_n_models(r);
    for (int i = 0; i < n; i++) {
        const dlb_model_entry *m = dlb_registry_model(r, i);
        for (int k = 0; k < m->n_layers; k++) {
            const dlb_model_layer *l = &m->layers[k];
            dlb_csv_field(m->name, out);
            fputc(',', out);
            dlb_csv_field(l->name, out);
            fputc(',', out);
            dlb_csv_field(l->op_type, out);
            fputc(',', out);
            const dlb_brick *b = l->brick >= 0 ? dlb_registry_brick(r, l->brick) : NULL;
            if (b) fprintf(out, "%016" PRIx64, b->id);
            fprintf(out, ",%" PRId64 "\n", l->flops);
        }
    }
}
