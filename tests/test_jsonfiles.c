/* test_jsonfiles.c - config.json and model.safetensors.index.json as
 * untrusted input, one case per malformed input, through `verify` on a copy
 * of the fixture.
 *
 * The first cases are false passes found by adversarial testing: JSON that
 * Python (and so transformers) reads differently from a C program that keeps
 * the first duplicate member or cuts strings at a NUL. Each must now stop the
 * gate with exit 2 and a message naming DST, the file, where in it and what
 * is wrong, exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

typedef struct {
    char tmp[RUN_PATH_MAX];
    char dst[RUN_PATH_MAX];
    char src[RUN_PATH_MAX];
} files_state;

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static int copy_setup(void **state)
{
    files_state *s = calloc(1, sizeof *s);
    char from[RUN_PATH_MAX];
    assert_non_null(s);
    snprintf(from, sizeof from, "%s/seedconv-small/mxfp4", env_or_fail("MXC_FIXTURES"));
    snprintf(s->src, sizeof s->src, "%s/seedconv-small/bf16", env_or_fail("MXC_FIXTURES"));
    assert_int_equal(run_mkdtemp("jsonfiles", s->tmp, sizeof s->tmp), 0);
    assert_int_equal(run_join(s->dst, sizeof s->dst, s->tmp, "dst"), 0);
    assert_int_equal(run_copy_dir(from, s->dst), 0);
    *state = s;
    return 0;
}

static int copy_teardown(void **state)
{
    files_state *s = *state;
    int rc = run_rmtree(s->tmp);
    free(s);
    return rc;
}

/* Replaces the first occurrence of `old` in DST's file by `new`. */
static void edit(const files_state *s, const char *file, const char *old, const char *new)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, s->dst, file), 0);
    char *text;
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    char *at = strstr(text, old);
    if (!at)
        fail_msg("%s has no \"%s\"", file, old);
    char *out = malloc(strlen(text) - strlen(old) + strlen(new) + 1);
    assert_non_null(out);
    memcpy(out, text, (size_t)(at - text));
    strcpy(out + (at - text), new);
    strcat(out, at + strlen(old));
    assert_int_equal(run_write_file(path, out), 0);
    free(out);
    free(text);
}

/* verify SRC DST: exit 2, and stderr is exactly "mxfp4-check verify: DST 'dst': "
 * followed by `message`, a newline, and the RESULT line of a run that stopped. */
static void verify_refused(const files_state *s, const char *message)
{
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", "--quiet", s->src, s->dst, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    char expected[RUN_PATH_MAX + 1024];
    snprintf(expected, sizeof expected,
             "mxfp4-check verify: DST '%s': %s\nRESULT: ERROR (the run stopped before a verdict)\n", s->dst, message);
    if (r.status != 2 || strcmp(r.err, expected) != 0)
        fail_msg("exit %d, stderr:\n%s\nexpected exit 2 and:\n%s", r.status, r.err, expected);
    run_result_free(&r);
}

#define CONFIG "config.json"
#define INDEX "model.safetensors.index.json"
#define LAST_PATTERN "\"lm_head\"\n    ],"
#define METHOD "\"quant_method\": \"mxfp4\""

/* ---- config.json: false passes ------------------------------------------ */

static void test_config_second_pattern_list(void **state)
{
    files_state *s = *state;
    /* Python keeps the last member: the loader would see [] and quantize all */
    edit(s, CONFIG, METHOD, METHOD ",\n    \"modules_to_not_convert\": []");
    verify_refused(s, "config.json: duplicate member \"modules_to_not_convert\" (at quantization_config)");
}

static void test_config_second_quantization_config(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"vocab_size\": 320", "\"vocab_size\": 320, \"quantization_config\": {}");
    verify_refused(s, "config.json: duplicate member \"quantization_config\"");
}

static void test_config_duplicate_deep(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"vocab_size\": 320",
         "\"vocab_size\": 320, \"rope_scaling\": {\"factor\": 32.0, \"factor\": 1.0}");
    verify_refused(s, "config.json: duplicate member \"factor\" (at rope_scaling)");
}

static void test_config_method_with_nul(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, METHOD, "\"quant_method\": \"mxfp4\\u0000x\"");
    verify_refused(s, "config.json: not valid JSON at line 26, column 27 (at "
                      "quantization_config.quant_method): escaped NUL byte (\\u0000): C strings would end there");
}

static void test_config_pattern_with_nul(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"lm_head\"", "\"lm_head\\u0000IGNORED\"");
    verify_refused(s, "config.json: not valid JSON at line 24, column 15 (at "
                      "quantization_config.modules_to_not_convert[8]): escaped NUL byte (\\u0000): C strings would end there");
}

/* ---- config.json: what JSON forbids -------------------------------------- */

static void test_config_bad_unicode_escape(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"lm_head\"", "\"lm_head\\uzzzz\"");
    verify_refused(s, "config.json: not valid JSON at line 24, column 15 (at "
                      "quantization_config.modules_to_not_convert[8]): \\u escape is not four hex digits");
}

