/* test_jsonread.c - the one reader of untrusted JSON (src/jsonread.h).
 *
 * One named case per malformed input (REFUSE: the fault, its line and column,
 * the member path), each rule tested on both sides (ACCEPT). The inputs are
 * the ones of SPEC §1's traps and of issue 18's measurements against the
 * reference parser: every one of them was accepted by cJSON alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"

#define DEPTH 8

static void refuse_at(const char *text, size_t len, unsigned long line, unsigned long column,
                      const char *where, const char *what)
{
    jsonread_error e;
    cJSON *t = jsonread_parse(text, len, DEPTH, &e);
    if (t) {
        cJSON_Delete(t);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(e.what, what))
        fail_msg("%s: fault \"%s\" lacks \"%s\"", text, e.what, what);
    if (strcmp(e.where, where) != 0)
        fail_msg("%s: at \"%s\", expected \"%s\"", text, e.where, where);
    if (line && (e.line != line || e.column != column))
        fail_msg("%s: at %lu:%lu, expected %lu:%lu", text, e.line, e.column, line, column);
}

/* REFUSE(text, line, column, where, what): line 0 skips the position */
#define REFUSE(text, line, col, where, what) refuse_at((text), strlen(text), (line), (col), (where), (what))

static cJSON *accept(const char *text)
{
    jsonread_error e;
    cJSON *t = jsonread_parse(text, strlen(text), DEPTH, &e);
    if (!t)
        fail_msg("refused %s: %lu:%lu (at %s) %s", text, e.line, e.column, e.where, e.what);
    return t;
}

#define ACCEPT(text) cJSON_Delete(accept(text))

/* ---- strings ------------------------------------------------------------- */

static void test_bad_unicode_escapes(void **state)
{
    (void)state;
    /* cJSON 1.7.15 decodes each of these into a NUL that cuts the string */
    REFUSE("{\"a\":\"x\\uzzzz\"}", 1, 8, "a", "\\u escape is not four hex digits");
    REFUSE("{\"a\":\"x\\u004z\"}", 1, 8, "a", "\\u escape is not four hex digits");
    REFUSE("{\"a\":\"x\\u 123\"}", 1, 8, "a", "\\u escape is not four hex digits");
    REFUSE("{\"a\":\"\\u12\"}", 1, 7, "a", "\\u escape is not four hex digits");
    /* in a member name: the fault is shown at the object */
    REFUSE("{\"dtype\\uzzzzX\":1}", 1, 8, "", "\\u escape is not four hex digits");
    ACCEPT("{\"a\":\"\\u004A\\u004a\\uFFFF\"}");
}

static void test_escaped_nul(void **state)
{
    (void)state;
    REFUSE("{\"quant_method\":\"mxfp4\\u0000x\"}", 1, 23, "quant_method", "escaped NUL byte");
    REFUSE("[\"lm_head\\u0000IGNORED\"]", 1, 10, "[0]", "escaped NUL byte");
    REFUSE("{\"w\\u0000junk\":1}", 1, 4, "", "escaped NUL byte");
    ACCEPT("{\"a\":\"\\u0001\"}");
}

static void test_raw_nul_and_controls(void **state)
{
    (void)state;
    refuse_at("{\"a\":\"x\0\"}", 10, 1, 8, "", "NUL byte");
    REFUSE("{\"a\":\"x\ty\"}", 1, 8, "a", "control byte 0x09 in a string");
    REFUSE("{\"a\":\"x\x1fy\"}", 1, 8, "a", "control byte 0x1F in a string");
    REFUSE("{\x0b\"a\":1}", 1, 2, "", "expected a member name");
    ACCEPT("{\"a\":\"x\\ty\\n\\r\\b\\f\\/\\\\\\\"\"}");
}

static void test_invalid_escapes(void **state)
{
    (void)state;
    REFUSE("[\"\\x41\"]", 1, 3, "[0]", "invalid escape \\x");
    REFUSE("[\"\\'\"]", 1, 3, "[0]", "invalid escape \\'");
    REFUSE("[\"\\\"]", 1, 2, "[0]", "unterminated string");
}

static void test_surrogates(void **state)
{
    (void)state;
    ACCEPT("[\"\\uD83D\\uDE00\"]"); /* one emoji as a pair */
    REFUSE("[\"\\uD83D\"]", 1, 3, "[0]", "high surrogate without its low half");
    REFUSE("[\"\\uD83Dx\"]", 1, 3, "[0]", "high surrogate without its low half");
    REFUSE("[\"\\uD83D\\u0041\"]", 1, 3, "[0]", "high surrogate without its low half");
    REFUSE("[\"\\uDE00\"]", 1, 3, "[0]", "lone low surrogate");
}

