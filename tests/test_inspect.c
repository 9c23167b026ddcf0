/* test_inspect.c - `mxfp4-check inspect` as a user runs it.
 *
 * Every test runs the built binary ($MXC_BIN) with run_cmd and checks its exit
 * status, stdout and stderr. What the fixture holds comes from
 * tests/data/seedconv_expected_table.inc (read from the files with Python's
 * json module, independently of our parser); the scale histogram below was
 * counted with Python from the fixture bytes. Layout tests (single file,
 * symlinked shards) and the escaping test build their checkpoints with
 * st_writer in a private temp directory. */
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
#include <unistd.h>

#include "runner.h"
#include "st_writer.h"
#include "text.h"

#include "data/seedconv_expected_table.inc"

#define FIXTURE_SET "seedconv-small"
#define DOWN_PROJ "model.layers.0.mlp.experts.down_proj"
#define EVIL_NAME "evil\x1b[2J\nname"
#define EVIL_ESCAPED "evil\\x1B[2J\\nname" /* text_escape's rendering of EVIL_NAME */
#define MXFP4_SOURCE_TOTAL_SIZE 1757336    /* what the converter copies from the source */
#define MXFP4_SHARD_BYTES 945176           /* the tensors the mxfp4 shards hold */

/* ---- running the binary -------------------------------------------------- */

/* Under `make check` the binary is built with ASan/UBSan, whose exit status
 * (1) could pass for a policy failure: their reports must not appear. */
static void assert_no_sanitizer_report(const run_result *r)
{
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report from the binary:\n%s", r->err);
}

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

/* $MXC_FIXTURES/seedconv-small/<sub> in a static buffer (one at a time). */
static const char *fixture(const char *sub)
{
    static char path[RUN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", env_or_fail("MXC_FIXTURES"), FIXTURE_SET, sub);
    return path;
}

#define MAX_ARGS 16

/* Runs $MXC_BIN with the NULL-terminated arguments; the run itself must
 * succeed (no crash, no timeout). Returns the exit status. */
static int mxc(run_result *r, ...)
{
    const char *argv[MAX_ARGS + 2] = {env_or_fail("MXC_BIN")};
    va_list ap;
    va_start(ap, r);
    int n = 1;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    va_end(ap);
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, r) != 0)
        fail_msg("%s %s: did not exit normally (signal %d, timed out %d)\nstderr: %s", argv[0],
                 argv[1] ? argv[1] : "", r->signal, r->timed_out, r->err);
    assert_no_sanitizer_report(r);
    return r->status;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static cJSON *parse_stdout(const run_result *r)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(r->out, r->out_len, &end, 0);
    if (!root)
        fail_msg("stdout is not JSON:\n%s\nstderr: %s", r->out, r->err);
    return root;
}

static void assert_shape(const cJSON *arr, int rank, const uint64_t *shape, const char *what)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != rank)
        fail_msg("%s: shape is not an array of %d", what, rank);
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++)
        if (!cJSON_IsNumber(e) || e->valuedouble != (double)shape[i])
            fail_msg("%s: shape[%d] is %g, expected %llu", what, i, e->valuedouble,
                     (unsigned long long)shape[i]);
}

/* "tensors" has exactly the rows of the table (each name once, in name order)
 * with their dtype, shape and shard. */
static void assert_tensors_match(const cJSON *tensors, const seedconv_row *rows)
{
    assert_true(cJSON_IsArray(tensors));
    assert_int_equal(cJSON_GetArraySize(tensors), SEEDCONV_TENSORS);
    for (int i = 0; i < SEEDCONV_TENSORS; i++) {
        const cJSON *t = find_named(tensors, rows[i].name);
        if (!t)
            fail_msg("tensor %s is not listed", rows[i].name);
        assert_string_equal(str_member(t, "dtype"), rows[i].dtype);
        assert_string_equal(str_member(t, "shard"), rows[i].shard);
        assert_shape(member(t, "shape"), rows[i].rank, rows[i].shape, rows[i].name);
    }
    const char *prev = "";
    for (const cJSON *t = tensors->child; t; t = t->next) {
        const char *name = str_member(t, "name");
        if (strcmp(prev, name) >= 0)
            fail_msg("tensors not sorted by name: '%s' then '%s'", prev, name);
        prev = name;
    }
}

/* ---- temp directories ---------------------------------------------------- */

static int tmp_setup(void **state)
{
    return run_tmpdir_setup(state, "inspect");
}

static int tmp_teardown(void **state)
{
    return run_tmpdir_teardown(state);
}

static void path_in(char *out, const char *dir, const char *name)
{
    assert_int_equal(run_join(out, RUN_PATH_MAX, dir, name), 0);
}

