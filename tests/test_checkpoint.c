/* test_checkpoint.c - structural faults of a checkpoint, planted one at a time.
 *
 * Each test starts from a private copy of the fixture's mxfp4/ checkpoint,
 * plants one fault (a byte, an index entry, a rewritten shard, a config) and
 * runs `mxfp4-check inspect` on it: the exit status, the finding id and
 * severity, and that the message names the tensor or file are all checked
 * (SPEC §2: 1 for a policy violation, 2 for input that cannot be read).
 * A few tests call ckpt_open directly, where the API says more than the CLI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "runner.h"
#include "safetensors.h"
#include "st_writer.h"

#define SHARD0 "model-00000.safetensors"
#define SHARD1 "model-00001.safetensors"
#define DOWN_PROJ "model.layers.0.mlp.experts.down_proj"
#define DOWN_BLOCKS DOWN_PROJ "_blocks"
#define DOWN_SCALES DOWN_PROJ "_scales"
#define NORM "model.norm.weight" /* a small plain tensor of SHARD1 */

/* From the fixture, read with Python's json module: SHARD0's header is 2608
 * bytes and down_proj_scales has data_offsets [397452, 400332]. */
#define SHARD0_HEADER_LEN 2608
#define DOWN_SCALES_BEGIN 397452
#define DOWN_SCALES_END 400332
#define SHARD1_HEADER_LEN 1640

#define FIXTURE_TENSORS 41 /* stored: 33 plain + 4 pairs */
#define FIXTURE_LOGICAL 37
#define FIXTURE_TOTAL_SIZE 1757336
#define FIXTURE_DATA_BYTES 945176

typedef struct {
    char tmp[RUN_PATH_MAX];  /* private temp dir */
    char dir[RUN_PATH_MAX];  /* tmp/ckpt: the copy of the fixture */
} ckpt_state;

/* ---- setup --------------------------------------------------------------- */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static int copy_setup(void **state)
{
    ckpt_state *s = calloc(1, sizeof *s);
    char src[RUN_PATH_MAX];
    assert_non_null(s);
    snprintf(src, sizeof src, "%s/seedconv-small/mxfp4", env_or_fail("MXC_FIXTURES"));
    assert_int_equal(run_mkdtemp("ckpt", s->tmp, sizeof s->tmp), 0);
    assert_int_equal(run_join(s->dir, sizeof s->dir, s->tmp, "ckpt"), 0);
    assert_int_equal(run_copy_dir(src, s->dir), 0);
    *state = s;
    return 0;
}

static int copy_teardown(void **state)
{
    ckpt_state *s = *state;
    int rc = run_rmtree(s->tmp);
    free(s);
    return rc;
}

static const char *in_dir(const ckpt_state *s, const char *name)
{
    static char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, s->dir, name), 0);
    return path;
}

/* ---- running the binary -------------------------------------------------- */

/* Under `make check` the binary is built with ASan/UBSan, whose exit status
 * (1) could pass for a policy failure: their reports must not appear. */
static void assert_no_sanitizer_report(const run_result *r)
{
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report from the binary:\n%s", r->err);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* `mxfp4-check inspect [opt] path` must exit with want; returns the result. */
static void inspect_rc(run_result *r, const char *path, const char *opt, int want)
{
    const char *argv[] = {env_or_fail("MXC_BIN"), "inspect", opt ? opt : path, opt ? path : NULL,
                          NULL};
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, r) != 0)
        fail_msg("inspect %s: did not exit normally (signal %d, timed out %d)\nstderr: %s", path,
                 r->signal, r->timed_out, r->err);
    assert_no_sanitizer_report(r);
    if (r->status != want)
        fail_msg("inspect %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", path, r->status, want,
                 r->out, r->err);
}

/* Runs `inspect --json` expecting exit want; returns the parsed report. */
static cJSON *inspect_json(const char *path, int want)
{
    run_result r;
    inspect_rc(&r, path, "--json", want);
    cJSON *root = cJSON_ParseWithLength(r.out, r.out_len);
    if (!root)
        fail_msg("stdout is not JSON:\n%s\nstderr: %s", r.out, r.err);
    run_result_free(&r);
    return root;
}

/* Input that cannot be read: exit 2, nothing on stdout, stderr names it. */
static void inspect_refused(const char *path, const char *needle, const char *needle2)
{
    run_result r;
    inspect_rc(&r, path, "--json", 2);
    assert_int_equal(r.out_len, 0);
    assert_contains(r.err, needle);
    if (needle2)
        assert_contains(r.err, needle2);
    run_result_free(&r);
}

