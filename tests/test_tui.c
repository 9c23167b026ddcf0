/* test_tui.c - `mxfp4-check tui` as a user drives it.
 *
 * Two kinds of tests. Snapshot tests run the real binary in its scripted
 * mode (keys in MXFP4_CHECK_TUI_KEYS, screens dumped as text, separated by
 * "----" lines, the final screen last) and look for what the fixture holds:
 * shapes and shards from tests/data/seedconv_expected_table.inc (read with
 * Python's json module), rel_l2 from expected-stats.json (computed
 * independently in float64), the scale histogram of down_proj counted with
 * Python from its bytes (the numbers test_inspect.c uses), file sizes from
 * stat(). End-to-end tests run the binary in a real terminal, tmux (a private
 * server per test: -L), send keys, and read the pane; they skip with a reason
 * when tmux is not installed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_check.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "st_writer.h"

#include "data/seedconv_expected_table.inc"

#define FIXTURE_SET "seedconv-small"
#define DOWN_PROJ "model.layers.0.mlp.experts.down_proj"
#define GATE_UP "model.layers.0.mlp.experts.gate_up_proj"
#define EVIL_NAME "evil\x1b[2J\nname.weight"
#define EVIL_ESCAPED "evil\\x1B[2J\\nname.weight" /* text_escape's rendering */
#define MAX_ARGS 16
#define TMUX_WAIT_S 20

/* ---- running the binary -------------------------------------------------- */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static const char *fixture(const char *sub)
{
    static char path[2][RUN_PATH_MAX];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s/%s", env_or_fail("MXC_FIXTURES"), FIXTURE_SET, sub);
    return path[k];
}

static void assert_no_sanitizer_report(const run_result *r)
{
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report from the binary:\n%s", r->err);
}

/* Runs `mxfp4-check tui ARGS...` with the keys of a scripted run (NULL: no
 * script at all). Returns the exit status. */
static int tui_run(run_result *r, const char *keys, ...)
{
    const char *argv[MAX_ARGS + 3] = {env_or_fail("MXC_BIN"), "tui"};
    va_list ap;
    va_start(ap, keys);
    int n = 2;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    va_end(ap);
    if (keys)
        setenv("MXFP4_CHECK_TUI_KEYS", keys, 1);
    else
        unsetenv("MXFP4_CHECK_TUI_KEYS");
    int rc = run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, r);
    unsetenv("MXFP4_CHECK_TUI_KEYS");
    if (rc != 0)
        fail_msg("tui: did not exit normally (signal %d, timed out %d)\nstderr: %s", r->signal, r->timed_out,
                 r->err);
    assert_no_sanitizer_report(r);
    return r->status;
}

/* The last screen of a scripted run's output. */
static const char *final_screen(const run_result *r)
{
    const char *s = r->out, *p;
    while ((p = strstr(s, "----\n")) != NULL)
        s = p + 5;
    return s;
}

/* The n-th screen (0-based) dumped by ":dump". */
static char *screen_at(const run_result *r, int n)
{
    const char *s = r->out;
    for (int k = 0; k < n; k++) {
        s = strstr(s, "----\n");
        if (!s)
            fail_msg("no screen %d in:\n%s", n, r->out);
        s += 5;
    }
    const char *e = strstr(s, "----\n");
    size_t len = e ? (size_t)(e - s) : strlen(s);
    char *out = malloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" on the screen:\n%s", needle, hay);
}

static void assert_not_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" on the screen:\n%s", needle, hay);
}

/* The screen line holding needle (a static copy), or failure. */
static const char *line_with(const char *screen, const char *needle)
{
    static char line[4096];
    const char *p = strstr(screen, needle);
    if (!p)
        fail_msg("no line with \"%s\" on the screen:\n%s", needle, screen);
    const char *b = p, *e = strchr(p, '\n');
    while (b > screen && b[-1] != '\n')
        b--;
    size_t len = e ? (size_t)(e - b) : strlen(b);
    len = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, b, len);
    line[len] = '\0';
    return line;
}

static const seedconv_row *mxfp4_row(const char *name)
{
    for (int i = 0; i < SEEDCONV_TENSORS; i++)
        if (strcmp(seedconv_mxfp4[i].name, name) == 0)
            return &seedconv_mxfp4[i];
    fail_msg("no row %s in the fixture table", name);
    return NULL;
}

