#include "numerics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mxfp4.h"
#include "util.h"

#define ROW_TILE 32 /* stored rows per work item in the direct layout */

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

/* ---- one block, element by element ----------------------------------------
 *
 * The definition, used for the rare block that holds a NaN or an infinity
 * (on either side): stats_add counts what is not finite. */

typedef struct {
    const mx_variant *v;
    bool requant;
    stats_acc *acc;
    uint64_t *hist;
} block_ctx;

/* The block functions are inlined into the work items so that they are
 * compiled again inside each target clone (AVX-512, AVX2 or neither). */
#define BLOCK_FN static inline __attribute__((always_inline))

/* The reference quantizer on the source block, compared with DST's bytes;
 * an error that is not finite is not counted. */
BLOCK_FN void block_requant(stats_acc *a, const float *x, const uint8_t *block, uint8_t scale_byte,
                            uint8_t *ref_scale)
{
    uint8_t ref_codes[MXFP4_BLOCK_ELEMS];
    mxfp4_ref_quantize_block(x, ref_scale, ref_codes);
    double ref = mxfp4_ref_scale_value(*ref_scale), se = 0.0;
    unsigned equal = 0;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        equal += ref_codes[i] == mxfp4_block_code(block, i);
        double d = e2m1_value[ref_codes[i]] * ref - (double)x[i];
        se += d - d == 0.0 ? d * d : 0.0;
    }
    a->scales_total++;
    a->scales_equal += *ref_scale == scale_byte;
    a->codes_total += MXFP4_BLOCK_ELEMS;
    a->codes_equal += equal;
    a->ref_sum_sq_err += se;
}

BLOCK_FN void compare_block_elementwise(const block_ctx *c, const float *x, uint64_t first,
                                        uint64_t stride, const uint8_t *block, uint8_t scale_byte)
{
    double scale = mx_variant_scale(c->v, scale_byte);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        stats_add(c->acc, first + (uint64_t)i * stride, x[i],
                  e2m1_value[mx_variant_code(c->v, block, i)] * scale);
    uint8_t ref_scale = 0;
    if (c->requant)
        block_requant(c->acc, x, block, scale_byte, &ref_scale);
    if (c->hist) {
        c->hist[scale_byte]++;
        if (c->requant)
            c->hist[MX_HIST_BYTES + (uint8_t)(scale_byte - ref_scale)]++;
    }
}

/* ---- a tile of blocks, column by column -------------------------------------
 *
 * TILE_COLS blocks side by side, element i of block j at [i][j]: every step
 * of the comparison (dequantize, the sums, the block's max, the reference
 * quantizer) is then the same operation on neighbouring columns, which the
 * compiler turns into vector instructions with no sum across a register.
 * Each column's sums are a block's sums, added to the accumulator in column
 * order, so the result depends on neither the vector width nor the threads. */

#define TILE_COLS 64 /* blocks compared together */
#define LANE_COLS 4  /* columns whose sums stay in registers at once */

typedef struct {
    float x[MXFP4_BLOCK_ELEMS][TILE_COLS];      /* source values */
    float deq_code[MXFP4_BLOCK_ELEMS][TILE_COLS]; /* E2M1 value of DST's code, as the variant reads it */
    float ref_code[MXFP4_BLOCK_ELEMS][TILE_COLS]; /* ... in the reference order (requant compares these) */
    double scale[TILE_COLS];                      /* DST's scale, as the variant reads it */
    float ref_inv[TILE_COLS];                     /* the reference quantizer's 1/scale */
    double ref_scale[TILE_COLS];                  /* ... and its scale */
    uint8_t ref_scale_byte[TILE_COLS];
    bool finite[TILE_COLS];                       /* no NaN or infinity in the block or its scale */
    const uint8_t *block[TILE_COLS];
    uint8_t scale_byte[TILE_COLS];
    uint64_t first[TILE_COLS]; /* source index of the block's element 0 */
    uint64_t stride;           /* ... and from element i to i + 1 */
    int cols;
    bool separate_ref_order; /* the variant's order is not the reference's */
} tile;

