/* test_yamlread.c - the one YAML reader (src/yamlread.h).
 *
 * One named case per malformed input, each asserting the whole message:
 * display name, 1-based line and column (libyaml's marks are 0-based), and
 * the fault. Every limit is tested on both sides. Accepted inputs assert the
 * tree: kinds, values, positions, the plain flag, and aliases shared (one
 * node, not a copy). Positions were counted by hand from the texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"
#include "yamlread.h"

#define DISPLAY "r.yaml"

/* ---- helpers ------------------------------------------------------------- */

static void refuse_n(const char *text, size_t len, const char *want)
{
    char err[YR_ERR_LEN];
    yr_doc *d = (yr_doc *)&err; /* must be reset to NULL */
    err[0] = '\0';
    if (yr_parse(text, len, DISPLAY, &d, err, sizeof err) == 0) {
        yr_free(d);
        fail_msg("accepted: %.*s", (int)(len < 200 ? len : 200), text);
    }
    assert_null(d);
    if (strcmp(err, want) != 0)
        fail_msg("message\n  got:  %s\n  want: %s", err, want);
}

#define REFUSE(text, want) refuse_n((text), strlen(text), (want))

static yr_doc *accept_n(const char *text, size_t len)
{
    char err[YR_ERR_LEN];
    yr_doc *d = NULL;
    err[0] = '\0';
    if (yr_parse(text, len, DISPLAY, &d, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    assert_non_null(d);
    assert_non_null(yr_root(d));
    return d;
}

static yr_doc *accept(const char *text)
{
    return accept_n(text, strlen(text));
}

#define ACCEPT(text) yr_free(accept(text))

static void assert_at(const yr_node *n, unsigned long line, unsigned long column)
{
    assert_non_null(n);
    if (n->line != line || n->column != column)
        fail_msg("node at %lu:%lu, expected %lu:%lu", n->line, n->column, line, column);
}

static void assert_scalar(const yr_node *n, const char *value, bool plain, unsigned long line,
                          unsigned long column)
{
    assert_non_null(n);
    assert_int_equal(n->kind, YR_SCALAR);
    assert_string_equal(n->value, value);
    if (n->plain != plain)
        fail_msg("'%s': plain is %d, expected %d", value, n->plain, plain);
    assert_at(n, line, column);
}

static const yr_node *get(const yr_node *map, const char *key)
{
    const yr_node *v = yr_get(map, key);
    if (!v)
        fail_msg("no key '%s'", key);
    return v;
}

/* text made of `n` copies of `piece`, then `tail` (caller frees) */
static char *repeat(const char *head, const char *piece, size_t n, const char *tail)
{
    size_t hl = strlen(head), pl = strlen(piece), tl = strlen(tail);
    char *s = malloc(hl + pl * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * pl, piece, pl);
    memcpy(s + hl + pl * n, tail, tl + 1);
    return s;
}

/* ---- characters ---------------------------------------------------------- */

static void test_invalid_utf8(void **state)
{
    (void)state;
    REFUSE("a: \xff\n", DISPLAY ":1:4: not valid UTF-8 (byte 0xFF)");
    /* columns count characters: "é" is one */
    REFUSE("\xc3\xa9: \xc0\xaf\n", DISPLAY ":1:4: not valid UTF-8 (byte 0xC0)"); /* overlong */
    REFUSE("a: x\n\xed\xa0\x80: 1\n", DISPLAY ":2:1: not valid UTF-8 (byte 0xED)"); /* surrogate */
    REFUSE("a: \xe2\x82", DISPLAY ":1:4: not valid UTF-8 (byte 0xE2)"); /* cut at the end */
    REFUSE("a: x\xf4\x90\x80\x80\n", DISPLAY ":1:5: not valid UTF-8 (byte 0xF4)"); /* > U+10FFFF */
    REFUSE("\xff\xfe" "a\0:\0", DISPLAY ":1:1: not valid UTF-8 (byte 0xFF)"); /* UTF-16 */
    /* CR LF and a lone CR each end a line, as for libyaml */
    REFUSE("a: 1\r\nb: \xff\n", DISPLAY ":2:4: not valid UTF-8 (byte 0xFF)");
    REFUSE("a: 1\rb: \xff\n", DISPLAY ":2:4: not valid UTF-8 (byte 0xFF)");
    ACCEPT("a: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n");
}

static void test_nul_byte(void **state)
{
    (void)state;
    refuse_n("a: b\0c\n", 7, DISPLAY ":1:5: NUL byte");
    refuse_n("a: 1\n\0", 6, DISPLAY ":2:1: NUL byte");
}

static void test_control_character(void **state)
{
    (void)state;
    REFUSE("a: \x07\n", DISPLAY ":1:4: control character U+0007");
    REFUSE("a: x\x7f\n", DISPLAY ":1:5: control character U+007F");
    REFUSE("a: \xc2\x80\n", DISPLAY ":1:4: control character U+0080");
    REFUSE("a: \xef\xbf\xbe\n", DISPLAY ":1:4: control character U+FFFE");
    yr_doc *d = accept("a: 'x\ty'\r\nb: \xc2\xa0z\n");
    assert_scalar(get(yr_root(d), "a"), "x\ty", false, 1, 4);
    yr_free(d);
}

static void test_escaped_nul(void **state)
{
    (void)state;
    REFUSE("a: \"x\\0y\"\n", DISPLAY ":1:4: NUL character in a scalar");
    REFUSE("a: [\"\\x00\"]\n", DISPLAY ":1:5: NUL character in a scalar");
    yr_doc *d = accept("a: \"x\\x01y\"\n");
    assert_scalar(get(yr_root(d), "a"), "x\x01y", false, 1, 4);
    yr_free(d);
}

static void test_display_escaped(void **state)
{
    (void)state;
    char err[YR_ERR_LEN];
    yr_doc *d = NULL;
    assert_int_equal(yr_parse("a: \xff", 4, "bad\nname.yaml", &d, err, sizeof err), -1);
    assert_string_equal(err, "bad\\nname.yaml:1:4: not valid UTF-8 (byte 0xFF)");
}

/* ---- libyaml's own faults ------------------------------------------------ */

static void test_syntax_value_in_plain(void **state)
{
    (void)state;
    REFUSE("key: value: x\n", DISPLAY ":1:11: mapping values are not allowed in this context");
}

static void test_syntax_bad_indent(void **state)
{
    (void)state;
    REFUSE("a:\n  b: 1\n c: 2\n", DISPLAY ":3:2: did not find expected key "
                                  "(while parsing a block mapping at line 1, column 1)");
}

static void test_syntax_tab_indent(void **state)
{
    (void)state;
    REFUSE("a:\n\tb: 1\n", DISPLAY ":2:1: found character that cannot start any token "
                          "(while scanning for the next token at line 2, column 1)");
}

static void test_syntax_unclosed_flow(void **state)
{
    (void)state;
    REFUSE("a: [1, 2\n", DISPLAY ":2:1: did not find expected ',' or ']' "
                         "(while parsing a flow sequence at line 1, column 4)");
}

static void test_syntax_bad_escape(void **state)
{
    (void)state;
    REFUSE("a: \"\\ud800\"\n", DISPLAY ":1:7: found invalid Unicode character escape code "
                               "(while parsing a quoted scalar at line 1, column 4)");
}

/* ---- documents ----------------------------------------------------------- */

static void test_two_documents(void **state)
{
    (void)state;
    REFUSE("a: 1\n---\nb: 2\n", DISPLAY ":2:1: more than one document");
    REFUSE("a: 1\n...\n---\nb: 2\n", DISPLAY ":3:1: more than one document");
    REFUSE("---\na\n---\n", DISPLAY ":3:1: more than one document");
    ACCEPT("---\na: 1\n...\n");
}

static void test_empty_documents(void **state)
{
    (void)state;
    const char *empty[] = {"", "# only a comment\n", "---\n", "---\n...\n", "  \n\n"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        yr_doc *d = accept(empty[i]);
        const yr_node *r = yr_root(d);
        assert_int_equal(r->kind, YR_MAP);
        assert_int_equal(r->count, 0);
        assert_at(r, 1, 1);
        assert_null(yr_get(r, "a"));
        yr_free(d);
    }
    /* no text at all */
    char err[YR_ERR_LEN];
    yr_doc *none = NULL;
    assert_int_equal(yr_parse(NULL, 0, DISPLAY, &none, err, sizeof err), 0);
    assert_int_equal(yr_root(none)->kind, YR_MAP);
    yr_free(none);
    /* null spelled out is a value, not an empty document */
    yr_doc *d = accept("~\n");
    assert_scalar(yr_root(d), "~", true, 1, 1);
    yr_free(d);
}

/* ---- nesting ------------------------------------------------------------- */

static void test_depth_flow(void **state)
{
    (void)state;
    char *ok = repeat("", "[", YR_MAX_DEPTH, "");
    char *ok2 = repeat(ok, "]", YR_MAX_DEPTH, "\n");
    ACCEPT(ok2);
    char *deep = repeat("", "[", YR_MAX_DEPTH + 1, "");
    char *deep2 = repeat(deep, "]", YR_MAX_DEPTH + 1, "\n");
    REFUSE(deep2, DISPLAY ":1:33: nesting deeper than 32 levels");
    free(ok);
    free(ok2);
    free(deep);
    free(deep2);
}

static void test_depth_block(void **state)
{
    (void)state;
    /* line k is the k-th nested mapping, indented 2(k-1) */
    char text[4096];
    for (int levels = YR_MAX_DEPTH; levels <= YR_MAX_DEPTH + 1; levels++) {
        size_t o = 0;
        for (int k = 0; k < levels; k++)
            o += (size_t)snprintf(text + o, sizeof text - o, "%*sa:%s\n", 2 * k, "",
                                  k == levels - 1 ? " 1" : "");
        if (levels == YR_MAX_DEPTH)
            ACCEPT(text);
        else
            REFUSE(text, DISPLAY ":33:65: nesting deeper than 32 levels");
    }
}

/* A whole file of openers: refused at the 33rd, long before libyaml's
 * quadratic cost in depth would matter. */
static void test_depth_huge(void **state)
{
    (void)state;
    char *flow = repeat("", "[", YR_MAX_FILE_BYTES - 1, "\n");
    REFUSE(flow, DISPLAY ":1:33: nesting deeper than 32 levels");
    free(flow);
    char *braces = repeat("", "{a: ", YR_MAX_FILE_BYTES / 4 - 1, "\n");
    REFUSE(braces, DISPLAY ":1:129: nesting deeper than 32 levels");
    free(braces);
    char *block = repeat("", "- ", YR_MAX_FILE_BYTES / 2 - 1, "\n");
    REFUSE(block, DISPLAY ":1:65: nesting deeper than 32 levels");
    free(block);
}

static void test_depth_through_alias(void **state)
{
    (void)state;
    /* &a is 30 levels tall; at depth 3 it would reach 33, at depth 2 it reaches 32 */
    char *a = repeat("a: &a ", "[", 30, "");
    char *a2 = repeat(a, "]", 30, "\n");
    size_t n = strlen(a2);
    char *deep = malloc(n + 32), *ok = malloc(n + 32);
    assert_non_null(deep);
    assert_non_null(ok);
    snprintf(deep, n + 32, "%sb: [[*a]]\n", a2);
    snprintf(ok, n + 32, "%sb: [*a]\n", a2);
    REFUSE(deep, DISPLAY ":2:6: nesting deeper than 32 levels (through alias '*a')");
    ACCEPT(ok);
    free(a);
    free(a2);
    free(deep);
    free(ok);
}

/* ---- mapping keys -------------------------------------------------------- */

static void test_duplicate_key(void **state)
{
    (void)state;
    REFUSE("version: 1\nrules:\n  - id: x\n    id: y\n",
           DISPLAY ":4:5: duplicate key 'id' (first at line 3, column 5)");
}

static void test_duplicate_key_quoted(void **state)
{
    (void)state;
    /* compared by value: quoting does not make another key */
    REFUSE("a: 1\n'a': 2\n", DISPLAY ":2:1: duplicate key 'a' (first at line 1, column 1)");
    REFUSE("{\"b\": 1, b: 2}", DISPLAY ":1:10: duplicate key 'b' (first at line 1, column 2)");
    /* the same key in two mappings, and keys differing in case, are fine */
    ACCEPT("x: {a: 1}\ny: {a: 2}\nA: 1\na: 2\n");
}

static void test_duplicate_key_via_alias(void **state)
{
    (void)state;
    REFUSE("&k a: 1\n*k : 2\n", DISPLAY ":2:1: duplicate key 'a' (first at line 1, column 1)");
}

static void test_duplicate_key_escaped(void **state)
{
    (void)state;
    /* "\x1b" and "\e" are one key; the escape character is shown, not sent */
    REFUSE("\"a\\x1b\": 1\n\"a\\e\": 2\n",
           DISPLAY ":2:1: duplicate key 'a\\x1B' (first at line 1, column 1)");
    /* a long key is cut */
    char key[301];
    memset(key, 'k', 300);
    key[300] = '\0';
    char text[700], want[YR_ERR_LEN];
    snprintf(text, sizeof text, "%s: 1\n%s: 2\n", key, key);
    snprintf(want, sizeof want, DISPLAY ":2:1: duplicate key '%.76s...' (first at line 1, column 1)",
             key);
    REFUSE(text, want);
}

static void test_many_keys(void **state)
{
    (void)state;
    /* 40000 distinct keys, then one repeated: found fast, not in n^2 */
    size_t n = 40000;
    char *text = malloc(n * 12 + 64);
    assert_non_null(text);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(text + o, "k%zu: 1\n", i);
    yr_doc *d = accept(text);
    assert_int_equal(yr_root(d)->count, n);
    assert_scalar(get(yr_root(d), "k39999"), "1", true, 40000, 9);
    yr_free(d);
    sprintf(text + o, "k17: 2\n");
    REFUSE(text, DISPLAY ":40001:1: duplicate key 'k17' (first at line 18, column 1)");
    free(text);
}

static void test_non_scalar_key(void **state)
{
    (void)state;
    REFUSE("? [a, b]\n: 1\n", DISPLAY ":1:3: mapping key is not a scalar");
    REFUSE("? {a: b}\n: 1\n", DISPLAY ":1:3: mapping key is not a scalar");
    REFUSE("{[a]: 1}\n", DISPLAY ":1:2: mapping key is not a scalar");
    REFUSE("a: &s [1]\n*s : 2\n", DISPLAY ":2:1: mapping key is not a scalar");
}

static void test_merge_key(void **state)
{
    (void)state;
    REFUSE("base: &b {x: 1}\nr:\n  <<: *b\n", DISPLAY ":3:3: merge key '<<' is not supported");
    /* quoted, it is an ordinary key */
    yr_doc *d = accept("'<<': 1\n");
    assert_scalar(get(yr_root(d), "<<"), "1", true, 1, 7);
    yr_free(d);
}

/* ---- anchors and aliases ------------------------------------------------- */

static void test_undefined_alias(void **state)
{
    (void)state;
    REFUSE("a: *nope\n", DISPLAY ":1:4: alias '*nope' refers to an undefined anchor");
    /* an anchor after its use does not count */
    REFUSE("a: *x\nb: &x 1\n", DISPLAY ":1:4: alias '*x' refers to an undefined anchor");
}

static void test_ancestor_alias(void **state)
{
    (void)state;
    REFUSE("&a [*a]\n", DISPLAY ":1:5: alias '*a' refers to its own ancestor");
    REFUSE("&a {x: *a}\n", DISPLAY ":1:8: alias '*a' refers to its own ancestor");
    REFUSE("a: &a\n  b: [1, *a]\n", DISPLAY ":2:10: alias '*a' refers to its own ancestor");
}

static void test_duplicate_anchor(void **state)
{
    (void)state;
    REFUSE("a: &x 1\nb: &x 2\n", DISPLAY ":2:4: duplicate anchor '&x' (first at line 1, column 4)");
}

static void test_alias_limit(void **state)
{
    (void)state;
    char *ok = repeat("a: &a 1\nb: [", "*a, ", YR_MAX_ALIASES, "]\n");
    yr_doc *d = accept(ok);
    assert_int_equal(get(yr_root(d), "b")->count, YR_MAX_ALIASES);
    yr_free(d);
    /* the 65th alias starts at column 5 + 4 * 64 */
    char *over = repeat("a: &a 1\nb: [", "*a, ", YR_MAX_ALIASES + 1, "]\n");
    REFUSE(over, DISPLAY ":2:261: more than 64 aliases");
    free(ok);
    free(over);
}

static void test_node_limit(void **state)
{
    (void)state;
    /* the root and its items: 100000 nodes pass, 100001 do not; item i is
     * at column 2 + 2i */
    char *ok = repeat("[", "1,", YR_MAX_NODES - 2, "1]\n");
    yr_doc *d = accept(ok);
    assert_int_equal(yr_root(d)->count, YR_MAX_NODES - 1);
    yr_free(d);
    char *over = repeat("[", "1,", YR_MAX_NODES - 1, "1]\n");
    REFUSE(over, DISPLAY ":1:200000: more than 100000 nodes with aliases expanded");
    free(ok);
    free(over);
}

static const char LAUGHS[] =
    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";

/* 10^9 "lol"s expanded. Counted: a..e and their keys make 74739 nodes, so the
 * first *e (66430 nodes) crosses the limit, at its 37th alias: the node limit
 * stops it, not the alias limit. */
static void test_billion_laughs(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "laughs.yaml"), 0);
    assert_int_equal(run_write_file(path, LAUGHS), 0);
    char err[YR_ERR_LEN];
    yr_doc *d = NULL;
    assert_int_equal(yr_load(path, "laughs.yaml", &d, err, sizeof err), -1);
    assert_null(d);
    assert_string_equal(err, "laughs.yaml:6:8: more than 100000 nodes with aliases expanded");
    /* the first five levels alone are fine, and shared, not copied */
    char five[512];
    size_t cut = (size_t)(strstr(LAUGHS, "f:") - LAUGHS);
    memcpy(five, LAUGHS, cut);
    five[cut] = '\0';
    d = accept(five);
    const yr_node *e = get(yr_root(d), "e");
    assert_int_equal(e->count, 9);
    assert_ptr_equal(e->items[0], e->items[8]);
    assert_ptr_equal(e->items[0], get(yr_root(d), "d"));
    yr_free(d);
}

