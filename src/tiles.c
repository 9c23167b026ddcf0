/* tiles.c - the CPU comparison of a slab's blocks, TILE_COLS side by side
 * (tiles.h). Compiled twice (Makefile): as it is, vectors of 4 columns, the
 * work items cloned for AVX2 and plain x86-64; with TILES_W8 (and
 * -march=x86-64-v4), vectors of 8 columns for AVX-512. */
#include "tiles.h"

#include <math.h>
#include <string.h>

#ifdef TILES_W8
#define LANE_COLS 8 /* columns whose sums stay in registers at once: one AVX-512 register of doubles */
#define TILES_NAME(name) name##_w8
#define HOT_CLONES /* the whole object is compiled for AVX-512 */
#else
#define LANE_COLS 4 /* one AVX2 register of doubles */
#define TILES_NAME(name) name##_w4
#if defined(__clang__)
/* clang wants every declaration of a cloned function (tiles.h's too) to
 * say so; its one use, the fuzz build, goes without the clones */
#define HOT_CLONES
#else
/* GCC 12 makes scalar code of 8-wide comparisons in an AVX2 clone, hence
 * the separate AVX-512 object rather than a third clone of this one */
#define HOT_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif

static const float e2m1_value[16] = MXFP4_E2M1_VALUES; /* exact in float */

/* ---- one block, element by element ----------------------------------------
 *
 * The definition, used for the rare block that holds a NaN or an infinity
 * (on either side): stats_add counts what is not finite. */

/* The block functions are inlined into the work items so that they are
 * compiled again inside each target clone (AVX-512, AVX2 or neither). */
#define BLOCK_FN static inline __attribute__((always_inline))

/* What a block adds beyond the statistics: the reference quantizer's
 * agreement with DST (with requant: its scale byte, codes equal to DST's,
 * its squared error) and the histogram of scale bytes and their offsets. */
BLOCK_FN void count_block(const tiles_ctx *c, uint8_t scale_byte, uint8_t ref_scale_byte, unsigned codes_equal,
                          double ref_sq_err)
{
    if (c->requant) {
        c->acc->scales_total++;
        c->acc->scales_equal += ref_scale_byte == scale_byte;
        c->acc->codes_total += MXFP4_BLOCK_ELEMS;
        c->acc->codes_equal += codes_equal;
        c->acc->ref_sum_sq_err += ref_sq_err;
    }
    if (c->hist) {
        c->hist[scale_byte]++;
        if (c->requant)
            c->hist[MX_HIST_BYTES + (uint8_t)(scale_byte - ref_scale_byte)]++;
    }
}

BLOCK_FN void compare_block_elementwise(const tiles_ctx *c, const float *x, uint64_t first,
                                        uint64_t stride, const uint8_t *block, uint8_t scale_byte)
{
    double scale = c->scale_of[scale_byte];
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        stats_add(c->acc, first + (uint64_t)i * stride, x[i],
                  (double)e2m1_value[mx_variant_code(c->v, block, i)] * scale);
    uint8_t ref_scale = 0;
    unsigned equal = 0;
    double se = 0.0;
    if (c->requant) { /* the reference quantizer on the block; an error that is not finite is not counted */
        uint8_t ref_codes[MXFP4_BLOCK_ELEMS];
        mxfp4_ref_quantize_block(x, &ref_scale, ref_codes);
        double ref = mxfp4_ref_scale_value(ref_scale);
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
            equal += ref_codes[i] == mxfp4_block_code(block, i);
            double d = (double)e2m1_value[ref_codes[i]] * ref - (double)x[i];
            se += d - d == 0.0 ? d * d : 0.0;
        }
    }
    count_block(c, scale_byte, ref_scale, equal, se);
}

/* ---- a tile of blocks, column by column -------------------------------------
 *
 * TILE_COLS blocks side by side, element i of block j at [i][j]: every step
 * of the comparison (dequantize, the sums, the block's max, the reference
 * quantizer) is then the same operation on neighbouring columns, which the
 * compiler turns into vector instructions with no sum across a register.
 * Each column's sums are a block's sums, added to the accumulator in column
 * order, so the result depends on neither the vector width nor the threads. */

#define QUAD 4       /* columns whose bytes are transposed together (16-byte vectors) */
#define PAD_COLS (LANE_COLS > QUAD ? LANE_COLS : QUAD) /* a last tile is filled up to a multiple */

/* Columns of a tile of `cols` blocks that are computed: up to a multiple of PAD_COLS. */
static inline int padded_cols(int cols)
{
    return (cols + PAD_COLS - 1) / PAD_COLS * PAD_COLS;
}

