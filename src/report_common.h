/* report_common.h - what the report writers (report_*.c) share; private to
 * them. Each writer reads the result (result.h) only. Findings that the
 * policy turned off (SEV_OFF) appear in no report. */
#ifndef MXC_REPORT_COMMON_H
#define MXC_REPORT_COMMON_H

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "result.h"
#include "util.h"

#define REPORT_SHOWN 512   /* an escaped name in a report line */
#define REPORT_NUM_TEXT 40 /* "%.17g" of any double fits */

static inline size_t nfindings(const verify_result *r)
{
    return r->findings ? findings_count(r->findings) : 0;
}

/* The i-th finding, or NULL when the policy turned it off. */
static inline const finding *live_finding(const verify_result *r, size_t i)
{
    const finding *f = findings_at(r->findings, i);
    return f && f->sev != SEV_OFF ? f : NULL;
}

static inline size_t count_sev(const verify_result *r, severity sev)
{
    return r->findings ? findings_count_sev(r->findings, sev) : 0;
}

static inline size_t count_waived(const verify_result *r)
{
    return r->findings ? findings_count_waived(r->findings) : 0;
}

static inline const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The distinct finding ids met so far. Ids come from the code, not from the
 * input, so there are a few dozen at most: a list is enough. */
typedef struct {
    const char **ids;
    size_t count, cap;
} id_set;

/* Adds id; false when it was already there. */
static inline bool id_set_add(id_set *s, const char *id)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->ids[i], id) == 0)
            return false;
    xgrow(&s->ids, &s->cap, s->count + 1, sizeof *s->ids);
    s->ids[s->count++] = id;
    return true;
}

/* A locale with a decimal comma (the TUI calls setlocale) must not leak into
 * a report. */
static inline void dot_decimal(char *buf)
{
    const char *dp = localeconv()->decimal_point;
    if (!dp || !*dp || strcmp(dp, ".") == 0)
        return;
    char *p = strstr(buf, dp);
    if (!p)
        return;
    size_t n = strlen(dp);
    *p = '.';
    memmove(p + 1, p + n, strlen(p + n) + 1);
}

/* What part of the checkpoints the verdict covers, for people: "" for a
 * complete run, else "partial: --only 'GLOB'" / "partial: shard 2/4" /
 * "partial: the run stopped" (escaped). A partial pass must never read like
 * a full one (SPEC §3). */
void report_scope_text(const verify_result *r, char *out, size_t len);

/* The coverage lists of the JSON report: each is the tensor field of the
 * findings of one id, in order (for coverage.stale_pattern verify puts the
 * pattern there). The writer derives them, the reader checks them. */
typedef struct {
    const char *id, *key;
} report_coverage_list;

extern const report_coverage_list report_coverage_lists[];
#define REPORT_COVERAGE_LISTS 6

/* The live findings of severity lowest or worse, worst first, in list order
 * within a severity - the order every report lists them in: *n indices into
 * r->findings (caller frees; never NULL). */
size_t *report_findings_worst_first(const verify_result *r, severity lowest, size_t *n);

/* One side of the manifest for people: "7 files, 1.76 MB" and, when every
 * file was hashed, ", SHA-256 of each in the JSON report". */
void report_manifest_text(const result_file *files, size_t n, char *out, size_t len);

/* qsort order on const verify_tensor *: failures first, then warnings, each
 * by excess, then rel_l2 (a value that is not a number is the worst), then
 * by name. */
int report_cmp_worst(const void *a, const void *b);

/* A share as a percentage with two decimals that never rounds up to 100.00
 * unless it is 1; "-" when not finite. */
void report_format_percent(double v, char *buf, size_t len);

/* prec digits, in scientific notation when sci; "nan", "inf", "-inf". */
void report_format_value(double v, int prec, bool sci, char *buf, size_t len);

/* Writes a report to out: 0, or -1 with errno set. */
typedef int (*report_emit)(FILE *out, const verify_result *r);

#endif
