/* verify on small hand-built checkpoints: the edge cases a real conversion
 * rarely shows (a healthy tensor beyond the limits, MXFP4 in the source,
 * integer kept tensors, rows too long for bounded memory, odd slab sizes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_check.h"

#include <cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mxfp4.h"
#include "runner.h"
#include "st_writer.h"

#define QUANT_CONFIG \
    "{\"quantization_config\": {\"quant_method\": \"mxfp4\", \"modules_to_not_convert\": [\"keep\"]}}\n"

static char err[512];

static void mkckpt(char *out, const char *dir, const char *name)
{
    assert_int_equal(run_join(out, RUN_PATH_MAX, dir, name), 0);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void write_single(const char *dir, stw_writer *w, const char *config)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, dir, "model.safetensors"), 0);
    if (stw_write(w, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (config) {
        assert_int_equal(run_join(path, sizeof path, dir, "config.json"), 0);
        assert_int_equal(run_write_file(path, config), 0);
    }
}

/* Runs verify --json - and returns the report (exit status in *status). */
static cJSON *verify_json(const char *src, const char *dst, int *status, const char *slab_env)
{
    const char *bin = getenv("MXC_BIN");
    assert_non_null(bin);
    if (slab_env)
        setenv("MXFP4_CHECK_SLAB_BYTES", slab_env, 1);
    const char *argv[] = {bin, "verify", src, dst, "--json", "-", "--no-progress", NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    unsetenv("MXFP4_CHECK_SLAB_BYTES");
    *status = r.status;
    cJSON *j = r.status == 2 ? NULL : cJSON_Parse(r.out);
    if (r.status != 2 && !j)
        fail_msg("no JSON on stdout; stderr: %s", r.err);
    if (strstr(r.err, "runtime error") || strstr(r.err, "AddressSanitizer"))
        fail_msg("sanitizer: %s", r.err);
    run_result_free(&r);
    return j;
}

static const cJSON *finding(const cJSON *report, const char *id)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings"))
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring, id) == 0)
            return f;
    return NULL;
}

static const cJSON *tensor(const cJSON *report, const char *name)
{
    const cJSON *t = find_named(cJSON_GetObjectItemCaseSensitive(report, "tensors"), name);
    if (!t)
        fail_msg("no tensor %s in the report", name);
    return t;
}

static uint16_t bf16(float f)
{
    return (uint16_t)(mxfp4_f32_bits(f) >> 16); /* values below are exact in BF16 */
}

static int setup(void **state)
{
    return run_tmpdir_setup(state, "mxc-cases");
}

static int teardown(void **state)
{
    return run_tmpdir_teardown(state);
}

/* A conversion that is exactly the reference quantizer's, of a source that
 * quantizes badly (blocks of one 6.03 and thirty-one 1.49: rel_l2 above the
 * 0.2 limit), fails the threshold but has no mistake to diagnose. */
static void test_healthy_tensor_beyond_limits_is_not_diagnosed(void **state)
{
    enum { K = 64, N = 64 };
    static uint16_t src[K * N];
    static uint8_t blocks[N * (K / 32) * 16], scales[N * (K / 32)];
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++)
            src[k * N + n] = bf16(k % 32 == 0 ? 6.03125f : 1.4921875f);
    for (int n = 0; n < N; n++) {
        for (int g = 0; g < K / 32; g++) {
            float x[32];
            uint8_t codes[32];
            for (int i = 0; i < 32; i++)
                x[i] = mxfp4_bf16_to_f32(src[(g * 32 + i) * N + n]);
            mxfp4_ref_quantize_block(x, &scales[n * (K / 32) + g], codes);
            for (int i = 0; i < 16; i++)
                blocks[(n * (K / 32) + g) * 16 + i] = (uint8_t)(codes[2 * i] | codes[2 * i + 1] << 4);
        }
    }
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    stw_writer *ws = stw_new(), *wd = stw_new();
    assert_int_equal(stw_add(ws, "w", DT_BF16, 2, (uint64_t[]){K, N}, src, err, sizeof err), 0);
    assert_int_equal(stw_add(wd, "w_blocks", DT_U8, 3, (uint64_t[]){N, K / 32, 16}, blocks, err, sizeof err), 0);
    assert_int_equal(stw_add(wd, "w_scales", DT_U8, 2, (uint64_t[]){N, K / 32}, scales, err, sizeof err), 0);
    write_single(s, ws, NULL);
    write_single(d, wd, QUANT_CONFIG);
    stw_free(ws);
    stw_free(wd);
    int status;
    cJSON *j = verify_json(s, d, &status, NULL);
    assert_int_equal(status, 1);
    assert_non_null(finding(j, "numerics.threshold"));
    assert_null(finding(j, "numerics.diagnosis"));
    const cJSON *rq = cJSON_GetObjectItemCaseSensitive(tensor(j, "w"), "requant");
    assert_true(cJSON_GetObjectItemCaseSensitive(rq, "codes_identical")->valuedouble == 1.0);
    cJSON_Delete(j);
}

