/* test_verify.c - `mxfp4-check verify SRC DST` as a user and a CI gate run it.
 *
 * Every test runs the built binary ($MXC_BIN) with run_cmd and reads what it
 * wrote: exit status, stderr, and the JSON report (parsed with cJSON and
 * validated against tests/data/verify-report.schema.json with Python's
 * jsonschema). The statistics of the faithful fixture are compared with
 * ../shared/fixtures/seedconv-small/expected-stats.json, computed
 * independently (float64, Hugging Face dequantization); its scale histogram
 * below was counted with Python from the fixture bytes.
 *
 * Faulty checkpoints are made in private temp directories by
 * $MXC_TOOLS/plant (tests/tools/plant.c), one fault each, from the fixture
 * (or from samples/, whose square down_proj can hide a missing transpose). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_check.h"

#include <cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"
#include "schema_check.h"

#define FIXTURE_SET "seedconv-small"
#define SCHEMA_FILE "tests/data/verify-report.schema.json"
#define INDEX_FILE "model.safetensors.index.json"
#define SHARD1 "model-00001.safetensors"

#define N_TENSORS 37
#define N_QUANTIZED 4
#define N_KEPT 33
#define REL_TOL 1e-9

#define DOWN0 "model.layers.0.mlp.experts.down_proj"
#define DOWN1 "model.layers.1.mlp.experts.down_proj"
#define GATE_UP1 "model.layers.1.mlp.experts.gate_up_proj"
#define ROUTER0 "model.layers.0.mlp.router.weight"
#define O_BIAS1 "model.layers.1.self_attn.o_proj.bias"
#define EMBED "model.embed_tokens.weight"
#define NORM "model.norm.weight"
#define EXTRA_NAME "model.layers.0.mlp.extra.weight"

/* Counted with Python from the scale bytes of the fixture's down_proj_scales. */
#define DOWN0_SCALE_HIST "{\"-7\":1571,\"-6\":1297,\"-5\":8,\"-4\":4}"
#define BLOCK_ELEMS 32 /* one NaN scale byte makes a block of 32 values non-finite */

#define MAX_ARGS 24

/* ---- paths --------------------------------------------------------------- */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

typedef struct {
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX], expected[RUN_PATH_MAX];
    char samples_src[RUN_PATH_MAX], samples_dst[RUN_PATH_MAX];
    char schema[RUN_PATH_MAX], plant[RUN_PATH_MAX];
} paths;

static const paths *P(void)
{
    static paths p;
    static bool done;
    if (!done) {
        const char *fx = env_or_fail("MXC_FIXTURES"), *srcdir = env_or_fail("MXC_SRCDIR");
        snprintf(p.src, sizeof p.src, "%s/%s/bf16", fx, FIXTURE_SET);
        snprintf(p.dst, sizeof p.dst, "%s/%s/mxfp4", fx, FIXTURE_SET);
        snprintf(p.expected, sizeof p.expected, "%s/%s/expected-stats.json", fx, FIXTURE_SET);
        snprintf(p.samples_src, sizeof p.samples_src, "%s/samples/tiny-bf16", srcdir);
        snprintf(p.samples_dst, sizeof p.samples_dst, "%s/samples/tiny-mxfp4", srcdir);
        snprintf(p.schema, sizeof p.schema, "%s/%s", srcdir, SCHEMA_FILE);
        snprintf(p.plant, sizeof p.plant, "%s/plant", env_or_fail("MXC_TOOLS"));
        done = true;
    }
    return &p;
}

static void path_in(char *out, const char *dir, const char *name)
{
    assert_int_equal(run_join(out, RUN_PATH_MAX, dir, name), 0);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* ---- running ------------------------------------------------------------- */

/* Under `make check` the binary is built with ASan/UBSan, whose exit status
 * (1) could pass for a policy failure: their reports must not appear. */
static void assert_no_sanitizer_report(const run_result *r)
{
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report:\n%s", r->err);
}

/* Runs argv (NULL-terminated); it must exit by itself. Returns its status. */
static int run_argv(run_result *r, const char *const *argv)
{
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, r) != 0)
        fail_msg("%s %s: did not exit normally (signal %d, timed out %d)\nstderr: %s", argv[0],
                 argv[1] ? argv[1] : "", r->signal, r->timed_out, r->err);
    assert_no_sanitizer_report(r);
    return r->status;
}

static int run_va(run_result *r, const char *prog, const char *first, va_list ap)
{
    const char *argv[MAX_ARGS + 2] = {prog};
    int n = 1;
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    return run_argv(r, argv);
}

/* $MXC_BIN with the NULL-terminated arguments. */
static int mxc(run_result *r, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = run_va(r, env_or_fail("MXC_BIN"), first, ap);
    va_end(ap);
    return rc;
}

/* $MXC_TOOLS/plant FAULT SRC DST OUT [ARGS]: it must succeed. */
static void plant(const char *fault, const char *src, const char *dst, const char *out, ...)
{
    run_result r;
    va_list ap;
    va_start(ap, out);
    const char *argv[MAX_ARGS + 2] = {P()->plant, fault, src, dst, out};
    int n = 5;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    va_end(ap);
    if (run_argv(&r, argv) != 0)
        fail_msg("plant %s failed (%d):\n%s", fault, r.status, r.err);
    run_result_free(&r);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* ---- JSON ---------------------------------------------------------------- */

static cJSON *load_json(const char *path)
{
    char *text;
    size_t len;
    if (run_read_file(path, &text, &len) != 0)
        fail_msg("cannot read %s", path);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        fail_msg("%s is not JSON:\n%s", path, text);
    free(text);
    return root;
}

static const cJSON *report_tensor(const cJSON *report, const char *name)
{
    const cJSON *t = find_named(member(report, "tensors"), name);
    if (!t)
        fail_msg("tensor %s is not in the report", name);
    return t;
}

/* The exact JSON text of a node: cJSON prints doubles with enough digits to
 * read back the same value, so equal text means equal numbers. */
static void assert_same_json(const cJSON *a, const cJSON *b, const char *what)
{
    char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
    if (strcmp(ta, tb) != 0)
        fail_msg("%s differ:\n%s\n%s", what, ta, tb);
    free(ta);
    free(tb);
}

/* a and b equal, numbers within rel relative of each other (SPEC §4: the
 * CUDA backend sums per slab, so other slab sizes may round the last bit
 * otherwise; the CPU backend is exact, and rel 0 demands that). */
static void assert_close_json(const cJSON *a, const cJSON *b, double rel, const char *path)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        double x = a->valuedouble, y = b->valuedouble, m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
        if (x != y && !(fabs(x - y) <= rel * m))
            fail_msg("%s: %.17g vs %.17g", path, x, y);
        return;
    }
    if ((a->type & 0xFF) != (b->type & 0xFF))
        fail_msg("%s: different kinds of value", path);
    if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring) != 0)
        fail_msg("%s: \"%s\" vs \"%s\"", path, a->valuestring, b->valuestring);
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, x->string ? x->string : "[]");
        if ((x->string || y->string) && (!x->string || !y->string || strcmp(x->string, y->string) != 0))
            fail_msg("%s: members differ", sub);
        assert_close_json(x, y, rel, sub);
    }
    if (x || y)
        fail_msg("%s: different lengths", path);
}

