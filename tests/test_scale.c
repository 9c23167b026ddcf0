/* test_scale.c - many tensors: every per-tensor result stays exact when each
 * tensor has findings (statuses, JUnit testcases, scale histograms), and the
 * memory a run needs grows by a bounded amount per tensor.
 *
 * No timing here (bench/resources.sh measures time); memory is the peak
 * resident size of the child process (wait4), which does not depend on the
 * machine's speed. The checkpoints are written with tests/support/st_writer
 * and, for the large one, bench/gen_scale.py (the benchmark's generator). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_check.h"

#include <cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mxfp4.h"
#include "runner.h"
#include "st_writer.h"
#include "util.h"

#define N_LOGICAL 3000      /* source tensors of the many-findings checkpoint */
#define N_KINDS 6           /* i % N_KINDS picks what happens to tensor i */
#define ELEMS 64            /* a quantized source tensor: two blocks */
#define GROUPS (ELEMS / MXFP4_BLOCK_ELEMS)
#define SHARD_A "a.safetensors"
#define SHARD_B "b.safetensors"
#define MISPLACED 6         /* q.6.w: its _blocks is indexed in the wrong shard */
#define CONFIG "{\"quantization_config\": {\"quant_method\": \"mxfp4\", " \
               "\"modules_to_not_convert\": [\"k.*.n\"]}}\n"

/* The memory bound: 100k source tensors (1 in 8 quantized), against about
 * 6 KB per tensor before histograms were made compact. */
#define BIG_TENSORS "100000"
#define BIG_COUNT 100000
#define MAX_KB_PER_TENSOR_VERIFY 1.5
#define MAX_KB_PER_TENSOR_INSPECT 1.5
#define BASE_KB (32 * 1024) /* the process without any tensor: code, libraries, buffers */
#define RUN_TIMEOUT_S 300

static char err[512];

typedef enum { K_PASS, K_MODIFIED, K_UNCOVERED, K_VIEW, K_MISSING, K_NAN } kind;
static const char *const expected_status[N_KINDS] = {"pass", "fail", "fail", "warn", "fail", "fail"};

/* ---- the checkpoint ------------------------------------------------------ */

/* What is stored per source tensor; the writer borrows the bytes. */
typedef struct {
    uint16_t src[ELEMS];
    uint8_t blocks[GROUPS * MXFP4_BLOCK_BYTES], scales[GROUPS];
    uint16_t kept[2], kept_dst[2];
} tensor_data;

static uint16_t bf16(float f)
{
    return (uint16_t)(mxfp4_f32_bits(f) >> 16); /* every value below is exact in BF16 */
}

/* Scale bytes of quantized tensor i: the extremes the reference quantizer
 * can produce (0 for an all-zero block, 252 for amax 6 * 2^125), ordinary
 * ones, and the same byte twice. A K_NAN tensor has 127 and 0xFF. */
static void scale_bytes(size_t i, uint8_t out[GROUPS])
{
    static const uint8_t variants[3][GROUPS] = {{0, 252}, {125, 128}, {127, 127}};
    if (i % N_KINDS == K_NAN) {
        out[0] = 127;
        out[1] = MXFP4_SCALE_NAN;
        return;
    }
    memcpy(out, variants[(i / N_KINDS) % 3], GROUPS);
}

/* Source element j of block g with scale byte b: E2M1 value j % 16 times the
 * scale (zero when b is 0), so the reference quantizer gives byte b and code
 * j % 16 exactly. A NaN block's source is ordinary (scale 2^0). */
static void quantized_tensor(tensor_data *t, const uint8_t bytes[GROUPS])
{
    for (int g = 0; g < GROUPS; g++) {
        int b = bytes[g] == MXFP4_SCALE_NAN ? MXFP4_SCALE_BIAS : bytes[g];
        for (int j = 0; j < MXFP4_BLOCK_ELEMS; j++) {
            float v = b == 0 ? 0.0f : ldexpf(mxfp4_e2m1_value((unsigned)j % 16), b - MXFP4_SCALE_BIAS);
            t->src[g * MXFP4_BLOCK_ELEMS + j] = bf16(v);
        }
        for (int k = 0; k < MXFP4_BLOCK_BYTES; k++) {
            unsigned lo = b == 0 ? 0 : (2u * k) % 16, hi = b == 0 ? 0 : (2u * k + 1) % 16;
            t->blocks[g * MXFP4_BLOCK_BYTES + k] = (uint8_t)(lo | hi << 4);
        }
        t->scales[g] = bytes[g];
    }
}

