/* model.h - what the browser shows: DST's headers (and SRC's), a verify
 * report, the policy, and the tensor data read on request.
 *
 * The model is the only part of tui/ that touches src/: the views see plain
 * structs and indices, never a ckpt or a verify_result's internals beyond the
 * data-only fields named below. Opening reads headers only, so the first
 * screen costs what parsing the headers costs; tensor data (scale
 * histograms, statistics against SRC, a whole verify) is read by one worker
 * thread and handed over in model_poll, called by the loop between keys.
 *
 * Threads: every function but the worker's is for the UI thread. Pointers
 * returned stay valid until the next model_poll that reports a change (a
 * finished verify replaces the report), so views keep indices, not pointers.
 * Names are raw: escape them before they reach the screen. */
#ifndef MXC_TUI_MODEL_H
#define MXC_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#define MODEL_MAX_RANK 16

typedef struct tui_model tui_model;

typedef struct {
    const char *src;     /* NULL: no source, so no statistics and no verify */
    const char *dst;
    const char *report;  /* a saved JSON report, or NULL */
    const char *const *rules;
    size_t nrules;
} model_opts;

typedef enum { MS_NONE, MS_PASS, MS_WARN, MS_FAIL } model_status;

/* A report's verdict and counts. */
typedef struct {
    bool passed;
    const char *origin;   /* the report file, or "verify" for one run here */
    const char *backend;
    bool complete;        /* every tensor was checked (not --only, --shard) */
    size_t tensors, quantized, kept, errors, warnings, waived;
    uint64_t bytes_read;
    double seconds;
} model_summary;

/* The statistics of one tensor against its source (SPEC §3). */
typedef struct {
    model_status status;
    bool compared;        /* false: nothing was computed (kept tensors need none) */
    bool identical;
    double max_abs_err, mean_abs_err, rmse, rel_l2, cosine, snr_db, equal_fraction;
    uint64_t nonfinite;
    double codes_identical, scales_identical, ref_rel_l2, excess;
} model_stats;

typedef enum { MF_INFO, MF_WARN, MF_ERROR } model_severity;

/* A finding of the report (SPEC §3). */
typedef struct {
    const char *id;
    model_severity severity;
    const char *tensor;   /* raw, or NULL */
    const char *file;     /* raw, or NULL */
    const char *message;  /* already escaped */
    const char *rule_id, *rule_file; /* what decided its severity; NULL: the table */
    unsigned long rule_line;
    bool waived;
    const char *waiver_reason, *waiver_expires;
} model_finding;

/* A tensor as a model sees it (an MXFP4 pair is one tensor). */
typedef struct {
    const char *name;     /* raw */
    bool quantized;
    int pattern;          /* the modules_to_not_convert entry that keeps it
                             (converter view), or -1 */
    size_t shard;         /* the shard of its data (of the blocks for a pair) */
    uint64_t bytes;       /* data bytes (blocks + scales for a pair) */
    model_status status;  /* from the report: worst unwaived finding */
    bool waived;          /* one of its findings is waived */
    double rel_l2, excess;/* from the report; NaN when unknown */
} model_tensor;

/* Opens DST (and SRC), reads the report and the rule files. -1 with err set
 * (naming SRC, DST, the report or the rule file) when one cannot be read. */
int model_open(const model_opts *o, tui_model **out, char *err, size_t errlen);
void model_close(tui_model *m); /* NULL is a no-op; waits for the worker */

const char *model_dst_path(const tui_model *m);
const char *model_src_path(const tui_model *m); /* NULL without SRC */

size_t model_tensor_count(const tui_model *m);
const model_tensor *model_tensor_at(const tui_model *m, size_t i); /* sorted by name */
/* Index of the tensor named name, or -1. */
ptrdiff_t model_tensor_find(const tui_model *m, const char *name);

typedef struct {
    const char *file;     /* relative to DST */
    uint64_t file_bytes;  /* header + data */
    uint64_t data_bytes;
    size_t tensors;       /* tensors as stored (blocks and scales count apart) */
} model_shard;

size_t model_shard_count(const tui_model *m);
void model_shard_at(const tui_model *m, size_t i, model_shard *out);

/* config.json and the index. */
typedef struct {
    bool present, has_quant, has_index, has_total_size;
    const char *quant_method;  /* NULL when absent */
    uint64_t total_size;       /* metadata.total_size of the index */
    uint64_t data_bytes;       /* what the shards hold */
    size_t patterns;
} model_config;

void model_config_get(const tui_model *m, model_config *out);
/* Pattern i of modules_to_not_convert and how many DST tensors it decided. */
const char *model_pattern_at(const tui_model *m, size_t i, size_t *decided);

/* Where a tensor lies: one part for a plain tensor, blocks and scales for a
 * pair. */
typedef struct {
    const char *role;     /* "data", "blocks", "scales" */
    const char *name;
    const char *dtype;
    int rank;
    const uint64_t *shape;
    const char *shard;
    uint64_t begin, end;  /* data_offsets, relative to the data buffer */
    uint64_t file_offset; /* where begin lies in the shard file */
} model_part;