/* A small valid file of two plain tensors (and optionally a third name). */
static void write_small(const char *path, const char *extra_name)
{
    static const uint16_t a[6] = {0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0};
    static const float b[2] = {1.0f, -2.0f};
    static const uint16_t c[2] = {0x3f80, 0xbf80};
    char err[256];
    stw_writer *w = stw_new();
    assert_int_equal(stw_add(w, "a.weight", DT_BF16, 2, (uint64_t[]){2, 3}, a, err, sizeof err), 0);
    assert_int_equal(stw_add(w, "b.bias", DT_F32, 1, (uint64_t[]){2}, b, err, sizeof err), 0);
    if (extra_name)
        assert_int_equal(stw_add(w, extra_name, DT_BF16, 1, (uint64_t[]){2}, c, err, sizeof err), 0);
    if (stw_write(w, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    stw_free(w);
}

/* ---- the fixture, whole -------------------------------------------------- */

static void test_bf16_json(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", fixture("bf16"), NULL), 0);
    cJSON *root = parse_stdout(&r);
    const cJSON *tensors = member(root, "tensors");
    assert_tensors_match(tensors, seedconv_bf16);
    for (const cJSON *t = tensors->child; t; t = t->next)
        assert_string_equal(str_member(t, "role"), "kept");
    const cJSON *sum = member(root, "summary");
    assert_int_equal((int)num_member(sum, "tensors"), SEEDCONV_TENSORS);
    assert_int_equal((int)num_member(sum, "quantized"), 0);
    assert_int_equal((int)num_member(sum, "kept"), SEEDCONV_TENSORS);
    /* the source's total_size is its own: no finding at all */
    assert_int_equal(cJSON_GetArraySize(member(root, "findings")), 0);
    assert_true(cJSON_IsNull(member(root, "quantization_config")));
    cJSON_Delete(root);
    run_result_free(&r);
}

static void assert_pair(const cJSON *t, const seedconv_row *row)
{
    assert_string_equal(str_member(t, "role"), "quantized");
    assert_true(cJSON_IsNull(member(t, "pattern")));
    const cJSON *blocks = member(t, "blocks"), *scales = member(t, "scales");
    bool down = strstr(row->name, "down_proj") != NULL;
    /* [*prefix, N, G, 16] with N the source's last axis, G = K / 32 */
    uint64_t bshape[4] = {3, down ? 192 : 320, down ? 5 : 6, 16};
    char what[256];
    snprintf(what, sizeof what, "%s_blocks", row->name);
    assert_string_equal(str_member(blocks, "name"), what);
    assert_string_equal(str_member(blocks, "dtype"), "U8");
    assert_string_equal(str_member(blocks, "shard"), row->shard);
    assert_shape(member(blocks, "shape"), 4, bshape, what);
    snprintf(what, sizeof what, "%s_scales", row->name);
    assert_string_equal(str_member(scales, "name"), what);
    assert_string_equal(str_member(scales, "dtype"), "U8");
    assert_string_equal(str_member(scales, "shard"), row->shard);
    assert_shape(member(scales, "shape"), 3, bshape, what);
}

static void test_mxfp4_json(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", fixture("mxfp4"), NULL), 0);
    cJSON *root = parse_stdout(&r);
    const cJSON *tensors = member(root, "tensors");
    assert_tensors_match(tensors, seedconv_mxfp4);
    int quantized = 0;
    for (int i = 0; i < SEEDCONV_TENSORS; i++) {
        const cJSON *t = find_named(tensors, seedconv_mxfp4[i].name);
        if (strcmp(seedconv_mxfp4[i].dtype, "MXFP4") == 0) {
            assert_pair(t, &seedconv_mxfp4[i]);
            quantized++;
        } else {
            assert_string_equal(str_member(t, "role"), "kept");
            if (!cJSON_IsString(member(t, "pattern")))
                fail_msg("kept tensor %s has no pattern", seedconv_mxfp4[i].name);
        }
    }
    assert_int_equal(quantized, SEEDCONV_QUANTIZED);
    assert_string_equal(str_member(find_named(tensors, "lm_head.weight"), "pattern"), "lm_head");
    assert_string_equal(str_member(find_named(tensors, "model.layers.0.self_attn.sinks"), "pattern"),
                        "model.layers.*.self_attn");
    assert_string_equal(str_member(find_named(tensors, "model.norm.weight"), "pattern"),
                        "model.norm.weight");

    const cJSON *findings = member(root, "findings");
    assert_int_equal(cJSON_GetArraySize(findings), 1);
    const cJSON *f = findings->child;
    assert_string_equal(str_member(f, "id"), "index.total_size");
    assert_string_equal(str_member(f, "severity"), "warn");
    assert_string_equal(str_member(f, "file"), "model.safetensors.index.json");
    /* the built-in policy decided it: its findings: entry, as verify names it */
    const cJSON *rule = member(f, "rule");
    assert_true(cJSON_IsNull(member(rule, "id")));
    assert_string_equal(str_member(rule, "file"), "builtin:default");
    assert_true(member(rule, "line")->valuedouble == 25);
    char num[32];
    snprintf(num, sizeof num, "%d", MXFP4_SOURCE_TOTAL_SIZE);
    assert_contains(str_member(f, "message"), num);
    snprintf(num, sizeof num, "%d", MXFP4_SHARD_BYTES);
    assert_contains(str_member(f, "message"), num);

    const cJSON *sum = member(root, "summary");
    assert_int_equal((int)num_member(sum, "tensors"), SEEDCONV_TENSORS);
    assert_int_equal((int)num_member(sum, "quantized"), SEEDCONV_QUANTIZED);
    assert_int_equal((int)num_member(sum, "kept"), SEEDCONV_TENSORS - SEEDCONV_QUANTIZED);
    assert_int_equal((int)num_member(sum, "bytes"), MXFP4_SHARD_BYTES);
    assert_int_equal((int)num_member(sum, "errors"), 0);
    assert_int_equal((int)num_member(sum, "warnings"), 1);
    const cJSON *q = member(root, "quantization_config");
    assert_string_equal(str_member(q, "quant_method"), "mxfp4");
    assert_int_equal(cJSON_GetArraySize(member(q, "modules_to_not_convert")), 9);
    cJSON_Delete(root);
    run_result_free(&r);
}

/* A logical name at the start of a line, followed by the column gap. */
static void assert_row(const char *out, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = out; (p = strstr(p, name)) != NULL; p++)
        if ((p == out || p[-1] == '\n') && p[n] == ' ')
            return;
    fail_msg("no line starts with '%s':\n%s", name, out);
}

static void test_mxfp4_human(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", fixture("mxfp4"), NULL), 0);
    for (int i = 0; i < SEEDCONV_TENSORS; i++)
        assert_row(r.out, seedconv_mxfp4[i].name);
    assert_contains(r.out, "index.total_size");
    assert_contains(r.out, "MXFP4");
    run_result_free(&r);
}

/* SPEC §2 writes options after PATH: `inspect PATH [--json] [--tensor NAME]`. */
static void test_options_after_path(void **state)
{
    (void)state;
    run_result r;
    int rc = mxc(&r, "inspect", fixture("mxfp4"), "--json", NULL);
    if (rc != 0)
        fail_msg("`inspect PATH --json` exited %d: %s", rc, r.err);
    cJSON_Delete(parse_stdout(&r));
    run_result_free(&r);
    rc = mxc(&r, "inspect", fixture("mxfp4"), "--tensor", DOWN_PROJ, "--json", NULL);
    if (rc != 0)
        fail_msg("`inspect PATH --tensor NAME --json` exited %d: %s", rc, r.err);
    cJSON *root = parse_stdout(&r);
    assert_string_equal(str_member(member(root, "tensor"), "name"), DOWN_PROJ);
    cJSON_Delete(root);
    run_result_free(&r);
}

/* ---- --tensor ------------------------------------------------------------ */

static void test_tensor_histogram_json(void **state)
{
    (void)state;
    /* counted with Python from the bytes of down_proj_scales (model-00000) */
    static const struct { const char *exp; int count; } want[] = {
        {"-7", 1571}, {"-6", 1297}, {"-5", 8}, {"-4", 4},
    };
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--tensor", DOWN_PROJ, "--json", fixture("mxfp4"), NULL), 0);
    cJSON *root = parse_stdout(&r);
    const cJSON *t = member(root, "tensor");
    assert_string_equal(str_member(t, "name"), DOWN_PROJ);
    assert_string_equal(str_member(t, "dtype"), "MXFP4");
    assert_shape(member(t, "shape"), 3, (uint64_t[]){3, 160, 192}, DOWN_PROJ);
    const cJSON *h = member(t, "scale_hist");
    const cJSON *counts = member(h, "counts");
    assert_int_equal(cJSON_GetArraySize(counts), 4);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal((int)num_member(counts, want[i].exp), want[i].count);
    assert_int_equal((int)num_member(h, "min"), -7);
    assert_int_equal((int)num_member(h, "max"), -4);
    assert_int_equal((int)num_member(h, "nan"), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "tensors"));
    cJSON_Delete(root);
    run_result_free(&r);
}