static void name_of(size_t i, char *out, size_t len)
{
    static const char *const prefix[N_KINDS] = {"q", "k", "u", "k", "m", "q"};
    static const char *const suffix[N_KINDS] = {"w", "n", "x", "n", "w", "w"};
    snprintf(out, len, "%s.%zu.%s", prefix[i % N_KINDS], i, suffix[i % N_KINDS]);
}

static void add(stw_writer *w, const char *name, dtype_id dt, int rank, const uint64_t *shape,
                const void *data)
{
    if (stw_add(w, name, dt, rank, shape, data, err, sizeof err) != 0)
        fail_msg("%s", err);
}

/* Adds source tensor i to the writers (DST: ws_a, or ws_b for the misplaced
 * scales) and to DST's index. */
static void add_tensor(size_t i, tensor_data *t, stw_writer *src, stw_writer *dst_a,
                       stw_writer *dst_b, stw_index *x)
{
    char name[64], part[80];
    name_of(i, name, sizeof name);
    kind k = (kind)(i % N_KINDS);
    if (k == K_PASS || k == K_NAN) {
        uint8_t bytes[GROUPS];
        scale_bytes(i, bytes);
        quantized_tensor(t, bytes);
        add(src, name, DT_BF16, 1, (uint64_t[]){ELEMS}, t->src);
        snprintf(part, sizeof part, "%s_blocks", name);
        add(dst_a, part, DT_U8, 2, (uint64_t[]){GROUPS, MXFP4_BLOCK_BYTES}, t->blocks);
        /* q.6.w_blocks is in a but the index says b, where its _scales is */
        stw_index_map(x, part, i == MISPLACED ? SHARD_B : SHARD_A);
        snprintf(part, sizeof part, "%s_scales", name);
        add(i == MISPLACED ? dst_b : dst_a, part, DT_U8, 1, (uint64_t[]){GROUPS}, t->scales);
        stw_index_map(x, part, i == MISPLACED ? SHARD_B : SHARD_A);
        return;
    }
    t->kept[0] = bf16(1.0f);
    t->kept[1] = bf16(-0.5f);
    t->kept_dst[0] = t->kept[0];
    t->kept_dst[1] = k == K_MODIFIED ? bf16(0.75f) : t->kept[1];
    /* rank 2 makes a weight the loader could quantize: its pattern view matters */
    int rank = k == K_MODIFIED || k == K_VIEW ? 2 : 1;
    const uint64_t *shape = rank == 2 ? (uint64_t[]){1, 2} : (uint64_t[]){2};
    add(src, name, DT_BF16, rank, shape, t->kept);
    if (k == K_MISSING)
        return;
    add(dst_a, name, DT_BF16, rank, shape, t->kept_dst);
    stw_index_map(x, name, SHARD_A);
}

static void write_in(const char *dir, const char *file, const stw_writer *w)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, dir, file), 0);
    if (stw_write(w, path, err, sizeof err) != 0)
        fail_msg("%s", err);
}

/* SRC: N_LOGICAL tensors in model.safetensors; DST: their conversion in two
 * shards with an index, every tensor with a finding but K_PASS ones. */
