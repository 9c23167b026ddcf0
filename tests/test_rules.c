/* test_rules.c - rule files (SPEC §7) through `mxfp4-check rules check`: one
 * case per malformed file, asserting the whole FILE:LINE:COL: message
 * (positions counted by hand: 1-based line and column of the offending
 * key or value), plus `rules print` byte for byte and the built-ins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finding.h"
#include "runner.h"

static const char *bin(void)
{
    const char *b = getenv("MXC_BIN");
    if (!b)
        fail_msg("MXC_BIN is not set (run through `make test`)");
    return b;
}

/* Writes text as dir/name and returns the path (static buffer). */
static const char *rule_file(void **state, const char *name, const char *text)
{
    static char path[RUN_PATH_MAX];
    assert_int_equal(run_join(path, sizeof path, *state, name), 0);
    assert_int_equal(run_write_file(path, text), 0);
    return path;
}

/* `rules check FILE`: exit 2 and stdout exactly "FILE:" + expected (one or
 * more lines, each after the file name). */
static void refused(void **state, const char *text, const char *expected)
{
    const char *path = rule_file(state, "r.yaml", text);
    const char *argv[] = {bin(), "rules", "check", path, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    char want[4096] = "";
    /* every line of expected names the file */
    for (const char *line = expected; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s:%.*s\n", path, (int)n, line);
        line += n + (nl ? 1 : 0);
    }
    if (r.status != 2 || strcmp(r.out, want) != 0)
        fail_msg("exit %d, stdout:\n%s\nexpected exit 2 and:\n%s\nstderr: %s", r.status, r.out, want, r.err);
    run_result_free(&r);
}

static void accepted(void **state, const char *text)
{
    const char *path = rule_file(state, "ok.yaml", text);
    const char *argv[] = {bin(), "rules", "check", path, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    if (r.status != 0 || r.out_len != 0)
        fail_msg("exit %d, stdout:\n%s", r.status, r.out);
    run_result_free(&r);
}

static int setup(void **state) { return run_tmpdir_setup(state, "mxc-rules"); }
static int teardown(void **state) { return run_tmpdir_teardown(state); }

/* ---- the document -------------------------------------------------------- */

static void test_unknown_top_key(void **state)
{
    refused(state, "version: 1\nrulez: []\n",
            "2:1: unknown key 'rulez' in a rule file (expected one of: version, extends, rules, "
            "findings, require_not_converted, waivers)");
}

static void test_version(void **state)
{
    refused(state, "rules: []\n", "1:1: missing 'version: 1'");
    refused(state, "version: 2\n", "1:10: version 2 is not supported (this mxfp4-check reads version 1)");
    refused(state, "version: [1]\n", "1:10: version must be a scalar, not a list");
    refused(state, "- version: 1\n", "1:1: a rule file is a mapping (version, extends, rules, ...), not a list");
}

static void test_wrong_types(void **state)
{
    refused(state, "version: 1\nrules: {}\n", "2:8: rules must be a list of rules, not a mapping");
    refused(state, "version: 1\nfindings: [a]\n",
            "2:11: findings must be a mapping of finding ids to severities, not a list");
    refused(state, "version: 1\nwaivers: x\n", "2:10: waivers must be a list, not a scalar");
    refused(state, "version: 1\nrequire_not_converted: lm_head\n",
            "2:24: require_not_converted must be a list of patterns, not a scalar");
}

/* ---- rules --------------------------------------------------------------- */

static void test_rule_without_id(void **state)
{
    refused(state, "version: 1\nrules:\n  - select: [\"*\"]\n", "3:5: a rule needs an id");
}

static void test_rule_without_select(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: a\n", "3:5: rule a needs a select");
}

static void test_rule_bad_id(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: \"a b\"\n    select: [x]\n",
            "3:9: rule id 'a b' must be letters, digits, '-', '_' or '.'");
}

static void test_rule_unknown_key(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: a\n    selct: [x]\n    select: [x]\n",
            "4:5: unknown key 'selct' in a rule (expected one of: id, select, exclude, expect, limits, "
            "severity)");
}

static void test_duplicate_rule_id(void **state)
{
    const char *path = rule_file(state, "r.yaml", "");
    char expected[RUN_PATH_MAX + 128];
    snprintf(expected, sizeof expected, "6:9: duplicate rule id 'a' (first at %s:3)", path);
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n  - select: [y]\n    id: a\n", expected);
    /* the built-in default's ids are taken too */
    refused(state, "version: 1\nrules:\n  - id: default-limits\n    select: [x]\n",
            "3:9: duplicate rule id 'default-limits' (first at builtin:default:11)");
}

static void test_bad_regex(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [\"re:model.(layers\"]\n",
            "4:14: select 're:model.(layers': invalid regex: missing closing parenthesis at byte 13 "
            "of the pattern");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    exclude: \"re:*x\"\n",
            "5:14: exclude 're:*x': invalid regex: quantifier does not follow a repeatable item at "
            "byte 0 of the pattern");
}