static void test_tensor_human(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--tensor", DOWN_PROJ, fixture("mxfp4"), NULL), 0);
    assert_contains(r.out, "scale exponents");
    assert_contains(r.out, DOWN_PROJ "_blocks");
    assert_contains(r.out, DOWN_PROJ "_scales");
    assert_contains(r.out, "1571");
    run_result_free(&r);
}

static void test_tensor_plain(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", "--tensor", "lm_head.weight", fixture("mxfp4"), NULL),
                     0);
    cJSON *root = parse_stdout(&r);
    const cJSON *t = member(root, "tensor");
    assert_string_equal(str_member(t, "dtype"), "BF16");
    assert_string_equal(str_member(t, "role"), "kept");
    assert_string_equal(str_member(t, "pattern"), "lm_head");
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "scale_hist"));
    cJSON_Delete(root);
    run_result_free(&r);
}

static void test_tensor_unknown(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--tensor", "nope", fixture("mxfp4"), NULL), 2);
    assert_contains(r.err, "no tensor 'nope'");
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
    /* a stored name whose pair does not exist is no tensor either */
    assert_int_equal(mxc(&r, "inspect", "--tensor", "nope_blocks", fixture("mxfp4"), NULL), 2);
    assert_contains(r.err, "mxfp4-check inspect: ");
    assert_contains(r.err, "no tensor 'nope_blocks'");
    run_result_free(&r);
}

