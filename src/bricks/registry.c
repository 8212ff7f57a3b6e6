/* registry.c — cut models into bricks of <= G layers and deduplicate them across all models. */
#include "dlbricks/brick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "arena.h"

struct dlb_registry {
    int granularity;
    dlb_arena *arena;
    dlb_brick *bricks;
    int n_bricks, cap_bricks;
    int *last_model; /* brick -> last model entry that used it */
    int *slots;      /* open addressing: brick index + 1 */
    size_t mask;
    dlb_model_entry *models;
    int n_models, cap_models;
    char *key; /* scratch buffer for keys */
    size_t key_cap;
};

/* FLOPs and bytes add up saturating at INT64_MAX, like the per-layer figures (lower/cost.c):
 * a huge batch size must not overflow the sums of a model, a brick or the registry. */
static int64_t add_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

uint64_t dlb_brick_id_of_key(const char *key, size_t len) {
    return XXH3_64bits(key, len);
}

dlb_registry *dlb_registry_new(int granularity) {
    dlb_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->granularity = granularity < 1 ? 1 : granularity;
    r->arena = dlb__arena_new();
    r->mask = 1023;
    r->slots = calloc(r->mask + 1, sizeof(int));
    r->key_cap = 1 << 16;
    r->key = malloc(r->key_cap);
    if (!r->arena || !r->slots || !r->key) {
        dlb_registry_free(r);
        return NULL;
    }
    return r;
}

void dlb_registry_free(dlb_registry *r) {
    if (!r) return;
    dlb__arena_free(r->arena);
    free(r->bricks);
    free(r->last_model);
    free(r->slots);
    free(r->models);
    free(r->key);
    free(r);
}

int dlb_registry_n_bricks(const dlb_registry *r) {
    return r->n_bricks;
}
const dlb_brick *dlb_registry_brick(const dlb_registry *r, int i) {
    return i >= 0 && i < r->n_bricks ? &r->bricks[i] : NULL;
}
int dlb_registry_n_models(const dlb_registry *r) {
    return r->n_models;
}
const dlb_model_entry *dlb_registry_model(const dlb_registry *r, int i) {
    return i >= 0 && i < r->n_models ? &r->models[i] : NULL;
}

/* ---- keys of pieces --------------------------------------------------------------------------*/

typedef struct piece {
    const dlb_lowered *l;
    int first, n; /* layers[first .. first+n) */
} piece;

static bool key_reserve(dlb_registry *r, size_t need) {
    if (need <= r->key_cap) return true;
    size_t cap = r->key_cap;
    while (cap < need) cap *= 2;
    char *k = realloc(r->key, cap);
    if (!k) return false;
    r->key = k;
    r->key_cap = cap;
    return true;
}

/* Source of tensor t inside the piece: "op.out" or external input "eN" (numbered in order of
 * first use).  ext[] collects external tensors. */
static int piece_source(const piece *pc, int upto, int t, int *from_out) {
    for (int j = upto - 1; j >= 0; j--) {
        const dlb_layer *L = &pc->l->layers[pc->first + j];
        for (int o = 0; o < L->spec.n_dst; o++)
            if (L->dst_tensors[o] == t) {
                *from_out = o;
                return j;
            }
    }
    return -1;
}

static int external_index(int *ext, int *n_ext, int t) {
    for (int i = 0; i < *n_ext; i++)
        if (ext[i] == t) return i;
    ext[*n_ext] = t;
    return (*n_ext)++;
}

/* Layer j of a piece as the piece runs it: the layout class and cache state (plain_layout,
 * layout_groups, cold) belong to the brick's external inputs only, so they are cleared on the
 * operands fed from inside the piece.  *src is a copy of the sources (NULL when none was needed);
 * the caller frees it. */
static bool piece_spec(const piece *pc, int j, dlb_op_spec *out, dlb_operand **src) {
    const dlb_layer *L = &pc->l->layers[pc->first + j];
    *out = L->spec;
    *src = NULL;
    if (pc->n == 1) return true;
    int from_out;
    if (out->n_src > 0) {
        *src = malloc(sizeof **src * (size_t)out->n_src);
        if (!*src) return false;
        memcpy(*src, L->spec.src, sizeof **src * (size_t)out->n_src);
        for (int s = 0; s < out->n_src; s++)
            if (L->src_tensors[s] >= 0 && piece_source(pc, j, L->src_tensors[s], &from_out) >= 0)
                (*src)[s] = (dlb_operand){.dtype = (*src)[s].dtype, .shape = (*src)[s].shape};
        out->src = *src;
    }
    for (int k = 0; k < out->n_post; k++)
        if (L->post_tensor[k] >= 0 && piece_source(pc, j, L->post_tensor[k], &from_out) >= 0)
            out->post[k].operand = (dlb_operand){.dtype = out->post[k].operand.dtype,
                                                 .shape = out->post[k].operand.shape};
    return true;
}

