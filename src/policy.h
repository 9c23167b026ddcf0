/* policy.h - what counts as a violation: the rules of SPEC §7 as data, and
 * the decisions made from them.
 *
 * A policy is an ordered list of rules, finding severities, waivers and
 * require_not_converted patterns, gathered from rule files (rules.h builds
 * it; this module never sees YAML). For each (tensor, check) the LAST rule
 * that selects the tensor and sets the check decides, across all files; a
 * rule decides only the checks it sets. A finding raised by a rule takes the
 * rule's severity when it has one; every other finding takes the last
 * matching entry of a findings: section, else the default of the finding
 * table (finding.h). Waivers then mark findings as accepted exceptions.
 *
 * Ownership: the policy owns every rule, string and compiled selector. It
 * keeps what a run learns (which rules and waivers matched), so use one
 * policy per run. Not thread-safe (regex selectors keep match data). */
#ifndef MXC_POLICY_H
#define MXC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "finding.h"
#include "pyre.h"
#include "stats.h"

/* The checks a rule can set for a tensor: its expectation and its limits.
 * One table (policy_check_info) names them for rule files and reports. */
typedef enum {
    PC_MAX_REL_L2, PC_MIN_COSINE, PC_MAX_EXCESS, PC_MIN_CODES_IDENTICAL, PC_MIN_SCALES_IDENTICAL,
    PC_MAX_ABS_ERR, PC_MAX_MEAN_ABS_ERR, PC_MAX_RMSE, PC_MIN_SNR_DB, PC_MAX_NONFINITE,
    PC_LIMIT_COUNT,          /* the limits come first */
    PC_EXPECT = PC_LIMIT_COUNT,
    PC_COUNT
} policy_check;

typedef struct {
    const char *key;   /* as written in rule files: "max_rel_l2", "expect" */
    const char *stat;  /* the statistic in reports: "rel_l2" (NULL for expect) */
    bool lower_bound;  /* min_*: the statistic must not be below the limit */
    double lo, hi;     /* the values a rule may set */
} policy_check_info;

const policy_check_info *policy_check_at(policy_check c);
bool policy_check_from_key(const char *key, policy_check *out);

/* The statistic a limit applies to, from a tensor's statistics. */
double policy_stat(const stats_result *s, policy_check c);

/* True when value is past limit c (NaN is past every limit: a statistic that
 * could not be computed never passes). */
bool policy_violates(policy_check c, double value, double limit);

typedef enum { EXPECT_UNSET, EXPECT_QUANTIZED, EXPECT_KEPT, EXPECT_ABSENT } policy_expect;
const char *policy_expect_name(policy_expect e); /* "quantized", "kept", "absent" */

/* Where something was written: file as shown in reports, 1-based line and
 * column. */
typedef struct {
    const char *file;
    unsigned long line, column;
} policy_origin;

typedef struct policy_selectors policy_selectors; /* compiled select/exclude lists */

typedef struct {
    const char *id;
    policy_origin at;
    policy_selectors *select, *exclude;
    policy_expect expect;
    bool has_limit[PC_LIMIT_COUNT];
    double limit[PC_LIMIT_COUNT];
    bool has_severity;
    severity sev;
    bool matched;              /* selected a tensor during this run */
} policy_rule;

typedef struct policy policy;

/* ---- building (rules.h) ------------------------------------------------- */

policy *policy_new(void);
void policy_free(policy *p); /* NULL is a no-op */

/* A selector list from texts: bare text is a glob with the converter's
 * semantics (anchored, `*` crosses dots), "re:..." a Python regex matched in
 * full. Returns NULL with err and *bad (the index of the faulty text) set
 * when a regex does not compile. n == 0 gives an empty list (matches
 * nothing). */
policy_selectors *policy_selectors_new(const char *const *texts, size_t n, char *err,
                                       size_t errlen, size_t *bad);
void policy_selectors_free(policy_selectors *s);
/* PYRE_MATCH when some selector of s matches name, PYRE_LIMIT (err set) when
 * a regex reached a limit on it. NULL or empty lists match nothing. */
