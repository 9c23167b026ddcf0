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

typedef struct {
    char *name;               /* source tensor name (raw; escape for display) */
    vt_kind kind;             /* what DST made of it */
    vt_status status;         /* worst severity of this tensor's findings */
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
} verify_result;

typedef struct {
    const char *src, *dst;
    const char *backend;      /* "auto", "cpu", "cuda" */
    const char *only;         /* glob on source tensor names, or NULL */
    int threads;              /* 0: OpenMP default */
    bool progress;            /* progress bar on stderr */
} verify_opts;

/* Runs every check of SPEC §3. Returns 0 with *out filled (the policy
 * decides pass/fail from its findings), or -1 with err set for input that
 * cannot be read or parsed (exit 2). */
int verify_run(const verify_opts *o, verify_result **out, char *err, size_t errlen);

void verify_result_free(verify_result *r); /* NULL is a no-op */

/* "pass" when no finding has severity error. */
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