/* What a column's pass gives: one block's sums. */
typedef struct {
    double abs_err[TILE_COLS], sq_err[TILE_COLS], sq_src[TILE_COLS], sq_deq[TILE_COLS],
        dot[TILE_COLS], peak[TILE_COLS], ref_sq_err[TILE_COLS];
    int32_t equal[TILE_COLS], codes_equal[TILE_COLS];
} tile_sums;

static const float e2m1_value_f[16] = MXFP4_E2M1_VALUES;

/* The E2M1 values of a block's 32 codes, read in `order`, into column j:
 * one loop per order, so the hot one (the reference) has no test inside. */
BLOCK_FN void tile_put_codes(float (*to)[TILE_COLS], int j, const uint8_t *block, mxfp4_order order)
{
    switch (order) {
    case MXFP4_ORDER_REFERENCE:
    case MXFP4_ORDER_NIBBLE_SWAP: {
        int low = order == MXFP4_ORDER_REFERENCE ? 0 : 1;
        for (int k = 0; k < MXFP4_BLOCK_BYTES; k++) {
            to[2 * k + low][j] = e2m1_value_f[block[k] & 0xFu];
            to[2 * k + 1 - low][j] = e2m1_value_f[block[k] >> 4];
        }
        break;
    }
    case MXFP4_ORDER_NIBBLE_SPLIT:
        for (int k = 0; k < MXFP4_BLOCK_BYTES; k++) {
            to[k][j] = e2m1_value_f[block[k] & 0xFu];
            to[k + MXFP4_BLOCK_BYTES][j] = e2m1_value_f[block[k] >> 4];
        }
        break;
    }
}

/* Puts DST's block into column j: the E2M1 value of each code. */
BLOCK_FN void tile_put_block(tile *t, const mx_variant *v, int j, const uint8_t *block,
                             uint8_t scale_byte, uint64_t first)
{
    tile_put_codes(t->deq_code, j, block, v->order);
    if (t->separate_ref_order)
        tile_put_codes(t->ref_code, j, block, MXFP4_ORDER_REFERENCE);
    t->block[j] = block;
    t->scale_byte[j] = scale_byte;
    t->scale[j] = mx_variant_scale(v, scale_byte);
    t->first[j] = first;
}

/* ---- lanes: LANE_COLS neighbouring columns in one vector ------------------
 *
 * GCC's vector extension: one lanes_d is LANE_COLS (4) doubles, which the
 * compiler maps to one 256-bit register in the AVX-512 and AVX2 clones of the
 * work items and to two SSE2 ones in the default clone (8 would fill an
 * AVX-512 register, but GCC 12 makes scalar code of 8-wide comparisons in
 * the AVX2 clone). Comparisons give masks (all bits
 * set where true) of the integer type of the same width. */
typedef double lanes_d __attribute__((vector_size(LANE_COLS * sizeof(double))));
typedef int64_t lanes_i64 __attribute__((vector_size(LANE_COLS * sizeof(int64_t))));
typedef float lanes_f __attribute__((vector_size(LANE_COLS * sizeof(float))));
typedef int32_t lanes_i32 __attribute__((vector_size(LANE_COLS * sizeof(int32_t))));

BLOCK_FN lanes_f load_f(const float *p)
{
    lanes_f v;
    memcpy(&v, p, sizeof v);
    return v;
}

BLOCK_FN lanes_d load_d(const double *p)
{
    lanes_d v;
    memcpy(&v, p, sizeof v);
    return v;
}

BLOCK_FN lanes_d widen(lanes_f v)
{
    return __builtin_convertvector(v, lanes_d);
}

BLOCK_FN lanes_d abs_d(lanes_d v)
{
    return (lanes_d)((lanes_i64)v & INT64_MAX);
}

BLOCK_FN lanes_f abs_f(lanes_f v)
{
    return (lanes_f)((lanes_i32)v & INT32_MAX);
}

/* Where mask is set a, else b. */
BLOCK_FN lanes_d select_d(lanes_i64 mask, lanes_d a, lanes_d b)
{
    return (lanes_d)((mask & (lanes_i64)a) | (~mask & (lanes_i64)b));
}

BLOCK_FN lanes_f select_f(lanes_i32 mask, lanes_f a, lanes_f b)
{
    return (lanes_f)((mask & (lanes_i32)a) | (~mask & (lanes_i32)b));
}

