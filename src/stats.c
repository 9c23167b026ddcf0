#include "stats.h"

#include <math.h>
#include <string.h>

void stats_init(stats_acc *a)
{
    memset(a, 0, sizeof *a);
    a->max_abs_err_index = UINT64_MAX;
}

void stats_merge(stats_acc *a, const stats_acc *b)
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

static double ratio_or(double num, double den, double both_zero)
{
    if (den == 0.0)
        return num == 0.0 ? both_zero : INFINITY;
    return num / den;
}

void stats_finish(const stats_acc *a, stats_result *r)
{
    memset(r, 0, sizeof *r);
    double n = (double)a->n;
    r->max_abs_err = a->max_abs_err;
    r->max_abs_err_index = a->n ? a->max_abs_err_index : 0;
    r->mean_abs_err = a->n ? a->sum_abs_err / n : 0.0;
    r->rmse = a->n ? sqrt(a->sum_sq_err / n) : 0.0;
    r->rel_l2 = sqrt(ratio_or(a->sum_sq_err, a->sum_sq_src, 0.0));
    double norms = sqrt(a->sum_sq_src) * sqrt(a->sum_sq_deq);
    r->cosine = norms == 0.0 ? (a->sum_sq_src == a->sum_sq_deq ? 1.0 : 0.0) : a->dot / norms;
    r->snr_db = a->sum_sq_err == 0.0 ? INFINITY : 10.0 * log10(a->sum_sq_src / a->sum_sq_err);
    r->nonfinite = a->nonfinite;
    uint64_t total = a->n + a->nonfinite;
    r->equal_fraction = total ? (double)a->equal / (double)total : 1.0;
    r->codes_identical = a->codes_total ? (double)a->codes_equal / (double)a->codes_total : 1.0;
    r->scales_identical = a->scales_total ? (double)a->scales_equal / (double)a->scales_total : 1.0;
    r->ref_rel_l2 = sqrt(ratio_or(a->ref_sum_sq_err, a->sum_sq_src, 0.0));
    r->excess = ratio_or(r->rel_l2, r->ref_rel_l2, 1.0);
}
