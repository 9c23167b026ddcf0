/* test_reports.c - the reports a release engineer wires into CI (SPEC §2,
 * §3, §9), run as the real binary on ../shared/fixtures: provenance and the
 * manifest (checked against sha256sum and stat, not against the tool), a
 * partial run that says so, --quiet on a failure, the table at a narrow
 * terminal, SRC and DST swapped, usage errors, the Markdown summary, and
 * `report` rendering a saved report again - byte for byte - and refusing one
 * that was edited. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define FIXTURE_SET "seedconv-small"
#define DOWN0 "model.layers.0.mlp.experts.down_proj"
#define MAX_ARGS 24
#define N_QUANTIZED 4 /* the fixture's MXFP4 pairs (expected-stats.json) */

typedef struct {
    char tmp[RUN_PATH_MAX];
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX], stats[RUN_PATH_MAX];
    char plant[RUN_PATH_MAX];
} paths;

static paths P;

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static int setup(void **state)
{
    (void)state;
    const char *fx = env_or_fail("MXC_FIXTURES");
    snprintf(P.src, sizeof P.src, "%s/%s/bf16", fx, FIXTURE_SET);
    snprintf(P.dst, sizeof P.dst, "%s/%s/mxfp4", fx, FIXTURE_SET);
    snprintf(P.stats, sizeof P.stats, "%s/%s/expected-stats.json", fx, FIXTURE_SET);
    snprintf(P.plant, sizeof P.plant, "%s/plant", env_or_fail("MXC_TOOLS"));
    return run_mkdtemp("reports", P.tmp, sizeof P.tmp);
}

static int teardown(void **state)
{
    (void)state;
    return run_rmtree(P.tmp);
}

static char *in_tmp(const char *name)
{
    static char buf[8][RUN_PATH_MAX];
    static int next;
    char *p = buf[next++ % 8];
    if (run_join(p, RUN_PATH_MAX, P.tmp, name) < 0)
        fail_msg("path too long");
    return p;
}

static int run_list(run_result *r, const char *const *argv)
{
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, r) != 0)
        fail_msg("%s: did not exit normally (signal %d)\nstderr: %s", argv[1] ? argv[1] : argv[0], r->signal,
                 r->err);
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report:\n%s", r->err);
    return r->status;
}

/* $MXC_BIN with the NULL-terminated arguments; returns the exit status. */
static int mxc(run_result *r, const char *first, ...)
{
    const char *argv[MAX_ARGS + 2] = {env_or_fail("MXC_BIN")};
    int n = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    va_end(ap);
    return run_list(r, argv);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static char *slurp(const char *path)
{
    char *text;
    if (run_read_file(path, &text, NULL) < 0)
        fail_msg("cannot read %s", path);
    return text;
}

static cJSON *load(const char *path)
{
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s is not JSON", path);
    return j;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("no member \"%s\"", key);
    return v;
}

/* A scale-bias plant (one tensor far off) for failing runs. */
static const char *failing_dst(void)
{
    static char out[RUN_PATH_MAX];
    if (out[0])
        return out;
    snprintf(out, sizeof out, "%s", in_tmp("biased"));
    const char *argv[] = {P.plant, "scale-bias", P.src, P.dst, out, DOWN0, "-2", NULL};
    run_result r;
    if (run_list(&r, argv) != 0)
        fail_msg("plant: %s", r.err);
    run_result_free(&r);
    return out;
}

/* ---- provenance and the manifest ------------------------------------------------ */

/* The regular files of dir, sorted by name (strcmp), as the manifest must
 * list them. */
static size_t list_files(const char *dir, char names[][256], uint64_t *sizes, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char full[RUN_PATH_MAX];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && n < max) {
            snprintf(names[n], 256, "%s", e->d_name);
            sizes[n++] = (uint64_t)st.st_size;
        }
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort, names with sizes */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[256];
            memcpy(t, names[j], 256);
            memcpy(names[j], names[j - 1], 256);
            memcpy(names[j - 1], t, 256);
            uint64_t s = sizes[j];
            sizes[j] = sizes[j - 1];
            sizes[j - 1] = s;
        }
    return n;
}

/* sha256sum's digest of path (coreutils: an implementation not ours). */
static void sha256sum(const char *path, char out[65])
{
    const char *argv[] = {"sha256sum", path, NULL};
    run_result r;
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r) != 0 || r.status != 0 || r.out_len < 64)
        fail_msg("sha256sum %s failed", path);
    memcpy(out, r.out, 64);
    out[64] = '\0';
    run_result_free(&r);
}