/* Each column's max |x| and finiteness; from them the reference quantizer's scale. */
BLOCK_FN void tile_block_maxima(tile *t)
{
    for (int j0 = 0; j0 < t->cols; j0 += LANE_COLS) {
        lanes_f amax = {0};
        lanes_i32 inf_or_nan = {0};
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
            lanes_f x = load_f(&t->x[i][j0]), a = abs_f(x);
            amax = select_f(a > amax, a, amax);
            inf_or_nan |= ((lanes_i32)x & (int32_t)MXFP4_F32_EXP_MASK) == (int32_t)MXFP4_F32_EXP_MASK;
        }
        for (int l = 0; l < LANE_COLS; l++) {
            int j = j0 + l;
            uint8_t sb = mxfp4_ref_scale_byte(amax[l]);
            t->ref_scale_byte[j] = sb;
            t->ref_inv[j] = mxfp4_ref_inv_scale(sb);
            t->ref_scale[j] = mxfp4_ref_scale_value(sb);
            /* the scale too: NaN, or so large (a far bias k) that 6 x scale is not finite */
            double largest = t->scale[j] * MXFP4_E2M1_MAX;
            t->finite[j] = !inf_or_nan[l] && largest - largest == 0.0;
        }
    }
}

/* The E2M1 value the reference quantizer gives q (mxfp4_ref_encode's code,
 * as a value; q is not NaN): the sum of the steps between the magnitudes
 * whose midpoints |q| lies beyond, with q's sign (a -0 is kept). A mask is
 * -1 where true, so the counts come out negated (and are negated back before
 * they are scaled: -0.5 * 0 would be a -0). */
BLOCK_FN lanes_f ref_encoded_value(lanes_f q)
{
    lanes_f m = abs_f(q);
    lanes_i32 halves = (m > MXFP4_E2M1_TIE_0) + (m >= MXFP4_E2M1_TIE_1) + (m > MXFP4_E2M1_TIE_2) +
                       (m >= MXFP4_E2M1_TIE_3);                           /* 0 .. 2 by 0.5 */
    lanes_i32 ones = (m > MXFP4_E2M1_TIE_4) + (m >= MXFP4_E2M1_TIE_5);  /* 2 .. 4 by 1 */
    lanes_i32 twos = (m > MXFP4_E2M1_TIE_6);                              /* 4 .. 6 by 2 */
    lanes_f mag = 0.5f * __builtin_convertvector(-halves, lanes_f) +
                  __builtin_convertvector(-ones, lanes_f) + 2.0f * __builtin_convertvector(-twos, lanes_f);
    return (lanes_f)((lanes_i32)mag | ((lanes_i32)q & INT32_MIN));
}

/* The statistics of LANE_COLS columns from j0; where a block's max error
 * is, is found only when it matters (tile_commit). */
BLOCK_FN void tile_stats_lanes(const tile *t, int j0, tile_sums *r)
{
    lanes_d sa = {0}, se = {0}, ss = {0}, sq = {0}, sd = {0}, peak = {0};
    lanes_i64 equal = {0};
    lanes_d scale = load_d(&t->scale[j0]);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        lanes_d src = widen(load_f(&t->x[i][j0]));
        lanes_d deq = widen(load_f(&t->deq_code[i][j0])) * scale;
        lanes_d d = deq - src, ad = abs_d(d);
        sa += ad;
        se += d * d;
        ss += src * src;
        sq += deq * deq;
        sd += src * deq;
        equal -= d == 0.0;
        peak = select_d(ad > peak, ad, peak);
    }
    for (int l = 0; l < LANE_COLS; l++) {
        int j = j0 + l;
        r->abs_err[j] = sa[l], r->sq_err[j] = se[l], r->sq_src[j] = ss[l], r->sq_deq[j] = sq[l];
        r->dot[j] = sd[l], r->peak[j] = peak[l];
        r->equal[j] = (int32_t)equal[l];
    }
}

/* The reference quantizer on LANE_COLS columns from j0: codes equal to
 * DST's (compared as the bits of their values: the map is one to one) and
 * the squared error of its values. */
