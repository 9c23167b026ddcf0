/* libFuzzer target: the rule loader (rules.h) on a fuzzed rule file, after
 * the built-in default, as `verify --rules` reads it. Beyond "no crash":
 * a file the loader accepts gives a policy whose every rule has an id, a
 * place (line >= 1) and limits inside the ranges of the check table, and a
 * refused file gives at least one problem line "FILE:LINE:COL: ..." or
 * "FILE: ...". The file is written to disk so that extends of relative paths
 * are exercised too (they name nothing there, and must be refused cleanly). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_files.h"
#include "policy.h"
#include "rules.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        strcpy(dir, "/tmp/fuzz_rules_XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    fuzz_write_file(dir, "r.yaml", data, size);
    char path[128];
    snprintf(path, sizeof path, "%s/r.yaml", dir);
    rules_loader *l = rules_loader_new();
    CHECK(rules_add_builtin(l, "default") == 0);
    rules_add_file(l, path);
    rules_finish(l);
    policy *p = rules_take_policy(l);
    if (p) {
        CHECK(rules_problem_count(l) == 0);
        for (size_t i = 0; i < policy_rule_count(p); i++) {
            const policy_rule *r = policy_rule_at(p, i);
            CHECK(r->id && r->id[0] && r->at.line >= 1 && r->at.file);
            for (int c = 0; c < PC_LIMIT_COUNT; c++)
                if (r->has_limit[c])
                    CHECK(r->limit[c] >= policy_check_at((policy_check)c)->lo &&
                          r->limit[c] <= policy_check_at((policy_check)c)->hi);
        }
        policy_free(p);
    } else {
        CHECK(rules_problem_count(l) > 0);
        CHECK(strncmp(rules_problems(l), path, strlen(path)) == 0 || strstr(rules_problems(l), "builtin:"));
    }
    rules_loader_free(l);
    return 0;
}