static void check_manifest(const cJSON *files, const char *dir, bool hashed)
{
    char names[32][256];
    uint64_t sizes[32];
    size_t n = list_files(dir, names, sizes, 32);
    assert_true(n >= 5); /* shards, index, config, tokenizer files */
    assert_int_equal(cJSON_GetArraySize(files), n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *f = cJSON_GetArrayItem(files, (int)i);
        assert_string_equal(get(f, "file")->valuestring, names[i]);
        assert_true(get(f, "bytes")->valuedouble == (double)sizes[i]);
        const cJSON *sha = get(f, "sha256");
        if (!hashed) {
            assert_true(cJSON_IsNull(sha));
            continue;
        }
        char full[RUN_PATH_MAX], want[65];
        snprintf(full, sizeof full, "%s/%s", dir, names[i]);
        sha256sum(full, want);
        assert_string_equal(sha->valuestring, want);
    }
}

static void test_provenance_and_manifest(void **state)
{
    (void)state;
    run_result r;
    const char *json = in_tmp("prov.json"), *plain = in_tmp("plain.json");
    assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--json", json, "--sha256", "--backend", "cpu",
                         "--no-progress", "--quiet", NULL), 0);
    run_result_free(&r);
    cJSON *j = load(json);
    const cJSON *tool = get(j, "tool");
    assert_string_equal(get(tool, "backend")->valuestring, "cpu");
    assert_int_equal(cJSON_GetArraySize(get(tool, "devices")), 1);
    assert_true(strncmp(cJSON_GetArrayItem(get(tool, "devices"), 0)->valuestring, "cpu: ", 5) == 0);
    const cJSON *argv = get(tool, "argv");
    assert_string_equal(cJSON_GetArrayItem(argv, 0)->valuestring, "mxfp4-check");
    assert_string_equal(cJSON_GetArrayItem(argv, 1)->valuestring, "verify");
    assert_string_equal(cJSON_GetArrayItem(argv, 2)->valuestring, P.src);
    assert_int_equal(cJSON_GetArraySize(argv), 11);
    const char *started = get(tool, "started")->valuestring;
    assert_int_equal(strlen(started), 20);
    assert_true(strncmp(started, "20", 2) == 0 && started[10] == 'T' && started[19] == 'Z');
    const cJSON *scope = get(j, "scope");
    assert_true(cJSON_IsTrue(get(scope, "complete")));
    assert_true(cJSON_IsNull(get(scope, "only")));
    check_manifest(get(get(j, "manifest"), "src"), P.src, true);
    check_manifest(get(get(j, "manifest"), "dst"), P.dst, true);
    cJSON_Delete(j);
    /* without --sha256: names and sizes, digests null */
    assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--json", plain, "--no-progress", "--quiet", NULL), 0);
    run_result_free(&r);
    j = load(plain);
    check_manifest(get(get(j, "manifest"), "dst"), P.dst, false);
    cJSON_Delete(j);
}

/* ---- scope ------------------------------------------------------------------------ */

static void test_partial_run_says_so(void **state)
{
    (void)state;
    run_result r;
    const char *json = in_tmp("only.json"), *xml = in_tmp("only.xml"), *md = in_tmp("only.md");
    assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--only", "model.layers.0.*", "--json", json, "--junit", xml,
                         "--markdown", md, "--no-progress", NULL), 0);
    const char *last = strstr(r.out, "RESULT: ");
    assert_non_null(last);
    assert_string_equal(last, "RESULT: PASS (partial: --only 'model.layers.0.*'; 1 warning)\n");
    assert_contains(r.out, "scope: partial: --only 'model.layers.0.*'\n");
    run_result_free(&r);
    cJSON *j = load(json);
    const cJSON *scope = get(j, "scope");
    assert_true(cJSON_IsFalse(get(scope, "complete")));
    assert_string_equal(get(scope, "only")->valuestring, "model.layers.0.*");
    assert_string_equal(get(j, "result")->valuestring, "pass");
    cJSON_Delete(j);
    char *x = slurp(xml);
    assert_contains(x, "<property name=\"scope\" value=\"partial: --only &apos;model.layers.0.*&apos;\"/>");
    free(x);
    char *m = slurp(md);
    assert_contains(m, "### mxfp4-check verify: PASS (partial: --only \\'model.layers.0.\\*\\')\n");
    free(m);
}

/* ---- what people see --------------------------------------------------------------- */