/* ---- tags ---------------------------------------------------------------- */

static void test_tag_python(void **state)
{
    (void)state;
    REFUSE("a: !!python/object:os.system x\n",
           DISPLAY ":1:4: tag '!!python/object:os.system' is not allowed "
                   "(only !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)");
}

static void test_tag_custom(void **state)
{
    (void)state;
    REFUSE("a: !foo x\n", DISPLAY ":1:4: tag '!foo' is not allowed "
                          "(only !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)");
    REFUSE("a: ! x\n", DISPLAY ":1:4: tag '!' is not allowed "
                       "(only !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)");
    REFUSE("a: !<tag:example.com,2000:x> y\n",
           DISPLAY ":1:4: tag 'tag:example.com,2000:x' is not allowed "
                   "(only !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)");
    REFUSE("a: !!set {x: 1}\n", DISPLAY ":1:4: tag '!!set' is not allowed "
                                "(only !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)");
    /* %TAG can move !! away from yaml.org: what counts is the tag itself */
    REFUSE("%TAG !! tag:example.com,2000:\n---\na: !!str x\n",
           DISPLAY ":3:4: tag 'tag:example.com,2000:str' is not allowed "
                   "(only !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)");
    /* spelled out, a standard tag is the standard tag */
    yr_doc *d = accept("a: !<tag:yaml.org,2002:str> 1\n");
    assert_scalar(get(yr_root(d), "a"), "1", false, 1, 4);
    yr_free(d);
}

