#include "stats.h"

#include <math.h>
#include <string.h>

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