/* The report validates against the schema (python3's jsonschema). */
static void assert_schema_valid(const char *report_path)
{
    if (!exists(P()->schema))
        fail_msg("%s is missing: the report has no schema to be checked against", P()->schema);
    char msg[4096];
    schema_verdict verdict = schema_check(P()->schema, report_path, msg, sizeof msg);
    /* the GPU machine has no python3-jsonschema and cannot install it: there
     * (MXC_SCHEMA_OPTIONAL=1, set by bench/device-check.sh only) the schema
     * is checked by CI instead, and the rest of each test still runs */
    const char *optional = getenv("MXC_SCHEMA_OPTIONAL");
    if (verdict == SCHEMA_NO_VALIDATOR && optional && strcmp(optional, "1") == 0 &&
        strstr(msg, "No module named jsonschema")) {
        fprintf(stderr, "note: schema not checked here (no python3-jsonschema)\n");
        return;
    }
    if (verdict != SCHEMA_VALID)
        fail_msg("%s does not validate against %s:\n%s", report_path, SCHEMA_FILE, msg);
}

/* verify SRC DST --json DIR/NAME --no-progress --quiet: the exit status must
 * be `status`; returns the parsed, schema-checked report. */
static cJSON *verify_report(const char *src, const char *dst, const char *dir, const char *name,
                            int status)
{
    char json[RUN_PATH_MAX];
    path_in(json, dir, name);
    run_result r;
    int rc = mxc(&r, "verify", src, dst, "--json", json, "--no-progress", "--quiet", NULL);
    if (rc != status)
        fail_msg("verify %s %s: exit %d, expected %d\nstdout: %s\nstderr: %s", src, dst, rc, status,
                 r.out, r.err);
    run_result_free(&r);
    assert_schema_valid(json);
    cJSON *report = load_json(json);
    assert_string_equal(str_member(report, "schema"), "mxfp4-check/verify/1");
    assert_string_equal(str_member(report, "result"), status == 0 ? "pass" : "fail");
    return report;
}

/* The first finding with this id (and tensor, when not NULL). */
static const cJSON *find_finding(const cJSON *report, const char *id, const char *tensor)
{
    for (const cJSON *f = member(report, "findings")->child; f; f = f->next) {
        const cJSON *t = member(f, "tensor");
        if (strcmp(str_member(f, "id"), id) == 0 &&
            (!tensor || (cJSON_IsString(t) && strcmp(t->valuestring, tensor) == 0)))
            return f;
    }
    return NULL;
}

static const cJSON *assert_finding(const cJSON *report, const char *id, const char *severity,
                                   const char *tensor)
{
    const cJSON *f = find_finding(report, id, tensor);
    if (!f) {
        char *text = cJSON_Print(member(report, "findings"));
        fail_msg("no %s finding on %s in:\n%s", id, tensor ? tensor : "(any)", text);
    }
    assert_string_equal(str_member(f, "severity"), severity);
    return f;
}

/* A numerics.diagnosis error on tensor that names cause. */
static const cJSON *assert_diagnosis(const cJSON *report, const char *tensor, const char *cause)
{
    for (const cJSON *f = member(report, "findings")->child; f; f = f->next) {
        const cJSON *t = member(f, "tensor"), *c = cJSON_GetObjectItemCaseSensitive(f, "cause");
        if (strcmp(str_member(f, "id"), "numerics.diagnosis") == 0 && cJSON_IsString(t) &&
            strcmp(t->valuestring, tensor) == 0 && cJSON_IsString(c) && strcmp(c->valuestring, cause) == 0) {
            assert_string_equal(str_member(f, "severity"), "error");
            return f;
        }
    }
    char *text = cJSON_Print(member(report, "findings"));
    fail_msg("no numerics.diagnosis with cause %s on %s in:\n%s", cause, tensor, text);
    return NULL;
}

/* Every tensor passes except `failing` (NULL-terminated), which fail. */
static void assert_only_failing(const cJSON *report, const char *const *failing)
{
    int nfail = 0;
    for (const cJSON *t = member(report, "tensors")->child; t; t = t->next) {
        const char *name = str_member(t, "name"), *status = str_member(t, "status");
        bool expect_fail = false;
        for (const char *const *f = failing; *f; f++)
            expect_fail |= strcmp(*f, name) == 0;
        if (strcmp(status, expect_fail ? "fail" : "pass") != 0)
            fail_msg("tensor %s has status %s, expected %s", name, status, expect_fail ? "fail" : "pass");
        nfail += expect_fail;
    }
    int listed = 0;
    for (const char *const *f = failing; *f; f++)
        listed++;
    assert_int_equal(nfail, listed);
}

/* ---- temp directories ---------------------------------------------------- */

static int tmp_setup(void **state)
{
    return run_tmpdir_setup(state, "verify");
}

static int tmp_teardown(void **state)
{
    return run_tmpdir_teardown(state);
}