static const char *str_or_null(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void dump_findings(const cJSON *root)
{
    char *text = cJSON_Print(cJSON_GetObjectItemCaseSensitive(root, "findings"));
    print_message("findings: %s\n", text ? text : "(none)");
    free(text);
}

/* The finding with this id whose message contains `names` (a tensor or
 * file name); its severity, tensor and file must be as given (NULL: any). */
static const cJSON *expect_finding(const cJSON *root, const char *id, const char *sev,
                                   const char *tensor, const char *file, const char *names)
{
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(root, "findings");
    for (const cJSON *f = fs ? fs->child : NULL; f; f = f->next) {
        const char *fid = str_or_null(f, "id"), *msg = str_or_null(f, "message");
        if (!fid || strcmp(fid, id) != 0 || !msg || (names && !strstr(msg, names)))
            continue;
        assert_string_equal(str_or_null(f, "severity"), sev);
        if (tensor)
            assert_string_equal(str_or_null(f, "tensor"), tensor);
        if (file)
            assert_string_equal(str_or_null(f, "file"), file);
        return f;
    }
    dump_findings(root);
    fail_msg("no %s finding naming '%s'", id, names ? names : "");
    return NULL;
}

static int count_findings(const cJSON *root, const char *id)
{
    int n = 0;
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(root, "findings");
    for (const cJSON *f = fs ? fs->child : NULL; f; f = f->next)
        n += str_or_null(f, "id") && strcmp(str_or_null(f, "id"), id) == 0;
    return n;
}

static const cJSON *find_tensor(const cJSON *root, const char *name)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    for (const cJSON *t = ts ? ts->child : NULL; t; t = t->next) {
        const char *n = str_or_null(t, "name");
        if (n && strcmp(n, name) == 0)
            return t;
    }
    return NULL;
}

/* ---- planting faults ----------------------------------------------------- */

static cJSON *load_json(const char *path)
{
    char *text;
    size_t len;
    assert_int_equal(run_read_file(path, &text, &len), 0);
    cJSON *root = cJSON_ParseWithLength(text, len);
    assert_non_null(root);
    free(text);
    return root;
}

static void save_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root);
    assert_non_null(text);
    assert_int_equal(run_write_file(path, text), 0);
    free(text);
    cJSON_Delete(root);
}

static cJSON *weight_map(cJSON *index)
{
    cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
    assert_true(cJSON_IsObject(map));
    return map;
}

/* Sets (or adds) weight_map[tensor] = file; file NULL removes the entry. */
static void index_map(const ckpt_state *s, const char *tensor, const char *file)
{
    cJSON *index = load_json(in_dir(s, CKPT_INDEX_NAME));
    cJSON *map = weight_map(index);
    cJSON_DeleteItemFromObjectCaseSensitive(map, tensor);
    if (file)
        cJSON_AddStringToObject(map, tensor, file);
    save_json(in_dir(s, CKPT_INDEX_NAME), index);
}

typedef enum { ED_DROP = 1, ED_SET } edit_kind;

/* One change to a shard: drop a tensor, or give it (or a new tensor) a dtype
 * and shape. A tensor whose byte size is unchanged keeps its bytes; one whose
 * size changes (or a new one) is zeros. */
typedef struct {
    const char *name;
    edit_kind kind;
    dtype_id dtype;
    int rank;
    uint64_t shape[4];
} edit;

static const edit *edit_for(const edit *edits, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(edits[i].name, name) == 0)
            return &edits[i];
    return NULL;
}

static void *bytes_for(const edit *e, void *orig, uint64_t orig_len)
{
    uint64_t numel = 1, len;
    for (int i = 0; i < e->rank; i++)
        numel *= e->shape[i];
    assert_true(dtype_bytes(e->dtype, numel, &len));
    if (orig && len == orig_len)
        return orig;
    free(orig);
    void *p = calloc(1, len ? len : 1);
    assert_non_null(p);
    return p;
}

/* Rewrites shard `file` of the copy with the edits applied (a valid file, by
 * st_writer), and keeps the index in step: dropped tensors leave weight_map,
 * new ones join it. */
