/* test_numerics.c - the CPU comparison of a slab (mx_compare_slab_cpu, the
 * vectorized tiles of src/numerics.c) against the comparison written out
 * element by element here: every element's source index from the layout,
 * DST's code from the variant's nibble order, stats_add for the sums, the
 * reference quantizer block by block. Counts, the max error and its index
 * and the histogram must be identical; sums equal to 1e-12 relative
 * (SPEC §4: the sums are taken in another order).
 *
 * The data is drawn so every path runs: ordinary weights, all-zero blocks,
 * huge values (the reference scale byte 0xFF), tiny and subnormal ones, exact
 * rounding ties, NaN and infinities in a few blocks, NaN scales, DST written
 * by the reference quantizer (codes equal) or not, widths that leave a last
 * tile partly filled, and slabs cut along either axis. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxfp4.h"
#include "numerics.h"
#include "stats.h"
#include "tiles.h"
#include "util.h"
#include "xorshift.h"

static uint64_t rng_state;

static uint16_t bf16_of(float f)
{
    return (uint16_t)(mxfp4_f32_bits(f) >> 16);
}

/* One source value; `kind` picks the regime of its block. */
static uint16_t draw_value(int kind)
{
    float sign = xorshift64(&rng_state) & 1 ? -1.0f : 1.0f;
    switch (kind) {
    case 0: return bf16_of(sign * (float)(xorshift64(&rng_state) % 65536) / 65536.0f * 0.05f);
    case 1: return 0;                                                /* all-zero block */
    case 2: return bf16_of(sign * 3.0e38f * (float)(1 + xorshift64(&rng_state) % 8) / 8.0f); /* scale byte 0xFF */
    case 3: return (uint16_t)(xorshift64(&rng_state) % 0x0100 | (xorshift64(&rng_state) & 1) << 15);   /* subnormal */
    case 4: { /* exact ties of the encoder: k/4 of a power of two */
        static const float ties[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 6.0f};
        return bf16_of(sign * ties[xorshift64(&rng_state) % 8] * 0.125f);
    }
    case 5: { /* a block with a NaN or an infinity among ordinary values */
        uint64_t r = xorshift64(&rng_state) % 16;
        if (r == 0)
            return 0x7FC1;
        if (r == 1)
            return (uint16_t)(0x7F80 | (xorshift64(&rng_state) & 1) << 15);
        return bf16_of(sign * (float)(xorshift64(&rng_state) % 1000) / 1000.0f);
    }
    default: return bf16_of(sign * ldexpf((float)(xorshift64(&rng_state) % 256) / 256.0f, (int)(xorshift64(&rng_state) % 40) - 20));
    }
}

typedef struct {
    mx_geom g;
    uint16_t *src;  /* the whole tensor, source layout */
    uint8_t *blocks, *scales; /* stored [M, N, G, 16] and [M, N, G] */
} tensor;

static const uint16_t *block_source(const tensor *t, uint64_t m, uint64_t n, uint64_t grp, int i)
{
    uint64_t N = t->g.rows, K = t->g.groups * MXFP4_BLOCK_ELEMS, k = grp * 32 + (uint64_t)i;
    uint64_t at = t->g.layout == MX_TRANSPOSED ? m * K * N + k * N + n : m * N * K + n * K + k;
    return &t->src[at];
}

static uint64_t source_index(const tensor *t, uint64_t m, uint64_t n, uint64_t grp, int i)
{
    return (uint64_t)(block_source(t, m, n, grp, i) - t->src);
}

/* Puts the code of element i into a block written in `order`. */
static void put_code(uint8_t *block, int i, unsigned code, mxfp4_order order)
{
    int byte = order == MXFP4_ORDER_NIBBLE_SPLIT ? i % 16 : i / 2;
    bool high = order == MXFP4_ORDER_NIBBLE_SPLIT ? i >= 16
              : order == MXFP4_ORDER_NIBBLE_SWAP  ? i % 2 == 0
                                                  : i % 2 == 1;
    block[byte] = high ? (uint8_t)((block[byte] & 0x0F) | code << 4) : (uint8_t)((block[byte] & 0xF0) | code);
}

