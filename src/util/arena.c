/* arena.c — chunked bump allocator used by graphs, layers and the brick registry. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_CHUNK = 64 * 1024, ARENA_ALIGN = 16 };

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

struct dlb_arena {
    chunk *head;
    size_t total;
};

dlb_arena *dlb__arena_new(void) {
    return calloc(1, sizeof(dlb_arena));
}

void dlb__arena_free(dlb_arena *a) {
    if (!a) return;
    for (chunk *c = a->head; c;) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

void *dlb__arena_alloc(dlb_arena *a, size_t size) {
    if (size == 0) size = 1;
    if (size > SIZE_MAX - ARENA_ALIGN) return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t cap = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
        chunk *n = malloc(sizeof(chunk) + cap);
        if (!n) return NULL;
        n->size = cap;
        n->used = 0;
        if (c && size > ARENA_CHUNK / 4) { /* big block: keep the current chunk in front */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->total += size;
    memset(p, 0, size);
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