static void rewrite_shard(const ckpt_state *s, const char *file, const edit *edits, size_t n)
{
    char path[RUN_PATH_MAX], err[ST_ERR_LEN];
    assert_int_equal(run_join(path, sizeof path, s->dir, file), 0);
    st_file *st;
    if (st_open(path, file, &st, err, sizeof err) != 0)
        fail_msg("%s", err);
    size_t count = st_tensor_count(st), nbufs = 0;
    void **bufs = calloc(count + n, sizeof *bufs);
    assert_non_null(bufs);
    stw_writer *w = stw_new();
    for (size_t i = 0; i < count; i++) {
        const st_tensor *t = st_tensor_at(st, i);
        const edit *e = edit_for(edits, n, t->name);
        if (e && e->kind == ED_DROP)
            continue;
        uint64_t len = t->end - t->begin;
        void *buf = malloc(len ? len : 1);
        assert_non_null(buf);
        if (st_read(st, t, 0, buf, len, err, sizeof err) != 0)
            fail_msg("%s", err);
        if (e)
            buf = bytes_for(e, buf, len);
        bufs[nbufs++] = buf;
        int rc = e ? stw_add(w, t->name, e->dtype, e->rank, e->shape, buf, err, sizeof err)
                   : stw_add(w, t->name, t->dtype, t->rank, t->shape, buf, err, sizeof err);
        if (rc != 0)
            fail_msg("%s", err);
    }
    for (size_t i = 0; i < n; i++)
        if (edits[i].kind == ED_SET && !st_tensor_find(st, edits[i].name)) {
            void *buf = bufs[nbufs++] = bytes_for(&edits[i], NULL, 0);
            if (stw_add(w, edits[i].name, edits[i].dtype, edits[i].rank, edits[i].shape, buf, err,
                        sizeof err) != 0)
                fail_msg("%s", err);
        }
    st_close(st);
    if (stw_write(w, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    stw_free(w);
    for (size_t i = 0; i < nbufs; i++)
        free(bufs[i]);
    free(bufs);
    for (size_t i = 0; i < n; i++)
        if (edits[i].kind == ED_DROP)
            index_map(s, edits[i].name, NULL);
        else
            index_map(s, edits[i].name, file);
}

/* ---- the unmodified copy ------------------------------------------------- */

static void test_clean_copy(void **state)
{
    ckpt_state *s = *state;
    cJSON *root = inspect_json(s->dir, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "findings")), 1);
    expect_finding(root, FIND_INDEX_TOTAL_SIZE, "warn", NULL, CKPT_INDEX_NAME, "1757336");
    cJSON_Delete(root);
}

/* ---- NaN scales ---------------------------------------------------------- */

static uint64_t tensor_file_offset(const char *path, const char *display, const char *name)
{
    char err[ST_ERR_LEN];
    st_file *st;
    if (st_open(path, display, &st, err, sizeof err) != 0)
        fail_msg("%s", err);
    const st_tensor *t = st_tensor_find(st, name);
    assert_non_null(t);
    uint64_t off = st_data_start(st) + t->begin;
    st_close(st);
    return off;
}

static void test_nan_scale(void **state)
{
    ckpt_state *s = *state;
    char shard[RUN_PATH_MAX];
    snprintf(shard, sizeof shard, "%s", in_dir(s, SHARD0));
    uint64_t off = tensor_file_offset(shard, SHARD0, DOWN_SCALES);
    /* the parser and Python agree on where the bytes are */
    assert_int_equal(off, 8 + SHARD0_HEADER_LEN + DOWN_SCALES_BEGIN);
    const uint8_t nan = 0xFF;
    assert_int_equal(run_pwrite(shard, off, &nan, 1), 0);
    assert_int_equal(run_pwrite(shard, off + (DOWN_SCALES_END - DOWN_SCALES_BEGIN) - 1, &nan, 1), 0);

    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_SCALE_NAN, "error", DOWN_PROJ, SHARD0, DOWN_PROJ);
    assert_contains(str_or_null(f, "message"), "2 scale bytes");
    assert_int_equal(count_findings(root, FIND_SCALE_NAN), 1);
    cJSON_Delete(root);

    run_result r;
    inspect_rc(&r, s->dir, NULL, 1);
    assert_contains(r.out, FIND_SCALE_NAN);
    assert_contains(r.out, DOWN_PROJ);
    run_result_free(&r);

    /* the histogram counts them apart */
    const char *argv[] = {env_or_fail("MXC_BIN"), "inspect", "--json", "--tensor", DOWN_PROJ, s->dir,
                          NULL};
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_no_sanitizer_report(&r);
    assert_int_equal(r.status, 1);
    root = cJSON_ParseWithLength(r.out, r.out_len);
    assert_non_null(root);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "tensor"), "scale_hist");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(h, "nan")->valuedouble, 2);
    cJSON_Delete(root);
    run_result_free(&r);
}

/* ---- index vs shards ----------------------------------------------------- */

static void test_index_wrong_shard(void **state)
{
    ckpt_state *s = *state;
    index_map(s, NORM, SHARD0); /* it is in SHARD1 */
    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_INDEX_MISMATCH, "error", NORM, NULL, NORM);
    assert_contains(str_or_null(f, "message"), SHARD0);
    assert_contains(str_or_null(f, "message"), SHARD1);
    assert_int_equal(count_findings(root, FIND_INDEX_MISMATCH), 1);
    cJSON_Delete(root);
}

