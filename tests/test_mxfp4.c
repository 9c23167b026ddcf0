/* test_mxfp4.c - the MXFP4 description of src/mxfp4.h against the SPEC and
 * against a conversion made by the reference converter.
 *
 * The unit tests pin every rule the SPEC names (E2M1 table, ties to even,
 * saturation, sign of zero, ROUND_UP scales). The strongest test re-quantizes
 * the BF16 experts of ../shared/fixtures/seedconv-small with
 * mxfp4_ref_quantize_block and requires every scale byte and every packed
 * byte of its mxfp4/ conversion to be identical; the same check runs on the
 * project's own samples/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxfp4.h"
#include "safetensors.h"
#include "util.h"

#define MISMATCHES_SHOWN 10

static const float e2m1_table[16] = MXFP4_E2M1_VALUES;

/* ---- E2M1 codes ----------------------------------------------------------- */

static void test_e2m1_values(void **state)
{
    (void)state;
    static const float expect[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                                     -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
    for (unsigned c = 0; c < 16; c++) {
        float v = mxfp4_e2m1_value(c);
        assert_true(v == expect[c]);
        assert_true(e2m1_table[c] == expect[c]);
        assert_int_equal(signbit(v) != 0, c >= 8);
        assert_int_equal(signbit(e2m1_table[c]) != 0, c >= 8);
        /* only the low 4 bits count */
        assert_true(mxfp4_e2m1_value(c | 0xF0u) == v);
    }
}

/* Every code value encodes back to its own code (including -0 -> 8). */
static void test_encode_roundtrip(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 16; c++)
        assert_int_equal(mxfp4_ref_encode(mxfp4_e2m1_value(c)), c);
}

/* The midpoints between neighbouring E2M1 values: ties go to the even code. */
static const struct {
    float q;
    unsigned tie, below, above;
} ties[] = {
    {0.25f, 0, 0, 1}, {0.75f, 2, 1, 2}, {1.25f, 2, 2, 3}, {1.75f, 4, 3, 4},
    {2.5f, 4, 4, 5},  {3.5f, 6, 5, 6},  {5.0f, 6, 6, 7},
};

static void test_encode_ties_to_even(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ties / sizeof ties[0]; i++) {
        assert_int_equal(ties[i].tie % 2, 0);
        assert_int_equal(mxfp4_ref_encode(ties[i].q), ties[i].tie);
        assert_int_equal(mxfp4_ref_encode(-ties[i].q), ties[i].tie | MXFP4_CODE_SIGN);
    }
}

static void test_encode_around_ties(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ties / sizeof ties[0]; i++) {
        float lo = nextafterf(ties[i].q, 0.0f), hi = nextafterf(ties[i].q, INFINITY);
        assert_int_equal(mxfp4_ref_encode(lo), ties[i].below);
        assert_int_equal(mxfp4_ref_encode(hi), ties[i].above);
        assert_int_equal(mxfp4_ref_encode(-lo), ties[i].below | MXFP4_CODE_SIGN);
        assert_int_equal(mxfp4_ref_encode(-hi), ties[i].above | MXFP4_CODE_SIGN);
    }
}

static void test_encode_saturates(void **state)
{
    (void)state;
    const float big[] = {6.0f, nextafterf(6.0f, INFINITY), 7.0f, 100.0f, 1e30f, FLT_MAX, INFINITY};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        assert_int_equal(mxfp4_ref_encode(big[i]), 7);
        assert_int_equal(mxfp4_ref_encode(-big[i]), 15);
    }
}

/* The converter encodes the sign bit, so a negative value that rounds to zero
 * is code 8 (-0), not code 0. */
static void test_encode_signed_zero(void **state)
{
    (void)state;
    assert_int_equal(mxfp4_ref_encode(0.0f), 0);
    assert_int_equal(mxfp4_ref_encode(-0.0f), 8);
    assert_int_equal(mxfp4_ref_encode(-0.1f), 8);
    assert_int_equal(mxfp4_ref_encode(-0.25f), 8);
    assert_int_equal(mxfp4_ref_encode(-mxfp4_f32_from_bits(1)), 8); /* smallest denormal */
    assert_int_equal(mxfp4_ref_encode(mxfp4_f32_from_bits(1)), 0);
    assert_int_equal(mxfp4_ref_encode(0.1f), 0);
}

