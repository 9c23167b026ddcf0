/* test_pattern.c - the converter and loader views of modules_to_not_convert. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pattern.h"
#include "util.h"

/* Both views of one (pattern, name) pair in one line. */
static void check(const char *pattern, const char *name, bool conv, bool loader)
{
    if (pat_match_converter(pattern, name) != conv)
        fail_msg("converter view: '%s' vs '%s' should be %d", pattern, name, conv);
    if (pat_match_loader(pattern, name) != (loader ? PYRE_MATCH : PYRE_NO_MATCH))
        fail_msg("loader view: '%s' vs '%s' should be %d", pattern, name, loader);
}

/* ---- SPEC §1 and §3 ----------------------------------------------------- */

static void test_spec_examples(void **state)
{
    (void)state;
    check("lm_head", "lm_head.weight", true, true);
    check("model.layers.*.self_attn", "model.layers.3.self_attn.q_proj.bias", true, true);
    check("model.layers.*.self_attn", "model.layers.3.self_attn", true, false);
}

static void test_converter_anchored(void **state)
{
    (void)state;
    /* SPEC §3: mlp.gate must not match mlp.gate_proj in the converter view;
     * re.match's prefix semantics do match it in the loader view. */
    check("mlp.gate", "mlp.gate_proj.weight", false, true);
    /* Anchored at the start: no match in the middle of a name. The loader's
     * module "model.layers.0.mlp.gate" ends with "mlp.gate", though. */
    check("mlp.gate", "model.layers.0.mlp.gate.weight", false, true);
    check("mlp.gate", "model.layers.0.mlp.gate_proj.weight", false, false);
    check("mlp.gate", "mlp.gate.weight", true, true);
    check("model.layers.*.mlp.gate", "model.layers.0.mlp.gate.weight", true, true);
    /* A view mismatch: prefix regex in the loader, whole segments in the converter. */
    check("model.layers.*.mlp.gate", "model.layers.0.mlp.gate_proj.weight", false, true);
    check("lm_head", "lm_head_extra.weight", false, true);
    check("lm_head", "model.lm_head.weight", false, true);
}

static void test_star_spans_dots(void **state)
{
    (void)state;
    assert_true(pat_match_converter("model.*.weight", "model.layers.0.self_attn.q_proj.weight"));
    assert_true(pat_match_converter("model.*_bias", "model.layers.0.mlp.experts.down_proj_bias"));
    assert_true(pat_match_converter("*.self_attn", "model.layers.0.self_attn.sinks"));
    assert_true(pat_match_converter("*proj", "model.layers.0.self_attn.q_proj.weight"));
    assert_true(pat_match_converter("*", "anything.at.all"));
    assert_true(pat_match_converter("*", ""));
    assert_true(pat_match_converter("**", "a.b"));
    assert_true(pat_match_converter("a*b*c", "aXbYbZc"));
    assert_true(pat_match_converter("a*b*c", "aXbYc.d.e"));
    assert_true(pat_match_converter("a*b", "ab.b.c"));       /* "ab" + ".b.c" */
    assert_true(pat_match_converter("model.layers.*", "model.layers.7"));
    assert_false(pat_match_converter("model.layers.*", "model.layers"));
    assert_false(pat_match_converter("*.self_attn", "model.layers.0.self_attnx.sinks"));
    assert_false(pat_match_converter("a*b*c", "aXbYcZ"));
    /* A star does not make other characters special. */
    assert_false(pat_match_converter("model.layers.?.mlp", "model.layers.1.mlp.router.weight"));
    assert_true(pat_match_converter("model.layers.[0].mlp", "model.layers.[0].mlp.x"));
    /* In the loader view "*" alone is "nothing to repeat": matches nothing. */
    assert_int_equal(pat_match_loader("*.self_attn", "model.layers.0.self_attn.sinks"), PYRE_NO_MATCH);
    assert_int_equal(pat_match_loader("*", "anything.at.all"), PYRE_NO_MATCH);
}

