/* fuzz_report.c - libFuzzer target for the report reader (src/report_read.h)
 * and every writer behind it.
 *
 * The input is the text of a saved JSON report. Beyond "no crash, no leak":
 *   - refused: no result, and the message names the report;
 *   - accepted: its verdict is what its findings say; every writer (JSON,
 *     JUnit, Markdown, the terminal summary) runs on it; and the JSON it
 *     writes reads back to a result whose JSON is the same text (the reader
 *     and the writer agree: a report read again is the report). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_read.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static char *emit(report_format f, const verify_result *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    CHECK(m);
    int rc = f == REPORT_JSON ? report_emit_json(m, r) : f == REPORT_JUNIT ? report_emit_junit(m, r)
                                                                           : report_emit_markdown(m, r);
    CHECK(fclose(m) == 0 && rc == 0);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    char err[1024] = "";
    verify_result *r = NULL;
    int rc = report_read_text(text, size, "fuzz", &r, err, sizeof err);
    free(text);
    if (rc < 0) {
        CHECK(!r && strncmp(err, "fuzz: ", 6) == 0);
        return 0;
    }
    CHECK(r);
    char *json = emit(REPORT_JSON, r);
    free(emit(REPORT_JUNIT, r));
    free(emit(REPORT_MARKDOWN, r));
    FILE *null = fopen("/dev/null", "w");
    CHECK(null);
    report_print_human(r, null, true, 60);
    report_print_brief(r, null, false);
    fclose(null);
    verify_result *again = NULL;
    if (report_read_text(json, strlen(json), "again", &again, err, sizeof err) != 0) {
        fprintf(stderr, "the report written does not read back: %s\n", err);
        abort();
    }
    char *json2 = emit(REPORT_JSON, again);
    CHECK(strcmp(json, json2) == 0);
    CHECK(verify_passed(r) == verify_passed(again));
    free(json);
    free(json2);
    verify_result_free(again);
    verify_result_free(r);
    return 0;
}