/* Plants `fault` from the fixture into DIR/out and verifies it: exit 1. */
static cJSON *planted(const char *dir, const char *fault, const char *arg1, const char *arg2)
{
    char out[RUN_PATH_MAX];
    path_in(out, dir, "out");
    plant(fault, P()->src, P()->dst, out, arg1, arg2, NULL);
    return verify_report(P()->src, out, dir, "report.json", 1);
}

/* ---- the faithful fixture ------------------------------------------------ */

static bool close_rel(double a, double b)
{
    if (a == 0.0 || b == 0.0)
        return a == b;
    return fabs(a - b) <= REL_TOL * fmax(fabs(a), fabs(b)) + 1e-300;
}

/* One tensor's statistics against expected-stats.json. */
static void assert_stats_match(const cJSON *t, const cJSON *expected)
{
    static const char *const keys[] = {"max_abs_err", "mean_abs_err", "rmse", "rel_l2", "cosine"};
    const char *name = str_member(t, "name");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(expected, name);
    if (!e)
        fail_msg("%s is not in expected-stats.json", name);
    bool quantized = strcmp(str_member(e, "kind"), "mxfp4") == 0;
    assert_string_equal(str_member(t, "kind"), quantized ? "quantized" : "kept");
    assert_string_equal(str_member(t, "status"), "pass");
    const cJSON *s = member(t, "stats");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double got = num_member(s, keys[i]), want = num_member(e, keys[i]);
        if (!close_rel(got, want))
            fail_msg("%s: %s is %.17g, expected %.17g", name, keys[i], got, want);
    }
    if (!quantized && cJSON_IsTrue(member(e, "identical")) && num_member(s, "equal_fraction") != 1.0)
        fail_msg("%s: kept and identical, but equal_fraction is %.17g", name,
                 num_member(s, "equal_fraction"));
    if (quantized) { /* the fixture was made with the reference quantizer: bit-exact */
        const cJSON *rq = member(t, "requant");
        if (num_member(rq, "codes_identical") != 1.0 || num_member(rq, "scales_identical") != 1.0 ||
            num_member(rq, "excess") != 1.0)
            fail_msg("%s: requant %s, expected codes and scales identical, excess 1", name,
                     cJSON_PrintUnformatted(rq));
    }
}

static void assert_fixture_report(const cJSON *report)
{
    const cJSON *sum = member(report, "summary");
    assert_int_equal((int)num_member(sum, "tensors"), N_TENSORS);
    assert_int_equal((int)num_member(sum, "quantized"), N_QUANTIZED);
    assert_int_equal((int)num_member(sum, "kept"), N_KEPT);
    assert_int_equal((int)num_member(sum, "errors"), 0);
    assert_int_equal((int)num_member(sum, "warnings"), 1);
    /* the converter copies the source's total_size: the one (warn) finding */
    const cJSON *findings = member(report, "findings");
    assert_int_equal(cJSON_GetArraySize(findings), 1);
    assert_string_equal(str_member(findings->child, "id"), "index.total_size");
    assert_string_equal(str_member(findings->child, "severity"), "warn");
    assert_true(cJSON_IsNull(member(findings->child, "tensor")));
    assert_string_equal(str_member(findings->child, "file"), INDEX_FILE);

    cJSON *expected_root = load_json(P()->expected);
    const cJSON *expected = member(expected_root, "tensors");
    const cJSON *tensors = member(report, "tensors");
    assert_int_equal(cJSON_GetArraySize(tensors), N_TENSORS);
    assert_int_equal(cJSON_GetArraySize(expected), N_TENSORS);
    for (const cJSON *e = expected->child; e; e = e->next)
        report_tensor(report, e->string); /* each expected tensor is reported */
    const char *prev = "";
    for (const cJSON *t = tensors->child; t; t = t->next) {
        assert_stats_match(t, expected);
        if (strcmp(prev, str_member(t, "name")) >= 0)
            fail_msg("tensors not sorted by name: %s then %s", prev, str_member(t, "name"));
        prev = str_member(t, "name");
    }
    cJSON_Delete(expected_root);

    const cJSON *hist = member(report_tensor(report, DOWN0), "scale_hist");
    cJSON *want = cJSON_Parse(DOWN0_SCALE_HIST);
    assert_same_json(member(hist, "counts"), want, "scale_hist of " DOWN0);
    cJSON_Delete(want);
    assert_int_equal((int)num_member(hist, "min"), -7);
    assert_int_equal((int)num_member(hist, "max"), -4);
}

/* Lines of the JUnit file with classname "tensors": one per tensor. */
static void assert_junit(const char *path, const cJSON *report)
{
    char *xml;
    assert_int_equal(run_read_file(path, &xml, NULL), 0);
    assert_contains(xml, "<?xml");
    int n = 0;
    for (const char *p = xml; (p = strstr(p, "<testcase classname=\"tensors\"")) != NULL; p++)
        n++;
    assert_int_equal(n, N_TENSORS);
    for (const cJSON *t = member(report, "tensors")->child; t; t = t->next) {
        char tc[512];
        snprintf(tc, sizeof tc, "<testcase classname=\"tensors\" name=\"%s\"", str_member(t, "name"));
        assert_contains(xml, tc);
    }
    free(xml);
}

