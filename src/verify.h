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
#include "stats.h"

typedef enum { VT_QUANTIZED, VT_KEPT } vt_kind;
typedef enum { VT_PASS, VT_WARN, VT_FAIL } vt_status;

typedef struct {
    char *name;               /* source tensor name (raw; escape for display) */
    vt_kind kind;             /* what DST made of it */
    vt_status status;         /* worst severity of this tensor's findings */
    int rank;
    uint64_t shape[ST_MAX_RANK]; /* source shape */
    bool compared;            /* statistics were computed */
    bool identical;           /* kept: bit-identical; quantized: every element equal */
    stats_result stats;       /* valid when compared */
    uint64_t scale_hist[256]; /* quantized: count per scale byte (255 = NaN) */
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

int verify_main(int argc, char **argv);

#endif
