/* results.c — the in-memory results document: runs, systems, brick/estimate rows and models. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "arena.h"
#include "dlbricks/store.h"
#include "store_internal.h"

typedef struct attr_list {
    dlb_store_attr *v;
    int n, cap;
} attr_list;

typedef struct run_entry {
    const char *id;
    attr_list attrs;
} run_entry;

typedef struct sys_entry {
    const char *name;
    attr_list attrs;
    dlb_brick_row *bricks;
    size_t n_bricks, cap_bricks;
    double *samples;
    size_t n_samples, cap_samples;
    dlb_estimate_row *est;
    size_t n_est, cap_est;
    size_t *index; /* open addressing over (id, settings): brick row + 1 of the newest ok row */
    size_t index_cap, index_used;
} sys_entry;

typedef struct model_entry {
    dlb_arena *arena; /* owns everything of the entry; freed when the entry is replaced */
    const char *name;
    int64_t batch;
    dlb_store_attr *attrs;
    int n_attrs;
    dlb_layer_row *layers;
    int n_layers;
    dlb_model_brick_row *bricks;
    int n_bricks;
} model_entry;

struct dlb_results {
    dlb_arena *arena;    /* strings of runs, systems, brick and estimate rows (interned) */
    const char **intern; /* open addressing set of the strings in arena */
    size_t intern_cap, intern_used;
    run_entry *runs;
    int n_runs, cap_runs;
    sys_entry *sys;
    int n_sys, cap_sys;
    model_entry *models;
    int n_models, cap_models;
};

/* Make room for \p need elements in *p (capacity *cap, doubling).  0 on success. */
static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2) return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / elem) return -1;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int grow_int(void **p, int *cap, int need, size_t elem) {
    size_t c = (size_t)*cap;
    if (need < 0 || grow(p, &c, (size_t)need, elem)) return -1;
    if (c > (size_t)INT32_MAX) c = (size_t)INT32_MAX;
    *cap = (int)c;
    return 0;
}

/* The document's copy of \p s (NULL reads as ""); equal strings share one copy. */
static const char *intern(dlb_results *r, const char *s) {
    if (!s) s = "";
    size_t len = strlen(s);
    if ((r->intern_used + 1) * 2 > r->intern_cap) {
        size_t cap = r->intern_cap ? r->intern_cap * 2 : 256;
        const char **t = calloc(cap, sizeof *t);
        if (!t) return NULL;
        for (size_t i = 0; i < r->intern_cap; i++) {
            const char *o = r->intern[i];
            if (!o) continue;
            size_t h = (size_t)XXH3_64bits(o, strlen(o)) & (cap - 1);
            while (t[h]) h = (h + 1) & (cap - 1);
            t[h] = o;
        }
        free(r->intern);
        r->intern = t;
        r->intern_cap = cap;
    }
    size_t mask = r->intern_cap - 1, h = (size_t)XXH3_64bits(s, len) & mask;
    for (; r->intern[h]; h = (h + 1) & mask)
        if (strcmp(r->intern[h], s) == 0) return r->intern[h];
    char *copy = dlb__arena_strndup(r->arena, s, len);
    if (!copy) return NULL;
    r->intern[h] = copy;
    r->intern_used++;
    return copy;
}

dlb_results *dlb_results_new(void) {
    dlb_results *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->arena = dlb__arena_new();
    if (!r->arena) {
        free(r);
        return NULL;
    }
    return r;
}

void dlb_results_free(dlb_results *r) {
    if (!r) return;
    for (int i = 0; i < r->n_runs; i++) free(r->runs[i].attrs.v);
    for (int i = 0; i < r->n_sys; i++) {
        sys_entry *s = &r->sys[i];
        free(s->attrs.v);
        free(s->bricks);
        free(s->samples);
        free(s->est);
        free(s->index);
    }
    for (int i = 0; i < r->n_models; i++) dlb__arena_free(r->models[i].arena);
    free(r->runs);
    free(r->sys);
    free(r->models);
    free(r->intern);
    dlb__arena_free(r->arena);
    free(r);
}