static void test_empty_pattern(void **state)
{
    (void)state;
    check("", "lm_head.weight", false, true); /* re.match("") matches everything */
    check("", "", true, true);
    assert_false(pat_match_converter("", "lm_head"));
    assert_int_equal(pat_first_match((const char *const[]){""}, 1, "lm_head.weight"), -1);
}

static void test_pattern_equal_to_name(void **state)
{
    (void)state;
    /* The loader only ever sees the module "model.norm": a pattern naming the
     * tensor matches nothing there. */
    check("model.norm.weight", "model.norm.weight", true, false);
    check("lm_head.weight", "lm_head.weight", true, false);
    /* A name without a dot belongs to the root module "". */
    check("lm_head", "lm_head", true, false);
}

static void test_pattern_longer_than_name(void **state)
{
    (void)state;
    check("lm_head.weight.extra", "lm_head.weight", false, false);
    check("lm_head.weight", "lm_head", false, false);
    check("model.layers.0.mlp", "model.layers.0", false, false);
    check("model.layers.0.mlp*", "model.layers.0", false, false);
}

static void test_pathological_star_pattern_finishes(void **state)
{
    (void)state;
    enum { NAME_LEN = 10000, STARS = 40 };
    char *name = xmalloc(NAME_LEN + 1);
    memset(name, 'a', NAME_LEN);
    name[NAME_LEN] = '\0';
    char *pattern = xmalloc(2 * STARS + 2);
    for (int i = 0; i < STARS; i++) {
        pattern[2 * i] = '*';
        pattern[2 * i + 1] = 'a';
    }
    pattern[2 * STARS] = 'b';
    pattern[2 * STARS + 1] = '\0';

    assert_false(pat_match_converter(pattern, name));
    assert_int_equal(pat_match_loader(pattern, name), PYRE_NO_MATCH);
    name[NAME_LEN - 1] = 'b';
    assert_true(pat_match_converter(pattern, name));
    name[NAME_LEN - 1] = 'a';
    for (int i = 100; i < NAME_LEN; i += 100)
        name[i] = '.';
    assert_false(pat_match_converter(pattern, name));
    /* Classic regex blow-ups finish without a false match: no match, or
     * PCRE2's limit (which verify reports as an error) */
    assert_int_not_equal(pat_match_loader("(a|aa)*b", name), PYRE_MATCH);
    assert_int_not_equal(pat_match_loader("(a*)*b", name), PYRE_MATCH);
    assert_int_equal(pat_match_loader("a.*b", name), PYRE_NO_MATCH);
    free(pattern);
    free(name);
}

/* ---- loader view -------------------------------------------------------- */

static void test_loader_regex_specials(void **state)
{
    (void)state;
    check("model.layers.0", "modelXlayers.0.x", false, true); /* '.' is any character */
    check("model\\.layers\\.0", "modelXlayers.0.x", false, false);
    check("model\\.layers\\.0", "model.layers.0.x", false, true);
    assert_int_equal(pat_match_loader("model.layers.[0-9]+.self_attn", "model.layers.12.self_attn.sinks"), PYRE_MATCH);
    assert_int_equal(pat_match_loader("lm_head$", "lm_head.weight"), PYRE_MATCH);
    assert_int_equal(pat_match_loader("model$", "model.layers.0.x"), PYRE_NO_MATCH);
    /* Every alternative is anchored, as with re.match. */
    assert_int_equal(pat_match_loader("lm_head|norm", "lm_head.weight"), PYRE_MATCH);
    assert_int_equal(pat_match_loader("lm_head|norm", "model.norm.weight"), PYRE_NO_MATCH);
    assert_int_equal(pat_match_loader("lm_head|model.norm", "model.norm.weight"), PYRE_MATCH);
    assert_int_equal(pat_match_loader("(model|x).embed", "model.embed_tokens.weight"), PYRE_MATCH);
}