pyre_result policy_selectors_match(const policy_selectors *s, const char *name, char *err,
                                   size_t errlen);

/* Adds a copy of r (id and file copied; select/exclude taken over). Returns
 * the stored rule, or NULL when its id is taken, with *first set to the
 * existing rule. */
policy_rule *policy_add_rule(policy *p, const policy_rule *r, const policy_rule **first);
/* The rule of that id, or NULL. */
const policy_rule *policy_find_rule(const policy *p, const char *id);

/* A findings: entry: severity of finding id, on tensors matching select
 * (NULL: every finding of the id). Takes select over. */
void policy_add_severity(policy *p, const char *id, severity sev, policy_selectors *select,
                         policy_origin at);

/* A waiver of finding id or of rule `rule` (exactly one non-NULL), on
 * tensors matching select (NULL: all), with its reason and optional expiry
 * ("YYYY-MM-DD", checked by the caller). Takes select over. */
void policy_add_waiver(policy *p, const char *finding_id, const char *rule, policy_selectors *select,
                       const char *reason, const char *expires, policy_origin at);

/* A require_not_converted pattern (converter semantics). */
void policy_add_required(policy *p, const char *pattern, policy_origin at);

/* --strict: after every rule has decided, a warning is an error. */
void policy_set_warnings_are_errors(policy *p);

/* A file the policy was read from, for provenance (SHA-256 in hex). */
void policy_add_file(policy *p, const char *path, const char *sha256_hex, bool builtin);

/* ---- deciding ------------------------------------------------------------ */

/* The rules that select one tensor (select matches, exclude does not), in
 * policy order; marks them and the waivers selecting it as matched. */
typedef struct {
    uint32_t *rules;
    size_t n;
} policy_match;

/* Fills m for tensor. -1 with err set when a regex selector reached a PCRE2
 * limit on this name (the run must stop: a limit must not decide). */
int policy_match_tensor(policy *p, const char *tensor, policy_match *m, char *err, size_t errlen);
void policy_match_free(policy_match *m);

/* The rule deciding check c for a matched tensor, or NULL when no rule sets
 * it; *overridden (may be NULL) receives how many earlier matching rules also
 * set it. */
const policy_rule *policy_decide(const policy *p, const policy_match *m, policy_check c,
                                 size_t *overridden);
/* The k-th (0 = latest) rule of m setting check c, for `rules explain`. */
const policy_rule *policy_setter(const policy *p, const policy_match *m, policy_check c, size_t k);

/* Sets the severity and provenance of every finding (those with rule.id set
 * were raised by that rule), marks the waived ones, and appends the findings
 * about the policy itself: rules.waiver_expired for waivers past `today`
 * ("YYYY-MM-DD"), rules.waiver_unused, rules.select_unmatched for rules and
 * waivers that selected no tensor. -1 with err when a regex selector reached
 * a limit. */
int policy_apply(policy *p, finding_list *fl, const char *today, char *err, size_t errlen);

size_t policy_required_count(const policy *p);
const char *policy_required_at(const policy *p, size_t i, policy_origin *at);

size_t policy_waiver_count(const policy *p);
/* The rule id waiver i waives (NULL for a waiver of a finding id). */
const char *policy_waiver_rule_at(const policy *p, size_t i, policy_origin *at);

size_t policy_file_count(const policy *p);
const char *policy_file_at(const policy *p, size_t i, const char **sha256_hex, bool *builtin);

size_t policy_rule_count(const policy *p);
const policy_rule *policy_rule_at(const policy *p, size_t i);

/* The severity a findings: entry or the table gives finding id on tensor
 * (NULL: checkpoint-wide), with the entry's place in *at (file NULL for the
 * table's default). -1 on a regex limit. */
int policy_severity_of(policy *p, const char *id, const char *tensor, severity *sev,
                       policy_origin *at, char *err, size_t errlen);

#endif