static void test_fixture_passes(void **state)
{
    const char *dir = *state;
    char json[RUN_PATH_MAX], junit[RUN_PATH_MAX];
    path_in(json, dir, "R.json");
    path_in(junit, dir, "J.xml");
    run_result r;
    int rc = mxc(&r, "verify", P()->src, P()->dst, "--json", json, "--junit", junit, "--no-progress", NULL);
    if (rc != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", rc, r.out, r.err);
    run_result_free(&r);
    assert_schema_valid(json);
    cJSON *report = load_json(json);
    assert_string_equal(str_member(report, "result"), "pass");
    assert_string_equal(str_member(report, "src"), P()->src);
    assert_string_equal(str_member(report, "dst"), P()->dst);
    assert_fixture_report(report);
    assert_junit(junit, report);
    cJSON_Delete(report);
}

/* A kept tensor larger than a reader's extent is read by several readers,
 * each part only finding whether its bytes differ; the statistics of a
 * differing tensor are then computed over it whole, in order: the report
 * must be the one read in one part, number for number. lm_head (120 KiB)
 * quantized in DST spans two 64 KiB extents. */
static void test_kept_read_in_parts_same_report(void **state)
{
    const char *dir = *state;
    char out[RUN_PATH_MAX];
    path_in(out, dir, "kept");
    plant("quantize-kept", P()->src, P()->dst, out, "lm_head.weight", NULL);
    cJSON *whole = verify_report(P()->src, out, dir, "whole.json", 1);
    setenv("MXFP4_CHECK_EXTENT", "65536", 1);
    setenv("MXFP4_CHECK_READERS", "4", 1);
    cJSON *parts = verify_report(P()->src, out, dir, "parts.json", 1);
    unsetenv("MXFP4_CHECK_EXTENT");
    unsetenv("MXFP4_CHECK_READERS");
    const cJSON *lm = find_named(member(parts, "tensors"), "lm_head.weight");
    assert_non_null(lm);
    assert_string_equal(str_member(lm, "status"), "fail");
    assert_true(num_member(member(lm, "stats"), "rmse") > 0);
    assert_same_json(member(whole, "tensors"), member(parts, "tensors"), "tensors (one part vs 64 KiB parts)");
    assert_same_json(member(whole, "findings"), member(parts, "findings"), "findings (one part vs 64 KiB parts)");
    cJSON_Delete(whole);
    cJSON_Delete(parts);
}

/* Slabs of 1000 bytes cut matrices into partial ones and reads into gathers;
 * one thread changes the reduction's split. Neither may change a number. */
static void test_small_slabs_same_stats(void **state)
{
    const char *dir = *state;
    cJSON *base = verify_report(P()->src, P()->dst, dir, "default.json", 0);
    char json[RUN_PATH_MAX];
    path_in(json, dir, "slabs.json");
    setenv("MXFP4_CHECK_SLAB_BYTES", "1000", 1);
    run_result r;
    int rc = mxc(&r, "verify", P()->src, P()->dst, "--json", json, "--threads", "1", "--quiet", NULL);
    unsetenv("MXFP4_CHECK_SLAB_BYTES");
    if (rc != 0)
        fail_msg("exit %d\nstderr: %s", rc, r.err);
    run_result_free(&r);
    cJSON *small = load_json(json);
    assert_fixture_report(small);
    /* exact on the CPU; to 1e-12 where the GPU backend runs (it reduces per
     * slab, so other slab sizes round the last bit otherwise) */
    const char *vargv[] = {getenv("MXC_BIN"), "--version", NULL};
    run_result v;
    assert_int_equal(run_argv(&v, vargv), 0);
    bool gpu = strstr(v.out, "cuda (") && !strstr(v.out, "cuda (0 devices)");
    run_result_free(&v);
    assert_close_json(member(base, "tensors"), member(small, "tensors"), gpu ? 1e-12 : 0.0,
                      "tensors (default vs small slabs)");
    assert_same_json(member(base, "findings"), member(small, "findings"),
                     "findings (default vs small slabs)");
    assert_int_equal((uint64_t)num_member(member(base, "summary"), "bytes_read"),
                     (uint64_t)num_member(member(small, "summary"), "bytes_read"));
    cJSON_Delete(base);
    cJSON_Delete(small);
}

static void test_samples_pass(void **state)
{
    cJSON *report = verify_report(P()->samples_src, P()->samples_dst, *state, "samples.json", 0);
    for (const cJSON *t = member(report, "tensors")->child; t; t = t->next)
        if (strcmp(str_member(t, "kind"), "quantized") == 0 &&
            num_member(member(t, "requant"), "codes_identical") != 1.0)
            fail_msg("samples: %s is not bit-exact with the reference quantizer", str_member(t, "name"));
    cJSON_Delete(report);
}

/* ---- planted faults ------------------------------------------------------ */

static void test_nibble_swap(void **state)
{
    cJSON *report = planted(*state, "nibble-swap", GATE_UP1, NULL);
    assert_finding(report, "numerics.threshold", "error", GATE_UP1);
    assert_diagnosis(report, GATE_UP1, "nibble_swap");
    assert_only_failing(report, (const char *const[]){GATE_UP1, NULL});
    cJSON_Delete(report);
}

static void check_scale_bias(const char *dir, const char *k_arg, int k)
{
    cJSON *report = planted(dir, "scale-bias", DOWN0, k_arg);
    assert_finding(report, "numerics.threshold", "error", DOWN0);
    const cJSON *f = assert_diagnosis(report, DOWN0, "scale_bias");
    assert_int_equal((int)num_member(f, "k"), k);
    assert_only_failing(report, (const char *const[]){DOWN0, NULL});
    cJSON_Delete(report);
}

static void test_scale_bias_plus_one(void **state)
{
    check_scale_bias(*state, "1", 1);
}

static void test_scale_bias_minus_two(void **state)
{
    check_scale_bias(*state, "-2", -2);
}

static void test_router_quantized(void **state)
{
    cJSON *report = planted(*state, "quantize-kept", ROUTER0, NULL);
    assert_finding(report, "coverage.should_keep", "error", ROUTER0);
    assert_string_equal(str_member(report_tensor(report, ROUTER0), "kind"), "quantized");
    assert_only_failing(report, (const char *const[]){ROUTER0, NULL});
    cJSON_Delete(report);
}

static void test_missing_tensor(void **state)
{
    cJSON *report = planted(*state, "missing", O_BIAS1, NULL);
    assert_finding(report, "coverage.missing", "error", O_BIAS1);
    assert_only_failing(report, (const char *const[]){O_BIAS1, NULL});
    cJSON_Delete(report);
}

static void test_extra_tensor(void **state)
{
    cJSON *report = planted(*state, "extra", EXTRA_NAME, NULL);
    assert_finding(report, "coverage.extra", "error", EXTRA_NAME);
    assert_null(find_named(member(report, "tensors"), EXTRA_NAME)); /* tensors are the source's */
    assert_only_failing(report, (const char *const[]){NULL});
    cJSON_Delete(report);
}

static void test_kept_bitflip(void **state)
{
    cJSON *report = planted(*state, "bitflip", EMBED, NULL);
    assert_finding(report, "kept.modified", "error", EMBED);
    assert_true(num_member(member(report_tensor(report, EMBED), "stats"), "equal_fraction") < 1.0);
    assert_only_failing(report, (const char *const[]){EMBED, NULL});
    cJSON_Delete(report);
}

static void test_index_wrong_shard(void **state)
{
    cJSON *report = planted(*state, "wrong-shard", NORM, NULL);
    assert_finding(report, "index.mismatch", "error", NORM);
    assert_only_failing(report, (const char *const[]){NORM, NULL});
    cJSON_Delete(report);
}

/* The index entries of a pair name X_blocks/X_scales; the finding must still
 * fail the logical tensor X that the report lists. */
static void test_index_wrong_shard_pair(void **state)
{
    cJSON *report = planted(*state, "wrong-shard", DOWN0, NULL);
    assert_finding(report, "index.mismatch", "error", DOWN0 "_blocks");
    assert_only_failing(report, (const char *const[]){DOWN0, NULL});
    cJSON_Delete(report);
}

static void test_nan_scale(void **state)
{
    cJSON *report = planted(*state, "nan-scale", DOWN1, NULL);
    assert_finding(report, "mxfp4.scale_nan", "error", DOWN1);
    assert_finding(report, "numerics.nonfinite", "error", DOWN1);
    const cJSON *t = report_tensor(report, DOWN1);
    assert_int_equal((int)num_member(member(t, "stats"), "nonfinite"), BLOCK_ELEMS);
    assert_int_equal((int)num_member(member(t, "scale_hist"), "nan"), 1);
    assert_only_failing(report, (const char *const[]){DOWN1, NULL});
    cJSON_Delete(report);
}

static void test_no_quantization_config(void **state)
{
    cJSON *report = planted(*state, "no-quant-config", NULL, NULL);
    const cJSON *f = assert_finding(report, "config.quantization", "error", NULL);
    assert_string_equal(str_member(f, "file"), "config.json");
    /* without a pattern list, kept/quantized is not judged tensor by tensor */
    assert_null(find_finding(report, "coverage.should_quantize", EMBED));
    assert_int_equal(cJSON_GetArraySize(member(report, "findings")), 2); /* + index.total_size */
    cJSON_Delete(report);
}

static void test_tokenizer_changed(void **state)
{
    cJSON *report = planted(*state, "tokenizer", NULL, NULL);
    const cJSON *f = assert_finding(report, "files.copied", "error", NULL);
    assert_string_equal(str_member(f, "file"), "tokenizer.json");
    assert_only_failing(report, (const char *const[]){NULL});
    cJSON_Delete(report);
}

/* ---- other exporters' conventions (SPEC §3 numerics.diagnosis) ----------- */

typedef struct {
    const char *parts; /* plant convention PARTS */
    const char *cause; /* the cause the diagnosis must name */
    int k;             /* its k when the cause has scale_bias */
} convention_case;

/* rel_l2 of a tensor of the faithful conversion, computed independently
 * (expected-stats.json); samples/ has none, so there the report's own
 * reference error stands in. */
static double faithful_rel_l2(const char *tensor)
{
    cJSON *root = load_json(P()->expected);
    double rel = num_member(member(member(root, "tensors"), tensor), "rel_l2");
    cJSON_Delete(root);
    return rel;
}

/* Plants each convention into TENSOR of src/dst and checks the one
 * numerics.diagnosis it gets: the exact cause, k only with scale_bias, and
 * the error once undone; want_rel > 0 is the rel_l2 undone must equal (as
 * printed), else it must be within the diagnosis bar of the reference's.
 * Nothing else may fail: no pairing or coverage finding restates it. */
static void check_conventions(const char *dir, const char *src, const char *dst, const char *tensor,
                              const convention_case *cases, size_t n, double want_rel)
{
    for (size_t i = 0; i < n; i++) {
        char sub[RUN_PATH_MAX], out[RUN_PATH_MAX];
        snprintf(sub, sizeof sub, "%s/c%zu", dir, i);
        assert_int_equal(mkdir(sub, 0700), 0);
        path_in(out, sub, "out");
        plant("convention", src, dst, out, tensor, cases[i].parts, NULL);
        cJSON *report = verify_report(src, out, sub, "report.json", 1);
        const cJSON *f = assert_diagnosis(report, tensor, cases[i].cause);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(f, "k");
        if (strstr(cases[i].cause, "scale_bias")) {
            assert_true(cJSON_IsNumber(k));
            assert_int_equal((int)k->valuedouble, cases[i].k);
        } else if (k)
            fail_msg("%s: k given without scale_bias", cases[i].parts);
        int errors = 0;
        for (const cJSON *g = member(report, "findings")->child; g; g = g->next) {
            const char *id = str_member(g, "id");
            if (strcmp(str_member(g, "severity"), "error") != 0)
                continue;
            errors++;
            if (strcmp(id, "numerics.threshold") != 0 && strcmp(id, "numerics.diagnosis") != 0)
                fail_msg("%s: unexpected %s: %s", cases[i].parts, id, str_member(g, "message"));
        }
        assert_int_equal(errors, 2); /* the threshold and its diagnosis */
        double ref = num_member(member(report_tensor(report, tensor), "requant"), "ref_rel_l2");
        const char *at = strstr(str_member(f, "message"), "undone, rel_l2 is ");
        double undone, printed_ref;
        if (!at || sscanf(at, "undone, rel_l2 is %lf against the reference's %lf", &undone, &printed_ref) != 2)
            fail_msg("%s: no undone rel_l2 in: %s", cases[i].parts, str_member(f, "message"));
        char a[32], b[32];
        snprintf(a, sizeof a, "%.4g", ref);
        snprintf(b, sizeof b, "%.4g", printed_ref);
        assert_string_equal(a, b);
        if (want_rel > 0) {
            snprintf(a, sizeof a, "%.4g", want_rel);
            snprintf(b, sizeof b, "%.4g", undone);
            assert_string_equal(a, b);
        } else if (!(undone <= 1.25 * ref))
            fail_msg("%s: undone rel_l2 %g, reference %g", cases[i].parts, undone, ref);
        assert_only_failing(report, (const char *const[]){tensor, NULL});
        cJSON_Delete(report);
    }
}

/* The conventions of real exporters, alone and combined, written into the
 * fixture's down_proj: undone, each is the faithful conversion again. */
static void test_conventions(void **state)
{
    static const convention_case cases[] = {
        {"nibble_swap+scale_signed:I8", "nibble_swap+scale_signed", 0}, /* MLX's codec */
        {"nibble_swap+scale_signed", "nibble_swap+scale_signed", 0},    /* ... dtype U8 left */
        {"nibble_split", "nibble_split", 0},                            /* ggml's order */
        {"scale_bias:5", "scale_bias", 5},                              /* bias 132 */
        {"nibble_swap+scale_bias:-2", "nibble_swap+scale_bias", -2},    /* bias 125 */
        {"scale_signed", "scale_signed", 0},
        {"nibble_split+scale_signed:I8", "nibble_split+scale_signed", 0},
        {"nibble_split+scale_bias:-7", "nibble_split+scale_bias", -7},
        {"scale_bias:-100", "scale_bias", -100}, /* far outside any fixed window */
        {"nibble_swap", "nibble_swap", 0},
    };
    check_conventions(*state, P()->src, P()->dst, DOWN0, cases, sizeof cases / sizeof cases[0],
                      faithful_rel_l2(DOWN0));
}

/* samples' square down_proj: a missing transpose with the others. */
static void test_conventions_square(void **state)
{
    static const convention_case cases[] = {
        {"missing_transpose+nibble_swap", "missing_transpose+nibble_swap", 0},
        {"missing_transpose+scale_bias:3", "missing_transpose+scale_bias", 3},
        {"missing_transpose+nibble_split+scale_signed:I8", "missing_transpose+nibble_split+scale_signed", 0},
    };
    check_conventions(*state, P()->samples_src, P()->samples_dst, DOWN0, cases,
                      sizeof cases / sizeof cases[0], 0);
}

/* A pair that cannot be read (F32 scales) is said once, as mxfp4.pairing:
 * no coverage.missing for the tensor, no coverage.extra for its halves. */
static void test_pairing_said_once(void **state)
{
    const char *dir = *state;
    char out[RUN_PATH_MAX];
    path_in(out, dir, "out");
    plant("scales-dtype", P()->src, P()->dst, out, DOWN0, "F32", NULL);
    cJSON *report = verify_report(P()->src, out, dir, "report.json", 1);
    const cJSON *f = assert_finding(report, "mxfp4.pairing", "error", DOWN0);
    assert_contains(str_member(f, "message"), "_scales is not U8, F8_E8M0 or I8");
    for (const cJSON *g = member(report, "findings")->child; g; g = g->next)
        if (strncmp(str_member(g, "id"), "coverage.", 9) == 0)
            fail_msg("restates the pairing: %s", str_member(g, "message"));
    cJSON_Delete(report);
}

/* E8M0 scale bytes under a header that says I8: the numbers match the
 * reference (the converter's loader reads the bytes as E8M0), but a loader
 * that honours the dtype reads signed exponents - an error, never a pass. */
static void test_i8_header_over_e8m0_scales(void **state)
{
    const char *dir = *state;
    char out[RUN_PATH_MAX];
    path_in(out, dir, "out");
    plant("scales-dtype", P()->src, P()->dst, out, DOWN0, "I8", NULL);
    cJSON *report = verify_report(P()->src, out, dir, "report.json", 1);
    const cJSON *f = assert_finding(report, "mxfp4.pairing", "error", DOWN0 "_scales");
    assert_string_equal(str_member(f, "message"),
                        "'" DOWN0 "_scales' has dtype I8 (signed exponents) but holds E8M0 scales: a loader that "
                        "honours the dtype decodes every scale wrong; GPT-OSS stores U8");
    assert_string_equal(str_member(report, "result"), "fail");
    cJSON_Delete(report);
}

/* samples' down_proj is square: only the numbers can tell the transpose. */
static void test_missing_transpose_square(void **state)
{
    const char *dir = *state;
    char out[RUN_PATH_MAX];
    path_in(out, dir, "out");
    plant("no-transpose", P()->samples_src, P()->samples_dst, out, DOWN0, NULL);
    cJSON *report = verify_report(P()->samples_src, out, dir, "report.json", 1);
    assert_diagnosis(report, DOWN0, "missing_transpose");
    assert_only_failing(report, (const char *const[]){DOWN0, NULL});
    cJSON_Delete(report);
}

/* Input that cannot be read: exit 2, the file named on stderr as DST's, and
 * the reports asked for still written, with the fault as their one finding
 * (SPEC §2: a CI panel shows red, not "no results"). */
static void check_unreadable(const char *dir, const char *fault, const char *arg2, const char *message)
{
    char out[RUN_PATH_MAX], json[RUN_PATH_MAX], junit[RUN_PATH_MAX], want[2 * RUN_PATH_MAX];
    path_in(out, dir, "out");
    path_in(json, dir, "report.json");
    path_in(junit, dir, "report.xml");
    plant(fault, P()->src, P()->dst, out, SHARD1, arg2, NULL);
    run_result r;
    assert_int_equal(mxc(&r, "verify", P()->src, out, "--json", json, "--junit", junit, "--no-progress", NULL), 2);
    snprintf(want, sizeof want, "mxfp4-check verify: DST '%s': %s", out, SHARD1);
    assert_contains(r.err, want);
    assert_contains(r.err, message);
    run_result_free(&r);
    cJSON *j = load_json(json);
    assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "fail");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "scope"), "complete")));
    const cJSON *fs = cJSON_GetObjectItem(j, "findings");
    assert_int_equal(cJSON_GetArraySize(fs), 1);
    const cJSON *f = cJSON_GetArrayItem(fs, 0);
    assert_string_equal(cJSON_GetObjectItem(f, "id")->valuestring, "input.unreadable");
    assert_string_equal(cJSON_GetObjectItem(f, "severity")->valuestring, "error");
    assert_contains(cJSON_GetObjectItem(f, "message")->valuestring, want + strlen("mxfp4-check verify: "));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tensors")), 0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "errors")->valueint, 1);
    cJSON_Delete(j);
    char *xml;
    assert_int_equal(run_read_file(junit, &xml, NULL), 0);
    assert_contains(xml, "<testcase classname=\"structure\" name=\"input.unreadable\" time=\"0.000\">");
    assert_contains(xml, "failures=\"1\"");
    /* the other 14 structural and coverage checks never ran: skipped, not passed */
    assert_contains(xml, "failures=\"1\" errors=\"0\" skipped=\"14\"");
    assert_contains(xml, "<testcase classname=\"structure\" name=\"safetensors.header\" time=\"0.000\">\n"
                         "      <skipped message=\"the run stopped before this check: SRC or DST could not be read\"/>");
    assert_contains(xml, "<testsuite name=\"mxfp4-check verify (partial: the run stopped, SRC or DST could not be read)\"");
    free(xml);
}

