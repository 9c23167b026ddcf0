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
#define PAT_STR_(x) #x
#define PAT_STR(x) PAT_STR_(x) /* a limit's digits in a message */

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

/* ---- the loader-view budget ---------------------------------------------- */

/* glibc's regcomp expands every repetition into copies of its operand and then
 * computes epsilon closures over the copies; untrusted patterns can make
 * either explode (see pattern.h for the measurements behind the limits).
 * loader_budget walks the pattern once, with the grammar regcomp uses, and
 * adds up what the expansion will hold. A group frame accumulates the items
 * of its alternatives; `item` is the last one, which a quantifier that
 * follows multiplies. Counts saturate at PAT_SATURATED, far above every
 * limit, so no arithmetic overflows. */

#define PAT_SATURATED ((uint64_t)1 << 40)

typedef struct {
    uint64_t size;     /* atoms after expansion */
    uint64_t loops;    /* optional or repeated nodes after expansion (pattern.h) */
    uint64_t anchors;  /* ^ $ \b \B \< \> \` \' after expansion */
    uint64_t repeat;   /* largest product of repetition counts over nesting */
    bool anchor_repeated; /* an anchor inside a repetition */
} pat_cost;

typedef struct {
    pat_cost sum;      /* committed items of this group */
    pat_cost item;     /* the last item, still open to a quantifier */
    bool has_item;
    bool empty_alt;    /* nothing since the '(' or the last '|' */
} pat_frame;

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return ckd_mul_u64(&r, a, b) && r < PAT_SATURATED ? r : PAT_SATURATED;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < PAT_SATURATED ? a + b : PAT_SATURATED; /* both below 2^40 */
}

static void cost_add(pat_cost *to, const pat_cost *c)
{
    to->size = sat_add(to->size, c->size);
    to->loops = sat_add(to->loops, c->loops);
    to->anchors = sat_add(to->anchors, c->anchors);
    to->repeat = to->repeat > c->repeat ? to->repeat : c->repeat;
    to->anchor_repeated |= c->anchor_repeated;
}

/* Closes the open item into the group's sum. */
static void frame_commit(pat_frame *f)
{
    if (f->has_item)
        cost_add(&f->sum, &f->item);
    f->has_item = false;
}

/* Ends an alternative (at '|', ')' or the end); an empty one ("a|", "()",
 * "(|b)") is nullable like a quantified item and counts as a loop. */
static void frame_end_alt(pat_frame *f)
{
    if (f->empty_alt)
        f->sum.loops = sat_add(f->sum.loops, 1);
    frame_commit(f);
}

static void frame_push_item(pat_frame *f, pat_cost c)
{
    frame_commit(f);
    f->item = c;
    f->has_item = true;
    f->empty_alt = false;
}

/* Parses the digits at p[*i], advancing *i; saturates at PAT_SATURATED. */
static uint64_t parse_count(const char *p, size_t *i)
{
    uint64_t v = 0;
    while (p[*i] >= '0' && p[*i] <= '9')
        v = sat_add(sat_mul(v, 10), (uint64_t)(p[(*i)++] - '0'));
    return v;
}

/* When p[i] starts an interval regcomp accepts ("{m}", "{m,}", "{m,n}",
 * "{,n}"), stores in *times the copies of the operand that glibc makes (n,
 * m+1 for "{m,}", at least 1) and in *loops the optional or repeated copies
 * among them (n-m, or 1 for "{m,}"), and returns the index of its '}'; else 0. */
static size_t parse_interval(const char *p, size_t i, uint64_t *times, uint64_t *loops)
{
    size_t j = i + 1, start = j;
    uint64_t lo = parse_count(p, &j), hi = lo;
    bool has_lo = j > start;
    *loops = 0;
    if (p[j] == ',') {
        j++;
        size_t hs = j;
        hi = parse_count(p, &j);
        if (j == hs) {
            hi = sat_add(lo, 1); /* "{m,}": m copies and a loop */
            *loops = 1;
        } else {
            *loops = hi > lo ? hi - lo : 0;
        }
    } else if (!has_lo) {
        return 0;
    }
    if (p[j] != '}')
        return 0;
    *times = hi ? hi : 1;
    return j;
}

/* Applies a repetition of `times` copies, `loops` of them optional or
 * repeated nodes, to the open item. */
static void frame_repeat(pat_frame *f, uint64_t times, uint64_t loops)
{
    if (!f->has_item)
        return; /* nothing to repeat: regcomp reports it */
    pat_cost *c = &f->item;
    c->size = sat_mul(c->size, times);
    c->loops = sat_add(sat_mul(c->loops, times), loops);
    c->anchor_repeated |= c->anchors > 0;
    c->anchors = sat_mul(c->anchors, times);
    c->repeat = sat_mul(c->repeat, times);
}