static void shape_text(const seedconv_row *row, char *out, size_t outlen)
{
    size_t o = (size_t)snprintf(out, outlen, "[");
    for (int i = 0; i < row->rank; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%llu", i ? ", " : "", (unsigned long long)row->shape[i]);
    snprintf(out + o, outlen - o, "]");
}

/* expected-stats.json's value of key for tensor name. */
static double expected_stat(const char *name, const char *key)
{
    char path[RUN_PATH_MAX], *text;
    snprintf(path, sizeof path, "%s", fixture("expected-stats.json"));
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    double v = num_member(member(member(root, "tensors"), name), key);
    cJSON_Delete(root);
    return v;
}

/* The screen's rendering of a statistic (%.4g, as the weight map prints). */
static const char *stat_text(double v)
{
    static char buf[2][32];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%.4g", v);
    return buf[k];
}

static int tmp_setup(void **state) { return run_tmpdir_setup(state, "tui"); }
static int tmp_teardown(void **state) { return run_tmpdir_teardown(state); }

/* ---- scripted snapshots ----------------------------------------------------------- */

static void test_first_screen(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "", fixture("mxfp4"), NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(s, "[2 Weight map]");
    /* lm_head is kept by the pattern lm_head; model/ holds the other 36 */
    assert_contains(line_with(s, "lm_head.weight"), "[K]");
    assert_contains(line_with(s, "lm_head.weight"), "lm_head");
    assert_contains(line_with(s, "model/"), "[*]");
    char want[64];
    snprintf(want, sizeof want, "%d tensors, %dQ %dK", SEEDCONV_TENSORS - 1, SEEDCONV_QUANTIZED,
             SEEDCONV_TENSORS - 1 - SEEDCONV_QUANTIZED);
    assert_contains(line_with(s, "model/"), want);
    run_result_free(&r);
}

static void test_shards_view(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "1", fixture("mxfp4"), NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(s, "[1 Shards]");
    assert_contains(s, "2 shards");
    const char *shards[] = {"model-00000.safetensors", "model-00001.safetensors"};
    for (int k = 0; k < 2; k++) {
        char path[RUN_PATH_MAX], size[32];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", fixture("mxfp4"), shards[k]);
        assert_int_equal(stat(path, &sb), 0);
        snprintf(size, sizeof size, "%.1f kB", (double)sb.st_size / 1000);
        /* stored tensors: a quantized one counts twice (blocks and scales) */
        int stored = 0;
        for (int i = 0; i < SEEDCONV_TENSORS; i++)
            if (strcmp(seedconv_mxfp4[i].shard, shards[k]) == 0)
                stored += strcmp(seedconv_mxfp4[i].dtype, "MXFP4") == 0 ? 2 : 1;
        char count[16];
        snprintf(count, sizeof count, " %d ", stored);
        assert_contains(line_with(s, shards[k]), size);
        assert_contains(line_with(s, shards[k]), count);
    }
    run_result_free(&r);
}

static void test_navigate_to_quantized(void **state)
{
    (void)state;
    run_result r;
    /* into model/, layers.0/, mlp/, experts/ by the keys, then open down_proj */
    assert_int_equal(tui_run(&r, "j <Enter> j <Enter> :dump j <Enter> g <Enter> :dump <Enter>", fixture("mxfp4"),
                             "--size", "120x40", NULL), 0);
    char *layer = screen_at(&r, 0), *experts = screen_at(&r, 1);
    assert_contains(layer, "/model/layers.0/");
    assert_contains(experts, "/model/layers.0/mlp/experts/");
    assert_contains(line_with(experts, "down_proj_bias"), "[K]");
    assert_contains(line_with(experts, "down_proj_bias"), "model.layers.*.mlp.experts.down_proj_bias");
    assert_contains(line_with(experts, "] down_proj "), "[Q]");
    free(layer);
    free(experts);
    const char *s = final_screen(&r);
    const seedconv_row *row = mxfp4_row(DOWN_PROJ);
    char shape[64];
    shape_text(row, shape, sizeof shape);
    assert_contains(line_with(s, "tensor "), DOWN_PROJ);
    assert_contains(line_with(s, "dtype "), "MXFP4");
    assert_contains(line_with(s, "shape "), shape);
    assert_contains(line_with(s, "blocks      "), DOWN_PROJ "_blocks");
    assert_contains(line_with(s, "U8 [3, 192, 5, 16]"), "U8");
    assert_contains(line_with(s, "shard model-0"), row->shard);
    /* counted with Python from the bytes of down_proj_scales */
    assert_contains(s, "scale exponents (2^e), 2880 blocks");
    static const struct { const char *exp, *count; } hist[] = {
        {"-7", "1571"}, {"-6", "1297"}, {"-5", "8"}, {"-4", "4"},
    };
    /* bars of block characters, the peak 48 cells wide at 120 columns, the
     * others in proportion (whole cells, then an eighth block) */
    for (size_t k = 0; k < 4; k++) {
        char want[64];
        snprintf(want, sizeof want, "%6s %12s  ", hist[k].exp, hist[k].count);
        const char *line = line_with(s, want);
        int full = 0;
        for (const char *p = line; (p = strstr(p, "\u2588")) != NULL; p += 3)
            full++;
        assert_int_equal(full, (int)(48.0 * atof(hist[k].count) / 1571));
        if (k > 0)
            assert_true(strlen(line) > strlen(want) + 3 * (size_t)full); /* the eighth block */
    }
    run_result_free(&r);
}

static void test_search_forms(void **state)
{
    (void)state;
    run_result r;
    /* plain text, n for the next match, a glob (anchored: not ..._bias), a
     * regex matched in full, and a search that matches nothing; Enter opens
     * the match, so its detail names it */
    assert_int_equal(tui_run(&r, "/router.weight <Enter> <Enter> :dump q n <Enter> :dump "
                                 "/*layers.1*gate_up_proj <Enter> <Enter> :dump "
                                 "/re:.*norm\\.weight <Enter> <Enter> :dump /nothing_like_this <Enter>",
                             fixture("mxfp4"), "--size", "100x30", NULL), 0);
    static const char *const want[] = {
        "model.layers.0.mlp.router.weight", "model.layers.1.mlp.router.weight",
        "model.layers.1.mlp.experts.gate_up_proj",
        "model.layers.1.post_attention_layernorm.weight", /* forward from the cursor, as less */
    };
    for (int k = 0; k < 4; k++) {
        char *s = screen_at(&r, k);
        char line[160];
        snprintf(line, sizeof line, "tensor      %s\n", want[k]);
        assert_contains(s, line);
        free(s);
    }
    assert_contains(final_screen(&r), "not found: nothing_like_this");
    run_result_free(&r);
}

static void test_bad_regex_is_said(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "/re:(unclosed <Enter>", fixture("mxfp4"), NULL), 0);
    assert_contains(final_screen(&r), "search:");
    run_result_free(&r);
}

