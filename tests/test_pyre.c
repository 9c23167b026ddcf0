/* test_pyre.c - src/pyre against python3's re, differentially: every
 * (pattern, name) of tests/tools/pyre_oracle.py, in re.fullmatch (rule
 * selectors) and re.match (the loader view) semantics. Inside the subset
 * pyre.h documents, the verdicts must be equal, and a pattern Python refuses
 * must be refused; the patterns outside it must be refused. python3 is a test
 * dependency, never the tool's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyre.h"
#include "runner.h"

/* Undoes the oracle's escapes (\\, \t, \n) in place. */
static void unfield(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            *o++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static void test_against_python_re(void **state)
{
    (void)state;
    const char *src = getenv("MXC_SRCDIR");
    if (!src)
        fail_msg("MXC_SRCDIR is not set");
    char script[RUN_PATH_MAX];
    snprintf(script, sizeof script, "%s/tests/tools/pyre_oracle.py", src);
    const char *argv[] = {"python3", script, NULL};
    run_result r;
    assert_int_equal(run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r), 0);
    assert_int_equal(r.status, 0);
    size_t lines = 0, agree = 0, bad = 0;
    char last_pat[8192] = "", last_mode[16] = "";
    pyre *re = NULL;
    bool refused = false;
    char why[PYRE_ERR_LEN] = "";
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[4];
        char *p = line;
        for (int k = 0; k < 4; k++) {
            f[k] = p;
            p = strchr(p, '\t');
            if (k < 3) {
                if (!p)
                    fail_msg("bad oracle line %zu", lines);
                *p++ = '\0';
            }
        }
        unfield(f[1]);
        unfield(f[2]);
        lines++;
        if (strcmp(f[1], last_pat) != 0 || strcmp(f[0], last_mode) != 0) {
            pyre_free(re);
            snprintf(last_pat, sizeof last_pat, "%s", f[1]);
            snprintf(last_mode, sizeof last_mode, "%s", f[0]);
            re = pyre_compile(f[1], strcmp(f[0], "prefix") == 0 ? PYRE_PREFIX : PYRE_FULL, why, sizeof why, NULL);
            refused = re == NULL;
        }
        const char *want = f[3];
        bool ok;
        if (strcmp(f[0], "outside") == 0 || strcmp(want, "E") == 0)
            ok = refused;
        else
            ok = !refused && pyre_match(re, f[2], strlen(f[2]), NULL, 0) == (want[0] == '1' ? PYRE_MATCH : PYRE_NO_MATCH);
        if (ok) {
            agree++;
        } else if (bad++ < 20) {
            fprintf(stderr, "differs: %s '%s' on '%s': python %s, pyre %s%s\n", f[0], f[1], f[2], want,
                    refused ? "refuses: " : "", refused ? why : "matches otherwise");
        }
    }
    pyre_free(re);
    run_result_free(&r);
    fprintf(stderr, "pyre vs python3 re: %zu cases, %zu agree, %zu differ\n", lines, agree, bad);
    assert_true(lines > 20000);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_python_re),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