static void test_utf8(void **state)
{
    (void)state;
    ACCEPT("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
    /* the column counts characters: two before the bad byte on the line */
    REFUSE("[\"\xc3\xa9\xc3\x28\"]", 1, 4, "", "not valid UTF-8");
    REFUSE("[\"\xed\xa0\x80\"]", 1, 3, "", "not valid UTF-8"); /* an encoded surrogate */
    REFUSE("\xef\xbb\xbf{}", 1, 1, "", "byte order mark");
}

/* ---- numbers ------------------------------------------------------------- */

static void test_numbers_json_forbids(void **state)
{
    (void)state;
    /* all in a field nothing reads: the reference parses every value */
    REFUSE("{\"x\":01}", 1, 6, "x", "number with a leading zero");
    REFUSE("{\"x\":-01}", 1, 6, "x", "number with a leading zero");
    REFUSE("{\"x\":1.}", 1, 6, "x", "without digits after its decimal point");
    REFUSE("{\"x\":1.e5}", 1, 6, "x", "without digits after its decimal point");
    REFUSE("{\"x\":-.5}", 1, 6, "x", "'-' without digits");
    REFUSE("{\"x\":.5}", 1, 6, "x", "expected a value");
    REFUSE("{\"x\":+1}", 1, 6, "x", "expected a value");
    REFUSE("{\"x\":1e}", 1, 6, "x", "without digits in its exponent");
    REFUSE("{\"x\":1e+}", 1, 6, "x", "without digits in its exponent");
    REFUSE("{\"x\":0x10}", 1, 7, "x", "expected ',' or '}'");
    REFUSE("{\"x\":1e999}", 1, 6, "x", "out of the range of a double");
    REFUSE("{\"x\":-1e309}", 1, 6, "x", "out of the range of a double");
    REFUSE("{\"x\":NaN}", 1, 6, "x", "expected a value");
    REFUSE("{\"x\":Infinity}", 1, 6, "x", "expected a value");
}

static void test_number_length(void **state)
{
    (void)state;
    char text[512] = "[";
    memset(text + 1, '1', 400);
    strcpy(text + 401, "]");
    REFUSE(text, 1, 2, "[0]", "number longer than 63 characters");
    memset(text + 1, '1', 63);
    strcpy(text + 64, "]");
    ACCEPT(text);
    memset(text + 1, '1', 64);
    strcpy(text + 65, "]");
    REFUSE(text, 1, 2, "[0]", "number longer than 63 characters");
}

static void test_numbers_accepted(void **state)
{
    (void)state;
    ACCEPT("[0, -0, 1, -1, 0.5, -0.5, 1e5, 1E5, 1e+5, 1e-5, 1.5e300, 1e-999, 1.7976931348623157e308]");
}

static void test_exact_integers(void **state)
{
    (void)state;
    cJSON *t = accept("[0, 9007199254740992, 9007199254740993, 1e3, 1.0, -0, -1, 42]");
    uint64_t v = 1;
    const cJSON *x = t->child;
    assert_true(jsonread_integer(x, &v));
    assert_int_equal(v, 0);
    x = x->next;
    assert_true(jsonread_integer(x, &v));
    assert_int_equal(v, (uint64_t)1 << 53);
    for (int k = 0; k < 5; k++) { /* 2^53 + 1, 1e3, 1.0, -0, -1 */
        x = x->next;
        assert_false(jsonread_integer(x, &v));
    }
    x = x->next;
    assert_true(jsonread_integer(x, &v));
    assert_int_equal(v, 42);
    cJSON_Delete(t);
    /* numbers after strings holding digits and minus signs stay in step */
    t = accept("{\"a-1\":\"2-3\",\"b\":[\"4\",5],\"c\":{\"6\":7e0,\"d\":8}}");
    assert_true(jsonread_integer(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "b"), 1), &v));
    assert_int_equal(v, 5);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "c");
    assert_false(jsonread_integer(cJSON_GetObjectItemCaseSensitive(c, "6"), &v));
    assert_true(jsonread_integer(cJSON_GetObjectItemCaseSensitive(c, "d"), &v));
    assert_int_equal(v, 8);
    assert_false(jsonread_integer(cJSON_GetObjectItemCaseSensitive(t, "a-1"), &v));
    cJSON_Delete(t);
}

/* ---- structure ----------------------------------------------------------- */

static void test_duplicates_every_level(void **state)
{
    (void)state;
    REFUSE("{\"a\":1,\"a\":2}", 0, 0, "", "duplicate member \"a\"");
    REFUSE("{\"q\":{\"m\":[\"lm_head\"],\"k\":1,\"m\":[]}}", 0, 0, "q", "duplicate member \"m\"");
    REFUSE("[{\"x\":1},{\"y\":{\"z\":1,\"z\":1}}]", 0, 0, "[1].y", "duplicate member \"z\"");
    /* the same name spelled two ways is the same name */
    REFUSE("{\"a\":1,\"\\u0061\":2}", 0, 0, "", "duplicate member \"a\"");
    ACCEPT("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}");
}

static void test_depth_boundary(void **state)
{
    (void)state;
    ACCEPT("[[[[[[[[1]]]]]]]]"); /* DEPTH containers */
    REFUSE("[[[[[[[[[1]]]]]]]]]", 1, 9, "[0][0][0][0][0][0][0][0]", "nests deeper than 8 levels");
    jsonread_error e;
    assert_false(jsonread_check("{\"a\":[1]}", 9, 1, &e));
    assert_true(jsonread_check("{\"a\":[1]}", 9, 2, &e));
}

