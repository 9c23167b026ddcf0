/* rules.h - rule files (SPEC §7) read into a policy.
 *
 * A rules_loader gathers a policy from the built-in files (rules/NAME.yaml,
 * embedded) and files on disk, in order: each file after what it extends,
 * each file once, an extends cycle refused. Every problem is reported as
 * "FILE:LINE:COL: message" (the YAML reader's own, then the schema's: unknown
 * key, wrong type, bad glob or regex, unknown finding id, limit out of range,
 * duplicate rule id, include cycle), and the loader goes on after a schema
 * problem so that `rules check` shows them all.
 *
 * Ownership: the loader owns the policy until rules_take_policy. */
#ifndef MXC_RULES_H
#define MXC_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define RULES_MAX_PROBLEMS 100 /* reported per loader; more are counted */
#define RULES_MAX_EXTENDS_DEPTH 16

/* The text of built-in rule file `name` ("default", "strict", "gpt-oss"),
 * or NULL. */
const char *rules_builtin_text(const char *name, size_t *len);

typedef struct rules_loader rules_loader;

rules_loader *rules_loader_new(void);
void rules_loader_free(rules_loader *l); /* NULL is a no-op; frees an untaken policy */

/* Adds the built-in `name` (after what it extends). Returns 0, or -1 when
 * it or what it extends has problems. */
int rules_add_builtin(rules_loader *l, const char *name);
/* Adds the rule file at path, shown in messages and reports as given. */
int rules_add_file(rules_loader *l, const char *path);

/* Checks that need every file: waivers naming a rule no file defines. Call
 * once after the last add. Returns 0, or -1 with problems. */
int rules_finish(rules_loader *l);

/* Problems so far, one "FILE:LINE:COL: message" per line (""), and their
 * count (may exceed the lines kept). */
const char *rules_problems(const rules_loader *l);
size_t rules_problem_count(const rules_loader *l);

/* The policy (caller frees with policy_free); NULL after a problem. */
policy *rules_take_policy(rules_loader *l);

/* "YYYY-MM-DD" of a real calendar day. */
bool rules_valid_date(const char *s);

#endif
