/* The CUDA backend against the CPU reference (run by `make test-gpu` on a
 * machine with a GPU): random slabs of every shape the engine cuts, with
 * non-finite values, NaN scales and each decoding variant, element for element
 * through the same contract; then whole verify runs on the fixture and the
 * samples, report against report. Counts, maxima, their indices and
 * histograms must be identical; sums equal to 1e-12 relative. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mxfp4.h"
#include "numerics.h"
#include "runner.h"
#include "xorshift.h"

#define REL_TOL 1e-12

static uint64_t rng = 0x9E3779B97F4A7C15u;

/* BF16 weights of realistic spread, with outliers and a few NaN/inf. */
static uint16_t random_bf16(void)
{
    uint64_t r = xorshift64(&rng);
    if (r % 5003 == 0)
        return (r & 1) ? 0x7FC0 : 0xFF80; /* NaN, -inf */
    float mag = (float)((r >> 8) & 0xFFFF) / 65536.0f * ((r % 97 == 0) ? 8.0f : 0.05f);
    float v = (r & 2) ? -mag : mag;
    return (uint16_t)(mxfp4_f32_bits(v) >> 16);
}

static bool close_rel(double a, double b)
{
    if (a == b)
        return true;
    return fabs(a - b) <= REL_TOL * fmax(fabs(a), fabs(b));
}

static void assert_same_acc(const stats_acc *c, const stats_acc *g, const char *what)
{
    if (c->n != g->n || c->nonfinite != g->nonfinite || c->equal != g->equal ||
        c->codes_equal != g->codes_equal || c->codes_total != g->codes_total ||
        c->scales_equal != g->scales_equal || c->scales_total != g->scales_total)
        fail_msg("%s: counts differ (n %llu/%llu nonfinite %llu/%llu equal %llu/%llu codes %llu/%llu)", what,
                 (unsigned long long)c->n, (unsigned long long)g->n, (unsigned long long)c->nonfinite,
                 (unsigned long long)g->nonfinite, (unsigned long long)c->equal,
                 (unsigned long long)g->equal, (unsigned long long)c->codes_equal,
                 (unsigned long long)g->codes_equal);
    if (c->max_abs_err != g->max_abs_err || c->max_abs_err_index != g->max_abs_err_index)
        fail_msg("%s: max_abs_err %.17g@%llu vs %.17g@%llu", what, c->max_abs_err,
                 (unsigned long long)c->max_abs_err_index, g->max_abs_err,
                 (unsigned long long)g->max_abs_err_index);
    const double cs[] = {c->sum_abs_err, c->sum_sq_err, c->sum_sq_src, c->sum_sq_deq, c->dot, c->ref_sum_sq_err};
    const double gs[] = {g->sum_abs_err, g->sum_sq_err, g->sum_sq_src, g->sum_sq_deq, g->dot, g->ref_sum_sq_err};
    for (int i = 0; i < 6; i++)
        if (!close_rel(cs[i], gs[i]))
            fail_msg("%s: sum %d: %.17g vs %.17g", what, i, cs[i], gs[i]);
}

typedef struct {
    mx_geom g;
    mx_slab s;
} shape_case;

