/* layout.c — layout class of every brick input: does the whole model hand it over plain, or in
 * the layout a (dense or grouped) convolution producing it would choose?  (docs/bricks.md, 3) */
#include <stdlib.h>

#include <math.h>

#include "arena.h"
#include "lower_internal.h"
#include "placement.h"
#include "shape/ops.h"

/* Layout classes of a tensor as the whole-model executor (src/exec) leaves it: natural (as a
 * dense convolution gives it), plain, or a value G >= 2: as a convolution of G groups gives it. */
enum { CLASS_NATURAL = 0, CLASS_PLAIN = 1 };
/* A tensor whose layout depends on the CPU (layout_mixed): not, a concat of a plain first source
 * and natural ones (the natural layout where it is blocked, else plain), or any other case. */
enum { MIXED_NOT = 0, MIXED_PLAIN_FIRST = 1, MIXED_OTHER = 2 };

typedef struct layout_ctx {
    const dlb_graph *g;
    bool cold_distance;    /* set dlb_operand.cold_mib (dlb_lower_options.cold_distance) */
    bool weights_distance; /* and the weights' (dlb_lower_options.weights_distance) */
    int32_t *out_class;    /* tensor -> class of a covered layer's output; -1 if not one */
    int32_t *last;         /* tensor -> last covered layer so far that wrote or read it; -1 */
    int64_t *before;       /* layer j -> bytes touched by layers 0..j-1; [n_layers]: all */
    unsigned char *mixed;  /* tensor -> MIXED_*: is its layout CPU-dependent (layout_mixed) */
    bool *streamed;        /* tensor -> last touched by a write with non-temporal stores */
    bool bnorm_cached;     /* dlb_lower_options.bnorm_cached_output */
} layout_ctx;

/* Tensor t as the layers touch it: a view is its source's memory. */
static int memory_of(const layout_ctx *c, int t) {
    if (t < 0 || t >= c->g->n_tensors) return -1;
    int s = dlb__view_source(c->g, t);
    return s >= 0 ? s : t;
}

/* Reuse distance of tensor t where layer j reads it: the bytes touched from the last layer that
 * wrote or read it (included: the first bytes it touched were followed by the rest of its
 * traffic) to j (excluded).  A tensor nothing touched yet in this inference (a graph input) was
 * last read one inference ago; *fresh says so.  -1: no tensor. */
static int64_t reuse_distance(const layout_ctx *c, int n_layers, int j, int t, bool *fresh) {
    int m = memory_of(c, t);
    *fresh = false;
    if (m < 0) return -1;
    int p = c->last[m];
    if (p >= 0 && p < j) return c->before[j] - c->before[p];
    *fresh = true;
    return c->before[n_layers] - (c->before[j + 1] - c->before[j]);
}

int32_t dlb_cold_bucket_mib(int64_t bytes) {
    double mib = (double)bytes / (double)(1 << 20);
    int32_t b = 1;
    while (b < DLB_COLD_MEMORY_MIB && mib >= b * 1.4142135623730951) b *= 2;
    return b >= DLB_COLD_MEMORY_MIB ? 0 : b;
}

int32_t dlb_weight_bucket_mib(int64_t bytes) {
    double mib = (double)bytes / (double)(1 << 20);
    double q = exp2(round(log2(mib > 1 ? mib : 1) * 4) / 4);
    return q >= DLB_COLD_MEMORY_MIB / 1.4142135623730951 ? 0 : (int32_t)lround(q);
}

int32_t dlb_near_bucket_kib(int64_t bytes) {
    double kib = (double)bytes / 1024.0;
    if (kib < DLB_NEAR_MIN_KIB / 1.4142135623730951) return 0;
    int32_t b = DLB_NEAR_MIN_KIB;
    while (b < (int32_t)(DLB_COLD_DISTANCE >> 10) && kib >= b * 1.4142135623730951) b *= 2;
    return b;
}

