#include "yamlread.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "text.h"
#include "util.h"

#define RECS_PER_BLOCK 256
#define SHOWN_LEN 80         /* a key, anchor, tag or value quoted in a message */
#define DISPLAY_LEN 256
#define YAML_TAG_PREFIX "tag:yaml.org,2002:" /* what libyaml makes of "!!" */

/* A node and what the limits need to know of it. The yr_node comes first,
 * so the yr_node pointers handed out are the recs themselves. */
typedef struct rec {
    yr_node node;
    char *text;      /* node.value, owned */
    size_t used;     /* items so far (keys and values both, for a mapping) */
    size_t cap;
    size_t expanded; /* nodes of its subtree, aliases expanded, itself included */
    unsigned height; /* collections on its longest downward path (0 for a scalar) */
    bool done;       /* its end was seen: an alias to it is no cycle */
} rec;

typedef struct block {
    struct block *next;
    size_t used;
    rec recs[RECS_PER_BLOCK];
} block;

struct yr_doc {
    block *blocks; /* every node of the document: freed together */
    rec *root;
};

/* ---- the names seen while building: keys per mapping, anchors ------------ */

/* One open-addressing table for both: a key is found under its mapping
 * (scope = the mapping's rec), an anchor under the builder's anchor scope.
 * Duplicate keys are then found in time linear in the file, whatever the
 * size of a mapping. */
typedef struct {
    const void *scope; /* NULL: free slot */
    const char *name;
    unsigned long line, column; /* where it was first seen */
    rec *node;                  /* an anchor's node */
} entry;

typedef struct {
    entry *slots;
    size_t cap, used; /* cap is 0 or a power of two */
} table;

static size_t entry_hash(const void *scope, const char *name)
{
    uint64_t h = 14695981039346656037u ^ ((uint64_t)(uintptr_t)scope * 0x9E3779B97F4A7C15u);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)(h ^ (h >> 29));
}

static entry *table_slot(const table *t, const void *scope, const char *name)
{
    size_t mask = t->cap - 1;
    for (size_t i = entry_hash(scope, name) & mask;; i = (i + 1) & mask) {
        entry *e = &t->slots[i];
        if (!e->scope || (e->scope == scope && strcmp(e->name, name) == 0))
            return e;
    }
}

static const entry *table_find(const table *t, const void *scope, const char *name)
{
    if (!t->cap)
        return NULL;
    const entry *e = table_slot(t, scope, name);
    return e->scope ? e : NULL;
}

/* Adds e, whose (scope, name) is not in t yet. */
static void table_add(table *t, const entry *e)
{
    if (2 * (t->used + 1) > t->cap) { /* at most half full: probes stay short */
        table old = *t;
        t->cap = old.cap ? 2 * old.cap : 64;
        t->slots = xcalloc(t->cap, sizeof *t->slots);
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].scope)
                *table_slot(t, old.slots[i].scope, old.slots[i].name) = old.slots[i];
        free(old.slots);
    }
    *table_slot(t, e->scope, e->name) = *e;
    t->used++;
}

/* ---- the builder --------------------------------------------------------- */

typedef struct {
    const unsigned char *text;
    size_t len;
    char shown[DISPLAY_LEN]; /* the display name, escaped */
    char *err;
    size_t errlen;
    yr_doc *doc;
    rec *open[YR_MAX_DEPTH]; /* the collections being read, outermost first */
    size_t depth;
    table names;
    char anchor_scope; /* its address is the scope of anchors in names */
    size_t documents, aliases, nodes;
    bool empty_root; /* the document's root is "no content" */
} builder;

