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

/* Weights (but not those whose values matter or the model finds in cache) and external inputs
 * the model reads cold. */
static bool rotated(const dlb__buf *b) {
    return ((b->kind == DLB__BUF_WEIGHT && !b->fixed && !b->warm) ||
            (b->kind == DLB__BUF_EXTERNAL && b->cold)) &&
           b->data && b->size > 0;
}

size_t dlb_net_weight_bytes(const dlb_net *n) {
    size_t w = 0;
    for (int i = 0; i < n->n_bufs; i++)
        if (rotated(&n->bufs[i])) w += aligned(n->bufs[i].size, WEIGHT_ALIGN);
    return w;
}

int dlb_net_weight_copies(const dlb_net *n, const dlb_weight_pool *p) {
    size_t w = dlb_net_weight_bytes(n);
    if (!p || w == 0) return 0;
    size_t k = p->size / w;
    return k > INT32_MAX ? INT32_MAX : (int)k;
}

/* The buffer an alias finally shares memory with. */
static int root_of_alias(const dlb_net *n, int b) {
    while (n->bufs[b].kind == DLB__BUF_ALIAS) b = n->bufs[b].alias_of;
    return b;
}

dlb_status dlb_net_use_weight_copy(dlb_net *n, const dlb_weight_pool *p, int copy) {
    if (!n || (copy >= 0 && (!p || copy >= dlb_net_weight_copies(n, p)))) return DLB_EINVAL;
    size_t off = copy >= 0 ? (size_t)copy * dlb_net_weight_bytes(n) : 0;
    for (int i = 0; i < n->n_bufs; i++) {
        dlb__buf *b = &n->bufs[i];
        if (!rotated(b)) continue;
        void *at = copy >= 0 ? p->data + off : b->data;
        if (dnnl_memory_set_data_handle(b->mem, at) != dnnl_success) return DLB_EDNNL;
        off += aligned(b->size, WEIGHT_ALIGN);
    }
    /* Views of a weight (a matmul's 2-D weights, ...) follow it. */
    for (int i = 0; i < n->n_bufs; i++) {
        dlb__buf *b = &n->bufs[i];
        if (b->kind != DLB__BUF_ALIAS || !rotated(&n->bufs[root_of_alias(n, i)])) continue;
        void *at;
        if (dnnl_memory_get_data_handle(n->bufs[root_of_alias(n, i)].mem, &at) != dnnl_success ||
            dnnl_memory_set_data_handle(b->mem, at) != dnnl_success)
            return DLB_EDNNL;
    }
    return DLB_OK;
}

/* ---- context eviction -------------------------------------------------------------------------*/

struct dlb_evictor {
    unsigned char *data;
    size_t size;
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
