/* test_report.c - the verify report: JSON (checked against
 * tests/data/verify-report.schema.json by the Debian python3-jsonschema),
 * JUnit XML (checked by xmllint when installed), the terminal summary, and
 * the file rules (whole or not at all, never inside SRC or DST).
 *
 * The verify_result is built by hand, so these tests need report.c and the
 * structs only. Expected numbers are worked out in the comments. */
#define _XOPEN_SOURCE 700 /* posix_openpt */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "runner.h"
#include "schema_check.h"
#include "util.h"

#define KEPT_NAME "model.embed\x1b[2J<&>\"'.weight"
#define KEPT_SHOWN "model.embed\\x1B[2J<&>\"'.weight" /* text_escape of KEPT_NAME */
#define KEPT_XML "model.embed\\x1B[2J&lt;&amp;&gt;&quot;&apos;.weight"
#define DOWN "model.layers.0.mlp.experts.down_proj"
#define STALE "model.layers.*.router"
#define SCHEMA_REL "tests/data/verify-report.schema.json"


/* ---- the result under test ------------------------------------------------- */

/* What verify_result_free would free of a tensor dropped by hand. */
static void free_tensor(verify_tensor *t)
{
    free(t->name);
    free(t->shape);
    scale_hist_clear(&t->scale_hist);
}

static void set_shape(verify_tensor *t, int rank, const uint64_t *shape)
{
    t->rank = rank;
    free(t->shape);
    t->shape = xmalloc(sizeof *shape * (size_t)rank + 1);
    memcpy(t->shape, shape, sizeof *shape * (size_t)rank);
}

/* Two tensors, sorted by name ("model.embed..." < "model.layers..."):
 * a kept one with a hostile name, not compared, and a failing quantized one
 * of shape [2, 3, 4] whose largest error is at linear index 23 = 1*12 + 2*4 + 3,
 * i.e. [1, 2, 3]. Three errors, three warnings, one info, one turned off. */
static verify_result *make_result(bool errors)
{
    verify_result *r = xcalloc(1, sizeof *r);
    r->src = xstrdup("/nonexistent/src");
    r->dst = xstrdup("/nonexistent/dst");
    r->tool.backend = xstrdup("cpu");
    r->tool.version = xstrdup("9.9.9");
    r->tool.device_count = 1;
    r->tool.devices = xcalloc(1, sizeof *r->tool.devices);
    r->tool.devices[0] = xstrdup("cpu: 4 threads");
    r->tool.argc = 2;
    r->tool.argv = xcalloc(2, sizeof *r->tool.argv);
    r->tool.argv[0] = xstrdup("mxfp4-check");
    r->tool.argv[1] = xstrdup("verify");
    snprintf(r->tool.started, sizeof r->tool.started, "2026-12-02T05:20:07Z");
    r->scope.complete = true;
    r->manifest.src_count = 1;
    r->manifest.src = xcalloc(1, sizeof *r->manifest.src);
    r->manifest.src[0] = (result_file){.file = xstrdup("model.safetensors"), .bytes = 100, .hashed = true};
    snprintf(r->manifest.src[0].sha256, sizeof r->manifest.src[0].sha256, "%064d", 7);
    r->manifest.dst_count = 1;
    r->manifest.dst = xcalloc(1, sizeof *r->manifest.dst);
    r->manifest.dst[0] = (result_file){.file = xstrdup("config.json"), .bytes = 42};
    r->tensor_count = 2;
    r->tensors = xcalloc(2, sizeof *r->tensors);
    r->quantized = r->kept = 1;
    r->bytes_read = 123456789;
    r->seconds = 1.5;

    verify_tensor *k = &r->tensors[0], *q = &r->tensors[1];
    k->name = xstrdup(KEPT_NAME);
    k->kind = VT_KEPT;
    k->bytes_src = k->bytes_dst = 64;
    k->status = VT_WARN;
    set_shape(k, 2, (uint64_t[]){4, 8});

    q->name = xstrdup(DOWN);
    q->kind = VT_QUANTIZED;
    q->bytes_src = 48;
    q->bytes_dst = 13;
    q->status = errors ? VT_FAIL : VT_PASS;
    set_shape(q, 3, (uint64_t[]){2, 3, 4});
    q->compared = true;
    q->stats = (stats_result){
        .max_abs_err = 0.25, .max_abs_err_index = 23, .mean_abs_err = 0.0625, .rmse = 0.125,
        .rel_l2 = 0.1 + 0.2, /* 0.30000000000000004: cJSON alone prints 0.3 */
        .cosine = 0.953125, .snr_db = INFINITY, .nonfinite = 2, .equal_fraction = 0.5,
        .codes_identical = 0.75, .scales_identical = 1.0, .ref_rel_l2 = 0.0859375, .excess = 3.5,
    };
    uint64_t hist[SCALE_HIST_BYTES] = {[127 - 7] = 3, [127] = 2, [127 + 3] = 1, [255] = 1};
    scale_hist_set(&q->scale_hist, hist);

    r->pattern_count = 2;
    r->patterns = xcalloc(2, sizeof *r->patterns);
    r->patterns[0] = (verify_pattern){xstrdup(STALE), 0, 0};
    r->patterns[1] = (verify_pattern){xstrdup("lm_head"), 1, 2};

    finding_list *fl = r->findings = findings_new();
    severity e = errors ? SEV_ERROR : SEV_WARN;
    findings_add(fl, FIND_THRESHOLD, e, DOWN, "model-00001-of-00002.safetensors",
                 "rel_l2 0.3 above 0.05");
    finding *d = findings_add(fl, FIND_DIAGNOSIS, e, DOWN, NULL, "scales biased by k=-2");
    d->cause = xstrdup("nibble_swap+scale_bias"); /* k with any cause that has scale_bias */
    d->scale_bias_k = -2;
    findings_add(fl, FIND_SHOULD_QUANTIZE, SEV_WARN, KEPT_NAME, NULL,
                 "'%s' is kept but no pattern covers it", KEPT_SHOWN);
    findings_add(fl, FIND_STALE_PATTERN, SEV_WARN, STALE, NULL, "pattern '%s' matches nothing", STALE);
    findings_add(fl, FIND_INDEX_TOTAL_SIZE, SEV_WARN, NULL, "model.safetensors.index.json",
                 "total_size 100 but the shards hold 96 bytes");
    findings_add(fl, FIND_MISSING, e, "model.norm.weight", NULL, "'model.norm.weight' is missing in DST");
    findings_add(fl, FIND_FILES_COPIED, SEV_INFO, NULL, "tokenizer.json", "tokenizer.json: identical");
    findings_add(fl, FIND_REQUANT_MISMATCH, SEV_WARN, DOWN, NULL, "turned off by the policy");
    findings_mut(fl, findings_count(fl) - 1)->sev = SEV_OFF;
    return r;
}

