/* pattern.c - the converter's glob view and the transformers loader's regex
 * view of `modules_to_not_convert` (see pattern.h for both contracts). */
#include "pattern.h"

#include "util.h"

#include <regex.h>
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

/* Limit: Python re != POSIX ERE for `\d`, `(?:`, lookarounds, lazy `+?`, `a**`, a literal `{`, `[[:digit:]]`, `\m`, non-ASCII `.`. */

#define PAT_ERR_MAX 160

struct pat_loader {
    char *pattern; /* for the literal suffix rule */
    bool ok;       /* re holds a compiled "^(pattern)" */
    regex_t re;
    char err[PAT_ERR_MAX];
};

/* Index of the ']' closing the bracket expression opened at p[i], or of the
 * terminating NUL. POSIX rules: a leading '^' and then a leading ']' are part
 * of the set, "[:alpha:]"-style items may hold ']', a backslash is literal. */
static size_t skip_bracket(const char *p, size_t i)
{
    size_t j = i + 1;
    if (p[j] == '^')
        j++;
    if (p[j] == ']')
        j++;
    while (p[j] != '\0' && p[j] != ']') {
        char d = p[j + 1];
        if (p[j] == '[' && (d == ':' || d == '.' || d == '=')) {
            j += 2;
            while (p[j] != '\0' && !(p[j] == d && p[j + 1] == ']'))
                j++;
            if (p[j] == '\0')
                return j;
            j += 2;
        } else {
            j++;
        }
    }
    return j;
}

/* The pattern is compiled as "^(pattern)" so that every alternative is
 * anchored like re.match ("^a|b" would let "b" match anywhere). Two things
 * could break out of that group and are refused first, both of which Python
 * would reject or treat differently anyway: a ')' without its '(' (glibc takes
 * it as a literal, so "a)|b" would become "^(a)|b)"), and back-references
 * (renumbered by our group, and exponential in glibc). */
static const char *loader_precheck(const char *p)
{
    int depth = 0;
    for (size_t i = 0; p[i] != '\0'; i++) {
        switch (p[i]) {
        case '\\':
            if (p[i + 1] >= '1' && p[i + 1] <= '9')
                return "back-references are not supported";
            if (p[i + 1] == '\0')
                return "trailing backslash";
            i++;
            break;
        case '[':
            i = skip_bracket(p, i);
            if (p[i] == '\0')
                return NULL; /* unterminated: regcomp reports it */
            break;
        case '(':
            depth++;
            break;
        case ')':
            if (--depth < 0)
                return "unbalanced parenthesis";
            break;
        default:
            break;
        }
    }
    return NULL;
}

pat_loader *pat_loader_new(const char *pattern)
{
    pat_loader *m = xcalloc(1, sizeof *m);
    m->pattern = xstrdup(pattern ? pattern : "");
    if (!pattern) {
        snprintf(m->err, sizeof m->err, "no pattern");
        return m;
    }
    const char *why = loader_precheck(pattern);
    if (why) {
        snprintf(m->err, sizeof m->err, "%s", why);
        return m;
    }
    char *anchored = xasprintf("^(%s)", pattern);
    int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        regerror(rc, &m->re, m->err, sizeof m->err);
        return m;
    }
    m->ok = true;
    return m;
}

/* Length of the module part of a tensor name: everything before the last
 * '.', as transformers' get_module_from_name (rsplit(".", 1)) cuts it. */
static size_t module_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

static bool ends_with(const char *s, size_t slen, const char *suffix)
{
    size_t n = strlen(suffix);
    return n <= slen && memcmp(s + slen - n, suffix, n) == 0;
}

bool pat_loader_match(const pat_loader *m, const char *name)
{
    if (!m || !m->ok || !name)
        return false;
    size_t len = module_len(name);
    if (ends_with(name, len, m->pattern))
        return true;
    char *module = xmalloc(len + 1);
    memcpy(module, name, len);
    module[len] = '\0';
    bool hit = regexec(&m->re, module, 0, NULL, 0) == 0;
    free(module);
    return hit;
}

const char *pat_loader_error(const pat_loader *m)
{
    if (!m)
        return "no matcher";
    return m->ok ? NULL : m->err;
}

void pat_loader_free(pat_loader *m)
{
    if (!m)
        return;
    if (m->ok)
        regfree(&m->re);
    free(m->pattern);
    free(m);
}

bool pat_match_loader(const char *pattern, const char *name)
{
    if (!pattern || !name)
        return false;
    pat_loader *m = pat_loader_new(pattern);
    bool hit = pat_loader_match(m, name);
    pat_loader_free(m);
    return hit;
}
