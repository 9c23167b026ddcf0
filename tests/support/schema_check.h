/* schema_check.h - JSON files against a JSON Schema, by python3's jsonschema.
 *
 * One validator process serves a whole test program: started on the first
 * check (the Debian python3 first, where python3-jsonschema installs, then
 * python3 on PATH), it checks the schema against its own draft
 * (validator_for, check_schema) once and then answers one file at a time. A
 * suite so pays Python's and jsonschema's start-up (about 0.3 s a process)
 * once instead of once per report. It ends when the test program does.
 *
 * Errors: schema_check returns a verdict and writes what went wrong into the
 * caller's buffer. Nothing here exits, aborts or prints. */
#ifndef MXC_TEST_SCHEMA_CHECK_H
#define MXC_TEST_SCHEMA_CHECK_H

#include <stddef.h>

typedef enum {
    SCHEMA_VALID = 0,
    SCHEMA_INVALID = 1,        /* the file breaks the schema */
    SCHEMA_NOT_JSON = 2,       /* the file cannot be read or is not JSON */
    SCHEMA_NO_VALIDATOR = -1,  /* no python3 with jsonschema on this machine */
    SCHEMA_BROKEN = -2,        /* the validator failed: a bad schema, it died or hung */
} schema_verdict;

/* Starts the validator on the schema file at schema unless it runs (a test
 * program checks against one schema: the first one given is the one loaded;
 * another is SCHEMA_BROKEN). Returns SCHEMA_VALID when it serves, else
 * SCHEMA_NO_VALIDATOR or SCHEMA_BROKEN with what it said in msg (e.g. "No
 * module named jsonschema"); a start that failed is not tried again. */
schema_verdict schema_ready(const char *schema, char *msg, size_t msglen);

/* Checks the JSON file at path against the schema (started as by
 * schema_ready). On SCHEMA_INVALID msg holds the errors, one "[where]
 * message" a line; on the other failures what went wrong. A validator that does not answer within
 * RUN_DEFAULT_TIMEOUT_S is killed: SCHEMA_BROKEN, and so is every later
 * check. */
schema_verdict schema_check(const char *schema, const char *path, char *msg, size_t msglen);

#endif