BLOCK_FN void tile_requant_lanes(const tile *t, int j0, tile_sums *r)
{
    lanes_d rse = {0};
    lanes_i32 codes = {0};
    lanes_f inv = load_f(&t->ref_inv[j0]);
    lanes_d ref_scale = load_d(&t->ref_scale[j0]);
    const float(*stored)[TILE_COLS] = t->separate_ref_order ? t->ref_code : t->deq_code;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        lanes_f x = load_f(&t->x[i][j0]);
        lanes_f ref = ref_encoded_value(x * inv);
        codes -= (lanes_i32)ref == (lanes_i32)load_f(&stored[i][j0]);
        lanes_d rd = widen(ref) * ref_scale - widen(x);
        rse += rd * rd;
    }
    for (int l = 0; l < LANE_COLS; l++) {
        r->ref_sq_err[j0 + l] = rse[l];
        r->codes_equal[j0 + l] = codes[l];
    }
}

/* The first element of column j whose error is `peak` (its smallest source
 * index: indices grow with the element), computed as tile_stats_lanes does. */
static int tile_first_peak(const tile *t, int j, double peak)
{
    int i = 0;
    while (i < MXFP4_BLOCK_ELEMS - 1 &&
           fabs((double)t->deq_code[i][j] * t->scale[j] - (double)t->x[i][j]) != peak)
        i++;
    return i;
}

/* Adds column j's block to the accumulator (and the histogram). */
BLOCK_FN void tile_commit(const tile *t, const block_ctx *c, const tile_sums *r, int j)
{
    stats_acc *a = c->acc;
    a->n += MXFP4_BLOCK_ELEMS;
    a->equal += (uint64_t)r->equal[j];
    a->sum_abs_err += r->abs_err[j];
    a->sum_sq_err += r->sq_err[j];
    a->sum_sq_src += r->sq_src[j];
    a->sum_sq_deq += r->sq_deq[j];
    a->dot += r->dot[j];
    if (r->peak[j] >= a->max_abs_err) { /* a new maximum or a tie: which element is it? */
        uint64_t index = t->first[j] + (uint64_t)tile_first_peak(t, j, r->peak[j]) * t->stride;
        if (r->peak[j] > a->max_abs_err || index < a->max_abs_err_index) {
            a->max_abs_err = r->peak[j];
            a->max_abs_err_index = index;
        }
    }
    if (c->requant) {
        a->scales_total++;
        a->scales_equal += t->ref_scale_byte[j] == t->scale_byte[j];
        a->codes_total += MXFP4_BLOCK_ELEMS;
        a->codes_equal += (uint64_t)r->codes_equal[j];
        a->ref_sum_sq_err += r->ref_sq_err[j];
    }
    if (c->hist) {
        c->hist[t->scale_byte[j]]++;
        if (c->requant)
            c->hist[MX_HIST_BYTES + (uint8_t)(t->scale_byte[j] - t->ref_scale_byte[j])]++;
    }
}

/* Compares the tile's blocks, in column order. Columns past t->cols (the
 * last tile of a row) are computed on zeros and never committed. */
BLOCK_FN void tile_compare(tile *t, const block_ctx *c)
{
    tile_sums sums;
    tile_block_maxima(t);
    for (int j0 = 0; j0 < t->cols; j0 += LANE_COLS) {
        tile_stats_lanes(t, j0, &sums);
        if (c->requant)
            tile_requant_lanes(t, j0, &sums);
    }
    for (int j = 0; j < t->cols; j++) {
        if (t->finite[j]) {
            tile_commit(t, c, &sums, j);
            continue;
        }
        float x[MXFP4_BLOCK_ELEMS];
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            x[i] = t->x[i][j];
        compare_block_elementwise(c, x, t->first[j], t->stride, t->block[j], t->scale_byte[j]);
    }
}

/* ---- work items ---------------------------------------------------------- */

/* The work items are compiled for AVX-512 and AVX2 too and picked at load
 * time: the tile loops above are written to vectorize. */
#define HOT_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))

static void tile_start(tile *t, const mx_variant *v, uint64_t stride)
{
    t->stride = stride;
    t->separate_ref_order = v->order != MXFP4_ORDER_REFERENCE;
    t->cols = 0;
}