static void test_tag_wrong_kind(void **state)
{
    (void)state;
    REFUSE("a: !!seq x\n", DISPLAY ":1:4: tag '!!seq' on a scalar");
    REFUSE("a: !!map [1]\n", DISPLAY ":1:4: tag '!!map' on a sequence");
    REFUSE("a: !!str {x: 1}\n", DISPLAY ":1:4: tag '!!str' on a mapping");
    REFUSE("a: !!int\n  b: 1\n", DISPLAY ":1:4: tag '!!int' on a mapping");
    yr_doc *d = accept("a: !!map\n  b: 1\nc: !!seq [1]\n");
    assert_int_equal(get(yr_root(d), "a")->kind, YR_MAP);
    assert_int_equal(get(yr_root(d), "c")->kind, YR_SEQ);
    yr_free(d);
}

static void test_tag_wrong_value(void **state)
{
    (void)state;
    REFUSE("a: !!int abc\n", DISPLAY ":1:4: 'abc' is not a !!int");
    REFUSE("a: !!int 1.5\n", DISPLAY ":1:4: '1.5' is not a !!int");
    REFUSE("a: !!int 0x\n", DISPLAY ":1:4: '0x' is not a !!int");
    REFUSE("a: !!float 1.2.3\n", DISPLAY ":1:4: '1.2.3' is not a !!float");
    REFUSE("a: !!float e3\n", DISPLAY ":1:4: 'e3' is not a !!float");
    REFUSE("a: !!float .nAn\n", DISPLAY ":1:4: '.nAn' is not a !!float");
    REFUSE("a: !!bool yes\n", DISPLAY ":1:4: 'yes' is not a !!bool"); /* YAML 1.1 only */
    REFUSE("a: !!null 0\n", DISPLAY ":1:4: '0' is not a !!null");
    REFUSE("a: !!int \"1\\n\"\n", DISPLAY ":1:4: '1\\n' is not a !!int");
}