/* NaN has no E2M1 encoding: like the converter's bit-level encoding (exponent
 * 0xFF saturates), it becomes 6; always +6, since a NaN's sign bit differs
 * between x86 and CUDA for the same operation. */
static void test_encode_nan(void **state)
{
    (void)state;
    assert_int_equal(mxfp4_ref_encode(mxfp4_f32_from_bits(0x7FC00000u)), 7);
    assert_int_equal(mxfp4_ref_encode(mxfp4_f32_from_bits(0xFFC00000u)), 7);
    assert_int_equal(mxfp4_ref_encode(mxfp4_f32_from_bits(0x7F800001u)), 7); /* signalling */
}

/* ---- scales --------------------------------------------------------------- */

static void test_scale_byte(void **state)
{
    (void)state;
    assert_int_equal(mxfp4_ref_scale_byte(0.0f), 0);
    assert_int_equal(mxfp4_ref_scale_byte(6.0f), 127);                       /* s = 1 exactly */
    assert_int_equal(mxfp4_ref_scale_byte(nextafterf(6.0f, INFINITY)), 128); /* 6.0000005 */
    assert_int_equal(mxfp4_ref_scale_byte(6.0000005f), 128);
    assert_int_equal(mxfp4_ref_scale_byte(3.0f), 126);
    assert_int_equal(mxfp4_ref_scale_byte(12.0f), 128);
    assert_int_equal(mxfp4_ref_scale_byte(7.0f), 128);   /* 7/6 rounds UP to 2 */
    assert_int_equal(mxfp4_ref_scale_byte(5.9f), 127);
    assert_int_equal(mxfp4_ref_scale_byte(0.75f), 124);  /* 0.125 */
    assert_int_equal(mxfp4_ref_scale_byte(FLT_MAX), 253); /* 2^125.4 rounds up to 2^126 */
    /* inf/6 = inf: the bit trick lands on exponent 0xFF, the NaN scale */
    assert_int_equal(mxfp4_ref_scale_byte(INFINITY), MXFP4_SCALE_NAN);
}

static void test_scale_byte_denormal(void **state)
{
    (void)state;
    /* amax = 2^-127 (denormal): s = 2^-127/6 is a nonzero denormal, which the
     * round-up through the bits carries into exponent 1 (scale 2^-126) */
    assert_int_equal(mxfp4_ref_scale_byte(mxfp4_f32_from_bits(0x00400000u)), 1);
    assert_int_equal(mxfp4_ref_scale_byte(FLT_MIN), 1); /* 2^-126/6 also rounds up to 2^-126 */
    assert_int_equal(mxfp4_ref_scale_byte(6.0f * FLT_MIN), 1);
    assert_int_equal(mxfp4_ref_scale_byte(nextafterf(6.0f * FLT_MIN, INFINITY)), 2);
    /* the smallest denormal divided by 6 rounds to +0: scale byte 0 */
    assert_int_equal(mxfp4_ref_scale_byte(mxfp4_f32_from_bits(1)), 0);
}

static void test_inv_scale(void **state)
{
    (void)state;
    assert_true(mxfp4_ref_inv_scale(0) == 0.0f);
    assert_true(mxfp4_ref_inv_scale(127) == 1.0f);
    assert_true(mxfp4_ref_inv_scale(128) == 0.5f);
    assert_true(mxfp4_ref_inv_scale(126) == 2.0f);
    assert_true(mxfp4_ref_inv_scale(1) == ldexpf(1.0f, 126));
    assert_true(mxfp4_ref_inv_scale(254) == ldexpf(1.0f, -127));
}

/* ---- blocks --------------------------------------------------------------- */