static void test_index_missing_shard(void **state)
{
    ckpt_state *s = *state;
    assert_int_equal(unlink(in_dir(s, SHARD1)), 0);
    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_INDEX_MISMATCH, "error", NULL, SHARD1, SHARD1);
    assert_contains(str_or_null(f, "message"), "missing");
    /* one finding for the shard, not one per tensor it held */
    assert_int_equal(count_findings(root, FIND_INDEX_MISMATCH), 1);
    assert_null(find_tensor(root, "lm_head.weight"));
    assert_non_null(find_tensor(root, "model.embed_tokens.weight"));
    cJSON_Delete(root);
}

static void test_index_names_absent_shard(void **state)
{
    ckpt_state *s = *state;
    index_map(s, "extra.weight", "model-00009.safetensors");
    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_INDEX_MISMATCH, "error", NULL, "model-00009.safetensors",
                                    "model-00009.safetensors");
    assert_contains(str_or_null(f, "message"), "missing");
    cJSON_Delete(root);
}

static void test_index_maps_absent_tensor(void **state)
{
    ckpt_state *s = *state;
    index_map(s, "ghost.weight", SHARD1);
    cJSON *root = inspect_json(s->dir, 1);
    expect_finding(root, FIND_INDEX_MISMATCH, "error", "ghost.weight", SHARD1, "ghost.weight");
    cJSON_Delete(root);
}

static void test_index_unmapped_tensor(void **state)
{
    ckpt_state *s = *state;
    index_map(s, NORM, NULL);
    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_INDEX_MISMATCH, "error", NORM, SHARD1, NORM);
    assert_contains(str_or_null(f, "message"), "weight_map");
    assert_int_equal(count_findings(root, FIND_INDEX_MISMATCH), 1);
    cJSON_Delete(root);
}

static void test_tensor_in_two_shards(void **state)
{
    ckpt_state *s = *state;
    static uint16_t norm[192];
    char err[ST_ERR_LEN];
    stw_writer *w = stw_new();
    assert_int_equal(stw_add(w, "extra.weight", DT_BF16, 1, (uint64_t[]){192}, norm, err, sizeof err), 0);
    assert_int_equal(stw_add(w, NORM, DT_BF16, 1, (uint64_t[]){192}, norm, err, sizeof err), 0);
    assert_int_equal(stw_write(w, in_dir(s, "model-00002.safetensors"), err, sizeof err), 0);
    stw_free(w);
    index_map(s, "extra.weight", "model-00002.safetensors");
    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_INDEX_MISMATCH, "error", NORM, NULL, NORM);
    assert_contains(str_or_null(f, "message"), "two shards");
    cJSON_Delete(root);
}

static void test_index_shard_outside_dir(void **state)
{
    ckpt_state *s = *state;
    char evil[RUN_PATH_MAX];
    /* the file exists: only the name check stands between us and it */
    assert_int_equal(run_join(evil, sizeof evil, s->tmp, "evil.safetensors"), 0);
    assert_int_equal(run_copy_file(in_dir(s, SHARD1), evil), 0);
    index_map(s, NORM, "../evil.safetensors");
    inspect_refused(s->dir, "not a file name", NORM);
    index_map(s, NORM, evil); /* an absolute path */
    inspect_refused(s->dir, "not a file name", CKPT_INDEX_NAME);
    index_map(s, NORM, "..");
    inspect_refused(s->dir, "not a file name", CKPT_INDEX_NAME);
}