static unsigned get_code(const uint8_t *block, int i, mxfp4_order order)
{
    int byte = order == MXFP4_ORDER_NIBBLE_SPLIT ? i % 16 : i / 2;
    bool high = order == MXFP4_ORDER_NIBBLE_SPLIT ? i >= 16
              : order == MXFP4_ORDER_NIBBLE_SWAP  ? i % 2 == 0
                                                  : i % 2 == 1;
    return high ? block[byte] >> 4 : block[byte] & 0xFu;
}

static tensor make_tensor(mx_geom g, mxfp4_order written)
{
    tensor t = {g, NULL, NULL, NULL};
    uint64_t elems = g.matrices * g.rows * g.groups * MXFP4_BLOCK_ELEMS, nblocks = elems / 32;
    t.src = xmalloc(elems * 2);
    t.blocks = xcalloc(nblocks, MXFP4_BLOCK_BYTES);
    t.scales = xmalloc(nblocks);
    for (uint64_t m = 0; m < g.matrices; m++)
        for (uint64_t n = 0; n < g.rows; n++)
            for (uint64_t grp = 0; grp < g.groups; grp++) {
                int kind = (int)(xorshift64(&rng_state) % 10);
                float x[32];
                for (int i = 0; i < 32; i++) {
                    uint16_t *at = (uint16_t *)block_source(&t, m, n, grp, i);
                    *at = draw_value(kind > 6 ? 0 : kind);
                    x[i] = mxfp4_bf16_to_f32(*at);
                }
                uint64_t b = (m * g.rows + n) * g.groups + grp;
                uint8_t sb, codes[32];
                mxfp4_ref_quantize_block(x, &sb, codes);
                uint64_t how = xorshift64(&rng_state) % 8;
                for (int i = 0; i < 32; i++)
                    put_code(t.blocks + b * 16, i, how == 0 ? (unsigned)(xorshift64(&rng_state) % 16) : codes[i], written);
                t.scales[b] = how == 1 ? 0xFF : how == 2 ? (uint8_t)(sb + 1) : how == 3 ? 0 : sb;
            }
    return t;
}

static void free_tensor(tensor *t)
{
    free(t->src);
    free(t->blocks);
    free(t->scales);
}

/* The comparison written out, element by element, over the whole tensor. */
static void expected(const tensor *t, const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist)
{
    static const float e2m1[16] = MXFP4_E2M1_VALUES;
    stats_init(acc);
    for (uint64_t m = 0; m < t->g.matrices; m++)
        for (uint64_t n = 0; n < t->g.rows; n++)
            for (uint64_t grp = 0; grp < t->g.groups; grp++) {
                uint64_t b = (m * t->g.rows + n) * t->g.groups + grp;
                const uint8_t *block = t->blocks + b * 16;
                uint8_t sbyte = t->scales[b];
                double scale = v->scale == MXFP4_SCALE_SIGNED ? ldexp(1.0, (int8_t)sbyte)
                             : sbyte == 0xFF ? NAN : ldexp(1.0, (int)sbyte - 127 - v->scale_bias_k);
                float x[32];
                for (int i = 0; i < 32; i++) {
                    x[i] = mxfp4_bf16_to_f32(*block_source(t, m, n, grp, i));
                    stats_add(acc, source_index(t, m, n, grp, i), x[i],
                              (double)e2m1[get_code(block, i, v->order)] * scale);
                }
                hist[sbyte]++;
                if (!requant)
                    continue;
                uint8_t ref_sb, ref_codes[32];
                mxfp4_ref_quantize_block(x, &ref_sb, ref_codes);
                acc->scales_total++;
                acc->scales_equal += ref_sb == sbyte;
                hist[MX_HIST_BYTES + (uint8_t)(sbyte - ref_sb)]++;
                for (int i = 0; i < 32; i++) {
                    acc->codes_total++;
                    acc->codes_equal += ref_codes[i] == get_code(block, i, MXFP4_ORDER_REFERENCE);
                    double d = (double)e2m1[ref_codes[i]] * ldexp(1.0, (int)ref_sb - 127) - (double)x[i];
                    if (isfinite(d))
                        acc->ref_sum_sq_err += d * d;
                }
            }
}

/* The same through mx_compare_slab_cpu, the tensor cut into slabs of at most
 * `budget` source bytes, each copied into buffers of its own. */
