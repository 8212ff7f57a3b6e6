/* weights.c — data for buffers: random values, and cold weights rotating through a pool. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* ---- random data ------------------------------------------------------------------------------*/

static uint64_t next_rng(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* bf16 (the upper half of an f32) of a uniform value in [-1, 1). */
static uint32_t bf16_bits(uint64_t r) {
    float f = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u >> 16;
}

/* Every 32-bit word is an f32 in [-1, 1] whose two halves are each a bf16 in [-1, 1], so the
 * data is valid for f32, bf16 and s8 alike (no NaN, infinity or denormal).  The first
 * DLB_RANDOM_PERIOD words are drawn one by one and the rest repeats them (copied in doubling
 * blocks): kernels' speed does not depend on the values, and drawing every element took half
 * of a brick's set-up time. */
#define DLB_RANDOM_PERIOD ((size_t)65536 + 7) /* odd: repeats do not line up with block sizes */

void dlb__fill_random(void *data, size_t bytes, uint64_t *state) {
    uint32_t *w = data;
    size_t count = bytes / sizeof *w, drawn = count < DLB_RANDOM_PERIOD ? count : DLB_RANDOM_PERIOD;
    for (size_t i = 0; i < drawn; i++) {
        uint32_t hi = bf16_bits(next_rng(state));
        w[i] = hi << 16 | bf16_bits(next_rng(state));
    }
    for (size_t have = drawn; have < count;) {
        size_t chunk = have < count - have ? have : count - have;
        memcpy(w + have, w, chunk * sizeof *w);
        have += chunk;
    }
}

/* ---- cold weights -----------------------------------------------------------------------------*/

/* In a whole model the weights of a layer were last touched one inference ago, after every
 * other layer's weights and activations went through the caches: they arrive from memory.  A
 * brick timed in a loop would find its weights in cache.  Pointing the weights at the next of
 * several copies before each repetition, copies that together exceed the last-level cache,
 * makes every repetition read them cold, while its activations stay as warm as in the model
 * (docs/timing.md). */

struct dlb_weight_pool {
    unsigned char *data;
    size_t size;
};

#define POOL_ALIGN ((size_t)4096)
#define WEIGHT_ALIGN ((size_t)64)

static size_t aligned(size_t v, size_t a) {
    return (v + a - 1) / a * a;
}

/* A page-aligned block of at least bytes (> 0), rounded up to pages; NULL when out of memory. */
static unsigned char *page_block(size_t bytes, size_t *size) {
    *size = aligned(bytes, POOL_ALIGN);
    return aligned_alloc(POOL_ALIGN, *size);
}

dlb_status dlb_weight_pool_create(size_t bytes, dlb_weight_pool **out) {
    *out = NULL;
    if (bytes == 0) return DLB_EINVAL;
    dlb_weight_pool *p = calloc(1, sizeof *p);
    if (!p) return DLB_ENOMEM;
    if (!(p->data = page_block(bytes, &p->size))) {
        free(p);
        return DLB_ENOMEM;
    }
    uint64_t state = 0x9E3779B97F4A7C15ull;
    dlb__fill_random(p->data, p->size, &state);
    *out = p;
    return DLB_OK;
}

void dlb_weight_pool_free(dlb_weight_pool *p) {
    if (!p) return;
    free(p->data);
    free(p);
}

size_t dlb_weight_pool_size(const dlb_weight_pool *p) {
    return p ? p->size : 0;
}

/* Weights (but not those whose values matter or the model finds in cache), external inputs the
 * model reads cold and outputs it writes onto bytes last used far away. */
static bool rotated(const dlb__buf *b) {
    return ((b->kind == DLB__BUF_WEIGHT && !b->fixed && !b->warm) ||
            ((b->kind == DLB__BUF_EXTERNAL || b->kind == DLB__BUF_ACT) && b->cold)) &&
           b->data && b->size > 0;
}

size_t dlb_net_weight_bytes(const dlb_net *n) {
    size_t w = 0;
    for (int i = 0; i < n->n_bufs; i++)
        if (rotated(&n->bufs[i])) w += aligned(n->bufs[i].size, WEIGHT_ALIGN);
    return w;
}

/* ---- the rotation plan ------------------------------------------------------------------------*/

/* Each rotated buffer i cycles through k_i copies, one per repetition.  Between two reads of one
 * copy the repetitions touch F + sum_j min(k_i, k_j) * s_j distinct bytes (F: what every
 * repetition touches in the same place: activations, inputs read warm, weights not rotated; s_j:
 * rotated sizes), its reuse distance in the brick.  k_i is chosen to bring that nearest (on a
 * log scale) to the buffer's reuse distance in the model, so that the machine's own caches keep
 * or lose the data as they do in the model.  A buffer read from memory (cold_mib 0) takes as many
 * copies as the pool still holds: farther than any cache.  Buffers are planned from the nearest
 * to the farthest; each gets at least the copies of the one before and its own region of the
 * pool. */

static size_t fixed_bytes(const dlb_net *n) {
    size_t f = n->act_arena_size;
    for (int i = 0; i < n->n_bufs; i++) {
        const dlb__buf *b = &n->bufs[i];
        if ((b->kind == DLB__BUF_EXTERNAL || b->kind == DLB__BUF_WEIGHT) && b->data && !rotated(b))
            f += b->size;
    }
    return f;
}

static double log_gap(double a, double b) {
    return a > b ? a / b : b / a;
}

/* The copies of rotated buffer order[at] (distance target bytes; capacity: pool bytes not yet
 * given to buffers before it), the buffers from order[at] on all having at least k. */
static int plan_one(const dlb_net *n, const int *order, int m, int at, double f, size_t target,
                    size_t room, int k_min) {
    size_t rest = 0; /* bytes of one copy of every buffer not yet planned, this one included */
    for (int x = at; x < m; x++) rest += aligned(n->bufs[order[x]].size, WEIGHT_ALIGN);
    size_t k_max = room / rest;
    if (k_max > INT32_MAX) k_max = INT32_MAX;
    if (k_max < (size_t)k_min) return k_max < 1 ? 0 : (int)k_max;
    if (n->bufs[order[at]].cold_mib <= 0) return (int)k_max; /* memory: as far as it goes */
    for (int x = 0; x < at; x++)
        f += (double)aligned(n->bufs[order[x]].size, WEIGHT_ALIGN) * n->bufs[order[x]].copies;
    /* distinct bytes with k copies: f + k * rest (buffers before have fewer copies than k) */
    double want = ((double)target - f) / (double)rest;
    size_t lo = want < k_min ? (size_t)k_min : want > (double)k_max ? k_max : (size_t)want;
    size_t hi = lo < k_max ? lo + 1 : lo;
    double d_lo = f + (double)lo * (double)rest, d_hi = f + (double)hi * (double)rest;
    return (int)(log_gap(d_lo, (double)target) <= log_gap(d_hi, (double)target) ? lo : hi);
}

/* Plan the rotation for pool p (cached per pool).  Returns the longest cycle (0: nothing). */
static int plan_rotation(dlb_net *n, const dlb_weight_pool *p) {
    if (n->rotation_pool == p && n->rotation_pool_size == p->size) return n->rotation_cycle;
    n->rotation_pool = p;
    n->rotation_pool_size = p->size;
    n->rotation_cycle = 0;
    int *order = malloc(sizeof *order * (size_t)(n->n_bufs + 1)), m = 0;
    if (!order) return 0;
    for (int i = 0; i < n->n_bufs; i++) {
        n->bufs[i].copies = 0;
        if (!rotated(&n->bufs[i])) continue;
        /* insertion by distance: memory (0) last */
        int at = m++;
        for (; at > 0; at--) {
            int32_t a = n->bufs[order[at - 1]].cold_mib, c = n->bufs[i].cold_mib;
            if (!(a <= 0 && c > 0) && !(a > 0 && c > 0 && a > c)) break;
            order[at] = order[at - 1];
        }
        order[at] = i;
    }
    double f = (double)fixed_bytes(n);
    size_t used = 0;
    int k = 1;
    for (int x = 0; x < m; x++) {
        dlb__buf *b = &n->bufs[order[x]];
        size_t target = b->cold_mib > 0 ? (size_t)b->cold_mib << 20 : p->size;
        if (target > p->size) target = p->size;
        /* data from memory all share the first one's cycle: as many copies as the pool holds */
        bool memory_after_memory = b->cold_mib <= 0 && x > 0 && n->bufs[order[x - 1]].cold_mib <= 0;
        if (!memory_after_memory) k = plan_one(n, order, m, x, f, target, p->size - used, k);
        if (k < 1) { /* the pool cannot hold one copy of the rest: nothing rotates */
            n->rotation_cycle = 0;
            break;
        }
        b->copies = k;
        b->pool_off = used;
        used += (size_t)k * aligned(b->size, WEIGHT_ALIGN);
        if (k > n->rotation_cycle) n->rotation_cycle = k;
    }
    free(order);
    return n->rotation_cycle;
}

int dlb_net_weight_copies(dlb_net *n, const dlb_weight_pool *p) {
    return n && p ? plan_rotation(n, p) : 0; /* nothing rotated: an empty plan, cycle 0 */
}

/* The buffer an alias finally shares memory with. */
static int root_of_alias(const dlb_net *n, int b) {
    while (n->bufs[b].kind == DLB__BUF_ALIAS) b = n->bufs[b].alias_of;
    return b;
}

dlb_status dlb_net_use_weight_copy(dlb_net *n, const dlb_weight_pool *p, int64_t rep) {
    if (!n || (rep >= 0 && dlb_net_weight_copies(n, p) < 1)) return DLB_EINVAL;
    dlb_diag *diag = NULL; /* no report to append to here: a failure's one line goes to stderr */
    const char *where = "weight rotation";
    dlb_status st = DLB_OK;
    for (int i = 0; i < n->n_bufs; i++) {
        dlb__buf *b = &n->bufs[i];
        if (!rotated(b)) continue;
        void *at = rep >= 0 ? p->data + b->pool_off +
                                  (size_t)(rep % b->copies) * aligned(b->size, WEIGHT_ALIGN)
                            : b->data;
        DLB_DNNL_CHECK(dnnl_memory_set_data_handle(b->mem, at));
        b->at = at;
    }
    /* Views of a weight (a matmul's 2-D weights, ...) follow it. */
    for (int i = 0; i < n->n_bufs; i++) {
        dlb__buf *b = &n->bufs[i];
        if (b->kind != DLB__BUF_ALIAS || !rotated(&n->bufs[root_of_alias(n, i)])) continue;
        void *at = dlb__buf_at(&n->bufs[root_of_alias(n, i)]);
        DLB_DNNL_CHECK(dnnl_memory_set_data_handle(b->mem, at));
        b->at = at;
    }
cleanup:
    return st;
}

/* ---- context eviction -------------------------------------------------------------------------*/

struct dlb_evictor {
    unsigned char *data;
    size_t size;
    size_t next; /* dlb_net_age_near_inputs: the next byte to read */
};

dlb_status dlb_evictor_create(size_t bytes, dlb_evictor **out) {
    *out = NULL;
    if (bytes == 0) return DLB_EINVAL;
    dlb_evictor *e = calloc(1, sizeof *e);
    if (!e) return DLB_ENOMEM;
    if (!(e->data = page_block(bytes, &e->size))) {
        free(e);
        return DLB_ENOMEM;
    }
    memset(e->data, 0, e->size); /* touch every page now, not in the first eviction */
    *out = e;
    return DLB_OK;
}

void dlb_evictor_free(dlb_evictor *e) {
    if (!e) return;
    free(e->data);
    free(e);
}

size_t dlb_evictor_size(const dlb_evictor *e) {
    return e ? e->size : 0;
}

size_t dlb_net_evict_context(dlb_net *n, dlb_evictor *e) {
    if (e) /* one write per cache line: the lines are fetched, dirtied and later written back */
        for (size_t i = 0; i < e->size; i += 64) e->data[i]++;
    size_t bytes = 0;
    uint64_t sum = 0;
    for (int i = 0; i < n->n_bufs; i++) {
        const dlb__buf *b = &n->bufs[i];
        if (b->kind != DLB__BUF_EXTERNAL || b->cold || !b->data) continue;
        const unsigned char *d = b->data;
        for (size_t k = 0; k < b->size; k += 64) sum += d[k];
        bytes += b->size;
    }
    __asm__ volatile("" : : "r"(sum)); /* keep the reads */
    return bytes;
}

/* ---- outputs written with non-temporal stores -------------------------------------------------*/

size_t dlb_net_streamed_output_bytes(const dlb_net *n) {
    size_t bytes = 0;
    for (int i = 0; n && i < n->n_bufs; i++)
        if (n->bufs[i].streamed && n->bufs[i].data) bytes += n->bufs[i].size;
    return bytes;
}

size_t dlb_net_age_streamed_outputs(dlb_net *n, const dlb_evictor *e) {
    size_t bytes = 0;
    for (int i = 0; i < n->n_bufs; i++) {
        const dlb__buf *b = &n->bufs[i];
        if (!b->streamed || !b->data) continue;
        volatile unsigned char *d = dlb__buf_at(b); /* one write per line: fetched, dirtied */
        for (size_t k = 0; k < b->size; k += 64) d[k] = (unsigned char)(d[k] + 1);
        bytes += b->size;
    }
    if (bytes == 0 || !e) return bytes;
    uint64_t sum = 0; /* then other data through the private caches: the dirty lines move on */
    for (size_t k = 0; k < e->size; k += 64) sum += e->data[k];
    __asm__ volatile("" : : "r"(sum));
    return bytes;
}

/* ---- warm inputs at their reuse distance ------------------------------------------------------*/

size_t dlb_net_near_input_bytes(const dlb_net *n) {
    size_t bytes = 0;
    for (int i = 0; n && i < n->n_bufs; i++) {
        const dlb__buf *b = &n->bufs[i];
        if (b->kind == DLB__BUF_EXTERNAL && !b->cold && b->near_kib > 0 && b->data)
            bytes += b->size;
    }
    return bytes;
}

/* Read \p bytes of e from where the last read stopped, wrapping around. */
static uint64_t read_on(dlb_evictor *e, size_t bytes) {
    uint64_t sum = 0;
    for (size_t k = 0; k < bytes; k += 64) {
        sum += e->data[e->next];
        e->next += 64;
        if (e->next >= e->size) e->next = 0;
    }
    return sum;
}

size_t dlb_net_age_near_inputs(dlb_net *n, dlb_evictor *e) {
    enum { CHUNK = 4096 }; /* input bytes rewritten between two reads of other data */
    size_t bytes = 0;
    uint64_t sum = 0;
    for (int i = 0; i < n->n_bufs; i++) {
        const dlb__buf *b = &n->bufs[i];
        if (b->kind != DLB__BUF_EXTERNAL || b->cold || b->near_kib <= 0 || !b->data) continue;
        size_t distance = (size_t)b->near_kib << 10;
        size_t other = e && distance > b->size ? distance - b->size : 0, owed = 0;
        volatile unsigned char *d = b->data;
        for (size_t at = 0; at < b->size; at += CHUNK) {
            size_t end = at + CHUNK < b->size ? at + CHUNK : b->size;
            for (size_t k = at; k < end; k += 64) d[k] = d[k]; /* fetched and dirtied, unchanged */
            /* the other bytes in proportion: after input byte x, other * x / size of them */
            size_t due = (size_t)((double)other * (double)end / (double)b->size);
            if (due > owed) {
                sum += read_on(e, due - owed);
                owed = due;
            }
        }
        bytes += b->size;
    }
    __asm__ volatile("" : : "r"(sum)); /* keep the reads */
    return bytes;
}
