#include "numerics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mxfp4.h"
#include "util.h"

#define TILE_COLS 64 /* source columns gathered at once in the transposed layout */
#define ROW_TILE 32  /* stored rows per work item in the direct layout */

static const double e2m1_value[16] = MXFP4_E2M1_VALUES;

uint64_t mx_slab_src_bytes(const mx_geom *g, const mx_slab *s)
{
    uint64_t K = g->groups * MXFP4_BLOCK_ELEMS;
    if (g->layout == MX_TRANSPOSED)
        return (s->m1 - s->m0) * (s->g1 - s->g0) * MXFP4_BLOCK_ELEMS * g->rows * 2;
    return (s->m1 - s->m0) * (s->n1 - s->n0) * K * 2;
}

uint64_t mx_slab_blocks_bytes(const mx_slab *s)
{
    return mx_slab_scales_bytes(s) * MXFP4_BLOCK_BYTES;
}

uint64_t mx_slab_scales_bytes(const mx_slab *s)
{
    return (s->m1 - s->m0) * (s->n1 - s->n0) * (s->g1 - s->g0);
}

static uint64_t div_ceil(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

uint64_t mx_plan_slabs(const mx_geom *g, uint64_t budget, mx_slab *out)
{
    uint64_t N = g->rows, G = g->groups, K = G * MXFP4_BLOCK_ELEMS;
    uint64_t matrix_bytes = N * K * 2, count = 0;
    if (matrix_bytes == 0 || g->matrices == 0)
        return 0;
    if (matrix_bytes <= budget) {
        uint64_t per = budget / matrix_bytes;
        for (uint64_t m = 0; m < g->matrices; m += per, count++)
            if (out)
                out[count] = (mx_slab){m, m + per < g->matrices ? m + per : g->matrices, 0, N, 0, G};
        return count;
    }
    /* one matrix is larger than the budget: cut it along the source's
     * contiguous axis so each slab's source part stays one read */
    bool by_groups = g->layout == MX_TRANSPOSED;
    uint64_t unit = by_groups ? MXFP4_BLOCK_ELEMS * N * 2 : K * 2;
    uint64_t per = budget / unit ? budget / unit : 1;
    uint64_t extent = by_groups ? G : N;
    for (uint64_t m = 0; m < g->matrices; m++) {
        for (uint64_t a = 0; a < extent; a += per, count++) {
            uint64_t b = a + per < extent ? a + per : extent;
            if (out)
                out[count] = by_groups ? (mx_slab){m, m + 1, 0, N, a, b}
                                       : (mx_slab){m, m + 1, a, b, 0, G};
        }
    }
    return count;
}

/* ---- one block ----------------------------------------------------------- */

typedef struct {
    const mx_variant *v;
    bool requant;
    stats_acc *acc;
    uint64_t *hist;
} block_ctx;

#define LANES 4 /* independent partial sums: the order is fixed, and the loops vectorize */

/* The block functions are inlined into the work items so that they are
 * compiled again inside each target clone (AVX2 or not). */
#define BLOCK_FN static inline __attribute__((always_inline))

BLOCK_FN bool block_finite(const float *x)
{
    bool ok = true;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        ok &= (mxfp4_f32_bits(x[i]) & MXFP4_F32_EXP_MASK) != MXFP4_F32_EXP_MASK;
    return ok;
}

BLOCK_FN double lanes_sum(const double *l)
{
    return (l[0] + l[1]) + (l[2] + l[3]);
}

/* Statistics of a block whose values are all finite: sums over the block in
 * LANES fixed partial sums, then one update of the accumulator. */
BLOCK_FN void block_stats(stats_acc *a, const float *x, const double *deq, uint64_t first,
                        uint64_t stride)
{
    double sa[LANES] = {0}, se[LANES] = {0}, ss[LANES] = {0}, sq[LANES] = {0}, sd[LANES] = {0};
    double ad[MXFP4_BLOCK_ELEMS];
    unsigned equal = 0;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i += LANES) {
        for (int l = 0; l < LANES; l++) {
            double src = x[i + l], d = deq[i + l] - src;
            ad[i + l] = fabs(d);
            sa[l] += ad[i + l];
            se[l] += d * d;
            ss[l] += src * src;
            sq[l] += deq[i + l] * deq[i + l];
            sd[l] += src * deq[i + l];
            equal += d == 0.0;
        }
    }
    double top[LANES] = {0};
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i += LANES)
        for (int l = 0; l < LANES; l++)
            top[l] = ad[i + l] > top[l] ? ad[i + l] : top[l];
    double peak = top[0] > top[1] ? top[0] : top[1];
    peak = top[2] > peak ? top[2] : peak;
    peak = top[3] > peak ? top[3] : peak;
    int worst = 0;
    while (ad[worst] != peak) /* the first maximum: indices grow with i */
        worst++;
    a->n += MXFP4_BLOCK_ELEMS;
    a->equal += equal;
    a->sum_abs_err += lanes_sum(sa);
    a->sum_sq_err += lanes_sum(se);
    a->sum_sq_src += lanes_sum(ss);
    a->sum_sq_deq += lanes_sum(sq);
    a->dot += lanes_sum(sd);
    uint64_t index = first + (uint64_t)worst * stride;
    if (ad[worst] > a->max_abs_err || (ad[worst] == a->max_abs_err && index < a->max_abs_err_index)) {
        a->max_abs_err = ad[worst];
        a->max_abs_err_index = index;
    }
}