static void test_quiet_failure_still_says_why(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "verify", P.src, failing_dst(), "--quiet", "--no-progress", NULL), 1);
    assert_int_equal(r.out_len, 0);
    assert_contains(r.err, "error [numerics.threshold] '" DOWN0 "': rel_l2 ");
    assert_contains(r.err, "error [numerics.diagnosis] '" DOWN0 "': the exporter wrote E8M0 scales with "
                           "bias 125 instead of 127 (k -2); undone, rel_l2 is ");
    const char *last = strstr(r.err, "\nRESULT: ");
    assert_non_null(last);
    assert_string_equal(last, "\nRESULT: FAIL (2 errors, 2 warnings)\n");
    assert_null(strstr(r.err, "warn  [")); /* errors only: warnings are in the reports */
    run_result_free(&r);
}

/* The table's lines: from the STATUS header to the blank line after it. */
static void check_table_width(const char *out, size_t columns, const char *const *titles, size_t ntitles,
                              bool names_cut)
{
    const char *t = strstr(out, "\nSTATUS  ");
    assert_non_null(t);
    t++;
    size_t rows = 0;
    for (const char *line = t; *line && *line != '\n'; rows++) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        if ((size_t)(end - line) > columns)
            fail_msg("a line of %zu columns at COLUMNS=%zu:\n%.*s", (size_t)(end - line), columns,
                     (int)(end - line), line);
        line = end + 1;
    }
    assert_int_equal(rows, 1 + N_QUANTIZED + 1); /* header, 4 tensors, the kept line */
    const char *header_end = strchr(t, '\n');
    for (size_t i = 0; i < ntitles; i++) {
        const char *at = strstr(t, titles[i]);
        assert_true(at && at < header_end);
    }
    const char *dots = strstr(t, "...");
    assert_true((dots && dots < strstr(t, " kept tensors bit-identical")) == names_cut);
}

static void test_table_fits_the_terminal(void **state)
{
    (void)state;
    static const char *const all[] = {"TENSOR", "KIND", "REL_L2", "COSINE", "MAX_ABS_ERR", "CODES%", "SCALES%",
                                      "EXCESS"};
    static const char *const at80[] = {"TENSOR", "REL_L2", "CODES%", "EXCESS"};
    static const char *const at60[] = {"TENSOR", "REL_L2", "EXCESS"};
    const struct {
        const char *columns;
        size_t width;
        const char *const *titles;
        size_t n;
        bool cut;
    } cases[] = {{"200", 200, all, 8, false}, {"80", 80, at80, 4, false}, {"60", 60, at60, 3, true}};
    for (size_t i = 0; i < 3; i++) {
        setenv("COLUMNS", cases[i].columns, 1);
        run_result r;
        assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--no-progress", NULL), 0);
        check_table_width(r.out, cases[i].width, cases[i].titles, cases[i].n, cases[i].cut);
        /* the columns shown are explained */
        assert_contains(r.out, "  EXCESS      REL_L2 / the reference quantizer's REL_L2 on the same source");
        run_result_free(&r);
    }
    unsetenv("COLUMNS");
}

/* The progress bar on a terminal of 40 and 60 columns (a pty from
 * util-linux's script, its width from COLUMNS): every redraw fits one line,
 * so none wraps into a new line. */
static void test_progress_fits_the_terminal(void **state)
{
    (void)state;
    if (access("/usr/bin/script", X_OK) != 0) {
        print_message("util-linux's script not found: the progress bar on a terminal is not tested\n");
        skip();
    }
    const char *widths[] = {"40", "60"};
    for (int i = 0; i < 2; i++) {
        char cmd[3 * RUN_PATH_MAX];
        snprintf(cmd, sizeof cmd, "'%s' verify '%s' '%s' >/dev/null", env_or_fail("MXC_BIN"), P.src, P.dst);
        setenv("COLUMNS", widths[i], 1);
        const char *argv[] = {"script", "-qec", cmd, "/dev/null", NULL};
        run_result r;
        assert_int_equal(run_list(&r, argv), 0);
        unsetenv("COLUMNS");
        size_t cols = (size_t)atoi(widths[i]), segments = 0;
        const char *p = r.out;
        assert_true(*p == '\r');
        while (p[0] == '\r' && p[1] != '\n') {
            const char *end = p + 1 + strcspn(p + 1, "\r\n");
            if ((size_t)(end - p - 1) > cols - 1)
                fail_msg("a redraw of %zu columns at %zu:\n%.*s", (size_t)(end - p - 1), cols, (int)(end - p - 1),
                         p + 1);
            if (!strstr(p + 1, " GB/s"))
                fail_msg("no GB/s in %s", r.out);
            segments++;
            p = end;
        }
        assert_true(segments >= 1);
        assert_string_equal(p, "\r\n"); /* one newline, after the last redraw */
        run_result_free(&r);
    }
}

