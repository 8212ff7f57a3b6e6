/* arena.h — bump allocator: everything a graph or registry owns is freed at once. */
#ifndef DLB_ARENA_H
#define DLB_ARENA_H

#include <stddef.h>

typedef struct dlb_arena dlb_arena;

dlb_arena *dlb__arena_new(void);
void dlb__arena_free(dlb_arena *a);
/* Zeroed, 16-byte aligned memory; NULL on out-of-memory. */
void *dlb__arena_alloc(dlb_arena *a, size_t size);
/* Zeroed array of n elements of size each; NULL on overflow or out-of-memory. */
void *dlb__arena_calloc(dlb_arena *a, size_t n, size_t size);
char *dlb__arena_strdup(dlb_arena *a, const char *s);
char *dlb__arena_strndup(dlb_arena *a, const char *s, size_t n);
void *dlb__arena_memdup(dlb_arena *a, const void *p, size_t size);
/* Total bytes handed out (for memory figures). */
size_t dlb__arena_used(const dlb_arena *a);

#endif