static void test_loader_invalid_regex(void **state)
{
    (void)state;
    check("model.layers.[", "model.layers.0.x", false, false);
    check("model.layers.[", "model.layers.[.weight", true, false);
    /* A ')' glibc would take literally must not break the anchor. */
    assert_int_equal(pat_match_loader("x)|(model", "model.layers.0.x"), PYRE_NO_MATCH);
    assert_int_equal(pat_match_loader("x)|model", "model.layers.0.x"), PYRE_NO_MATCH);
    assert_int_equal(pat_match_loader("(a", "a.b.c"), PYRE_NO_MATCH);
    assert_int_equal(pat_match_loader("ab\\", "ab\\.c"), PYRE_NO_MATCH); /* trailing backslash */
    /* A bracket may hold ')' and ']' without unbalancing anything. */
    assert_int_equal(pat_match_loader("a[)]b", "a)b.c.d"), PYRE_MATCH);
    assert_int_equal(pat_match_loader("a[]x]b", "a]b.c.d"), PYRE_MATCH);

    pat_loader *m = pat_loader_new("model.layers.[");
    assert_string_equal(pat_loader_error(m), "missing terminating ] for character class at byte 14");
    assert_int_equal(pat_loader_match(m, "model.layers.[.weight", NULL, 0), PYRE_NO_MATCH);
    pat_loader_free(m);
    m = pat_loader_new("x)|model");
    assert_string_equal(pat_loader_error(m), "unmatched closing parenthesis at byte 1");
    pat_loader_free(m);
    m = pat_loader_new("*lm_head"); /* Python: "nothing to repeat at position 0" */
    assert_string_equal(pat_loader_error(m), "quantifier does not follow a repeatable item at byte 0");
    pat_loader_free(m);
}

/* ---- loader view: Python's dialect, and patterns that stall an engine ---- */

/* `unit` written n times between head and tail (malloc'ed). */
static char *repeated(const char *head, const char *unit, int n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *p = xmalloc(hl + ul * (size_t)n + tl + 1);
    memcpy(p, head, hl);
    for (int i = 0; i < n; i++)
        memcpy(p + hl + ul * (size_t)i, unit, ul);
    memcpy(p + hl + ul * (size_t)n, tail, tl + 1);
    return p;
}

static void test_loader_python_dialect(void **state)
{
    (void)state;
    /* POSIX regcomp read \d as the letter d: "ddd" matched, layer 12 did not */
    check("model\\.layers\\.\\d+\\.self_attn", "model.layers.12.self_attn.q_proj.weight", false, true);
    check("model\\.layers\\.\\d+\\.self_attn", "model.layers.ddd.self_attn.q_proj.weight", false, false);
    check("model\\.layers\\.(?:0|1)\\.mlp", "model.layers.1.mlp.router.weight", false, true);
    check("model\\.layers\\.(?P<n>\\d+)\\.mlp", "model.layers.7.mlp.router.weight", false, true);
    check("model.+?router", "model.layers.0.mlp.router.weight", false, true);
    check("\\w+\\.layers\\.\\d\\.(?!mlp)", "model.layers.0.self_attn.sinks", false, true);
    check("\\w+\\.layers\\.\\d\\.(?!mlp)", "model.layers.0.mlp.router.weight", false, false);
    check("model\\.\\u006Eorm", "model.norm.weight", false, true); /* \uXXXX as Python reads it */
    check("(a)\\1", "aa.b", false, true);                              /* back-references exist */
    check("[^.]+\\.embed_tokens", "model.embed_tokens.weight", false, true);
}