static void test_block_nibble_order(void **state)
{
    (void)state;
    uint8_t block[MXFP4_BLOCK_BYTES];
    for (int i = 0; i < MXFP4_BLOCK_BYTES; i++)
        block[i] = (uint8_t)(((2 * i + 1) % 16) << 4 | (2 * i) % 16);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        assert_int_equal(mxfp4_block_code(block, i), (unsigned)i % 16);
    const uint8_t one[MXFP4_BLOCK_BYTES] = {0x21};
    assert_int_equal(mxfp4_block_code(one, 0), 1); /* element 0: LOW nibble */
    assert_int_equal(mxfp4_block_code(one, 1), 2); /* element 1: HIGH nibble */
    assert_int_equal(mxfp4_block_code(one, 2), 0);
}

static void test_quantize_block(void **state)
{
    (void)state;
    float x[MXFP4_BLOCK_ELEMS] = {0};
    uint8_t sb, codes[MXFP4_BLOCK_ELEMS];
    /* amax 6: scale 1, every E2M1 value exact */
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        x[i] = e2m1_table[i % 16];
    mxfp4_ref_quantize_block(x, &sb, codes);
    assert_int_equal(sb, 127);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        assert_int_equal(codes[i], i % 16);

    /* amax 7: scale rounds UP to 2, so 7 -> 3.5 -> tie -> 4 (code 6): ROUND_UP never clips */
    memset(x, 0, sizeof x);
    x[3] = 7.0f;
    x[4] = -1.0f; /* -0.5: code 9 */
    x[5] = 0.5f;  /* 0.25: tie -> 0 */
    mxfp4_ref_quantize_block(x, &sb, codes);
    assert_int_equal(sb, 128);
    assert_int_equal(codes[3], 6);
    assert_int_equal(codes[4], 9);
    assert_int_equal(codes[5], 0);
    assert_int_equal(codes[0], 0);
}

/* amax 0: scale byte 0 and a zero multiplier (not 1/0), keeping signs */
static void test_quantize_zero_block(void **state)
{
    (void)state;
    float x[MXFP4_BLOCK_ELEMS] = {0};
    uint8_t sb, codes[MXFP4_BLOCK_ELEMS];
    x[1] = -0.0f;
    mxfp4_ref_quantize_block(x, &sb, codes);
    assert_int_equal(sb, 0);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[1], 8);
}

/* ---- re-quantization of a converted checkpoint ----------------------------- */

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        xgrow(&buf, &cap, len + 4097, 1);
        size_t n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0)
            break;
    }
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

static cJSON *load_index(const char *dir)
{
    char *path = xasprintf("%s/model.safetensors.index.json", dir);
    char *text = read_text(path);
    if (!text)
        print_error("cannot read %s\n", path);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    if (!root)
        print_error("%s: invalid JSON\n", path);
    assert_non_null(root);
    free(text);
    free(path);
    return root;
}

/* A tensor's description, copied out of its (closed) file. */
typedef struct {
    dtype_id dtype;
    int rank;
    uint64_t shape[ST_MAX_RANK];
} tensor_desc;

/* Reads tensor `name` of checkpoint dir (through its index) into a malloc'ed
 * buffer; *t receives its description. */
