/* tiles.h - the CPU backend's comparison, TILE_COLS blocks at a time.
 *
 * Internal to numerics.c (which deals a slab's work items out to OpenMP
 * threads) and its test. src/tiles.c is compiled twice: with vectors of 4
 * columns (AVX2, with a plain-x86-64 clone) and, on x86-64, of 8 for
 * AVX-512; numerics.c calls the widest the CPU runs. Both give the same
 * results bit for bit: each column is one block whose sums are taken in
 * element order and added to the accumulator in column order. */
#ifndef MXC_TILES_H
#define MXC_TILES_H

#include <stdbool.h>
#include <stdint.h>

#include "mxfp4.h"
#include "numerics.h"
#include "stats.h"

#define TILE_COLS 64 /* blocks compared together */
#define TILE_DIRECT_ROWS 32 /* stored rows per work item in the direct layout */

/* What a work item needs besides its slab: how DST is read, where results go. */
typedef struct {
    const mx_variant *v;
    const double *scale_of; /* [256]: each scale byte's value as the variant reads it */
    bool requant;
    stats_acc *acc;
    uint64_t *hist;         /* MX_HIST_LEN counts, or NULL */
} tiles_ctx;

/* A thread's scratch: TILE_COLS blocks side by side, element i of block j
 * at [i][j] (26 KB: allocated once per thread, too large for a frame). */
typedef struct {
    float x[MXFP4_BLOCK_ELEMS][TILE_COLS];        /* source values */
    float deq_code[MXFP4_BLOCK_ELEMS][TILE_COLS]; /* E2M1 value of DST's code, as the variant reads it */
    float ref_code[MXFP4_BLOCK_ELEMS][TILE_COLS]; /* ... in the reference order (requant compares these) */
    double scale[TILE_COLS];                      /* DST's scale, as the variant reads it */
    float ref_inv[TILE_COLS];                     /* the reference quantizer's 1/scale */
    double ref_scale[TILE_COLS];                  /* ... and its scale */
    uint8_t ref_scale_byte[TILE_COLS];
    bool finite[TILE_COLS];                       /* no NaN or infinity in the block or its scale */
    const uint8_t *block[TILE_COLS];
    uint8_t scale_byte[TILE_COLS];
    uint64_t first;    /* source index of column 0's element 0 */
    uint64_t col_step; /* ... from a column's element 0 to the next column's */
    uint64_t stride;   /* ... from element i to i + 1 */
    int cols;
    bool separate_ref_order; /* the variant's order is not the reference's */
} tile;

/* One work item of slab s: in the transposed layout matrix ml, group k (32
 * source rows by all N columns); in the direct layout matrix ml, stored rows
 * k .. k + TILE_DIRECT_ROWS. Results are added to c->acc and c->hist. */
typedef void tiles_item(const mx_geom *g, const mx_slab *s, const mx_buffers *b, const tiles_ctx *c,
                        tile *t, uint64_t ml, uint64_t k);

tiles_item tiles_transposed_w4, tiles_direct_w4; /* vectors of 4 columns */
tiles_item tiles_transposed_w8, tiles_direct_w8; /* of 8 (AVX-512; only where MXC_TILES_W8) */

/* The widest tiles this CPU runs: 8 or 4 columns per vector. */
unsigned mx_tiles_lanes_max(void);

/* mx_compare_slab_cpu with tiles of `lanes` columns (4, or 8 where
 * mx_tiles_lanes_max() allows): for the test of both. */
void mx_compare_slab_lanes(const mx_geom *g, const mx_slab *s, const mx_buffers *b, const mx_variant *v,
                           bool requant, stats_acc *acc, uint64_t *hist, unsigned lanes);

#endif