/* ---- helpers --------------------------------------------------------------- */

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("no key '%s'", key);
    return v;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void assert_names(const cJSON *a, const char *const *names, int n)
{
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), n);
    for (int i = 0; i < n; i++)
        assert_string_equal(cJSON_GetArrayItem(a, i)->valuestring, names[i]);
}

static void assert_ints(const cJSON *a, const uint64_t *v, int n)
{
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), n);
    for (int i = 0; i < n; i++)
        assert_true(cJSON_GetArrayItem(a, i)->valuedouble == (double)v[i]);
}

static char *tmpdir(const char *tag)
{
    char buf[RUN_PATH_MAX];
    assert_int_equal(run_mkdtemp(tag, buf, sizeof buf), 0);
    return xstrdup(buf);
}

static char *join(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* Entries of dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *slurp(const char *path)
{
    char *text = NULL;
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    return text;
}

/* ---- JSON ------------------------------------------------------------------ */

static void test_json_top(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    cJSON *j = report_json(r);
    assert_string_equal(str(j, "schema"), "mxfp4-check/verify/1");
    assert_string_equal(str(j, "result"), "fail");
    assert_string_equal(str(j, "src"), "/nonexistent/src");
    assert_string_equal(str(j, "dst"), "/nonexistent/dst");
    const cJSON *s = get(j, "summary");
    assert_int_equal(cJSON_GetArraySize(s), 8);
    assert_true(num(s, "waived") == 0);
    assert_true(num(s, "tensors") == 2);
    assert_true(num(s, "quantized") == 1);
    assert_true(num(s, "kept") == 1);
    assert_true(num(s, "errors") == 3);
    assert_true(num(s, "warnings") == 3); /* the finding turned off counts nowhere */
    assert_true(num(s, "bytes_read") == 123456789);
    assert_true(num(s, "seconds") == 1.5);
    /* the policy of a result made without one: the built-in default */
    const cJSON *pol = get(j, "policy");
    assert_int_equal(cJSON_GetArraySize(get(pol, "files")), 0);
    assert_string_equal(str(pol, "builtin"), "default");
    /* provenance: tool, scope, manifest */
    const cJSON *tool = get(j, "tool");
    assert_string_equal(str(tool, "version"), "9.9.9");
    assert_string_equal(str(tool, "backend"), "cpu");
    assert_string_equal(cJSON_GetArrayItem(get(tool, "devices"), 0)->valuestring, "cpu: 4 threads");
    assert_int_equal(cJSON_GetArraySize(get(tool, "argv")), 2);
    assert_string_equal(cJSON_GetArrayItem(get(tool, "argv"), 1)->valuestring, "verify");
    assert_string_equal(str(tool, "started"), "2026-12-02T05:20:07Z");
    assert_int_equal(cJSON_GetArraySize(tool), 5);
    const cJSON *scope = get(j, "scope");
    assert_true(cJSON_IsNull(get(scope, "only")));
    assert_true(cJSON_IsNull(get(scope, "shard")));
    assert_true(cJSON_IsTrue(get(scope, "complete")));
    const cJSON *man = get(j, "manifest");
    const cJSON *m0 = cJSON_GetArrayItem(get(man, "src"), 0);
    assert_string_equal(str(m0, "file"), "model.safetensors");
    assert_true(num(m0, "bytes") == 100);
    assert_string_equal(str(m0, "sha256"), "0000000000000000000000000000000000000000000000000000000000000007");
    const cJSON *d0 = cJSON_GetArrayItem(get(man, "dst"), 0);
    assert_string_equal(str(d0, "file"), "config.json");
    assert_true(cJSON_IsNull(get(d0, "sha256"))); /* not hashed: null, never a made-up digest */
    assert_int_equal(cJSON_GetArraySize(j), 12); /* the keys of SPEC §3, no others */
    cJSON_Delete(j);
    verify_result_free(r);
}

static void test_json_findings(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    cJSON *j = report_json(r);
    const cJSON *fs = get(j, "findings");
    static const char *const ids[] = {FIND_THRESHOLD, FIND_DIAGNOSIS, FIND_SHOULD_QUANTIZE,
                                      FIND_STALE_PATTERN, FIND_INDEX_TOTAL_SIZE, FIND_MISSING,
                                      FIND_FILES_COPIED};
    assert_int_equal(cJSON_GetArraySize(fs), 7); /* not the one turned off */
    for (int i = 0; i < 7; i++)
        assert_string_equal(str(cJSON_GetArrayItem(fs, i), "id"), ids[i]);

    const cJSON *f = cJSON_GetArrayItem(fs, 0);
    assert_string_equal(str(f, "severity"), "error");
    assert_string_equal(str(f, "tensor"), DOWN);
    assert_string_equal(str(f, "file"), "model-00001-of-00002.safetensors");
    assert_string_equal(str(f, "message"), "rel_l2 0.3 above 0.05");
    assert_true(cJSON_IsNull(get(f, "rule"))); /* no policy decided: the table's default */
    assert_true(cJSON_IsNull(get(f, "waived")));
    assert_int_equal(cJSON_GetArraySize(f), 7);

    f = cJSON_GetArrayItem(fs, 1);
    assert_string_equal(str(f, "cause"), "nibble_swap+scale_bias");
    assert_true(num(f, "k") == -2);
    assert_true(cJSON_IsNull(get(f, "file")));
    assert_int_equal(cJSON_GetArraySize(f), 9);

    f = cJSON_GetArrayItem(fs, 2);
    assert_string_equal(str(f, "severity"), "warn");
    assert_string_equal(str(f, "tensor"), KEPT_NAME); /* raw; JSON escapes the ESC */
    assert_string_equal(str(f, "message"), "'" KEPT_SHOWN "' is kept but no pattern covers it");

    f = cJSON_GetArrayItem(fs, 4);
    assert_true(cJSON_IsNull(get(f, "tensor")));
    assert_string_equal(str(f, "file"), "model.safetensors.index.json");
    assert_string_equal(str(cJSON_GetArrayItem(fs, 6), "severity"), "info");
    cJSON_Delete(j);
    verify_result_free(r);
}

static void test_json_diagnosis_causes(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    finding *d = findings_mut(r->findings, 1);
    free(d->cause);
    d->cause = xstrdup("missing_transpose");
    cJSON *j = report_json(r);
    const cJSON *f = cJSON_GetArrayItem(get(j, "findings"), 1);
    assert_string_equal(str(f, "cause"), "missing_transpose");
    assert_null(cJSON_GetObjectItemCaseSensitive(f, "k")); /* k only with scale_bias */
    cJSON_Delete(j);
    verify_result_free(r);
}

static void test_json_coverage(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    cJSON *j = report_json(r);
    const cJSON *c = get(j, "coverage");
    assert_int_equal(cJSON_GetArraySize(c), 7);
    const cJSON *p = get(c, "patterns");
    assert_int_equal(cJSON_GetArraySize(p), 2);
    assert_string_equal(str(cJSON_GetArrayItem(p, 0), "pattern"), STALE);
    assert_true(num(cJSON_GetArrayItem(p, 0), "matched") == 0);
    assert_string_equal(str(cJSON_GetArrayItem(p, 1), "pattern"), "lm_head");
    assert_true(num(cJSON_GetArrayItem(p, 1), "matched") == 1);
    assert_true(num(cJSON_GetArrayItem(p, 1), "matched_loader") == 2);
    assert_names(get(c, "should_keep"), NULL, 0);
    assert_names(get(c, "should_quantize"), (const char *const[]){KEPT_NAME}, 1);
    assert_names(get(c, "missing"), (const char *const[]){"model.norm.weight"}, 1);
    assert_names(get(c, "extra"), NULL, 0);
    assert_names(get(c, "stale_patterns"), (const char *const[]){STALE}, 1);
    assert_names(get(c, "view_mismatch"), NULL, 0);
    cJSON_Delete(j);
    verify_result_free(r);
}

static void test_json_tensors(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    cJSON *j = report_json(r);
    const cJSON *ts = get(j, "tensors");
    assert_int_equal(cJSON_GetArraySize(ts), 2);

    const cJSON *k = cJSON_GetArrayItem(ts, 0);
    assert_string_equal(str(k, "name"), KEPT_NAME);
    assert_string_equal(str(k, "kind"), "kept");
    assert_string_equal(str(k, "status"), "warn");
    assert_ints(get(k, "shape"), (uint64_t[]){4, 8}, 2);
    assert_true(cJSON_IsNull(get(k, "stats")));
    assert_true(cJSON_IsNull(get(k, "status_rule")));
    assert_int_equal(cJSON_GetArraySize(get(k, "limits")), 0);
    assert_true(num(get(k, "bytes"), "src") == 64 && num(get(k, "bytes"), "dst") == 64);
    assert_int_equal(cJSON_GetArraySize(k), 8); /* no requant, no scale_hist */

    const cJSON *q = cJSON_GetArrayItem(ts, 1);
    assert_string_equal(str(q, "name"), DOWN);
    assert_string_equal(str(q, "kind"), "quantized");
    assert_string_equal(str(q, "status"), "fail");
    assert_ints(get(q, "shape"), (uint64_t[]){2, 3, 4}, 3);
    const cJSON *s = get(q, "stats");
    assert_int_equal(cJSON_GetArraySize(s), 9);
    assert_true(num(s, "max_abs_err") == 0.25);
    assert_ints(get(s, "max_abs_err_index"), (uint64_t[]){1, 2, 3}, 3); /* 23 = 1*12 + 2*4 + 3 */
    assert_true(num(s, "mean_abs_err") == 0.0625);
    assert_true(num(s, "rmse") == 0.125);
    assert_true(num(s, "rel_l2") == 0.1 + 0.2);
    assert_true(num(s, "cosine") == 0.953125);
    assert_true(cJSON_IsNull(get(s, "snr_db"))); /* +inf: JSON has none */
    assert_true(num(s, "nonfinite") == 2);
    assert_true(num(s, "equal_fraction") == 0.5);
    const cJSON *rq = get(q, "requant");
    assert_int_equal(cJSON_GetArraySize(rq), 4);
    assert_true(num(rq, "codes_identical") == 0.75);
    assert_true(num(rq, "scales_identical") == 1.0);
    assert_true(num(rq, "ref_rel_l2") == 0.0859375);
    assert_true(num(rq, "excess") == 3.5);
    const cJSON *h = get(q, "scale_hist");
    assert_true(num(h, "min") == -7);
    assert_true(num(h, "max") == 3);
    assert_true(num(h, "nan") == 1);
    const cJSON *counts = get(h, "counts");
    assert_int_equal(cJSON_GetArraySize(counts), 3); /* byte 255 only in nan */
    assert_true(num(counts, "-7") == 3);
    assert_true(num(counts, "0") == 2);
    assert_true(num(counts, "3") == 1);
    cJSON_Delete(j);
    verify_result_free(r);
}

static void test_json_pass(void **state)
{
    (void)state;
    verify_result *r = make_result(false);
    cJSON *j = report_json(r);
    assert_string_equal(str(j, "result"), "pass");
    assert_true(num(get(j, "summary"), "errors") == 0);
    assert_true(num(get(j, "summary"), "warnings") == 6);
    cJSON_Delete(j);
    /* one error anywhere fails the run */
    findings_add(r->findings, FIND_KEPT_MODIFIED, SEV_ERROR, KEPT_NAME, NULL, "differs");
    j = report_json(r);
    assert_string_equal(str(j, "result"), "fail");
    cJSON_Delete(j);
    verify_result_free(r);
}

static void test_json_degenerate(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    verify_tensor *q = &r->tensors[1];
    q->stats.excess = INFINITY;
    q->stats.cosine = NAN;
    q->stats.max_abs_err_index = 24; /* past the last element */
    cJSON *j = report_json(r);
    const cJSON *t = cJSON_GetArrayItem(get(j, "tensors"), 1);
    assert_true(cJSON_IsNull(get(get(t, "requant"), "excess")));
    assert_true(cJSON_IsNull(get(get(t, "stats"), "cosine")));
    assert_true(cJSON_IsNull(get(get(t, "stats"), "max_abs_err_index")));
    cJSON_Delete(j);

    q->rank = 0; /* a scalar: no coordinates */
    q->stats.max_abs_err_index = 0;
    scale_hist_clear(&q->scale_hist);
    j = report_json(r);
    t = cJSON_GetArrayItem(get(j, "tensors"), 1);
    assert_int_equal(cJSON_GetArraySize(get(get(t, "stats"), "max_abs_err_index")), 0);
    const cJSON *h = get(t, "scale_hist");
    assert_true(cJSON_IsNull(get(h, "min")) && cJSON_IsNull(get(h, "max")));
    cJSON_Delete(j);

    q->compared = false; /* quantized but not compared: no requant, no empty histogram */
    j = report_json(r);
    t = cJSON_GetArrayItem(get(j, "tensors"), 1);
    assert_true(cJSON_IsNull(get(t, "stats")));
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "requant"));
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "scale_hist"));
    cJSON_Delete(j);
    verify_result_free(r);
}

