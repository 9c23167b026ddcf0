/* report_read.h - a saved JSON report (schema mxfp4-check/verify/1) read
 * back into a result (result.h): for `mxfp4-check report` (render it
 * again), `merge` (partial reports) and the TUI (--report).
 *
 * A report is untrusted input like a checkpoint: read through jsonread (the
 * one reader of untrusted JSON), every member checked against the schema of
 * SPEC §3 as the writer makes it (unknown or missing members, wrong types,
 * unknown finding ids, tensors out of name order, two tensors of one name),
 * and its own arithmetic checked: "result" and the summary's counts must be
 * what its findings and tensors say, so an edited verdict is refused, not
 * believed. The long lists (findings, tensors) are read one element at a
 * time, so memory grows with the result, not with the text's tree.
 *
 * What comes back is the result the writers wrote from: report_emit_json of
 * it gives the same report again (JSON has no infinity or NaN: a statistic
 * written as null reads back as NaN, or +infinity for snr_db and excess, and
 * is written as null again). */
#ifndef MXC_REPORT_READ_H
#define MXC_REPORT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define REPORT_READ_MAX_BYTES ((uint64_t)4 << 30) /* ~8M tensors of a report */

/* Reads the report at path ("display" names it in messages). Returns 0 with
 * *out (verify_result_free), or -1 with err "DISPLAY: fault (at MEMBER)". */
int report_read(const char *path, const char *display, verify_result **out, char *err, size_t errlen);

/* The same, from text[0..len) (NUL-terminated at len). */
int report_read_text(const char *text, size_t len, const char *display, verify_result **out, char *err,
                     size_t errlen);

#endif