static void test_truncated_shard(void **state)
{
    check_unreadable(*state, "truncate", "1000", SHARD1);
}

static void test_garbage_header(void **state)
{
    check_unreadable(*state, "garbage-header", NULL, "not valid JSON");
}

/* ---- options ------------------------------------------------------------- */

/* Counted by hand from the fixture's index: layer 0's tensors, MXFP4 pairs
 * under the name of the tensor they stand for. */
static const char *const layer0[] = {
    "model.layers.0.input_layernorm.weight",
    "model.layers.0.mlp.experts.down_proj",
    "model.layers.0.mlp.experts.down_proj_bias",
    "model.layers.0.mlp.experts.gate_up_proj",
    "model.layers.0.mlp.experts.gate_up_proj_bias",
    "model.layers.0.mlp.router.bias",
    "model.layers.0.mlp.router.weight",
    "model.layers.0.post_attention_layernorm.weight",
    "model.layers.0.self_attn.k_proj.bias",
    "model.layers.0.self_attn.k_proj.weight",
    "model.layers.0.self_attn.o_proj.bias",
    "model.layers.0.self_attn.o_proj.weight",
    "model.layers.0.self_attn.q_proj.bias",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.sinks",
    "model.layers.0.self_attn.v_proj.bias",
    "model.layers.0.self_attn.v_proj.weight",
};
#define N_LAYER0 ((int)(sizeof layer0 / sizeof layer0[0]))