/* Invalid UTF-8 (a path from the command line) is escaped, so the report
 * stays JSON; valid UTF-8 passes as it is. */
static void test_json_utf8(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    free(r->src);
    r->src = xstrdup("/data/\xff\xfe-src");
    free(r->tensors[1].name);
    r->tensors[1].name = xstrdup("mod\xc3\xa9le.w");
    char *text = report_json_string(r);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(str(j, "src"), "/data/\\xFF\\xFE-src");
    assert_string_equal(str(cJSON_GetArrayItem(get(j, "tensors"), 1), "name"), "mod\xc3\xa9le.w");
    cJSON_Delete(j);
    free(text);
    verify_result_free(r);
}

/* ---- writing JSON ---------------------------------------------------------- */

static void test_write_json_roundtrip(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    char *dir = tmpdir("report"), *path = join(dir, "report.json"), err[512] = "";
    assert_int_equal(report_write_json(r, path, err, sizeof err), 0);
    assert_int_equal(dir_entries(dir), 1); /* no temporary file left behind */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);

    char *text = slurp(path);
    assert_true(text[strlen(text) - 1] == '\n');
    assert_non_null(strstr(text, "0.30000000000000004")); /* every digit */
    assert_null(strchr(text, '\x1b'));                     /* the ESC is \u001b */
    assert_null(strstr(text, ": inf"));
    assert_null(strstr(text, ": nan"));
    cJSON *back = cJSON_Parse(text), *mem = report_json(r);
    assert_non_null(back);
    assert_true(cJSON_Compare(back, mem, true));
    const cJSON *s = get(cJSON_GetArrayItem(get(back, "tensors"), 1), "stats");
    assert_true(num(s, "rel_l2") == 0.1 + 0.2); /* exactly the double, not 0.3 */
    assert_string_equal(str(cJSON_GetArrayItem(get(back, "tensors"), 0), "name"), KEPT_NAME);
    cJSON_Delete(back);
    cJSON_Delete(mem);
    free(text);

    /* an existing report is replaced as a whole */
    assert_int_equal(run_write_file(path, "old\n"), 0);
    assert_int_equal(report_write_json(r, path, err, sizeof err), 0);
    text = slurp(path);
    assert_true(strncmp(text, "{", 1) == 0);
    free(text);
    assert_int_equal(dir_entries(dir), 1);
    run_rmtree(dir);
    free(path);
    free(dir);
    verify_result_free(r);
}

