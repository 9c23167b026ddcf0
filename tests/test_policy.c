/* test_policy.c - each element of a rule file changes a verdict on the
 * independent fixture (SPEC §7): `verify --rules` with a limit, an
 * expectation, a severity, a waiver and its expiry, require_not_converted,
 * exclude, the order across files, --strict on a one-byte deviation, and
 * `rules explain`. Statistics quoted come from expected-stats.json (float64,
 * computed apart from this tool). */
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
#include <sys/stat.h>

#include "json_check.h"
#include "runner.h"

#define DOWN0 "model.layers.0.mlp.experts.down_proj"
#define EXPERTS "model.layers.*.mlp.experts.*"

typedef struct {
    char tmp[RUN_PATH_MAX], src[RUN_PATH_MAX], dst[RUN_PATH_MAX], rules[RUN_PATH_MAX];
    char rules2[RUN_PATH_MAX], report[RUN_PATH_MAX];
} pstate;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static int setup(void **state)
{
    pstate *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(run_mkdtemp("policy", s->tmp, sizeof s->tmp), 0);
    char from[RUN_PATH_MAX];
    snprintf(from, sizeof from, "%s/seedconv-small/mxfp4", env("MXC_FIXTURES"));
    snprintf(s->src, sizeof s->src, "%s/seedconv-small/bf16", env("MXC_FIXTURES"));
    assert_int_equal(run_join(s->dst, sizeof s->dst, s->tmp, "dst"), 0);
    assert_int_equal(run_copy_dir(from, s->dst), 0);
    assert_int_equal(run_join(s->rules, sizeof s->rules, s->tmp, "team.yaml"), 0);
    assert_int_equal(run_join(s->rules2, sizeof s->rules2, s->tmp, "more.yaml"), 0);
    assert_int_equal(run_join(s->report, sizeof s->report, s->tmp, "r.json"), 0);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    pstate *s = *state;
    int rc = run_rmtree(s->tmp);
    free(s);
    return rc;
}

/* verify SRC DST --json R [extra...]: the exit status, the report. */
static cJSON *verify(const pstate *s, int want_status, const char *const *extra)
{
    const char *argv[16] = {env("MXC_BIN"), "verify", s->src, s->dst, "--json", s->report, "--quiet"};
    int n = 7;
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    if (r.status != want_status)
        fail_msg("exit %d, expected %d; stderr:\n%s", r.status, want_status, r.err);
    run_result_free(&r);
    char *text;
    assert_int_equal(run_read_file(s->report, &text, NULL), 0);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("no number %s", key);
    return v->valuedouble;
}

/* The findings of id (on tensor, if not NULL), counted. */
static int count(const cJSON *j, const char *id, const char *tensor)
{
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings"))
        n += strcmp(str(f, "id"), id) == 0 && (!tensor || (str(f, "tensor") && strcmp(str(f, "tensor"), tensor) == 0));
    return n;
}

static const cJSON *first(const cJSON *j, const char *id, const char *tensor)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings"))
        if (strcmp(str(f, "id"), id) == 0 && (!tensor || (str(f, "tensor") && strcmp(str(f, "tensor"), tensor) == 0)))
            return f;
    fail_msg("no finding %s on %s", id, tensor ? tensor : "(any)");
    return NULL;
}

/* The finding's rule is {id, file, line}. */
static void assert_rule(const cJSON *f, const char *id, const char *file, unsigned line)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(f, "rule");
    if (!cJSON_IsObject(r))
        fail_msg("finding %s has no rule", str(f, "id"));
    if (id)
        assert_string_equal(str(r, "id"), id);
    else
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
    assert_string_equal(str(r, "file"), file);
    assert_int_equal((unsigned)num(r, "line"), line);
}

/* rel_l2 of a tensor per expected-stats.json. */
static double expected_rel_l2(const char *tensor)
{
    char path[RUN_PATH_MAX], *text;
    snprintf(path, sizeof path, "%s/seedconv-small/expected-stats.json", env("MXC_FIXTURES"));
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    cJSON *j = cJSON_Parse(text);
    free(text);
    double v = num(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "tensors"), tensor),
                   "rel_l2");
    cJSON_Delete(j);
    return v;
}