static void test_loader_limits(void **state)
{
    (void)state;
    /* exponential backtracking: PCRE2's match limit stops it, and the
     * caller is told (PYRE_LIMIT), never "no match" */
    char name[64];
    memset(name, 'a', 40);
    strcpy(name + 40, "b.w");
    pat_loader *m = pat_loader_new("(a+)+$");
    assert_null(pat_loader_error(m));
    char why[PYRE_ERR_LEN] = "";
    assert_int_equal(pat_loader_match(m, name, why, sizeof why), PYRE_LIMIT);
    assert_string_equal(why, "match limit exceeded");
    /* the same matcher still answers other names */
    assert_int_equal(pat_loader_match(m, "aaa.w", NULL, 0), PYRE_MATCH);
    pat_loader_free(m);
    m = pat_loader_new("((a|aa)*)*$");
    assert_int_equal(pat_loader_match(m, name, why, sizeof why), PYRE_LIMIT);
    pat_loader_free(m);
    /* PCRE2 copies repeated groups too, but bounds what it builds: what
     * made regcomp take seconds and gigabytes is refused at once, or works */
    m = pat_loader_new("((a{1,100}){1,100}){1,100}");
    assert_string_equal(pat_loader_error(m), "regular expression is too large at byte 26");
    pat_loader_free(m);
    check("(a{1,100}){1,100}", "aaaa.w", false, true);
    check("(a?){0,50}b", "aab.w", false, true);
    /* a pattern past PYRE_MAX_PATTERN_LEN is refused, suffix rule included */
    char *p = repeated("", "a", PYRE_MAX_PATTERN_LEN + 1, "");
    char *n = repeated("", "a", PYRE_MAX_PATTERN_LEN + 1, ".w");
    m = pat_loader_new(p);
    assert_string_equal(pat_loader_error(m), "longer than 4096 bytes at byte 0");
    assert_int_equal(pat_loader_match(m, n, NULL, 0), PYRE_NO_MATCH);
    pat_loader_free(m);
    p[PYRE_MAX_PATTERN_LEN] = '\0';
    n[PYRE_MAX_PATTERN_LEN] = '.';
    n[PYRE_MAX_PATTERN_LEN + 1] = 'w';
    n[PYRE_MAX_PATTERN_LEN + 2] = '\0';
    m = pat_loader_new(p);
    assert_null(pat_loader_error(m));
    assert_int_equal(pat_loader_match(m, n, NULL, 0), PYRE_MATCH);
    pat_loader_free(m);
    free(p);
    free(n);
}

static void test_loader_suffix_rule(void **state)
{
    (void)state;
    /* Suffix of the module name, taken literally, not bounded by a dot. */
    check("experts", "model.layers.0.mlp.experts.down_proj", false, true);
    check("mlp.router", "model.layers.0.mlp.router.weight", false, true);
    check("router", "model.layers.0.mlp.xrouter.weight", false, true);
    check("self_attn", "model.layers.0.self_attn.sinks", false, true);
    /* The last component is the tensor, not part of the module. */
    check("sinks", "model.layers.0.self_attn.sinks", false, false);
    check("a.b", "xxa.b.w", false, true);
    check("a.b", "xxaXb.w", false, false);
    /* The regex rule never applies in the middle of the module name. */
    check("layers.0", "model.layers.0.mlp.x", false, false);
}

static void test_loader_compiled(void **state)
{
    (void)state;
    pat_loader *m = pat_loader_new("model.layers.*.self_attn");
    assert_null(pat_loader_error(m));
    assert_int_equal(pat_loader_match(m, "model.layers.0.self_attn.q_proj.weight", NULL, 0), PYRE_MATCH);
    assert_int_equal(pat_loader_match(m, "model.layers.1.self_attn.sinks", NULL, 0), PYRE_MATCH);
    assert_int_equal(pat_loader_match(m, "model.layers.1.mlp.router.weight", NULL, 0), PYRE_NO_MATCH);
    assert_int_equal(pat_loader_match(m, NULL, NULL, 0), PYRE_NO_MATCH);
    pat_loader_free(m);
    pat_loader_free(NULL);
    assert_int_equal(pat_loader_match(NULL, "x.y", NULL, 0), PYRE_NO_MATCH);
    m = pat_loader_new(NULL);
    assert_non_null(pat_loader_error(m));
    assert_int_equal(pat_loader_match(m, "x.y", NULL, 0), PYRE_NO_MATCH);
    pat_loader_free(m);
}

static void test_first_match_and_null(void **state)
{
    (void)state;
    const char *const pats[] = {"model.layers.*.self_attn", NULL, "model.*", "lm_head"};
    assert_int_equal(pat_first_match(pats, 4, "model.layers.0.self_attn.sinks"), 0);
    assert_int_equal(pat_first_match(pats, 4, "model.norm.weight"), 2);
    assert_int_equal(pat_first_match(pats, 4, "lm_head.weight"), 3);
    assert_int_equal(pat_first_match(pats, 3, "lm_head.weight"), -1);
    assert_int_equal(pat_first_match(pats, 0, "lm_head.weight"), -1);
    assert_int_equal(pat_first_match(pats, -1, "lm_head.weight"), -1);
    assert_int_equal(pat_first_match(NULL, 4, "lm_head.weight"), -1);
    assert_int_equal(pat_first_match(pats, 4, NULL), -1);
    assert_false(pat_match_converter(NULL, "x"));
    assert_false(pat_match_converter("x", NULL));
    assert_int_equal(pat_match_loader(NULL, "x"), PYRE_NO_MATCH);
    assert_int_equal(pat_match_loader("x", NULL), PYRE_NO_MATCH);
}