/* The index text with `insert` placed right after `"weight_map": {`. */
static void index_insert_text(const ckpt_state *s, const char *insert)
{
    cJSON *index = load_json(in_dir(s, CKPT_INDEX_NAME));
    char *text = cJSON_PrintUnformatted(index);
    cJSON_Delete(index);
    const char *anchor = "\"weight_map\":{";
    char *at = strstr(text, anchor);
    assert_non_null(at);
    size_t head = (size_t)(at - text) + strlen(anchor);
    char *out = malloc(strlen(text) + strlen(insert) + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    strcpy(out + head, insert);
    strcat(out, text + head);
    assert_int_equal(run_write_file(in_dir(s, CKPT_INDEX_NAME), out), 0);
    free(out);
    free(text);
}

static void test_index_duplicate_key(void **state)
{
    ckpt_state *s = *state;
    /* both entries agree: a duplicate is refused even when harmless-looking */
    index_insert_text(s, "\"lm_head.weight\":\"" SHARD1 "\",");
    inspect_refused(s->dir, "lm_head.weight", CKPT_INDEX_NAME);
}

static void test_index_duplicate_top_key(void **state)
{
    ckpt_state *s = *state;
    char *text;
    assert_int_equal(run_read_file(in_dir(s, CKPT_INDEX_NAME), &text, NULL), 0);
    char *end = strrchr(text, '}');
    assert_non_null(end);
    *end = '\0';
    char *out = malloc(strlen(text) + 64);
    assert_non_null(out);
    sprintf(out, "%s, \"weight_map\": {}}", text);
    assert_int_equal(run_write_file(in_dir(s, CKPT_INDEX_NAME), out), 0);
    free(out);
    free(text);
    inspect_refused(s->dir, CKPT_INDEX_NAME, "weight_map");
}

/* ---- MXFP4 pairs --------------------------------------------------------- */

static void expect_pairing(const ckpt_state *s, const char *words)
{
    cJSON *root = inspect_json(s->dir, 1);
    const cJSON *f = expect_finding(root, FIND_PAIRING, "error", DOWN_PROJ, SHARD0, DOWN_PROJ);
    if (words)
        assert_contains(str_or_null(f, "message"), words);
    assert_int_equal(count_findings(root, FIND_PAIRING), 1);
    /* no longer one MXFP4 tensor; the other three pairs still are */
    const cJSON *t = find_tensor(root, DOWN_PROJ);
    assert_true(t == NULL || strcmp(str_or_null(t, "dtype"), "MXFP4") != 0);
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(root, "summary");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "quantized")->valuedouble, 3);
    cJSON_Delete(root);
}

static void test_blocks_without_scales(void **state)
{
    const edit e[] = {{DOWN_SCALES, ED_DROP, 0, 0, {0}}};
    rewrite_shard(*state, SHARD0, e, 1);
    expect_pairing(*state, "_scales");
    cJSON *root = inspect_json(((ckpt_state *)*state)->dir, 1);
    const cJSON *orphan = find_tensor(root, DOWN_BLOCKS); /* listed as a plain tensor */
    assert_non_null(orphan);
    assert_string_equal(str_or_null(orphan, "dtype"), "U8");
    cJSON_Delete(root);
}

static void test_scales_without_blocks(void **state)
{
    const edit e[] = {{DOWN_BLOCKS, ED_DROP, 0, 0, {0}}};
    rewrite_shard(*state, SHARD0, e, 1);
    expect_pairing(*state, "_blocks");
    cJSON *root = inspect_json(((ckpt_state *)*state)->dir, 1);
    assert_non_null(find_tensor(root, DOWN_SCALES));
    cJSON_Delete(root);
}

static void test_scales_shape_mismatch(void **state)
{
    const edit e[] = {{DOWN_SCALES, ED_SET, DT_U8, 3, {3, 192, 4}}};
    rewrite_shard(*state, SHARD0, e, 1);
    expect_pairing(*state, "[3, 192, 4]");
}

static void test_scales_prefix_mismatch(void **state)
{
    /* same element count, prefix differs */
    const edit e[] = {{DOWN_SCALES, ED_SET, DT_U8, 3, {3, 96, 10}}};
    rewrite_shard(*state, SHARD0, e, 1);
    expect_pairing(*state, "shape");
}

static void test_blocks_last_dim_15(void **state)
{
    const edit e[] = {{DOWN_BLOCKS, ED_SET, DT_U8, 4, {3, 192, 5, 15}}};
    rewrite_shard(*state, SHARD0, e, 1);
    expect_pairing(*state, "16");
}

static void test_blocks_bf16(void **state)
{
    const edit e[] = {{DOWN_BLOCKS, ED_SET, DT_BF16, 4, {3, 192, 5, 16}}};
    rewrite_shard(*state, SHARD0, e, 1);
    expect_pairing(*state, "U8");
}

static void test_scales_f8_e8m0(void **state)
{
    ckpt_state *s = *state;
    const edit e[] = {{DOWN_SCALES, ED_SET, DT_F8_E8M0, 3, {3, 192, 5}}};
    rewrite_shard(s, SHARD0, e, 1);
    cJSON *root = inspect_json(s->dir, 0);
    assert_int_equal(count_findings(root, FIND_PAIRING), 0);
    const cJSON *t = find_tensor(root, DOWN_PROJ);
    assert_non_null(t);
    assert_string_equal(str_or_null(t, "dtype"), "MXFP4");
    assert_string_equal(str_or_null(cJSON_GetObjectItemCaseSensitive(t, "scales"), "dtype"),
                        "F8_E8M0");
    cJSON_Delete(root);
    /* the same bytes, the same exponents: never read as linear values */
    run_result r;
    const char *argv[] = {env_or_fail("MXC_BIN"), "inspect", "--json", "--tensor", DOWN_PROJ, s->dir,
                          NULL};
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_no_sanitizer_report(&r);
    assert_int_equal(r.status, 0);
    root = cJSON_ParseWithLength(r.out, r.out_len);
    assert_non_null(root);
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "tensor"),
                                         "scale_hist"),
        "counts");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(counts, "-7")->valuedouble, 1571);
    cJSON_Delete(root);
    run_result_free(&r);
}