#define RULES(s, text) assert_int_equal(run_write_file((s)->rules, (text)), 0)
#define WITH_RULES(s) ((const char *const[]){"--rules", (s)->rules, NULL})

/* ---- the fixture as it is ------------------------------------------------- */

static void test_default_passes(void **state)
{
    pstate *s = *state;
    cJSON *j = verify(s, 0, NULL);
    assert_string_equal(str(j, "result"), "pass");
    /* the built-in default decided every limit: its rule and line */
    const cJSON *t = find_named(cJSON_GetObjectItemCaseSensitive(j, "tensors"), DOWN0);
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "limits"), "max_rel_l2");
    assert_true(num(lim, "value") == 0.2);
    assert_rule(lim, "default-limits", "builtin:default", 11);
    assert_rule(first(j, "index.total_size", NULL), NULL, "builtin:default", 25);
    cJSON_Delete(j);
}

/* ---- rules ---------------------------------------------------------------- */

static void test_limit_turns_pass_into_fail(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: experts-tight\n    select: [\"" EXPERTS "\"]\n"
             "    limits: {max_rel_l2: 0.1}\n");
    cJSON *j = verify(s, 1, WITH_RULES(s));
    assert_string_equal(str(j, "result"), "fail");
    assert_int_equal(count(j, "numerics.threshold", NULL), 4);
    const cJSON *f = first(j, "numerics.threshold", DOWN0);
    assert_rule(f, "experts-tight", s->rules, 3);
    char want[128];
    snprintf(want, sizeof want, "'" DOWN0 "': rel_l2 %.6g > 0.1", expected_rel_l2(DOWN0));
    assert_string_equal(str(f, "message"), want);
    /* the tensor's status names the same rule; other limits stay the default's */
    const cJSON *t = find_named(cJSON_GetObjectItemCaseSensitive(j, "tensors"), DOWN0);
    assert_string_equal(str(t, "status"), "fail");
    const cJSON *holder = t; /* status_rule is {id, file, line} like a finding's rule */
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddItemReferenceToObject(wrap, "rule", cJSON_GetObjectItemCaseSensitive(holder, "status_rule"));
    assert_rule(wrap, "experts-tight", s->rules, 3);
    cJSON_Delete(wrap);
    const cJSON *cos = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "limits"), "min_cosine");
    assert_rule(cos, "default-limits", "builtin:default", 11);
    cJSON_Delete(j);
}

static void test_expect_kept_on_experts(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: keep-experts\n    select: [\"" EXPERTS "\"]\n    expect: kept\n");
    cJSON *j = verify(s, 1, WITH_RULES(s));
    assert_int_equal(count(j, "coverage.should_keep", NULL), 4);
    const cJSON *f = first(j, "coverage.should_keep", DOWN0);
    assert_string_equal(str(f, "message"), "'" DOWN0 "' is quantized, but rule keep-experts says keep it");
    assert_rule(f, "keep-experts", s->rules, 3);
    cJSON_Delete(j);
}

static void test_severity_off_silences(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nfindings:\n  index.total_size: off\n");
    cJSON *j = verify(s, 0, WITH_RULES(s));
    assert_int_equal(count(j, "index.total_size", NULL), 0);
    assert_true(num(cJSON_GetObjectItemCaseSensitive(j, "summary"), "warnings") == 0);
    cJSON_Delete(j);
    /* and error makes the same finding fail the gate */
    RULES(s, "version: 1\nfindings:\n  index.total_size: error\n");
    j = verify(s, 1, WITH_RULES(s));
    const cJSON *f = first(j, "index.total_size", NULL);
    assert_string_equal(str(f, "severity"), "error");
    assert_rule(f, NULL, s->rules, 3);
    cJSON_Delete(j);
}