/* ---- attributes ---- */

static const char *attr_get(const attr_list *l, const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return l->v[i].value;
    return NULL;
}

/* "name" is reserved: the file keeps the run's / system's own name in that group attribute. */
static dlb_status attr_set(dlb_results *r, attr_list *l, const char *name, const char *value) {
    if (!name || !*name || strcmp(name, DLB_STORE_NAME_ATTR) == 0) return DLB_EINVAL;
    const char *v = intern(r, value);
    if (!v) return DLB_ENOMEM;
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) {
            l->v[i].value = v;
            return DLB_OK;
        }
    const char *n = intern(r, name);
    if (!n || grow_int((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) return DLB_ENOMEM;
    l->v[l->n++] = (dlb_store_attr){n, v};
    return DLB_OK;
}

/* ---- runs ---- */

static int find_run(const dlb_results *r, const char *run_id) {
    for (int i = 0; i < r->n_runs; i++)
        if (strcmp(r->runs[i].id, run_id) == 0) return i;
    return -1;
}

/* Index of the run, created if absent; -1 on out-of-memory. */
static int get_run(dlb_results *r, const char *run_id) {
    int i = find_run(r, run_id);
    if (i >= 0) return i;
    const char *id = intern(r, run_id);
    if (!id || grow_int((void **)&r->runs, &r->cap_runs, r->n_runs + 1, sizeof *r->runs)) return -1;
    r->runs[r->n_runs] = (run_entry){.id = id};
    return r->n_runs++;
}

dlb_status dlb_results_add_run(dlb_results *r, const char *run_id) {
    if (!r || !run_id || !*run_id) return DLB_EINVAL;
    return get_run(r, run_id) < 0 ? DLB_ENOMEM : DLB_OK;
}

/* A run that does not exist yet is added. */
dlb_status dlb_results_run_attr(dlb_results *r, const char *run_id, const char *name,
                                const char *value) {
    if (!r || !run_id || !*run_id) return DLB_EINVAL;
    int i = get_run(r, run_id);
    if (i < 0) return DLB_ENOMEM;
    return attr_set(r, &r->runs[i].attrs, name, value);
}

int dlb_results_n_runs(const dlb_results *r) {
    return r ? r->n_runs : 0;
}

const char *dlb_results_run_id(const dlb_results *r, int i) {
    return r && i >= 0 && i < r->n_runs ? r->runs[i].id : NULL;
}

const char *dlb_results_run_get(const dlb_results *r, const char *run_id, const char *name) {
    if (!r || !run_id) return NULL;
    int i = find_run(r, run_id);
    return i < 0 ? NULL : attr_get(&r->runs[i].attrs, name);
}

/* ---- systems ---- */

static sys_entry *get_sys(const dlb_results *r, int sys) {
    return r && sys >= 0 && sys < r->n_sys ? &r->sys[sys] : NULL;
}

int dlb_results_system(dlb_results *r, const char *name, bool create) {
    if (!r || !name || !*name) return -1;
    for (int i = 0; i < r->n_sys; i++)
        if (strcmp(r->sys[i].name, name) == 0) return i;
    if (!create) return -1;
    const char *n = intern(r, name);
    if (!n || grow_int((void **)&r->sys, &r->cap_sys, r->n_sys + 1, sizeof *r->sys)) return -1;
    r->sys[r->n_sys] = (sys_entry){.name = n};
    return r->n_sys++;
}

int dlb_results_n_systems(const dlb_results *r) {
    return r ? r->n_sys : 0;
}

const char *dlb_results_system_name(const dlb_results *r, int sys) {
    const sys_entry *s = get_sys(r, sys);
    return s ? s->name : NULL;
}

dlb_status dlb_results_system_attr(dlb_results *r, int sys, const char *name, const char *value) {
    sys_entry *s = get_sys(r, sys);
    if (!s) return DLB_EINVAL;
    return attr_set(r, &s->attrs, name, value);
}

const char *dlb_results_system_get(const dlb_results *r, int sys, const char *name) {
    const sys_entry *s = get_sys(r, sys);
    return s ? attr_get(&s->attrs, name) : NULL;
}

/* ---- bricks and the (id, settings) index ---- */

static size_t brick_hash(uint64_t id, const char *settings) {
    return (size_t)XXH3_64bits_withSeed(settings, strlen(settings), id);
}

/* The index slot of (id, settings): its entry, or the empty slot where it would go. */
static size_t index_slot(const sys_entry *s, uint64_t id, const char *settings) {
    size_t mask = s->index_cap - 1, h = brick_hash(id, settings) & mask;
    for (; s->index[h]; h = (h + 1) & mask) {
        const dlb_brick_row *b = &s->bricks[s->index[h] - 1];
        if (b->id == id && strcmp(b->settings, settings) == 0) break;
    }
    return h;
}

/* Room in the index for one more key (load factor at most 1/2).  0 on success. */
static int index_reserve(sys_entry *s) {
    if ((s->index_used + 1) * 2 <= s->index_cap) return 0;
    size_t cap = s->index_cap ? s->index_cap * 2 : 64;
    size_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < s->index_cap; i++) {
        if (!s->index[i]) continue;
        const dlb_brick_row *b = &s->bricks[s->index[i] - 1];
        size_t h = brick_hash(b->id, b->settings) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = s->index[i];
    }
    free(s->index);
    s->index = t;
    s->index_cap = cap;
    return 0;
}