static void test_filter_quantized_flat(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "t f", fixture("mxfp4"), "--size", "100x50", NULL), 0);
    const char *s = final_screen(&r);
    char want[32];
    snprintf(want, sizeof want, "%d rows", SEEDCONV_QUANTIZED);
    assert_contains(line_with(s, "all tensors"), want);
    assert_contains(line_with(s, "all tensors"), "filter quantized");
    int listed = 0;
    for (int i = 0; i < SEEDCONV_TENSORS; i++) {
        const seedconv_row *row = &seedconv_mxfp4[i];
        char name[128];
        snprintf(name, sizeof name, " %s ", row->name);
        if (strcmp(row->dtype, "MXFP4") == 0) {
            assert_contains(line_with(s, name), "[Q]");
            listed++;
        } else {
            assert_not_contains(s, name);
        }
    }
    assert_int_equal(listed, SEEDCONV_QUANTIZED);
    run_result_free(&r);
}

/* A verify run inside (v), then the weight map flat and sorted by rel_l2:
 * the four quantized tensors first, in expected-stats.json's order. */
static void test_verify_then_sort_by_error(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "v :wait :dump 2 t s s", fixture("bf16"), fixture("mxfp4"), "--size", "120x40",
                             NULL), 0);
    char *findings = screen_at(&r, 0);
    assert_contains(findings, "[4 Findings]");
    assert_contains(findings, "PASS");
    /* the converter copies the source's total_size (fixtures/README.md) */
    assert_contains(line_with(findings, "index.total_size"), "W ");
    free(findings);
    const char *s = final_screen(&r);
    assert_contains(s, "sort rel_l2");
    const char *names[SEEDCONV_QUANTIZED];
    double rel[SEEDCONV_QUANTIZED];
    int n = 0;
    for (int i = 0; i < SEEDCONV_TENSORS; i++)
        if (strcmp(seedconv_mxfp4[i].dtype, "MXFP4") == 0) {
            names[n] = seedconv_mxfp4[i].name;
            rel[n++] = expected_stat(seedconv_mxfp4[i].name, "rel_l2");
        }
    for (int a = 0; a < n; a++) /* largest first */
        for (int b = a + 1; b < n; b++)
            if (rel[b] > rel[a]) {
                double t = rel[a];
                rel[a] = rel[b];
                rel[b] = t;
                const char *u = names[a];
                names[a] = names[b];
                names[b] = u;
            }
    const char *prev = NULL;
    for (int k = 0; k < n; k++) {
        char name[128];
        snprintf(name, sizeof name, " %s ", names[k]);
        const char *at = strstr(s, name);
        if (!at)
            fail_msg("%s is not on the screen:\n%s", names[k], s);
        assert_contains(line_with(s, name), stat_text(rel[k]));
        if (prev && at < prev)
            fail_msg("%s is listed above a tensor of larger rel_l2:\n%s", names[k], s);
        prev = at;
    }
    run_result_free(&r);
}

/* A policy the fixture fails: rel_l2 of every quantized tensor is above
 * 0.1 (expected-stats.json: 0.119 to 0.121). The weight map marks them
 * failing, the failing filter keeps exactly them, Findings lists the errors. */
static void test_failing_marks(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "tight.yaml"), 0);
    assert_int_equal(run_write_file(path, "version: 1\nrules:\n  - id: tight\n"
                                          "    select: [\"*\"]\n"
                                          "    limits: {max_rel_l2: 0.1}\n"), 0);
    run_result r;
    assert_int_equal(tui_run(&r, "v :wait :dump 2 t f f f", "--rules", path, fixture("bf16"), fixture("mxfp4"),
                             "--size", "120x40", NULL), 0);
    char *findings = screen_at(&r, 0);
    assert_contains(findings, "FAIL");
    char want[64];
    snprintf(want, sizeof want, "%d errors", SEEDCONV_QUANTIZED);
    assert_contains(findings, want);
    assert_contains(line_with(findings, "numerics.threshold"), "E ");
    free(findings);
    const char *s = final_screen(&r);
    snprintf(want, sizeof want, "%d rows", SEEDCONV_QUANTIZED);
    assert_contains(line_with(s, "all tensors"), want);
    assert_contains(line_with(s, "all tensors"), "filter failing");
    for (int i = 0; i < SEEDCONV_TENSORS; i++) {
        const seedconv_row *row = &seedconv_mxfp4[i];
        char name[128];
        snprintf(name, sizeof name, " %s ", row->name);
        if (strcmp(row->dtype, "MXFP4") != 0) {
            assert_not_contains(s, name);
            continue;
        }
        const char *line = line_with(s, name);
        if (strncmp(line, "! [Q]", 5) != 0)
            fail_msg("%s is not marked failing: '%s'", row->name, line);
    }
    run_result_free(&r);
}

/* `verify --json` of the fixture, into dir; returns the report's path. */
static const char *make_report(const char *dir)
{
    static char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, dir, "report.json"), 0);
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", fixture("bf16"), fixture("mxfp4"), "--json", path,
                          "--quiet", NULL};
    run_result r;
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r) != 0 || r.status != 0)
        fail_msg("verify --json did not pass: %s", r.err);
    run_result_free(&r);
    return path;
}

