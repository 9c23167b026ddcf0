/* scalehist.h - the scale-byte histogram of one MXFP4 tensor, kept compact.
 *
 * While a tensor streams, its E8M0 scale bytes are counted into a full
 * 256-entry array (2 KB, one at a time); a result keeps only the bytes that
 * occur, with their counts. A real tensor uses a few dozen exponents, and a
 * histogram never has more entries than its tensor has scale bytes, so the
 * memory a result needs per tensor is bounded by that tensor's data, not by
 * the 256 possible bytes. A scale_hist owns its entries; zero-initialised it
 * is the empty histogram. */
#ifndef MXC_SCALEHIST_H
#define MXC_SCALEHIST_H

#include <stdbool.h>
#include <stdint.h>

#define SCALE_HIST_BYTES 256 /* every value of a scale byte; 0xFF is NaN */

typedef struct {
    uint64_t count;  /* > 0 */
    uint8_t byte;
} scale_hist_entry;

typedef struct {
    scale_hist_entry *entries; /* ascending by byte; NULL when n is 0 */
    unsigned n;                /* 0..SCALE_HIST_BYTES */
} scale_hist;

/* Replaces h with the nonzero counts of full (any previous entries are
 * freed). Aborts on out of memory, as util.h does. */
void scale_hist_set(scale_hist *h, const uint64_t full[SCALE_HIST_BYTES]);

/* The count of scale byte b (0 when it does not occur). */
uint64_t scale_hist_count(const scale_hist *h, unsigned b);

/* Frees the entries; h is the empty histogram again. */
void scale_hist_clear(scale_hist *h);

#endif
