/* graph.c — graph IR utilities: name index, lookups, dtypes, shapes, topological order. */
#include "graph_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "arena.h"

/* ---- dtypes --------------------------------------------------------------------------------- */

const char *dlb_dtype_name(dlb_dtype dt) {
    switch (dt) {
#define DLB_DTYPE_NAME_(name, val, str, size)                                                      \
    case DLB_DT_##name:                                                                            \
        return str;
        DLB_DTYPE_MAP(DLB_DTYPE_NAME_)
#undef DLB_DTYPE_NAME_
    }
    return "?";
}

int dlb_dtype_size(dlb_dtype dt) {
    switch (dt) {
#define DLB_DTYPE_SIZE_(name, val, str, size)                                                      \
    case DLB_DT_##name:                                                                            \
        return size;
        DLB_DTYPE_MAP(DLB_DTYPE_SIZE_)
#undef DLB_DTYPE_SIZE_
    }
    return 0;
}

bool dlb_dtype_is_float(dlb_dtype dt) {
    return dt == DLB_DT_F32 || dt == DLB_DT_F16 || dt == DLB_DT_BF16 || dt == DLB_DT_F64;
}

bool dlb_dtype_is_integer(dlb_dtype dt) {
    switch (dt) {
    case DLB_DT_U8:
    case DLB_DT_S8:
    case DLB_DT_U16:
    case DLB_DT_S16:
    case DLB_DT_S32:
    case DLB_DT_S64:
    case DLB_DT_U32:
    case DLB_DT_U64:
    case DLB_DT_BOOL:
        return true;
    default:
        return false;
    }
}

/* ---- name index: open addressing over tensor indices --------------------------------------- */

typedef struct name_index {
    int *slots; /* tensor index + 1; 0 = empty */
    size_t mask;
} name_index;

int dlb__name_index_build(dlb_graph *g) {
    name_index *ix = calloc(1, sizeof *ix);
    if (!ix) return -1;
    size_t cap = 64;
    /* tensors[] is allocated with its final capacity before the index is built */
    while (cap < 4 * (size_t)1024) cap *= 2;
    ix->slots = calloc(cap, sizeof(int));
    if (!ix->slots) {
        free(ix);
        return -1;
    }
    ix->mask = cap - 1;
    g->name_index = ix;
    return 0;
}

static int grow(dlb_graph *g) {
    name_index *ix = g->name_index;
    size_t cap = (ix->mask + 1) * 2;
    int *slots = calloc(cap, sizeof(int));
    if (!slots) return -1;
    for (size_t i = 0; i <= ix->mask; i++) {
        if (!ix->slots[i]) continue;
        const char *nm = g->tensors[ix->slots[i] - 1].name;
        size_t h = (size_t)XXH3_64bits(nm, strlen(nm)) & (cap - 1);
        while (slots[h]) h = (h + 1) & (cap - 1);
        slots[h] = ix->slots[i];
    }
    free(ix->slots);
    ix->slots = slots;
    ix->mask = cap - 1;
    return 0;
}

int dlb__name_index_insert(dlb_graph *g, const char *name, int tensor) {
    name_index *ix = g->name_index;
    if ((size_t)(tensor + 1) * 2 > ix->mask && grow(g) != 0) return -1;
    size_t h = (size_t)XXH3_64bits(name, strlen(name)) & ix->mask;
    while (ix->slots[h]) h = (h + 1) & ix->mask;
    ix->slots[h] = tensor + 1;
    return 0;
}

void dlb__name_index_free(dlb_graph *g) {
    name_index *ix = g->name_index;
    if (!ix) return;
    free(ix->slots);
    free(ix);
    g->name_index = NULL;
}

int dlb_graph_find_tensor(const dlb_graph *g, const char *name) {
    const name_index *ix = g->name_index;
    if (!ix) {
        for (int t = 0; t < g->n_tensors; t++)
            if (!strcmp(g->tensors[t].name, name)) return t;
        return -1;
    }
    size_t h = (size_t)XXH3_64bits(name, strlen(name)) & ix->mask;
    while (ix->slots[h]) {
        int t = ix->slots[h] - 1;
        if (!strcmp(g->tensors[t].name, name)) return t;
        h = (h + 1) & ix->mask;
    }
    return -1;
}

void dlb_graph_free(dlb_graph *g) {
    if (!g) return;
    dlb__name_index_free(g);
    dlb__arena_free(g->arena);
    free(g);
}

int64_t dlb_graph_apply_batch(dlb_graph *g, int64_t batch) {
    if (batch <= 0)
        for (int i = 0; i < g->n_inputs && batch <= 0; i++) {
            const dlb_shape *s = &g->tensors[g->inputs[i]].shape;
            if (s->rank >= 1 && s->dims[0] < 0) batch = 1;
        }
    if (batch <= 0) return 0;
    return dlb_graph_set_batch(g, batch) == DLB_OK ? batch : 0;
}

