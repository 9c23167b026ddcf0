/* numerics.h - comparing an MXFP4 tensor with its BF16 source, one slab at a
 * time, on the CPU. The CUDA backend implements the same contract.
 *
 * Geometry. The stored (dequantized) tensor is M matrices of [N, K] (K = G*32
 * along the blocks' last axis). The source is M matrices of either
 *  - [K, N] (MX_TRANSPOSED: the converter quantized W.swapaxes(-2, -1)), or
 *  - [N, K] (MX_DIRECT: no transpose).
 * A slab is a part of the tensor held in memory: matrices [m0, m1), stored
 * rows [n0, n1) and groups [g0, g1). A slab of several matrices covers them
 * whole; a partial matrix is cut along the source's contiguous axis (groups
 * for MX_TRANSPOSED, rows for MX_DIRECT), so the source part is one
 * contiguous read.
 *
 * Buffers of a slab (ml = m - m0, rows = n1 - n0, groups = g1 - g0):
 *  blocks[((ml * rows + n - n0) * groups + g - g0) * 16]  (16 bytes per block)
 *  scales[(ml * rows + n - n0) * groups + g - g0]
 *  source, BF16: MX_TRANSPOSED src[(ml * (g1-g0)*32 + k - g0*32) * N + n]
 *                MX_DIRECT     src[(ml * rows + n - n0) * K + k] */
#ifndef MXC_NUMERICS_H
#define MXC_NUMERICS_H

#include <stdbool.h>
#include <stdint.h>

#include "mxfp4.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" { /* included by the CUDA backend */
#endif

typedef enum { MX_TRANSPOSED, MX_DIRECT } mx_layout;

typedef struct {
    uint64_t matrices; /* M: product of the prefix axes */
    uint64_t rows;     /* N: stored rows per matrix */
    uint64_t groups;   /* G: blocks per stored row; K = G * 32 */
    mx_layout layout;
} mx_geom;

typedef struct {
    uint64_t m0, m1, n0, n1, g0, g1;
} mx_slab;

/* How DST's bytes are decoded: the faithful reading is MX_VARIANT_FAITHFUL
 * ({reference order, E8M0, k 0}); the others replay the conventions an
 * exporter may have written in, for diagnosis. */
typedef struct {
    mxfp4_order order;      /* where element i's code is in its block */
    mxfp4_scale_code scale; /* how a scale byte is read */
    int scale_bias_k;       /* MXFP4_SCALE_E8M0: scale = 2^(byte - (127 + k)) */
} mx_variant;

#define MX_VARIANT_FAITHFUL {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, 0}

/* Code of element i of a block, and the value of its scale byte, as variant
 * v reads them: the decoding both backends share. */
MXFP4_HD static inline unsigned mx_variant_code(const mx_variant *v, const uint8_t *block, int i)
{
    return mxfp4_block_code_in(block, i, v->order);
}

MXFP4_HD static inline double mx_variant_scale(const mx_variant *v, uint8_t byte)
{
    return mxfp4_scale_value(byte, v->scale, v->scale_bias_k);
}

/* The histogram a comparison fills (hist): MX_HIST_BYTES counts, one per
 * scale byte value (255 is NaN), then, with requant, MX_HIST_OFFSETS counts
 * of (stored byte - reference quantizer's byte) mod 256, from which the
 * diagnosis reads the bias an exporter used. */
#define MX_HIST_BYTES 256
#define MX_HIST_OFFSETS 256
#define MX_HIST_LEN (MX_HIST_BYTES + MX_HIST_OFFSETS)

typedef struct {
    const uint16_t *src;   /* BF16 bits */
    const uint8_t *blocks;
    const uint8_t *scales;
} mx_buffers;

/* A slab placed in the buffers of a job (several slabs of one tensor read
 * together): byte offsets of its source, blocks and scales there. */
typedef struct {
    mx_slab slab;
    uint64_t src, blocks, scales;
} mx_placed_slab;

/* The buffers of a job and their sizes. */
typedef struct {
    mx_buffers buf;
    uint64_t src_bytes, blocks_bytes, scales_bytes;
} mx_job_data;

/* Linear index, in the source tensor, of stored element (m, n, k). */
MXFP4_HD static inline uint64_t mx_source_index(const mx_geom *g, uint64_t m, uint64_t n, uint64_t k)
{
    uint64_t K = g->groups * MXFP4_BLOCK_ELEMS, N = g->rows;
    return m * N * K + (g->layout == MX_TRANSPOSED ? k * N + n : n * K + k);
}

/* Where the 32 source values of block (m, n, group) are: the source index
 * of the first, and the distance between consecutive ones (N transposed, 1
 * direct). The one place both backends and the reader get it from. */
MXFP4_HD static inline uint64_t mx_block_source(const mx_geom *g, uint64_t m, uint64_t n,
                                                uint64_t group, uint64_t *stride)
{
    *stride = g->layout == MX_TRANSPOSED ? g->rows : 1;
    return mx_source_index(g, m, n, group * MXFP4_BLOCK_ELEMS);
}

/* Source index of a slab's first element: its source bytes are one run
 * from there (see above). */
MXFP4_HD static inline uint64_t mx_slab_source_first(const mx_geom *g, const mx_slab *s)
{
    return mx_source_index(g, s->m0, s->n0, s->g0 * MXFP4_BLOCK_ELEMS);
}

/* Bytes of each buffer of a slab. */
uint64_t mx_slab_src_bytes(const mx_geom *g, const mx_slab *s);
uint64_t mx_slab_blocks_bytes(const mx_slab *s);
uint64_t mx_slab_scales_bytes(const mx_slab *s);

/* Cuts the tensor into slabs whose source part is at most `budget` bytes
 * (one matrix row-group at least). Returns the number of slabs; with out
 * non-NULL writes them (call once with NULL to size the array). */
uint64_t mx_plan_slabs(const mx_geom *g, uint64_t budget, mx_slab *out);

/* Compares a slab on the CPU with OpenMP threads, in the widest tiles the
 * CPU runs (tiles.h): statistics (and, with requant, the reference
 * quantizer's codes/scales/error) into *acc, scale bytes (and offsets)
 * counted into hist[MX_HIST_LEN] when hist is non-NULL. Partial results are
 * merged in a fixed order, so the result depends on neither the thread
 * count nor the tiles' width. */
void mx_compare_slab_cpu(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist);

#ifdef __cplusplus
}
#endif

#endif