static void test_tag_values_accepted(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        {"!!int", "0"},      {"!!int", "-12"},   {"!!int", "+3"},     {"!!int", "0o17"},
        {"!!int", "0x1F"},   {"!!float", "1.5"}, {"!!float", "-.5"},  {"!!float", "1e3"},
        {"!!float", "1."},   {"!!float", "12"},  {"!!float", ".inf"}, {"!!float", "-.Inf"},
        {"!!float", ".NaN"}, {"!!float", "2.5E-3"}, {"!!bool", "true"}, {"!!bool", "False"},
        {"!!bool", "TRUE"},  {"!!null", "~"},    {"!!null", "null"},  {"!!null", "Null"},
        {"!!null", "NULL"},  {"!!null", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char text[64];
        snprintf(text, sizeof text, "a: %s %s\n", ok[i][0], ok[i][1]);
        yr_doc *d = accept(text);
        assert_scalar(get(yr_root(d), "a"), ok[i][1], true, 1, 4);
        yr_free(d);
    }
    /* the tag applies to a quoted scalar too */
    yr_doc *d = accept("a: !!int \"7\"\n");
    assert_scalar(get(yr_root(d), "a"), "7", true, 1, 4);
    yr_free(d);
}

/* ---- files --------------------------------------------------------------- */