/* ---- attributes ----------------------------------------------------------------------------- */

const dlb_attr *dlb_node_attr(const dlb_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t dlb_node_attr_int(const dlb_node *n, const char *name, int64_t dflt) {
    const dlb_attr *a = dlb_node_attr(n, name);
    return a && a->type == DLB_ATTR_INT ? a->i : dflt;
}

double dlb_node_attr_float(const dlb_node *n, const char *name, double dflt) {
    const dlb_attr *a = dlb_node_attr(n, name);
    return a && a->type == DLB_ATTR_FLOAT ? a->f : dflt;
}

const char *dlb_node_attr_string(const dlb_node *n, const char *name, const char *dflt) {
    const dlb_attr *a = dlb_node_attr(n, name);
    return a && a->type == DLB_ATTR_STRING && a->s ? a->s : dflt;
}

/* ---- shapes --------------------------------------------------------------------------------- */

bool dlb_shape_known(const dlb_shape *s) {
    if (s->rank < 0) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0) return false;
    return true;
}

bool dlb_shape_equal(const dlb_shape *a, const dlb_shape *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

int64_t dlb_shape_numel(const dlb_shape *s) {
    if (!dlb_shape_known(s)) return -1;
    int64_t p = 1;
    for (int i = 0; i < s->rank; i++)
        if (__builtin_mul_overflow(p, s->dims[i], &p)) return -1;
    return p;
}

int dlb_shape_format(const dlb_shape *s, char *buf, int size) {
    if (s->rank < 0) return snprintf(buf, (size_t)size, "unknown");
    if (s->rank == 0) return snprintf(buf, (size_t)size, "scalar");
    int n = 0;
    for (int i = 0; i < s->rank && n < size; i++) {
        const char *sep = i ? "x" : "";
        if (s->dims[i] < 0)
            n += snprintf(buf + n, (size_t)(size - n), "%s?", sep);
        else
            n += snprintf(buf + n, (size_t)(size - n), "%s%lld", sep, (long long)s->dims[i]);
    }
    return n;
}

/* ---- topological order ---------------------------------------------------------------------- */

/* Report a node that lies on a cycle: walk back through unsorted producers until one repeats. */
static void report_cycle(dlb_graph *g, const int *indeg, dlb_diag *diag) {
    int start = -1;
    for (int i = 0; i < g->n_nodes && start < 0; i++)
        if (indeg[i] > 0) start = i;
    char *seen = calloc((size_t)g->n_nodes, 1);
    int cur = start;
    while (seen && cur >= 0 && !seen[cur]) {
        seen[cur] = 1;
        int next = -1;
        const dlb_node *n = &g->nodes[cur];
        for (int k = 0; k < n->n_in && next < 0; k++) {
            int t = n->in[k];
            int p = t >= 0 ? g->tensors[t].producer : -1;
            if (p >= 0 && indeg[p] > 0) next = p;
        }
        if (next < 0) break;
        cur = next;
    }
    free(seen);
    dlb_error(diag, g->nodes[cur >= 0 ? cur : start].name, "graph has a cycle through this node");
}

static void heap_push(int *h, int *n, int v) {
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static int heap_pop(int *h, int *n) {
    int top = h[0], v = h[--(*n)], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

dlb_status dlb__graph_toposort(dlb_graph *g, dlb_diag *diag) {
    int n = g->n_nodes;
    g->order = dlb__arena_calloc(g->arena, (size_t)n + 1, sizeof(int));
    int *indeg = calloc((size_t)n + 1, sizeof(int));
    if (!g->order || !indeg) {
        free(indeg);
        return DLB_ENOMEM;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0 && g->tensors[t].producer >= 0) indeg[i]++;
        }
    /* Kahn's algorithm with a min-heap on node index: a file that is already in topological
     * order (every exporter's) keeps its order exactly; otherwise the order is still stable. */
    int *heap = calloc((size_t)n + 1, sizeof(int));
    if (!heap) {
        free(indeg);
        return DLB_ENOMEM;
    }
    int hn = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (indeg[i] == 0) heap_push(heap, &hn, i);
    while (hn > 0) {
        int cur = heap_pop(heap, &hn);
        g->order[tail++] = cur;
        const dlb_node *nd = &g->nodes[cur];
        for (int k = 0; k < nd->n_out; k++) {
            int t = nd->out[k];
            if (t < 0) continue;
            const dlb_tensor *x = &g->tensors[t];
            for (int c = 0; c < x->n_consumers; c++)
                if (--indeg[x->consumers[c]] == 0) heap_push(heap, &hn, x->consumers[c]);
        }
    }
    free(heap);
    dlb_status st = DLB_OK;
    if (tail != n) {
        report_cycle(g, indeg, diag);
        st = DLB_ECYCLE;
    }
    free(indeg);
    return st;
}