/* Build the canonical key of a piece into r->key; returns its length or -1 (out of memory).
 * edges[] and ext[] have room for every activation operand of the piece. */
static int piece_key(dlb_registry *r, const piece *pc, dlb_brick_edge *edges, int *ext,
                     int *n_edges) {
    size_t len = 0;
    int n_ext = 0;
    *n_edges = 0;
    for (int j = 0; j < pc->n; j++) {
        const dlb_layer *L = &pc->l->layers[pc->first + j];
        dlb_op_spec spec;
        dlb_operand *src;
        if (!piece_spec(pc, j, &spec, &src)) return -1;
        for (;;) {
            int room = (int)(r->key_cap - len);
            int w = pc->n > 1 ? snprintf(r->key + len, (size_t)room, "%s[", j ? " " : "") : 0;
            if (w >= 0 && w < room) w += dlb_op_spec_key(&spec, r->key + len + w, room - w);
            if (w >= 0 && w + 2 < room) {
                len += (size_t)w;
                break;
            }
            if (!key_reserve(r, r->key_cap * 2)) {
                free(src);
                return -1;
            }
        }
        free(src);
        if (pc->n > 1) r->key[len++] = ']';
        if (pc->n == 1) continue;
        /* Wiring of every activation operand (sources and sum/binary post-op operands). */
        int n_in = L->spec.n_src + L->spec.n_post;
        for (int s = 0; s < n_in; s++) {
            int t = s < L->spec.n_src ? L->src_tensors[s] : L->post_tensor[s - L->spec.n_src];
            if (t < 0) continue;
            int from_out = 0, from = piece_source(pc, j, t, &from_out);
            if (from < 0) from_out = external_index(ext, &n_ext, t);
            edges[(*n_edges)++] = (dlb_brick_edge){j, s, from, from_out};
            char e[64];
            int w = from >= 0 ? snprintf(e, sizeof e, " %d.%d<%d.%d", j, s, from, from_out)
                              : snprintf(e, sizeof e, " %d.%d<e%d", j, s, from_out);
            if (!key_reserve(r, len + (size_t)w + 2)) return -1;
            memcpy(r->key + len, e, (size_t)w);
            len += (size_t)w;
        }
    }
    r->key[len] = 0;
    return (int)len;
}

/* ---- bricks ----------------------------------------------------------------------------------*/

static bool copy_operands(dlb_arena *a, dlb_operand **dst, const dlb_operand *src, int n) {
    *dst = dlb__arena_memdup(a, src, sizeof(dlb_operand) * (size_t)(n ? n : 1));
    return *dst != NULL;
}

static int find_brick(const dlb_registry *r, uint64_t id, const char *key) {
    size_t h = (size_t)id & r->mask;
    while (r->slots[h]) {
        const dlb_brick *b = &r->bricks[r->slots[h] - 1];
        if (b->id == id && !strcmp(b->key, key)) return r->slots[h] - 1;
        h = (h + 1) & r->mask;
    }
    return -1;
}

static bool grow_index(dlb_registry *r) {
    size_t cap = (r->mask + 1) * 2;
    int *slots = calloc(cap, sizeof(int));
    if (!slots) return false;
    for (int i = 0; i < r->n_bricks; i++) {
        size_t h = (size_t)r->bricks[i].id & (cap - 1);
        while (slots[h]) h = (h + 1) & (cap - 1);
        slots[h] = i + 1;
    }
    free(r->slots);
    r->slots = slots;
    r->mask = cap - 1;
    return true;
}

