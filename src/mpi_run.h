/* mpi_run.h - `verify` under mpirun (an MPI build: `make MPI=1`, SPEC §10):
 * each rank verifies its part of the plan (shard.h), rank 0 gathers the
 * partial reports as JSON text, merges them with merge.h - the same code as
 * `mxfp4-check merge` - and writes the reports; every rank exits with rank
 * 0's status.
 *
 * A rank that stops on unreadable input still sends its (error-only) partial
 * report, so the others never wait for one that will not come, and the merged
 * report carries its fault (exit 2). A rank that dies is mpirun's to end:
 * OpenMPI aborts the job when a process exits without MPI_Finalize. Only this
 * module includes <mpi.h>; it is compiled only into an MPI build. */
#ifndef MXC_MPI_RUN_H
#define MXC_MPI_RUN_H

#include <stdbool.h>

#include "report.h"
#include "verify.h"

/* Whether an MPI launcher started this process (its variables are set). */
bool mpi_run_launched(void);

/* Runs the MPI verification: v as parsed (v->shard is replaced by the rank
 * and size), reports to out (paths as given; rank 0 opens them before any
 * work), rule files loaded on every rank. Returns the exit status, the same
 * on every rank. */
int mpi_run_verify(verify_opts *v, report_targets *out, const char *const *rules, size_t nrules, bool strict,
                   bool quiet);

#endif