static void test_swapped_sides(void **state)
{
    (void)state;
    run_result r;
    const char *json = in_tmp("swapped.json");
    assert_int_equal(mxc(&r, "verify", P.dst, P.src, "--json", json, "--no-progress", NULL), 2);
    char want[3 * RUN_PATH_MAX];
    snprintf(want, sizeof want,
             "mxfp4-check verify: SRC and DST look swapped: SRC '%s' holds %d MXFP4 tensors (_blocks + _scales) "
             "and DST '%s' none; the order is verify BF16_SOURCE MXFP4_CONVERTED\n"
             "RESULT: ERROR (the run stopped before a verdict)\n",
             P.dst, N_QUANTIZED, P.src);
    assert_string_equal(r.err, want);
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
    cJSON *j = load(json); /* the CI panel still gets its report */
    const cJSON *f = cJSON_GetArrayItem(get(j, "findings"), 0);
    assert_string_equal(get(f, "id")->valuestring, "input.unreadable");
    assert_contains(get(f, "message")->valuestring, "SRC and DST look swapped");
    cJSON_Delete(j);
}

static void test_usage_errors_are_one_line(void **state)
{
    (void)state;
    const struct {
        const char *args[4];
        const char *err;
    } cases[] = {
        {{"verify", "--bogus", NULL}, "mxfp4-check verify: unknown option '--bogus' (try 'mxfp4-check verify --help')\n"},
        {{"verify", "a", NULL}, "mxfp4-check verify: expected SRC and DST (try 'mxfp4-check verify --help')\n"},
        {{"report", NULL}, "mxfp4-check report: expected one REPORT.json (try 'mxfp4-check report --help')\n"},
        {{"report", "--pdf", NULL}, "mxfp4-check report: unknown option '--pdf' (try 'mxfp4-check report --help')\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r;
        assert_int_equal(mxc(&r, cases[i].args[0], cases[i].args[1], cases[i].args[2], NULL), 2);
        assert_string_equal(r.err, cases[i].err);
        assert_int_equal(r.out_len, 0);
        run_result_free(&r);
    }
}

/* The Markdown summary: the verdict, the fixture's four quantized tensors
 * with the rel_l2 expected-stats.json gives (independently computed). */
static void test_markdown_summary(void **state)
{
    (void)state;
    run_result r;
    const char *md = in_tmp("s.md");
    assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--markdown", md, "--no-progress", "--quiet", NULL), 0);
    run_result_free(&r);
    char *m = slurp(md);
    assert_true(strncmp(m, "### mxfp4-check verify: PASS\n", 29) == 0);
    assert_contains(m, "| errors | warnings | waived |\n|---:|---:|---:|\n| 0 | 1 | 0 |\n");
    cJSON *stats = load(P.stats);
    size_t rows = 0;
    for (const cJSON *t = get(stats, "tensors")->child; t; t = t->next) {
        if (strcmp(get(t, "kind")->valuestring, "mxfp4") != 0)
            continue;
        char name[256], row[512];
        size_t o = 0;
        for (const char *c = t->string; *c && o + 2 < sizeof name; c++) {
            if (*c == '_')
                name[o++] = '\\';
            name[o++] = *c;
        }
        name[o] = '\0';
        snprintf(row, sizeof row, "| pass | %s | %.3e | 1.000 | 100.00 | 100.00 |\n", name,
                 get(t, "rel_l2")->valuedouble);
        assert_contains(m, row);
        rows++;
    }
    assert_int_equal(rows, N_QUANTIZED);
    assert_contains(m, "<details><summary>Provenance</summary>");
    assert_null(strchr(m, '\x1b'));
    cJSON_Delete(stats);
    free(m);
}

/* ---- report: a saved report rendered again ---------------------------------------- */

static void check_round_trip(const char *dst, const char *const *extra, int status, const char *tag)
{
    char json[RUN_PATH_MAX], xml[RUN_PATH_MAX], md[RUN_PATH_MAX], html[RUN_PATH_MAX], json2[RUN_PATH_MAX],
        xml2[RUN_PATH_MAX], md2[RUN_PATH_MAX], html2[RUN_PATH_MAX];
    char *const outs[8] = {json, xml, md, html, json2, xml2, md2, html2};
    const char *const ext[8] = {".json", ".xml", ".md", ".html", "-again.json", "-again.xml", "-again.md",
                                "-again.html"};
    for (int i = 0; i < 8; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", tag, ext[i]);
        snprintf(outs[i], RUN_PATH_MAX, "%s", in_tmp(name));
    }
    const char *argv[MAX_ARGS + 2] = {env_or_fail("MXC_BIN"), "verify", P.src, dst, "--json", json, "--junit",
                                      xml, "--markdown", md, "--html", html, "--no-progress"};
    int n = 13;
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    run_result r, again;
    if (run_list(&r, argv) != status)
        fail_msg("verify exits %d, not %d:\n%s", r.status, status, r.err);
    assert_int_equal(mxc(&again, "report", json, "--json", json2, "--junit", xml2, "--markdown", md2, "--html",
                         html2, NULL),
                     status);
    /* the summary again, all but the line with the run's time */
    const char *a = strstr(r.out, "\n\n"), *b = strstr(again.out, "\n\n");
    assert_true(a && b);
    assert_string_equal(a, b);
    run_result_free(&r);
    run_result_free(&again);
    const char *pairs[4][2] = {{json, json2}, {xml, xml2}, {md, md2}, {html, html2}};
    for (int i = 0; i < 4; i++) {
        char *x = slurp(pairs[i][0]), *y = slurp(pairs[i][1]);
        if (strcmp(x, y) != 0)
            fail_msg("%s and %s differ", pairs[i][0], pairs[i][1]);
        free(x);
        free(y);
    }
}

static void test_report_renders_again(void **state)
{
    (void)state;
    check_round_trip(P.dst, NULL, 0, "pass");
    /* a failing run with a diagnosis, limits, a rule file and a waiver */
    char rules[RUN_PATH_MAX]; /* a copy: in_tmp's buffers are reused */
    snprintf(rules, sizeof rules, "%s", in_tmp("waive.yaml"));
    assert_int_equal(run_write_file(rules, "version: 1\n"
                                           "rules:\n"
                                           "  - id: layer1-experts\n"
                                           "    select: [\"re:model\\\\.layers\\\\.1\\\\..*experts.*\"]\n"
                                           "    limits: {max_rel_l2: 0.5}\n"
                                           "waivers:\n"
                                           "  - finding: index.total_size\n"
                                           "    reason: \"the converter copies total_size\"\n"),
                     0);
    const char *extra[] = {"--rules", rules, "--sha256", NULL};
    check_round_trip(failing_dst(), extra, 1, "fail");
    /* a run that stopped: its report, with the fault, renders too */
    char cut[RUN_PATH_MAX];
    snprintf(cut, sizeof cut, "%s", in_tmp("cut"));
    const char *argv[] = {P.plant, "truncate", P.src, P.dst, cut, "model-00000.safetensors", "1000", NULL};
    run_result r;
    assert_int_equal(run_list(&r, argv), 0);
    run_result_free(&r);
    const char *json = in_tmp("cut.json");
    assert_int_equal(mxc(&r, "verify", P.src, cut, "--json", json, "--no-progress", NULL), 2);
    run_result_free(&r);
    assert_int_equal(mxc(&r, "report", json, NULL), 2); /* the status the run had */
    assert_contains(r.out, "error [input.unreadable] DST '");
    assert_contains(r.out, "RESULT: ERROR (the run stopped before a verdict)\n");
    run_result_free(&r);
}

/* The offset of needle in hay, or SIZE_MAX. */
static size_t offset_of(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; hay[i]; i++)
        if (strncmp(hay + i, needle, n) == 0)
            return i;
    return SIZE_MAX;
}

