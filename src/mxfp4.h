/* mxfp4.h - MXFP4 as GPT-OSS stores it, described once.
 *
 * Included by the CPU code and by the kernels in kernels/, so the constants, the E2M1
 * table and the reference quantizer's rounding rules exist in one place and
 * both backends agree bit for bit. Functions here are header-inline and
 * marked for host and device when compiled by nvcc.
 *
 * Storage: `W_blocks` U8 [*prefix, G, 16] (32 E2M1 codes per block, element
 * 2i in the LOW nibble of byte i), `W_scales` U8 or F8_E8M0 [*prefix, G], one
 * E8M0 exponent per block: value 2^(byte - 127), byte 0xFF is NaN. */
#ifndef MXC_MXFP4_H
#define MXC_MXFP4_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define MXFP4_HD __host__ __device__
#else
#define MXFP4_HD
#endif

#define MXFP4_BLOCK_ELEMS 32      /* elements per scale */
#define MXFP4_BLOCK_BYTES 16      /* two E2M1 codes per byte */
#define MXFP4_SCALE_BIAS 127      /* E8M0: value = 2^(byte - bias) */
#define MXFP4_SCALE_NAN 0xFFu     /* OCP MX v1.0: NaN, must be reported */
#define MXFP4_E2M1_MAX 6.0f       /* largest E2M1 magnitude */
#define MXFP4_CODE_SIGN 0x8u      /* codes 8..15 are 0..7 negated */
#define MXFP4_BLOCKS_SUFFIX "_blocks"
#define MXFP4_SCALES_SUFFIX "_scales"

/* ROUND_UP of the reference quantizer: adding this to the float32 bits of
 * amax/6 and keeping only the exponent rounds up to a power of two. */
#define MXFP4_ROUND_UP_ADD 0x007FFFFFu
#define MXFP4_F32_EXP_MASK 0x7F800000u
#define MXFP4_F32_MANT_BITS 23

/* The midpoints between neighbouring E2M1 magnitudes, where rounding changes
 * code. Ties go to the even code: TIE_0, 2, 4, 6 are passed with >, TIE_1, 3,
 * 5 with >= (0.25 -> 0, 0.75 -> 1.0, 1.25 -> 1.0, 1.75 -> 2.0, 2.5 -> 2.0,
 * 3.5 -> 4.0, 5 -> 4.0; above 5: 6, saturating). */
#define MXFP4_E2M1_TIE_0 0.25f
#define MXFP4_E2M1_TIE_1 0.75f
#define MXFP4_E2M1_TIE_2 1.25f
#define MXFP4_E2M1_TIE_3 1.75f
#define MXFP4_E2M1_TIE_4 2.5f
#define MXFP4_E2M1_TIE_5 3.5f
#define MXFP4_E2M1_TIE_6 5.0f

/* E2M1 code -> value (as float: all exact). */
#define MXFP4_E2M1_VALUES \
    { 0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f, \
     -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f }

MXFP4_HD static inline uint32_t mxfp4_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

MXFP4_HD static inline float mxfp4_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* BF16 is the top half of a float32. */
MXFP4_HD static inline float mxfp4_bf16_to_f32(uint16_t b)
{
    return mxfp4_f32_from_bits((uint32_t)b << 16);
}

/* Value of one E2M1 code (low 4 bits of `code`). */
MXFP4_HD static inline float mxfp4_e2m1_value(unsigned code)
{
    /* computed rather than looked up, so it needs no __constant__ copy on the
     * device: codes 0..7 = 0, .5, 1, 1.5 (m/2), then 2^(e-1) * 1.m */
    unsigned m = code & 7u;
    float mag = m < 4 ? 0.5f * (float)m : (float)(1u << ((m >> 1) - 1)) * (m & 1u ? 1.5f : 1.0f);
    return (code & MXFP4_CODE_SIGN) ? -mag : mag;
}

/* The reference quantizer's scale byte for a block whose max |x| is amax:
 * s = amax / 6 in float32, rounded UP to a power of two through its bits.
 * amax 0 gives byte 0. */
MXFP4_HD static inline uint8_t mxfp4_ref_scale_byte(float amax)
{
    float s = amax / MXFP4_E2M1_MAX;
    uint32_t e = (mxfp4_f32_bits(s) + MXFP4_ROUND_UP_ADD) & MXFP4_F32_EXP_MASK;
    return (uint8_t)(e >> MXFP4_F32_MANT_BITS);
}

/* 1/scale as the reference computes it (float32); 0 when the scale is 0. */
MXFP4_HD static inline float mxfp4_ref_inv_scale(uint8_t scale_byte)
{
    float scale = mxfp4_f32_from_bits((uint32_t)scale_byte << MXFP4_F32_MANT_BITS);
    return scale == 0.0f ? 0.0f : 1.0f / scale;
}

/* Nearest E2M1 code to q (already divided by the scale), ties to even,
 * saturating at +-6. Ties to even: the converter rounds this way, so codes
 * match bit for bit. The sign is kept even when the magnitude rounds to 0
 * (-0 is code 8), as the converter's bit-level encoding does. */