/* The name in the file (NAME_blocks, NAME_scales) shows the pair it belongs
 * to, exactly as NAME does. */
static void test_tensor_stored_name(void **state)
{
    (void)state;
    run_result whole, half;
    assert_int_equal(mxc(&whole, "inspect", "--tensor", DOWN_PROJ, fixture("mxfp4"), NULL), 0);
    const char *const names[] = {DOWN_PROJ "_blocks", DOWN_PROJ "_scales"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mxc(&half, "inspect", "--tensor", names[i], fixture("mxfp4"), NULL), 0);
        assert_string_equal(half.out, whole.out);
        run_result_free(&half);
    }
    assert_contains(whole.out, DOWN_PROJ);
    run_result_free(&whole);
}

/* ---- usage --------------------------------------------------------------- */

static void test_usage_errors(void **state)
{
    (void)state;
    /* one line each, escaped, pointing at --help (SPEC §9) */
    run_result r;
    assert_int_equal(mxc(&r, "inspect", NULL), 2);
    assert_string_equal(r.err, "mxfp4-check inspect: expected one PATH (try 'mxfp4-check inspect --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "inspect", fixture("mxfp4"), fixture("bf16"), NULL), 2);
    assert_string_equal(r.err, "mxfp4-check inspect: expected one PATH (try 'mxfp4-check inspect --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "inspect", "--bogus", fixture("mxfp4"), NULL), 2);
    assert_string_equal(r.err, "mxfp4-check inspect: unknown option '--bogus' (try 'mxfp4-check inspect --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "inspect", "-x", fixture("mxfp4"), NULL), 2);
    assert_string_equal(r.err, "mxfp4-check inspect: unknown option '-x' (try 'mxfp4-check inspect --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "inspect", "--tensor", NULL), 2);
    assert_string_equal(r.err, "mxfp4-check inspect: option '--tensor' needs an argument (try 'mxfp4-check inspect --help')\n");
    run_result_free(&r);
    /* getopt would have echoed the escape sequence raw */
    assert_int_equal(mxc(&r, "inspect", "--\x1b[2J\xe2\x80\xae", fixture("mxfp4"), NULL), 2);
    assert_string_equal(r.err, "mxfp4-check inspect: unknown option '--\\x1B[2J\\xE2\\x80\\xAE' "
                               "(try 'mxfp4-check inspect --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "verify", "--backend", "cu\x1b[1mda", fixture("bf16"), fixture("mxfp4"), NULL), 2);
    assert_string_equal(r.err, "mxfp4-check verify: --backend: 'cu\\x1B[1mda' is not one of auto, cuda, cpu "
                               "(try 'mxfp4-check verify --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "verify", "--\x1b]0;owned\x07", "a", "b", NULL), 2);
    assert_string_equal(r.err, "mxfp4-check verify: unknown option '--\\x1B]0;owned\\x07' "
                               "(try 'mxfp4-check verify --help')\n");
    run_result_free(&r);
}

static void test_inspect_help(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--help", NULL), 0);
    assert_contains(r.out, "usage: mxfp4-check inspect");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "inspect", "-h", NULL), 0);
    assert_contains(r.out, "usage: mxfp4-check inspect");
    run_result_free(&r);
}

static void test_main_help_version(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "--help", NULL), 0);
    assert_contains(r.out, "usage: mxfp4-check");
    assert_contains(r.out, "inspect");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "--version", NULL), 0);
    assert_contains(r.out, "mxfp4-check 0.1.0");
    run_result_free(&r);
}