static int add_brick(dlb_registry *r, const piece *pc, uint64_t id, int key_len,
                     const dlb_brick_edge *edges, int n_edges) {
    if (r->n_bricks == r->cap_bricks) {
        int cap = r->cap_bricks ? 2 * r->cap_bricks : 256;
        dlb_brick *b = realloc(r->bricks, sizeof *b * (size_t)cap);
        if (!b) return -1;
        r->bricks = b;
        int *lm = realloc(r->last_model, sizeof *lm * (size_t)cap);
        if (!lm) return -1;
        r->last_model = lm;
        r->cap_bricks = cap;
    }
    if ((size_t)(r->n_bricks + 1) * 2 > r->mask && !grow_index(r)) return -1;
    dlb_brick *b = &r->bricks[r->n_bricks];
    memset(b, 0, sizeof *b);
    b->id = id;
    b->key = dlb__arena_strndup(r->arena, r->key, (size_t)key_len);
    b->n_ops = pc->n;
    b->ops = dlb__arena_calloc(r->arena, (size_t)pc->n, sizeof(dlb_op_spec));
    b->n_edges = n_edges;
    b->edges = dlb__arena_memdup(r->arena, edges, sizeof *edges * (size_t)(n_edges ? n_edges : 1));
    if (!b->key || !b->ops || !b->edges) return -1;
    for (int j = 0; j < pc->n; j++) {
        const dlb_layer *L = &pc->l->layers[pc->first + j];
        dlb_op_spec *o = &b->ops[j];
        *o = L->spec;
        if (!copy_operands(r->arena, &o->src, L->spec.src, L->spec.n_src) ||
            !copy_operands(r->arena, &o->wei, L->spec.wei, L->spec.n_wei) ||
            !copy_operands(r->arena, &o->dst, L->spec.dst, L->spec.n_dst))
            return -1;
        b->flops = add_sat(b->flops, L->flops);
        b->bytes = add_sat(b->bytes, L->bytes);
    }
    /* The layout class belongs to external inputs only (as in piece_key). */
    for (int i = 0; i < n_edges; i++) {
        const dlb_brick_edge *e = &edges[i];
        if (e->from_op < 0) continue;
        dlb_op_spec *o = &b->ops[e->to_op];
        dlb_operand *in =
            e->to_src < o->n_src ? &o->src[e->to_src] : &o->post[e->to_src - o->n_src].operand;
        *in = (dlb_operand){.dtype = in->dtype, .shape = in->shape};
    }
    r->last_model[r->n_bricks] = -1;
    size_t h = (size_t)id & r->mask;
    while (r->slots[h]) h = (h + 1) & r->mask;
    r->slots[h] = r->n_bricks + 1;
    return r->n_bricks++;
}

/* ---- partitioning ----------------------------------------------------------------------------*/

/* Does layer j consume a tensor produced by layers [first, j)? */
static bool consumes_from(const dlb_lowered *l, int first, int j) {
    const dlb_layer *L = &l->layers[j];
    for (int s = 0; s < L->spec.n_src + L->spec.n_post; s++) {
        int t = s < L->spec.n_src ? L->src_tensors[s] : L->post_tensor[s - L->spec.n_src];
        if (t < 0) continue;
        int out;
        piece pc = {l, first, j - first};
        if (piece_source(&pc, j - first, t, &out) >= 0) return true;
    }
    return false;
}

/* Length of the piece starting at layer i: the rule of docs/bricks.md. */
static int piece_length(const dlb_lowered *l, int i, int G) {
    if (!l->layers[i].covered) return 1;
    int n = 1;
    while (n < G && i + n < l->n_layers && l->layers[i + n].covered && consumes_from(l, i, i + n))
        n++;
    return n;
}

static dlb_status add_model_entry(dlb_registry *r, const dlb_lowered *l, int64_t batch,
                                  dlb_model_entry **out) {
    if (r->n_models == r->cap_models) {
        int cap = r->cap_models ? 2 * r->cap_models : 64;
        dlb_model_entry *m = realloc(r->models, sizeof *m * (size_t)cap);
        if (!m) return DLB_ENOMEM;
        r->models = m;
        r->cap_models = cap;
    }
    dlb_model_entry *m = &r->models[r->n_models];
    memset(m, 0, sizeof *m);
    m->name = dlb__arena_strdup(r->arena, l->graph->name);
    m->path = dlb__arena_strdup(r->arena, l->graph->path);
    m->batch = batch;
    m->n_layers = l->n_layers;
    m->layers = dlb__arena_calloc(r->arena, (size_t)l->n_layers + 1, sizeof(dlb_model_layer));
    if (!m->name || !m->path || !m->layers) return DLB_ENOMEM;
    *out = m;
    return DLB_OK;
}

/* Layers that produce what layer j reads, looking through zero-cost nodes (views, shape
 * arithmetic) but not through Shape/Size (they read no data).  seen[] marks nodes visited for
 * this layer with the stamp. */
static int layer_deps(const dlb_lowered *l, int j, int *seen, int stamp, int *stack, int *deps) {
    const dlb_graph *g = l->graph;
    int n_deps = 0, sp = 0;
    const dlb_layer *L = &l->layers[j];
    for (int k = 0; k < L->n_nodes; k++) {
        if (seen[L->nodes[k]] == stamp) continue;
        seen[L->nodes[k]] = stamp;
        stack[sp++] = L->nodes[k];
    }
    while (sp > 0) {
        const dlb_node *nd = &g->nodes[stack[--sp]];
        for (int i = 0; i < nd->n_in; i++) {
            int t = nd->in[i];
            int p = t >= 0 ? g->tensors[t].producer : -1;
            if (p < 0 || seen[p] == stamp) continue;
            seen[p] = stamp;
            int lp = l->node_layer[p];
            if (lp >= 0 && lp != j) {
                deps[n_deps++] = lp;
            } else if (lp < 0 && strcmp(g->nodes[p].op_type, "Shape") &&
                       strcmp(g->nodes[p].op_type, "Size")) {
                stack[sp++] = p;
            }
        }
    }
    return n_deps;
}