static void test_waiver_and_its_expiry(void **state)
{
    pstate *s = *state;
    static const char rule[] = "version: 1\nrules:\n  - id: experts-tight\n    select: [\"" EXPERTS "\"]\n"
                               "    limits: {max_rel_l2: 0.1}\nwaivers:\n  - rule: experts-tight\n"
                               "    select: [\"model.layers.*.mlp.experts.*\"]\n    reason: \"accepted in QA-1234\"\n"
                               "    expires: %s\n";
    char text[1024];
    snprintf(text, sizeof text, rule, "2999-12-31");
    RULES(s, text);
    cJSON *j = verify(s, 0, WITH_RULES(s));
    assert_string_equal(str(j, "result"), "pass");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
    assert_true(num(sum, "errors") == 0);
    assert_true(num(sum, "waived") == 4);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(first(j, "numerics.threshold", DOWN0), "waived");
    assert_string_equal(str(w, "reason"), "accepted in QA-1234");
    assert_string_equal(str(w, "expires"), "2999-12-31");
    assert_rule(w, "experts-tight", s->rules, 7);
    cJSON_Delete(j);
    /* past its date the waiver is void: the errors are back, and one more */
    snprintf(text, sizeof text, rule, "2000-01-01");
    RULES(s, text);
    j = verify(s, 1, WITH_RULES(s));
    assert_int_equal(count(j, "numerics.threshold", NULL), 4);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(first(j, "numerics.threshold", DOWN0), "waived")));
    const cJSON *e = first(j, "rules.waiver_expired", NULL);
    assert_string_equal(str(e, "severity"), "error");
    char want[RUN_PATH_MAX + 128];
    snprintf(want, sizeof want, "waiver of experts-tight at %s:7 expired on 2000-01-01: it no longer applies",
             s->rules);
    assert_string_equal(str(e, "message"), want);
    cJSON_Delete(j);
}

/* JUnit: a waived error fails no testcase but is shown with its waiver; an
 * unwaived one names its rule; the policy files are properties. */
static void test_junit_names_rules_and_waivers(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: experts-tight\n    select: [\"" EXPERTS "\"]\n"
             "    limits: {max_rel_l2: 0.1}\nwaivers:\n  - rule: experts-tight\n"
             "    select: [\"" DOWN0 "\"]\n    reason: \"accepted in QA-1234\"\n");
    char junit[RUN_PATH_MAX], *xml;
    assert_int_equal(run_join(junit, sizeof junit, s->tmp, "j.xml"), 0);
    cJSON_Delete(verify(s, 1, (const char *const[]){"--rules", s->rules, "--junit", junit, NULL}));
    assert_int_equal(run_read_file(junit, &xml, NULL), 0);
    char want[RUN_PATH_MAX * 3];
    /* the testcase's time is the run's, shared by bytes: skipped over */
    const char *tc = strstr(xml, "<testcase classname=\"tensors\" name=\"" DOWN0 "\" time=\"");
    assert_non_null(tc);
    tc = strstr(tc, "\">\n");
    assert_non_null(tc);
    snprintf(want, sizeof want,
             "\">\n      <system-out>waived error "
             "[numerics.threshold] &apos;" DOWN0 "&apos;: rel_l2 %.6g &gt; 0.1 (rule experts-tight, %s:3) "
             "waived by %s:7: accepted in QA-1234\n",
             expected_rel_l2(DOWN0), s->rules, s->rules);
    if (strncmp(tc, want, strlen(want)) != 0)
        fail_msg("no\n%s\nin\n%s", want, xml);
    snprintf(want, sizeof want, "(rule experts-tight, %s:3)\n</failure>", s->rules);
    assert_non_null(strstr(xml, want)); /* the other three fail, naming the rule */
    assert_non_null(strstr(xml, "<property name=\"waived\" value=\"1\"/>"));
    snprintf(want, sizeof want, "<property name=\"policy.file\" value=\"%s sha256:", s->rules);
    assert_non_null(strstr(xml, want));
    free(xml);
}

static void test_waiver_unused_and_select_unmatched(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: typo\n    select: [\"model.layers.*.mlp.expert.*\"]\n"
             "    limits: {max_rel_l2: 0.01}\nwaivers:\n  - finding: kept.modified\n    reason: x\n");
    cJSON *j = verify(s, 0, WITH_RULES(s));
    char want[RUN_PATH_MAX + 128];
    snprintf(want, sizeof want, "rule 'typo' at %s:3 selects no tensor", s->rules);
    const cJSON *f = first(j, "rules.select_unmatched", NULL);
    assert_string_equal(str(f, "message"), want);
    assert_string_equal(str(f, "severity"), "warn");
    snprintf(want, sizeof want, "waiver of kept.modified at %s:7 matched no finding", s->rules);
    assert_string_equal(str(first(j, "rules.waiver_unused", NULL), "message"), want);
    cJSON_Delete(j);
}