static void load_refuse(const char *path, const char *want)
{
    char err[YR_ERR_LEN];
    yr_doc *d = (yr_doc *)&err;
    assert_int_equal(yr_load(path, DISPLAY, &d, err, sizeof err), -1);
    assert_null(d);
    assert_string_equal(err, want);
}

static void test_file_missing(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "missing.yaml"), 0);
    load_refuse(path, DISPLAY ": cannot open: No such file or directory");
}

static void test_file_not_regular(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "fifo.yaml"), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    load_refuse(path, DISPLAY ": not a regular file"); /* and does not wait for a writer */
    load_refuse(*state, DISPLAY ": not a regular file");  /* a directory */
    unlink(path);
}

static void test_file_size(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "big.yaml"), 0);
    /* "a: xxx...x\n", exactly the limit: one scalar of 2^20 - 4 characters */
    char *text = repeat("a: ", "x", YR_MAX_FILE_BYTES - 4, "\n");
    assert_int_equal(run_write_file(path, text), 0);
    char err[YR_ERR_LEN];
    yr_doc *d = NULL;
    if (yr_load(path, DISPLAY, &d, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    assert_int_equal(strlen(get(yr_root(d), "a")->value), YR_MAX_FILE_BYTES - 4);
    yr_free(d);
    free(text);
    text = repeat("a: ", "x", YR_MAX_FILE_BYTES - 3, "\n");
    assert_int_equal(run_write_file(path, text), 0);
    load_refuse(path, DISPLAY ": larger than 1048576 bytes (1048577 bytes)");
    free(text);
    unlink(path);
}

static void test_file_loaded(void **state)
{
    char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, "ok.yaml"), 0);
    assert_int_equal(run_write_file(path, "version: 1\nrules: []\n"), 0);
    char err[YR_ERR_LEN];
    yr_doc *d = NULL;
    assert_int_equal(yr_load(path, DISPLAY, &d, err, sizeof err), 0);
    assert_scalar(get(yr_root(d), "version"), "1", true, 1, 10);
    const yr_node *rules = get(yr_root(d), "rules");
    assert_int_equal(rules->kind, YR_SEQ);
    assert_int_equal(rules->count, 0);
    assert_at(rules, 2, 8);
    yr_free(d);
    /* a syntax error in a file names the display name, not the path */
    assert_int_equal(run_write_file(path, "a: [\n"), 0);
    load_refuse(path, DISPLAY ":2:1: did not find expected node content "
                              "(while parsing a flow node at line 2, column 1)");
}

