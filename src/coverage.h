/* coverage.h - which source tensors DST kept or quantized, against what its
 * modules_to_not_convert patterns say (SPEC §3 "Coverage").
 *
 * Every source tensor is expected-kept (a pattern matches, converter view) or
 * expected-quantized (none does), and found kept, quantized or missing in DST.
 * The coverage owns its entries and pattern counts; entries point into the two
 * checkpoints, which must outlive it. */
#ifndef MXC_COVERAGE_H
#define MXC_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "finding.h"
#include "policy.h"

typedef enum { COV_KEPT, COV_QUANTIZED, COV_MISSING } cov_found;

typedef struct {
    const ckpt_logical *src;  /* the source tensor */
    const ckpt_logical *dst;  /* its form in DST, NULL when missing */
    bool expect_kept;         /* a rule says kept, or none says and a pattern matches */
    bool expect_absent;       /* a rule says it must not be in DST */
    const char *expect_rule;  /* the rule that decided (owned by the policy), or NULL */
    int pattern;              /* index of the first matching pattern, -1 none */
    bool loader_keeps;        /* a pattern matches in the loader view */
    cov_found found;
    bool unpaired;            /* missing, but DST holds its _blocks/_scales that made no pair:
                                 the mxfp4.pairing finding is the one to report */
} cov_entry;

typedef struct {
    const char *pattern;      /* owned by the DST checkpoint's config */
    uint64_t matched, matched_loader;
} cov_pattern;

typedef struct coverage coverage;

/* What a rule expects of source tensor `name`: EXPECT_UNSET (and rule_id
 * NULL) leaves it to the config's patterns. Returns 0, or -1 to stop (the
 * callback keeps its reason). */
typedef int (*cov_expect_fn)(void *ctx, const char *name, policy_expect *expect, const char **rule_id);

/* Classifies every source tensor whose name matches `only` (fnmatch glob; NULL
 * for all) and appends coverage.* findings to fl; a rule's expectation
 * (expect_of, may be NULL) beats the config's patterns, and the findings it
 * causes name the rule (finding.rule.id). Pattern counts are over all
 * source tensors, so a stale pattern is stale whatever --only says. Returns
 * NULL with err set when a pattern cannot be matched in the loader view (a
 * PCRE2 limit: the config is refused, exit 2, rather than judged). */
coverage *coverage_build(const ckpt *src, const ckpt *dst, const char *only, cov_expect_fn expect_of,
                         void *expect_ctx, finding_list *fl, char *err, size_t errlen);
void coverage_free(coverage *cv); /* NULL is a no-op */

size_t coverage_count(const coverage *cv);
const cov_entry *coverage_at(const coverage *cv, size_t i); /* sorted by name */
size_t coverage_pattern_count(const coverage *cv);
const cov_pattern *coverage_pattern_at(const coverage *cv, size_t i);

#endif