/* A saved report: the weight map flat, sorted by rel_l2, shows the
 * quantized tensors first in expected-stats.json's order, with its numbers. */
static void test_report_sort_by_error(void **state)
{
    const char *report = make_report(*state);
    run_result r;
    assert_int_equal(tui_run(&r, "t s s", fixture("mxfp4"), "--report", report, "--size", "120x40", NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(line_with(s, "mxfp4-check"), "PASS 0E 1W");
    const char *prev = NULL;
    const char *order[SEEDCONV_QUANTIZED];
    double rel[SEEDCONV_QUANTIZED];
    int n = 0;
    for (int i = 0; i < SEEDCONV_TENSORS; i++)
        if (strcmp(seedconv_mxfp4[i].dtype, "MXFP4") == 0) {
            order[n] = seedconv_mxfp4[i].name;
            rel[n++] = expected_stat(seedconv_mxfp4[i].name, "rel_l2");
        }
    for (int k = 0; k < n; k++) { /* the k-th largest must come k-th */
        int best = k;
        for (int j = k + 1; j < n; j++)
            if (rel[j] > rel[best])
                best = j;
        const char *tn = order[best];
        double tv = rel[best];
        order[best] = order[k];
        rel[best] = rel[k];
        order[k] = tn;
        rel[k] = tv;
        char name[128];
        snprintf(name, sizeof name, " %s ", order[k]);
        const char *at = strstr(s, name);
        if (!at || (prev && at < prev))
            fail_msg("%s is not listed in order of rel_l2:\n%s", order[k], s);
        assert_contains(line_with(s, name), stat_text(rel[k]));
        prev = at;
    }
    run_result_free(&r);
}

/* A report of another checkpoint is refused, never shown as DST's verdict:
 * here a copy of the fixture, whose report names the fixture itself. */
static void test_report_of_other_checkpoint(void **state)
{
    const char *report = make_report(*state);
    char copy[RUN_PATH_MAX], want[3 * RUN_PATH_MAX];
    assert_int_equal(run_join(copy, sizeof copy, *state, "copy-of-mxfp4"), 0);
    assert_int_equal(run_copy_dir(fixture("mxfp4"), copy), 0);
    run_result r;
    assert_int_equal(tui_run(&r, "", copy, "--report", report, NULL), 2);
    snprintf(want, sizeof want, "mxfp4-check tui: --report '%s' is a report of DST '%s', not of '%s'\n", report,
             fixture("mxfp4"), copy);
    assert_string_equal(r.err, want);
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
}

/* A TERM without terminfo, or one that cannot place the cursor, is exit 2
 * with a message (ncurses' initscr would exit 1, this tool's "fail"); run on
 * a pty from util-linux's script. */
static void test_unusable_terminal(void **state)
{
    (void)state;
    if (access("/usr/bin/script", X_OK) != 0) {
        print_message("util-linux's script not found: TERM handling is not tested\n");
        skip();
    }
    const struct {
        const char *term, *says;
    } cases[] = {{"nonexistent-term", "no terminfo entry for TERM 'nonexistent-term'"},
                 {"dumb", "the terminal 'dumb' cannot place the cursor"}};
    for (size_t i = 0; i < 2; i++) {
        char cmd[2 * RUN_PATH_MAX];
        /* ncurses' newterm keeps what it allocated when it fails: not ours
         * to free, so the sanitizer build is told not to count it */
        snprintf(cmd, sizeof cmd, "ASAN_OPTIONS=detect_leaks=0 TERM=%s '%s' tui '%s'; echo \"exit $?\"",
                 cases[i].term, env_or_fail("MXC_BIN"), fixture("mxfp4"));
        const char *argv[] = {"script", "-qec", cmd, "/dev/null", NULL};
        run_result r;
        assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
        assert_contains(r.out, cases[i].says);
        assert_contains(r.out, "exit 2");
        run_result_free(&r);
    }
}

static void test_report_unreadable(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "bad.json"), 0);
    assert_int_equal(run_write_file(path, "{\"schema\": \"mxfp4-check/verify/1\"}"), 0);
    run_result r;
    assert_int_equal(tui_run(&r, "", fixture("mxfp4"), "--report", path, NULL), 2);
    assert_contains(r.err, "--report");
    assert_contains(r.err, "bad.json");
    assert_ptr_equal(strchr(r.err, '\n'), r.err + r.err_len - 1);
    run_result_free(&r);
}

/* x stops a verify between slabs: no report replaces the (absent) one. The
 * checkpoint is large in count (bench/gen_scale.py), so the verify runs long
 * enough to be stopped; were x ignored, it would finish and show PASS. */
static void test_verify_cancel(void **state)
{
    char gen[RUN_PATH_MAX], out[RUN_PATH_MAX], src[RUN_PATH_MAX], dst[RUN_PATH_MAX];
    snprintf(gen, sizeof gen, "%s/bench/gen_scale.py", env_or_fail("MXC_SRCDIR"));
    assert_int_equal(run_join(out, sizeof out, *state, "scale"), 0);
    const char *argv[] = {"python3", gen, "index", out, "100000", NULL};
    run_result g;
    if (run_cmd(argv, 120, &g) != 0 || g.status != 0)
        fail_msg("gen_scale.py failed: %s", g.err);
    run_result_free(&g);
    assert_int_equal(run_join(src, sizeof src, out, "src"), 0);
    assert_int_equal(run_join(dst, sizeof dst, out, "dst"), 0);
    run_result r;
    assert_int_equal(tui_run(&r, "v x :wait", src, dst, NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(s, "No report loaded");
    assert_not_contains(s, "PASS");
    assert_not_contains(s, "FAIL");
    run_result_free(&r);
}

static void test_compare_on_request(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "/" DOWN_PROJ " <Enter> <Enter> c :wait", fixture("bf16"), fixture("mxfp4"),
                             "--size", "100x40", NULL), 0);
    const char *s = final_screen(&r);
    char want[64];
    snprintf(want, sizeof want, "rel_l2 %s", stat_text(expected_stat(DOWN_PROJ, "rel_l2")));
    assert_contains(s, "vs SRC");
    assert_contains(s, want);
    snprintf(want, sizeof want, "cosine %s", stat_text(expected_stat(DOWN_PROJ, "cosine")));
    assert_contains(s, want);
    run_result_free(&r);
}

