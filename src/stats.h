/* stats.h - error statistics of a dequantized tensor against its source.
 *
 * Sums are kept in double. An accumulator covers any part of a tensor; parts
 * are merged in a fixed order (by position in the tensor, never by thread),
 * so a report does not depend on the thread count. Element positions are
 * linear indices in the SOURCE tensor's row-major order.
 *
 * The accumulator's functions are header-inline and marked for host and
 * device: the CUDA kernels accumulate with the very same code as the CPU. */
#ifndef MXC_STATS_H
#define MXC_STATS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define STATS_HD __host__ __device__
#else
#define STATS_HD
#endif

#ifdef __cplusplus
extern "C" { /* included by the CUDA backend */
#endif

typedef struct {
    uint64_t n;            /* elements compared (finite on both sides) */
    uint64_t nonfinite;    /* elements where source or dequantized is NaN/inf */
    uint64_t equal;        /* dequantized == source exactly */
    double sum_abs_err;
    double sum_sq_err;
    double sum_sq_src;
    double sum_sq_deq;
    double dot;            /* sum src * deq */
    double max_abs_err;
    uint64_t max_abs_err_index; /* smallest source index attaining max_abs_err */
    /* re-quantization with the reference quantizer */
    uint64_t codes_equal, codes_total;
    uint64_t scales_equal, scales_total;
    double ref_sum_sq_err;
} stats_acc;

typedef struct {
    double max_abs_err;
    uint64_t max_abs_err_index;
    double mean_abs_err, rmse, rel_l2, cosine, snr_db;
    uint64_t nonfinite;
    double equal_fraction;
    double codes_identical, scales_identical, ref_rel_l2, excess;
} stats_result;

STATS_HD static inline void stats_init(stats_acc *a)
{
    memset(a, 0, sizeof *a);
    a->max_abs_err_index = UINT64_MAX; /* no element yet: any index is smaller */
}

/* Adds one element pair. */
STATS_HD static inline void stats_add(stats_acc *a, uint64_t index, double src, double deq)
{
    double d = deq - src;
    if (!(d - d == 0.0) || !(src - src == 0.0)) { /* NaN or inf on either side */
        a->nonfinite++;
        return;
    }
    double ad = fabs(d); /* an error of -0 (DST's code 8 for a source 0) is a max error of +0 */
    a->n++;
    a->equal += d == 0.0;
    a->sum_abs_err += ad;
    a->sum_sq_err += d * d;
    a->sum_sq_src += src * src;
    a->sum_sq_deq += deq * deq;
    a->dot += src * deq;
    if (ad > a->max_abs_err || (ad == a->max_abs_err && index < a->max_abs_err_index)) {
        a->max_abs_err = ad;
        a->max_abs_err_index = index;
    }
}

/* Merges b into a (order matters only in the last bits of the sums). */
STATS_HD static inline void stats_merge(stats_acc *a, const stats_acc *b)
{
    a->n += b->n;
    a->nonfinite += b->nonfinite;
    a->equal += b->equal;
    a->sum_abs_err += b->sum_abs_err;
    a->sum_sq_err += b->sum_sq_err;
    a->sum_sq_src += b->sum_sq_src;
    a->sum_sq_deq += b->sum_sq_deq;
    a->dot += b->dot;
    if (b->max_abs_err > a->max_abs_err ||
        (b->max_abs_err == a->max_abs_err && b->max_abs_err_index < a->max_abs_err_index)) {
        a->max_abs_err = b->max_abs_err;
        a->max_abs_err_index = b->max_abs_err_index;
    }
    a->codes_equal += b->codes_equal;
    a->codes_total += b->codes_total;
    a->scales_equal += b->scales_equal;
    a->scales_total += b->scales_total;
    a->ref_sum_sq_err += b->ref_sum_sq_err;
}

/* Final statistics. Conventions for degenerate tensors: rel_l2 is 0 when
 * source and error are both 0 (and +inf when only the source is 0); cosine is
 * 1 when both vectors are 0; snr_db is +inf when the error is 0; excess is 1
 * when both errors are 0. */
void stats_finish(const stats_acc *a, stats_result *r);

#ifdef __cplusplus
}
#endif

#endif