static void run_case(backend *cuda, const shape_case *sc, const mx_variant *v, bool requant)
{
    uint64_t src_bytes = mx_slab_src_bytes(&sc->g, &sc->s), blk = mx_slab_blocks_bytes(&sc->s),
             sc_bytes = mx_slab_scales_bytes(&sc->s);
    uint16_t *src = malloc(src_bytes);
    uint8_t *blocks = malloc(blk), *scales = malloc(sc_bytes);
    assert_non_null(src);
    assert_non_null(blocks);
    assert_non_null(scales);
    for (uint64_t i = 0; i < src_bytes / 2; i++)
        src[i] = random_bf16();
    for (uint64_t i = 0; i < blk; i++)
        blocks[i] = (uint8_t)xorshift64(&rng);
    for (uint64_t i = 0; i < sc_bytes; i++) /* mostly plausible exponents, some NaN */
        scales[i] = xorshift64(&rng) % 1009 == 0 ? MXFP4_SCALE_NAN : (uint8_t)(118 + xorshift64(&rng) % 12);
    mx_buffers b = {src, blocks, scales};
    stats_acc c, g;
    stats_init(&c);
    stats_init(&g);
    uint64_t hc[MX_HIST_LEN] = {0}, hg[MX_HIST_LEN] = {0};
    char err[256], what[160];
    mx_compare_slab_cpu(&sc->g, &sc->s, &b, v, requant, &c, hc);
    if (backend_compare_slab(cuda, &sc->g, &sc->s, &b, v, requant, &g, hg, err, sizeof err) != 0)
        fail_msg("cuda: %s", err);
    snprintf(what, sizeof what, "%s M%llu N%llu G%llu slab m[%llu,%llu) n[%llu,%llu) g[%llu,%llu) order %d scale %d k %d requant %d",
             sc->g.layout == MX_TRANSPOSED ? "transposed" : "direct",
             (unsigned long long)sc->g.matrices, (unsigned long long)sc->g.rows,
             (unsigned long long)sc->g.groups, (unsigned long long)sc->s.m0, (unsigned long long)sc->s.m1,
             (unsigned long long)sc->s.n0, (unsigned long long)sc->s.n1, (unsigned long long)sc->s.g0,
             (unsigned long long)sc->s.g1, (int)v->order, (int)v->scale, v->scale_bias_k, requant);
    assert_same_acc(&c, &g, what);
    assert_memory_equal(hc, hg, sizeof hc);
    free(src);
    free(blocks);
    free(scales);
}