static void test_compare_without_src(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "/" DOWN_PROJ " <Enter> <Enter> c", fixture("mxfp4"), NULL), 0);
    assert_contains(final_screen(&r), "no SRC given");
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "v", fixture("mxfp4"), NULL), 0);
    assert_contains(final_screen(&r), "no SRC given");
    run_result_free(&r);
}

static unsigned long default_rule_line(const char *id)
{
    char path[RUN_PATH_MAX], *text, want[128];
    snprintf(path, sizeof path, "%s/rules/default.yaml", env_or_fail("MXC_SRCDIR"));
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    snprintf(want, sizeof want, "- id: %s\n", id);
    char *at = strstr(text, want);
    assert_non_null(at);
    unsigned long line = 1;
    for (char *p = text; p < at; p++)
        line += *p == '\n';
    free(text);
    return line;
}

static void test_policy_view(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "/" DOWN_PROJ " <Enter> e", fixture("mxfp4"), "--size", "100x40", NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(s, "[5 Policy]");
    assert_contains(s, DOWN_PROJ " (quantized in DST)");
    char want[64];
    snprintf(want, sizeof want, "default-limits builtin:default:%lu", default_rule_line("default-limits"));
    assert_contains(line_with(s, "max_rel_l2 "), want);
    assert_contains(line_with(s, "expect "), "config.json: quantized (no pattern keeps it)");
    run_result_free(&r);
}

static void test_policy_with_rule_file(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "team.yaml"), 0);
    assert_int_equal(run_write_file(path, "version: 1\nrules:\n  - id: experts-tight\n"
                                          "    select: [\"model.layers.*.mlp.experts.*\"]\n"
                                          "    limits: {max_rel_l2: 0.15}\n"), 0);
    run_result r;
    assert_int_equal(tui_run(&r, "/" DOWN_PROJ " <Enter> e", fixture("mxfp4"), "--rules", path, "--size", "140x40",
                             NULL), 0);
    const char *line = line_with(final_screen(&r), "max_rel_l2 ");
    assert_contains(line, "0.15");
    assert_contains(line, "experts-tight");
    assert_contains(line, "team.yaml:3");
    run_result_free(&r);
}

static void test_help_lists_keys(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "?", fixture("mxfp4"), "--size", "120x40", NULL), 0);
    const char *s = final_screen(&r);
    static const char *const keys[] = {"1 2 3 4 5, Tab", "Up Down, j k", "PgUp PgDn", "g G", "Enter, l, Right",
                                       "Backspace, h, Left", "n N", "Q"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        assert_contains(s, keys[k]);
    static const char *const single[] = {"/ ", "s ", "S ", "f ", "t ", "e ", "c ", "v ", "x ", "m ", "? ", "q "};
    for (size_t k = 0; k < sizeof single / sizeof single[0]; k++) {
        char at_start[8];
        snprintf(at_start, sizeof at_start, "\n%s", single[k]);
        assert_contains(s, at_start);
    }
    run_result_free(&r);
}

/* Every view that scrolls takes the same keys (those of the lists): at 12
 * lines the help is longer than its screen; G shows its last line, g its
 * first again, Space a page further in the metadata. */
static void test_scrolled_views_share_keys(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "? G", fixture("mxfp4"), "--size", "100x12", NULL), 0);
    assert_contains(final_screen(&r), "Marks: [Q] quantized");
    assert_not_contains(final_screen(&r), "1 2 3 4 5, Tab");
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "? G g", fixture("mxfp4"), "--size", "100x12", NULL), 0);
    assert_contains(final_screen(&r), "1 2 3 4 5, Tab");
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "? <Space>", fixture("mxfp4"), "--size", "100x12", NULL), 0);
    assert_not_contains(final_screen(&r), "1 2 3 4 5, Tab");
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "m", fixture("mxfp4"), "--size", "100x12", NULL), 0);
    char *first = strdup(final_screen(&r));
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "m <Space>", fixture("mxfp4"), "--size", "100x12", NULL), 0);
    assert_string_not_equal(first, final_screen(&r));
    run_result_free(&r);
    free(first);
}

static void test_metadata_view(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "m", fixture("mxfp4"), "--size", "100x30", NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(s, "quant_method mxfp4");
    /* lm_head keeps lm_head.weight; model.layers.*.self_attn 9 tensors per layer */
    assert_contains(line_with(s, "lm_head  "), " 1");
    assert_contains(line_with(s, "model.layers.*.self_attn "), " 18");
    run_result_free(&r);
}