/* ---- the seedconv-small fixture ----------------------------------------- */

#define SELF_ATTN "model.layers.*.self_attn"
#define ROUTER "model.layers.*.mlp.router"
#define IN_NORM "model.layers.*.input_layernorm"
#define POST_NORM "model.layers.*.post_attention_layernorm"
#define DOWN_BIAS "model.layers.*.mlp.experts.down_proj_bias"
#define GATE_UP_BIAS "model.layers.*.mlp.experts.gate_up_proj_bias"
#define EMBED "model.embed_tokens"
#define NORM "model.norm.weight"
#define LM_HEAD "lm_head"

/* Read by hand from bf16/model.safetensors.index.json and mxfp4/config.json.
 * conv: the one pattern that keeps the tensor in the converter view (NULL:
 * quantized, it has _blocks in the mxfp4 index). loader: the one pattern that
 * matches its module in the loader view; the bias patterns and
 * "model.norm.weight" name tensors, which the loader never sees. */
static const struct {
    const char *name, *conv, *loader;
} fixture_expect[] = {
    {"model.embed_tokens.weight", EMBED, EMBED},
    {"model.layers.0.input_layernorm.weight", IN_NORM, IN_NORM},
    {"model.layers.0.post_attention_layernorm.weight", POST_NORM, POST_NORM},
    {"model.layers.0.self_attn.q_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.q_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.k_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.k_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.v_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.v_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.o_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.o_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.self_attn.sinks", SELF_ATTN, SELF_ATTN},
    {"model.layers.0.mlp.router.weight", ROUTER, ROUTER},
    {"model.layers.0.mlp.router.bias", ROUTER, ROUTER},
    {"model.layers.0.mlp.experts.gate_up_proj", NULL, NULL},
    {"model.layers.0.mlp.experts.gate_up_proj_bias", GATE_UP_BIAS, NULL},
    {"model.layers.0.mlp.experts.down_proj", NULL, NULL},
    {"model.layers.0.mlp.experts.down_proj_bias", DOWN_BIAS, NULL},
    {"model.layers.1.input_layernorm.weight", IN_NORM, IN_NORM},
    {"model.layers.1.post_attention_layernorm.weight", POST_NORM, POST_NORM},
    {"model.layers.1.self_attn.q_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.q_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.k_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.k_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.v_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.v_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.o_proj.weight", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.o_proj.bias", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.self_attn.sinks", SELF_ATTN, SELF_ATTN},
    {"model.layers.1.mlp.router.weight", ROUTER, ROUTER},
    {"model.layers.1.mlp.router.bias", ROUTER, ROUTER},
    {"model.layers.1.mlp.experts.gate_up_proj", NULL, NULL},
    {"model.layers.1.mlp.experts.gate_up_proj_bias", GATE_UP_BIAS, NULL},
    {"model.layers.1.mlp.experts.down_proj", NULL, NULL},
    {"model.layers.1.mlp.experts.down_proj_bias", DOWN_BIAS, NULL},
    {"model.norm.weight", NORM, NULL},
    {"lm_head.weight", LM_HEAD, LM_HEAD},
};
#define FIXTURE_TENSORS ((int)(sizeof fixture_expect / sizeof fixture_expect[0]))

/* Patterns of mxfp4/config.json in file order, with the number of the 37
 * source tensors each matches in either view, counted by hand. */
