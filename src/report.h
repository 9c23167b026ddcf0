/* report.h - what `verify` tells people and machines: the JSON report
 * (SPEC §3, schema "mxfp4-check/verify/1"), JUnit XML for CI, a Markdown
 * summary for CI step summaries and merge requests, an HTML page, and the
 * summary for a terminal; one file per format (report_json.c, report_junit.c,
 * report_markdown.c, report_html.c, report_human.c), report_file.c for where they go.
 *
 * The writers read the data-only result (result.h), nothing of the
 * pipeline: verify, `report` (a saved JSON report read back) and `merge`
 * all write through them. Report files go through outfile.h:
 * a file is written whole or not at all (a temporary file in the target's
 * directory, fsync, rename), a FIFO or a device is written through, and
 * nothing is written inside the checkpoints being verified (SPEC §2), wherever
 * the path leads. JSON numbers are
 * printed so that they read back to the same double; JSON has no infinity or
 * NaN, so a non-finite statistic (snr_db of an exact tensor, excess when the
 * reference is exact and DST is not) is written as null. */
#ifndef MXC_REPORT_H
#define MXC_REPORT_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "outfile.h"
#include "result.h"

#define REPORT_SCHEMA "mxfp4-check/verify/1"
#define REPORT_HUMAN_ROWS 20 /* tensors shown in the terminal table, worst first */

/* The report files a command can write: one table (report_file.c) of the
 * option that asks for each and its writer. */
typedef enum { REPORT_JSON, REPORT_JUNIT, REPORT_MARKDOWN, REPORT_HTML, REPORT_FORMAT_COUNT } report_format;

/* "--json", "--junit", ... */
const char *report_format_option(report_format f);

/* Report f of r as the whole content of o (opened), streamed. Returns 0, or
 * -1 with err naming the path and the fault. */
int report_write_to(report_format f, const verify_result *r, outfile *o, char *err, size_t errlen);

/* Report f to path ("-" is stdout) in one go: report_resolve_file with r's
 * src and dst, outfile_open, report_write_to. On -1 no file is left behind
 * and an existing file at path is untouched. */
int report_write(report_format f, const verify_result *r, const char *path, char *err, size_t errlen);

/* The report files of one command line: path[f] as given (NULL: not asked
 * for). report_targets_open resolves every path (nothing inside src or dst),
 * refuses two reports to the same file or both to stdout, and only then
 * opens them: all before any work (SPEC §2). Messages go to stderr prefixed
 * "mxfp4-check CMD: ". report_targets_write attempts every report. */
typedef struct {
    const char *path[REPORT_FORMAT_COUNT];
    outfile *file[REPORT_FORMAT_COUNT];
    const char *const *inputs; /* files the command reads (saved reports): never written over */
    size_t ninputs;
} report_targets;

int report_targets_open(report_targets *t, const char *src, const char *dst, const char *cmd);
int report_targets_write(const report_targets *t, const verify_result *r, const char *cmd);
bool report_targets_stdout(const report_targets *t); /* some report goes to standard output */
void report_targets_close(report_targets *t);

/* The writers behind the table: report f of r to out; 0, or -1 with errno. */
int report_emit_json(FILE *out, const verify_result *r);
int report_emit_junit(FILE *out, const verify_result *r);
int report_emit_markdown(FILE *out, const verify_result *r);
/* One self-contained page (SPEC §9; report_html.c): no script, no network;
 * summary, worst tensors, per-family charts across layers (one SVG rect of
 * class "bar" per quantized tensor, data-tensor its name, data-count 1; past
 * HTML_CHART_BARS tensors in a chart, a bar stands for consecutive tensors and
 * data-count says how many), scale-exponent histograms, coverage, findings
 * with their rules, waivers, provenance. Bounded in size by the number of
 * families charted and bars per chart, not by the tensor count. */
int report_emit_html(FILE *out, const verify_result *r);

/* The report as a cJSON tree (caller frees with cJSON_Delete): the keys of
 * SPEC §3, plus "matched_loader" per pattern, "cause" (and "k" when it has
 * scale_bias) on numerics.diagnosis findings, and the coverage lists
 * should_keep, should_quantize, missing, extra, stale_patterns and
 * view_mismatch taken from the findings of the matching ids (their tensor
 * field; for coverage.stale_pattern that field holds the pattern). A tensor
 * not compared has "stats": null and no requant; a quantized one has
 * scale_hist when it was compared or its histogram has counts.
 * max_abs_err_index is unravelled into coordinates of the source shape (null
 * when the tensor has no elements). Strings that are not valid UTF-8 are
 * written escaped (text_json_string) so the text stays JSON. Numbers are plain
 * cJSON numbers here; print with report_json_string for exact digits. The
 * whole tree is built: for tests and small results (the writers stream). */
