/* fuzz_arena.c — src/util/arena.h with one heap block per allocation, for the fuzz target and
 * its replay test.  The real arena (src/util/arena.c) carves allocations out of 64 KiB chunks,
 * so AddressSanitizer cannot see an access one element before or after an arena array (e.g.
 * tensors[-1]); here every allocation has redzones of its own.  Same contract: zeroed,
 * 16-byte aligned, NULL on overflow or out-of-memory, everything freed by dlb__arena_free.
 * Linked before libdlb_core.a, it keeps the archive's arena.o out of the link. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dlb_arena {
    void **blocks;
    size_t n, cap;
    size_t total;
};

dlb_arena *dlb__arena_new(void) {
    return calloc(1, sizeof(dlb_arena));
}

void dlb__arena_free(dlb_arena *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) free(a->blocks[i]);
    free(a->blocks);
    free(a);
}

void *dlb__arena_alloc(dlb_arena *a, size_t size) {
    if (size == 0) size = 1;
    if (size > SIZE_MAX - 16) return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (!b) return NULL;
        a->blocks = b;
        a->cap = cap;
    }
    void *p = NULL;
    if (posix_memalign(&p, 16, size) != 0) return NULL; /* exact size: no slack to hide in */
    memset(p, 0, size);
    a->blocks[a->n++] = p;
    a->total += size;
    return p;
}

void *dlb__arena_calloc(dlb_arena *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return dlb__arena_alloc(a, n * size);
}

char *dlb__arena_strndup(dlb_arena *a, const char *s, size_t n) {
    char *p = dlb__arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n);
    return p;
}

char *dlb__arena_strdup(dlb_arena *a, const char *s) {
    return dlb__arena_strndup(a, s, strlen(s));
}

void *dlb__arena_memdup(dlb_arena *a, const void *p, size_t size) {
    void *q = dlb__arena_alloc(a, size);
    if (q && size) memcpy(q, p, size);
    return q;
}

size_t dlb__arena_used(const dlb_arena *a) {
    return a->total;
}