typedef struct {
    const char *dtype;    /* "MXFP4" for a pair */
    int rank;
    uint64_t shape[MODEL_MAX_RANK]; /* logical: the source's shape */
    uint64_t groups;      /* pair: blocks of 32 per stored row */
    int nparts;
    model_part parts[2];
} model_layout;

void model_layout_of(const tui_model *m, size_t i, model_layout *out);

/* ---- the report ---------------------------------------------------------- */

/* The loaded or last computed report; false when there is none. */
bool model_has_report(const tui_model *m);
void model_report_summary(const tui_model *m, model_summary *out);
size_t model_finding_count(const tui_model *m);
void model_finding_at(const tui_model *m, size_t i, model_finding *out);
/* Index of the tensor finding i is on (NAME_blocks counts as NAME), or -1. */
ptrdiff_t model_finding_tensor(const tui_model *m, size_t i);
/* Findings on tensor i: *n indices for model_finding_at (NULL when none). */
const size_t *model_findings_on(const tui_model *m, size_t i, size_t *n);
/* The report's statistics of tensor i, or false. */
bool model_tensor_stats(const tui_model *m, size_t i, model_stats *out);

/* ---- data read on request (worker thread) --------------------------------- */

typedef enum { JOB_NONE, JOB_HIST, JOB_COMPARE, JOB_VERIFY } model_job;

/* Queues reading the scale histogram of pair i (no-op when known or
 * queued). */
void model_request_hist(tui_model *m, size_t i);
/* The histogram of pair i, counts per scale byte (255 NaN): from the report
 * or read; false while unknown. */
bool model_hist(const tui_model *m, size_t i, uint64_t hist[256]);

/* Queues the statistics of tensor i against SRC (a verify of that tensor
 * alone). -1 with err when there is no SRC. */
int model_request_compare(tui_model *m, size_t i, char *err, size_t errlen);
/* Statistics computed on request for tensor i, or false. */
bool model_compare_stats(const tui_model *m, size_t i, model_stats *out);

/* Starts a verify of SRC and DST; its report replaces the current one when
 * it completes. -1 with err when there is no SRC or a verify runs. */
int model_start_verify(tui_model *m, char *err, size_t errlen);
/* Asks the running job to stop (a verify stops between slabs). */
void model_cancel(tui_model *m);

typedef struct {
    model_job job;
    size_t tensor;        /* JOB_HIST, JOB_COMPARE */
    uint64_t done, total; /* bytes, JOB_VERIFY */
    size_t queued;        /* jobs waiting after this one */
} model_progress;

/* True while a job runs or waits, with what it is. */
bool model_busy(tui_model *m, model_progress *p);
/* Applies finished jobs; true when what the views show changed. */
bool model_poll(tui_model *m);
/* Blocks until no job runs or waits (scripted mode); model_poll then
 * applies what they gave. */
void model_wait_idle(tui_model *m);
/* The outcome of the last finished job ("verify: FAIL, 3 errors", an error
 * naming the file), "" when none. */
const char *model_message(const tui_model *m);

/* Untrusted text made safe for a terminal (SPEC §3: control characters,
 * invalid UTF-8 and hidden characters as visible escapes); returns out. */
char *model_escape(const char *s, char *out, size_t outlen);

/* ---- search and policy ------------------------------------------------------ */

/* A search: text with "re:" is a Python regex matched in full, text with
 * '*' a glob (the rules' selectors, policy.h), other text matches anywhere
 * in a name. */
typedef struct model_matcher model_matcher;
model_matcher *model_matcher_new(const char *text, char *err, size_t errlen);
bool model_matcher_test(model_matcher *mm, const char *name);
void model_matcher_free(model_matcher *mm); /* NULL is a no-op */

/* One check of tensor i and the rule deciding it (SPEC §7 `rules explain`). */
typedef struct {
    const char *check;      /* "expect", "max_rel_l2", ... */
    char value[32];         /* "-" when no rule sets it */
    const char *severity;   /* "-" when no rule sets it */
    char decided_by[256];   /* "ID FILE:LINE" or the fallback; escaped */
    char overrides[256];    /* "ID FILE:LINE, ..." escaped, "" when none */
} model_check_row;

/* A finding id and the severity the policy gives it on tensor i. */
typedef struct {
    const char *id;
    const char *severity;
    char origin[256];       /* "FILE:LINE" or "(finding table)"; escaped */
} model_severity_row;

/* The one-line meaning of finding id (the finding table), or "". */
const char *model_finding_meaning(const char *id);

#define MODEL_CHECK_ROWS 16
#define MODEL_SEVERITY_ROWS 32

/* Fills rows for tensor i. -1 with err when a regex selector reached a
 * limit. */
int model_explain(tui_model *m, size_t i, model_check_row *checks, size_t *nchecks,
                  model_severity_row *sevs, size_t *nsevs, char *err, size_t errlen);

#endif