/* ---- accepted trees ------------------------------------------------------ */

static const char RULES[] =
    "version: 1\n"
    "extends: [default]\n"
    "rules:\n"
    "  - id: experts-tight\n"
    "    select: [\"model.layers.*.mlp.experts.*\"]\n"
    "    limits: {max_rel_l2: 0.15, min_cosine: 0.99}\n"
    "    severity: error\n"
    "findings:\n"
    "  index.total_size: off\n"
    "waivers:\n"
    "  - finding: numerics.threshold\n"
    "    reason: \"accepted in QA-1234\"\n"
    "    expires: 2027-03-31\n";

static void test_rule_file_tree(void **state)
{
    (void)state;
    yr_doc *d = accept(RULES);
    const yr_node *r = yr_root(d);
    assert_int_equal(r->kind, YR_MAP);
    assert_at(r, 1, 1);
    assert_int_equal(r->count, 5);
    assert_scalar(r->items[0], "version", true, 1, 1);
    assert_scalar(r->items[4], "rules", true, 3, 1);
    assert_scalar(get(r, "version"), "1", true, 1, 10);

    const yr_node *ext = get(r, "extends");
    assert_int_equal(ext->kind, YR_SEQ);
    assert_at(ext, 2, 10);
    assert_int_equal(ext->count, 1);
    assert_scalar(ext->items[0], "default", true, 2, 11);

    const yr_node *rules = get(r, "rules");
    assert_int_equal(rules->kind, YR_SEQ);
    assert_at(rules, 4, 3);
    assert_int_equal(rules->count, 1);
    const yr_node *rule = rules->items[0];
    assert_int_equal(rule->kind, YR_MAP);
    assert_at(rule, 4, 5);
    assert_int_equal(rule->count, 4);
    assert_scalar(rule->items[0], "id", true, 4, 5);
    assert_scalar(get(rule, "id"), "experts-tight", true, 4, 9);
    const yr_node *sel = get(rule, "select");
    assert_at(sel, 5, 13);
    assert_scalar(sel->items[0], "model.layers.*.mlp.experts.*", false, 5, 14);
    const yr_node *lim = get(rule, "limits");
    assert_int_equal(lim->kind, YR_MAP);
    assert_at(lim, 6, 13);
    assert_int_equal(lim->count, 2);
    assert_scalar(get(lim, "max_rel_l2"), "0.15", true, 6, 26);
    assert_scalar(get(lim, "min_cosine"), "0.99", true, 6, 44);
    assert_scalar(get(rule, "severity"), "error", true, 7, 15);

    const yr_node *fi = get(r, "findings");
    assert_at(fi, 9, 3);
    assert_scalar(get(fi, "index.total_size"), "off", true, 9, 21);

    const yr_node *w = get(r, "waivers")->items[0];
    assert_at(w, 11, 5);
    assert_scalar(get(w, "reason"), "accepted in QA-1234", false, 12, 13);
    assert_scalar(get(w, "expires"), "2027-03-31", true, 13, 14);
    yr_free(d);
}