/* What a column's pass gives: one block's sums. */
typedef struct {
    double abs_err[TILE_COLS], sq_err[TILE_COLS], sq_src[TILE_COLS], sq_deq[TILE_COLS],
        dot[TILE_COLS], peak[TILE_COLS], ref_sq_err[TILE_COLS];
    int32_t equal[TILE_COLS], codes_equal[TILE_COLS];
} tile_sums;

/* Puts DST's block into column j (its codes are decoded with the tile's
 * others, tile_decode_codes). */
BLOCK_FN void tile_put_block(tile *t, const tiles_ctx *c, int j, const uint8_t *block, uint8_t scale_byte)
{
    t->block[j] = block;
    t->scale_byte[j] = scale_byte;
    t->scale[j] = c->scale_of[scale_byte];
}

/* ---- bytes into columns: QUAD blocks transposed in 16-byte vectors -------
 *
 * A block is a column of the tile, and its bytes lie in a row of memory:
 * putting them in place is a transposition, done QUAD columns at a time with
 * the byte, word and dword interleaves of SSE (__builtin_shufflevector,
 * which GCC and clang both have), and the E2M1 values looked up 16 at a
 * time (pshufb). */
typedef uint8_t bytes16 __attribute__((vector_size(16)));
typedef uint16_t words8 __attribute__((vector_size(16)));
typedef uint32_t dwords4 __attribute__((vector_size(16)));

/* Interleaves of two vectors: lanes 0, n, 1, n + 1 ... of the first halves, or of the second. */
#define BYTES_LOW 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define BYTES_HIGH 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define WORDS_LOW 0, 8, 1, 9, 2, 10, 3, 11
#define WORDS_HIGH 4, 12, 5, 13, 6, 14, 7, 15
#define DWORDS_LOW 0, 4, 1, 5
#define DWORDS_HIGH 2, 6, 3, 7

/* The E2M1 values' float32 bits split in bytes, for a lookup of 16 codes at
 * once: a value has two significant bits at most, so its low two bytes are zero. */
typedef struct {
    bytes16 high, low; /* bytes 3 and 2 of code c's value, at c */
} code_bytes;

static code_bytes e2m1_code_bytes(void)
{
    code_bytes cb;
    for (int c = 0; c < 16; c++) {
        uint32_t bits = mxfp4_f32_bits(e2m1_value[c]);
        cb.high[c] = (uint8_t)(bits >> 24);
        cb.low[c] = (uint8_t)(bits >> 16);
    }
    return cb;
}

/* table[codes[l]] in each lane (codes < 16): one pshufb with GCC; clang
 * (the fuzz build) has no shuffle by a variable mask in its vector extension. */
BLOCK_FN bytes16 lookup16(bytes16 table, bytes16 codes)
{
#if defined(__GNUC__) && !defined(__clang__)
    return __builtin_shuffle(table, codes);
#else
    bytes16 out;
    for (int l = 0; l < 16; l++)
        out[l] = table[codes[l] & 0xF];
    return out;
#endif
}