static bool is_anchor_escape(char c)
{
    return c == 'b' || c == 'B' || c == '<' || c == '>' || c == '`' || c == '\'';
}

static const char *budget_verdict(const pat_cost *c)
{
    if (c->repeat > PAT_LOADER_MAX_REPEAT)
        return "repetition counts multiply past " PAT_STR(PAT_LOADER_MAX_REPEAT)
               " (regcomp would blow up)";
    if (c->size > PAT_LOADER_MAX_EXPANDED)
        return "expands to more than " PAT_STR(PAT_LOADER_MAX_EXPANDED)
               " elements (regcomp would blow up)";
    if (c->anchor_repeated)
        return "an anchor inside a repetition (regcomp would blow up)";
    if (c->loops > PAT_LOADER_MAX_LOOPS)
        return "more than " PAT_STR(PAT_LOADER_MAX_LOOPS)
               " optional or repeated parts after expansion (regcomp would blow up)";
    if (c->anchors > PAT_LOADER_MAX_ANCHORS)
        return "more than " PAT_STR(PAT_LOADER_MAX_ANCHORS) " anchors (regcomp would blow up)";
    return NULL;
}

/* The cost of pattern p: NULL when it is within every limit, else why not.
 * Syntax errors are left to regcomp; loader_precheck has refused an
 * unbalanced ')' already, so there is a frame per '(' and one more. */
static const char *loader_budget(const char *p)
{
    pat_frame *frames = xmalloc((strlen(p) + 1) * sizeof *frames);
    size_t depth = 0;
    frames[0] = (pat_frame){.empty_alt = true};
    const pat_cost atom = {1, 0, 0, 1, false}, anchor = {1, 0, 1, 1, false};
    for (size_t i = 0; p[i] != '\0'; i++) {
        pat_frame *f = &frames[depth];
        uint64_t times, loops;
        size_t end;
        switch (p[i]) {
        case '(':
            frames[++depth] = (pat_frame){.empty_alt = true};
            break;
        case ')':
            frame_end_alt(f);
            if (depth > 0) {
                pat_cost group = f->sum;
                group.size = sat_add(group.size, 1);
                frame_push_item(&frames[--depth], group);
            }
            break;
        case '|':
            frame_end_alt(f);
            f->empty_alt = true;
            break;
        case '*':
        case '?':
            frame_repeat(f, 1, 1);
            break;
        case '+':
            frame_repeat(f, 2, 1); /* glibc builds "x+" as "xx*" */
            break;
        case '{':
            end = parse_interval(p, i, &times, &loops);
            if (end) {
                frame_repeat(f, times, loops);
                i = end;
            } else {
                frame_push_item(f, atom);
            }
            break;
        case '^':
        case '$':
            frame_push_item(f, anchor);
            break;
        case '\\':
            frame_push_item(f, is_anchor_escape(p[i + 1]) ? anchor : atom);
            if (p[i + 1] != '\0')
                i++;
            break;
        case '[':
            frame_push_item(f, atom);
            i = skip_bracket(p, i);
            if (p[i] == '\0')
                i--; /* unterminated: regcomp reports it */
            break;
        default:
            frame_push_item(f, atom);
            break;
        }
    }
    while (depth > 0) { /* unclosed '(': regcomp reports it; count what is there */
        frame_end_alt(&frames[depth]);
        pat_cost inner = frames[depth].sum;
        frame_push_item(&frames[--depth], inner);
    }
    frame_end_alt(&frames[0]);
    const char *why = budget_verdict(&frames[0].sum);
    free(frames);
    return why;
}

/* The pattern is compiled as "^(pattern)" so that every alternative is
 * anchored like re.match ("^a|b" would let "b" match anywhere). Two things
 * could break out of that group and are refused first, both of which Python
 * would reject or treat differently anyway: a ')' without its '(' (glibc takes
 * it as a literal, so "a)|b" would become "^(a)|b)"), and back-references
 * (renumbered by our group, and exponential in glibc). Patterns that would
 * make regcomp itself take seconds and gigabytes are refused too: longer than
 * PAT_LOADER_MAX_LEN, or over the budget of loader_budget. */
static const char *loader_precheck(const char *p)
{
    if (strlen(p) > PAT_LOADER_MAX_LEN)
        return "longer than " PAT_STR(PAT_LOADER_MAX_LEN) " bytes";
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
                return loader_budget(p); /* unterminated: regcomp reports it */
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
    return loader_budget(p);
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