static void test_require_not_converted(void **state)
{
    pstate *s = *state;
    char cfg[RUN_PATH_MAX], *text;
    assert_int_equal(run_join(cfg, sizeof cfg, s->dst, "config.json"), 0);
    assert_int_equal(run_read_file(cfg, &text, NULL), 0);
    char *at = strstr(text, "      \"model.layers.*.mlp.router\",\n");
    assert_non_null(at);
    memmove(at, at + strlen("      \"model.layers.*.mlp.router\",\n"), strlen(at) - strlen("      \"model.layers.*.mlp.router\",\n") + 1);
    assert_int_equal(run_write_file(cfg, text), 0);
    free(text);
    /* the routers are kept by DST anyway; the rule says config.json must say so */
    RULES(s, "version: 1\nrules:\n  - id: routers-kept\n    select: [\"*.mlp.router.*\"]\n    expect: kept\n"
             "require_not_converted: [\"model.layers.*.mlp.router\"]\n");
    cJSON *j = verify(s, 1, WITH_RULES(s));
    assert_int_equal(count(j, "rules.require_not_converted", NULL), 4); /* 2 layers x weight, bias */
    /* the rule is met (DST keeps them), config.json still disagrees with DST */
    assert_int_equal(count(j, "coverage.should_quantize", NULL), 4);
    char want[RUN_PATH_MAX + 256];
    snprintf(want, sizeof want,
             "'model.layers.0.mlp.router.weight': require_not_converted 'model.layers.*.mlp.router' (%s:6), "
             "but no modules_to_not_convert pattern keeps it", s->rules);
    assert_string_equal(str(first(j, "rules.require_not_converted", "model.layers.0.mlp.router.weight"), "message"),
                        want);
    cJSON_Delete(j);
    /* the fixture's own config has the router: the same rules pass */
    char from[RUN_PATH_MAX];
    snprintf(from, sizeof from, "%s/seedconv-small/mxfp4/config.json", env("MXC_FIXTURES"));
    assert_int_equal(run_copy_file(from, cfg), 0);
    j = verify(s, 0, WITH_RULES(s));
    assert_int_equal(count(j, "rules.require_not_converted", NULL), 0);
    cJSON_Delete(j);
}

static void test_exclude_and_last_rule_wins(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: tight\n    select: [\"" EXPERTS "\"]\n    exclude: [\"model.layers.0.*\"]\n"
             "    limits: {max_rel_l2: 0.1}\n");
    cJSON *j = verify(s, 1, WITH_RULES(s));
    assert_int_equal(count(j, "numerics.threshold", NULL), 2); /* layer 1 only */
    assert_int_equal(count(j, "numerics.threshold", DOWN0), 0);
    cJSON_Delete(j);
    /* a later file loosens layer 1's down_proj again: the last rule decides */
    assert_int_equal(run_write_file(s->rules2, "version: 1\nrules:\n  - id: loose\n"
                                               "    select: [\"model.layers.1.mlp.experts.down_proj\"]\n"
                                               "    limits: {max_rel_l2: 0.5}\n"),
                     0);
    j = verify(s, 1, (const char *const[]){"--rules", s->rules, "--rules", s->rules2, NULL});
    assert_int_equal(count(j, "numerics.threshold", NULL), 1);
    assert_int_equal(count(j, "numerics.threshold", "model.layers.1.mlp.experts.gate_up_proj"), 1);
    const cJSON *t = find_named(cJSON_GetObjectItemCaseSensitive(j, "tensors"), "model.layers.1.mlp.experts.down_proj");
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "limits"), "max_rel_l2");
    assert_true(num(lim, "value") == 0.5);
    assert_rule(lim, "loose", s->rules2, 3);
    /* provenance: both files, in order, with their SHA-256 */
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "policy"), "files");
    assert_int_equal(cJSON_GetArraySize(files), 2);
    assert_string_equal(str(cJSON_GetArrayItem(files, 0), "path"), s->rules);
    assert_int_equal(strlen(str(cJSON_GetArrayItem(files, 1), "sha256")), 64);
    cJSON_Delete(j);
}