static void test_plain_flag(void **state)
{
    (void)state;
    yr_doc *d = accept("a: x\nb: 'x'\nc: \"x\"\nd: |\n  x\ne: >\n  x\nf: !!str 1\ng: !!int 1\n"
                       "h: !!null\ni: ~\nj:\n");
    const yr_node *r = yr_root(d);
    assert_scalar(get(r, "a"), "x", true, 1, 4);
    assert_scalar(get(r, "b"), "x", false, 2, 4);
    assert_scalar(get(r, "c"), "x", false, 3, 4);
    assert_scalar(get(r, "d"), "x\n", false, 4, 4);
    assert_scalar(get(r, "e"), "x\n", false, 6, 4);
    assert_scalar(get(r, "f"), "1", false, 8, 4);
    assert_scalar(get(r, "g"), "1", true, 9, 4);
    assert_scalar(get(r, "h"), "", true, 10, 4);
    assert_scalar(get(r, "i"), "~", true, 11, 4);
    assert_int_equal(get(r, "j")->kind, YR_SCALAR); /* an empty value: plain "" */
    assert_string_equal(get(r, "j")->value, "");
    assert_true(get(r, "j")->plain);
    yr_free(d);
}

static void test_alias_sharing(void **state)
{
    (void)state;
    yr_doc *d = accept("base: &b {x: 1}\nr: [*b, *b]\ns: *b\n");
    const yr_node *r = yr_root(d), *base = get(r, "base");
    assert_int_equal(base->kind, YR_MAP);
    assert_at(base, 1, 7); /* the anchor's position */
    const yr_node *seq = get(r, "r");
    assert_int_equal(seq->count, 2);
    assert_ptr_equal(seq->items[0], base);
    assert_ptr_equal(seq->items[1], base);
    assert_ptr_equal(get(r, "s"), base);
    yr_free(d);
    /* an alias to a scalar can be a key */
    d = accept("a: &k name\n*k : 2\n");
    r = yr_root(d);
    assert_ptr_equal(r->items[2], r->items[1]);
    assert_scalar(get(r, "name"), "2", true, 2, 6);
    yr_free(d);
}

static void test_columns_count_characters(void **state)
{
    (void)state;
    yr_doc *d = accept("\xc3\xa9: x\n\xe2\x82\xac\xe2\x82\xac: y\n");
    assert_scalar(get(yr_root(d), "\xc3\xa9"), "x", true, 1, 4);
    assert_scalar(get(yr_root(d), "\xe2\x82\xac\xe2\x82\xac"), "y", true, 2, 5);
    yr_free(d);
    /* a byte-order mark is not a column */
    d = accept("\xef\xbb\xbf" "a: 1\n");
    assert_scalar(yr_root(d)->items[0], "a", true, 1, 1);
    assert_scalar(get(yr_root(d), "a"), "1", true, 1, 4);
    yr_free(d);
}

