/* placement.h — buffers with lifetimes placed in one arena (the model executor's activations). */
#ifndef DLB_PLACEMENT_H
#define DLB_PLACEMENT_H

#include <stddef.h>

/* Place n buffers in one arena so that buffers whose lifetimes (step first[i] to last[i],
 * inclusive) overlap never share bytes.  Greedy: largest first (ties in index order), each at
 * the lowest offset that collides with no placed, live buffer; sizes rounded up to 64 bytes.
 * Writes buffer i's offset to off[i] and returns the arena's size.  order: n ints of scratch.
 * The executor places its activations with it (src/exec/net.c), and the lowering replays it to
 * know where each output lands (src/lower/layout.c), so the two cannot part. */
/* Bytes a buffer of size bytes takes in the arena: rounded up to 64. */
static inline size_t dlb__placed_bytes(size_t size) {
    return (size + 63) & ~(size_t)63;
}

size_t dlb__place_buffers(int n, const size_t *size, const int *first, const int *last, int *order,
                          size_t *off);

#endif