static int fail_at(builder *b, unsigned long line, unsigned long column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(builder *b, unsigned long line, unsigned long column, const char *fmt, ...)
{
    char msg[YR_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (b->errlen)
        snprintf(b->err, b->errlen, "%s:%lu:%lu: %s", b->shown, line, column, msg);
    return -1;
}

/* libyaml's marks are 0-based */
#define FAIL_MARK(b, m, ...)                                                                       \
    fail_at((b), (unsigned long)(m).line + 1, (unsigned long)(m).column + 1, __VA_ARGS__)
#define FAIL_NODE(b, r, ...) fail_at((b), (r)->node.line, (r)->node.column, __VA_ARGS__)

static char *shown(const char *s, char *out)
{
    return text_escape_n(s, strlen(s), out, SHOWN_LEN);
}

static rec *new_rec(builder *b, yr_kind kind, yaml_mark_t m)
{
    yr_doc *d = b->doc;
    if (!d->blocks || d->blocks->used == RECS_PER_BLOCK) {
        block *blk = xcalloc(1, sizeof *blk);
        blk->next = d->blocks;
        d->blocks = blk;
    }
    rec *r = &d->blocks->recs[d->blocks->used++];
    r->node.kind = kind;
    r->node.line = (unsigned long)m.line + 1;
    r->node.column = (unsigned long)m.column + 1;
    r->expanded = 1;
    return r;
}

/* ---- characters ---------------------------------------------------------- */

/* The code point of the well-formed sequence at s, and its length. */
static size_t decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    uint32_t v = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++)
        v = (v << 6) | (s[i] & 0x3F);
    *cp = v;
    return n;
}