/* Mark operand o (tensor t, read by layer j) cold or not, with its distance bucket.  A graph
 * input is new data in every inference: cold (from memory) unless the whole model fits in
 * DLB_COLD_DISTANCE, so its bucket does not depend on the model's size and a first layer
 * deduplicates across models. */
static void set_cold(const layout_ctx *c, int n_layers, int j, int t, dlb_operand *o) {
    bool fresh;
    int64_t d = reuse_distance(c, n_layers, j, t, &fresh);
    o->cold = d >= DLB_COLD_DISTANCE;
    o->cold_mib = c->cold_distance && o->cold && !fresh ? dlb_cold_bucket_mib(d) : 0;
    o->near_kib = c->cold_distance && !o->cold && !fresh && d >= 0 ? dlb_near_bucket_kib(d) : 0;
    int m = memory_of(c, t);
    if (m >= 0 && c->streamed[m]) { /* written past the caches and not read since: memory */
        o->cold = true;
        o->cold_mib = 0;
        o->near_kib = 0;
    }
}

/* Layer j touched tensor t: read it (bringing it into cache) or wrote it, with non-temporal
 * stores when streamed. */
static void touch(layout_ctx *c, int j, int t, bool streamed) {
    int m = memory_of(c, t);
    if (m < 0) return;
    c->last[m] = j;
    c->streamed[m] = streamed;
}

/* Does layer L (output class cls) write its output past the caches?  oneDNN's JIT batch
 * normalisation (blocked and nhwc layouts, f32) stores with non-temporal stores whenever the
 * destination is vector-aligned, as the executor's buffers are (ONEDNN_JIT_DUMP shows movntps in
 * every bnorm kernel and in no other kernel of the zoo); a plain layout runs the ncsp kernel,
 * which does not. */
static bool writes_streamed(const layout_ctx *c, const dlb_layer *L, int cls) {
    return !c->bnorm_cached && L->spec.op == DLB_LOP_BNORM && cls != CLASS_PLAIN;
}

/* Class of tensor t where a layer reads it (operand dims = t's shape).  The model executor
 * (dlb__slot_md / dlb__slot_buf) hands over the producer's buffer as it is when the dims agree,
 * and brings it to plain layout when a view changes them.  Tensors no covered layer produces
 * (graph inputs, initializers, folded constants, outputs of uncovered ops) are plain. */
static int class_of(const layout_ctx *c, int t) {
    if (t < 0 || t >= c->g->n_tensors) return CLASS_PLAIN;
    int s = dlb__view_source(c->g, t);
    if (s < 0 || c->out_class[s] < 0) return CLASS_PLAIN;
    if (!dlb_shape_equal(&c->g->tensors[s].shape, &c->g->tensors[t].shape)) return CLASS_PLAIN;
    return c->out_class[s];
}

/* Where tensor t is a view that changes the dims of a tensor a covered layer gives a natural
 * (non-plain) layout, the model executor reorders that tensor to plain before the view
 * (dlb__slot_buf): its shape and class go on the operand, so a brick does the same. */
static void set_view(const layout_ctx *c, int t, dlb_operand *o) {
    o->view_of.rank = 0;
    o->view_groups = 0;
    o->view_mixed = false;
    if (t < 0 || t >= c->g->n_tensors) return;
    int s = dlb__view_source(c->g, t);
    if (s < 0 || s == t || c->out_class[s] < 0 || c->out_class[s] == CLASS_PLAIN) return;
    if (c->mixed[s] == MIXED_OTHER) return; /* its layout depends on the CPU: see layout_mixed */
    if (dlb_shape_equal(&c->g->tensors[s].shape, &c->g->tensors[t].shape)) return;
    o->view_of = c->g->tensors[s].shape;
    o->view_groups = c->out_class[s] > CLASS_PLAIN ? c->out_class[s] : 0;
    o->view_mixed = c->mixed[s] == MIXED_PLAIN_FIRST; /* the brick picks as the CPU's concat does */
}