/* MXFP4 in the source, rank 1: a pairing finding, no crash. */
static void test_mxfp4_source_rank1(void **state)
{
    static uint8_t blocks[16] = {0x21}, scales[1] = {127};
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    for (int i = 0; i < 2; i++) {
        stw_writer *w = stw_new();
        assert_int_equal(stw_add(w, "x_blocks", DT_U8, 2, (uint64_t[]){1, 16}, blocks, err, sizeof err), 0);
        assert_int_equal(stw_add(w, "x_scales", DT_U8, 1, (uint64_t[]){1}, scales, err, sizeof err), 0);
        write_single(i ? d : s, w, i ? QUANT_CONFIG : NULL);
        stw_free(w);
    }
    int status;
    cJSON *j = verify_json(s, d, &status, NULL);
    assert_int_equal(status, 1);
    const cJSON *f = finding(j, "mxfp4.pairing");
    assert_non_null(f);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring, "the source is MXFP4, expected BF16"));
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(tensor(j, "x"), "shape");
    assert_int_equal(cJSON_GetArraySize(shape), 1);
    assert_int_equal(cJSON_GetArrayItem(shape, 0)->valueint, 32);
    cJSON_Delete(j);
}

/* An integer kept tensor that differs: counted elements, no float statistics. */
static void test_kept_integer_modified(void **state)
{
    static int64_t a[3] = {1, 2, 3}, b[3] = {1, 2, 4};
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    for (int i = 0; i < 2; i++) {
        stw_writer *w = stw_new();
        assert_int_equal(stw_add(w, "keep", DT_I64, 1, (uint64_t[]){3}, i ? b : a, err, sizeof err), 0);
        write_single(i ? d : s, w, i ? QUANT_CONFIG : NULL);
        stw_free(w);
    }
    int status;
    cJSON *j = verify_json(s, d, &status, NULL);
    assert_int_equal(status, 1);
    const cJSON *f = finding(j, "kept.modified");
    assert_non_null(f);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring,
                           "1 elements of I64 differ"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(tensor(j, "keep"), "stats")));
    cJSON_Delete(j);
}

/* Every dtype the reference parser accepts (SPEC §1, written here apart from
 * src/dtype.c): a kept tensor of it is read, compared byte for byte, passes
 * when equal, and fails as kept.modified when one bit of its last byte
 * differs (one element: bit 0 of the last byte belongs to the last element of
 * every packing). The float dtypes report statistics, the others a count. */
static const struct {
    const char *name;
    unsigned bits;
    bool float_stats;
} every_dtype[] = {
    {"BOOL", 8, false},        {"U8", 8, false},           {"I8", 8, false},
    {"F8_E5M2", 8, false},     {"F8_E4M3", 8, false},      {"F8_E8M0", 8, false},
    {"F8_E4M3FNUZ", 8, false}, {"F8_E5M2FNUZ", 8, false},  {"I16", 16, false},
    {"U16", 16, false},        {"F16", 16, true},          {"BF16", 16, true},
    {"I32", 32, false},        {"U32", 32, false},         {"F32", 32, true},
    {"C64", 64, false},        {"I64", 64, false},         {"U64", 64, false},
    {"F64", 64, true},         {"F4", 4, false},           {"F6_E2M3", 6, false},
    {"F6_E3M2", 6, false},
};