/* YAML 1.1's c-printable, which libyaml's reader enforces */
static bool printable(uint32_t cp)
{
    return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
           (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* the line breaks of libyaml (YAML 1.1): CR, LF, NEL, LS, PS */
static bool line_break(uint32_t cp)
{
    return cp == 0x0A || cp == 0x0D || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/* Walks the text up to byte `stop` counting lines and characters as libyaml
 * does (a leading byte-order mark is no column, CR LF is one break), and
 * refuses what libyaml's reader would refuse with only a byte offset:
 * invalid UTF-8, NUL, characters outside c-printable. Returns 0 with *line,
 * *column the position of byte `stop`, or -1 with the fault in b->err. */
static int scan_chars(builder *b, size_t stop, unsigned long *line, unsigned long *column)
{
    const unsigned char *s = b->text;
    size_t valid = text_utf8_valid_prefix((const char *)s, b->len);
    size_t i = b->len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    unsigned long l = 1, c = 1;
    while (i < stop) {
        if (i == valid)
            return fail_at(b, l, c, "not valid UTF-8 (byte 0x%02X)", s[i]);
        uint32_t cp;
        size_t n = decode(s + i, &cp);
        if (cp == 0)
            return fail_at(b, l, c, "NUL byte");
        if (!printable(cp))
            return fail_at(b, l, c, "control character U+%04X", (unsigned)cp);
        /* YAML 1.1 breaks lines at these, editors and diffs do not: text a
         * reviewer sees inside a comment would be read as YAML */
        if (cp == 0x85 || cp == 0x2028 || cp == 0x2029)
            return fail_at(b, l, c, "U+%04X is a line break to YAML 1.1 but not to an editor",
                           (unsigned)cp);
        if (cp == '\r' && i + 1 < b->len && s[i + 1] == '\n') {
            i++; /* the LF makes the break */
            continue;
        }
        if (line_break(cp)) {
            l++;
            c = 1;
        } else
            c++;
        i += n;
    }
    *line = l;
    *column = c;
    return 0;
}

static int libyaml_fault(builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown libyaml error";
    unsigned long line = 1, column = 1;
    switch (p->error) {
    case YAML_READER_ERROR: /* scan_chars refused all of these first; kept for safety */
        if (scan_chars(b, p->problem_offset < b->len ? p->problem_offset : b->len, &line,
                       &column) != 0)
            return -1;
        return fail_at(b, line, column, "%s", problem);
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
        if (p->context)
            return FAIL_MARK(b, p->problem_mark, "%s (%s at line %lu, column %lu)", problem,
                             p->context, (unsigned long)p->context_mark.line + 1,
                             (unsigned long)p->context_mark.column + 1);
        return FAIL_MARK(b, p->problem_mark, "%s", problem);
    default: /* YAML_MEMORY_ERROR and kinds the event API does not raise */
        return FAIL_MARK(b, p->problem_mark, "libyaml failed: %s",
                         p->error == YAML_MEMORY_ERROR ? "out of memory" : problem);
    }
}

/* ---- tags ---------------------------------------------------------------- */

typedef enum { TAG_NONE, TAG_STR, TAG_INT, TAG_FLOAT, TAG_BOOL, TAG_NULL, TAG_SEQ, TAG_MAP,
               TAG_OTHER } tag_kind;

static const char *const TAG_NAMES[] = {
    [TAG_STR] = "str", [TAG_INT] = "int",  [TAG_FLOAT] = "float", [TAG_BOOL] = "bool",
    [TAG_NULL] = "null", [TAG_SEQ] = "seq", [TAG_MAP] = "map",
};

static tag_kind tag_of(const yaml_char_t *tag)
{
    if (!tag)
        return TAG_NONE;
    const char *t = (const char *)tag;
    size_t pl = strlen(YAML_TAG_PREFIX);
    if (strncmp(t, YAML_TAG_PREFIX, pl) == 0)
        for (int k = TAG_STR; k <= TAG_MAP; k++)
            if (strcmp(t + pl, TAG_NAMES[k]) == 0)
                return (tag_kind)k;
    return TAG_OTHER;
}

/* The tag as written in the short form when it is one of yaml.org's. */
static char *tag_shown(const yaml_char_t *tag, char *out)
{
    const char *t = (const char *)tag;
    size_t pl = strlen(YAML_TAG_PREFIX);
    if (strncmp(t, YAML_TAG_PREFIX, pl) != 0)
        return shown(t, out);
    memcpy(out, "!!", 2);
    text_escape_n(t + pl, strlen(t + pl), out + 2, SHOWN_LEN - 2);
    return out;
}

static const char *kind_name(yr_kind k)
{
    return k == YR_SCALAR ? "scalar" : k == YR_SEQ ? "sequence" : "mapping";
}

/* The tag of a node of kind `kind` starting at m: standard, and of that kind. */
static int check_tag(builder *b, const yaml_char_t *tag, yr_kind kind, yaml_mark_t m,
                     tag_kind *out)
{
    tag_kind k = tag_of(tag);
    char s[SHOWN_LEN];
    if (k == TAG_OTHER)
        return FAIL_MARK(b, m, "tag '%s' is not allowed (only !!str, !!int, !!float, !!bool, "
                               "!!null, !!seq, !!map)", tag_shown(tag, s));
    yr_kind fits = k == TAG_SEQ ? YR_SEQ : k == TAG_MAP ? YR_MAP : YR_SCALAR;
    if (k != TAG_NONE && fits != kind)
        return FAIL_MARK(b, m, "tag '%s' on a %s", tag_shown(tag, s), kind_name(kind));
    *out = k;
    return 0;
}

static bool one_of(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    return false;
}

/* non-empty, and every character in set */
static bool only(const char *s, const char *set)
{
    size_t n = strspn(s, set);
    return n > 0 && s[n] == '\0';
}

#define DIGITS "0123456789"

static bool core_int(const char *s)
{
    if (s[0] == '0' && s[1] == 'o')
        return only(s + 2, "01234567");
    if (s[0] == '0' && s[1] == 'x')
        return only(s + 2, DIGITS "abcdefABCDEF");
    if (*s == '-' || *s == '+')
        s++;
    return only(s, DIGITS);
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?, the
 * infinities and the NaNs of the core schema */
static bool core_float(const char *s)
{
    static const char *const nans[] = {".nan", ".NaN", ".NAN"};
    static const char *const infs[] = {".inf", ".Inf", ".INF"};
    if (one_of(s, nans, 3))
        return true;
    if (*s == '-' || *s == '+')
        s++;
    if (one_of(s, infs, 3))
        return true;
    size_t whole = strspn(s, DIGITS), frac = 0;
    s += whole;
    if (*s == '.') {
        frac = strspn(++s, DIGITS);
        s += frac;
    }
    if (whole == 0 && frac == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        if (*++s == '-' || *s == '+')
            s++;
        return only(s, DIGITS);
    }
    return *s == '\0';
}

/* Whether the text of a scalar tagged k is of its type, in the YAML 1.2 core
 * schema: a tag says what the text is, so "!!int abc" is refused here rather
 * than read by the caller as a string. */
static bool fits_tag(const char *s, tag_kind k)
{
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    switch (k) {
    case TAG_INT: return core_int(s);
    case TAG_FLOAT: return core_float(s);
    case TAG_BOOL: return one_of(s, bools, 6);
    case TAG_NULL: return one_of(s, nulls, 5);
    default: return true;
    }
}

/* ---- events -------------------------------------------------------------- */

static int count_nodes(builder *b, size_t n, yaml_mark_t m)
{
    /* n <= YR_MAX_NODES: it is the size of a node already counted */
    b->nodes += n;
    if (b->nodes > YR_MAX_NODES)
        return FAIL_MARK(b, m, "more than %u nodes with aliases expanded",
                         (unsigned)YR_MAX_NODES);
    return 0;
}

static rec *top(const builder *b)
{
    return b->depth ? b->open[b->depth - 1] : NULL;
}

/* the next item of the innermost collection is a mapping key */
static bool at_key(const builder *b)
{
    const rec *t = top(b);
    return t && t->node.kind == YR_MAP && t->used % 2 == 0;
}

/* A scalar key k of the innermost mapping, written at line:column (an
 * alias's own position, not its target's): no merge key, no repeat. */
static int check_key(builder *b, const rec *k, unsigned long line, unsigned long column)
{
    if (k->node.plain && strcmp(k->text, "<<") == 0)
        return fail_at(b, line, column, "merge key '<<' is not supported");
    const entry *first = table_find(&b->names, top(b), k->text);
    if (first) {
        char s[SHOWN_LEN];
        return fail_at(b, line, column, "duplicate key '%s' (first at line %lu, column %lu)",
                       shown(k->text, s), first->line, first->column);
    }
    entry e = {top(b), k->text, line, column, NULL};
    table_add(&b->names, &e);
    return 0;
}

/* Adds the finished node r (itself or an alias's target, written at
 * line:column) where the events put it. */
static int add_node(builder *b, rec *r, unsigned long line, unsigned long column)
{
    rec *p = top(b);
    if (!p) {
        b->doc->root = r;
        return 0;
    }
    if (at_key(b) && check_key(b, r, line, column) != 0)
        return -1;
    xgrow(&p->node.items, &p->cap, p->used + 1, sizeof *p->node.items);
    p->node.items[p->used++] = &r->node;
    p->expanded += r->expanded;
    if (r->height + 1 > p->height)
        p->height = r->height + 1;
    return 0;
}

static int add_anchor(builder *b, const yaml_char_t *anchor, rec *r)
{
    if (!anchor)
        return 0;
    const char *name = (const char *)anchor;
    const entry *first = table_find(&b->names, &b->anchor_scope, name);
    if (first) {
        char s[SHOWN_LEN];
        return FAIL_NODE(b, r, "duplicate anchor '&%s' (first at line %lu, column %lu)",
                         shown(name, s), first->line, first->column);
    }
    entry e = {&b->anchor_scope, xstrdup(name), r->node.line, r->node.column, r};
    table_add(&b->names, &e);
    return 0;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t m = ev->start_mark;
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    tag_kind tag;
    if (count_nodes(b, 1, m) != 0 || check_tag(b, ev->data.scalar.tag, YR_SCALAR, m, &tag) != 0)
        return -1;
    if (memchr(value, '\0', len))
        return FAIL_MARK(b, m, "NUL character in a scalar");
    if (!fits_tag(value, tag)) {
        char s[SHOWN_LEN], t[SHOWN_LEN];
        return FAIL_MARK(b, m, "'%s' is not a %s", shown(value, s),
                         tag_shown(ev->data.scalar.tag, t));
    }
    rec *r = new_rec(b, YR_SCALAR, m);
    r->text = xmalloc(len + 1);
    memcpy(r->text, value, len);
    r->text[len] = '\0';
    r->node.value = r->text;
    r->node.plain = tag == TAG_NONE ? ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                                    : tag != TAG_STR;
    r->done = true;
    if (!b->depth && len == 0 && tag == TAG_NONE && !ev->data.scalar.anchor &&
        ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        b->empty_root = true; /* "---" alone */
    if (add_anchor(b, ev->data.scalar.anchor, r) != 0)
        return -1;
    return add_node(b, r, r->node.line, r->node.column);
}

static int on_start(builder *b, const yaml_event_t *ev, yr_kind kind)
{
    const yaml_mark_t m = ev->start_mark;
    bool seq = kind == YR_SEQ;
    const yaml_char_t *tag = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
    const yaml_char_t *anchor =
        seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
    tag_kind k;
    if (b->depth == YR_MAX_DEPTH)
        return FAIL_MARK(b, m, "nesting deeper than %d levels", YR_MAX_DEPTH);
    if (at_key(b))
        return FAIL_MARK(b, m, "mapping key is not a scalar");
    if (count_nodes(b, 1, m) != 0 || check_tag(b, tag, kind, m, &k) != 0)
        return -1;
    rec *r = new_rec(b, kind, m);
    r->height = 1;
    if (add_anchor(b, anchor, r) != 0)
        return -1;
    b->open[b->depth++] = r;
    return 0;
}

static int on_end(builder *b)
{
    rec *r = b->open[--b->depth];
    r->done = true;
    r->node.count = r->node.kind == YR_MAP ? r->used / 2 : r->used;
    if (r->used < r->cap) /* the final size: memory stays that of the file */
        r->node.items = xrealloc(r->node.items, r->used * sizeof *r->node.items);
    return add_node(b, r, r->node.line, r->node.column);
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t m = ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    const entry *a = table_find(&b->names, &b->anchor_scope, name);
    char s[SHOWN_LEN];
    if (!a)
        return FAIL_MARK(b, m, "alias '*%s' refers to an undefined anchor", shown(name, s));
    rec *r = a->node;
    if (!r->done)
        return FAIL_MARK(b, m, "alias '*%s' refers to its own ancestor", shown(name, s));
    if (++b->aliases > YR_MAX_ALIASES)
        return FAIL_MARK(b, m, "more than %d aliases", YR_MAX_ALIASES);
    if (b->depth + r->height > YR_MAX_DEPTH)
        return FAIL_MARK(b, m, "nesting deeper than %d levels (through alias '*%s')",
                         YR_MAX_DEPTH, shown(name, s));
    if (at_key(b) && r->node.kind != YR_SCALAR)
        return FAIL_MARK(b, m, "mapping key is not a scalar");
    if (count_nodes(b, r->expanded, m) != 0)
        return -1;
    return add_node(b, r, (unsigned long)m.line + 1, (unsigned long)m.column + 1);
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++)
            return FAIL_MARK(b, ev->start_mark, "more than one document");
        return 0;
    case YAML_SCALAR_EVENT: return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT: return on_start(b, ev, YR_SEQ);
    case YAML_MAPPING_START_EVENT: return on_start(b, ev, YR_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return on_end(b);
    case YAML_ALIAS_EVENT: return on_alias(b, ev);
    default: return 0; /* stream start and end, document end, no-event */
    }
}

/* Runs the event loop to the end of the stream or the first fault. */
static int build(builder *b)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return fail_at(b, 1, 1, "libyaml failed: out of memory");
    yaml_parser_set_input_string(&parser, b->text, b->len);
    int rc;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = libyaml_fault(b, &parser);
            break;
        }
        rc = on_event(b, &ev);
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc != 0 || end)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

static void builder_done(builder *b)
{
    for (size_t i = 0; i < b->names.cap; i++)
        if (b->names.slots[i].scope == &b->anchor_scope)
            free((char *)b->names.slots[i].name);
    free(b->names.slots);
}

/* ---- the interface ------------------------------------------------------- */

static int too_large(const char *display, uint64_t size, char *err, size_t errlen)
{
    if (errlen) {
        char s[DISPLAY_LEN];
        snprintf(err, errlen, "%s: larger than %u bytes (%llu bytes)",
                 text_escape(display, s, sizeof s), (unsigned)YR_MAX_FILE_BYTES,
                 (unsigned long long)size);
    }
    return -1;
}

int yr_parse(const char *text, size_t len, const char *display, yr_doc **out, char *err,
             size_t errlen)
{
    *out = NULL;
    if (len > YR_MAX_FILE_BYTES)
        return too_large(display, len, err, errlen);
    builder *b = xcalloc(1, sizeof *b);
    b->text = (const unsigned char *)(len ? text : ""); /* libyaml wants a buffer */
    b->len = len;
    b->err = err;
    b->errlen = errlen;
    text_escape(display, b->shown, sizeof b->shown);
    b->doc = xcalloc(1, sizeof *b->doc);
    unsigned long line, column;
    int rc = scan_chars(b, len, &line, &column);
    if (rc == 0)
        rc = build(b);
    if (rc == 0 && (!b->doc->root || b->empty_root)) {
        yaml_mark_t start = {0, 0, 0};
        b->doc->root = new_rec(b, YR_MAP, start);
        b->doc->root->done = true;
    }
    builder_done(b);
    if (rc == 0)
        *out = b->doc;
    else
        yr_free(b->doc);
    free(b);
    return rc;
}

int yr_load(const char *path, const char *display, yr_doc **out, char *err, size_t errlen)
{
    *out = NULL;
    char s[DISPLAY_LEN], why[UTIL_WHY_LEN];
    struct stat sb;
    int fd = util_open_regular(path, &sb, why, sizeof why);
    if (fd < 0) {
        if (errlen)
            snprintf(err, errlen, "%s: %s", text_escape(display, s, sizeof s), why);
        return -1;
    }
    if ((uint64_t)sb.st_size > YR_MAX_FILE_BYTES) {
        close(fd);
        return too_large(display, (uint64_t)sb.st_size, err, errlen);
    }
    size_t len = (size_t)sb.st_size;
    char *text = xmalloc(len ? len : 1);
    int got = util_pread_exact(fd, text, len, 0, why, sizeof why);
    close(fd);
    int rc = -1;
    if (got != 0) {
        if (errlen)
            snprintf(err, errlen, "%s: %s", text_escape(display, s, sizeof s), why);
    } else
        rc = yr_parse(text, len, display, out, err, errlen);
    free(text);
    return rc;
}

const yr_node *yr_root(const yr_doc *d)
{
    return d ? &d->root->node : NULL;
}

const yr_node *yr_get(const yr_node *map, const char *key)
{
    if (!map || map->kind != YR_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->items[2 * i]->value, key) == 0)
            return map->items[2 * i + 1];
    return NULL;
}

void yr_free(yr_doc *d)
{
    if (!d)
        return;
    for (block *blk = d->blocks, *next; blk; blk = next) {
        next = blk->next;
        for (size_t i = 0; i < blk->used; i++) {
            free(blk->recs[i].text);
            free(blk->recs[i].node.items);
        }
        free(blk);
    }
    free(d);
}