static void test_get(void **state)
{
    (void)state;
    yr_doc *d = accept("a: 1\nb: [1]\n");
    const yr_node *r = yr_root(d);
    assert_null(yr_get(r, "c"));
    assert_null(yr_get(r, "A"));
    assert_null(yr_get(r, "a "));
    assert_null(yr_get(NULL, "a"));
    assert_null(yr_get(get(r, "b"), "1")); /* not a map */
    assert_null(yr_get(get(r, "a"), "1"));
    yr_free(d);
    yr_free(NULL);
}

/* ---- the tree ----------------------------------------------------------- */

/* whether the file includes <yaml.h> (any spacing after the '#') */
static bool includes_yaml(const char *path)
{
    char *text;
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    bool found = false;
    for (const char *p = text; (p = strstr(p, "<yaml.h>")) != NULL; p++) {
        const char *line = p;
        while (line > text && line[-1] != '\n')
            line--;
        line += strspn(line, " \t");
        if (*line == '#' && strstr(line, "include") && strstr(line, "include") < p)
            found = true;
    }
    free(text);
    return found;
}

/* libyaml stays behind this module: src/yamlread.c is its only includer */
static void test_only_includer(void **state)
{
    (void)state;
    const char *env = getenv("MXC_SRCDIR");
    const char *root = env && *env ? env : ".";
    static const char *const dirs[] = {"src", "tui", "tests", "tests/support", "fuzz"};
    size_t includers = 0, files = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char dir[RUN_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", root, dirs[i]);
        DIR *dp = opendir(dir);
        if (!dp)
            continue; /* tui/ may not exist yet */
        for (struct dirent *de; (de = readdir(dp)) != NULL;) {
            const char *ext = strrchr(de->d_name, '.');
            if (!ext || (strcmp(ext, ".c") != 0 && strcmp(ext, ".h") != 0))
                continue;
            char path[2 * RUN_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            files++;
            if (!includes_yaml(path))
                continue;
            includers++;
            if (strcmp(dirs[i], "src") != 0 || strcmp(de->d_name, "yamlread.c") != 0)
                fail_msg("%s includes <yaml.h>: only src/yamlread.c may", path);
        }
        closedir(dp);
    }
    if (files == 0)
        skip(); /* not run from the source tree */
    assert_int_equal(includers, 1);
}

static int tmpdir_setup(void **state)
{
    return run_tmpdir_setup(state, "yamlread");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_control_character),
        cmocka_unit_test(test_escaped_nul),
        cmocka_unit_test(test_display_escaped),
        cmocka_unit_test(test_syntax_value_in_plain),
        cmocka_unit_test(test_syntax_bad_indent),
        cmocka_unit_test(test_syntax_tab_indent),
        cmocka_unit_test(test_syntax_unclosed_flow),
        cmocka_unit_test(test_syntax_bad_escape),
        cmocka_unit_test(test_two_documents),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_depth_flow),
        cmocka_unit_test(test_depth_block),
        cmocka_unit_test(test_depth_huge),
        cmocka_unit_test(test_depth_through_alias),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_duplicate_key_quoted),
        cmocka_unit_test(test_duplicate_key_via_alias),
        cmocka_unit_test(test_duplicate_key_escaped),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_non_scalar_key),
        cmocka_unit_test(test_merge_key),
        cmocka_unit_test(test_undefined_alias),
        cmocka_unit_test(test_ancestor_alias),
        cmocka_unit_test(test_duplicate_anchor),
        cmocka_unit_test(test_alias_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test_setup_teardown(test_billion_laughs, tmpdir_setup,
                                        run_tmpdir_teardown),
        cmocka_unit_test(test_tag_python),
        cmocka_unit_test(test_tag_custom),
        cmocka_unit_test(test_tag_wrong_kind),
        cmocka_unit_test(test_tag_wrong_value),
        cmocka_unit_test(test_tag_values_accepted),
        cmocka_unit_test_setup_teardown(test_file_missing, tmpdir_setup,
                                        run_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_not_regular, tmpdir_setup,
                                        run_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_size, tmpdir_setup,
                                        run_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_loaded, tmpdir_setup,
                                        run_tmpdir_teardown),
        cmocka_unit_test(test_rule_file_tree),
        cmocka_unit_test(test_plain_flag),
        cmocka_unit_test(test_alias_sharing),
        cmocka_unit_test(test_columns_count_characters),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_only_includer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
