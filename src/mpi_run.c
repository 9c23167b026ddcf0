/* mpi_run.c - verify under mpirun (mpi_run.h). */
#include "mpi_run.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "merge.h"
#include "policy.h"
#include "report_read.h"
#include "safetensors.h"
#include "util.h"

#define CHUNK ((size_t)1 << 30) /* MPI counts are int: a report goes in pieces */
#define TAG_LEN 1
#define TAG_TEXT 2

bool mpi_run_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* The worst status of any rank, known to all. */
static int agree(int status)
{
    int worst = status;
    MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

/* Stops every rank with a message (memory, or MPI itself failing). */
static void abort_all(const char *what)
{
    fprintf(stderr, "mxfp4-check verify: %s\n", what);
    MPI_Abort(MPI_COMM_WORLD, EXIT_INPUT);
    exit(EXIT_INPUT);
}

/* r as the JSON report text (what `verify --shard I/N --json` writes). */
static char *serialize(const verify_result *r, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f || report_emit_json(f, r) < 0 || fclose(f) != 0)
        abort_all("cannot serialize this rank's partial report (out of memory)");
    return text;
}

static void send_text(const char *text, size_t len)
{
    uint64_t n = len;
    MPI_Send(&n, 1, MPI_UINT64_T, 0, TAG_LEN, MPI_COMM_WORLD);
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t piece = len - off < CHUNK ? len - off : CHUNK;
        MPI_Send(text + off, (int)piece, MPI_CHAR, 0, TAG_TEXT, MPI_COMM_WORLD);
    }
}

static char *receive_text(int from, size_t *len)
{
    uint64_t n;
    MPI_Recv(&n, 1, MPI_UINT64_T, from, TAG_LEN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (n > REPORT_READ_MAX_BYTES)
        abort_all("a rank's partial report is larger than a report may be");
    char *text = xmalloc((size_t)n + 1);
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t piece = n - off < CHUNK ? (size_t)n - off : CHUNK;
        MPI_Recv(text + off, (int)piece, MPI_CHAR, from, TAG_TEXT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    text[n] = '\0';
    *len = (size_t)n;
    return text;
}

/* Rank 0: every rank's partial report read back and merged; the reports
 * written. Returns the exit status. */
static int gather_and_report(const verify_result *own, int size, report_targets *out, bool quiet)
{
    merge_part *parts = xcalloc((size_t)size, sizeof *parts);
    char (*names)[32] = xcalloc((size_t)size, sizeof *names);
    int rc = EXIT_PASS;
    for (int k = 0; k < size; k++) {
        size_t len;
        char *text = k == 0 ? serialize(own, &len) : receive_text(k, &len), err[1024];
        snprintf(names[k], sizeof names[k], "rank %d", k);
        parts[k].name = names[k];
        if (report_read_text(text, len, names[k], &parts[k].r, err, sizeof err) < 0) {
            fprintf(stderr, "mxfp4-check verify: %s\n", err);
            rc = EXIT_INPUT;
        }
        free(text);
    }
    verify_result *m = NULL;
    char err[1024];
    merge_outcome got = rc == EXIT_PASS ? merge_results(parts, (size_t)size, &m, err, sizeof err) : MERGE_REFUSED;
    if (rc == EXIT_PASS && got == MERGE_REFUSED) {
        fprintf(stderr, "mxfp4-check verify: %s\n", err);
        rc = EXIT_INPUT;
    }
    if (m) {
        rc = got == MERGE_FAULT ? EXIT_INPUT : verify_passed(m) ? EXIT_PASS : EXIT_POLICY;
        if (report_targets_write(out, m, "verify") < 0)
            rc = EXIT_INPUT;
        if (quiet || report_targets_stdout(out) || got == MERGE_FAULT)
            report_print_brief(m, stderr, report_use_color(stderr));
        else
            report_print_human(m, stdout, report_use_color(stdout), 0);
    }
    verify_result_free(m);
    for (int k = 0; k < size; k++)
        verify_result_free(parts[k].r);
    free(parts);
    free(names);
    return rc;
}

static void today_utc(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

int mpi_run_verify(verify_opts *v, report_targets *out, const char *const *rules, size_t nrules, bool strict,
                   bool quiet)
{
    int rank, size;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
        abort_all("MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    v->shard = (shard_spec){(unsigned)rank, (unsigned)size};
    v->progress = false; /* N bars on one terminal say nothing */
    /* the report paths are rank 0's, checked before any work (SPEC §2) */
    int rc = rank == 0 && report_targets_open(out, v->src, v->dst, "verify") < 0 ? EXIT_INPUT : EXIT_PASS;
    policy *p = NULL;
    if (rules_policy_load(rules, nrules, strict, &p) < 0)
        rc = EXIT_INPUT;
    rc = agree(rc); /* a bad rule file or report path on one rank stops all, before any work */
    if (rc == EXIT_PASS) {
        char today[11], err[ST_ERR_LEN];
        today_utc(today);
        v->policy = p;
        v->today = today;
        verify_result *r;
        if (verify_run(v, &r, err, sizeof err) < 0)
            fprintf(stderr, "mxfp4-check verify: rank %d: %s\n", rank, err);
        if (rank == 0) {
            rc = gather_and_report(r, size, out, quiet);
        } else {
            size_t len;
            char *text = serialize(r, &len);
            send_text(text, len);
            free(text);
        }
        verify_result_free(r);
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    policy_free(p);
    if (rank == 0)
        report_targets_close(out);
    MPI_Finalize();
    return rc;
}