static void test_only_glob(void **state)
{
    char json[RUN_PATH_MAX];
    path_in(json, *state, "only.json");
    run_result r;
    int rc = mxc(&r, "verify", P()->src, P()->dst, "--only", "model.layers.0.*", "--json", json, "--quiet",
                 NULL);
    if (rc != 0)
        fail_msg("exit %d\nstderr: %s", rc, r.err);
    run_result_free(&r);
    assert_schema_valid(json);
    cJSON *report = load_json(json);
    const cJSON *tensors = member(report, "tensors");
    assert_int_equal(cJSON_GetArraySize(tensors), N_LAYER0);
    int i = 0;
    for (const cJSON *t = tensors->child; t; t = t->next, i++)
        assert_string_equal(str_member(t, "name"), layer0[i]);
    const cJSON *sum = member(report, "summary");
    assert_int_equal((int)num_member(sum, "tensors"), N_LAYER0);
    assert_int_equal((int)num_member(sum, "quantized"), 2);
    assert_int_equal((int)num_member(sum, "kept"), N_LAYER0 - 2);
    cJSON_Delete(report);
}

/* A glob that matches nothing is a mistake in the gate, not a pass. */
static void test_only_glob_matching_nothing(void **state)
{
    (void)state;
    run_result r;
    int rc = mxc(&r, "verify", P()->src, P()->dst, "--only", "model.layers.9.*", "--quiet", NULL);
    assert_int_equal(rc, 2);
    assert_contains(r.err, "--only 'model.layers.9.*' matches no source tensor");
    run_result_free(&r);
}