static void test_back_and_quit(void **state)
{
    (void)state;
    run_result r;
    /* q goes back from the tensor to the weight map, then quits: the last
     * screen drawn is the weight map */
    assert_int_equal(tui_run(&r, "j <Enter> j <Enter> <Backspace> :dump q q", fixture("mxfp4"), NULL), 0);
    char *s = screen_at(&r, 0);
    assert_contains(s, "/model/");
    assert_not_contains(s, "/model/layers");
    free(s);
    run_result_free(&r);
}

static void test_resize_to_80x24(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, ":dump :resize 80x24 /" DOWN_PROJ " <Enter> <Enter>", fixture("mxfp4"), "--size",
                             "120x40", NULL), 0);
    char *big = screen_at(&r, 0);
    int lines = 0;
    for (const char *p = big; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 40);
    free(big);
    const char *s = final_screen(&r);
    lines = 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t cols = 0;
        for (size_t k = 0; k < len; k++)
            cols += ((unsigned char)p[k] & 0xC0) != 0x80;
        if (cols > 80)
            fail_msg("line %d has %zu columns at 80x24:\n%s", lines, cols, s);
        lines++;
        p += len + (e != NULL);
    }
    assert_int_equal(lines, 24);
    assert_contains(s, "[3 Tensor]");
    assert_contains(line_with(s, "shape "), "[3, 160, 192]");
    run_result_free(&r);
}

static void test_ascii_mode(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "/" DOWN_PROJ " <Enter> <Enter>", fixture("mxfp4"), "--ascii", "--size", "100x40",
                             NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(line_with(s, "  1571  "), "####");
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80)
            fail_msg("a byte past ASCII in --ascii mode:\n%s", s);
    run_result_free(&r);
    /* a locale that is not UTF-8 draws ASCII too */
    setenv("LC_ALL", "C", 1);
    assert_int_equal(tui_run(&r, "/" DOWN_PROJ " <Enter> <Enter>", fixture("mxfp4"), "--size", "100x40", NULL), 0);
    setenv("LC_ALL", "C.UTF-8", 1);
    assert_contains(line_with(final_screen(&r), "  1571  "), "####");
    run_result_free(&r);
}

static void test_escaped_names(void **state)
{
    static const uint16_t v[2] = {0x3f80, 0x4000};
    char path[RUN_PATH_MAX], err[256];
    assert_int_equal(run_join(path, sizeof path, *state, "evil.safetensors"), 0);
    stw_writer *w = stw_new();
    assert_int_equal(stw_add(w, EVIL_NAME, DT_BF16, 1, (uint64_t[]){2}, v, err, sizeof err), 0);
    assert_int_equal(stw_write(w, path, err, sizeof err), 0);
    stw_free(w);
    run_result r;
    assert_int_equal(tui_run(&r, "t", path, "--size", "100x24", NULL), 0);
    const char *s = final_screen(&r);
    assert_contains(s, EVIL_ESCAPED);
    assert_null(memchr(r.out, 0x1b, r.out_len));
    run_result_free(&r);
}

static void test_usage_and_input_errors(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(tui_run(&r, "", NULL), 2);
    assert_contains(r.err, "expected [SRC] DST");
    assert_contains(r.err, "--help");
    assert_ptr_equal(strchr(r.err, '\n'), r.err + r.err_len - 1); /* one line */
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "", "/nonexistent/mxc-tui-dst", NULL), 2);
    assert_contains(r.err, "DST '/nonexistent/mxc-tui-dst'");
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "", "/nonexistent/mxc-tui-src", fixture("mxfp4"), NULL), 2);
    assert_contains(r.err, "SRC '/nonexistent/mxc-tui-src'");
    run_result_free(&r);
    /* no terminal and no script: refused, not a hang */
    assert_int_equal(tui_run(&r, NULL, fixture("mxfp4"), NULL), 2);
    assert_contains(r.err, "needs a terminal");
    run_result_free(&r);
    assert_int_equal(tui_run(&r, "<NoSuchKey>", fixture("mxfp4"), NULL), 2);
    assert_contains(r.err, "script");
    run_result_free(&r);
}

/* ---- tmux end to end --------------------------------------------------------------- */

typedef struct {
    char sock[64];
    char dir[RUN_PATH_MAX];
} tmux_session;

static bool have_tmux(void)
{
    run_result r;
    const char *argv[] = {"tmux", "-V", NULL};
    bool ok = run_cmd(argv, 10, &r) == 0 && r.status == 0;
    run_result_free(&r);
    return ok;
}