static void test_write_json_stdout(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    char *dir = tmpdir("report"), *path = join(dir, "stdout.json"), err[512] = "";
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int rc = report_write_json(r, "-", err, sizeof err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    char *text = slurp(path), *expect = report_json_string(r);
    assert_string_equal(text, expect);
    free(text);
    free(expect);
    run_rmtree(dir);
    free(path);
    free(dir);
    verify_result_free(r);
}

/* Nothing is ever written inside SRC or DST, however the path is spelled. */
static void test_refuse_inside_checkpoints(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    char *base = tmpdir("report"), err[512];
    char *src = join(base, "src"), *dst = join(base, "dst"), *out = join(base, "out");
    char *sibling = join(base, "srcx"), *sub = join(base, "dst/sub"), *link = join(base, "link");
    char *single = join(base, "single"), *single_file = join(base, "single/model.safetensors");
    const char *dirs[] = {src, dst, out, sibling, sub, single};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        assert_int_equal(mkdir(dirs[i], 0755), 0);
    assert_int_equal(symlink(dst, link), 0);
    assert_int_equal(run_write_file(single_file, "x"), 0);
    free(r->src);
    free(r->dst);
    r->src = xstrdup(src);
    r->dst = xstrdup(dst);

    const char *refused[] = {"src/r.json", "dst/r.json", "dst/sub/r.json", "link/r.json",
                             "out/../dst/r.json", "src/./r.json"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *p = join(base, refused[i]);
        err[0] = '\0';
        assert_int_equal(report_write_json(r, p, err, sizeof err), -1);
        if (!strstr(err, "refusing") || !strstr(err, refused[i]))
            fail_msg("%s: %s", refused[i], err);
        assert_int_equal(report_write_junit(r, p, err, sizeof err), -1);
        free(p);
    }
    assert_int_equal(dir_entries(src), 0);
    assert_int_equal(dir_entries(dst), 1); /* sub only */
    assert_int_equal(dir_entries(sub), 0);

    /* a sibling whose name merely starts with "src" is outside */
    char *p = join(sibling, "r.json");
    assert_int_equal(report_write_json(r, p, err, sizeof err), 0);
    free(p);

    /* a relative path, resolved from the working directory */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dst), 0);
    int rc = report_write_junit(r, "r.xml", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, -1);
    p = join(dst, "r.xml");
    assert_false(exists(p));
    free(p);

    /* a single-file checkpoint stands for its directory */
    free(r->src);
    r->src = xstrdup(single_file);
    p = join(single, "r.json");
    assert_int_equal(report_write_json(r, p, err, sizeof err), -1);
    assert_false(exists(p));
    free(p);
    p = join(out, "r.json");
    assert_int_equal(report_write_json(r, p, err, sizeof err), 0);
    assert_int_equal(report_write_junit(r, p, err, sizeof err), 0);
    free(p);

    run_rmtree(base);
    const char *all[] = {src, dst, out, sibling, sub, link, single, single_file, base};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free((void *)all[i]);
    verify_result_free(r);
}