static void actual(const tensor *t, const mx_variant *v, bool requant, uint64_t budget, stats_acc *acc,
                   uint64_t *hist, unsigned lanes)
{
    uint64_t count = mx_plan_slabs(&t->g, budget, NULL);
    mx_slab *slabs = xmalloc(count * sizeof *slabs);
    mx_plan_slabs(&t->g, budget, slabs);
    stats_init(acc);
    uint64_t N = t->g.rows, G = t->g.groups;
    for (uint64_t k = 0; k < count; k++) {
        mx_slab s = slabs[k];
        uint64_t groups = s.g1 - s.g0, rows = s.n1 - s.n0;
        uint16_t *src = xmalloc(mx_slab_src_bytes(&t->g, &s));
        uint8_t *blocks = xmalloc(mx_slab_blocks_bytes(&s)), *scales = xmalloc(mx_slab_scales_bytes(&s));
        memcpy(src, t->src + mx_slab_source_first(&t->g, &s), mx_slab_src_bytes(&t->g, &s));
        for (uint64_t m = s.m0; m < s.m1; m++)
            for (uint64_t n = s.n0; n < s.n1; n++)
                for (uint64_t grp = s.g0; grp < s.g1; grp++) {
                    uint64_t from = (m * N + n) * G + grp;
                    uint64_t to = ((m - s.m0) * rows + n - s.n0) * groups + grp - s.g0;
                    memcpy(blocks + to * 16, t->blocks + from * 16, 16);
                    scales[to] = t->scales[from];
                }
        mx_buffers b = {src, blocks, scales};
        mx_compare_slab_lanes(&t->g, &s, &b, v, requant, acc, hist, lanes);
        free(src);
        free(blocks);
        free(scales);
    }
    free(slabs);
}

static void assert_close(double want, double got, const char *what)
{
    double tol = 1e-12 * fabs(want); /* SPEC §4: backends agree to ~1e-12 */
    if (want != got && !(fabs(want - got) <= tol) && !(isnan(want) && isnan(got))) { /* inf == inf */
        fprintf(stderr, "%s: want %.17g, got %.17g\n", what, want, got);
        fail();
    }
}

/* Every block: one element 0.125 at a random place, the others 0, DST all
 * code 0: the max error 0.125 is in every block, and the first of them by
 * source index is seldom in the block compared first (at < 0: a random
 * place, else element `at` of every block). */
static void make_ties(tensor *t, int at)
{
    uint64_t blocks = t->g.matrices * t->g.rows * t->g.groups;
    memset(t->src, 0, blocks * 32 * 2);
    memset(t->blocks, 0, blocks * 16);
    for (uint64_t m = 0; m < t->g.matrices; m++)
        for (uint64_t n = 0; n < t->g.rows; n++)
            for (uint64_t grp = 0; grp < t->g.groups; grp++) {
                *(uint16_t *)block_source(t, m, n, grp, at < 0 ? (int)(xorshift64(&rng_state) % 32) : at) = bf16_of(0.125f);
                t->scales[(m * t->g.rows + n) * t->g.groups + grp] = 120;
            }
}

/* Both widths of tiles (4 columns per vector, and 8 where the CPU has
 * AVX-512) against the comparison written out. */
static void check_tensor(tensor t, mx_variant v, bool requant, uint64_t budget)
{
    stats_acc want;
    uint64_t hist_want[MX_HIST_LEN] = {0};
    expected(&t, &v, requant, &want, hist_want);
    for (unsigned lanes = 4; lanes <= mx_tiles_lanes_max(); lanes *= 2) {
        stats_acc got;
        uint64_t hist_got[MX_HIST_LEN] = {0};
        actual(&t, &v, requant, budget, &got, hist_got, lanes);
        assert_int_equal(want.n, got.n);
        assert_int_equal(want.nonfinite, got.nonfinite);
        assert_int_equal(want.equal, got.equal);
        assert_int_equal(want.codes_total, got.codes_total);
        assert_int_equal(want.codes_equal, got.codes_equal);
        assert_int_equal(want.scales_total, got.scales_total);
        assert_int_equal(want.scales_equal, got.scales_equal);
        assert_memory_equal(&want.max_abs_err, &got.max_abs_err, sizeof want.max_abs_err); /* a 0's sign too */
        assert_int_equal(want.max_abs_err_index, got.max_abs_err_index);
        assert_close(want.sum_abs_err, got.sum_abs_err, "sum_abs_err");
        assert_close(want.sum_sq_err, got.sum_sq_err, "sum_sq_err");
        assert_close(want.sum_sq_src, got.sum_sq_src, "sum_sq_src");
        assert_close(want.sum_sq_deq, got.sum_sq_deq, "sum_sq_deq");
        assert_close(want.dot, got.dot, "dot");
        assert_close(want.ref_sum_sq_err, got.ref_sum_sq_err, "ref_sum_sq_err");
        assert_memory_equal(hist_want, hist_got, sizeof hist_want);
    }
    free_tensor(&t);
}