static const struct {
    const char *pattern;
    int conv, loader;
} pattern_expect[] = {
    {SELF_ATTN, 18, 18}, /* 2 layers x (4 projections x weight+bias, sinks) */
    {ROUTER, 4, 4},
    {IN_NORM, 2, 2},
    {POST_NORM, 2, 2},
    {DOWN_BIAS, 2, 0},
    {GATE_UP_BIAS, 2, 0},
    {EMBED, 1, 1},
    {NORM, 1, 0},
    {LM_HEAD, 1, 1},
};
#define FIXTURE_PATTERNS ((int)(sizeof pattern_expect / sizeof pattern_expect[0]))

static cJSON *read_fixture_json(const char *rel)
{
    const char *dir = getenv("MXC_FIXTURES");
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "../shared/fixtures", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s (set MXC_FIXTURES)", path);
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    cJSON *json = cJSON_ParseWithLength(buf, len);
    if (!json)
        fail_msg("fixture %s is not JSON", path);
    free(buf);
    free(path);
    return json;
}

typedef struct {
    cJSON *config, *bf16_index, *mxfp4_index;
    const char *patterns[FIXTURE_PATTERNS];
    const char *names[FIXTURE_TENSORS];
} fixture;

static int fixture_setup(void **state)
{
    fixture *fx = xcalloc(1, sizeof *fx);
    *state = fx;
    fx->config = read_fixture_json("seedconv-small/mxfp4/config.json");
    fx->bf16_index = read_fixture_json("seedconv-small/bf16/model.safetensors.index.json");
    fx->mxfp4_index = read_fixture_json("seedconv-small/mxfp4/model.safetensors.index.json");

    cJSON *qc = cJSON_GetObjectItemCaseSensitive(fx->config, "quantization_config");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(qc, "modules_to_not_convert");
    assert_true(cJSON_IsArray(list));
    assert_int_equal(cJSON_GetArraySize(list), FIXTURE_PATTERNS);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        assert_true(cJSON_IsString(it));
        fx->patterns[i++] = it->valuestring;
    }

    cJSON *map = cJSON_GetObjectItemCaseSensitive(fx->bf16_index, "weight_map");
    assert_true(cJSON_IsObject(map));
    assert_int_equal(cJSON_GetArraySize(map), FIXTURE_TENSORS);
    i = 0;
    cJSON_ArrayForEach(it, map)
    {
        fx->names[i++] = it->string;
    }
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *fx = *state;
    if (!fx)
        return 0;
    cJSON_Delete(fx->config);
    cJSON_Delete(fx->bf16_index);
    cJSON_Delete(fx->mxfp4_index);
    free(fx);
    return 0;
}

static int pattern_index(const fixture *fx, const char *pattern)
{
    if (!pattern)
        return -1;
    for (int i = 0; i < FIXTURE_PATTERNS; i++)
        if (strcmp(fx->patterns[i], pattern) == 0)
            return i;
    fail_msg("pattern %s is not in the fixture's config.json", pattern);
    return -1;
}

static int expect_index(const char *name)
{
    for (int i = 0; i < FIXTURE_TENSORS; i++)
        if (strcmp(fixture_expect[i].name, name) == 0)
            return i;
    fail_msg("tensor %s of the fixture is not in the expected table", name);
    return -1;
}

static bool has_blocks(const fixture *fx, const char *name)
{
    char *blocks = xasprintf("%s_blocks", name);
    cJSON *map = cJSON_GetObjectItemCaseSensitive(fx->mxfp4_index, "weight_map");
    bool found = cJSON_GetObjectItemCaseSensitive(map, blocks) != NULL;
    free(blocks);
    return found;
}

static void test_fixture_patterns_in_config_order(void **state)
{
    const fixture *fx = *state;
    for (int p = 0; p < FIXTURE_PATTERNS; p++)
        assert_string_equal(fx->patterns[p], pattern_expect[p].pattern);
}