/* ---- config.json --------------------------------------------------------- */

static void test_config_without_quantization(void **state)
{
    ckpt_state *s = *state;
    cJSON *cfg = load_json(in_dir(s, CKPT_CONFIG_NAME));
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "quantization_config");
    save_json(in_dir(s, CKPT_CONFIG_NAME), cfg);
    cJSON *root = inspect_json(s->dir, 1);
    expect_finding(root, FIND_CONFIG_QUANT, "error", NULL, CKPT_CONFIG_NAME, "quantization_config");
    cJSON_Delete(root);
}

static void test_config_other_method(void **state)
{
    ckpt_state *s = *state;
    cJSON *cfg = load_json(in_dir(s, CKPT_CONFIG_NAME));
    cJSON *q = cJSON_GetObjectItemCaseSensitive(cfg, "quantization_config");
    cJSON_ReplaceItemInObjectCaseSensitive(q, "quant_method", cJSON_CreateString("fp8"));
    save_json(in_dir(s, CKPT_CONFIG_NAME), cfg);
    cJSON *root = inspect_json(s->dir, 1);
    expect_finding(root, FIND_CONFIG_QUANT, "error", NULL, CKPT_CONFIG_NAME, "mxfp4");
    cJSON_Delete(root);
}

static void test_config_missing(void **state)
{
    ckpt_state *s = *state;
    assert_int_equal(unlink(in_dir(s, CKPT_CONFIG_NAME)), 0);
    cJSON *root = inspect_json(s->dir, 1);
    expect_finding(root, FIND_CONFIG_QUANT, "error", NULL, CKPT_CONFIG_NAME, CKPT_CONFIG_NAME);
    cJSON_Delete(root);
}

static void test_config_not_json(void **state)
{
    ckpt_state *s = *state;
    assert_int_equal(run_write_file(in_dir(s, CKPT_CONFIG_NAME), "{\"model_type\": \"gpt_oss\",\n"), 0);
    inspect_refused(s->dir, CKPT_CONFIG_NAME, "JSON");
}

/* ---- unreadable input ---------------------------------------------------- */

static void test_truncated_shard(void **state)
{
    ckpt_state *s = *state;
    assert_int_equal(truncate(in_dir(s, SHARD1), 100), 0);
    inspect_refused(s->dir, SHARD1, NULL);
}

static void test_truncated_shard_data(void **state)
{
    ckpt_state *s = *state;
    /* header whole, data buffer cut short */
    assert_int_equal(truncate(in_dir(s, SHARD1), 8 + SHARD1_HEADER_LEN + 100), 0);
    inspect_refused(s->dir, SHARD1, NULL);
}

static void test_garbage_header(void **state)
{
    ckpt_state *s = *state;
    static const char bytes[] = "\x08\0\0\0\0\0\0\0not json";
    char err[ST_ERR_LEN];
    assert_int_equal(stw_write_bytes(in_dir(s, SHARD1), bytes, sizeof bytes - 1, err, sizeof err), 0);
    inspect_refused(s->dir, "not valid JSON", SHARD1);
}

static void test_path_missing(void **state)
{
    ckpt_state *s = *state;
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, s->tmp, "no-such-checkpoint"), 0);
    inspect_refused(path, "no-such-checkpoint", NULL);
}

static void test_dir_without_checkpoint(void **state)
{
    ckpt_state *s = *state;
    char empty[RUN_PATH_MAX];
    assert_int_equal(run_join(empty, sizeof empty, s->tmp, "empty"), 0);
    assert_int_equal(mkdir(empty, 0755), 0);
    char cfg[RUN_PATH_MAX]; /* a config alone does not make a checkpoint */
    assert_int_equal(run_join(cfg, sizeof cfg, empty, CKPT_CONFIG_NAME), 0);
    assert_int_equal(run_copy_file(in_dir(s, CKPT_CONFIG_NAME), cfg), 0);
    inspect_refused(empty, CKPT_SINGLE_NAME, CKPT_INDEX_NAME);
}

/* ---- files that are not regular files ------------------------------------ */

/* Opening a FIFO for reading waits for a writer: a checkpoint with one in
 * place of a file hung inspect forever. Refused at once now; the runner's
 * timeout turns a hang into a failure instead of a stuck suite. */
#define FIFO_TIMEOUT_S 10

