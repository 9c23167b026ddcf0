/* policy.h - what counts as a violation: the severity of each finding id and
 * the numeric limits per tensor.
 *
 * Built in: the defaults of rules/default.yaml (errors for structural and
 * coverage faults, non-finite values and kept.modified; warnings for
 * index.total_size, coverage.stale_pattern, coverage.view_mismatch and
 * numerics.requant_mismatch). YAML rule files will override these. */
#ifndef MXC_POLICY_H
#define MXC_POLICY_H

#include "finding.h"

typedef struct {
    double max_rel_l2;  /* numerics.threshold when rel_l2 is above */
    double min_cosine;  /* ... or cosine below */
    double max_excess;  /* ... or rel_l2 / reference rel_l2 above */
} policy_limits;

typedef struct policy policy;

/* The built-in policy (static, never freed). */
const policy *policy_default(void);

/* Severity of finding `id` on `tensor` (NULL for checkpoint-wide findings). */
severity policy_severity(const policy *p, const char *id, const char *tensor);

/* Numeric limits for a tensor. */
void policy_limits_for(const policy *p, const char *tensor, policy_limits *out);

/* Sets every finding's severity from the policy (severity off drops it from
 * counts: it stays listed as SEV_OFF). */
void policy_apply(const policy *p, finding_list *fl);

#endif