/* One scale byte +1 (one block of DST twice too large): the default policy
 * passes it with a warning; --strict fails it. */
static void test_strict_on_one_byte(void **state)
{
    pstate *s = *state;
    /* down_proj_scales of layer 0: data [397452, 400332) of model-00000, whose
     * header is 2608 bytes (read with Python's json module) */
    char shard[RUN_PATH_MAX], *text;
    size_t len;
    assert_int_equal(run_join(shard, sizeof shard, s->dst, "model-00000.safetensors"), 0);
    assert_int_equal(run_read_file(shard, &text, &len), 0);
    uint8_t b = (uint8_t)text[8 + 2608 + 397452];
    free(text);
    b++;
    assert_int_equal(run_pwrite(shard, 8 + 2608 + 397452, &b, 1), 0);
    cJSON *j = verify(s, 0, NULL);
    assert_string_equal(str(first(j, "numerics.requant_mismatch", DOWN0), "severity"), "warn");
    cJSON_Delete(j);
    j = verify(s, 1, (const char *const[]){"--strict", NULL});
    const cJSON *f = first(j, "numerics.threshold", DOWN0);
    assert_rule(f, "strict-bit-exact", "builtin:strict", 12);
    assert_non_null(strstr(str(f, "message"), "scales_identical 0.999"));
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(j, "policy"), "builtin"), "strict");
    cJSON_Delete(j);
}

/* Two files of equal bytes in two directories extend their own neighbours:
 * both are read, and the later one's rule decides. */
/* Under --strict the expected total_size warning is an error, unless the
 * team turned it off: strict promotes warnings, it does not revive what a
 * rule file silenced. */
static void test_strict_respects_off(void **state)
{
    pstate *s = *state;
    cJSON *j = verify(s, 1, (const char *const[]){"--strict", NULL});
    assert_string_equal(str(first(j, "index.total_size", NULL), "severity"), "error");
    cJSON_Delete(j);
    RULES(s, "version: 1\nfindings:\n  index.total_size: off\n");
    j = verify(s, 0, (const char *const[]){"--rules", s->rules, "--strict", NULL});
    assert_int_equal(count(j, "index.total_size", NULL), 0);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(j, "policy"), "builtin"), "strict");
    cJSON_Delete(j);
}

static void test_equal_files_in_two_directories(void **state)
{
    pstate *s = *state;
    char dir[RUN_PATH_MAX], path[RUN_PATH_MAX + 32];
    static const char *const sub[] = {"a", "b"};
    static const char *const local[] = {
        "version: 1\nrules:\n  - id: a-local\n    select: [\"*experts*\"]\n    limits: {max_rel_l2: 0.5}\n",
        "version: 1\nrules:\n  - id: b-local\n    select: [\"*experts*\"]\n    limits: {max_rel_l2: 0.1}\n"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_join(dir, sizeof dir, s->tmp, sub[i]), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/common.yaml", dir);
        assert_int_equal(run_write_file(path, "version: 1\nextends: [local.yaml]\n"), 0);
        snprintf(path, sizeof path, "%s/local.yaml", dir);
        assert_int_equal(run_write_file(path, local[i]), 0);
    }
    RULES(s, "version: 1\nextends: [a/common.yaml, b/common.yaml]\n");
    cJSON *j = verify(s, 1, WITH_RULES(s));
    assert_int_equal(count(j, "numerics.threshold", NULL), 4);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(first(j, "numerics.threshold", DOWN0), "rule"), "id"),
                        "b-local");
    cJSON_Delete(j);
}

/* --strict comes last: a team file cannot loosen it, and its warnings are
 * errors whoever set them. */