static void test_unknown_command(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "frobnicate", NULL), 2);
    assert_string_equal(r.err, "mxfp4-check: unknown command 'frobnicate' (try 'mxfp4-check --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "\x1b[31mred", NULL), 2);
    assert_string_equal(r.err, "mxfp4-check: unknown command '\\x1B[31mred' (try 'mxfp4-check --help')\n");
    run_result_free(&r);
    assert_int_equal(mxc(&r, NULL), 2); /* no command at all */
    assert_string_equal(r.err, "mxfp4-check: expected a command (try 'mxfp4-check --help')\n");
    run_result_free(&r);
}

/* ---- layouts ------------------------------------------------------------- */

static void assert_small_listing(const run_result *r, const char *shard)
{
    cJSON *root = parse_stdout(r);
    const cJSON *tensors = member(root, "tensors");
    assert_int_equal(cJSON_GetArraySize(tensors), 2);
    const cJSON *a = find_named(tensors, "a.weight"), *b = find_named(tensors, "b.bias");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(str_member(a, "dtype"), "BF16");
    assert_shape(member(a, "shape"), 2, (uint64_t[]){2, 3}, "a.weight");
    assert_string_equal(str_member(b, "dtype"), "F32");
    assert_string_equal(str_member(a, "shard"), shard);
    assert_string_equal(str_member(b, "shard"), shard);
    assert_int_equal(cJSON_GetArraySize(member(root, "findings")), 0);
    assert_int_equal(cJSON_GetArraySize(member(root, "shards")), 1);
    cJSON_Delete(root);
}

static void test_single_model_safetensors(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "model.safetensors");
    write_small(path, NULL);
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", (const char *)*state, NULL), 0);
    assert_small_listing(&r, "model.safetensors");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "inspect", (const char *)*state, NULL), 0);
    assert_row(r.out, "a.weight");
    assert_row(r.out, "b.bias");
    run_result_free(&r);
}

static void test_lone_file(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "x.safetensors");
    write_small(path, NULL);
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", path, NULL), 0);
    assert_small_listing(&r, "x.safetensors");
    run_result_free(&r);
}

/* The Hugging Face cache: snapshots/<rev>/<file> -> ../../blobs/<hash>. */
static void test_symlinked_shards(void **state)
{
    static const char *const files[] = {
        "config.json", "model-00000.safetensors", "model-00001.safetensors",
        "model.safetensors.index.json",
    };
    const char *dir = *state;
    char blobs[RUN_PATH_MAX], snaps[RUN_PATH_MAX], snap[RUN_PATH_MAX];
    path_in(blobs, dir, "blobs");
    path_in(snaps, dir, "snapshots");
    path_in(snap, snaps, "0123abcd");
    assert_int_equal(mkdir(blobs, 0755), 0);
    assert_int_equal(mkdir(snaps, 0755), 0);
    assert_int_equal(mkdir(snap, 0755), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char from[RUN_PATH_MAX], blob[RUN_PATH_MAX], target[RUN_PATH_MAX], link[RUN_PATH_MAX];
        char hash[32];
        snprintf(hash, sizeof hash, "b10b%04zx", i);
        path_in(from, fixture("mxfp4"), files[i]);
        path_in(blob, blobs, hash);
        assert_int_equal(run_copy_file(from, blob), 0);
        snprintf(target, sizeof target, "../../blobs/%s", hash);
        path_in(link, snap, files[i]);
        assert_int_equal(symlink(target, link), 0);
    }
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", snap, NULL), 0);
    cJSON *root = parse_stdout(&r);
    assert_tensors_match(member(root, "tensors"), seedconv_mxfp4);
    assert_int_equal((int)num_member(member(root, "summary"), "quantized"), SEEDCONV_QUANTIZED);
    assert_int_equal(cJSON_GetArraySize(member(root, "findings")), 1);
    cJSON_Delete(root);
    run_result_free(&r);
    /* tensor data is read through the links too */
    assert_int_equal(mxc(&r, "inspect", "--json", "--tensor", DOWN_PROJ, snap, NULL), 0);
    root = parse_stdout(&r);
    assert_int_equal((int)num_member(member(member(member(root, "tensor"), "scale_hist"), "counts"),
                                     "-7"),
                     1571);
    cJSON_Delete(root);
    run_result_free(&r);
    /* and a lone file given as a link */
    char blob[RUN_PATH_MAX], link[RUN_PATH_MAX];
    path_in(blob, blobs, "b10bsmall");
    write_small(blob, NULL);
    path_in(link, snap, "x.safetensors");
    assert_int_equal(symlink("../../blobs/b10bsmall", link), 0);
    assert_int_equal(mxc(&r, "inspect", "--json", link, NULL), 0);
    assert_small_listing(&r, "x.safetensors");
    run_result_free(&r);
}

