/* merge.h - the partial reports of a sharded verification (`verify --shard
 * I/N`, SPEC §10) joined into the report of the whole run: the same findings
 * in the same order, the same tensors, counts and statistics as one process
 * verifying everything would give (only the timings and the tool's devices
 * and command line differ). Used by `mxfp4-check merge` and by rank 0 of an
 * MPI run (mpi_run.c), on results read back by report_read.
 *
 * How the order is kept: a plan's parts are contiguous runs of tensors in
 * name order (shard.h), and each part says how many of its findings belong to
 * each phase of verify (result_part): part 0's checkpoint-wide findings come
 * first, then every part's numerics in part order, then every part's
 * diagnoses, then the policy's own findings - where a waiver counts as unused
 * only when it is unused in every part. Statistics are per tensor and a
 * tensor is never split, so they are taken over exactly. */
#ifndef MXC_MERGE_H
#define MXC_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

typedef struct {
    verify_result *r;  /* a partial report; merge_results may take it over (then NULL) */
    const char *name;  /* how messages name it: the file, or "rank 3" */
} merge_part;

typedef enum {
    MERGE_OK,          /* *out is the merged result */
    MERGE_FAULT,       /* a part stopped on input it could not read: *out is that
                          part's error-only result, as a whole run would give (exit 2) */
    MERGE_REFUSED,     /* parts missing, duplicated, of different plans or runs: err
                          names them (a usage error, exit 2); *out is NULL */
} merge_outcome;

/* Merges parts[0..n) (in any order). The caller frees *out and the parts. */
merge_outcome merge_results(merge_part *parts, size_t n, verify_result **out, char *err, size_t errlen);

#endif