static void test_random_slabs(void **state)
{
    backend *cuda = *state;
    const shape_case cases[] = {
        {{3, 192, 5, MX_TRANSPOSED}, {0, 3, 0, 192, 0, 5}},      /* the fixture's down_proj */
        {{3, 320, 6, MX_TRANSPOSED}, {0, 3, 0, 320, 0, 6}},
        {{2, 2880, 90, MX_TRANSPOSED}, {0, 2, 0, 2880, 0, 90}},  /* GPT-OSS expert matrices */
        {{4, 64, 2, MX_DIRECT}, {0, 4, 0, 64, 0, 2}},
        {{1, 1000, 7, MX_DIRECT}, {0, 1, 0, 1000, 0, 7}},        /* rows not a multiple of 128 */
        {{2, 300, 9, MX_TRANSPOSED}, {1, 2, 0, 300, 3, 7}},      /* a partial matrix: groups cut */
        {{2, 300, 9, MX_DIRECT}, {1, 2, 17, 233, 0, 9}},         /* a partial matrix: rows cut */
        {{1, 1, 1, MX_DIRECT}, {0, 1, 0, 1, 0, 1}},              /* one block */
    };
    /* every element order and scale encoding the diagnosis replays (the
     * offsets histogram comes with requant) */
    const mx_variant variants[] = {
        MX_VARIANT_FAITHFUL,
        {MXFP4_ORDER_NIBBLE_SWAP, MXFP4_SCALE_E8M0, 0},
        {MXFP4_ORDER_NIBBLE_SPLIT, MXFP4_SCALE_E8M0, 0},
        {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, 2},
        {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, -3},
        {MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, 40},
        {MXFP4_ORDER_NIBBLE_SWAP, MXFP4_SCALE_SIGNED, 0},
        {MXFP4_ORDER_NIBBLE_SPLIT, MXFP4_SCALE_SIGNED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
            run_case(cuda, &cases[i], &variants[v], v % 2 == 0);
}

/* ---- whole runs ---------------------------------------------------------- */

static cJSON *report_gpus(const char *src, const char *dst, const char *backend_name, const char *gpus)
{
    const char *argv[] = {getenv("MXC_BIN"), "verify", src, dst, "--backend", backend_name,
                          "--json", "-", "--no-progress", gpus ? "--gpus" : NULL, gpus, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, 120, &r), 0);
    if (r.status == 2)
        fail_msg("verify --backend %s: %s", backend_name, r.err);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    run_result_free(&r);
    return j;
}

static cJSON *report(const char *src, const char *dst, const char *backend_name)
{
    return report_gpus(src, dst, backend_name, NULL);
}

/* The findings of two reports: the same ids on the same tensors, in order. */
static void assert_same_findings(cJSON *c, cJSON *g)
{
    cJSON *fc = cJSON_GetObjectItem(c, "findings"), *fg = cJSON_GetObjectItem(g, "findings");
    assert_int_equal(cJSON_GetArraySize(fc), cJSON_GetArraySize(fg));
    for (int i = 0; i < cJSON_GetArraySize(fc); i++) {
        cJSON *a = cJSON_GetArrayItem(fc, i), *b = cJSON_GetArrayItem(fg, i);
        assert_string_equal(cJSON_GetObjectItem(a, "id")->valuestring, cJSON_GetObjectItem(b, "id")->valuestring);
        cJSON *ta = cJSON_GetObjectItem(a, "tensor"), *tb = cJSON_GetObjectItem(b, "tensor");
        assert_string_equal(cJSON_IsString(ta) ? ta->valuestring : "", cJSON_IsString(tb) ? tb->valuestring : "");
        /* a diagnosis: the same cause, k and message (its rel_l2 undone as printed) */
        const char *keys[] = {"cause", "message"};
        for (int k = 0; k < 2; k++) {
            cJSON *va = cJSON_GetObjectItem(a, keys[k]), *vb = cJSON_GetObjectItem(b, keys[k]);
            assert_string_equal(cJSON_IsString(va) ? va->valuestring : "", cJSON_IsString(vb) ? vb->valuestring : "");
        }
        cJSON *ka = cJSON_GetObjectItem(a, "k"), *kb = cJSON_GetObjectItem(b, "k");
        assert_int_equal(ka != NULL, kb != NULL);
        if (ka)
            assert_int_equal((int)ka->valuedouble, (int)kb->valuedouble);
    }
}

static void assert_reports_agree(const char *src, const char *dst)
{
    cJSON *c = report(src, dst, "cpu"), *g = report(src, dst, "cuda");
    assert_string_equal(cJSON_GetObjectItem(c, "result")->valuestring,
                        cJSON_GetObjectItem(g, "result")->valuestring);
    assert_same_findings(c, g);
    cJSON *tc = cJSON_GetObjectItem(c, "tensors"), *tg = cJSON_GetObjectItem(g, "tensors");
    assert_int_equal(cJSON_GetArraySize(tc), cJSON_GetArraySize(tg));
    for (int i = 0; i < cJSON_GetArraySize(tc); i++) {
        cJSON *a = cJSON_GetArrayItem(tc, i), *b = cJSON_GetArrayItem(tg, i);
        const char *name = cJSON_GetObjectItem(a, "name")->valuestring;
        assert_string_equal(name, cJSON_GetObjectItem(b, "name")->valuestring);
        assert_string_equal(cJSON_GetObjectItem(a, "status")->valuestring,
                            cJSON_GetObjectItem(b, "status")->valuestring);
        const char *groups[] = {"stats", "requant"};
        for (int k = 0; k < 2; k++) {
            cJSON *sa = cJSON_GetObjectItem(a, groups[k]), *sb = cJSON_GetObjectItem(b, groups[k]);
            if (!cJSON_IsObject(sa))
                continue;
            for (cJSON *f = sa->child; f; f = f->next) {
                cJSON *o = cJSON_GetObjectItem(sb, f->string);
                if (cJSON_IsNumber(f) && !close_rel(f->valuedouble, o->valuedouble))
                    fail_msg("%s %s.%s: cpu %.17g cuda %.17g", name, groups[k], f->string,
                             f->valuedouble, o->valuedouble);
            }
        }
        char *hc = cJSON_PrintUnformatted(cJSON_GetObjectItem(a, "scale_hist"));
        char *hg = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "scale_hist"));
        if (hc || hg)
            assert_string_equal(hc ? hc : "", hg ? hg : "");
        free(hc);
        free(hg);
    }
    cJSON_Delete(c);
    cJSON_Delete(g);
}

static void test_fixture_reports_agree(void **state)
{
    (void)state;
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX];
    snprintf(src, sizeof src, "%s/seedconv-small/bf16", getenv("MXC_FIXTURES"));
    snprintf(dst, sizeof dst, "%s/seedconv-small/mxfp4", getenv("MXC_FIXTURES"));
    assert_reports_agree(src, dst);
}

