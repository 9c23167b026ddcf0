/* verify.h - `mxfp4-check verify SRC DST`: the result of a verification and
 * the function that produces it.
 *
 * The result (result.h) is data only: the report writers read it. */
#ifndef MXC_VERIFY_H
#define MXC_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "shard.h"

/* Progress of the comparison pass, for a caller that draws its own (the
 * TUI): tensor bytes read so far and in all, called on the verifying thread. */
typedef void (*verify_progress_fn)(void *ctx, uint64_t done, uint64_t total);

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
    verify_progress_fn on_progress; /* may be NULL */
    void *progress_ctx;
    const atomic_int *cancel; /* may be NULL; set from another thread, the run stops
                                 after the slab at hand: -1, err "cancelled" */
    bool sha256;              /* hash every file of SRC and DST into the manifest */
    shard_spec shard;         /* count 0: the whole checkpoint; else one part of the
                                 plan (shard.h) and a partial report (SPEC §10) */
    char *const *argv;        /* the subcommand's arguments ("verify", SRC, ...) for the
                                 report's tool.argv, which begins "mxfp4-check" (may be NULL) */
    int argc;
} verify_opts;

/* Runs every check of SPEC §3. Returns 0 with *out filled (the policy
 * decides pass/fail from its findings), or -1 with err set for input that
 * cannot be read or parsed (exit 2). On -1, *out is still a result - its
 * provenance, the manifest as far as it could be listed, and one
 * input.unreadable finding carrying err, scope incomplete - so that the
 * reports asked for can still be written (SPEC §2: CI shows red, not "no
 * results"). The caller frees *out either way. */
int verify_run(const verify_opts *o, verify_result **out, char *err, size_t errlen);

int verify_main(int argc, char **argv);

#endif