MXFP4_HD static inline uint8_t mxfp4_ref_encode(float q)
{
    /* NaN becomes +6 (code 7) whatever its sign bit: that bit is not portable
     * (x86 makes inf * 0 a negative NaN, CUDA a positive one), and the CPU and
     * GPU backends must agree code for code */
    unsigned sign = (mxfp4_f32_bits(q) >> 31) && q == q ? MXFP4_CODE_SIGN : 0u;
    float m = q < 0 ? -q : q;
    /* the code is the number of rounding boundaries m lies beyond; a boundary
     * taken with >= rounds its tie up to the even code, with > down to it.
     * Branch-free, so it vectorizes on the CPU and does not diverge on the GPU. */
    unsigned code = (unsigned)(m > MXFP4_E2M1_TIE_0) + (unsigned)(m >= MXFP4_E2M1_TIE_1)
                  + (unsigned)(m > MXFP4_E2M1_TIE_2) + (unsigned)(m >= MXFP4_E2M1_TIE_3)
                  + (unsigned)(m > MXFP4_E2M1_TIE_4) + (unsigned)(m >= MXFP4_E2M1_TIE_5)
                  + (unsigned)(m > MXFP4_E2M1_TIE_6);
    code = m != m ? 7u : code; /* NaN saturates, as the converter's bit-level encoding does */
    return (uint8_t)(sign | code);
}

/* Quantizes one block of 32 floats with the reference quantizer. */
MXFP4_HD static inline void mxfp4_ref_quantize_block(const float *x, uint8_t *scale_byte,
                                                     uint8_t codes[MXFP4_BLOCK_ELEMS])
{
    /* max is exact in any order: four running maxima let the loop vectorize;
     * NaN never compares greater, so it is skipped as a serial loop would */
    float lane[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i += 4)
        for (int l = 0; l < 4; l++) {
            float a = x[i + l] < 0 ? -x[i + l] : x[i + l];
            lane[l] = a > lane[l] ? a : lane[l];
        }
    float amax = lane[0];
    for (int l = 1; l < 4; l++)
        amax = lane[l] > amax ? lane[l] : amax;
    uint8_t sb = mxfp4_ref_scale_byte(amax);
    float inv = mxfp4_ref_inv_scale(sb);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
        codes[i] = mxfp4_ref_encode(x[i] * inv);
    *scale_byte = sb;
}

/* 2^e as a double, exactly, for the exponents a scale byte can give
 * (|e| < 1000), built from its bits so host and device agree without libm. */
MXFP4_HD static inline double mxfp4_pow2(int e)
{
    uint64_t bits = (uint64_t)(e + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* How an exporter may have laid out the 32 codes of a block. Only
 * MXFP4_ORDER_REFERENCE is GPT-OSS's; the others are real conventions that
 * verify recognises when DST was written in them (SPEC §3). */
typedef enum {
    MXFP4_ORDER_REFERENCE,   /* element 2i in the LOW nibble of byte i */
    MXFP4_ORDER_NIBBLE_SWAP, /* element 2i in the HIGH nibble of byte i (MLX's codec) */
    MXFP4_ORDER_NIBBLE_SPLIT /* ggml: element j in the low nibble of byte j, j+16 in the high */
} mxfp4_order;

/* How an exporter may have encoded a block's scale. */
typedef enum {
    MXFP4_SCALE_E8M0,  /* value 2^(byte - 127 - k): k 0 is the reference, others a wrong bias */
    MXFP4_SCALE_SIGNED /* value 2^byte, byte a two's-complement exponent (MLX's codec) */
} mxfp4_scale_code;

/* Code of element i of a 16-byte block stored in element order `order`. */
MXFP4_HD static inline unsigned mxfp4_block_code_in(const uint8_t *block, int i, mxfp4_order order)
{
    if (order == MXFP4_ORDER_NIBBLE_SPLIT)
        return i < MXFP4_BLOCK_BYTES ? block[i] & 0xFu : (unsigned)(block[i - MXFP4_BLOCK_BYTES] >> 4);
    uint8_t b = block[i >> 1];
    bool high = (i & 1) != (order == MXFP4_ORDER_NIBBLE_SWAP);
    return high ? (unsigned)(b >> 4) : (unsigned)(b & 0xFu);
}

/* The value a stored scale byte stands for when decoded as `code` (for
 * E8M0 with the exponent bias 127 + bias_k; bias_k 0 is the faithful
 * reading, others replay an exporter's mistake): an E8M0 0xFF is NaN. */
MXFP4_HD static inline double mxfp4_scale_value(uint8_t byte, mxfp4_scale_code code, int bias_k)
{
    if (code == MXFP4_SCALE_SIGNED)
        return mxfp4_pow2((int)(int8_t)byte);
    if (byte == MXFP4_SCALE_NAN) {
        uint64_t nan_bits = UINT64_C(0x7FF8000000000000);
        double d;
        memcpy(&d, &nan_bits, sizeof d);
        return d;
    }
    return mxfp4_pow2((int)byte - MXFP4_SCALE_BIAS - bias_k);
}

/* The reference quantizer's scale as a value: 2^(byte - 127), 0xFF included
 * (an infinite block gives it; it then has no NaN meaning). */
MXFP4_HD static inline double mxfp4_ref_scale_value(uint8_t byte)
{
    return mxfp4_pow2((int)byte - MXFP4_SCALE_BIAS);
}

/* Code of element i of a 16-byte block. */
MXFP4_HD static inline unsigned mxfp4_block_code(const uint8_t *block, int i)
{
    return mxfp4_block_code_in(block, i, MXFP4_ORDER_REFERENCE);
}


#endif