static void test_samples_and_faults_agree(void **state)
{
    (void)state;
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX], out[RUN_PATH_MAX], dir[RUN_PATH_MAX - 16];
    snprintf(src, sizeof src, "%s/samples/tiny-bf16", getenv("MXC_SRCDIR"));
    snprintf(dst, sizeof dst, "%s/samples/tiny-mxfp4", getenv("MXC_SRCDIR"));
    assert_reports_agree(src, dst);
    /* a mistake the diagnosis must name on both backends */
    assert_int_equal(run_mkdtemp("mxc-gpu", dir, sizeof dir), 0);
    assert_int_equal(run_join(out, sizeof out, dir, "out"), 0);
    char plant[RUN_PATH_MAX];
    snprintf(plant, sizeof plant, "%s/plant", getenv("MXC_TOOLS"));
    const char *argv[] = {plant, "no-transpose", src, dst, out, "model.layers.0.mlp.experts.down_proj", NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, 60, &r), 0);
    assert_int_equal(r.status, 0);
    run_result_free(&r);
    assert_reports_agree(src, out);
    run_rmtree(dir);
    /* every axis of the diagnosis's table, alone and combined: the CUDA run
     * replays the candidates on its kernel and must name the same cause */
    const char *conventions[] = {"missing_transpose+nibble_swap", "nibble_split+scale_bias:-3",
                                 "missing_transpose+nibble_split+scale_signed:I8", "scale_bias:40",
                                 "nibble_swap+scale_signed"};
    for (size_t i = 0; i < sizeof conventions / sizeof conventions[0]; i++) {
        assert_int_equal(run_mkdtemp("mxc-gpu", dir, sizeof dir), 0);
        assert_int_equal(run_join(out, sizeof out, dir, "out"), 0);
        const char *cv[] = {plant, "convention", src, dst, out, "model.layers.0.mlp.experts.down_proj",
                            conventions[i], NULL};
        assert_int_equal(run_cmd(cv, 60, &r), 0);
        if (r.status != 0)
            fail_msg("plant convention %s: %s", conventions[i], r.err);
        run_result_free(&r);
        assert_reports_agree(src, out);
        run_rmtree(dir);
    }
}

/* The tensors and findings of a report, as text (timings left out). */
static char *report_text(cJSON *j)
{
    cJSON *keep = cJSON_CreateObject();
    cJSON_AddItemReferenceToObject(keep, "result", cJSON_GetObjectItem(j, "result"));
    cJSON_AddItemReferenceToObject(keep, "tensors", cJSON_GetObjectItem(j, "tensors"));
    cJSON_AddItemReferenceToObject(keep, "findings", cJSON_GetObjectItem(j, "findings"));
    char *s = cJSON_PrintUnformatted(keep);
    cJSON_Delete(keep);
    return s;
}

/* Several GPUs of one host share the work; merged in job order, the report
 * is the one GPU's, bit for bit. Two workers on device 0 run that path on a
 * one-GPU machine; small slabs make many jobs for them to share. */
static void test_two_workers_same_report(void **state)
{
    (void)state;
    char src[RUN_PATH_MAX], dst[RUN_PATH_MAX];
    snprintf(src, sizeof src, "%s/seedconv-small/bf16", getenv("MXC_FIXTURES"));
    snprintf(dst, sizeof dst, "%s/seedconv-small/mxfp4", getenv("MXC_FIXTURES"));
    setenv("MXFP4_CHECK_SLAB_BYTES", "65536", 1);
    cJSON *one = report_gpus(src, dst, "cuda", "1"), *two = report_gpus(src, dst, "cuda", "0,0");
    cJSON *three = report_gpus(src, dst, "cuda", "0,0,0");
    unsetenv("MXFP4_CHECK_SLAB_BYTES");
    char *a = report_text(one), *b = report_text(two), *c = report_text(three);
    assert_true(strlen(a) > 1000);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    free(a);
    free(b);
    free(c);
    cJSON_Delete(one);
    cJSON_Delete(two);
    cJSON_Delete(three);
}

static int open_cuda(void **state)
{
    char err[256];
    backend *b;
    if (backend_open("cuda", NULL, &b, err, sizeof err) != 0 || backend_ready(b, err, sizeof err) != 0) {
        fprintf(stderr, "no CUDA backend: %s\n", err);
        return -1;
    }
    *state = b;
    return 0;
}

static int close_cuda(void **state)
{
    backend_close(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_slabs),
        cmocka_unit_test(test_fixture_reports_agree),
        cmocka_unit_test(test_samples_and_faults_agree),
        cmocka_unit_test(test_two_workers_same_report),
    };
    return cmocka_run_group_tests(tests, open_cuda, close_cuda);
}
