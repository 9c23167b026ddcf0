#include "pyre.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include <stdbool.h>

struct pyre {
    pcre2_code *code;
    pcre2_match_data *data;
    pcre2_match_context *limits;
    pyre_anchor anchor;
};

static void pcre2_message(int code, char *err, size_t errlen)
{
    PCRE2_UCHAR buf[PYRE_ERR_LEN];
    if (pcre2_get_error_message(code, buf, sizeof buf) < 0)
        snprintf((char *)buf, sizeof buf, "PCRE2 error %d", code);
    snprintf(err, errlen, "%s", (const char *)buf);
}

/* ---- Python's dialect on PCRE2 ----------------------------------------------
 *
 * PCRE2 reads a superset of Python's syntax, and a few spellings
 * differently. A pattern is first rewritten where the meaning is clear
 * (Python's {,n} is {0,n}; its \Z is PCRE2's \z) and refused where PCRE2
 * would accept what Python rejects or reads otherwise: the escapes \h \H \v
 * \V \R \X \K \G \z \Q \E \e \N \p \P \g \o \c, POSIX classes ([:alpha:]),
 * group forms other than (?: (?P<n> (?P=n) (?= (?! (?<= (?<! (?# (?>, and
 * inline flags anywhere but at the start (or the flags a and u, which PCRE2
 * lacks). The subset left is Python's: literals, ., classes with \d \w \s,
 * groups, alternation, * + ? {m,n} (lazy and possessive), anchors ^ $ \A \Z
 * \b \B, backreferences. tests/test_pyre.c checks it against python3's re. */

static bool dialect_refuse(char *err, size_t errlen, size_t *offset, size_t at, const char *what)
{
    snprintf(err, errlen, "%s (not Python's re)", what);
    if (offset)
        *offset = at;
    return false;
}

/* A {,n} or {,} quantifier at p[i] (Python's {0,n}, {0,}): its length, or 0. */
static size_t open_lower_bound(const char *p, size_t i)
{
    if (p[i] != '{' || p[i + 1] != ',')
        return 0;
    size_t k = i + 2;
    while (p[k] >= '0' && p[k] <= '9')
        k++;
    return p[k] == '}' ? k - i + 1 : 0;
}

/* Writes into out (4 bytes per input byte at most) the PCRE2 spelling of a
 * Python pattern, or refuses it. */
static bool python_to_pcre2(const char *p, char *out, char *err, size_t errlen, size_t *offset)
{
    size_t o = 0;
    bool in_class = false;
    for (size_t i = 0; p[i]; i++) {
        char ch = p[i];
        if (ch == '\\') {
            char e = p[i + 1];
            if (e && strchr("hHvVRXKGzQEeNpPgoc", e)) {
                char what[32];
                snprintf(what, sizeof what, "escape \\%c", e);
                return dialect_refuse(err, errlen, offset, i, what);
            }
            if (e == 'Z' && !in_class) {
                memcpy(out + o, "\\z", 2);
                o += 2;
                i++;
                continue;
            }
            out[o++] = ch;
            if (e)
                out[o++] = p[++i];
            continue;
        }
        if (in_class) {
            if (ch == '[' && p[i + 1] && strchr(":=.", p[i + 1]))
                return dialect_refuse(err, errlen, offset, i, "POSIX class");
            if (ch == ']')
                in_class = false;
            out[o++] = ch;
            continue;
        }
        if (ch == '[') {
            in_class = true;
            out[o++] = ch;
            if (p[i + 1] == '^')
                out[o++] = p[++i];
            if (p[i + 1] == ']') /* a leading ] is a member, as in Python */
                out[o++] = p[++i];
            continue;
        }
        if (ch == '(' && p[i + 1] == '*')
            return dialect_refuse(err, errlen, offset, i, "verb (*...)");
        if (ch == '(' && p[i + 1] == '?') {
            const char *g = p + i + 2;
            static const char *const allowed[] = {":", "P<", "P=", "=", "!", "<=", "<!", "#", ">"};
            bool ok = false;
            for (size_t k = 0; k < sizeof allowed / sizeof allowed[0] && !ok; k++)
                ok = strncmp(g, allowed[k], strlen(allowed[k])) == 0;
            if (!ok) { /* inline flags: (?imsx) at the start, or scoped (?i:...) */
                size_t k = 0;
                while (g[k] && strchr("imsxL-", g[k]))
                    k++;
                if (g[k] == 'a' || g[k] == 'u')
                    return dialect_refuse(err, errlen, offset, i, "flag (?a) or (?u)");
                if (k == 0 || (g[k] != ')' && g[k] != ':'))
                    return dialect_refuse(err, errlen, offset, i, "group form");
                if (g[k] == ')' && i != 0)
                    return dialect_refuse(err, errlen, offset, i, "inline flags not at the start");
            }
        }
        size_t q = open_lower_bound(p, i);
        if (q) {
            out[o++] = '{';
            out[o++] = '0';
            memcpy(out + o, p + i + 1, q - 1);
            o += q - 1;
            i += q - 1;
            continue;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

pyre *pyre_compile(const char *pattern, pyre_anchor anchor, char *err, size_t errlen,
                   size_t *offset)
{
    size_t len = strlen(pattern);
    if (offset)
        *offset = 0;
    if (len > PYRE_MAX_PATTERN_LEN) {
        snprintf(err, errlen, "longer than %d bytes", PYRE_MAX_PATTERN_LEN);
        return NULL;
    }
    char *translated = xmalloc(2 * len + 2);
    if (!python_to_pcre2(pattern, translated, err, errlen, offset)) {
        free(translated);
        return NULL;
    }
    pattern = translated;
    len = strlen(translated);
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc)
        abort(); /* out of memory is not an input error */
    /* Python reads \uXXXX in a pattern; PCRE2 does with ALT_BSUX */
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_ALT_BSUX | PCRE2_ANCHORED;
    if (anchor == PYRE_FULL)
        options |= PCRE2_ENDANCHORED;
    int code;
    PCRE2_SIZE where;
    pcre2_code *compiled = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &where, cc);
    pcre2_compile_context_free(cc);
    free(translated);
    if (!compiled) {
        pcre2_message(code, err, errlen);
        if (offset)
            *offset = where;
        return NULL;
    }
    pyre *re = xcalloc(1, sizeof *re);
    re->code = compiled;
    re->anchor = anchor;
    re->data = pcre2_match_data_create_from_pattern(compiled, NULL);
    re->limits = pcre2_match_context_create(NULL);
    if (!re->data || !re->limits)
        abort();
    pcre2_set_match_limit(re->limits, PYRE_MATCH_LIMIT);
    pcre2_set_depth_limit(re->limits, PYRE_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->limits, PYRE_HEAP_LIMIT_KIB);
    return re;
}

pyre_result pyre_match(pyre *re, const char *subject, size_t len, char *err, size_t errlen)
{
    /* PCRE2 checks the subject's UTF-8 itself: invalid bytes are an error
     * (reported like a limit), never undefined behaviour */
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, re->data, re->limits);
    if (rc >= 0)
        return PYRE_MATCH;
    if (rc == PCRE2_ERROR_NOMATCH)
        return PYRE_NO_MATCH;
    if (err)
        pcre2_message(rc, err, errlen);
    return PYRE_LIMIT;
}

void pyre_free(pyre *re)
{
    if (!re)
        return;
    pcre2_match_data_free(re->data);
    pcre2_match_context_free(re->limits);
    pcre2_code_free(re->code);
    free(re);
}