/* Whole or not at all: a failed write leaves no temporary file and the old
 * report as it was. */
static void test_atomic_failure(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    char *dir = tmpdir("report"), *path = join(dir, "report.json"), err[512] = "";

    char *nowhere = join(dir, "no/such/dir/report.json");
    assert_int_equal(report_write_json(r, nowhere, err, sizeof err), -1);
    assert_non_null(strstr(err, nowhere));
    assert_int_equal(report_write_junit(r, nowhere, err, sizeof err), -1);
    assert_int_equal(report_write_json(r, "", err, sizeof err), -1);
    assert_int_equal(dir_entries(dir), 0);

    /* the write itself fails half way (file size limit) */
    assert_int_equal(run_write_file(path, "old\n"), 0);
    struct rlimit old, small = {64, 64};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = report_write_json(r, path, err, sizeof err);
    int rc2 = report_write_junit(r, path, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_int_equal(rc2, -1);
    assert_non_null(strstr(err, path));
    char *text = slurp(path);
    assert_string_equal(text, "old\n");
    free(text);
    assert_int_equal(dir_entries(dir), 1);

    /* the rename fails: the target is a directory */
    char *sub = join(dir, "taken.json");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(report_write_json(r, sub, err, sizeof err), -1);
    assert_non_null(strstr(err, "taken.json"));
    assert_int_equal(dir_entries(dir), 2);
    assert_int_equal(dir_entries(sub), 0);

    run_rmtree(dir);
    free(sub);
    free(nowhere);
    free(path);
    free(dir);
    verify_result_free(r);
}

/* ---- schema ------------------------------------------------------------------ */

static const char *schema_path(void)
{
    static char buf[RUN_PATH_MAX];
    const char *root = getenv("MXC_SRCDIR");
    snprintf(buf, sizeof buf, "%s/%s", root && *root ? root : ".", SCHEMA_REL);
    return buf;
}

/* Skips the test where no python3 has jsonschema; fails where the validator
 * cannot check against the schema. */
static void require_validator(void)
{
    char msg[4096];
    schema_verdict ready = schema_ready(schema_path(), msg, sizeof msg);
    if (ready == SCHEMA_NO_VALIDATOR) {
        print_message("python3 with jsonschema not found (apt-get install python3-jsonschema)\n");
        skip();
    }
    if (ready != SCHEMA_VALID)
        fail_msg("validator crashed: %s", msg);
}

/* SCHEMA_VALID or SCHEMA_INVALID (its errors printed when verbose) for the
 * file at path; a validator that breaks fails the test. */
static schema_verdict validate_file(const char *path, bool verbose)
{
    char msg[4096];
    schema_verdict verdict = schema_check(schema_path(), path, msg, sizeof msg);
    if (verdict != SCHEMA_VALID && verdict != SCHEMA_INVALID)
        fail_msg("validator crashed: %s", msg);
    if (verdict == SCHEMA_INVALID && verbose)
        print_message("validator: %s\n", msg);
    return verdict;
}

/* validate_file on doc, written to a file in dir. */
static schema_verdict validate(const char *dir, const cJSON *doc)
{
    char *path = join(dir, "doc.json"), *text = cJSON_Print(doc);
    assert_int_equal(run_write_file(path, text), 0);
    schema_verdict verdict = validate_file(path, false);
    free(text);
    free(path);
    return verdict;
}

static void test_schema_accepts_reports(void **state)
{
    (void)state;
    require_validator();
    char *dir = tmpdir("schema"), *path = join(dir, "report.json"), err[512];
    for (int variant = 0; variant < 4; variant++) {
        verify_result *r = make_result(variant != 1);
        if (variant == 2) { /* non-finite values, no elements, nothing compared */
            r->tensors[1].stats.excess = INFINITY;
            r->tensors[1].stats.rel_l2 = NAN;
            r->tensors[1].rank = 0;
            r->tensors[0].compared = true;
            r->tensors[0].stats = (stats_result){.snr_db = INFINITY, .equal_fraction = 1.0, .cosine = 1.0};
        }
        if (variant == 3) { /* empty everything */
            r->tensor_count = r->pattern_count = 0;
            findings_free(r->findings);
            r->findings = findings_new();
            for (size_t i = 0; i < 2; i++)
                free_tensor(&r->tensors[i]);
            for (size_t i = 0; i < 2; i++)
                free(r->patterns[i].pattern);
        }
        assert_int_equal(report_write_json(r, path, err, sizeof err), 0);
        if (validate_file(path, true) != SCHEMA_VALID)
            fail_msg("variant %d does not validate", variant);
        verify_result_free(r);
    }
    run_rmtree(dir);
    free(path);
    free(dir);
}

typedef void (*breaker)(cJSON *j);

static cJSON *tensor_q(cJSON *j)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "tensors"), 1);
}
static cJSON *finding_n(cJSON *j, int n)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "findings"), n);
}
static void br_result(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(j, "result", cJSON_CreateString("maybe")); }
static void br_result_pass(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(j, "result", cJSON_CreateString("pass")); }
static void br_schema(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(j, "schema", cJSON_CreateString("mxfp4-check/verify/2")); }
static void br_extra_key(cJSON *j) { cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(j, "summary"), "speed", 1); }
static void br_missing_key(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(j, "coverage"); }
static void br_id(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(finding_n(j, 0), "id", cJSON_CreateString("numerics.other")); }
static void br_severity(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(finding_n(j, 0), "severity", cJSON_CreateString("off")); }
static void br_cause(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(finding_n(j, 1), "cause", cJSON_CreateString("gremlins")); }
static void br_no_k(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(finding_n(j, 1), "k"); }
static void br_cause_order(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(finding_n(j, 1), "cause", cJSON_CreateString("scale_bias+nibble_swap")); }
static void br_cause_axis(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(finding_n(j, 1), "cause", cJSON_CreateString("nibble_swap+nibble_split+scale_bias")); }
static void br_k_without_bias(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(finding_n(j, 1), "cause", cJSON_CreateString("nibble_swap+scale_signed")); }
static void br_cause_elsewhere(cJSON *j) { cJSON_AddStringToObject(finding_n(j, 0), "cause", "nibble_swap"); }
static void br_kind(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(tensor_q(j), "kind", cJSON_CreateString("mxfp4")); }
static void br_status(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(tensor_q(j), "status", cJSON_CreateString("ok")); }
static void br_inf(cJSON *j) { cJSON_AddRawToObject(cJSON_GetObjectItemCaseSensitive(tensor_q(j), "stats"), "x", "1"); }
static void br_no_requant(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(tensor_q(j), "requant"); }
static void br_stat_type(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(tensor_q(j), "stats"), "rmse", cJSON_CreateString("0.1")); }
static void br_hist_key(cJSON *j)
{
    cJSON *h = cJSON_GetObjectItemCaseSensitive(tensor_q(j), "scale_hist");
    cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(h, "counts"), "nan", 1);
}
static void br_pattern(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(get(get(j, "coverage"), "patterns"), 0), "matched_loader"); }
static void br_negative(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "summary"), "bytes_read", cJSON_CreateNumber(-1)); }