static void test_bad_select(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: a\n    select: []\n",
            "4:13: select must be a pattern or a list of patterns (it is empty)");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: {x: 1}\n",
            "4:13: select must be a pattern or a list of patterns");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [[x]]\n",
            "4:14: select must be a scalar, not a list");
}

static void test_bad_expect_and_severity(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    expect: maybe\n",
            "5:13: expect must be quantized, kept or absent, not 'maybe'");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    severity: fatal\n",
            "5:15: severity must be error, warn, info or off, not 'fatal'");
}

static void test_limits(void **state)
{
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: {max_rel: 0.1}\n",
            "5:14: unknown limit 'max_rel' (expected one of: max_rel_l2, min_cosine, max_excess, "
            "min_codes_identical, min_scales_identical, max_abs_err, max_mean_abs_err, max_rmse, "
            "min_snr_db, max_nonfinite)");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: {max_rel_l2: -1}\n",
            "5:26: max_rel_l2 -1 is out of range (0 to 1e+06)");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: {min_cosine: 1.5}\n",
            "5:26: min_cosine 1.5 is out of range (-1 to 1)");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: {max_excess: high}\n",
            "5:26: max_excess must be a number, not 'high'");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: {max_excess: \"1.0\"}\n",
            "5:26: max_excess must be a number, not '1.0'");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: {max_nonfinite: 0.5}\n",
            "5:29: max_nonfinite must be a whole number, not 0.5");
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    limits: [0.1]\n",
            "5:13: limits must be a mapping of limit names to numbers, not a list");
}

static void test_several_problems_reported(void **state)
{
    /* rules check goes on after a schema problem: all three are listed */
    refused(state, "version: 1\nrules:\n  - id: a\n    select: [x]\n    expect: maybe\n    severity: fatal\n"
                   "findings:\n  numerics.thresold: off\n",
            "5:13: expect must be quantized, kept or absent, not 'maybe'\n"
            "6:15: severity must be error, warn, info or off, not 'fatal'\n"
            "8:3: unknown finding id 'numerics.thresold' (see `mxfp4-check verify --help`)");
}

/* ---- findings, waivers, require_not_converted ------------------------------ */

static void test_findings_entries(void **state)
{
    refused(state, "version: 1\nfindings:\n  index.total_size: loud\n",
            "3:21: severity must be error, warn, info or off, not 'loud'");
    refused(state, "version: 1\nfindings:\n  numerics.requant_mismatch: {select: [x]}\n",
            "3:30: numerics.requant_mismatch needs a severity");
    refused(state, "version: 1\nfindings:\n  numerics.requant_mismatch: {severity: error, where: [x]}\n",
            "3:48: unknown key 'where' in numerics.requant_mismatch (expected one of: severity, select)");
}

static void test_waivers(void **state)
{
    refused(state, "version: 1\nwaivers:\n  - finding: numerics.threshold\n",
            "3:5: a waiver needs a reason");
    refused(state, "version: 1\nwaivers:\n  - finding: numerics.threshold\n    reason: \"\"\n",
            "4:13: a waiver's reason must not be empty");
    refused(state, "version: 1\nwaivers:\n  - finding: numerics.threshold\n    rule: default-limits\n    reason: x\n",
            "3:5: a waiver names exactly one of finding or rule");
    refused(state, "version: 1\nwaivers:\n  - reason: x\n", "3:5: a waiver names exactly one of finding or rule");
    refused(state, "version: 1\nwaivers:\n  - finding: numerics.treshold\n    reason: x\n",
            "3:14: unknown finding id 'numerics.treshold' (see `mxfp4-check verify --help`)");
    refused(state, "version: 1\nwaivers:\n  - finding: numerics.threshold\n    reason: x\n    expires: 2027-02-29\n",
            "5:14: expires must be a date YYYY-MM-DD, not '2027-02-29'");
    refused(state, "version: 1\nwaivers:\n  - finding: numerics.threshold\n    reason: x\n    expires: tomorrow\n",
            "5:14: expires must be a date YYYY-MM-DD, not 'tomorrow'");
    refused(state, "version: 1\nwaivers:\n  - rule: no-such-rule\n    reason: x\n",
            "3:5: the waiver names rule 'no-such-rule', which no rule file defines");
    accepted(state, "version: 1\nwaivers:\n  - finding: numerics.threshold\n    reason: x\n    expires: 2028-02-29\n"
                    "  - rule: default-limits\n    select: [\"*.down_proj\"]\n    reason: QA-1\n");
}

/* ---- extends ------------------------------------------------------------- */

static void test_extends(void **state)
{
    refused(state, "version: 1\nextends: [missing.yaml]\n",
            "2:11: extends 'missing.yaml': no built-in of that name, and cannot open it: No such file or directory");
    accepted(state, "version: 1\nextends: [default, strict]\n");
    accepted(state, "version: 1\nextends: gpt-oss\n");
}

/* r.yaml extends b.yaml, which extends r.yaml: the cycle is shown where it
 * closes, in b.yaml */