/* Replaces the first `old` in the text of from by `new`, into to. */
static void edited(const char *from, const char *to, const char *old, const char *new)
{
    char *text = slurp(from);
    size_t head = offset_of(text, old);
    if (head == SIZE_MAX)
        fail_msg("\"%s\" not in %s", old, from);
    FILE *f = fopen(to, "w");
    assert_non_null(f);
    fwrite(text, 1, head, f);
    fputs(new, f);
    fputs(text + head + strlen(old), f);
    assert_int_equal(fclose(f), 0);
    free(text);
}

static void test_report_refuses_edits(void **state)
{
    (void)state;
    run_result r;
    const char *good = in_tmp("good.json"), *bad = in_tmp("bad.json");
    assert_int_equal(mxc(&r, "verify", P.src, failing_dst(), "--json", good, "--no-progress", "--quiet", NULL), 1);
    run_result_free(&r);
    const struct {
        const char *old, *new, *why;
    } edits[] = {
        {"\"result\":\t\"fail\"", "\"result\":\t\"pass\"", "\"result\" is \"pass\" but its findings hold 2 errors"},
        {"\"errors\":\t2", "\"errors\":\t0", "summary.errors is 0 but the report holds 2"},
        {"\"severity\":\t\"error\"", "\"severity\":\t\"info\"", "summary.errors is 2 but the report holds 1"},
        {"\"status\":\t\"fail\"", "\"status\":\t\"pass\"",
         "\"status\" does not follow from the findings on the tensor (at tensors[3])"},
        {"\"id\":\t\"numerics.threshold\"", "\"id\":\t\"numerics.fine\"",
         "unknown finding id \"numerics.fine\" (at findings[1])"},
        {"\"schema\":\t\"mxfp4-check/verify/1\"", "\"schema\":\t\"mxfp4-check/verify/9\"",
         "the schema is not mxfp4-check/verify/1 (at schema)"},
        {"\"src\":\t\"", "\"src\":\t1, \"x\":\t\"", "not a string (at src)"},
        {"\"dst\":", "\"result\":\t\"fail\", \"dst\":", "duplicate member \"result\""},
        {"\"seconds\":", "\"speed\": 1, \"seconds\":", "unknown member \"speed\" (at summary)"},
        {"\"cause\":\t\"scale_bias\"", "\"cause\":\t\"scale_bias+nibble_swap\"",
         "\"cause\" is not one or more of missing_transpose, nibble_swap, nibble_split, scale_bias, "
         "scale_signed joined by '+' in that order"},
        {"\"cause\":\t\"scale_bias\"", "\"cause\":\t\"nibble_swap+scale_signed\"", "unknown member \"k\""},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        edited(good, bad, edits[i].old, edits[i].new);
        assert_int_equal(mxc(&r, "report", bad, NULL), 2);
        char want[RUN_PATH_MAX + 512];
        snprintf(want, sizeof want, "mxfp4-check report: %s: not an mxfp4-check report: %s", bad, edits[i].why);
        if (strncmp(r.err, want, strlen(want)) != 0)
            fail_msg("edit %zu: stderr\n%s\nwanted it to begin\n%s", i, r.err, want);
        assert_int_equal(r.out_len, 0);
        run_result_free(&r);
    }
    /* not JSON at all, and a report cut short */
    assert_int_equal(run_write_file(bad, "{\"schema\": \"mxfp4-check/verify/1\", \"result\": "), 0);
    assert_int_equal(mxc(&r, "report", bad, NULL), 2);
    assert_contains(r.err, "not valid JSON at line 1");
    run_result_free(&r);
}