static tensor_data *write_many(const char *root, char *src, char *dst)
{
    assert_int_equal(run_join(src, RUN_PATH_MAX, root, "src"), 0);
    assert_int_equal(run_join(dst, RUN_PATH_MAX, root, "dst"), 0);
    assert_int_equal(mkdir(src, 0755), 0);
    assert_int_equal(mkdir(dst, 0755), 0);
    tensor_data *data = xcalloc(N_LOGICAL, sizeof *data);
    stw_writer *ws = stw_new(), *wa = stw_new(), *wb = stw_new();
    stw_index *x = stw_index_new();
    for (size_t i = 0; i < N_LOGICAL; i++)
        add_tensor(i, &data[i], ws, wa, wb, x);
    write_in(src, "model.safetensors", ws);
    write_in(dst, SHARD_A, wa);
    write_in(dst, SHARD_B, wb);
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, dst, "model.safetensors.index.json"), 0);
    if (stw_index_write(x, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(run_join(path, sizeof path, dst, "config.json"), 0);
    assert_int_equal(run_write_file(path, CONFIG), 0);
    stw_free(ws);
    stw_free(wa);
    stw_free(wb);
    stw_index_free(x);
    return data;
}

/* ---- checking the report ------------------------------------------------- */

static const char *status_of(size_t i)
{
    return i == MISPLACED ? "fail" : expected_status[i % N_KINDS];
}

/* The scale_hist of quantized tensor i as the report must give it. */
static void check_histogram(size_t i, const cJSON *t)
{
    uint8_t bytes[GROUPS];
    scale_bytes(i, bytes);
    uint64_t counts[256] = {0};
    for (int g = 0; g < GROUPS; g++)
        counts[bytes[g]]++;
    const cJSON *h = member(t, "scale_hist"), *c = member(h, "counts");
    int lo = -1, hi = -1, keys = 0;
    for (int b = 0; b < (int)MXFP4_SCALE_NAN; b++) {
        if (!counts[b])
            continue;
        char key[8];
        snprintf(key, sizeof key, "%d", b - MXFP4_SCALE_BIAS);
        if ((uint64_t)num_member(c, key) != counts[b])
            fail_msg("tensor %zu: scale_hist count of exponent %s", i, key);
        lo = lo < 0 ? b : lo;
        hi = b;
        keys++;
    }
    assert_int_equal(cJSON_GetArraySize(c), keys);
    assert_int_equal((int)num_member(h, "min"), lo - MXFP4_SCALE_BIAS);
    assert_int_equal((int)num_member(h, "max"), hi - MXFP4_SCALE_BIAS);
    assert_int_equal((uint64_t)num_member(h, "nan"), counts[MXFP4_SCALE_NAN]);
}

static void check_tensors(const cJSON *report)
{
    const cJSON *ts = member(report, "tensors");
    assert_int_equal(cJSON_GetArraySize(ts), N_LOGICAL);
    char name[64];
    for (size_t i = 0; i < N_LOGICAL; i++) {
        name_of(i, name, sizeof name);
        const cJSON *t = find_named(ts, name);
        if (!t)
            fail_msg("no tensor %s in the report", name);
        if (strcmp(str_member(t, "status"), status_of(i)) != 0)
            fail_msg("tensor %s: status %s, expected %s", name, str_member(t, "status"), status_of(i));
        if (i % N_KINDS == K_PASS || i % N_KINDS == K_NAN)
            check_histogram(i, t);
    }
}

/* The JUnit testcase of tensor `name`: failing exactly when expected, and
 * then with the type of its first error finding (type_or_null). */
static void check_junit_case(const char *xml, const char *name, const char *type_or_null)
{
    char open[128];
    snprintf(open, sizeof open, "<testcase classname=\"tensors\" name=\"%s\"", name);
    const char *c = strstr(xml, open);
    if (!c)
        fail_msg("no testcase for %s", name);
    const char *end = strstr(c, "</testcase>"), *next = strstr(c + 1, "<testcase");
    const char *fail_tag = strstr(c, "<failure ");
    bool failing = fail_tag && (!next || fail_tag < next) && end && fail_tag < end;
    if (!type_or_null) {
        if (failing)
            fail_msg("testcase %s fails", name);
        return;
    }
    if (!failing)
        fail_msg("testcase %s passes", name);
    char type[96];
    snprintf(type, sizeof type, "type=\"%s\"", type_or_null);
    const char *t = strstr(fail_tag, type);
    if (!t || t > end)
        fail_msg("testcase %s: failure is not of type %s", name, type_or_null);
}

static void check_junit(const char *path)
{
    char *xml;
    assert_int_equal(run_read_file(path, &xml, NULL), 0);
    static const char *const type[N_KINDS] = {NULL, "kept.modified", "coverage.should_quantize",
                                              NULL, "coverage.missing", "mxfp4.scale_nan"};
    char name[64];
    for (size_t i = 0; i < N_LOGICAL; i++) {
        name_of(i, name, sizeof name);
        /* the finding on q.6.w_blocks belongs to q.6.w */
        check_junit_case(xml, name, i == MISPLACED ? "index.mismatch" : type[i % N_KINDS]);
    }
    free(xml);
}

/* Every tensor of a 3000-tensor pair has findings (but one kind in six):
 * each gets its own status, its own JUnit testcase, its own histogram. */
static void test_every_tensor_its_own_findings(void **state)
{
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX], json[RUN_PATH_MAX], junit[RUN_PATH_MAX];
    tensor_data *data = write_many(*state, src, dst);
    assert_int_equal(run_join(json, sizeof json, *state, "report.json"), 0);
    assert_int_equal(run_join(junit, sizeof junit, *state, "report.xml"), 0);
    const char *argv[] = {getenv("MXC_BIN"), "verify", src, dst, "--json", json, "--junit", junit,
                          "--quiet", "--no-progress", NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_TIMEOUT_S, &r), 0);
    if (r.status != 1)
        fail_msg("exit %d, expected 1; stderr: %s", r.status, r.err);
    run_result_free(&r);
    free(data);
    char *text;
    assert_int_equal(run_read_file(json, &text, NULL), 0);
    cJSON *report = cJSON_Parse(text);
    free(text);
    assert_non_null(report);
    check_tensors(report);
    cJSON_Delete(report);
    check_junit(junit);
}