/* Zeroes the columns of a last, partial tile, so that the lanes past the
 * end compute on numbers (and are never committed). */
BLOCK_FN void tile_pad(tile *t, int cols)
{
    t->cols = cols;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        for (int j = cols; j < (cols + LANE_COLS - 1) / LANE_COLS * LANE_COLS; j++)
            t->x[i][j] = t->deq_code[i][j] = t->ref_code[i][j] = 0.0f;
    for (int j = cols; j < (cols + LANE_COLS - 1) / LANE_COLS * LANE_COLS; j++)
        t->scale[j] = 0.0;
}

/* Transposed layout: one item = matrix ml, group g: 32 source rows by all N
 * columns; a tile is TILE_COLS neighbouring columns (stored rows), each one
 * contiguous run of the source per element. */
HOT_CLONES static void item_transposed(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                                       const block_ctx *c, tile *t, uint64_t ml, uint64_t gi)
{
    uint64_t N = g->rows, groups = s->g1 - s->g0;
    uint64_t m = s->m0 + ml, gg = s->g0 + gi, stride;
    const uint16_t *rows = b->src + (ml * groups + gi) * MXFP4_BLOCK_ELEMS * N;
    tile_start(t, c->v, g->rows);
    for (uint64_t n0 = 0; n0 < N; n0 += TILE_COLS) {
        int cols = (int)(N - n0 < TILE_COLS ? N - n0 : TILE_COLS);
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            for (int j = 0; j < cols; j++)
                t->x[i][j] = mxfp4_bf16_to_f32(rows[(uint64_t)i * N + n0 + (uint64_t)j]);
        for (int j = 0; j < cols; j++) {
            uint64_t n = n0 + (uint64_t)j, blk = (ml * N + n) * groups + gi;
            tile_put_block(t, c->v, j, b->blocks + blk * MXFP4_BLOCK_BYTES, b->scales[blk],
                           mx_block_source(g, m, n, gg, &stride));
        }
        tile_pad(t, cols);
        tile_compare(t, c);
    }
}

/* Direct layout: one item = matrix ml, ROW_TILE stored rows, all groups; a
 * tile is TILE_COLS neighbouring blocks of one row. */
HOT_CLONES static void item_direct(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                                   const block_ctx *c, tile *t, uint64_t ml, uint64_t r0)
{
    uint64_t G = g->groups, K = G * MXFP4_BLOCK_ELEMS, rows = s->n1 - s->n0, stride;
    uint64_t m = s->m0 + ml, r1 = r0 + ROW_TILE < rows ? r0 + ROW_TILE : rows;
    tile_start(t, c->v, 1);
    for (uint64_t r = r0; r < r1; r++) {
        const uint16_t *row = b->src + (ml * rows + r) * K;
        uint64_t n = s->n0 + r;
        for (uint64_t g0 = 0; g0 < G; g0 += TILE_COLS) {
            int cols = (int)(G - g0 < TILE_COLS ? G - g0 : TILE_COLS);
            for (int j = 0; j < cols; j++) {
                uint64_t gg = g0 + (uint64_t)j, blk = (ml * rows + r) * G + gg;
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
                    t->x[i][j] = mxfp4_bf16_to_f32(row[gg * MXFP4_BLOCK_ELEMS + (uint64_t)i]);
                tile_put_block(t, c->v, j, b->blocks + blk * MXFP4_BLOCK_BYTES, b->scales[blk],
                               mx_block_source(g, m, n, gg, &stride));
            }
            tile_pad(t, cols);
            tile_compare(t, c);
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
        tile *t = xmalloc(sizeof *t); /* one per thread: 26 KB, too large for a frame */
#pragma omp for schedule(dynamic, 4)
        for (uint64_t it = 0; it < items; it++) {
            stats_init(&part[it]);
            block_ctx c = {v, requant, &part[it], hist ? local_hist : NULL};
            uint64_t ml = it / per_matrix, k = it % per_matrix;
            if (transposed)
                item_transposed(g, s, b, &c, t, ml, k);
            else
                item_direct(g, s, b, &c, t, ml, k * ROW_TILE);
        }
        free(t);
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