/* ---- edits that keep a report's counts consistent --------------------------------- */

typedef void (*json_edit)(cJSON *j);

static void save(const cJSON *j, const char *path)
{
    char *text = cJSON_Print(j);
    assert_non_null(text);
    assert_int_equal(run_write_file(path, text), 0);
    free(text);
}

static cJSON *item(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("no member \"%s\"", key);
    return v;
}

/* After an edit of the findings: result, the summary's counts and every
 * tensor's status recomputed the way the tool derives them, so that only
 * what the edit says is left to catch. */
static void fix_counts(cJSON *j)
{
    int errors = 0, warnings = 0, waived = 0;
    for (cJSON *f = item(j, "findings")->child; f; f = f->next) {
        bool w = !cJSON_IsNull(item(f, "waived"));
        const char *sev = item(f, "severity")->valuestring;
        waived += w;
        errors += !w && strcmp(sev, "error") == 0;
        warnings += !w && strcmp(sev, "warn") == 0;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(j, "result", cJSON_CreateString(errors ? "fail" : "pass"));
    cJSON *sum = item(j, "summary");
    cJSON_ReplaceItemInObjectCaseSensitive(sum, "errors", cJSON_CreateNumber(errors));
    cJSON_ReplaceItemInObjectCaseSensitive(sum, "warnings", cJSON_CreateNumber(warnings));
    cJSON_ReplaceItemInObjectCaseSensitive(sum, "waived", cJSON_CreateNumber(waived));
    for (cJSON *t = item(j, "tensors")->child; t; t = t->next) {
        const char *name = item(t, "name")->valuestring;
        const char *status = "pass";
        cJSON *rule = NULL;
        for (cJSON *f = item(j, "findings")->child; f; f = f->next) {
            const cJSON *ft = item(f, "tensor");
            if (!cJSON_IsString(ft) || strncmp(ft->valuestring, name, strlen(name)) != 0 ||
                !cJSON_IsNull(item(f, "waived")))
                continue;
            const char *rest = ft->valuestring + strlen(name);
            if (*rest && strcmp(rest, "_blocks") != 0 && strcmp(rest, "_scales") != 0)
                continue;
            const char *sev = item(f, "severity")->valuestring;
            if (strcmp(sev, "error") == 0 && strcmp(status, "fail") != 0) {
                status = "fail";
                rule = item(f, "rule");
            } else if (strcmp(sev, "warn") == 0 && strcmp(status, "pass") == 0) {
                status = "warn";
                rule = item(f, "rule");
            }
        }
        cJSON_ReplaceItemInObjectCaseSensitive(t, "status", cJSON_CreateString(status));
        cJSON_ReplaceItemInObjectCaseSensitive(t, "status_rule", rule ? cJSON_Duplicate(rule, true) : cJSON_CreateNull());
    }
}

static void drop_findings(cJSON *j, const char *id)
{
    cJSON *fs = item(j, "findings");
    for (int i = cJSON_GetArraySize(fs) - 1; i >= 0; i--) {
        const cJSON *f = cJSON_GetArrayItem(fs, i);
        if (!id || strcmp(item((cJSON *)f, "id")->valuestring, id) == 0)
            cJSON_DeleteItemFromArray(fs, i);
    }
}

static cJSON *first_finding(cJSON *j, const char *id)
{
    for (cJSON *f = item(j, "findings")->child; f; f = f->next)
        if (strcmp(item(f, "id")->valuestring, id) == 0)
            return f;
    fail_msg("no %s finding", id);
    return NULL;
}

static cJSON *waiver(const char *file, const char *expires)
{
    cJSON *w = cJSON_CreateObject(), *rule = cJSON_CreateObject();
    cJSON_AddStringToObject(w, "reason", "accepted");
    cJSON_AddItemToObject(w, "expires", expires ? cJSON_CreateString(expires) : cJSON_CreateNull());
    if (file) {
        cJSON_AddNullToObject(rule, "id");
        cJSON_AddStringToObject(rule, "file", file);
        cJSON_AddNumberToObject(rule, "line", 3);
        cJSON_AddItemToObject(w, "rule", rule);
    } else {
        cJSON_Delete(rule);
        cJSON_AddNullToObject(w, "rule");
    }
    return w;
}

static void ed_drop_errors(cJSON *j)
{
    drop_findings(j, "numerics.threshold");
    drop_findings(j, "numerics.diagnosis");
    fix_counts(j);
}
static void ed_drop_stop(cJSON *j)
{
    drop_findings(j, "input.unreadable");
    fix_counts(j);
}
static void ed_waive_stop(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(first_finding(j, "input.unreadable"), "waived", waiver("w.yaml", NULL));
    fix_counts(j);
}
static void ed_warn_stop(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(first_finding(j, "input.unreadable"), "severity", cJSON_CreateString("warn"));
    fix_counts(j);
}
static void ed_waive_by_hand(cJSON *j)
{
    for (cJSON *f = item(j, "findings")->child; f; f = f->next)
        if (strcmp(item(f, "severity")->valuestring, "error") == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(f, "waived", waiver(NULL, NULL));
    fix_counts(j);
}
static void ed_waive_unknown_file(cJSON *j)
{
    for (cJSON *f = item(j, "findings")->child; f; f = f->next)
        if (strcmp(item(f, "severity")->valuestring, "error") == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(f, "waived", waiver("other.yaml", NULL));
    fix_counts(j);
}
static void ed_waive_expired(cJSON *j)
{
    cJSON *files = item(item(j, "policy"), "files"), *pf = cJSON_CreateObject();
    cJSON_AddStringToObject(pf, "path", "w.yaml");
    cJSON_AddStringToObject(pf, "sha256", "0000000000000000000000000000000000000000000000000000000000000000");
    cJSON_AddItemToArray(files, pf);
    for (cJSON *f = item(j, "findings")->child; f; f = f->next)
        if (strcmp(item(f, "severity")->valuestring, "error") == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(f, "waived", waiver("w.yaml", "2001-01-01"));
    fix_counts(j);
}
static void ed_complete(cJSON *j)
{
    cJSON *scope = item(j, "scope");
    cJSON_ReplaceItemInObjectCaseSensitive(scope, "only", cJSON_CreateNull());
    cJSON_ReplaceItemInObjectCaseSensitive(scope, "complete", cJSON_CreateTrue());
}
static void ed_repaint(cJSON *j)
{
    cJSON_ReplaceItemInObjectCaseSensitive(first_finding(j, "numerics.threshold"), "message",
                                           cJSON_CreateString("x\x1b[2K\rRESULT: PASS"));
}
static void ed_drop_extra(cJSON *j)
{
    drop_findings(j, "coverage.extra");
    fix_counts(j);
}

static void check_refused(const char *from, json_edit edit, const char *why)
{
    cJSON *j = load(from);
    edit(j);
    const char *bad = in_tmp("edited.json");
    save(j, bad);
    cJSON_Delete(j);
    run_result r;
    assert_int_equal(mxc(&r, "report", bad, "--quiet", NULL), 2);
    if (!strstr(r.err, why))
        fail_msg("stderr\n%s\nlacks\n%s", r.err, why);
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
}

/* Edits that keep every count consistent but contradict what else the report
 * says: each is refused, never rendered as a pass. */
static void test_report_refuses_consistent_forgeries(void **state)
{
    (void)state;
    run_result r;
    char failing[RUN_PATH_MAX], stopped[RUN_PATH_MAX], only[RUN_PATH_MAX], extra[RUN_PATH_MAX];
    snprintf(failing, sizeof failing, "%s", in_tmp("forge-fail.json"));
    snprintf(stopped, sizeof stopped, "%s", in_tmp("forge-stop.json"));
    snprintf(only, sizeof only, "%s", in_tmp("forge-only.json"));
    snprintf(extra, sizeof extra, "%s", in_tmp("forge-extra.json"));
    assert_int_equal(mxc(&r, "verify", P.src, failing_dst(), "--json", failing, "--quiet", "--no-progress", NULL), 1);
    run_result_free(&r);
    assert_int_equal(mxc(&r, "verify", P.src, P.src, "--json", stopped, "--quiet", "--no-progress", NULL), 2);
    assert_contains(r.err, "SRC and DST are the same checkpoint");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--only", "model.layers.0.*", "--json", only, "--quiet",
                         "--no-progress", NULL),
                     0);
    run_result_free(&r);
    char out[RUN_PATH_MAX];
    snprintf(out, sizeof out, "%s", in_tmp("with-extra"));
    const char *argv[] = {P.plant, "extra", P.src, P.dst, out, "model.extra.weight", NULL};
    assert_int_equal(run_list(&r, argv), 0);
    run_result_free(&r);
    assert_int_equal(mxc(&r, "verify", P.src, out, "--json", extra, "--quiet", "--no-progress", NULL), 1);
    run_result_free(&r);

    check_refused(failing, ed_drop_errors, "rel_l2 is past the tensor's max_rel_l2 without a numerics.threshold finding");
    check_refused(failing, ed_waive_by_hand, "a waiver without the rule file that grants it");
    check_refused(failing, ed_waive_unknown_file, "a waiver from a file that is not in policy.files");
    check_refused(failing, ed_waive_expired, "a waiver past its expiry date (2001-01-01) applied on 20");
    check_refused(failing, ed_repaint, "\"message\" holds control or hidden characters");
    check_refused(stopped, ed_drop_stop, "\"scope\" is partial without --only, --shard or an input.unreadable finding");
    check_refused(stopped, ed_waive_stop, "an input.unreadable finding that is not a plain error");
    check_refused(stopped, ed_warn_stop, "an input.unreadable finding that is not a plain error");
    check_refused(only, ed_complete, "\"scope\" is complete but tool.argv limits the run with --only");
    check_refused(extra, ed_drop_extra, "coverage.extra lists a name no coverage.extra finding has");
}

/* report never writes over the report it reads, however the path is spelled. */
static void test_report_keeps_its_input(void **state)
{
    (void)state;
    run_result r;
    char in[RUN_PATH_MAX], link[RUN_PATH_MAX], dotted[RUN_PATH_MAX];
    snprintf(in, sizeof in, "%s", in_tmp("evidence.json"));
    snprintf(link, sizeof link, "%s", in_tmp("evidence-link.json"));
    assert_int_equal(run_join(dotted, sizeof dotted, P.tmp, "./evidence.json"), 0);
    assert_int_equal(mxc(&r, "verify", P.src, P.dst, "--json", in, "--quiet", "--no-progress", NULL), 0);
    run_result_free(&r);
    assert_int_equal(symlink(in, link), 0);
    char *before = slurp(in);
    const struct {
        const char *opt, *path;
    } cases[] = {{"--html", in}, {"--markdown", dotted}, {"--junit", link}, {"--json", in}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(mxc(&r, "report", in, cases[i].opt, cases[i].path, NULL), 2);
        char want[3 * RUN_PATH_MAX];
        snprintf(want, sizeof want, "mxfp4-check report: %s '%s' would write over '%s', which it reads\n",
                 cases[i].opt, cases[i].path, in);
        assert_string_equal(r.err, want);
        run_result_free(&r);
        char *after = slurp(in);
        assert_string_equal(after, before);
        free(after);
    }
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provenance_and_manifest),
        cmocka_unit_test(test_partial_run_says_so),
        cmocka_unit_test(test_quiet_failure_still_says_why),
        cmocka_unit_test(test_table_fits_the_terminal),
        cmocka_unit_test(test_progress_fits_the_terminal),
        cmocka_unit_test(test_swapped_sides),
        cmocka_unit_test(test_usage_errors_are_one_line),
        cmocka_unit_test(test_markdown_summary),
        cmocka_unit_test(test_report_renders_again),
        cmocka_unit_test(test_report_refuses_edits),
        cmocka_unit_test(test_report_refuses_consistent_forgeries),
        cmocka_unit_test(test_report_keeps_its_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