static void test_strict_cannot_be_loosened(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nfindings: {index.total_size: warn, numerics.requant_mismatch: warn}\n"
             "rules:\n  - id: loose\n    select: [\"*experts*\"]\n    limits: {max_excess: 1.05, min_scales_identical: 0.99}\n"
             "    severity: warn\n");
    char shard[RUN_PATH_MAX], *text;
    assert_int_equal(run_join(shard, sizeof shard, s->dst, "model-00000.safetensors"), 0);
    assert_int_equal(run_read_file(shard, &text, NULL), 0);
    uint8_t b = (uint8_t)(text[8 + 2608 + 397452] + 1);
    free(text);
    assert_int_equal(run_pwrite(shard, 8 + 2608 + 397452, &b, 1), 0);
    cJSON *j = verify(s, 1, (const char *const[]){"--rules", s->rules, "--strict", NULL});
    assert_string_equal(str(first(j, "numerics.threshold", DOWN0), "severity"), "error");
    assert_string_equal(str(first(j, "index.total_size", NULL), "severity"), "error");
    assert_true(num(cJSON_GetObjectItemCaseSensitive(j, "summary"), "warnings") == 0);
    cJSON_Delete(j);
}

/* An expectation adds a check: config.json that would make the loader read
 * the experts as BF16 still fails under gpt-oss, which expects them quantized. */
static void test_expect_does_not_hide_config(void **state)
{
    pstate *s = *state;
    char cfg[RUN_PATH_MAX], *text;
    assert_int_equal(run_join(cfg, sizeof cfg, s->dst, "config.json"), 0);
    assert_int_equal(run_read_file(cfg, &text, NULL), 0);
    char *at = strstr(text, "\"lm_head\"");
    assert_non_null(at);
    char *out = malloc(strlen(text) + 64);
    memcpy(out, text, (size_t)(at - text));
    strcpy(out + (at - text), "\"model.layers.*.mlp.experts\", ");
    strcat(out, at);
    assert_int_equal(run_write_file(cfg, out), 0);
    free(out);
    free(text);
    RULES(s, "version: 1\nextends: [gpt-oss]\n");
    cJSON *j = verify(s, 1, WITH_RULES(s));
    assert_int_equal(count(j, "coverage.should_keep", NULL), 4);
    cJSON_Delete(j);
}

static void test_bad_rules_file_is_exit_2(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: x\n    select: [\"*\"]\n    limits: {max_rel_l2: lots}\n");
    const char *argv[] = {env("MXC_BIN"), "verify", s->src, s->dst, "--rules", s->rules, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 2);
    char want[RUN_PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:5:26: max_rel_l2 must be a number, not 'lots'\n", s->rules);
    assert_string_equal(r.err, want);
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
}

static void test_explain(void **state)
{
    pstate *s = *state;
    RULES(s, "version: 1\nrules:\n  - id: experts-tight\n    select: [\"" EXPERTS "\"]\n"
             "    limits: {max_rel_l2: 0.15, min_cosine: 0.99}\n    severity: warn\n");
    const char *argv[] = {env("MXC_BIN"), "rules", "explain", "--rules", s->rules, s->dst, DOWN0, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 0);
    char want[RUN_PATH_MAX * 2];
    snprintf(want, sizeof want,
             "  max_rel_l2            0.15       warn     experts-tight %s:3  overrides default-limits builtin:default:11\n",
             s->rules);
    if (!strstr(r.out, want))
        fail_msg("no line\n%s\nin\n%s", want, r.out);
    assert_non_null(strstr(r.out, "tensor " DOWN0 " (quantized in DST)\n"));
    assert_non_null(strstr(r.out, "  expect                -          -        config.json: quantized (no pattern keeps it)\n"));
    assert_non_null(strstr(r.out, "  max_excess            1.25       error    default-limits builtin:default:11\n"));
    assert_non_null(strstr(r.out, "  min_snr_db            -          -        no limit\n"));
    run_result_free(&r);
}

#define CASE(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(test_default_passes),
        CASE(test_limit_turns_pass_into_fail),
        CASE(test_expect_kept_on_experts),
        CASE(test_severity_off_silences),
        CASE(test_waiver_and_its_expiry),
        CASE(test_junit_names_rules_and_waivers),
        CASE(test_waiver_unused_and_select_unmatched),
        CASE(test_require_not_converted),
        CASE(test_exclude_and_last_rule_wins),
        CASE(test_strict_on_one_byte),
        CASE(test_strict_respects_off),
        CASE(test_equal_files_in_two_directories),
        CASE(test_strict_cannot_be_loosened),
        CASE(test_expect_does_not_hide_config),
        CASE(test_bad_rules_file_is_exit_2),
        CASE(test_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