/* One shard of a sharded checkpoint, inspected on its own: config.json is
 * right beside it, so "no config.json" would be false. */
static void test_lone_mxfp4_shard(void **state)
{
    (void)state;
    char path[RUN_PATH_MAX];
    path_in(path, fixture("mxfp4"), "model-00001.safetensors");
    run_result r;
    int rc = mxc(&r, "inspect", "--json", path, NULL);
    cJSON *root = parse_stdout(&r);
    const cJSON *tensors = member(root, "tensors");
    assert_int_equal(cJSON_GetArraySize(tensors), 14);
    assert_string_equal(str_member(find_named(tensors, "model.layers.1.mlp.experts.down_proj"), "dtype"),
                        "MXFP4");
    for (const cJSON *f = member(root, "findings")->child; f; f = f->next)
        if (strcmp(str_member(f, "severity"), "error") == 0)
            fail_msg("lone shard beside its config.json: %s [%s] %s", str_member(f, "id"),
                     str_member(f, "severity"), str_member(f, "message"));
    assert_int_equal(rc, 0);
    cJSON_Delete(root);
    run_result_free(&r);
}

/* ---- untrusted names ----------------------------------------------------- */

static void assert_no_raw_control(const run_result *r)
{
    if (memchr(r->out, 0x1b, r->out_len))
        fail_msg("raw ESC on stdout:\n%s", r->out);
    if (memchr(r->err, 0x1b, r->err_len))
        fail_msg("raw ESC on stderr:\n%s", r->err);
    if (strstr(r->out, "\nname"))
        fail_msg("raw newline inside the name on stdout:\n%s", r->out);
}

static void test_escaping(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "model.safetensors");
    write_small(path, EVIL_NAME);
    run_result r;
    assert_int_equal(mxc(&r, "inspect", (const char *)*state, NULL), 0);
    assert_no_raw_control(&r);
    assert_contains(r.out, EVIL_ESCAPED);
    assert_row(r.out, EVIL_ESCAPED);
    run_result_free(&r);

    assert_int_equal(mxc(&r, "inspect", "--tensor", EVIL_NAME, (const char *)*state, NULL), 0);
    assert_no_raw_control(&r);
    assert_contains(r.out, EVIL_ESCAPED);
    run_result_free(&r);

    /* JSON escapes it its own way; the parsed name is the raw one */
    assert_int_equal(mxc(&r, "inspect", "--json", (const char *)*state, NULL), 0);
    assert_no_raw_control(&r);
    cJSON *root = parse_stdout(&r);
    assert_non_null(find_named(member(root, "tensors"), EVIL_NAME));
    cJSON_Delete(root);
    run_result_free(&r);

    /* a name given on the command line is echoed escaped too */
    assert_int_equal(mxc(&r, "inspect", "--tensor", "\x1b[2Jgone", (const char *)*state, NULL), 2);
    assert_no_raw_control(&r);
    assert_contains(r.err, "\\x1B[2Jgone");
    run_result_free(&r);
}

/* A C1 control (U+009B, CSI) and a bidi override (U+202E) are valid UTF-8:
 * the parser keeps them, cJSON would print them raw. Neither output may carry
 * them raw; the JSON reads back to the real name. */
#define HIDDEN_NAME "x.\xc2\x9b" "2J.\xe2\x80\xae" "thgiew.w"
#define HIDDEN_SHOWN "x.\\xC2\\x9B2J.\\xE2\\x80\\xAEthgiew.w" /* text_escape's rendering */
#define HIDDEN_JSON "x.\\u009B2J.\\u202Ethgiew.w"
#define HIDDEN_PATTERN "\xe2\x80\xae" "lm_head"

static void assert_no_hidden_bytes(const run_result *r)
{
    if (strstr(r->out, "\xc2\x9b") || strstr(r->out, "\xe2\x80\xae"))
        fail_msg("raw C1 or bidi control on stdout:\n%s", r->out);
    if (strstr(r->err, "\xc2\x9b") || strstr(r->err, "\xe2\x80\xae"))
        fail_msg("raw C1 or bidi control on stderr:\n%s", r->err);
}