cJSON *report_json(const verify_result *r);

/* {"id", "file", "line"} of what decided a finding's severity (a rule, or a
 * findings: entry with id null), or JSON null when the finding table's
 * default decided: the same object in verify's and inspect's JSON. */
cJSON *report_json_rule(const finding_rule *r);

/* report_json printed (formatted, with a final newline), every number with
 * the fewest digits that read back to the same double, and C1, bidi controls
 * and DEL in strings written as \uXXXX (text_json_escape_controls), so the
 * report shows no raw controls in a terminal or an editor. Caller frees. */
char *report_json_string(const verify_result *r);

/* Checks a report path before any work (SPEC §2): outfile_resolve, then a
 * refusal when it leads inside SRC or DST (src and dst as given to verify; a
 * single-file checkpoint stands for its directory). Opens nothing: the caller
 * compares targets, then calls outfile_open. Returns 0 with *out (the
 * caller's, outfile_close), or -1 with err naming the path and the reason. */
int report_resolve_file(const char *path, const char *src, const char *dst, outfile **out, char *err,
                        size_t errlen);

/* The JSON report as the whole content of o (opened), streamed
 * (jsonstream.h): the same text as report_json_string, without the tree or
 * the text ever being whole in memory.
 * Returns 0, or -1 with err naming the path and the fault. */
int report_write_json_to(const verify_result *r, outfile *o, char *err, size_t errlen);

/* Writes the JSON report to path ("-" is stdout) in one go:
 * report_resolve_file with r's src and dst, outfile_open,
 * report_write_json_to. Returns 0, or -1 with err naming the path and the
 * reason (then no file is left behind and an existing file at path is
 * untouched). */
int report_write_json(const verify_result *r, const char *path, char *err, size_t errlen);

/* JUnit XML for CI: one testsuite "mxfp4-check verify"; a testcase per tensor
 * (classname "tensors", failing when the tensor fails or has an error
 * finding; warnings and info in system-out), one per structural id
 * (classname "structure") and per coverage id (classname "coverage"),
 * failing when that id has an error finding on no tensor of the report, and
 * one per other id that has such findings (classname "other"). A finding is
 * on a tensor as verify_links (verify.h) says: the tensor it names, or the
 * logical tensor NAME its NAME_blocks / NAME_scales stands for, the same
 * tensors whose status it sets. The run fails exactly when some testcase
 * fails. Each testcase has a time: a tensor's is the run's seconds shared
 * out by its bytes (the pipeline overlaps tensors, so no tensor has a time of
 * its own), a check's is 0. Testsuite properties give the provenance: tool,
 * devices, start, scope, policy, file totals. Written as it is produced (two passes over the result: one counts
 * for the header, one writes), never whole in memory. Same path rules and
 * errors as report_write_json. */
int report_write_junit(const verify_result *r, const char *path, char *err, size_t errlen);

/* The JUnit XML as the whole content of o, as report_write_json_to. */
int report_write_junit_to(const verify_result *r, outfile *o, char *err, size_t errlen);

/* The summary for people: header (SRC -> DST, backend, counts, bytes, time,
 * GB/s, the scope when partial), the worst tensors (failures first, then by
 * excess, then rel_l2; at most REPORT_HUMAN_ROWS rows) in a table fitted to
 * width columns (0: no limit; the least telling columns go first, then
 * names are cut in the middle) with a legend of its columns, counts per
 * finding id, every error and warning with the rule that decided it, the
 * provenance (tool, devices, policy, files), and a last line "RESULT: PASS"
 * or "RESULT: FAIL (N errors, M warnings)" - "(partial: ...)" when the run
 * did not cover everything. ANSI colour only when color is true. Names are
 * escaped. */
void report_print_human(const verify_result *r, FILE *out, bool color, int width);

/* What --quiet still says (SPEC §9), for stderr: every error and the RESULT
 * line. */
void report_print_brief(const verify_result *r, FILE *out, bool color);

/* The RESULT line alone: "RESULT: PASS ...", "RESULT: FAIL (...)", or for a
 * run that stopped on unreadable input "RESULT: ERROR (the run stopped before
 * a verdict)". */
void report_print_result(const verify_result *r, FILE *out, bool color);

/* True when out is a terminal, NO_COLOR is unset or empty
 * (https://no-color.org) and TERM is not "dumb". */
bool report_use_color(FILE *out);

#endif
