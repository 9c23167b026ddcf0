#include "scalehist.h"

#include <stdlib.h>

#include "util.h"

void scale_hist_set(scale_hist *h, const uint64_t full[SCALE_HIST_BYTES])
{
    scale_hist_clear(h);
    unsigned n = 0;
    for (unsigned b = 0; b < SCALE_HIST_BYTES; b++)
        n += full[b] != 0;
    if (n == 0)
        return;
    h->entries = xmalloc(n * sizeof *h->entries);
    for (unsigned b = 0; b < SCALE_HIST_BYTES; b++)
        if (full[b])
            h->entries[h->n++] = (scale_hist_entry){full[b], (uint8_t)b};
}

uint64_t scale_hist_count(const scale_hist *h, unsigned b)
{
    for (unsigned i = 0; i < h->n; i++) /* at most 256 entries, ascending */
        if (h->entries[i].byte >= b)
            return h->entries[i].byte == b ? h->entries[i].count : 0;
    return 0;
}

void scale_hist_clear(scale_hist *h)
{
    free(h->entries);
    *h = (scale_hist){0};
}