/* The validator really validates: each of these breaks one rule. */
static void test_schema_rejects_broken(void **state)
{
    (void)state;
    require_validator();
    static const breaker breakers[] = {
        br_result, br_result_pass, br_schema, br_extra_key, br_missing_key, br_id, br_severity,
        br_cause, br_no_k, br_cause_order, br_cause_axis, br_k_without_bias, br_cause_elsewhere, br_kind, br_status, br_inf, br_no_requant,
        br_stat_type, br_hist_key, br_pattern, br_negative,
    };
    verify_result *r = make_result(true);
    char *dir = tmpdir("schema"), *text = report_json_string(r);
    cJSON *good = cJSON_Parse(text);
    assert_int_equal(validate(dir, good), SCHEMA_VALID);
    for (size_t i = 0; i < sizeof breakers / sizeof breakers[0]; i++) {
        cJSON *bad = cJSON_Duplicate(good, true);
        breakers[i](bad);
        if (validate(dir, bad) != SCHEMA_INVALID)
            fail_msg("broken report %zu validates", i);
        cJSON_Delete(bad);
    }
    cJSON_Delete(good);
    free(text);
    run_rmtree(dir);
    free(dir);
    verify_result_free(r);
}

/* ---- JUnit ------------------------------------------------------------------- */

