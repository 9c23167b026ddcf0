/* pattern.c - the converter's glob view and the transformers loader's regex
 * view of `modules_to_not_convert` (see pattern.h for both contracts). */
#include "pattern.h"

#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- converter view ---------------------------------------------------- */

/* Not fnmatch(3): FNM_PATHNAME/FNM_PERIOD change what `*` spans, `?` and `[` are special, and glibc's is exponential. */

/* Character i of the pattern, which is `pat` followed, when total > plen, by
 * the virtual tail ".*": "pattern followed by '.' and anything" is exactly
 * the glob pat + ".*", matched without building it. */
static char glob_at(const char *pat, size_t plen, size_t i)
{
    if (i < plen)
        return pat[i];
    return i == plen ? '.' : '*';
}

/* Whole-name glob match. Only the last star is ever resumed: a later star can
 * absorb whatever an earlier one would, so each resume moves `resume` one
 * character on and the loop is O(total * strlen(name)), recursion-free. */
static bool glob_match(const char *pat, size_t plen, size_t total, const char *name)
{
    size_t p = 0, n = 0;
    size_t star = SIZE_MAX, resume = 0;

    while (name[n] != '\0') {
        char c = p < total ? glob_at(pat, plen, p) : '\0';
        if (c == '*') {
            star = p++;
            resume = n;
        } else if (p < total && c == name[n]) {
            p++;
            n++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (p < total && glob_at(pat, plen, p) == '*')
        p++;
    return p == total;
}

bool pat_match_converter(const char *pattern, const char *name)
{
    if (!pattern || !name)
        return false;
    size_t plen = strlen(pattern);
    return glob_match(pattern, plen, plen, name) || glob_match(pattern, plen, plen + 2, name);
}

bool pat_match_glob(const char *pattern, const char *name)
{
    if (!pattern || !name)
        return false;
    size_t plen = strlen(pattern);
    return glob_match(pattern, plen, plen, name);
}

int pat_first_match(const char *const *patterns, int n, const char *name)
{
    if (!patterns)
        return -1;
    for (int i = 0; i < n; i++)
        if (patterns[i] && pat_match_converter(patterns[i], name))
            return i;
    return -1;
}

/* ---- loader view -------------------------------------------------------- */

struct pat_loader {
    char *pattern; /* for the literal suffix rule */
    pyre *re;      /* NULL when the pattern did not compile */
    char err[PYRE_ERR_LEN + 32];
};

pat_loader *pat_loader_new(const char *pattern)
{
    pat_loader *m = xcalloc(1, sizeof *m);
    m->pattern = xstrdup(pattern ? pattern : "");
    if (!pattern) {
        snprintf(m->err, sizeof m->err, "no pattern");
        return m;
    }
    char why[PYRE_ERR_LEN];
    size_t at;
    m->re = pyre_compile(pattern, PYRE_PREFIX, why, sizeof why, &at);
    if (!m->re)
        snprintf(m->err, sizeof m->err, "%s at byte %zu", why, at);
    return m;
}

/* Length of the module part of a tensor name: everything before the last
 * '.', as transformers' get_module_from_name (rsplit(".", 1)) cuts it. */
size_t pat_module_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

static bool ends_with(const char *s, size_t slen, const char *suffix)
{
    size_t n = strlen(suffix);
    return n <= slen && memcmp(s + slen - n, suffix, n) == 0;
}

pyre_result pat_loader_match(pat_loader *m, const char *name, char *err, size_t errlen)
{
    if (!m || !m->re || !name)
        return PYRE_NO_MATCH;
    size_t len = pat_module_len(name);
    if (ends_with(name, len, m->pattern))
        return PYRE_MATCH;
    return pyre_match(m->re, name, len, err, errlen);
}

const char *pat_loader_error(const pat_loader *m)
{
    if (!m)
        return "no matcher";
    return m->re ? NULL : m->err;
}

void pat_loader_free(pat_loader *m)
{
    if (!m)
        return;
    pyre_free(m->re);
    free(m->pattern);
    free(m);
}

pyre_result pat_match_loader(const char *pattern, const char *name)
{
    if (!pattern || !name)
        return PYRE_NO_MATCH;
    pat_loader *m = pat_loader_new(pattern);
    pyre_result hit = pat_loader_match(m, name, NULL, 0);
    pat_loader_free(m);
    return hit;
}
