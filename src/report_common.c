/* report_common.c - what the report writers share (report_common.h). */
#include "report_common.h"

#include <math.h>
#include <stdlib.h>

#include "text.h"

const report_coverage_list report_coverage_lists[REPORT_COVERAGE_LISTS] = {
    {FIND_SHOULD_KEEP, "should_keep"}, {FIND_SHOULD_QUANTIZE, "should_quantize"},
    {FIND_MISSING, "missing"},         {FIND_EXTRA, "extra"},
    {FIND_STALE_PATTERN, "stale_patterns"}, {FIND_VIEW_MISMATCH, "view_mismatch"},
};

void report_scope_text(const verify_result *r, char *out, size_t len)
{
    char shown[REPORT_SHOWN], shown2[REPORT_SHOWN];
    if (r->scope.complete)
        snprintf(out, len, "%s", "");
    else if (verify_result_stopped(r))
        snprintf(out, len, "partial: the run stopped, SRC or DST could not be read");
    else if (r->scope.shard && r->scope.only)
        snprintf(out, len, "partial: shard %s, --only '%s'", text_escape(r->scope.shard, shown, sizeof shown),
                 text_escape(r->scope.only, shown2, sizeof shown2));
    else if (r->scope.shard)
        snprintf(out, len, "partial: shard %s", text_escape(r->scope.shard, shown, sizeof shown));
    else if (r->scope.only)
        snprintf(out, len, "partial: --only '%s'", text_escape(r->scope.only, shown, sizeof shown));
    else
        snprintf(out, len, "partial");
}

/* Higher is worse; a value that is not a number sorts as the worst. */
static double worse_key(double v)
{
    return isnan(v) ? INFINITY : v;
}

static double excess_key(const verify_tensor *t)
{
    return t->compared && t->kind == VT_QUANTIZED ? worse_key(t->stats.excess) : -1.0;
}

static double rel_l2_key(const verify_tensor *t)
{
    return t->compared ? worse_key(t->stats.rel_l2) : -1.0;
}

int report_cmp_worst(const void *a, const void *b)
{
    const verify_tensor *x = *(const verify_tensor *const *)a, *y = *(const verify_tensor *const *)b;
    if (x->status != y->status)
        return x->status > y->status ? -1 : 1;
    double ex = excess_key(x), ey = excess_key(y);
    if (ex != ey)
        return ex > ey ? -1 : 1;
    double rx = rel_l2_key(x), ry = rel_l2_key(y);
    if (rx != ry)
        return rx > ry ? -1 : 1;
    return strcmp(or_empty(x->name), or_empty(y->name));
}

/* A percentage that never rounds up to 100.00 unless it is 100. */
void report_format_percent(double v, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f", v >= 1.0 ? 100.0 : floor(v * 10000.0) / 100.0);
}

/* prec digits, in scientific notation when sci. */
void report_format_value(double v, int prec, bool sci, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, len, sci ? "%.*e" : "%.*f", prec, v);
}


void report_manifest_text(const result_file *files, size_t n, char *out, size_t len)
{
    uint64_t total = 0;
    size_t hashed = 0;
    for (size_t i = 0; i < n; i++) {
        total += files[i].bytes;
        hashed += files[i].hashed;
    }
    char bytes[64];
    snprintf(out, len, "%zu file%s, %s%s", n, n == 1 ? "" : "s", text_bytes(total, bytes, sizeof bytes),
             n && hashed == n ? ", SHA-256 of each in the JSON report" : "");
}

size_t *report_findings_worst_first(const verify_result *r, severity lowest, size_t *n)
{
    size_t total = nfindings(r), *order = xmalloc((total + 1) * sizeof *order), k = 0;
    for (int s = SEV_ERROR; s >= (int)lowest; s--)
        for (size_t i = 0; i < total; i++) {
            const finding *f = live_finding(r, i);
            if (f && f->sev == (severity)s)
                order[k++] = i;
        }
    *n = k;
    return order;
}