dlb_status dlb_results_add_brick(dlb_results *r, int sys, const dlb_brick_row *row,
                                 const double *samples, int n_samples) {
    sys_entry *s = get_sys(r, sys);
    if (!s || !row || n_samples < 0 || (n_samples > 0 && !samples)) return DLB_EINVAL;
    /* Reserve everything first so that a failure leaves the document unchanged. */
    if (grow((void **)&s->bricks, &s->cap_bricks, s->n_bricks + 1, sizeof *s->bricks) ||
        grow((void **)&s->samples, &s->cap_samples, s->n_samples + (size_t)n_samples,
             sizeof *s->samples) ||
        index_reserve(s))
        return DLB_ENOMEM;
    dlb_brick_row b = *row;
/* Each string field of a row, interned: X-macro helpers used for bricks and estimates. */
#define DLB_INTERN_str_(dst, src, name)                                                            \
    if (!((dst).name = intern(r, (src).name))) return DLB_ENOMEM;
#define DLB_INTERN_u64_(dst, src, name)
#define DLB_INTERN_i64_(dst, src, name)
#define DLB_INTERN_i32_(dst, src, name)
#define DLB_INTERN_f64_(dst, src, name)
#define DLB_INTERN_(type, name, unit, doc) DLB_INTERN_##type##_(b, *row, name)
    DLB_BRICK_ROW(DLB_INTERN_)
    b.sample_start = (int64_t)s->n_samples;
    b.n_samples = n_samples;
    if (n_samples) memcpy(s->samples + s->n_samples, samples, (size_t)n_samples * sizeof *samples);
    s->n_samples += (size_t)n_samples;
    s->bricks[s->n_bricks++] = b;
    if (strcmp(b.status, "ok") == 0) { /* the newest ok row of its key wins */
        size_t h = index_slot(s, b.id, b.settings);
        if (!s->index[h]) s->index_used++;
        s->index[h] = s->n_bricks;
    }
    return DLB_OK;
}

size_t dlb_results_n_bricks(const dlb_results *r, int sys) {
    const sys_entry *s = get_sys(r, sys);
    return s ? s->n_bricks : 0;
}

