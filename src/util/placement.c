/* placement.c — buffers with lifetimes placed in one arena: largest first, lowest free offset. */
#include "placement.h"

#include <stdbool.h>

size_t dlb__place_buffers(int n, const size_t *size, const int *first, const int *last, int *order,
                          size_t *off) {
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by size, largest first (stable) */
        for (int j = i; j > 0 && size[order[j]] > size[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int b = order[i];
        size_t sz = dlb__placed_bytes(size[b]), o = 0;
        bool moved = true;
        while (moved) { /* first offset that collides with no live, placed buffer */
            moved = false;
            for (int j = 0; j < i; j++) {
                int c = order[j];
                bool live = first[c] <= last[b] && first[b] <= last[c];
                if (live && o < off[c] + dlb__placed_bytes(size[c]) && off[c] < o + sz) {
                    o = off[c] + dlb__placed_bytes(size[c]);
                    moved = true;
                }
            }
        }
        off[b] = o;
        if (o + sz > total) total = o + sz;
    }
    return total;
}