/* --json -: the report alone on stdout (no human summary mixed in). */
static void test_json_stdout(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "verify", P()->src, P()->dst, "--json", "-", NULL), 0);
    const char *end = NULL;
    cJSON *report = cJSON_ParseWithLengthOpts(r.out, r.out_len, &end, 0);
    if (!report)
        fail_msg("stdout is not JSON:\n%s", r.out);
    for (; end < r.out + r.out_len; end++)
        if (!strchr(" \t\r\n", *end))
            fail_msg("stdout has more than the JSON report: \"%s\"", end);
    assert_int_equal(r.out[0], '{');
    assert_fixture_report(report);
    cJSON_Delete(report);
    run_result_free(&r);
}

static void expect_usage_error(const char *why, const char *stderr_has, ...)
{
    run_result r;
    va_list ap;
    va_start(ap, stderr_has);
    const char *first = va_arg(ap, const char *);
    int rc = run_va(&r, env_or_fail("MXC_BIN"), first, ap);
    va_end(ap);
    if (rc != 2)
        fail_msg("%s: exit %d, expected 2\nstdout: %s\nstderr: %s", why, rc, r.out, r.err);
    if (r.err_len == 0)
        fail_msg("%s: exit 2 without a message on stderr", why);
    if (stderr_has)
        assert_contains(r.err, stderr_has);
    run_result_free(&r);
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *s = P()->src, *d = P()->dst;
    expect_usage_error("unknown option", "--bogus", "verify", s, d, "--bogus", NULL);
    expect_usage_error("one path", NULL, "verify", s, NULL);
    expect_usage_error("no path", NULL, "verify", NULL);
    expect_usage_error("three paths", NULL, "verify", s, d, d, NULL);
    expect_usage_error("--backend nope", "nope", "verify", s, d, "--backend", "nope", NULL);
    expect_usage_error("--threads 0", "--threads", "verify", s, d, "--threads", "0", NULL);
    expect_usage_error("--threads x", "--threads", "verify", s, d, "--threads", "x", NULL);
    expect_usage_error("--gpus x", "--gpus: 'x' is not all", "verify", s, d, "--gpus", "x", NULL);
    expect_usage_error("--gpus 1,", "--gpus: '1,'", "verify", s, d, "--gpus", "1,", NULL);
    expect_usage_error("--gpus -1", "--gpus: '-1'", "verify", s, d, "--gpus", "-1", NULL);
    expect_usage_error("--gpus 0", "--gpus: 0 GPUs", "verify", s, d, "--gpus", "0", NULL);
    expect_usage_error("--json without a file", NULL, "verify", s, d, "--json", NULL);
    expect_usage_error("missing SRC", "no-such-dir", "verify", "/nonexistent/no-such-dir", d, NULL);
}