static void test_kept_every_dtype(void **state)
{
    enum { ELEMS = 8 };
    for (size_t k = 0; k < sizeof every_dtype / sizeof every_dtype[0]; k++) {
        dtype_id dt;
        if (!dtype_from_name(every_dtype[k].name, &dt))
            fail_msg("dtype %s is unknown", every_dtype[k].name);
        size_t bytes = ELEMS * every_dtype[k].bits / 8;
        uint8_t a[64], b[64];
        for (size_t i = 0; i < bytes; i++)
            a[i] = b[i] = (uint8_t)(0x21 + 3 * i); /* finite in every float format */
        b[bytes - 1] ^= 0x01;
        char dir[RUN_PATH_MAX], s[RUN_PATH_MAX], d[RUN_PATH_MAX], e[RUN_PATH_MAX];
        assert_int_equal(run_join(dir, sizeof dir, *state, every_dtype[k].name), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        mkckpt(s, dir, "src");
        mkckpt(d, dir, "same");
        mkckpt(e, dir, "changed");
        const char *dirs[3] = {s, d, e};
        for (int i = 0; i < 3; i++) {
            stw_writer *w = stw_new();
            assert_int_equal(stw_add(w, "keep", dt, 1, (uint64_t[]){ELEMS}, i == 2 ? b : a, err, sizeof err), 0);
            write_single(dirs[i], w, i ? QUANT_CONFIG : NULL);
            stw_free(w);
        }
        int status;
        cJSON *j = verify_json(s, d, &status, NULL);
        if (status != 0)
            fail_msg("%s: identical kept tensor: exit %d", every_dtype[k].name, status);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(tensor(j, "keep"), "status")->valuestring, "pass");
        cJSON_Delete(j);
        j = verify_json(s, e, &status, NULL);
        if (status != 1)
            fail_msg("%s: one bit changed: exit %d", every_dtype[k].name, status);
        const cJSON *f = finding(j, "kept.modified");
        assert_non_null(f);
        const char *msg = cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring;
        char want[128];
        if (every_dtype[k].float_stats)
            snprintf(want, sizeof want, "'keep': kept tensor differs from the source (87.5%% of elements equal");
        else
            snprintf(want, sizeof want, "'keep': kept tensor differs from the source (1 elements of %s differ)",
                     every_dtype[k].name);
        if (!strstr(msg, want))
            fail_msg("%s: message \"%s\" lacks \"%s\"", every_dtype[k].name, msg, want);
        cJSON_Delete(j);
    }
}

/* A slab budget that is not a multiple of the element size still compares
 * whole elements: 3 of 4 BF16 elements equal is 0.75. */
static void test_kept_odd_slab_budget(void **state)
{
    static uint16_t a[4] = {0x3f80, 0x4000, 0x4040, 0x4080}, b[4] = {0x3f80, 0x4000, 0x4040, 0x40a0};
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    for (int i = 0; i < 2; i++) {
        stw_writer *w = stw_new();
        assert_int_equal(stw_add(w, "keep", DT_BF16, 1, (uint64_t[]){4}, i ? b : a, err, sizeof err), 0);
        write_single(i ? d : s, w, i ? QUANT_CONFIG : NULL);
        stw_free(w);
    }
    int status;
    cJSON *j = verify_json(s, d, &status, "3");
    assert_int_equal(status, 1);
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(tensor(j, "keep"), "stats");
    assert_true(cJSON_GetObjectItemCaseSensitive(stats, "equal_fraction")->valuedouble == 0.75);
    assert_true(cJSON_GetObjectItemCaseSensitive(stats, "max_abs_err")->valuedouble == 1.0);
    cJSON_Delete(j);
}

/* F16 kept tensors that differ get float statistics: 1.0, 2.0, 2^-24
 * (subnormal) against 1.0, 2.5, 0. */
