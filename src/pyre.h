/* pyre.h - regular expressions in Python's `re` dialect, for patterns that
 * come from files: modules_to_not_convert in config.json (matched as the
 * Hugging Face loader does, re.match) and `re:` selectors of rule files
 * (re.fullmatch).
 *
 * Matching is PCRE2's (a maintained engine whose syntax is Perl's, which
 * Python's follows: `\d`, `(?:...)`, `(?P<name>...)`, lazy quantifiers,
 * lookarounds), compiled with UTF and Unicode properties as Python 3 matches
 * str patterns, and `\uXXXX` read as Python reads it. Every pattern is
 * untrusted: PCRE2's match, depth and heap limits are set, so that no
 * pattern can stall the tool; a match that reaches one is PYRE_LIMIT, which
 * callers must treat as an error, never as "no match" (a verdict must not
 * depend on a limit). Compiled memory is PCRE2's, a few hundred bytes for a
 * real pattern; patterns longer than PYRE_MAX_PATTERN_LEN are refused.
 *
 * A pyre is not thread-safe (it keeps its match data); compile one per
 * thread. pyre_free(NULL) is a no-op. */
#ifndef MXC_PYRE_H
#define MXC_PYRE_H

#include <stddef.h>

#define PYRE_MAX_PATTERN_LEN 4096 /* bytes; module patterns are tens */
#define PYRE_MATCH_LIMIT 100000   /* backtracking steps of one match: a real pattern
                                     takes tens; 0.1 s of a hostile one per match at most */
#define PYRE_DEPTH_LIMIT 1000     /* nested backtracking points */
#define PYRE_HEAP_LIMIT_KIB 4096  /* heap for one match's backtracking */
#define PYRE_ERR_LEN 160

typedef enum {
    PYRE_PREFIX, /* re.match: anchored at the start only */
    PYRE_FULL,   /* re.fullmatch: the whole subject */
} pyre_anchor;

typedef enum { PYRE_NO_MATCH = 0, PYRE_MATCH = 1, PYRE_LIMIT = -1 } pyre_result;

typedef struct pyre pyre;

/* Compiles pattern (NUL-terminated, UTF-8). Returns NULL with err set to
 * PCRE2's message and *offset (may be NULL) to the byte where it stopped,
 * for an invalid pattern, one longer than PYRE_MAX_PATTERN_LEN, or one that
 * is not valid UTF-8. */
pyre *pyre_compile(const char *pattern, pyre_anchor anchor, char *err, size_t errlen,
                   size_t *offset);

/* Matches subject[0..len). PYRE_LIMIT when a limit was reached (err, if not
 * NULL, says which). */
pyre_result pyre_match(pyre *re, const char *subject, size_t len, char *err, size_t errlen);

void pyre_free(pyre *re);

#endif