static void test_config_lone_surrogate(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"lm_head\"", "\"lm_head\\ud800\"");
    verify_refused(s, "config.json: not valid JSON at line 24, column 15 (at "
                      "quantization_config.modules_to_not_convert[8]): \\uD800 is a high surrogate without its low half");
}

static void test_config_leading_zero(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"head_dim\": 64", "\"head_dim\": 064");
    verify_refused(s, "config.json: not valid JSON at line 6, column 15 (at head_dim): number with a leading zero");
}

static void test_config_number_out_of_range(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"swiglu_limit\": 7.0", "\"swiglu_limit\": 7e999");
    verify_refused(s, "config.json: not valid JSON at line 28, column 19 (at swiglu_limit): "
                      "number out of the range of a double");
}

static void test_config_nan(void **state)
{
    files_state *s = *state;
    /* Python's json.dumps writes NaN for a float nan; JSON has no such value */
    edit(s, CONFIG, "\"swiglu_limit\": 7.0", "\"swiglu_limit\": NaN");
    verify_refused(s, "config.json: not valid JSON at line 28, column 19 (at swiglu_limit): expected a value");
}

static void test_config_trailing_comma(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, LAST_PATTERN, "\"lm_head\",\n    ],");
    verify_refused(s, "config.json: not valid JSON at line 25, column 5 (at "
                      "quantization_config.modules_to_not_convert[9]): expected a value");
}

static void test_config_trailing_data(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"vocab_size\": 320\n}", "\"vocab_size\": 320\n}\n}");
    verify_refused(s, "config.json: not valid JSON at line 32, column 1: trailing data after the JSON value");
}

static void test_config_byte_order_mark(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "{\n  \"architectures\"", "\xef\xbb\xbf{\n  \"architectures\"");
    verify_refused(s, "config.json: not valid JSON at line 1, column 1: starts with a UTF-8 byte "
                      "order mark (JSON has none)");
}

static void test_config_not_utf8(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"gpt_oss\"", "\"gpt\xff_oss\"");
    verify_refused(s, "config.json: not valid JSON at line 9, column 21: not valid UTF-8");
}

/* A pattern that exhausts the regex engine on a name cannot be judged: the
 * gate stops (exit 2) instead of reading the limit as "no match" */
static void test_config_pattern_exhausts_engine(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"lm_head\"\n", "\"lm_head\",\n      \"((\\\\w|\\\\.)+)+(y|z)$\"\n");
    /* backslashes are shown doubled, as every untrusted text */
    verify_refused(s, "config.json: modules_to_not_convert[9] '((\\\\w|\\\\.)+)+(y|z)$' cannot be matched "
                      "against 'model.embed_tokens.weight' as the Hugging Face loader would: match limit exceeded");
}

/* A pattern that is no regular expression makes transformers' re.match
 * raise: the checkpoint cannot be loaded, whatever the globs say */
static void test_config_pattern_not_a_regex(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"model.layers.*.self_attn\"", "\"*.self_attn\"");
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", s->src, s->dst, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "error [config.quantization] modules_to_not_convert[0] '*.self_attn' is not a regular "
                       "expression (quantifier does not follow a repeatable item at byte 0): the Hugging Face "
                       "loader fails on it (builtin:default:26)\n"))
        fail_msg("%s", r.out);
    run_result_free(&r);
}

/* ---- the index ----------------------------------------------------------- */

static void test_index_key_with_nul(void **state)
{
    files_state *s = *state;
    edit(s, INDEX, "\"lm_head.weight\":", "\"lm_head.weight\\u0000junk\":");
    verify_refused(s, INDEX ": not valid JSON at line 7, column 20 (at weight_map): "
                      "escaped NUL byte (\\u0000): C strings would end there");
}

static void test_index_duplicate_entry(void **state)
{
    files_state *s = *state;
    edit(s, INDEX, "\"lm_head.weight\":", "\"lm_head.weight\": \"model-00000.safetensors\",\n    \"lm_head.weight\":");
    verify_refused(s, INDEX ": duplicate member \"lm_head.weight\" (at weight_map)");
}

static void test_index_second_weight_map(void **state)
{
    files_state *s = *state;
    edit(s, INDEX, "\"metadata\": {", "\"weight_map\": {},\n  \"metadata\": {");
    verify_refused(s, INDEX ": duplicate member \"weight_map\"");
}

static void test_index_bad_escape_in_shard(void **state)
{
    files_state *s = *state;
    edit(s, INDEX, "\"lm_head.weight\": \"model-00001.safetensors\"",
         "\"lm_head.weight\": \"model-00001.safetensors\\u004z\"");
    verify_refused(s, INDEX ": not valid JSON at line 7, column 47 (at weight_map.lm_head.weight): "
                      "\\u escape is not four hex digits");
}

/* total_size spelled as a float is no size: a warning says so, it is not
 * read as 1757336 through a double */