static void test_backend_cpu_and_option_order(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "verify", P()->src, P()->dst, "--backend", "cpu", "--quiet", NULL), 0);
    run_result_free(&r);
    /* options before the paths work too */
    assert_int_equal(mxc(&r, "verify", "--backend", "cpu", "--threads", "2", P()->src, P()->dst, NULL), 0);
    assert_contains(r.out, "pass");
    run_result_free(&r);
    /* --gpus picks devices for CUDA; the CPU backend has none to pick */
    assert_int_equal(mxc(&r, "verify", "--backend", "cpu", "--gpus", "0,1", "--quiet", P()->src, P()->dst, NULL), 0);
    run_result_free(&r);
}

/* name, size and mtime of every entry of dir (and of dir itself, as "."),
 * one line each, sorted: a file created and removed again shows too. */
static char *snapshot(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    size_t cap = 256 * (size_t)(n + 1), len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    for (int i = 0; i < n; i++) {
        char path[RUN_PATH_MAX];
        struct stat sb;
        path_in(path, dir, list[i]->d_name);
        assert_int_equal(lstat(path, &sb), 0);
        if (strcmp(list[i]->d_name, "..") != 0) /* the parent is the test's temp dir */
            len += (size_t)snprintf(out + len, cap - len, "%s %lld %lld.%09ld\n", list[i]->d_name,
                                    (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
        free(list[i]);
    }
    free(list);
    return out;
}

/* Reports never land inside SRC or DST, whatever the spelling of the path;
 * and a run leaves both checkpoints exactly as they were. */
static void test_nothing_written_in_checkpoints(void **state)
{
    const char *dir = *state;
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX], link[RUN_PATH_MAX], p[RUN_PATH_MAX];
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    path_in(link, dir, "dst-link");
    assert_int_equal(run_copy_dir(P()->src, src), 0);
    assert_int_equal(run_copy_dir(P()->dst, dst), 0);
    assert_int_equal(symlink(dst, link), 0);
    char *before_src = snapshot(src), *before_dst = snapshot(dst);

    static const char *const inside[][2] = {
        {"dst", "report.json"}, {"dst", "./report.json"}, {"dst-link", "report.json"}, {"src", "report.json"},
    };
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++) {
        char sub[RUN_PATH_MAX];
        path_in(sub, dir, inside[i][0]);
        path_in(p, sub, inside[i][1]);
        expect_usage_error(p, NULL, "verify", src, dst, "--json", p, "--quiet", NULL);
        expect_usage_error(p, NULL, "verify", src, dst, "--junit", p, "--quiet", NULL);
    }
    /* a report beside the checkpoints is fine */
    char json[RUN_PATH_MAX], junit[RUN_PATH_MAX];
    path_in(json, dir, "r.json");
    path_in(junit, dir, "j.xml");
    run_result r;
    assert_int_equal(mxc(&r, "verify", src, dst, "--json", json, "--junit", junit, NULL), 0);
    run_result_free(&r);
    assert_true(exists(json) && exists(junit));

    char *after_src = snapshot(src), *after_dst = snapshot(dst);
    assert_string_equal(after_src, before_src);
    assert_string_equal(after_dst, before_dst);
    free(before_src);
    free(before_dst);
    free(after_src);
    free(after_dst);
}

/* ---- the plant tool itself ----------------------------------------------- */

static void test_plant_refusals(void **state)
{
    const char *dir = *state;
    char out[RUN_PATH_MAX];
    path_in(out, dir, "out");
    assert_int_equal(mkdir(out, 0755), 0);
    const char *exist[] = {P()->plant, "tokenizer", P()->src, P()->dst, out, NULL};
    run_result r;
    assert_int_equal(run_argv(&r, exist), 2); /* OUT exists: untouched */
    run_result_free(&r);
    char probe[RUN_PATH_MAX];
    path_in(probe, out, "tokenizer.json");
    assert_false(exists(probe));
    assert_int_equal(rmdir(out), 0);
    const char *wrap[] = {P()->plant, "scale-bias", P()->src, P()->dst, out, DOWN0, "200", NULL};
    assert_int_equal(run_argv(&r, wrap), 2); /* would wrap past 0xFE: refused, nothing left */
    assert_false(exists(out));
    run_result_free(&r);
    const char *unknown[] = {P()->plant, "nope", P()->src, P()->dst, out, NULL};
    assert_int_equal(run_argv(&r, unknown), 2);
    run_result_free(&r);
    const char *outside[] = {P()->plant, "truncate", P()->src, P()->dst, out, "../x", "0", NULL};
    assert_int_equal(run_argv(&r, outside), 2);
    assert_false(exists(out));
    run_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fixture_passes, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_small_slabs_same_stats, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_kept_read_in_parts_same_report, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_samples_pass, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_nibble_swap, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_scale_bias_plus_one, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_scale_bias_minus_two, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_router_quantized, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_missing_tensor, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_extra_tensor, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_kept_bitflip, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_index_wrong_shard, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_index_wrong_shard_pair, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_nan_scale, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_no_quantization_config, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_tokenizer_changed, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_missing_transpose_square, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_i8_header_over_e8m0_scales, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_conventions, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_conventions_square, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_pairing_said_once, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_shard, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_header, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_only_glob, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_only_glob_matching_nothing),
        cmocka_unit_test(test_json_stdout),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_backend_cpu_and_option_order),
        cmocka_unit_test_setup_teardown(test_nothing_written_in_checkpoints, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_plant_refusals, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
