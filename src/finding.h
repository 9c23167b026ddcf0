/* finding.h - the findings of a check, with their stable ids.
 *
 * A finding list is owned by whoever created it; each finding owns copies of
 * its strings. Ids are the ones of SPEC §3 (FIND_* below), so gates and rule
 * files can name them. */
#ifndef MXC_FINDING_H
#define MXC_FINDING_H

#include <stdbool.h>
#include <stddef.h>

#define FIND_INPUT_UNREADABLE "input.unreadable"
#define FIND_HEADER "safetensors.header"
#define FIND_INDEX_MISMATCH "index.mismatch"
#define FIND_INDEX_TOTAL_SIZE "index.total_size"
#define FIND_CONFIG_QUANT "config.quantization"
#define FIND_CONFIG_MODIFIED "config.modified"
#define FIND_FILES_COPIED "files.copied"
#define FIND_PAIRING "mxfp4.pairing"
#define FIND_SCALE_NAN "mxfp4.scale_nan"
#define FIND_SHOULD_KEEP "coverage.should_keep"
#define FIND_SHOULD_QUANTIZE "coverage.should_quantize"
#define FIND_MISSING "coverage.missing"
#define FIND_EXTRA "coverage.extra"
#define FIND_STALE_PATTERN "coverage.stale_pattern"
#define FIND_VIEW_MISMATCH "coverage.view_mismatch"
#define FIND_KEPT_MODIFIED "kept.modified"
#define FIND_THRESHOLD "numerics.threshold"
#define FIND_NONFINITE "numerics.nonfinite"
#define FIND_REQUANT_MISMATCH "numerics.requant_mismatch"
#define FIND_DIAGNOSIS "numerics.diagnosis"
#define FIND_WAIVER_EXPIRED "rules.waiver_expired"
#define FIND_WAIVER_UNUSED "rules.waiver_unused"
#define FIND_SELECT_UNMATCHED "rules.select_unmatched"
#define FIND_REQUIRE_NOT_CONVERTED "rules.require_not_converted"

typedef enum { SEV_OFF = 0, SEV_INFO, SEV_WARN, SEV_ERROR } severity;

/* What a finding id is about; reports group by it (JUnit classnames). */
typedef enum { FG_STRUCTURE, FG_COVERAGE, FG_NUMERICS, FG_RULES } finding_group;

/* The one table of finding ids (SPEC §3): the policy takes default
 * severities from it (rules/default.yaml states the same, a test keeps them
 * in step), the reports their groups, `--help` and the man page the
 * meanings. */
typedef struct {
    const char *id;          /* one of FIND_* */
    severity default_sev;
    finding_group group;
    const char *meaning;     /* one line, for --help, the man page and the TUI */
} finding_kind;

size_t finding_kind_count(void);
const finding_kind *finding_kind_at(size_t i);      /* table order; NULL past the end */
const finding_kind *finding_kind_find(const char *id); /* NULL for an unknown id */
const char *finding_group_name(finding_group g);   /* "structure", "coverage", ... */

/* The causes a numerics.diagnosis names (SPEC §3). A finding's cause is one
 * or more of them joined by '+', at most one of each axis (layout, element
 * order, scale encoding), in this order. */
#define CAUSE_MISSING_TRANSPOSE "missing_transpose"
#define CAUSE_NIBBLE_SWAP "nibble_swap"   /* element 2i in the high nibble */
#define CAUSE_NIBBLE_SPLIT "nibble_split" /* ggml: element j low in byte j, j+16 high */
#define CAUSE_SCALE_BIAS "scale_bias"     /* E8M0 with bias 127 + k (the finding's k) */
#define CAUSE_SCALE_SIGNED "scale_signed" /* unbiased two's-complement exponents */
#define CAUSE_SEPARATOR '+'

/* Whether text is a cause as above. */
bool finding_cause_valid(const char *text);
/* Whether cause (valid or not) names `one` among its parts. */
bool finding_cause_has(const char *cause, const char *one);

/* Where a finding's severity (or its limit) came from: a rule of a rule file,
 * or an entry of its findings: section. file is the name as shown in
 * reports. The finding owns the strings (finding_set_rule). */
typedef struct {
    char *id;                /* the rule's id; NULL for a findings: entry */
    char *file;              /* NULL: the finding table's default decided */
    unsigned long line;
} finding_rule;

typedef struct {
    char *id;       /* one of FIND_* */
    severity sev;
    char *tensor;   /* raw name from the file, or NULL; escape before display */
    char *file;     /* file name relative to its checkpoint, or NULL */
    char *message;  /* already escaped, printable */
    char *cause;    /* numerics.diagnosis only: CAUSE_* joined by '+' */
    int scale_bias_k; /* cause has scale_bias: the exponent offset k */
    finding_rule rule;        /* what decided the severity; a rule that raises a
                                 finding sets rule.id first, the policy the rest */
    bool waived;              /* an accepted exception: listed, counted apart, not failing */
    char *waiver_reason;      /* when waived */
    char *waiver_expires;     /* "YYYY-MM-DD" or NULL */
    finding_rule waiver;      /* the waiver's place (id: the rule it waives, if by rule) */
} finding;

/* Copies id, file into r (freeing what it held); NULLs allowed. */
void finding_set_rule(finding_rule *r, const char *id, const char *file, unsigned long line);

/* Marks f waived with copies of reason and expires (may be NULL). */
void finding_set_waiver(finding *f, const char *reason, const char *expires, const char *rule_id,
                        const char *file, unsigned long line);

typedef struct finding_list finding_list;

finding_list *findings_new(void);
void findings_free(finding_list *fl); /* NULL is a no-op */

/* Appends a finding; message is printf-formatted. A finding of severity
 * SEV_OFF is dropped. Returns the new finding (NULL when dropped), so the
 * caller can set cause. Aborts on allocation failure (out of memory is not an
 * input error). */
finding *findings_add(finding_list *fl, const char *id, severity sev, const char *tensor,
                      const char *file, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Frees the first n findings (all when n is past the end); the rest move up. */
void findings_remove_front(finding_list *fl, size_t n);

/* Appends a deep copy of f (from any list); returns it. */
finding *findings_append_copy(finding_list *fl, const finding *f);

/* Every field of a and b is the same (strings compared as text). */
bool finding_equal(const finding *a, const finding *b);

size_t findings_count(const finding_list *fl);
const finding *findings_at(const finding_list *fl, size_t i);
finding *findings_mut(finding_list *fl, size_t i); /* for the policy to set severities */
/* Findings of severity sev that are not waived. */
size_t findings_count_sev(const finding_list *fl, severity sev);
size_t findings_count_waived(const finding_list *fl);

const char *severity_name(severity sev); /* "error", "warn", "info", "off" */

#endif