#define SKIP_WITHOUT_TMUX()                                                                \
    do {                                                                                   \
        if (!have_tmux()) {                                                                \
            print_message("tmux is not installed (scripts/deps.sh installs it): skipped\n"); \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

static int tmux(const tmux_session *t, run_result *r, const char *a1, const char *a2, const char *a3,
                const char *a4, const char *a5, const char *a6, const char *a7, const char *a8)
{
    const char *argv[] = {"tmux", "-L", t->sock, "-f", "/dev/null", a1, a2, a3, a4, a5, a6, a7, a8, NULL};
    if (run_cmd(argv, 20, r) != 0)
        return -1;
    return r->status;
}

/* Starts `tui ARGS` in a w x h pane; after it exits the pane shows its exit
 * status and the terminal modes, so a test can see the terminal restored. */
static void tmux_start(tmux_session *t, int w, int h, const char *env, const char *args)
{
    static int serial;
    snprintf(t->sock, sizeof t->sock, "mxc-tui-%d-%d", (int)getpid(), serial++);
    assert_int_equal(run_mkdtemp("tui-tmux", t->dir, sizeof t->dir), 0);
    char script[RUN_PATH_MAX], text[8192], ws[16], hs[16];
    assert_int_equal(run_join(script, sizeof script, t->dir, "run.sh"), 0);
    snprintf(text, sizeof text,
             "trap true INT\n" /* the shell lives on to tell how the TUI ended */
             "export LC_ALL=C.UTF-8 %s\n"
             "'%s' tui %s\n"
             "echo \"EXIT=$?\"\n"
             "stty -a | tr ' ;' '\\n\\n' | grep -x -e '-\\{0,1\\}icanon' -e '-\\{0,1\\}echo' | tr '\\n' ' '\n"
             "echo MODES-END\n"
             "sleep 600\n",
             env, env_or_fail("MXC_BIN"), args);
    assert_int_equal(run_write_file(script, text), 0);
    snprintf(ws, sizeof ws, "%d", w);
    snprintf(hs, sizeof hs, "%d", h);
    char cmd[RUN_PATH_MAX + 8];
    snprintf(cmd, sizeof cmd, "sh '%s'", script);
    run_result r;
    if (tmux(t, &r, "new-session", "-d", "-x", ws, "-y", hs, cmd, NULL) != 0)
        fail_msg("tmux new-session failed: %s", r.err);
    run_result_free(&r);
}

static void tmux_stop(tmux_session *t)
{
    run_result r;
    tmux(t, &r, "kill-server", NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    run_result_free(&r);
    run_rmtree(t->dir);
}

static char *tmux_capture(const tmux_session *t, bool escapes)
{
    run_result r;
    if (tmux(t, &r, "capture-pane", "-p", escapes ? "-e" : "-J", NULL, NULL, NULL, NULL, NULL) != 0)
        fail_msg("tmux capture-pane failed: %s", r.err);
    char *out = strdup(r.out);
    run_result_free(&r);
    return out;
}

/* Waits until the pane shows text; returns the capture (caller frees). */
static char *tmux_wait_for(const tmux_session *t, const char *text, bool escapes)
{
    for (int k = 0; k < TMUX_WAIT_S * 20; k++) {
        char *s = tmux_capture(t, escapes);
        if (strstr(s, text))
            return s;
        free(s);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char *s = tmux_capture(t, escapes);
    fail_msg("\"%s\" did not appear in the pane:\n%s", text, s);
    return s;
}

static void tmux_keys(const tmux_session *t, const char *k1, const char *k2)
{
    run_result r;
    if (tmux(t, &r, "send-keys", k1, k2, NULL, NULL, NULL, NULL, NULL) != 0)
        fail_msg("tmux send-keys failed: %s", r.err);
    run_result_free(&r);
}

static void tmux_text(const tmux_session *t, const char *text)
{
    run_result r;
    if (tmux(t, &r, "send-keys", "-l", text, NULL, NULL, NULL, NULL, NULL) != 0)
        fail_msg("tmux send-keys failed: %s", r.err);
    run_result_free(&r);
}

/* q quits with status 0 and the terminal back in canonical mode with echo. */
static void assert_exit_restored(const tmux_session *t, const char *status)
{
    char *s = tmux_wait_for(t, "MODES-END", false);
    assert_contains(s, status);
    assert_contains(s, "icanon echo");
    assert_not_contains(s, "-icanon");
    assert_not_contains(s, "-echo");
    assert_not_contains(s, "[2 Weight map]"); /* the alternate screen is gone */
    free(s);
}

static void test_tmux_open_navigate_search_quit(void **state)
{
    (void)state;
    SKIP_WITHOUT_TMUX();
    tmux_session t;
    char args[2 * RUN_PATH_MAX];
    snprintf(args, sizeof args, "'%s'", fixture("mxfp4"));
    tmux_start(&t, 120, 40, "", args);
    free(tmux_wait_for(&t, "[2 Weight map]", false));
    tmux_keys(&t, "j", "Enter");
    free(tmux_wait_for(&t, "layers.0/", false));
    tmux_text(&t, "/" DOWN_PROJ);
    tmux_keys(&t, "Enter", NULL);
    free(tmux_wait_for(&t, "/model/layers.0/mlp/experts/", false));
    tmux_keys(&t, "Enter", NULL);
    char *s = tmux_wait_for(&t, "1571", false);
    assert_contains(line_with(s, "shape "), "[3, 160, 192]");
    assert_contains(line_with(s, "  1571  "), "\u2588");
    assert_contains(line_with(s, "  1297  "), "\u2588");
    free(s);
    tmux_keys(&t, "q", NULL); /* back to the weight map */
    free(tmux_wait_for(&t, "[2 Weight map]", false));
    tmux_keys(&t, "q", NULL);
    assert_exit_restored(&t, "EXIT=0");
    tmux_stop(&t);
}

static void test_tmux_sort_by_error(void **state)
{
    SKIP_WITHOUT_TMUX();
    tmux_session t;
    char args[3 * RUN_PATH_MAX];
    snprintf(args, sizeof args, "'%s' --report '%s'", fixture("mxfp4"), make_report(*state));
    tmux_start(&t, 120, 40, "", args);
    free(tmux_wait_for(&t, "PASS 0E 1W", false));
    tmux_keys(&t, "t", "s");
    tmux_keys(&t, "s", NULL);
    char *s = tmux_wait_for(&t, "sort rel_l2", false);
    const char *gate = strstr(s, " " GATE_UP " "), *down = strstr(s, " " DOWN_PROJ " ");
    assert_non_null(gate);
    assert_non_null(down);
    assert_true(gate < down); /* expected-stats.json: 0.12009 > 0.11942 */
    assert_contains(line_with(s, " " GATE_UP " "), stat_text(expected_stat(GATE_UP, "rel_l2")));
    free(s);
    tmux_keys(&t, "Q", NULL);
    assert_exit_restored(&t, "EXIT=0");
    tmux_stop(&t);
}

static void test_tmux_resize(void **state)
{
    (void)state;
    SKIP_WITHOUT_TMUX();
    tmux_session t;
    char args[2 * RUN_PATH_MAX];
    snprintf(args, sizeof args, "'%s'", fixture("mxfp4"));
    tmux_start(&t, 120, 40, "", args);
    free(tmux_wait_for(&t, "[2 Weight map]", false));
    run_result r;
    assert_int_equal(tmux(&t, &r, "resize-window", "-x", "80", "-y", "24", NULL, NULL, NULL), 0);
    run_result_free(&r);
    tmux_keys(&t, "?", NULL);
    char *s = tmux_wait_for(&t, "[Help]", false);
    int lines = 0;
    for (const char *p = s; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 24);
    /* the status line is redrawn on the last row of the smaller screen */
    const char *last = s + strlen(s) - 1; /* the final newline */
    while (last > s && last[-1] != '\n')
        last--;
    if (strncmp(last, "j/k scroll", 10) != 0)
        fail_msg("the last row is not the status line:\n%s", s);
    free(s);
    tmux_keys(&t, "Q", NULL);
    assert_exit_restored(&t, "EXIT=0");
    tmux_stop(&t);
}

/* Whether text holds an SGR escape that sets a colour (30-37, 38, 40-47,
 * 48, 90-97, 100-107; 39 and 49, the defaults, do not count). */
static bool has_colour_sgr(const char *text)
{
    for (const char *p = text; (p = strstr(p, "\x1b[")) != NULL;) {
        p += 2;
        while (*p >= '0' && *p <= '9') {
            long v = strtol(p, (char **)&p, 10);
            if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 97) || (v >= 100 && v <= 107))
                return true;
            if (*p == ';')
                p++;
        }
    }
    return false;
}

/* With colours the pane holds colour escapes; with NO_COLOR none, and the
 * marks still tell kept from quantized and failing. */
static void test_tmux_no_color(void **state)
{
    (void)state;
    SKIP_WITHOUT_TMUX();
    char args[2 * RUN_PATH_MAX];
    snprintf(args, sizeof args, "'%s'", fixture("mxfp4"));
    for (int mono = 0; mono < 2; mono++) {
        tmux_session t;
        tmux_start(&t, 100, 30, mono ? "NO_COLOR=1" : "", args);
        free(tmux_wait_for(&t, "[2 Weight map]", false));
        tmux_keys(&t, "t", NULL);
        char *s = tmux_wait_for(&t, "all tensors", true);
        bool colours = has_colour_sgr(s);
        if (mono && colours)
            fail_msg("colour escapes with NO_COLOR:\n%s", s);
        if (!mono && !colours)
            fail_msg("no colour escapes without NO_COLOR:\n%s", s);
        free(s);
        s = tmux_capture(&t, false);
        assert_contains(line_with(s, " " DOWN_PROJ " "), "[Q]");
        assert_contains(line_with(s, " lm_head.weight "), "[K]");
        free(s);
        tmux_keys(&t, "q", NULL);
        assert_exit_restored(&t, "EXIT=0");
        tmux_stop(&t);
    }
}

static void test_tmux_sigint_restores(void **state)
{
    (void)state;
    SKIP_WITHOUT_TMUX();
    tmux_session t;
    char args[2 * RUN_PATH_MAX];
    snprintf(args, sizeof args, "'%s'", fixture("mxfp4"));
    tmux_start(&t, 100, 30, "", args);
    free(tmux_wait_for(&t, "[2 Weight map]", false));
    tmux_keys(&t, "C-c", NULL);
    assert_exit_restored(&t, "EXIT=130");
    tmux_stop(&t);
}

int main(void)
{
    setenv("LC_ALL", "C.UTF-8", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_screen),
        cmocka_unit_test(test_shards_view),
        cmocka_unit_test(test_navigate_to_quantized),
        cmocka_unit_test(test_search_forms),
        cmocka_unit_test(test_bad_regex_is_said),
        cmocka_unit_test(test_filter_quantized_flat),
        cmocka_unit_test(test_verify_then_sort_by_error),
        cmocka_unit_test_setup_teardown(test_failing_marks, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_sort_by_error, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_unreadable, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_verify_cancel, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_compare_on_request),
        cmocka_unit_test(test_compare_without_src),
        cmocka_unit_test(test_policy_view),
        cmocka_unit_test_setup_teardown(test_policy_with_rule_file, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_help_lists_keys),
        cmocka_unit_test(test_scrolled_views_share_keys),
        cmocka_unit_test(test_metadata_view),
        cmocka_unit_test(test_back_and_quit),
        cmocka_unit_test(test_resize_to_80x24),
        cmocka_unit_test(test_ascii_mode),
        cmocka_unit_test_setup_teardown(test_escaped_names, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_usage_and_input_errors),
        cmocka_unit_test(test_tmux_open_navigate_search_quit),
        cmocka_unit_test_setup_teardown(test_tmux_sort_by_error, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_tmux_resize),
        cmocka_unit_test_setup_teardown(test_report_of_other_checkpoint, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_unusable_terminal),
        cmocka_unit_test(test_tmux_no_color),
        cmocka_unit_test(test_tmux_sigint_restores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