static char *junit_text(const verify_result *r, const char *dir)
{
    char *path = join(dir, "junit.xml"), err[512] = "";
    if (report_write_junit(r, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    char *text = slurp(path);
    free(path);
    return text;
}

/* Well-formed per xmllint (Debian libxml2-utils) when it is installed. */
static void check_xmllint(const char *dir)
{
    char *path = join(dir, "junit.xml");
    const char *argv[] = {"xmllint", "--noout", path, NULL};
    run_result rr = {0};
    int rc = run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &rr);
    if (rc == 0 && rr.status == 127)
        print_message("xmllint not found: well-formedness not checked\n");
    else if (rc != 0 || rr.status != 0)
        fail_msg("xmllint: %s", rr.err);
    run_result_free(&rr);
    free(path);
}

static void test_junit(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    char *dir = tmpdir("junit"), *x = junit_text(r, dir);
    check_xmllint(dir);
    assert_null(strchr(x, '\x1b'));
    assert_null(strstr(x, "<&>"));
    assert_non_null(strstr(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    /* 2 tensors + 9 structure + 6 coverage ids (the finding table's groups);
     * failing: down_proj and coverage.missing */
    assert_non_null(strstr(x, "<testsuite name=\"mxfp4-check verify\" tests=\"17\" failures=\"2\" "
                              "errors=\"0\" skipped=\"0\" time=\"1.500\">"));
    /* times: 1.5 s shared by bytes, 128 of the kept tensor and 61 of down_proj */
    assert_non_null(strstr(x, "<testcase classname=\"tensors\" name=\"" KEPT_XML "\" time=\"1.016\">"));
    assert_non_null(strstr(x, "<testcase classname=\"structure\" name=\"input.unreadable\" time=\"0.000\"/>"));
    /* provenance */
    assert_non_null(strstr(x, "<property name=\"tool.version\" value=\"9.9.9\"/>"));
    assert_non_null(strstr(x, "<property name=\"tool.device\" value=\"cpu: 4 threads\"/>"));
    assert_non_null(strstr(x, "<property name=\"tool.started\" value=\"2026-12-02T05:20:07Z\"/>"));
    assert_non_null(strstr(x, "<property name=\"scope\" value=\"complete\"/>"));
    assert_non_null(strstr(x, "<property name=\"manifest.src\" value=\"1 file, 100 B, SHA-256 of each in the JSON report\"/>"));
    assert_non_null(strstr(x, "<property name=\"manifest.dst\" value=\"1 file, 42 B\"/>"));
    char *q = strstr(x, "<testcase classname=\"tensors\" name=\"" DOWN "\" time=\"0.484\">");
    assert_non_null(q);
    assert_non_null(strstr(q, "<failure message=\"rel_l2 0.3 above 0.05\" type=\"numerics.threshold\">"
                              "error [numerics.threshold] rel_l2 0.3 above 0.05\n"
                              "error [numerics.diagnosis] scales biased by k=-2\n</failure>"));
    /* the warning on the kept tensor, escaped */
    assert_non_null(strstr(x, "<system-out>warn [coverage.should_quantize] &apos;" KEPT_XML
                              "&apos; is kept but no pattern covers it\n</system-out>"));
    char *miss = strstr(x, "name=\"coverage.missing\"");
    assert_non_null(miss);
    assert_non_null(strstr(miss, "<failure message=\"&apos;model.norm.weight&apos; is missing in DST\" "
                                 "type=\"coverage.missing\">"));
    assert_non_null(strstr(x, "<testcase classname=\"structure\" name=\"safetensors.header\" time=\"0.000\"/>"));
    assert_non_null(strstr(x, "<testcase classname=\"coverage\" name=\"coverage.stale_pattern\" time=\"0.000\">\n"
                              "      <system-out>warn [coverage.stale_pattern]"));
    assert_null(strstr(x, "turned off by the policy"));
    free(x);

    /* an error on no tensor of the report, of an id outside the fixed checks */
    findings_add(r->findings, FIND_KEPT_MODIFIED, SEV_ERROR, NULL, "model.safetensors", "a \x01 control");
    free(r->tensors[0].name);
    r->tensors[0].name = xstrdup("bad\xff\xfe utf8 \xef\xbf\xbe");
    x = junit_text(r, dir);
    check_xmllint(dir);
    assert_non_null(strstr(x, "tests=\"18\" failures=\"3\""));
    assert_non_null(strstr(x, "<testcase classname=\"other\" name=\"kept.modified\" time=\"0.000\">"));
    assert_non_null(strstr(x, "a ? control"));
    free(x);

    /* no errors: nothing fails */
    verify_result_free(r);
    r = make_result(false);
    x = junit_text(r, dir);
    check_xmllint(dir);
    assert_non_null(strstr(x, "failures=\"0\""));
    assert_null(strstr(x, "<failure"));
    free(x);
    run_rmtree(dir);
    free(dir);
    verify_result_free(r);
}

/* ---- terminal ---------------------------------------------------------------- */

#define HUMAN_MAX 65536 /* far more than any summary here */

static char *human(const verify_result *r, bool color)
{
    char *buf = xcalloc(1, HUMAN_MAX);
    FILE *m = fmemopen(buf, HUMAN_MAX - 1, "w");
    assert_non_null(m);
    report_print_human(r, m, color, 0);
    assert_false(ferror(m));
    fclose(m);
    assert_true(strlen(buf) < HUMAN_MAX - 2);
    return buf;
}

static const char *last_line(const char *text)
{
    size_t n = strlen(text);
    assert_true(n > 0 && text[n - 1] == '\n');
    const char *p = text + n - 1;
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

/* The line of text that contains what (it must). */
static const char *line_with(const char *text, const char *what)
{
    const char *p = strstr(text, what);
    if (!p)
        fail_msg("no '%s' in:\n%s", what, text);
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

static void test_human(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    char *h = human(r, false);
    assert_null(strchr(h, '\x1b'));
    assert_string_equal(last_line(h), "RESULT: FAIL (3 errors, 3 warnings)\n");
    assert_non_null(strstr(h, "/nonexistent/src -> /nonexistent/dst"));
    assert_non_null(strstr(h, "backend cpu: 2 tensors (1 quantized, 1 kept), 123.46 MB read in 1.50 s (0.08 GB/s)"));
    /* worst first: the failing quantized tensor, then the kept one */
    char *q = strstr(h, "FAIL    " DOWN), *k = strstr(h, "WARN    " KEPT_SHOWN);
    assert_non_null(q);
    assert_non_null(k);
    assert_true(q < k);
    assert_non_null(strstr(q, "3.000e-01"));
    assert_non_null(strstr(q, "0.953125"));
    assert_non_null(strstr(q, "75.00"));
    assert_non_null(strstr(q, "100.00"));
    assert_non_null(strstr(q, "3.500"));
    assert_non_null(strstr(h, "coverage.missing"));
    assert_non_null(strstr(line_with(h, "  numerics.threshold "), " 1  (1 error)\n"));
    assert_non_null(strstr(line_with(h, "  coverage.stale_pattern "), " 1  (1 warn)\n"));
    assert_non_null(strstr(line_with(h, "  files.copied "), " 1  (1 info)\n"));
    assert_null(strstr(h, "  numerics.requant_mismatch ")); /* turned off */
    assert_non_null(strstr(h, "error [coverage.missing] 'model.norm.weight' is missing in DST\n"));
    assert_non_null(strstr(h, "warn  [coverage.should_quantize] '" KEPT_SHOWN "'"));
    assert_null(strstr(h, "tokenizer.json: identical")); /* info is counted, not listed */
    assert_null(strstr(h, "turned off"));
    free(h);

    h = human(r, true);
    assert_non_null(strstr(h, "\x1b[31mFAIL\x1b[0m"));
    assert_non_null(strstr(h, "\x1b[33mWARN\x1b[0m"));
    assert_null(strstr(h, "\x1b[2J")); /* only our own escapes */
    free(h);
    verify_result_free(r);

    r = make_result(false);
    h = human(r, false);
    assert_string_equal(last_line(h), "RESULT: PASS (6 warnings)\n");
    free(h);
    findings_free(r->findings);
    r->findings = findings_new();
    h = human(r, true);
    assert_string_equal(last_line(h), "\x1b[1;32mRESULT: PASS\x1b[0m\n");
    free(h);
    verify_result_free(r);
}

static void test_human_many_tensors(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    size_t n = 25;
    verify_tensor *ts = xcalloc(n, sizeof *ts);
    for (size_t i = 0; i < n; i++) {
        ts[i].name = xasprintf("t%02zu", i);
        ts[i].kind = VT_QUANTIZED;
        ts[i].compared = true;
        set_shape(&ts[i], 1, (uint64_t[]){32});
        ts[i].stats.rel_l2 = 0.01 * (double)(i % 7);
        ts[i].stats.excess = 1.0;
    }
    ts[3].status = VT_FAIL;
    ts[9].stats.excess = 2.0;
    for (size_t i = 0; i < r->tensor_count; i++)
        free_tensor(&r->tensors[i]);
    free(r->tensors);
    r->tensors = ts;
    r->tensor_count = n;
    char *h = human(r, false);
    /* t03 fails, t09 has the largest excess, then by rel_l2: t06, t13, t20 */
    char *a = strstr(h, "FAIL    t03"), *b = strstr(h, "pass    t09"), *c = strstr(h, "pass    t06"),
         *d = strstr(h, "pass    t13");
    assert_true(a && b && c && d && a < b && b < c && c < d);
    assert_non_null(strstr(h, "... 5 more tensors (all pass)\n"));
    int rows = 0;
    for (char *p = h; (p = strstr(p, "\npass    t")); p++)
        rows++;
    assert_int_equal(rows, 19);
    free(h);

    for (size_t i = 0; i < n; i++)
        ts[i].status = VT_WARN;
    h = human(r, false);
    assert_non_null(strstr(h, "... 5 more tensors (0 fail, 5 warn; --json lists them all)\n"));
    free(h);
    verify_result_free(r);
}

/* A C1 control (U+009B, CSI) and a bidi override (U+202E) are valid UTF-8,
 * which cJSON prints raw: the report must carry them as \u escapes, and read
 * back to the same name. The terminal summary shows their bytes as \xNN. */
#define HIDDEN_NAME "model.\xc2\x9b" "2J.\xe2\x80\xae" "thgiew.w"
#define HIDDEN_SHOWN "model.\\xC2\\x9B2J.\\xE2\\x80\\xAEthgiew.w"

static void assert_no_hidden_bytes(const char *text)
{
    if (strstr(text, "\xc2\x9b") || strstr(text, "\xe2\x80\xae"))
        fail_msg("raw C1 or bidi control in:\n%s", text);
}

static void test_json_hidden_controls(void **state)
{
    (void)state;
    verify_result *r = make_result(true);
    free(r->tensors[1].name);
    r->tensors[1].name = xstrdup(HIDDEN_NAME);
    findings_add(r->findings, FIND_THRESHOLD, SEV_ERROR, HIDDEN_NAME, NULL, "'%s' is off",
                 HIDDEN_SHOWN);
    char *text = report_json_string(r);
    assert_no_hidden_bytes(text);
    assert_non_null(strstr(text, "model.\\u009B2J.\\u202Ethgiew.w"));
    cJSON *back = cJSON_Parse(text), *mem = report_json(r);
    assert_non_null(back);
    assert_string_equal(str(cJSON_GetArrayItem(get(back, "tensors"), 1), "name"), HIDDEN_NAME);
    assert_true(cJSON_Compare(back, mem, true)); /* the same document, findings included */
    cJSON_Delete(back);
    cJSON_Delete(mem);
    free(text);

    char *h = human(r, false);
    assert_no_hidden_bytes(h);
    assert_non_null(strstr(h, HIDDEN_SHOWN));
    free(h);
    verify_result_free(r);
}

static void test_use_color(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_false(report_use_color(m)); /* not a terminal */
    fclose(m);
    free(buf);

    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        print_message("no pseudo-terminal: skipping the terminal half\n");
        if (master >= 0)
            close(master);
        return;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    FILE *tty = fdopen(slave, "w");
    assert_non_null(tty);
    char *old_no = getenv("NO_COLOR") ? xstrdup(getenv("NO_COLOR")) : NULL;
    char *old_term = getenv("TERM") ? xstrdup(getenv("TERM")) : NULL;
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm-256color", 1);
    assert_true(report_use_color(tty));
    setenv("NO_COLOR", "", 1); /* empty counts as unset (no-color.org) */
    assert_true(report_use_color(tty));
    setenv("NO_COLOR", "1", 1);
    assert_false(report_use_color(tty));
    unsetenv("NO_COLOR");
    setenv("TERM", "dumb", 1);
    assert_false(report_use_color(tty));
    if (old_no)
        setenv("NO_COLOR", old_no, 1);
    else
        unsetenv("NO_COLOR");
    if (old_term)
        setenv("TERM", old_term, 1);
    else
        unsetenv("TERM");
    free(old_no);
    free(old_term);
    fclose(tty);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_top),
        cmocka_unit_test(test_json_findings),
        cmocka_unit_test(test_json_diagnosis_causes),
        cmocka_unit_test(test_json_coverage),
        cmocka_unit_test(test_json_tensors),
        cmocka_unit_test(test_json_pass),
        cmocka_unit_test(test_json_degenerate),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_json_hidden_controls),
        cmocka_unit_test(test_write_json_roundtrip),
        cmocka_unit_test(test_write_json_stdout),
        cmocka_unit_test(test_refuse_inside_checkpoints),
        cmocka_unit_test(test_atomic_failure),
        cmocka_unit_test(test_schema_accepts_reports),
        cmocka_unit_test(test_schema_rejects_broken),
        cmocka_unit_test(test_junit),
        cmocka_unit_test(test_human),
        cmocka_unit_test(test_human_many_tensors),
        cmocka_unit_test(test_use_color),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