BLOCK_FN bytes16 load_bytes16(const void *p)
{
    bytes16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The four 16-bit lanes of `halves` from `first` (0 or 4) as the high halves
 * of four float32s, stored in row `row` from column j0. */
BLOCK_FN void store_row(float (*to)[TILE_COLS], int row, int j0, words8 halves, bool second)
{
    words8 zero = {0};
    dwords4 bits = second ? (dwords4)__builtin_shufflevector(zero, halves, WORDS_HIGH)
                          : (dwords4)__builtin_shufflevector(zero, halves, WORDS_LOW);
    memcpy(&to[row][j0], &bits, sizeof bits);
}

/* The row of the tile element k's low (or high) nibble goes to. */
BLOCK_FN int nibble_row(mxfp4_order order, int k, bool high)
{
    switch (order) {
    case MXFP4_ORDER_NIBBLE_SWAP: return 2 * k + !high;
    case MXFP4_ORDER_NIBBLE_SPLIT: return k + (high ? MXFP4_BLOCK_BYTES : 0);
    default: return 2 * k + high;
    }
}

/* codes: byte 4r + l is a nibble of byte k0 + r of column j0 + l. */
BLOCK_FN void put_nibbles(float (*to)[TILE_COLS], int j0, int k0, bytes16 codes, const code_bytes *cb,
                          mxfp4_order order, bool high)
{
    bytes16 vh = lookup16(cb->high, codes), vl = lookup16(cb->low, codes);
    words8 first = (words8)__builtin_shufflevector(vl, vh, BYTES_LOW);   /* rows k0, k0 + 1 */
    words8 second = (words8)__builtin_shufflevector(vl, vh, BYTES_HIGH); /* rows k0 + 2, k0 + 3 */
    store_row(to, nibble_row(order, k0, high), j0, first, false);
    store_row(to, nibble_row(order, k0 + 1, high), j0, first, true);
    store_row(to, nibble_row(order, k0 + 2, high), j0, second, false);
    store_row(to, nibble_row(order, k0 + 3, high), j0, second, true);
}

/* The E2M1 values of the tile's blocks, read in `order`, into `to`. */
BLOCK_FN void tile_decode_codes(const tile *t, float (*to)[TILE_COLS], mxfp4_order order,
                                const code_bytes *cb)
{
    for (int j0 = 0; j0 < padded_cols(t->cols); j0 += QUAD) { /* the lanes read every column to there */
        bytes16 a = load_bytes16(t->block[j0]), b = load_bytes16(t->block[j0 + 1]);
        bytes16 c = load_bytes16(t->block[j0 + 2]), d = load_bytes16(t->block[j0 + 3]);
        words8 ab_low = (words8)__builtin_shufflevector(a, b, BYTES_LOW);
        words8 ab_high = (words8)__builtin_shufflevector(a, b, BYTES_HIGH);
        words8 cd_low = (words8)__builtin_shufflevector(c, d, BYTES_LOW);
        words8 cd_high = (words8)__builtin_shufflevector(c, d, BYTES_HIGH);
        bytes16 quads[4] = { /* bytes 4r .. 4r + 3 of the four blocks, block by block within each */
            (bytes16)__builtin_shufflevector(ab_low, cd_low, WORDS_LOW),
            (bytes16)__builtin_shufflevector(ab_low, cd_low, WORDS_HIGH),
            (bytes16)__builtin_shufflevector(ab_high, cd_high, WORDS_LOW),
            (bytes16)__builtin_shufflevector(ab_high, cd_high, WORDS_HIGH),
        };
        for (int r = 0; r < 4; r++) {
            put_nibbles(to, j0, 4 * r, quads[r] & 0x0F, cb, order, false);
            put_nibbles(to, j0, 4 * r, quads[r] >> 4, cb, order, true);
        }
    }
}

/* The 32 source values of QUAD blocks that each lie in one run (the direct
 * layout) into columns j0 ..: BF16 is the high half of a float32. */
BLOCK_FN void tile_put_source_columns(tile *t, int j0, const uint16_t *const col[QUAD])
{
    for (int i0 = 0; i0 < MXFP4_BLOCK_ELEMS; i0 += 8) {
        words8 v[QUAD];
        for (int l = 0; l < QUAD; l++)
            memcpy(&v[l], col[l] + i0, sizeof v[l]);
        dwords4 ab_low = (dwords4)__builtin_shufflevector(v[0], v[1], WORDS_LOW);
        dwords4 ab_high = (dwords4)__builtin_shufflevector(v[0], v[1], WORDS_HIGH);
        dwords4 cd_low = (dwords4)__builtin_shufflevector(v[2], v[3], WORDS_LOW);
        dwords4 cd_high = (dwords4)__builtin_shufflevector(v[2], v[3], WORDS_HIGH);
        words8 pairs[4] = { /* rows i0 + 2p and i0 + 2p + 1, four columns each */
            (words8)__builtin_shufflevector(ab_low, cd_low, DWORDS_LOW),
            (words8)__builtin_shufflevector(ab_low, cd_low, DWORDS_HIGH),
            (words8)__builtin_shufflevector(ab_high, cd_high, DWORDS_LOW),
            (words8)__builtin_shufflevector(ab_high, cd_high, DWORDS_HIGH),
        };
        for (int p = 0; p < 4; p++) {
            store_row(t->x, i0 + 2 * p, j0, pairs[p], false);
            store_row(t->x, i0 + 2 * p + 1, j0, pairs[p], true);
        }
    }
}

/* ---- lanes: LANE_COLS neighbouring columns in one vector ------------------
 *
 * GCC's vector extension: one lanes_d is LANE_COLS doubles, one register in
 * the AVX-512 object (8) and the AVX2 clone (4), two SSE2 ones in the
 * default clone. Comparisons give masks (all bits
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

/* Written lane by lane: GCC 12 lowers __builtin_convertvector of 4 floats
 * into two 2-wide conversions and an insert, this into one vcvtps2pd. */
BLOCK_FN lanes_d widen(lanes_f v)
{
    lanes_d d;
    for (int l = 0; l < LANE_COLS; l++)
        d[l] = v[l];
    return d;
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
 * as a value; q is not NaN): |q| rounded to E2M1's step where it lies (0.5
 * below 2, 1 below 4, 2 above) by adding and taking away a power of two
 * whose ulp is that step, which rounds half to even as IEEE does: the
 * encoder's ties (MXFP4_E2M1_TIE_*) go to the even code, so both agree.
 * Saturates at 6 and keeps q's sign (a -0 too). */