/* ---- memory -------------------------------------------------------------- */

/* Runs argv with stdout to /dev/null; returns its exit status and peak
 * resident kilobytes. */
static int run_measured(const char *const *argv, long *maxrss_kb)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDIN_FILENO) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    assert_int_equal(wait4(pid, &st, 0, &ru), pid);
    assert_true(WIFEXITED(st));
    *maxrss_kb = ru.ru_maxrss;
    return WEXITSTATUS(st);
}

static void generate_big(const char *root, char *src, char *dst)
{
    char gen[RUN_PATH_MAX];
    const char *srcdir = getenv("MXC_SRCDIR");
    assert_non_null(srcdir);
    assert_int_equal(run_join(gen, sizeof gen, srcdir, "bench/gen_scale.py"), 0);
    const char *argv[] = {"python3", gen, "tensors", root, BIG_TENSORS, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_TIMEOUT_S, &r), 0);
    if (r.status != 0)
        fail_msg("gen_scale.py: exit %d: %s", r.status, r.err);
    run_result_free(&r);
    assert_int_equal(run_join(src, RUN_PATH_MAX, root, "src"), 0);
    assert_int_equal(run_join(dst, RUN_PATH_MAX, root, "dst"), 0);
}

/* 100k tensors verify (with a JSON report) and inspect within a bounded
 * number of bytes per tensor. Sanitizers multiply memory: skipped there. */
static void test_memory_per_tensor_bounded(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* ASan's shadow memory and quarantine are not the tool's */
#endif
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX], json[RUN_PATH_MAX];
    generate_big(*state, src, dst);
    assert_int_equal(run_join(json, sizeof json, *state, "report.json"), 0);
    const char *bin = getenv("MXC_BIN");
    /* two threads and the CPU backend, as on CI's machine: each thread's
     * malloc arena and the GPU's pinned staging buffers are fixed costs of
     * the host, not the per-tensor cost this measures */
    const char *verify[] = {bin,       "verify",        src,       dst,         "--json",    json, "--quiet",
                            "--no-progress", "--threads", "2", "--backend", "cpu", NULL};
    long kb;
    assert_int_equal(run_measured(verify, &kb), 0);
    if (kb > BASE_KB + MAX_KB_PER_TENSOR_VERIFY * BIG_COUNT)
        fail_msg("verify of %d tensors: %ld KB resident, more than %.1f KB per tensor", BIG_COUNT, kb,
                 MAX_KB_PER_TENSOR_VERIFY);
    const char *inspect[] = {bin, "inspect", "--json", dst, NULL};
    assert_int_equal(run_measured(inspect, &kb), 0);
    if (kb > BASE_KB + MAX_KB_PER_TENSOR_INSPECT * BIG_COUNT)
        fail_msg("inspect --json of %d tensors: %ld KB resident, more than %.1f KB per tensor",
                 BIG_COUNT, kb, MAX_KB_PER_TENSOR_INSPECT);
}

static int setup(void **state)
{
    return run_tmpdir_setup(state, "mxc-scale");
}

static int teardown(void **state)
{
    return run_tmpdir_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_tensor_its_own_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_per_tensor_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