static void test_hidden_controls(void **state)
{
    char path[RUN_PATH_MAX], cfg[RUN_PATH_MAX];
    path_in(path, *state, "model.safetensors");
    write_small(path, HIDDEN_NAME);
    path_in(cfg, *state, "config.json");
    static const char config[] = "{\"quantization_config\": {\"quant_method\": \"mxfp4\", "
                                 "\"modules_to_not_convert\": [\"" HIDDEN_PATTERN "\"]}}\n";
    assert_int_equal(run_write_file(cfg, config), 0);
    run_result r;
    assert_int_equal(mxc(&r, "inspect", (const char *)*state, NULL), 0);
    assert_no_hidden_bytes(&r);
    assert_row(r.out, HIDDEN_SHOWN);
    run_result_free(&r);

    assert_int_equal(mxc(&r, "inspect", "--tensor", HIDDEN_NAME, (const char *)*state, NULL), 0);
    assert_no_hidden_bytes(&r);
    assert_contains(r.out, HIDDEN_SHOWN);
    run_result_free(&r);

    assert_int_equal(mxc(&r, "inspect", "--json", (const char *)*state, NULL), 0);
    assert_no_hidden_bytes(&r);
    assert_contains(r.out, HIDDEN_JSON);
    cJSON *root = parse_stdout(&r);
    assert_non_null(find_named(member(root, "tensors"), HIDDEN_NAME));
    const cJSON *pats = member(member(root, "quantization_config"), "modules_to_not_convert");
    assert_string_equal(cJSON_GetArrayItem(pats, 0)->valuestring, HIDDEN_PATTERN);
    cJSON_Delete(root);
    run_result_free(&r);

    assert_int_equal(mxc(&r, "inspect", "--json", "--tensor", HIDDEN_NAME, (const char *)*state,
                         NULL),
                     0);
    assert_no_hidden_bytes(&r);
    root = parse_stdout(&r);
    assert_string_equal(str_member(member(root, "tensor"), "name"), HIDDEN_NAME);
    cJSON_Delete(root);
    run_result_free(&r);
}

/* Characters that show as nothing (format characters, separators, other
 * default-ignorable code points) are as dangerous as controls:
 * "q_proj\u200b.weight" would look exactly like "q_proj.weight". Each is
 * shown as its bytes on a terminal and as \uXXXX (a surrogate pair past the
 * BMP) in JSON. */
static const struct {
    const char *utf8, *shown, *json;
} invisible[] = {
    {"\xe2\x80\x8b", "\\xE2\\x80\\x8B", "\\u200B"},    /* zero width space */
    {"\xe2\x80\x8d", "\\xE2\\x80\\x8D", "\\u200D"},    /* zero width joiner */
    {"\xe2\x80\xa8", "\\xE2\\x80\\xA8", "\\u2028"},    /* line separator */
    {"\xe2\x80\xa9", "\\xE2\\x80\\xA9", "\\u2029"},    /* paragraph separator */
    {"\xe2\x81\xa0", "\\xE2\\x81\\xA0", "\\u2060"},    /* word joiner */
    {"\xef\xbb\xbf", "\\xEF\\xBB\\xBF", "\\uFEFF"},    /* zero width no-break space */
    {"\xc2\xad", "\\xC2\\xAD", "\\u00AD"},             /* soft hyphen */
    {"\xef\xbf\xb9", "\\xEF\\xBF\\xB9", "\\uFFF9"},    /* interlinear annotation anchor */
    {"\xef\xb8\x8f", "\\xEF\\xB8\\x8F", "\\uFE0F"},    /* variation selector 16 */
    {"\xf3\xa0\x80\x81", "\\xF3\\xA0\\x80\\x81", "\\uDB40\\uDC01"}, /* tag U+E0001 */
};

static void test_invisible_characters(void **state)
{
    for (size_t k = 0; k < sizeof invisible / sizeof invisible[0]; k++) {
        char path[RUN_PATH_MAX], name[64], shown[96], json[96];
        snprintf(name, sizeof name, "q_proj%s.weight", invisible[k].utf8);
        snprintf(shown, sizeof shown, "q_proj%s.weight", invisible[k].shown);
        snprintf(json, sizeof json, "q_proj%s.weight", invisible[k].json);
        path_in(path, *state, "model.safetensors");
        write_small(path, name);
        run_result r;
        assert_int_equal(mxc(&r, "inspect", (const char *)*state, NULL), 0);
        if (strstr(r.out, invisible[k].utf8))
            fail_msg("raw %s on stdout:\n%s", invisible[k].json, r.out);
        assert_contains(r.out, shown);
        run_result_free(&r);
        assert_int_equal(mxc(&r, "inspect", "--json", (const char *)*state, NULL), 0);
        if (strstr(r.out, invisible[k].utf8))
            fail_msg("raw %s in JSON:\n%s", invisible[k].json, r.out);
        assert_contains(r.out, json);
        cJSON *root = parse_stdout(&r); /* and it reads back to the real name */
        assert_non_null(find_named(member(root, "tensors"), name));
        cJSON_Delete(root);
        run_result_free(&r);
    }
    /* letters outside ASCII are not hidden */
    char path[RUN_PATH_MAX];
    path_in(path, *state, "model.safetensors");
    write_small(path, "caf\xc3\xa9.weight");
    run_result r;
    assert_int_equal(mxc(&r, "inspect", (const char *)*state, NULL), 0);
    assert_contains(r.out, "caf\xc3\xa9.weight");
    run_result_free(&r);
}