static void check(mx_geom g, mxfp4_order written, mx_variant v, bool requant, uint64_t budget)
{
    check_tensor(make_tensor(g, written), v, requant, budget);
}

#define WHOLE ((uint64_t)1 << 40)

static void test_transposed_faithful(void **state)
{
    (void)state;
    rng_state = 0x9E3779B97F4A7C15u;
    /* 70 and 129 rows: tiles of 64 and a partial last one */
    check((mx_geom){2, 70, 3, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
    check((mx_geom){1, 129, 2, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
}

static void test_direct_faithful(void **state)
{
    (void)state;
    rng_state = 0xD1B54A32D192ED03u;
    /* 70 groups: a tile of 64 and one of 6 per row; 33 rows: items of 32 and 1 */
    check((mx_geom){2, 33, 70, MX_DIRECT}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
    check((mx_geom){3, 5, 1, MX_DIRECT}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
}

static void test_without_requant(void **state)
{
    (void)state;
    rng_state = 0x94D049BB133111EBu;
    check((mx_geom){2, 70, 3, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, false, WHOLE);
    check((mx_geom){2, 9, 66, MX_DIRECT}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, false, WHOLE);
}

static void test_variants(void **state)
{
    (void)state;
    rng_state = 0xBF58476D1CE4E5B9u;
    mxfp4_order orders[] = {MXFP4_ORDER_NIBBLE_SWAP, MXFP4_ORDER_NIBBLE_SPLIT};
    for (int o = 0; o < 2; o++) {
        mx_variant v = {orders[o], MXFP4_SCALE_E8M0, 0};
        check((mx_geom){2, 70, 2, MX_TRANSPOSED}, orders[o], v, true, WHOLE);
        check((mx_geom){2, 7, 65, MX_DIRECT}, orders[o], v, true, WHOLE);
    }
    mx_variant signed_scale = {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_SIGNED, 0};
    check((mx_geom){2, 70, 2, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE, signed_scale, true, WHOLE);
    for (int k = -2; k <= 2; k += 4) {
        mx_variant biased = {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, k};
        check((mx_geom){1, 65, 3, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE, biased, true, WHOLE);
    }
}

static void test_slabs_cut(void **state)
{
    (void)state;
    rng_state = 0x2545F4914F6CDD1Du;
    /* a budget under one matrix: cut by groups (transposed) or rows (direct) */
    check((mx_geom){2, 70, 5, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, true,
          2 * 32 * 70 * 2);
    check((mx_geom){2, 40, 70, MX_DIRECT}, MXFP4_ORDER_REFERENCE, (mx_variant)MX_VARIANT_FAITHFUL, true,
          3 * 70 * 32 * 2);
}

static void test_max_error_ties(void **state)
{
    (void)state;
    rng_state = 0x5851F42D4C957F2Du;
    mx_geom shapes[] = {{2, 70, 3, MX_TRANSPOSED}, {2, 9, 70, MX_DIRECT}};
    int places[] = {-1, 0, 31};
    for (int k = 0; k < 2; k++)
        for (int p = 0; p < 3; p++) {
            tensor t = make_tensor(shapes[k], MXFP4_ORDER_REFERENCE);
            make_ties(&t, places[p]);
            check_tensor(t, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
        }
}

/* Every finite BF16 magnitude up to 6 with both signs, 31 to a block beside
 * one 6.0 (scale byte 127, so the reference quantizer divides by 1): its
 * encoder meets each value it can be given at that scale, ties included,
 * and DST holds the scalar quantizer's codes. */
static void test_every_source_value(void **state)
{
    (void)state;
    uint16_t values[2 * 0x40C1];
    uint64_t count = 0;
    for (uint32_t bits = 0; bits <= 0x40C0; bits++) {
        values[count++] = (uint16_t)bits;
        values[count++] = (uint16_t)(bits | 0x8000);
    }
    uint64_t groups = (count + 30) / 31;
    tensor t = {{1, 1, groups, MX_DIRECT}, xmalloc(groups * 64), xcalloc(groups, 16), xmalloc(groups)};
    for (uint64_t grp = 0, next = 0; grp < groups; grp++) {
        float x[32];
        for (int i = 0; i < 32; i++) {
            uint16_t v = i == 0 ? bf16_of(6.0f) : next < count ? values[next++] : 0;
            t.src[grp * 32 + (uint64_t)i] = v;
            x[i] = mxfp4_bf16_to_f32(v);
        }
        uint8_t codes[32];
        mxfp4_ref_quantize_block(x, &t.scales[grp], codes);
        for (int i = 0; i < 32; i++)
            put_code(t.blocks + grp * 16, i, codes[i], MXFP4_ORDER_REFERENCE);
    }
    stats_acc got;
    uint64_t hist[MX_HIST_LEN] = {0};
    mx_buffers b = {t.src, t.blocks, t.scales};
    mx_slab s = {0, 1, 0, 1, 0, groups};
    stats_init(&got);
    mx_compare_slab_cpu(&t.g, &s, &b, &(mx_variant)MX_VARIANT_FAITHFUL, true, &got, hist);
    assert_int_equal(t.scales[0], 127);
    assert_int_equal(got.codes_total, groups * 32);
    assert_int_equal(got.codes_equal, groups * 32);
    assert_int_equal(got.scales_equal, groups);
    check_tensor(t, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
}

/* A bias k so far from the reference that 6 x scale overflows while the
 * scale itself is finite (byte 254, k -896: scale 2^1023): such blocks are
 * not finite and are compared element by element, as the definition does. */
static void test_scale_overflowing(void **state)
{
    (void)state;
    rng_state = 0x243F6A8885A308D3u;
    tensor t = make_tensor((mx_geom){1, 70, 2, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE);
    memset(t.scales, 254, 70 * 2);
    stats_acc got;
    uint64_t hist[MX_HIST_LEN] = {0};
    mx_variant far = {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, -896};
    mx_buffers b = {t.src, t.blocks, t.scales};
    mx_slab s = {0, 1, 0, 70, 0, 2};
    stats_init(&got);
    mx_compare_slab_cpu(&t.g, &s, &b, &far, true, &got, hist);
    assert_true(got.nonfinite > 0);
    check_tensor(t, far, true, WHOLE);
}

/* Zeros quantized as -0 (code 8): every error is -0 - 0 = -0, and the max
 * error printed must be 0, not -0, on both sides. */
static void test_negative_zero_error(void **state)
{
    (void)state;
    rng_state = 0x3C6EF372FE94F82Bu;
    tensor t = make_tensor((mx_geom){1, 70, 2, MX_TRANSPOSED}, MXFP4_ORDER_REFERENCE);
    memset(t.src, 0, 70 * 2 * 32 * 2);
    memset(t.blocks, 0x88, 70 * 2 * 16);
    memset(t.scales, 127, 70 * 2);
    stats_acc want;
    uint64_t hist[MX_HIST_LEN] = {0};
    expected(&t, &(mx_variant)MX_VARIANT_FAITHFUL, true, &want, hist);
    assert_true(want.max_abs_err == 0.0 && !signbit(want.max_abs_err));
    check_tensor(t, (mx_variant)MX_VARIANT_FAITHFUL, true, WHOLE);
}

int main(void)
{
    if (mx_tiles_lanes_max() < 8)
        fprintf(stderr, "test_numerics: NOTICE: this CPU has no AVX-512: the tiles of 8 columns are not "
                        "tested here (only those of 4)\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transposed_faithful),
        cmocka_unit_test(test_direct_faithful),
        cmocka_unit_test(test_without_requant),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_slabs_cut),
        cmocka_unit_test(test_max_error_ties),
        cmocka_unit_test(test_every_source_value),
        cmocka_unit_test(test_scale_overflowing),
        cmocka_unit_test(test_negative_zero_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