const dlb_brick_row *dlb_results_brick(const dlb_results *r, int sys, size_t i) {
    const sys_entry *s = get_sys(r, sys);
    return s && i < s->n_bricks ? &s->bricks[i] : NULL;
}

const double *dlb_results_samples(const dlb_results *r, int sys, size_t i) {
    const sys_entry *s = get_sys(r, sys);
    if (!s || i >= s->n_bricks) return NULL;
    return s->samples ? s->samples + s->bricks[i].sample_start : NULL;
}

long dlb_results_find_brick(const dlb_results *r, int sys, uint64_t id, const char *settings) {
    const sys_entry *s = get_sys(r, sys);
    if (!s || !s->index_cap) return -1;
    size_t h = index_slot(s, id, settings ? settings : "");
    return s->index[h] ? (long)s->index[h] - 1 : -1;
}

/* ---- estimates ---- */

dlb_status dlb_results_put_estimate(dlb_results *r, int sys, const dlb_estimate_row *row) {
    sys_entry *s = get_sys(r, sys);
    if (!s || !row) return DLB_EINVAL;
    dlb_estimate_row e = *row;
#define DLB_INTERN_E_(type, name, unit, doc) DLB_INTERN_##type##_(e, *row, name)
    DLB_ESTIMATE_ROW(DLB_INTERN_E_)
    for (size_t i = 0; i < s->n_est; i++) {
        dlb_estimate_row *o = &s->est[i];
        /* interned: equal strings are the same pointer */
        if (o->model == e.model && o->batch == e.batch && o->settings == e.settings &&
            o->stat == e.stat) {
            *o = e;
            return DLB_OK;
        }
    }
    if (grow((void **)&s->est, &s->cap_est, s->n_est + 1, sizeof *s->est)) return DLB_ENOMEM;
    s->est[s->n_est++] = e;
    return DLB_OK;
}

size_t dlb_results_n_estimates(const dlb_results *r, int sys) {
    const sys_entry *s = get_sys(r, sys);
    return s ? s->n_est : 0;
}

const dlb_estimate_row *dlb_results_estimate(const dlb_results *r, int sys, size_t i) {
    const sys_entry *s = get_sys(r, sys);
    return s && i < s->n_est ? &s->est[i] : NULL;
}

/* ---- models ---- */

static const char *arena_str(dlb_arena *a, const char *s) {
    return dlb__arena_strdup(a, s ? s : "");
}

/* A model entry with copies of everything in its own arena. */
static dlb_status model_copy(model_entry *m, const char *model, int64_t batch,
                             const dlb_store_attr *attrs, int n_attrs, const dlb_layer_row *layers,
                             int n_layers, const dlb_model_brick_row *bricks, int n_bricks) {
    dlb_arena *a = dlb__arena_new();
    *m = (model_entry){.arena = a, .batch = batch};
    if (!a || !(m->name = arena_str(a, model))) return DLB_ENOMEM;
    if ((n_attrs && !(m->attrs = dlb__arena_calloc(a, (size_t)n_attrs, sizeof *attrs))) ||
        (n_layers && !(m->layers = dlb__arena_calloc(a, (size_t)n_layers, sizeof *layers))) ||
        (n_bricks && !(m->bricks = dlb__arena_calloc(a, (size_t)n_bricks, sizeof *bricks))))
        return DLB_ENOMEM;
    for (int i = 0; i < n_attrs; i++) {
        if (!attrs[i].name || !*attrs[i].name) return DLB_EINVAL;
        m->attrs[i].name = arena_str(a, attrs[i].name);
        m->attrs[i].value = arena_str(a, attrs[i].value);
        if (!m->attrs[i].name || !m->attrs[i].value) return DLB_ENOMEM;
    }
#define DLB_COPY_str_(dst, src, name)                                                              \
    if (!((dst).name = arena_str(a, (src).name))) return DLB_ENOMEM;
#define DLB_COPY_u64_(dst, src, name)
#define DLB_COPY_i64_(dst, src, name)
#define DLB_COPY_i32_(dst, src, name)
#define DLB_COPY_f64_(dst, src, name)
#define DLB_COPY_L_(type, name, unit, doc) DLB_COPY_##type##_(m->layers[i], layers[i], name)
#define DLB_COPY_B_(type, name, unit, doc) DLB_COPY_##type##_(m->bricks[i], bricks[i], name)
    for (int i = 0; i < n_layers; i++) {
        m->layers[i] = layers[i];
        DLB_LAYER_ROW(DLB_COPY_L_)
    }
    for (int i = 0; i < n_bricks; i++) {
        m->bricks[i] = bricks[i];
        DLB_MODEL_BRICK_ROW(DLB_COPY_B_)
    }
    m->n_attrs = n_attrs;
    m->n_layers = n_layers;
    m->n_bricks = n_bricks;
    return DLB_OK;
}