static void test_kept_f16_modified(void **state)
{
    static uint16_t a[3] = {0x3C00, 0x4000, 0x0001}, b[3] = {0x3C00, 0x4100, 0x0000};
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    for (int i = 0; i < 2; i++) {
        stw_writer *w = stw_new();
        assert_int_equal(stw_add(w, "keep", DT_F16, 1, (uint64_t[]){3}, i ? b : a, err, sizeof err), 0);
        write_single(i ? d : s, w, i ? QUANT_CONFIG : NULL);
        stw_free(w);
    }
    int status;
    cJSON *j = verify_json(s, d, &status, NULL);
    assert_int_equal(status, 1);
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(tensor(j, "keep"), "stats");
    assert_true(cJSON_GetObjectItemCaseSensitive(stats, "max_abs_err")->valuedouble == 0.5);
    assert_true(cJSON_GetObjectItemCaseSensitive(stats, "mean_abs_err")->valuedouble ==
                (0.5 + ldexp(1.0, -24)) / 3.0);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(stats, "equal_fraction")->valuedouble - 1.0 / 3.0) < 1e-15);
    cJSON_Delete(j);
}

/* A header and a sparse data buffer of `data_len` bytes (nothing is read). */
static void write_sparse(const char *dir, const char *header, uint64_t data_len)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, dir, "model.safetensors"), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint64_t n = strlen(header);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(n >> (8 * i));
    assert_int_equal(write(fd, len, 8), 8);
    assert_int_equal(write(fd, header, n), (ssize_t)n);
    assert_int_equal(ftruncate(fd, (off_t)(8 + n + data_len)), 0);
    close(fd);
}

/* Stored rows so long that 32 source rows exceed the 1 GiB slab limit:
 * refused (exit 2) rather than allocated. */
static void test_rows_too_long_for_bounded_memory(void **state)
{
    const uint64_t N = (UINT64_C(1) << 24) + 32, K = 32;
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX], h[512];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    snprintf(h, sizeof h, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[%llu,%llu],\"data_offsets\":[0,%llu]}}",
             (unsigned long long)K, (unsigned long long)N, (unsigned long long)(K * N * 2));
    write_sparse(s, h, K * N * 2);
    snprintf(h, sizeof h,
             "{\"w_blocks\":{\"dtype\":\"U8\",\"shape\":[%llu,1,16],\"data_offsets\":[0,%llu]},"
             "\"w_scales\":{\"dtype\":\"U8\",\"shape\":[%llu,1],\"data_offsets\":[%llu,%llu]}}",
             (unsigned long long)N, (unsigned long long)(N * 16), (unsigned long long)N,
             (unsigned long long)(N * 16), (unsigned long long)(N * 17));
    write_sparse(d, h, N * 17);
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, d, "config.json"), 0);
    assert_int_equal(run_write_file(path, QUANT_CONFIG), 0);
    const char *argv[] = {getenv("MXC_BIN"), "verify", s, d, "--quiet", NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "tensor 'w': rows of 16777248 elements are too long"));
    run_result_free(&r);
}

/* Tokenizer files that are a FIFO or /dev/zero: reported, never read forever. */
static void test_copied_files_not_regular(void **state)
{
    static uint16_t a[1] = {0x3f80};
    char s[RUN_PATH_MAX], d[RUN_PATH_MAX], path[RUN_PATH_MAX];
    mkckpt(s, *state, "src");
    mkckpt(d, *state, "dst");
    for (int i = 0; i < 2; i++) {
        stw_writer *w = stw_new();
        assert_int_equal(stw_add(w, "keep", DT_BF16, 1, (uint64_t[]){1}, a, err, sizeof err), 0);
        write_single(i ? d : s, w, i ? QUANT_CONFIG : NULL);
        stw_free(w);
        assert_int_equal(run_join(path, sizeof path, i ? d : s, "tokenizer.json"), 0);
        assert_int_equal(symlink("/dev/zero", path), 0);
    }
    assert_int_equal(run_join(path, sizeof path, s, "special_tokens_map.json"), 0);
    assert_int_equal(run_write_file(path, "{}"), 0);
    assert_int_equal(run_join(path, sizeof path, d, "special_tokens_map.json"), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    int status;
    cJSON *j = verify_json(s, d, &status, NULL); /* run_cmd's timeout catches a hang */
    assert_int_equal(status, 1);
    int copied = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring, "files.copied") != 0)
            continue;
        copied++;
        assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring,
                               "is not a regular file"));
    }
    assert_int_equal(copied, 2);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy_tensor_beyond_limits_is_not_diagnosed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mxfp4_source_rank1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_integer_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_every_dtype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_odd_slab_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_f16_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_too_long_for_bounded_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copied_files_not_regular, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