/* PATH comes from the command line, not from a parser that checked it: a
 * lone file whose name is not UTF-8 must still give UTF-8 JSON (the name
 * escaped as text_escape writes it) and an escaped terminal listing. */
static void test_path_not_utf8(void **state)
{
    char path[RUN_PATH_MAX];
    path_in(path, *state, "x\xff.safetensors");
    write_small(path, NULL);
    run_result r;
    assert_int_equal(mxc(&r, "inspect", "--json", path, NULL), 0);
    if (!text_utf8_valid(r.out, r.out_len))
        fail_msg("stdout is not UTF-8:\n%s", r.out);
    assert_small_listing(&r, "x\\xFF.safetensors");
    cJSON *root = parse_stdout(&r);
    const char *shown = str_member(root, "path");
    assert_non_null(strstr(shown, "x\\xFF.safetensors"));
    assert_string_equal(str_member(cJSON_GetArrayItem(member(root, "shards"), 0), "file"),
                        "x\\xFF.safetensors");
    cJSON_Delete(root);
    run_result_free(&r);

    assert_int_equal(mxc(&r, "inspect", path, NULL), 0);
    assert_null(memchr(r.out, 0xff, r.out_len));
    assert_contains(r.out, "x\\xFF.safetensors");
    run_result_free(&r);
}

/* ---- the runner these tests stand on ------------------------------------- */

static void test_runner_captures_everything(void **state)
{
    (void)state;
    run_result r;
    /* more than a pipe buffer on each stream, interleaved */
    const char *argv[] = {"sh", "-c",
                          "i=0; while [ $i -lt 2000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; "
                          "exit 3",
                          NULL};
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.out, "out0\n"));
    assert_non_null(strstr(r.out, "\nout1999\n"));
    assert_non_null(strstr(r.err, "\nerr1999\n"));
    assert_null(strstr(r.out, "err"));
    assert_int_equal(r.out_len, strlen(r.out));
    run_result_free(&r);
    run_result_free(&r); /* a freed result frees as a no-op */
}

static void test_runner_stdin_is_null(void **state)
{
    (void)state;
    run_result r;
    const char *argv[] = {"cat", NULL};
    assert_int_equal(run_cmd(argv, 5, &r), 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
    const char *missing[] = {"/nonexistent/mxc-no-such-program", NULL};
    assert_int_equal(run_cmd(missing, 5, &r), 0);
    assert_int_equal(r.status, 127);
    run_result_free(&r);
}

static void test_runner_timeout(void **state)
{
    (void)state;
    run_result r;
    /* the grandchild keeps the pipes open: the whole group must be killed */
    const char *argv[] = {"sh", "-c", "echo started; sleep 30 & sleep 30", NULL};
    assert_int_equal(run_cmd(argv, 1, &r), -1);
    assert_true(r.timed_out);
    assert_int_equal(r.status, -1);
    assert_non_null(strstr(r.out, "started"));
    run_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_captures_everything),
        cmocka_unit_test(test_runner_stdin_is_null),
        cmocka_unit_test(test_runner_timeout),
        cmocka_unit_test(test_bf16_json),
        cmocka_unit_test(test_mxfp4_json),
        cmocka_unit_test(test_mxfp4_human),
        cmocka_unit_test(test_options_after_path),
        cmocka_unit_test(test_tensor_histogram_json),
        cmocka_unit_test(test_tensor_human),
        cmocka_unit_test(test_tensor_plain),
        cmocka_unit_test(test_tensor_unknown),
        cmocka_unit_test(test_tensor_stored_name),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_inspect_help),
        cmocka_unit_test(test_main_help_version),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test_setup_teardown(test_single_model_safetensors, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_lone_file, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_shards, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_lone_mxfp4_shard),
        cmocka_unit_test_setup_teardown(test_escaping, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_invisible_characters, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_hidden_controls, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_path_not_utf8, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