static void fifo_refused(const ckpt_state *s, const char *name)
{
    char path[RUN_PATH_MAX];
    snprintf(path, sizeof path, "%s", in_dir(s, name));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    const char *argv[] = {env_or_fail("MXC_BIN"), "inspect", "--json", s->dir, NULL};
    run_result r;
    if (run_cmd(argv, FIFO_TIMEOUT_S, &r) != 0)
        fail_msg("inspect with a FIFO %s: did not exit by itself (signal %d, timed out %d)", name,
                 r.signal, r.timed_out);
    assert_no_sanitizer_report(&r);
    if (r.status != 2)
        fail_msg("inspect with a FIFO %s: exit %d, expected 2\nstderr:\n%s", name, r.status, r.err);
    assert_int_equal(r.out_len, 0);
    assert_contains(r.err, name);
    assert_contains(r.err, "not a regular file");
    run_result_free(&r);
}

static void test_fifo_config(void **state)
{
    fifo_refused(*state, CKPT_CONFIG_NAME);
}

static void test_fifo_index(void **state)
{
    fifo_refused(*state, CKPT_INDEX_NAME);
}

static void test_fifo_shard(void **state)
{
    fifo_refused(*state, SHARD1);
}

/* ---- read only ----------------------------------------------------------- */

#define MAX_ENTRIES 64

typedef struct {
    char name[256];
    off_t size;
    mode_t mode;
    struct timespec mtime, ctime;
} entry;

static size_t snapshot(const char *dir, entry *out)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        char path[RUN_PATH_MAX];
        struct stat sb;
        if (strcmp(de->d_name, "..") == 0)
            continue; /* the parent is not ours to watch ("." is: its mtime moves with any entry) */
        assert_true(n < MAX_ENTRIES);
        assert_int_equal(run_join(path, sizeof path, dir, de->d_name), 0);
        assert_int_equal(lstat(path, &sb), 0);
        snprintf(out[n].name, sizeof out[n].name, "%s", de->d_name);
        out[n].size = sb.st_size;
        out[n].mode = sb.st_mode;
        out[n].mtime = sb.st_mtim;
        out[n].ctime = sb.st_ctim;
        n++;
    }
    closedir(d);
    return n;
}

static void assert_same(const entry *a, size_t na, const entry *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && strcmp(a[i].name, b[j].name) != 0)
            j++;
        if (j == nb)
            fail_msg("%s disappeared", a[i].name);
        if (a[i].size != b[j].size || a[i].mode != b[j].mode ||
            a[i].mtime.tv_sec != b[j].mtime.tv_sec || a[i].mtime.tv_nsec != b[j].mtime.tv_nsec ||
            a[i].ctime.tv_sec != b[j].ctime.tv_sec || a[i].ctime.tv_nsec != b[j].ctime.tv_nsec)
            fail_msg("%s changed", a[i].name);
    }
}

static void test_nothing_written(void **state)
{
    ckpt_state *s = *state;
    entry before[MAX_ENTRIES], after[MAX_ENTRIES], tmp_before[MAX_ENTRIES], tmp_after[MAX_ENTRIES];
    size_t nb = snapshot(s->dir, before), ntb = snapshot(s->tmp, tmp_before);
    run_result r;
    inspect_rc(&r, s->dir, NULL, 0);
    run_result_free(&r);
    inspect_rc(&r, s->dir, "--json", 0);
    run_result_free(&r);
    const char *argv[] = {env_or_fail("MXC_BIN"), "inspect", "--tensor", DOWN_PROJ, s->dir, NULL};
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_no_sanitizer_report(&r);
    assert_int_equal(r.status, 0);
    run_result_free(&r);
    size_t na = snapshot(s->dir, after), nta = snapshot(s->tmp, tmp_after);
    assert_same(before, nb, after, na);
    assert_same(tmp_before, ntb, tmp_after, nta);
}

/* ---- ckpt_open directly -------------------------------------------------- */