/* The reference quantizer on the source block, compared with DST's bytes. */
BLOCK_FN void block_requant(stats_acc *a, uint64_t *hist, const float *x, bool finite,
                            const uint8_t *block, uint8_t scale_byte)
{
    uint8_t ref_scale, ref_codes[MXFP4_BLOCK_ELEMS];
    mxfp4_ref_quantize_block(x, &ref_scale, ref_codes);
    double ref = mxfp4_ref_scale_value(ref_scale), se[LANES] = {0};
    unsigned equal = 0;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i += LANES) {
        for (int l = 0; l < LANES; l++) {
            equal += ref_codes[i + l] == mxfp4_block_code(block, i + l);
            double d = e2m1_value[ref_codes[i + l]] * ref - (double)x[i + l];
            se[l] += finite || d - d == 0.0 ? d * d : 0.0; /* non-finite: not an error */
        }
    }
    a->scales_total++;
    a->scales_equal += ref_scale == scale_byte;
    a->codes_total += MXFP4_BLOCK_ELEMS;
    a->codes_equal += equal;
    a->ref_sum_sq_err += lanes_sum(se);
    if (hist)
        hist[MX_HIST_BYTES + (uint8_t)(scale_byte - ref_scale)]++;
}

/* x: the block's 32 source values; their source indices are first + i * stride. */
BLOCK_FN void compare_block(const block_ctx *c, const float *x, uint64_t first, uint64_t stride,
                          const uint8_t *block, uint8_t scale_byte)
{
    double scale = mx_variant_scale(c->v, scale_byte);
    if (c->hist)
        c->hist[scale_byte]++;
    double deq[MXFP4_BLOCK_ELEMS];
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        deq[i] = e2m1_value[mx_variant_code(c->v, block, i)] * scale;
    bool finite = scale == scale && block_finite(x);
    if (finite)
        block_stats(c->acc, x, deq, first, stride);
    else /* rare: element by element, counting what is not finite */
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            stats_add(c->acc, first + (uint64_t)i * stride, x[i], deq[i]);
    if (c->requant)
        block_requant(c->acc, c->hist, x, finite, block, scale_byte);
}

/* ---- work items ---------------------------------------------------------- */

/* The work items are compiled for AVX2 too and picked at load time: the
 * per-block loops are written to vectorize (see block_stats). */
#define HOT_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))