dlb_status dlb_results_put_model(dlb_results *r, const char *model, int64_t batch,
                                 const dlb_store_attr *attrs, int n_attrs,
                                 const dlb_layer_row *layers, int n_layers,
                                 const dlb_model_brick_row *bricks, int n_bricks) {
    if (!r || !model || !*model || n_attrs < 0 || n_layers < 0 || n_bricks < 0 ||
        (n_attrs && !attrs) || (n_layers && !layers) || (n_bricks && !bricks))
        return DLB_EINVAL;
    int at = r->n_models;
    for (int i = 0; i < r->n_models; i++)
        if (r->models[i].batch == batch && strcmp(r->models[i].name, model) == 0) at = i;
    if (at == r->n_models &&
        grow_int((void **)&r->models, &r->cap_models, r->n_models + 1, sizeof *r->models))
        return DLB_ENOMEM;
    model_entry m;
    dlb_status st =
        model_copy(&m, model, batch, attrs, n_attrs, layers, n_layers, bricks, n_bricks);
    if (st != DLB_OK) {
        dlb__arena_free(m.arena);
        return st;
    }
    if (at < r->n_models)
        dlb__arena_free(r->models[at].arena);
    else
        r->n_models++;
    r->models[at] = m;
    return DLB_OK;
}

int dlb_results_n_models(const dlb_results *r) {
    return r ? r->n_models : 0;
}

void dlb_results_model(const dlb_results *r, int i, const char **model, int64_t *batch,
                       const dlb_store_attr **attrs, int *n_attrs, const dlb_layer_row **layers,
                       int *n_layers, const dlb_model_brick_row **bricks, int *n_bricks) {
    static const model_entry none = {0};
    const model_entry *m = r && i >= 0 && i < r->n_models ? &r->models[i] : &none;
    if (model) *model = m->name;
    if (batch) *batch = m->batch;
    if (attrs) *attrs = m->attrs;
    if (n_attrs) *n_attrs = m->n_attrs;
    if (layers) *layers = m->layers;
    if (n_layers) *n_layers = m->n_layers;
    if (bricks) *bricks = m->bricks;
    if (n_bricks) *n_bricks = m->n_bricks;
}

/* ---- views for the writer ---- */

int dlb__results_run_attrs(const dlb_results *r, int i, const dlb_store_attr **attrs) {
    if (!r || i < 0 || i >= r->n_runs) {
        *attrs = NULL;
        return 0;
    }
    *attrs = r->runs[i].attrs.v;
    return r->runs[i].attrs.n;
}

void dlb__results_system_view(const dlb_results *r, int sys, dlb__results_sys_view *v) {
    const sys_entry *s = get_sys(r, sys);
    *v = (dlb__results_sys_view){0};
    if (!s) return;
    *v = (dlb__results_sys_view){s->attrs.v, s->attrs.n,   s->bricks, s->n_bricks,
                                 s->samples, s->n_samples, s->est,    s->n_est};
}