static void test_ckpt_api(void **state)
{
    ckpt_state *s = *state;
    char err[ST_ERR_LEN] = "";
    finding_list *fl = findings_new();
    ckpt *c = NULL;
    if (ckpt_open(s->dir, &c, fl, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(ckpt_has_index(c));
    assert_int_equal(ckpt_shard_count(c), 2);
    assert_string_equal(ckpt_shard_at(c, 0)->file, SHARD0);
    assert_string_equal(ckpt_shard_at(c, 1)->file, SHARD1);
    assert_null(ckpt_shard_at(c, 2));
    assert_int_equal(ckpt_tensor_count(c), FIXTURE_TENSORS);
    assert_int_equal(ckpt_logical_count(c), FIXTURE_LOGICAL);
    assert_int_equal(ckpt_data_bytes(c), FIXTURE_DATA_BYTES);
    uint64_t total = 0;
    assert_true(ckpt_index_total_size(c, &total));
    assert_int_equal(total, FIXTURE_TOTAL_SIZE);
    const ckpt_config *cfg = ckpt_get_config(c);
    assert_true(cfg->present && cfg->has_quant);
    assert_string_equal(cfg->quant_method, "mxfp4");
    assert_int_equal(cfg->n_not_convert, 9);
    assert_string_equal(cfg->not_convert[8], "lm_head");

    const ckpt_tensor *ct = ckpt_tensor_find(c, DOWN_SCALES);
    assert_non_null(ct);
    assert_int_equal(ct->t->begin, DOWN_SCALES_BEGIN);
    assert_int_equal(ct->t->end, DOWN_SCALES_END);
    assert_null(ckpt_tensor_find(c, DOWN_PROJ));
    const ckpt_logical *lt = ckpt_logical_find(c, DOWN_PROJ);
    assert_non_null(lt);
    assert_int_equal(lt->kind, LT_MXFP4);
    assert_ptr_equal(lt->scales, ct);
    assert_int_equal(lt->rank, 3);
    assert_int_equal(lt->shape[0], 3);
    assert_int_equal(lt->shape[1], 192);
    assert_int_equal(lt->shape[2], 160); /* stored orientation: [N, K] */
    assert_int_equal(lt->groups, 5);
    assert_int_equal(lt->bytes, 48960);
    uint64_t hist[256];
    assert_int_equal(ckpt_scale_histogram(c, lt, hist, err, sizeof err), 0);
    assert_int_equal(hist[127 - 7], 1571);
    assert_int_equal(hist[127 - 6], 1297);
    assert_int_equal(hist[127 - 5], 8);
    assert_int_equal(hist[127 - 4], 4);
    assert_int_equal(hist[255], 0);
    uint8_t first[4];
    assert_int_equal(ckpt_read(c, ct, 0, first, sizeof first, err, sizeof err), 0);
    assert_int_not_equal(ckpt_read(c, ct, DOWN_SCALES_END - DOWN_SCALES_BEGIN - 1, first, 2, err,
                                   sizeof err),
                         0); /* past the tensor's end */

    const ckpt_logical *plain = ckpt_logical_find(c, NORM);
    assert_non_null(plain);
    assert_int_equal(plain->kind, LT_PLAIN);
    assert_string_equal(ckpt_shard_at(c, plain->plain->shard)->file, SHARD1);
    for (size_t i = 1; i < ckpt_logical_count(c); i++)
        assert_true(strcmp(ckpt_logical_at(c, i - 1)->name, ckpt_logical_at(c, i)->name) < 0);

    assert_int_equal(findings_count(fl), 1);
    assert_string_equal(findings_at(fl, 0)->id, FIND_INDEX_TOTAL_SIZE);
    ckpt_close(c);
    ckpt_close(NULL);
    findings_free(fl);
}

static void test_ckpt_open_failure(void **state)
{
    ckpt_state *s = *state;
    assert_int_equal(truncate(in_dir(s, SHARD1), 100), 0);
    char err[ST_ERR_LEN] = "";
    finding_list *fl = findings_new();
    ckpt *c = (ckpt *)fl; /* anything but NULL */
    assert_int_equal(ckpt_open(s->dir, &c, fl, err, sizeof err), -1);
    assert_null(c);
    assert_contains(err, SHARD1);
    findings_free(fl);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, copy_setup, copy_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_clean_copy),
        T(test_nan_scale),
        T(test_index_wrong_shard),
        T(test_index_missing_shard),
        T(test_index_names_absent_shard),
        T(test_index_maps_absent_tensor),
        T(test_index_unmapped_tensor),
        T(test_tensor_in_two_shards),
        T(test_index_shard_outside_dir),
        T(test_index_duplicate_key),
        T(test_index_duplicate_top_key),
        T(test_blocks_without_scales),
        T(test_scales_without_blocks),
        T(test_scales_shape_mismatch),
        T(test_scales_prefix_mismatch),
        T(test_blocks_last_dim_15),
        T(test_blocks_bf16),
        T(test_scales_f8_e8m0),
        T(test_config_without_quantization),
        T(test_config_other_method),
        T(test_config_missing),
        T(test_config_not_json),
        T(test_truncated_shard),
        T(test_truncated_shard_data),
        T(test_garbage_header),
        T(test_path_missing),
        T(test_dir_without_checkpoint),
        T(test_fifo_config),
        T(test_fifo_index),
        T(test_fifo_shard),
        T(test_nothing_written),
        T(test_ckpt_api),
        T(test_ckpt_open_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