BLOCK_FN lanes_f ref_encoded_value(lanes_f q)
{
    lanes_f m = abs_f(q);
    lanes_f by_half = (m + 0x1p22f) - 0x1p22f, by_one = (m + 0x1p23f) - 0x1p23f;
    lanes_f by_two = (m + 0x1p24f) - 0x1p24f;
    lanes_f six = {0};
    six += MXFP4_E2M1_MAX;
    by_two = select_f(by_two > six, six, by_two);
    lanes_f mag = select_f(m < 2.0f, by_half, select_f(m < 4.0f, by_one, by_two));
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

/* The reference quantizer on LANE_COLS columns from j0 (after
 * tile_stats_lanes): codes equal to DST's (compared as the bits of their
 * values: the map is one to one) and the squared error of its values. Where
 * every column's codes are DST's and its scale DST's scale, its values are
 * DST's values and its error is DST's, already summed, in the same order:
 * the usual case of a faithful checkpoint, so it is not computed again. */
BLOCK_FN void tile_requant_lanes(const tile *t, int j0, tile_sums *r)
{
    lanes_i32 codes = {0};
    lanes_f inv = load_f(&t->ref_inv[j0]), ref[MXFP4_BLOCK_ELEMS];
    const float(*stored)[TILE_COLS] = t->separate_ref_order ? t->ref_code : t->deq_code;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        ref[i] = ref_encoded_value(load_f(&t->x[i][j0]) * inv);
        codes -= (lanes_i32)ref[i] == (lanes_i32)load_f(&stored[i][j0]);
    }
    bool dst_values = !t->separate_ref_order;
    for (int l = 0; l < LANE_COLS; l++) {
        r->codes_equal[j0 + l] = codes[l];
        dst_values &= codes[l] == MXFP4_BLOCK_ELEMS && t->ref_scale[j0 + l] == t->scale[j0 + l];
    }
    if (dst_values) {
        memcpy(&r->ref_sq_err[j0], &r->sq_err[j0], LANE_COLS * sizeof r->sq_err[0]);
        return;
    }
    lanes_d rse = {0}, ref_scale = load_d(&t->ref_scale[j0]);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        lanes_d rd = widen(ref[i]) * ref_scale - widen(load_f(&t->x[i][j0]));
        rse += rd * rd;
    }
    for (int l = 0; l < LANE_COLS; l++)
        r->ref_sq_err[j0 + l] = rse[l];
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

/* Source index of column j's element 0. */
BLOCK_FN uint64_t tile_first_index(const tile *t, int j)
{
    return t->first + (uint64_t)j * t->col_step;
}

/* Adds column j's block to the accumulator (and the histogram). */
BLOCK_FN void tile_commit(const tile *t, const tiles_ctx *c, const tile_sums *r, int j)
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
        uint64_t index = tile_first_index(t, j) + (uint64_t)tile_first_peak(t, j, r->peak[j]) * t->stride;
        if (r->peak[j] > a->max_abs_err || index < a->max_abs_err_index) {
            a->max_abs_err = r->peak[j];
            a->max_abs_err_index = index;
        }
    }
    bool rq = c->requant; /* without it the requant sums were not computed */
    count_block(c, t->scale_byte[j], t->ref_scale_byte[j], rq ? (unsigned)r->codes_equal[j] : 0,
                rq ? r->ref_sq_err[j] : 0.0);
}

/* Compares the tile's blocks, in column order. Columns past t->cols (the
 * last tile of a row) are computed on zeros and never committed. */
BLOCK_FN void tile_compare(tile *t, const tiles_ctx *c, const code_bytes *cb)
{
    tile_sums sums;
    tile_decode_codes(t, t->deq_code, c->v->order, cb);
    if (t->separate_ref_order)
        tile_decode_codes(t, t->ref_code, MXFP4_ORDER_REFERENCE, cb);
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
        compare_block_elementwise(c, x, tile_first_index(t, j), t->stride, t->block[j], t->scale_byte[j]);
    }
}

/* ---- work items ---------------------------------------------------------- */

/* The work items are compiled for each target (HOT_CLONES, or the whole
 * object for AVX-512): the tile loops above are written to vectorize. */