static void test_fixture_converter_view(void **state)
{
    const fixture *fx = *state;
    int counts[FIXTURE_PATTERNS] = {0};
    bool seen[FIXTURE_TENSORS] = {false};
    int quantized = 0;

    for (int t = 0; t < FIXTURE_TENSORS; t++) {
        const char *name = fx->names[t];
        int e = expect_index(name);
        assert_false(seen[e]);
        seen[e] = true;
        int want = pattern_index(fx, fixture_expect[e].conv);

        /* Quantized in the fixture's DST <=> no pattern keeps it. */
        if (has_blocks(fx, name) != (want < 0))
            fail_msg("%s: _blocks in DST but a pattern keeps it, or the reverse", name);
        quantized += want < 0;

        assert_int_equal(pat_first_match(fx->patterns, FIXTURE_PATTERNS, name), want);
        int hits = 0;
        for (int p = 0; p < FIXTURE_PATTERNS; p++) {
            if (!pat_match_converter(fx->patterns[p], name))
                continue;
            hits++;
            counts[p]++;
            if (p != want)
                fail_msg("%s also matches %s", name, fx->patterns[p]);
        }
        assert_int_equal(hits, want < 0 ? 0 : 1);
    }
    assert_int_equal(quantized, 4);
    for (int p = 0; p < FIXTURE_PATTERNS; p++)
        if (counts[p] != pattern_expect[p].conv)
            fail_msg("converter view: %s matched %d, expected %d", fx->patterns[p], counts[p],
                     pattern_expect[p].conv);
}

static void test_fixture_loader_view(void **state)
{
    const fixture *fx = *state;
    int counts[FIXTURE_PATTERNS] = {0};
    int mismatches = 0;
    pat_loader *m[FIXTURE_PATTERNS];
    for (int p = 0; p < FIXTURE_PATTERNS; p++) {
        m[p] = pat_loader_new(fx->patterns[p]);
        assert_null(pat_loader_error(m[p]));
    }

    for (int t = 0; t < FIXTURE_TENSORS; t++) {
        const char *name = fx->names[t];
        int e = expect_index(name);
        int want = pattern_index(fx, fixture_expect[e].loader);
        int hits = 0;
        for (int p = 0; p < FIXTURE_PATTERNS; p++) {
            pyre_result got = pat_loader_match(m[p], name, NULL, 0);
            assert_int_equal(got, pat_match_loader(fx->patterns[p], name));
            bool hit = got == PYRE_MATCH;
            if (!hit)
                continue;
            hits++;
            counts[p]++;
            if (p != want)
                fail_msg("loader view: %s also matches %s", name, fx->patterns[p]);
        }
        assert_int_equal(hits, want < 0 ? 0 : 1);
        mismatches += (fixture_expect[e].conv != NULL) != (want >= 0);
    }
    /* 4 expert biases and model.norm.weight: kept by the converter's
     * patterns, which name tensors the loader never matches against. */
    assert_int_equal(mismatches, 5);
    for (int p = 0; p < FIXTURE_PATTERNS; p++) {
        if (counts[p] != pattern_expect[p].loader)
            fail_msg("loader view: %s matched %d, expected %d", fx->patterns[p], counts[p],
                     pattern_expect[p].loader);
        pat_loader_free(m[p]);
    }
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_converter_anchored),
        cmocka_unit_test(test_star_spans_dots),
        cmocka_unit_test(test_empty_pattern),
        cmocka_unit_test(test_pattern_equal_to_name),
        cmocka_unit_test(test_pattern_longer_than_name),
        cmocka_unit_test(test_pathological_star_pattern_finishes),
        cmocka_unit_test(test_loader_regex_specials),
        cmocka_unit_test(test_loader_invalid_regex),
        cmocka_unit_test(test_loader_python_dialect),
        cmocka_unit_test(test_loader_limits),
        cmocka_unit_test(test_loader_suffix_rule),
        cmocka_unit_test(test_loader_compiled),
        cmocka_unit_test(test_first_match_and_null),
    };
    const struct CMUnitTest fixture_tests[] = {
        cmocka_unit_test(test_fixture_patterns_in_config_order),
        cmocka_unit_test(test_fixture_converter_view),
        cmocka_unit_test(test_fixture_loader_view),
    };
    int failed = cmocka_run_group_tests_name("pattern", unit, NULL, NULL);
    failed += cmocka_run_group_tests_name("pattern-fixture", fixture_tests, fixture_setup,
                                          fixture_teardown);
    return failed ? 1 : 0;
}