/* Transposed layout: one item = matrix ml, group g: 32 source rows by all N
 * columns, gathered TILE_COLS columns at a time so reads stay contiguous. */
HOT_CLONES static void item_transposed(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                            const block_ctx *c, uint64_t ml, uint64_t gi)
{
    uint64_t N = g->rows, groups = s->g1 - s->g0;
    uint64_t m = s->m0 + ml, gg = s->g0 + gi;
    const uint16_t *rows = b->src + (ml * groups + gi) * MXFP4_BLOCK_ELEMS * N;
    float tile[MXFP4_BLOCK_ELEMS][TILE_COLS];
    for (uint64_t n0 = 0; n0 < N; n0 += TILE_COLS) {
        uint64_t cols = N - n0 < TILE_COLS ? N - n0 : TILE_COLS;
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            for (uint64_t j = 0; j < cols; j++)
                tile[i][j] = mxfp4_bf16_to_f32(rows[(uint64_t)i * N + n0 + j]);
        for (uint64_t j = 0; j < cols; j++) {
            uint64_t n = n0 + j;
            float x[MXFP4_BLOCK_ELEMS];
            for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
                x[i] = tile[i][j];
            uint64_t blk = (ml * N + n) * groups + gi, stride;
            uint64_t first = mx_block_source(g, m, n, gg, &stride);
            compare_block(c, x, first, stride, b->blocks + blk * MXFP4_BLOCK_BYTES, b->scales[blk]);
        }
    }
}

/* Direct layout: one item = matrix ml, ROW_TILE stored rows, all groups. */
HOT_CLONES static void item_direct(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                        const block_ctx *c, uint64_t ml, uint64_t r0)
{
    uint64_t G = g->groups, K = G * MXFP4_BLOCK_ELEMS, rows = s->n1 - s->n0;
    uint64_t m = s->m0 + ml, r1 = r0 + ROW_TILE < rows ? r0 + ROW_TILE : rows;
    for (uint64_t r = r0; r < r1; r++) {
        const uint16_t *row = b->src + (ml * rows + r) * K;
        uint64_t n = s->n0 + r;
        for (uint64_t gg = 0; gg < G; gg++) {
            float x[MXFP4_BLOCK_ELEMS];
            for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
                x[i] = mxfp4_bf16_to_f32(row[gg * MXFP4_BLOCK_ELEMS + (uint64_t)i]);
            uint64_t blk = (ml * rows + r) * G + gg, stride;
            uint64_t first = mx_block_source(g, m, n, gg, &stride);
            compare_block(c, x, first, stride, b->blocks + blk * MXFP4_BLOCK_BYTES, b->scales[blk]);
        }
    }
}

void mx_compare_slab_cpu(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist)
{
    uint64_t mats = s->m1 - s->m0;
    bool transposed = g->layout == MX_TRANSPOSED;
    uint64_t per_matrix = transposed ? s->g1 - s->g0 : div_ceil(s->n1 - s->n0, ROW_TILE);
    uint64_t items = mats * per_matrix;
    stats_acc *part = xmalloc((items ? items : 1) * sizeof *part);
#pragma omp parallel if (items > 1)
    {
        uint64_t local_hist[MX_HIST_LEN] = {0};
#pragma omp for schedule(dynamic, 4)
        for (uint64_t it = 0; it < items; it++) {
            stats_init(&part[it]);
            block_ctx c = {v, requant, &part[it], hist ? local_hist : NULL};
            uint64_t ml = it / per_matrix, k = it % per_matrix;
            if (transposed)
                item_transposed(g, s, b, &c, ml, k);
            else
                item_direct(g, s, b, &c, ml, k * ROW_TILE);
        }
        if (hist) {
#pragma omp critical
            for (int i = 0; i < MX_HIST_LEN; i++)
                hist[i] += local_hist[i];
        }
    }
    for (uint64_t it = 0; it < items; it++) /* fixed order: thread-count independent */
        stats_merge(acc, &part[it]);
    free(part);
}