static dlb_status add_deps(dlb_registry *r, const dlb_lowered *l, dlb_model_entry *m) {
    int nn = l->graph->n_nodes;
    int *seen = calloc((size_t)nn + 1, sizeof *seen),
        *stack = malloc(sizeof(int) * ((size_t)nn + 1));
    int *deps = malloc(sizeof(int) * ((size_t)nn + 1));
    dlb_status st = seen && stack && deps ? DLB_OK : DLB_ENOMEM;
    for (int j = 0; j < l->n_layers && st == DLB_OK; j++) {
        int n = layer_deps(l, j, seen, j + 1, stack, deps);
        int *d = n ? dlb__arena_alloc(r->arena, sizeof(int) * (size_t)n) : NULL;
        if (n && !d) st = DLB_ENOMEM;
        if (d) memcpy(d, deps, sizeof(int) * (size_t)n);
        m->layers[j].n_deps = n;
        m->layers[j].deps = d;
    }
    free(seen);
    free(stack);
    free(deps);
    return st;
}

dlb_status dlb_registry_add(dlb_registry *r, const dlb_lowered *l, int64_t batch) {
    dlb_model_entry *m;
    dlb_status st = add_model_entry(r, l, batch, &m);
    if (st != DLB_OK) return st;
    int model_index = r->n_models;
    /* Wiring of a piece: at most G layers with the most activation operands (Concat may have
     * thousands), one edge each, and as many external inputs. */
    size_t most = 1;
    for (int j = 0; j < l->n_layers; j++) {
        size_t k = (size_t)l->layers[j].spec.n_src + (size_t)l->layers[j].spec.n_post;
        if (k > most) most = k;
    }
    size_t cap = most * (size_t)r->granularity + 1;
    dlb_brick_edge *edges = malloc((sizeof *edges + sizeof(int)) * cap);
    if (!edges) return DLB_ENOMEM;
    int *ext = (int *)(edges + cap);
    for (int i = 0; i < l->n_layers;) {
        int n = piece_length(l, i, r->granularity), brick = -1;
        if (l->layers[i].covered) {
            piece pc = {l, i, n};
            int n_edges = 0, len = piece_key(r, &pc, edges, ext, &n_edges);
            if (len < 0) {
                free(edges);
                return DLB_ENOMEM;
            }
            uint64_t id = dlb_brick_id_of_key(r->key, (size_t)len);
            brick = find_brick(r, id, r->key);
            if (brick < 0) {
                brick = add_brick(r, &pc, id, len, edges, n_edges);
                if (brick < 0) {
                    free(edges);
                    return DLB_ENOMEM;
                }
                r->bricks[brick].first_model = model_index;
                m->new_bricks++;
            }
            dlb_brick *b = &r->bricks[brick];
            b->uses++;
            if (r->last_model[brick] != model_index) {
                r->last_model[brick] = model_index;
                b->n_models++;
                m->bricks_used++;
            }
        }
        for (int j = i; j < i + n; j++) {
            const dlb_layer *L = &l->layers[j];
            dlb_model_layer *ml = &m->layers[j];
            ml->name = dlb__arena_strdup(r->arena, L->name);
            ml->op_type = dlb__arena_strdup(r->arena, L->op_type);
            if (!ml->name || !ml->op_type) {
                free(edges);
                return DLB_ENOMEM;
            }
            ml->brick = brick;
            ml->piece_start = j == i;
            ml->flops = L->flops;
            m->flops = add_sat(m->flops, L->flops);
            if (L->covered) {
                m->n_covered++;
                m->flops_covered = add_sat(m->flops_covered, L->flops);
            }
        }
        i += n;
    }
    free(edges);
    st = add_deps(r, l, m);
    if (st != DLB_OK) return st;
    r->n_models++;
    return DLB_OK;
}

void dlb_registry_get_stats(const dlb_registry *r, dlb_registry_stats *s) {
    memset(s, 0, sizeof *s);
    s->models = r->n_models;
    s->unique = r->n_bricks;
    for (int i = 0; i < r->n_bricks; i++) {
        s->shared += r->bricks[i].n_models >= 2;
        s->flops_unique = add_sat(s->flops_unique, r->bricks[i].flops);
    }
    for (int i = 0; i < r->n_models; i++) {
        const dlb_model_entry *m = &r->models[i];
        s->layers += m->n_layers;
        s->covered_layers += m->n_covered;
        s->flops = add_sat(s->flops, m->flops);
        for (int j = 0; j < m->n_layers; j++)
            if (m->layers[j].brick >= 0 && r->bricks[m->layers[j].brick].n_models >= 2)
                s->layers_shared++;
    }
}