static void test_index_total_size_not_integer(void **state)
{
    files_state *s = *state;
    edit(s, INDEX, "\"total_size\": 1757336", "\"total_size\": 1757336.0");
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", s->src, s->dst, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "warn  [index.total_size] metadata.total_size is not an integer "
                                  "in 0..2^53; the shards hold 945176 bytes of tensors (builtin:default:25)\n"));
    run_result_free(&r);
}

/* A model.safetensors beside the index is what transformers loads: checking
 * the index's shards would vouch for a file nobody reads. */
static void test_single_file_beside_index(void **state)
{
    files_state *s = *state;
    char from[RUN_PATH_MAX], to[RUN_PATH_MAX];
    assert_int_equal(run_join(from, sizeof from, s->dst, "model-00000.safetensors"), 0);
    assert_int_equal(run_join(to, sizeof to, s->dst, "model.safetensors"), 0);
    assert_int_equal(run_copy_file(from, to), 0);
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", s->src, s->dst, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "error [index.mismatch] both model.safetensors and "
                                  "model.safetensors.index.json are here: the Hugging Face loader reads "
                                  "model.safetensors and ignores the index and its shards, which are what was "
                                  "checked (builtin:default:24)\n"));
    run_result_free(&r);
}

/* Files the loader reads beside the weights: one added in DST (a chat
 * template the source never had, added tokens) is no faithful copy. */
static void test_loader_files_added(void **state)
{
    files_state *s = *state;
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, s->dst, "chat_template.jinja"), 0);
    assert_int_equal(run_write_file(path, "{{ 'evil' }}"), 0);
    assert_int_equal(run_join(path, sizeof path, s->dst, "added_tokens.json"), 0);
    assert_int_equal(run_write_file(path, "{\"<evil>\": 5}"), 0);
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", s->src, s->dst, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "error [files.copied] chat_template.jinja is in DST but not in the source"));
    assert_non_null(strstr(r.out, "error [files.copied] added_tokens.json is in DST but not in the source"));
    run_result_free(&r);
}

/* config.json is the source's plus quantization_config: anything else
 * changes the model the loader builds, or where it reads the weights from. */
static void test_config_modified(void **state)
{
    files_state *s = *state;
    edit(s, CONFIG, "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1");
    edit(s, CONFIG, "\"vocab_size\": 320", "\"vocab_size\": 320, \"transformers_weights\": \"evil.safetensors\"");
    edit(s, CONFIG, "  \"swiglu_limit\": 7.0,\n", "");
    const char *argv[] = {env_or_fail("MXC_BIN"), "verify", s->src, s->dst, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 1);
    static const char *const want[] = {
        "error [config.modified] config.json: 'num_hidden_layers' is 1 in DST but 2 in the source (builtin:default:27)\n",
        "error [config.modified] config.json: 'transformers_weights' is \"evil.safetensors\" in DST but absent in the "
        "source (builtin:default:27)\n",
        "error [config.modified] config.json: 'swiglu_limit' is absent in DST but 7 in the source (builtin:default:27)\n",
    };
    for (size_t i = 0; i < 3; i++)
        if (!strstr(r.out, want[i]))
            fail_msg("no\n%s\nin\n%s", want[i], r.out);
    run_result_free(&r);
    /* the version of transformers that wrote the file may change */
    char from[RUN_PATH_MAX], to[RUN_PATH_MAX];
    snprintf(from, sizeof from, "%s/seedconv-small/mxfp4/config.json", env_or_fail("MXC_FIXTURES"));
    assert_int_equal(run_join(to, sizeof to, s->dst, CONFIG), 0);
    assert_int_equal(run_copy_file(from, to), 0);
    edit(s, CONFIG, "\"vocab_size\": 320", "\"vocab_size\": 320, \"transformers_version\": \"4.99.0\"");
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 0);
    run_result_free(&r);
}

#define CASE(t) cmocka_unit_test_setup_teardown(t, copy_setup, copy_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(test_config_second_pattern_list),
        CASE(test_config_second_quantization_config),
        CASE(test_config_duplicate_deep),
        CASE(test_config_method_with_nul),
        CASE(test_config_pattern_with_nul),
        CASE(test_config_bad_unicode_escape),
        CASE(test_config_lone_surrogate),
        CASE(test_config_leading_zero),
        CASE(test_config_number_out_of_range),
        CASE(test_config_nan),
        CASE(test_config_trailing_comma),
        CASE(test_config_trailing_data),
        CASE(test_config_byte_order_mark),
        CASE(test_config_not_utf8),
        CASE(test_config_pattern_exhausts_engine),
        CASE(test_config_pattern_not_a_regex),
        CASE(test_index_key_with_nul),
        CASE(test_index_duplicate_entry),
        CASE(test_index_second_weight_map),
        CASE(test_index_bad_escape_in_shard),
        CASE(test_index_total_size_not_integer),
        CASE(test_single_file_beside_index),
        CASE(test_loader_files_added),
        CASE(test_config_modified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
