/* result.h - what a verification found, as data: the one description of a
 * result that verify fills, the report writers read, `report` and `merge`
 * read back from JSON, and the TUI shows.
 *
 * Data only: no function here runs a check or reads a checkpoint. A
 * verify_result owns everything it points to (names are copies). */
#ifndef MXC_RESULT_H
#define MXC_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "finding.h"
#include "scalehist.h"
#include "stats.h"

typedef enum { VT_QUANTIZED, VT_KEPT } vt_kind;
typedef enum { VT_PASS, VT_WARN, VT_FAIL } vt_status;

/* One limit that applied to a tensor, and the rule that set it. */
typedef struct {
    const char *key;          /* "max_rel_l2" (static: policy.h's table) */
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
    uint64_t bytes_src, bytes_dst; /* data bytes on each side (blocks + scales in DST) */
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

/* How the result was produced (SPEC §3 "tool"). */
typedef struct {
    char *version;            /* the tool's version */
    char *backend;            /* "cpu" or "cuda"; NULL when the run stopped before one was up */
    char **devices;           /* what computed: GPU names, or "cpu (N threads)" */
    size_t device_count;
    char **argv;              /* the command line, argv[0] included */
    size_t argc;
    char started[24];         /* "2026-12-02T05:20:07Z"; "" when unknown */
} result_tool;

/* What part of the checkpoint the verdict covers (SPEC §3 "scope"): a run
 * limited by --only or --shard, or stopped by unreadable input, is partial
 * and must never read like a full one. */
typedef struct {
    char *only;               /* the --only glob, or NULL */
    char *shard;              /* "I/N", or NULL */
    bool complete;            /* every tensor of the checkpoints was checked */
} result_scope;

/* One file of a checkpoint: the manifest certifies exact bytes. */
typedef struct {
    char *file;               /* relative to the checkpoint directory */
    uint64_t bytes;
    bool hashed;              /* sha256 holds the file's SHA-256 (--sha256) */
    char sha256[65];
} result_file;

typedef struct {
    result_file *src, *dst;   /* sorted by file name */
    size_t src_count, dst_count;
} result_manifest;

typedef struct {
    char *src, *dst;          /* the checkpoint paths as given */
    result_tool tool;
    result_scope scope;
    result_manifest manifest;
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

/* An empty result for src and dst, with an empty finding list. */
verify_result *verify_result_new(const char *src, const char *dst);

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

/* Sets each tensor's status (and status_finding) from the findings on it
 * (verify_links): the worst severity of the unwaived ones, the first such
 * finding in list order deciding. The one rule for a tensor's status, used
 * by verify and checked by report_read. */
void verify_result_set_statuses(verify_result *r);

/* The tensor of r named name, or -1 (r's tensors are sorted by name). */
ptrdiff_t verify_result_find_tensor(const verify_result *r, const char *name);

#endif