/* Dims of shape s padded with leading 1s to rank nd. */
static void padded(const dlb_shape *s, int nd, int64_t *d) {
    int off = nd - s->rank;
    for (int i = 0; i < nd; i++) d[i] = i < off ? 1 : s->dims[i - off];
}

static bool dims_equal(const int64_t *a, const int64_t *b, int nd) {
    for (int i = 0; i < nd; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Binary (ops_binary.c): the dst follows the layout of the operand with the dst's full dims
 * (src0, or src1 of a commutative op or a subtraction when src0 is the broadcast one) when it is
 * an activation of the dst's rank; a broadcast src0 is first expanded into a plain buffer. */
static int binary_class(const layout_ctx *c, const dlb_layer *L) {
    const dlb_op_spec *s = &L->spec;
    int nd = s->dst[0].shape.rank > 0 ? s->dst[0].shape.rank : 1;
    if (nd > DLB_MAX_RANK || s->n_src < 1) return CLASS_PLAIN;
    int64_t dd[DLB_MAX_RANK], d0[DLB_MAX_RANK], d1[DLB_MAX_RANK];
    const dlb_operand *b = s->n_src >= 2 ? &s->src[1] : s->n_wei >= 1 ? &s->wei[0] : NULL;
    if (!b || s->src[0].shape.rank > nd || b->shape.rank > nd) return CLASS_PLAIN;
    padded(&s->dst[0].shape, nd, dd);
    padded(&s->src[0].shape, nd, d0);
    padded(&b->shape, nd, d1);
    int first = -1;
    if (dims_equal(d0, dd, nd))
        first = 0;
    else if (dims_equal(d1, dd, nd) && s->alg != DLB_ALG_DIV)
        first = 1;
    if (first < 0 || first >= s->n_src || s->src[first].shape.rank != nd) return CLASS_PLAIN;
    return class_of(c, L->src_tensors[first]);
}

/* Is tensor t (through views that keep its dims) marked mixed (below)? */
static bool mixed_of(const layout_ctx *c, int t) {
    if (t < 0 || t >= c->g->n_tensors) return false;
    int s = dlb__view_source(c->g, t);
    return s >= 0 && c->mixed[s] &&
           dlb_shape_equal(&c->g->tensors[s].shape, &c->g->tensors[t].shape);
}

/* Is the layout of layer L's output (of class cls) CPU-dependent (MIXED_*)?  A concat that joins
 * plain and natural sources gets from oneDNN the first blocked source's layout, or the first
 * source's where none is blocked, so whether it is plain depends on what the natural layout is
 * on this CPU (blocked, or nhwc).  So does a concat of such an output, and an op whose output
 * follows such a source (same class).  These outputs keep their class (concat_class).  A view
 * of a concat whose first source is plain records its source as mixed, and a brick lays it out
 * as that concat would on its CPU (net.c); a view of the others records no source layout
 * (set_view). */
static int layout_mixed(const layout_ctx *c, const dlb_layer *L, int cls) {
    bool plain = false, natural = false, inherited = false;
    for (int i = 0; i < L->spec.n_src; i++) {
        int t = L->src_tensors[i], ci = class_of(c, t);
        *(ci == CLASS_PLAIN ? &plain : &natural) = true;
        if (mixed_of(c, t) && (L->spec.op == DLB_LOP_CONCAT || (cls != CLASS_PLAIN && ci == cls)))
            inherited = true;
    }
    if (inherited) return MIXED_OTHER;
    if (L->spec.op != DLB_LOP_CONCAT || !plain || !natural) return MIXED_NOT;
    return class_of(c, L->src_tensors[0]) == CLASS_PLAIN ? MIXED_PLAIN_FIRST : MIXED_OTHER;
}

/* Concat (oneDNN's choice of dst format for format_tag_any): the layout of its first blocked
 * source, else of its first plain-format (abcd or nhwc) one: the first source's class that is
 * not plain. */
static int concat_class(const layout_ctx *c, const dlb_layer *L) {
    for (int i = 0; i < L->spec.n_src; i++) {
        int cls = class_of(c, L->src_tensors[i]);
        if (cls != CLASS_PLAIN) return cls;
    }
    return CLASS_PLAIN;
}

/* A convolution's output: oneDNN picks its layout (format_tag_any), differently for a grouped
 * convolution with several channels per group (jit kernels give nChw8c/16c where a dense one
 * gives nhwc); a depthwise one picks as a dense one does. */
static int conv_class(const dlb_layer *L) {
    const dlb_op_spec *s = &L->spec;
    int64_t g = s->p.group,
            oc = s->n_dst >= 1 && s->dst[0].shape.rank >= 2 ? s->dst[0].shape.dims[1] : 0;
    if (s->op != DLB_LOP_CONV || g <= 1 || g >= oc || g > INT32_MAX) return CLASS_NATURAL;
    if (s->n_src >= 1 && s->src[0].shape.rank >= 2 && s->src[0].shape.dims[1] == g)
        return CLASS_NATURAL; /* depthwise (one input channel per group) */
    return (int)g;
}

/* Class of a covered layer's outputs, from the compile function of its op in src/exec. */
static int output_class(const layout_ctx *c, const dlb_layer *L) {
    const dlb_op_spec *s = &L->spec;
    switch (s->op) {
    case DLB_LOP_CONV:
    case DLB_LOP_DECONV:
        return conv_class(L); /* format_tag_any: oneDNN's choice */
    case DLB_LOP_ELTWISE:
        if (s->alg == DLB_ALG_ERF) return CLASS_PLAIN; /* our own kernel, plain */
        /* fall through */
    case DLB_LOP_POOL:
    case DLB_LOP_LRN:
    case DLB_LOP_SOFTMAX:
    case DLB_LOP_RESAMPLE:
    case DLB_LOP_BNORM:
    case DLB_LOP_INORM:
        /* created on the source's format; the dst follows it */
        return s->n_src >= 1 ? class_of(c, L->src_tensors[0]) : CLASS_PLAIN;
    case DLB_LOP_BINARY:
        return binary_class(c, L);
    case DLB_LOP_CONCAT:
        return concat_class(c, L);
    default:
        /* matmul, inner product (plain dst), layer norm (plain source), reduction (plain:
         * oneDNN 2.6 reduces blocked data in reference code only, so the executor takes the
         * plain source), transpose, pad, slice, split, gather, expand (plain dst) */
        return CLASS_PLAIN;
    }
}

static void set_class(dlb_operand *o, int cls) {
    o->plain_layout = cls == CLASS_PLAIN;
    o->layout_groups = cls > CLASS_PLAIN ? cls : 0;
}

/* The executor's placement (dlb__place_buffers) replayed on the layers' outputs, each living from
 * the layer writing it to the last layer reading it (to the end if none does): *arena_bytes, the
 * activation memory it takes, and, where dist is not NULL, the reuse distance of the arena bytes
 * each output lands on (dist[t] for output tensor t; -1 for other tensors): the bytes the layers
 * touched since the arena bytes under t were last used, from the latest earlier layer that used a
 * tensor overlapping t (included) to t's layer (excluded); failing that, from the latest layer of
 * the previous inference that used one (an output no layer reads was last used where it was
 * written); else one inference.  The replay leaves out the executor's own reorder buffers.
 * false: out of memory. */
static bool replay_arena(const layout_ctx *c, const dlb_lowered *l, int64_t *dist,
                         int64_t *arena_bytes) {
    int nt = c->g->n_tensors, n = l->n_layers, m = 0;
    for (int t = 0; dist && t < nt; t++) dist[t] = -1;
    size_t cap = (size_t)nt + 1;
    int *tensor = malloc(sizeof(int) * cap), *at = malloc(sizeof(int) * cap),
        *first = malloc(sizeof(int) * cap), *last = malloc(sizeof(int) * cap),
        *order = malloc(sizeof(int) * cap);
    size_t *size = malloc(sizeof(size_t) * cap), *off = malloc(sizeof(size_t) * cap);
    bool ok = tensor && at && first && last && order && size && off;
    for (int t = 0; ok && t < nt; t++) at[t] = -1;
    for (int j = 0; ok && j < n; j++) {
        const dlb_layer *L = &l->layers[j];
        if (!L->covered) continue;
        for (int o = 0; o < L->spec.n_dst; o++) {
            int t = L->dst_tensors[o];
            if (t < 0 || t >= nt || memory_of(c, t) != t || at[t] >= 0) continue;
            at[t] = m;
            tensor[m] = t;
            size[m] = (size_t)dlb__operands_bytes(&L->spec.dst[o], 1);
            first[m] = last[m] = j;
            m++;
        }
        for (int i = 0; i < L->spec.n_src; i++) {
            int t = memory_of(c, L->src_tensors[i]);
            if (t >= 0 && at[t] >= 0) last[at[t]] = j;
        }
        for (int k = 0; k < L->spec.n_post; k++) {
            int t = L->spec.post[k].kind != DLB_POST_ELTWISE ? memory_of(c, L->post_tensor[k]) : -1;
            if (t >= 0 && at[t] >= 0) last[at[t]] = j;
        }
    }
    for (int i = 0; ok && i < m; i++)
        if (last[i] == first[i]) last[i] = n; /* outputs stay, as in the executor */
    *arena_bytes = ok ? (int64_t)dlb__place_buffers(m, size, first, last, order, off) : 0;
    for (int i = 0; ok && dist && i < m; i++) {
        int before = -1, prev = -1;
        for (int u = 0; u < m; u++) {
            size_t ei = off[i] + dlb__placed_bytes(size[i]),
                   eu = off[u] + dlb__placed_bytes(size[u]);
            if (u == i || !(off[u] < ei && off[i] < eu)) continue;
            int used = last[u] < n ? last[u] : first[u]; /* an output that stays: its write */
            if (last[u] < first[i] && used > before) before = used;
            if (first[u] > last[i] && used > prev) prev = used;
        }
        int j = first[i];
        dist[tensor[i]] = before >= 0 ? c->before[j] - c->before[before]
                          : prev >= 0 ? c->before[n] - c->before[prev] + c->before[j]
                                      : c->before[n];
    }
    free(tensor);
    free(at);
    free(first);
    free(last);
    free(order);
    free(size);
    free(off);
    return ok;
}

bool dlb__assign_layouts(dlb_lowered *l, dlb_arena *a, const dlb_lower_options *opt) {
    const dlb_graph *g = l->graph;
    layout_ctx c = {.g = g,
                    .cold_distance = opt && opt->cold_distance,
                    .weights_distance = opt && opt->weights_distance,
                    .bnorm_cached = opt && opt->bnorm_cached_output};
    c.out_class = dlb__arena_alloc(a, sizeof *c.out_class * ((size_t)g->n_tensors + 1));
    c.last = dlb__arena_alloc(a, sizeof *c.last * ((size_t)g->n_tensors + 1));
    c.before = dlb__arena_alloc(a, sizeof *c.before * ((size_t)l->n_layers + 1));
    c.mixed = dlb__arena_calloc(a, (size_t)g->n_tensors + 1, sizeof *c.mixed);
    c.streamed = dlb__arena_calloc(a, (size_t)g->n_tensors + 1, sizeof *c.streamed);
    if (!c.out_class || !c.last || !c.before || !c.mixed || !c.streamed) return false;
    for (int t = 0; t <= g->n_tensors; t++) c.out_class[t] = c.last[t] = -1;
    c.before[0] = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        int64_t b = L->covered && L->bytes > 0 ? L->bytes : 0;
        c.before[j + 1] = c.before[j] > INT64_MAX - b ? INT64_MAX : c.before[j] + b;
    }
    /* The model's activation memory, as the executor places it; with reuse distances, also where
     * each output lands in it.  Only outputs of DLB_COLD_DISTANCE bytes or more are marked
     * (docs/bricks.md, section 3). */
    int64_t *odist = NULL;
    l->activation_bytes = 0;
    if (c.cold_distance) {
        odist = dlb__arena_alloc(a, sizeof *odist * ((size_t)g->n_tensors + 1));
        if (!odist) return false;
    }
    if ((c.cold_distance || c.weights_distance) &&
        !replay_arena(&c, l, odist, &l->activation_bytes))
        return false;
    /* What one inference touches between two reads of a weight (--weights distance), as a
     * least-recently-used cache counts it: every weight once and the activation memory, which
     * the model reuses; less the op's own weights below.  Every output counted once instead put
     * the small models higher and wider (docs/bricks.md, "Weights at their distance"). */
    int64_t footprint = l->activation_bytes;
    for (int j = 0; j < l->n_layers && c.weights_distance; j++) {
        const dlb_op_spec *s = &l->layers[j].spec;
        if (l->layers[j].covered)
            footprint = dlb__add_sat(footprint, dlb__operands_bytes(s->wei, s->n_wei));
    }
    /* Layers are in topological order: every layer's sources are classified before it. */
    for (int j = 0; j < l->n_layers; j++) {
        dlb_layer *L = &l->layers[j];
        if (!L->covered) continue;
        dlb_op_spec *s = &L->spec;
        /* The op last ran one inference ago: since then, everything else the model touches. */
        int64_t rest = c.before[l->n_layers] - (c.before[j + 1] - c.before[j]);
        s->warm = rest < DLB_COLD_DISTANCE;
        /* Its weights come back after one inference (--weights distance; bucket 0: memory). */
        int64_t away = footprint - dlb__operands_bytes(s->wei, s->n_wei);
        for (int i = 0; i < s->n_wei; i++) {
            s->wei[i].cold_mib = c.weights_distance && !s->warm ? dlb_weight_bucket_mib(away) : 0;
            s->wei[i].cold = s->wei[i].cold_mib > 0;
        }
        for (int i = 0; i < s->n_src; i++) {
            set_class(&s->src[i], class_of(&c, L->src_tensors[i]));
            set_view(&c, L->src_tensors[i], &s->src[i]);
            set_cold(&c, l->n_layers, j, L->src_tensors[i], &s->src[i]);
        }
        for (int k = 0; k < s->n_post; k++)
            if (s->post[k].kind != DLB_POST_ELTWISE && L->post_tensor[k] >= 0) {
                set_class(&s->post[k].operand, class_of(&c, L->post_tensor[k]));
                set_view(&c, L->post_tensor[k], &s->post[k].operand);
                set_cold(&c, l->n_layers, j, L->post_tensor[k], &s->post[k].operand);
            }
        for (int o = 0; odist && o < s->n_dst; o++) {
            int t = L->dst_tensors[o];
            int64_t d = t >= 0 && t < g->n_tensors ? odist[t] : -1;
            s->dst[o].cold =
                d >= DLB_COLD_DISTANCE && dlb__operands_bytes(&s->dst[o], 1) >= DLB_COLD_DISTANCE;
            s->dst[o].cold_mib = s->dst[o].cold ? dlb_cold_bucket_mib(d) : 0;
        }
        int cls = output_class(&c, L);
        unsigned char mixed = (unsigned char)layout_mixed(&c, L, cls);
        for (int o = 0; o < s->n_dst; o++)
            if (L->dst_tensors[o] >= 0 && L->dst_tensors[o] < g->n_tensors) {
                c.out_class[L->dst_tensors[o]] = cls;
                c.mixed[L->dst_tensors[o]] = mixed;
            }
        for (int i = 0; i < s->n_src; i++) touch(&c, j, L->src_tensors[i], false);
        for (int k = 0; k < s->n_post; k++)
            if (s->post[k].kind != DLB_POST_ELTWISE) touch(&c, j, L->post_tensor[k], false);
        for (int o = 0; o < s->n_dst; o++) {
            s->dst[o].streamed = writes_streamed(&c, L, cls);
            touch(&c, j, L->dst_tensors[o], s->dst[o].streamed);
        }
    }
    return true;
}