static void test_grammar(void **state)
{
    (void)state;
    REFUSE("", 1, 1, "", "no JSON value");
    REFUSE("  \n ", 2, 2, "", "no JSON value");
    REFUSE("{\"a\":1,}", 1, 8, "", "expected a member name");
    REFUSE("[1,]", 1, 4, "[1]", "expected a value");
    REFUSE("{'a':1}", 1, 2, "", "expected a member name");
    REFUSE("{\"a\" 1}", 1, 6, "a", "expected ':'");
    REFUSE("{\"a\":1", 1, 7, "a", "the text ends inside a value");
    REFUSE("[1 2]", 1, 4, "[0]", "expected ',' or ']'");
    REFUSE("{} x", 1, 4, "", "trailing data after the JSON value");
    REFUSE("{}{}", 1, 3, "", "trailing data after the JSON value");
    REFUSE("[tru]", 1, 2, "[0]", "expected a value");
    REFUSE("{\"a\":\n  [1,\n   2,\n   x]}", 4, 4, "a[2]", "expected a value");
    ACCEPT(" {\"a\" : [ true , false , null , \"\" , {} , [] ] } \n\t\r ");
    ACCEPT("\"just a string\"");
}

/* ---- one member at a time ------------------------------------------------ */

typedef struct {
    char names[8][16];
    uint64_t values[8];
    int n;
} members_seen;

static int collect(const char *name, cJSON *value, void *ctx)
{
    members_seen *m = ctx;
    snprintf(m->names[m->n], sizeof m->names[m->n], "%s", name);
    const cJSON *v = cJSON_IsArray(value) ? value->child : value;
    if (!jsonread_integer(v, &m->values[m->n]))
        m->values[m->n] = 999;
    return ++m->n == 3 ? 7 : 0; /* the third member stops the walk */
}

static void test_each_member(void **state)
{
    (void)state;
    jsonread_error e;
    members_seen m = {0};
    const char *text = " { \"a\\u0062\" : [1] , \"c\" : 2.0 , \"d\":{\"x\":[3]}, \"e\":4 } ";
    assert_int_equal(jsonread_each_member(text, strlen(text), DEPTH, collect, &m, &e), 7);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.names[0], "ab");
    assert_int_equal(m.values[0], 1);
    assert_string_equal(m.names[1], "c");
    assert_int_equal(m.values[1], 999); /* 2.0 is no integer */
    assert_string_equal(m.names[2], "d");

    memset(&m, 0, sizeof m);
    assert_int_equal(jsonread_each_member("{}", 2, DEPTH, collect, &m, &e), 0);
    assert_int_equal(m.n, 0);
    assert_int_equal(jsonread_each_member("[1]", 3, DEPTH, collect, &m, &e), -1);
    assert_int_equal(e.fault, JSONREAD_NOT_OBJECT);
    /* a duplicate inside a member names the member and the path */
    text = "{\"w\":{\"dtype\":\"U8\",\"dtype\":\"BF16\"}}";
    assert_int_equal(jsonread_each_member(text, strlen(text), DEPTH, collect, &m, &e), -1);
    assert_int_equal(e.fault, JSONREAD_DUPLICATE);
    assert_string_equal(e.member, "w");
    assert_string_equal(e.where, "w");
    assert_string_equal(e.what, "duplicate member \"dtype\"");
    /* a grammar fault is found before any member is handed out */
    memset(&m, 0, sizeof m);
    text = "{\"a\":[1],\"b\":01}";
    assert_int_equal(jsonread_each_member(text, strlen(text), DEPTH, collect, &m, &e), -1);
    assert_int_equal(m.n, 0);
    assert_string_equal(e.member, "b");
}

static void test_file_message(void **state)
{
    (void)state;
    jsonread_error e;
    const char *text = "{\n  \"quantization_config\": {\n    \"modules_to_not_convert\": [\"a\", 01]}}";
    assert_null(jsonread_parse(text, strlen(text), DEPTH, &e));
    char err[512];
    jsonread_format_error(&e, "config.json", err, sizeof err);
    assert_string_equal(err, "config.json: not valid JSON at line 3, column 37 (at "
                             "quantization_config.modules_to_not_convert[1]): number with a leading zero");
    text = "{\"q\":{\"m\":1,\"m\":2}}";
    assert_null(jsonread_parse(text, strlen(text), DEPTH, &e));
    jsonread_format_error(&e, "config.json", err, sizeof err);
    assert_string_equal(err, "config.json: duplicate member \"m\" (at q)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_unicode_escapes),
        cmocka_unit_test(test_escaped_nul),
        cmocka_unit_test(test_raw_nul_and_controls),
        cmocka_unit_test(test_invalid_escapes),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_numbers_json_forbids),
        cmocka_unit_test(test_number_length),
        cmocka_unit_test(test_numbers_accepted),
        cmocka_unit_test(test_exact_integers),
        cmocka_unit_test(test_duplicates_every_level),
        cmocka_unit_test(test_depth_boundary),
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_each_member),
        cmocka_unit_test(test_file_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
