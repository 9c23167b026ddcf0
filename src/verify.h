/* verify.h - `mxfp4-check verify SRC DST`: the result of a verification and
 * the function that produces it.
 *
 * The verify_result owns everything it points to (names are copies); the
 * report writers (report.h) only read it. */
#ifndef MXC_VERIFY_H
#define MXC_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "finding.h"
#include "safetensors.h"
#include "scalehist.h"
#include "stats.h"

typedef enum { VT_QUANTIZED, VT_KEPT } vt_kind;
typedef enum { VT_PASS, VT_WARN, VT_FAIL } vt_status;

/* One limit that applied to a tensor, and the rule that set it. */
typedef struct {
    const char *key;          /* "max_rel_l2" (static) */
    const char *stat;         /* the statistic it bounds: "rel_l2" (static) */
    bool lower_bound;         /* min_*: the statistic must not be below */
    double value;
    char *rule_id, *rule_file;
    unsigned long rule_line;
} verify_limit;

/* The limits of a group of tensors: tensors selected by the same rules share
 * one set (a million tensors, a handful of sets). */
typedef struct {
    verify_limit *items;
    size_t n;
} verify_limit_set;

#define VERIFY_NO_LIMITS UINT32_MAX /* a tensor no limit applied to (kept, not compared) */

typedef struct {
    char *path;               /* as given, or "builtin:NAME" */
    char sha256[65];
    bool builtin;
} verify_policy_file;

typedef struct {
    char *name;               /* source tensor name (raw; escape for display) */
    vt_kind kind;             /* what DST made of it */
    vt_status status;         /* worst severity of this tensor's unwaived findings */
    ptrdiff_t status_finding; /* the finding that set status (its rule decided it), or -1 */
    uint32_t limits;          /* index into verify_result.limit_sets, or VERIFY_NO_LIMITS */
    int rank;
    uint64_t *shape;          /* source shape: rank entries, malloc'ed (never NULL) */
    bool compared;            /* statistics were computed */
    bool identical;           /* kept: bit-identical; quantized: every element equal */
    stats_result stats;       /* valid when compared */
    scale_hist scale_hist;    /* quantized: count per scale byte (255 = NaN) */
} verify_tensor;

typedef struct {
    char *pattern;
    uint64_t matched;         /* source tensors matched, converter view */
    uint64_t matched_loader;  /* source tensors matched, loader view */
} verify_pattern;

typedef struct {
    char *src, *dst;
    char *backend;            /* "cpu" or "cuda" */
    finding_list *findings;
    verify_tensor *tensors;   /* sorted by name */
    size_t tensor_count;
    verify_pattern *patterns; /* in config order */
    size_t pattern_count;
    size_t quantized, kept;
    uint64_t bytes_read;
    double seconds;
    verify_limit_set *limit_sets;
    size_t limit_set_count;
    verify_policy_file *policy_files; /* in the order read */
    size_t policy_file_count;
    char *builtin;            /* the last built-in policy read: "default", "strict", ... */
} verify_result;

typedef struct {
    const char *src, *dst;
    const char *backend;      /* "auto", "cpu", "cuda" */
    const char *gpus;         /* --gpus: "all" (NULL), N or a list (backend.h) */
    const char *only;         /* glob on source tensor names, or NULL */
    int threads;              /* 0: OpenMP default */
    bool progress;            /* progress bar on stderr */
    struct policy *policy;    /* the rules (policy.h; NULL: the built-in default);
                                 the run marks what matched */
    const char *today;        /* "YYYY-MM-DD" (UTC) for waiver expiry */
} verify_opts;

/* Runs every check of SPEC §3. Returns 0 with *out filled (the policy
 * decides pass/fail from its findings), or -1 with err set for input that
 * cannot be read or parsed (exit 2). */
int verify_run(const verify_opts *o, verify_result **out, char *err, size_t errlen);

void verify_result_free(verify_result *r); /* NULL is a no-op */

/* "pass" when no unwaived finding has severity error. */
bool verify_passed(const verify_result *r);

/* Which tensors of a result each finding is on: the tensor its `tensor`
 * field names, and for NAME_blocks / NAME_scales also the logical tensor
 * NAME they stand for. Built once (O(F log T) for F findings and T tensors,
 * which must be sorted by name); every per-tensor use of the findings goes
 * through it (statuses, the diagnosis pass, the JUnit testcases), so none
 * loops over all findings for each tensor. The links see the findings that
 * existed when they were built; they do not own the result. */
typedef struct verify_links verify_links;

verify_links *verify_links_build(const verify_result *r);
void verify_links_free(verify_links *l); /* NULL is a no-op */

/* Indices into r->findings, ascending, of the findings on tensor t (*count
 * of them; the pointer is NULL when there are none). */
const size_t *verify_links_on(const verify_links *l, size_t t, size_t *count);

/* Whether finding i is on some tensor of the result. */
bool verify_links_attached(const verify_links *l, size_t i);

int verify_main(int argc, char **argv);

#endif
