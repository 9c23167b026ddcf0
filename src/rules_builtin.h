/* rules_builtin.h - the built-in rule files (rules/default.yaml,
 * strict.yaml, gpt-oss.yaml), embedded at build time by
 * scripts/embed-rules.sh. Read them through rules.h. */
#ifndef MXC_RULES_BUILTIN_H
#define MXC_RULES_BUILTIN_H

#include <stddef.h>

typedef struct {
    const char *name; /* "default", "strict", "gpt-oss"; NULL ends the table */
    const char *text; /* the file's bytes, NUL-terminated */
    size_t len;       /* without the NUL */
} rules_builtin;

extern const rules_builtin rules_builtins[];

#endif