static uint8_t *read_tensor(const char *dir, const cJSON *index, const char *name, tensor_desc *t)
{
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(map, name);
    if (!cJSON_IsString(shard))
        print_error("%s: '%s' is not in the weight map\n", dir, name);
    assert_true(cJSON_IsString(shard));
    char *path = xasprintf("%s/%s", dir, shard->valuestring);
    char err[ST_ERR_LEN];
    st_file *f = NULL;
    if (st_open(path, NULL, &f, err, sizeof err) < 0)
        print_error("%s\n", err);
    assert_non_null(f);
    const st_tensor *found = st_tensor_find(f, name);
    if (!found)
        print_error("%s: no tensor '%s'\n", path, name);
    assert_non_null(found);
    t->dtype = found->dtype;
    t->rank = found->rank;
    memcpy(t->shape, found->shape, sizeof *t->shape * (size_t)found->rank);
    size_t len = (size_t)(found->end - found->begin);
    uint8_t *buf = xmalloc(len);
    int rc = st_read(f, found, 0, buf, len, err, sizeof err);
    if (rc < 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    st_close(f);
    free(path);
    return buf;
}

typedef struct {
    uint64_t blocks, scale_diff, code_diff;
} requant_count;

static void report_code(const char *name, uint64_t e, uint64_t n, uint64_t k, uint16_t src_bits,
                        uint8_t scale, unsigned want, unsigned got)
{
    float v = mxfp4_bf16_to_f32(src_bits);
    print_error("%s: element [%" PRIu64 ", %" PRIu64 ", %" PRIu64 "] (source [e, k, n] = [%" PRIu64
                ", %" PRIu64 ", %" PRIu64 "]) = %.9g (bf16 0x%04x), x/scale = %.9g: file code %u (%g), "
                "ours %u (%g)\n",
                name, e, n, k, e, k, n, (double)v, src_bits,
                (double)(v * mxfp4_ref_inv_scale(scale)), want, (double)mxfp4_e2m1_value(want), got,
                (double)mxfp4_e2m1_value(got));
}

/* Re-quantizes source W [E, K, N] (BF16) along K after the converter's
 * swapaxes(-2, -1) and compares with blocks [E, N, K/32, 16], scales [E, N, K/32]. */
static void requant_compare(const char *name, const uint16_t *w, const uint64_t *shape,
                            const uint8_t *blocks, const uint8_t *scales, requant_count *c)
{
    uint64_t E = shape[0], K = shape[1], N = shape[2], G = K / MXFP4_BLOCK_ELEMS;
    for (uint64_t e = 0; e < E; e++)
        for (uint64_t n = 0; n < N; n++)
            for (uint64_t g = 0; g < G; g++) {
                float x[MXFP4_BLOCK_ELEMS];
                uint16_t bits[MXFP4_BLOCK_ELEMS];
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
                    uint64_t k = g * MXFP4_BLOCK_ELEMS + (uint64_t)i;
                    bits[i] = w[(e * K + k) * N + n];
                    x[i] = mxfp4_bf16_to_f32(bits[i]);
                }
                uint8_t sb, codes[MXFP4_BLOCK_ELEMS];
                mxfp4_ref_quantize_block(x, &sb, codes);
                uint64_t blk = (e * N + n) * G + g;
                c->blocks++;
                if (scales[blk] != sb) {
                    if (c->scale_diff + c->code_diff < MISMATCHES_SHOWN)
                        print_error("%s: scale of block [%" PRIu64 ", %" PRIu64 ", %" PRIu64
                                    "]: file %u, ours %u\n", name, e, n, g, scales[blk], sb);
                    c->scale_diff++;
                }
                const uint8_t *fb = blocks + blk * MXFP4_BLOCK_BYTES;
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
                    unsigned want = mxfp4_block_code(fb, i);
                    if (want == codes[i])
                        continue;
                    if (c->scale_diff + c->code_diff < MISMATCHES_SHOWN)
                        report_code(name, e, n, g * MXFP4_BLOCK_ELEMS + (uint64_t)i, bits[i], sb, want,
                                    codes[i]);
                    c->code_diff++;
                }
            }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Checks one quantized tensor `base` (source name) of the pair of checkpoints. */
static void requant_tensor(const char *src_dir, const cJSON *src_idx, const char *dst_dir,
                           const cJSON *dst_idx, const char *base, requant_count *c)
{
    tensor_desc ts, tb, tsc;
    char *bname = xasprintf("%s%s", base, MXFP4_BLOCKS_SUFFIX);
    char *sname = xasprintf("%s%s", base, MXFP4_SCALES_SUFFIX);
    uint8_t *w = read_tensor(src_dir, src_idx, base, &ts);
    uint8_t *blocks = read_tensor(dst_dir, dst_idx, bname, &tb);
    uint8_t *scales = read_tensor(dst_dir, dst_idx, sname, &tsc);
    assert_int_equal(ts.dtype, DT_BF16);
    assert_int_equal(ts.rank, 3);
    assert_int_equal(tb.dtype, DT_U8);
    assert_true(tsc.dtype == DT_U8 || tsc.dtype == DT_F8_E8M0);
    uint64_t E = ts.shape[0], K = ts.shape[1], N = ts.shape[2];
    assert_int_equal(K % MXFP4_BLOCK_ELEMS, 0);
    const uint64_t want_b[] = {E, N, K / MXFP4_BLOCK_ELEMS, MXFP4_BLOCK_BYTES};
    assert_int_equal(tb.rank, 4);
    assert_int_equal(tsc.rank, 3);
    for (int d = 0; d < 4; d++)
        assert_int_equal(tb.shape[d], want_b[d]);
    for (int d = 0; d < 3; d++)
        assert_int_equal(tsc.shape[d], want_b[d]);
    /* BF16 is little-endian u16 in the file; this test runs on little-endian hosts */
    const uint16_t *src = (const uint16_t *)(const void *)w;
    requant_count mine = {0};
    requant_compare(base, src, ts.shape, blocks, scales, &mine);
    print_message("%s [%" PRIu64 ", %" PRIu64 ", %" PRIu64 "]: %" PRIu64 " blocks, %" PRIu64
                  " scale bytes and %" PRIu64 " codes differ\n",
                  base, E, K, N, mine.blocks, mine.scale_diff, mine.code_diff);
    c->blocks += mine.blocks;
    c->scale_diff += mine.scale_diff;
    c->code_diff += mine.code_diff;
    free(w);
    free(blocks);
    free(scales);
    free(bname);
    free(sname);
}