static const uint8_t zero_block[MXFP4_BLOCK_BYTES];
static const uint16_t zero_source[MXFP4_BLOCK_ELEMS];

/* Where the tile's columns are in the source: block (m, n, group) is column
 * 0, and (m, next_n, next_group) column 1. */
static void tile_place(tile *t, const mx_geom *g, uint64_t m, uint64_t n, uint64_t group, uint64_t next_n,
                       uint64_t next_group)
{
    uint64_t stride;
    t->first = mx_block_source(g, m, n, group, &stride);
    t->col_step = mx_block_source(g, m, next_n, next_group, &stride) - t->first;
    t->stride = stride;
}

/* Fills the columns of a last, partial tile up to a multiple of PAD_COLS
 * with zeros and a block of zeros, so that the lanes past the end compute
 * on numbers (and are never committed). */
BLOCK_FN void tile_pad(tile *t, int cols)
{
    t->cols = cols;
    for (int j = cols; j < padded_cols(cols); j++) {
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            t->x[i][j] = 0.0f;
        t->block[j] = zero_block;
        t->scale_byte[j] = 0;
        t->scale[j] = 0.0;
    }
}

/* Transposed layout: one item = matrix ml, group g: 32 source rows by all N
 * columns; a tile is TILE_COLS neighbouring columns (stored rows), each one
 * contiguous run of the source per element. */
HOT_CLONES void TILES_NAME(tiles_transposed)(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                                       const tiles_ctx *c, tile *t, uint64_t ml, uint64_t gi)
{
    uint64_t N = g->rows, groups = s->g1 - s->g0;
    uint64_t m = s->m0 + ml, gg = s->g0 + gi;
    const uint16_t *rows = b->src + (ml * groups + gi) * MXFP4_BLOCK_ELEMS * N;
    code_bytes cb = e2m1_code_bytes();
    t->separate_ref_order = c->v->order != MXFP4_ORDER_REFERENCE;
    for (uint64_t n0 = 0; n0 < N; n0 += TILE_COLS) {
        int cols = (int)(N - n0 < TILE_COLS ? N - n0 : TILE_COLS);
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            for (int j = 0; j < cols; j++)
                t->x[i][j] = mxfp4_bf16_to_f32(rows[(uint64_t)i * N + n0 + (uint64_t)j]);
        for (int j = 0; j < cols; j++) {
            uint64_t blk = (ml * N + n0 + (uint64_t)j) * groups + gi;
            tile_put_block(t, c, j, b->blocks + blk * MXFP4_BLOCK_BYTES, b->scales[blk]);
        }
        tile_pad(t, cols);
        tile_place(t, g, m, n0, gg, n0 + 1, gg);
        tile_compare(t, c, &cb);
    }
}

/* Direct layout: one item = matrix ml, TILE_DIRECT_ROWS stored rows, all groups; a
 * tile is TILE_COLS neighbouring blocks of one row. */
HOT_CLONES void TILES_NAME(tiles_direct)(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                                   const tiles_ctx *c, tile *t, uint64_t ml, uint64_t r0)
{
    uint64_t G = g->groups, K = G * MXFP4_BLOCK_ELEMS, rows = s->n1 - s->n0;
    uint64_t m = s->m0 + ml, r1 = r0 + TILE_DIRECT_ROWS < rows ? r0 + TILE_DIRECT_ROWS : rows;
    code_bytes cb = e2m1_code_bytes();
    t->separate_ref_order = c->v->order != MXFP4_ORDER_REFERENCE;
    for (uint64_t r = r0; r < r1; r++) {
        const uint16_t *row = b->src + (ml * rows + r) * K;
        uint64_t n = s->n0 + r;
        for (uint64_t g0 = 0; g0 < G; g0 += TILE_COLS) {
            int cols = (int)(G - g0 < TILE_COLS ? G - g0 : TILE_COLS);
            for (int j = 0; j < cols; j++) {
                uint64_t blk = (ml * rows + r) * G + g0 + (uint64_t)j;
                tile_put_block(t, c, j, b->blocks + blk * MXFP4_BLOCK_BYTES, b->scales[blk]);
            }
            tile_pad(t, cols);
            for (int j0 = 0; j0 < cols; j0 += QUAD) {
                const uint16_t *col[QUAD];
                for (int l = 0; l < QUAD; l++)
                    col[l] = j0 + l < cols ? row + (g0 + (uint64_t)(j0 + l)) * MXFP4_BLOCK_ELEMS : zero_source;
                tile_put_source_columns(t, j0, col);
            }
            tile_place(t, g, m, n, g0, n, g0 + 1);
            tile_compare(t, c, &cb);
        }
    }
}