static void test_extends_cycle(void **state)
{
    char b[RUN_PATH_MAX];
    assert_int_equal(run_join(b, sizeof b, *state, "b.yaml"), 0);
    assert_int_equal(run_write_file(b, "version: 1\nextends: [r.yaml]\n"), 0);
    const char *path = rule_file(state, "r.yaml", "version: 1\nextends: [b.yaml]\n");
    const char *argv[] = {bin(), "rules", "check", path, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    char want[RUN_PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:2:11: extends 'r.yaml': makes a cycle (it is being read already)\n", b);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, want);
    run_result_free(&r);
}

/* ---- the YAML reader's limits reach `rules check` ------------------------- */

static void test_yaml_level_problems(void **state)
{
    /* what an editor shows as a comment must not be YAML */
    refused(state, "version: 1\n# no waivers\xc2\x85waivers: [{finding: numerics.threshold, reason: x}]\n",
            "2:13: U+0085 is a line break to YAML 1.1 but not to an editor");
    refused(state, "version: 1\nversion: 1\n", "2:1: duplicate key 'version' (first at line 1, column 1)");
    refused(state,
            "version: 1\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
            "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
            "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
            "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
            "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
            "7:8: more than 100000 nodes with aliases expanded");
}

/* ---- built-ins ------------------------------------------------------------ */

static void test_print_byte_for_byte(void **state)
{
    (void)state;
    const char *src = getenv("MXC_SRCDIR");
    if (!src)
        fail_msg("MXC_SRCDIR is not set");
    static const char *const names[] = {"default", "strict", "gpt-oss"};
    for (size_t i = 0; i < 3; i++) {
        char path[RUN_PATH_MAX], *want;
        size_t len;
        snprintf(path, sizeof path, "%s/rules/%s.yaml", src, names[i]);
        assert_int_equal(run_read_file(path, &want, &len), 0);
        const char *argv[] = {bin(), "rules", "print", names[i], NULL};
        run_result r;
        assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.out_len, len);
        assert_memory_equal(r.out, want, len);
        run_result_free(&r);
        /* and each is a valid rule file */
        const char *check[] = {bin(), "rules", "check", path, NULL};
        assert_int_equal(run_cmd(check, RUN_DEFAULT_TIMEOUT_S, &r), 0);
        if (r.status != 0)
            fail_msg("%s: %s", path, r.out);
        run_result_free(&r);
        free(want);
    }
    const char *argv[] = {bin(), "rules", "print", "lenient", NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "mxfp4-check rules print: no built-in rule file 'lenient' (default, strict, "
                               "gpt-oss) (try 'mxfp4-check rules print --help')\n");
    run_result_free(&r);
}

/* rules/default.yaml states each finding's severity as the finding table
 * does: read the file's findings: section line by line (it is flat). */
static void test_default_yaml_matches_finding_table(void **state)
{
    (void)state;
    char path[RUN_PATH_MAX], *text;
    snprintf(path, sizeof path, "%s/rules/default.yaml", getenv("MXC_SRCDIR"));
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    const char *section = strstr(text, "\nfindings:\n");
    assert_non_null(section);
    for (size_t i = 0; i < finding_kind_count(); i++) {
        const finding_kind *k = finding_kind_at(i);
        char line[128];
        snprintf(line, sizeof line, "\n  %s: %s", k->id, severity_name(k->default_sev));
        if (!strstr(section, line))
            fail_msg("rules/default.yaml lacks \"%s\"", line + 1);
    }
    free(text);
}

/* The man page lists every finding id of the table with its default
 * severity and meaning (roff spells '-' as "\\-"). */
static void test_man_page_lists_finding_table(void **state)
{
    (void)state;
    char path[RUN_PATH_MAX], *text;
    snprintf(path, sizeof path, "%s/mxfp4-check.1", getenv("MXC_SRCDIR"));
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    for (size_t i = 0; i < finding_kind_count(); i++) {
        const finding_kind *k = finding_kind_at(i);
        char want[512], *o = want;
        o += snprintf(want, sizeof want, ".B %s\n(%s) ", k->id, severity_name(k->default_sev));
        for (const char *m = k->meaning; *m && o < want + sizeof want - 3; m++) {
            if (*m == '-')
                *o++ = '\\';
            *o++ = *m;
        }
        *o = '\0';
        if (!strstr(text, want))
            fail_msg("mxfp4-check.1 lacks:\n%s", want);
    }
    free(text);
}

#define CASE(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(test_unknown_top_key),       CASE(test_version),
        CASE(test_wrong_types),           CASE(test_rule_without_id),
        CASE(test_rule_without_select),   CASE(test_rule_bad_id),
        CASE(test_rule_unknown_key),      CASE(test_duplicate_rule_id),
        CASE(test_bad_regex),             CASE(test_bad_select),
        CASE(test_bad_expect_and_severity), CASE(test_limits),
        CASE(test_several_problems_reported), CASE(test_findings_entries),
        CASE(test_waivers),               CASE(test_extends),
        CASE(test_extends_cycle),
        CASE(test_yaml_level_problems),   CASE(test_print_byte_for_byte),
        CASE(test_default_yaml_matches_finding_table),
        CASE(test_man_page_lists_finding_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