/* Every `_blocks` tensor of dst's index is re-quantized from src; returns how
 * many tensors were checked. */
static int requant_checkpoint(const char *src_dir, const char *dst_dir, requant_count *c)
{
    cJSON *src_idx = load_index(src_dir), *dst_idx = load_index(dst_dir);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(dst_idx, "weight_map");
    assert_true(cJSON_IsObject(map));
    int tensors = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, map)
    {
        if (!ends_with(it->string, MXFP4_BLOCKS_SUFFIX))
            continue;
        char *base = xstrdup(it->string);
        base[strlen(base) - strlen(MXFP4_BLOCKS_SUFFIX)] = '\0';
        requant_tensor(src_dir, src_idx, dst_dir, dst_idx, base, c);
        free(base);
        tensors++;
    }
    cJSON_Delete(src_idx);
    cJSON_Delete(dst_idx);
    return tensors;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static void requant_pair(const char *root, const char *src, const char *dst, int want_tensors)
{
    char *src_dir = xasprintf("%s/%s", root, src), *dst_dir = xasprintf("%s/%s", root, dst);
    requant_count c = {0};
    int tensors = requant_checkpoint(src_dir, dst_dir, &c);
    print_message("%s: %d tensors, %" PRIu64 " blocks: %" PRIu64 " scale bytes, %" PRIu64
                  " codes differ\n", dst_dir, tensors, c.blocks, c.scale_diff, c.code_diff);
    assert_int_equal(tensors, want_tensors);
    assert_true(c.blocks > 0);
    assert_int_equal(c.scale_diff, 0);
    assert_int_equal(c.code_diff, 0);
    free(src_dir);
    free(dst_dir);
}

/* The reference converter's output, re-made bit for bit. */
static void test_fixture_requant_bit_exact(void **state)
{
    (void)state;
    char *root = xasprintf("%s/seedconv-small", env_or("MXC_FIXTURES", "../shared/fixtures"));
    requant_pair(root, "bf16", "mxfp4", 4);
    free(root);
}

/* The committed samples (made by tests/tools/gen_sample) follow the same rules. */
static void test_samples_requant_bit_exact(void **state)
{
    (void)state;
    char *root = xasprintf("%s/samples", env_or("MXC_SRCDIR", "."));
    requant_pair(root, "tiny-bf16", "tiny-mxfp4", 4);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2m1_values),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_encode_ties_to_even),
        cmocka_unit_test(test_encode_around_ties),
        cmocka_unit_test(test_encode_saturates),
        cmocka_unit_test(test_encode_signed_zero),
        cmocka_unit_test(test_encode_nan),
        cmocka_unit_test(test_scale_byte),
        cmocka_unit_test(test_scale_byte_denormal),
        cmocka_unit_test(test_inv_scale),
        cmocka_unit_test(test_block_nibble_order),
        cmocka_unit_test(test_quantize_block),
        cmocka_unit_test(test_quantize_zero_block),
        cmocka_unit_test(test_fixture_requant_bit_exact),
        cmocka_unit_test(test_samples_requant_bit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
