#include "jsonread.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"
#include "util.h"

/* A number node whose spelling is a plain integer of at most
 * JSONREAD_MAX_INTEGER carries this in valueint (which cJSON only saturates
 * from the double, so nothing else reads it); every other number carries 0. */
#define EXACT_INTEGER 1

/* ---- the grammar check --------------------------------------------------- */

typedef struct {
    bool object;
    size_t key_off, key_len; /* object: the member being read (raw text) */
    uint64_t index;          /* array: the element being read */
} frame;

typedef struct {
    const char *s;
    size_t len, i;
    int depth, max_depth;
    frame *stack;            /* max_depth frames */
    jsonread_error *e;
} checker;

static void locate(const char *s, size_t off, jsonread_error *e)
{
    e->offset = off;
    e->line = 1;
    e->column = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            e->line++;
            e->column = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) { /* count characters, not bytes */
            e->column++;
        }
    }
}

static void append(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *out, size_t outlen, const char *fmt, ...)
{
    size_t used = strlen(out);
    if (used + 1 >= outlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, outlen - used, fmt, ap);
    va_end(ap);
}

/* The member path of the frames, each key shown as written in the file. */
static void describe_path(const checker *c, jsonread_error *e)
{
    e->where[0] = e->member[0] = '\0';
    for (int d = 0; d < c->depth; d++) {
        const frame *f = &c->stack[d];
        if (!f->object) {
            append(e->where, sizeof e->where, "[%llu]", (unsigned long long)f->index);
            continue;
        }
        if (f->key_len == 0 && f->key_off == 0)
            break; /* no member started yet */
        char shown[JSONREAD_WHERE_LEN];
        text_escape_n(c->s + f->key_off, f->key_len, shown, sizeof shown);
        append(e->where, sizeof e->where, "%s%s", e->where[0] ? "." : "", shown);
        if (d == 0)
            snprintf(e->member, sizeof e->member, "%s", shown);
    }
}

static bool refuse(checker *c, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool refuse(checker *c, size_t at, const char *fmt, ...)
{
    locate(c->s, at, c->e);
    describe_path(c, c->e);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->e->what, sizeof c->e->what, fmt, ap);
    va_end(ap);
    return false;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The code unit of the \uXXXX escape at c->s + at (pointing at the
 * backslash), or -1 when the four characters are not all hex digits. */
static long unicode_escape(const checker *c, size_t at)
{
    if (at + 6 > c->len || c->s[at] != '\\' || c->s[at + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = 2; k < 6; k++) {
        int d = hex_digit(c->s[at + k]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* At an escape (c->i on the backslash): checks it and moves past it. */
static bool check_escape(checker *c)
{
    size_t at = c->i;
    if (at + 1 >= c->len)
        return refuse(c, at, "unterminated string");
    char kind = c->s[at + 1];
    if (strchr("\"\\/bfnrt", kind)) {
        c->i += 2;
        return true;
    }
    if (kind != 'u')
        return refuse(c, at, "invalid escape \\%c", kind > 0x20 && kind < 0x7f ? kind : '?');
    long unit = unicode_escape(c, at);
    if (unit < 0)
        return refuse(c, at, "\\u escape is not four hex digits");
    if (unit == 0)
        return refuse(c, at, "escaped NUL byte (\\u0000): C strings would end there");
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return refuse(c, at, "\\u%04lX is a lone low surrogate", unit);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        long low = unicode_escape(c, at + 6);
        if (low < 0xDC00 || low > 0xDFFF)
            return refuse(c, at, "\\u%04lX is a high surrogate without its low half", unit);
        c->i += 12;
        return true;
    }
    c->i += 6;
    return true;
}

/* At the opening quote; moves past the closing one. The text's UTF-8 was
 * checked as a whole before. */
static bool check_string(checker *c)
{
    size_t start = c->i++;
    while (c->i < c->len) {
        unsigned char b = (unsigned char)c->s[c->i];
        if (b == '"') {
            c->i++;
            return true;
        }
        if (b == '\\') {
            if (!check_escape(c))
                return false;
            continue;
        }
        if (b < 0x20)
            return refuse(c, c->i, "control byte 0x%02X in a string (JSON wants it escaped)", b);
        c->i++;
    }
    return refuse(c, start, "unterminated string");
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static size_t skip_digits(const checker *c, size_t i)
{
    while (i < c->len && is_digit(c->s[i]))
        i++;
    return i;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool check_number(checker *c)
{
    size_t start = c->i, i = c->i;
    if (c->s[i] == '-')
        i++;
    if (i >= c->len || !is_digit(c->s[i]))
        return refuse(c, start, "'-' without digits");
    if (c->s[i] == '0' && i + 1 < c->len && is_digit(c->s[i + 1]))
        return refuse(c, start, "number with a leading zero");
    i = skip_digits(c, i);
    if (i < c->len && c->s[i] == '.') {
        if (i + 1 >= c->len || !is_digit(c->s[i + 1]))
            return refuse(c, start, "number without digits after its decimal point");
        i = skip_digits(c, i + 1);
    }
    if (i < c->len && (c->s[i] == 'e' || c->s[i] == 'E')) {
        size_t d = i + 1;
        if (d < c->len && (c->s[d] == '+' || c->s[d] == '-'))
            d++;
        if (d >= c->len || !is_digit(c->s[d]))
            return refuse(c, start, "number without digits in its exponent");
        i = skip_digits(c, d);
    }
    if (i - start > JSONREAD_MAX_NUMBER_LEN)
        return refuse(c, start, "number longer than %d characters", JSONREAD_MAX_NUMBER_LEN);
    char buf[JSONREAD_MAX_NUMBER_LEN + 1];
    memcpy(buf, c->s + start, i - start);
    buf[i - start] = '\0';
    if (isinf(strtod(buf, NULL)))
        return refuse(c, start, "number out of the range of a double");
    c->i = i;
    return true;
}

static bool check_literal(checker *c)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(words[k]);
        if (c->len - c->i >= n && memcmp(c->s + c->i, words[k], n) == 0) {
            c->i += n;
            return true;
        }
    }
    return refuse(c, c->i, "expected a value");
}

static size_t skip_space_at(const char *text, size_t len, size_t i)
{
    while (i < len && strchr(" \t\n\r", text[i]))
        i++;
    return i;
}

static void skip_space(checker *c)
{
    c->i = skip_space_at(c->s, c->len, c->i);
}

static bool push(checker *c, bool object)
{
    if (c->depth >= c->max_depth)
        return refuse(c, c->i, "nests deeper than %d levels", c->max_depth);
    c->stack[c->depth++] = (frame){.object = object};
    c->i++;
    return true;
}

/* A member name and its colon; c->i at the opening quote. */
static bool check_key(checker *c)
{
    frame *f = &c->stack[c->depth - 1];
    f->key_off = f->key_len = 0; /* a fault in the name is shown at the object */
    if (c->i >= c->len || c->s[c->i] != '"')
        return refuse(c, c->i, "expected a member name in double quotes");
    size_t start = c->i;
    if (!check_string(c))
        return false;
    f->key_off = start + 1;
    f->key_len = c->i - start - 2;
    skip_space(c);
    if (c->i >= c->len || c->s[c->i] != ':')
        return refuse(c, c->i, "expected ':' after the member name");
    c->i++;
    return true;
}

typedef enum { WANT_VALUE, WANT_VALUE_OR_CLOSE, WANT_KEY, WANT_KEY_OR_CLOSE, AFTER_VALUE } state;

/* A scalar value, or the opening of a container; returns the next state. */
static bool check_value(checker *c, state *next)
{
    char ch = c->s[c->i];
    *next = AFTER_VALUE;
    if (ch == '{') {
        *next = WANT_KEY_OR_CLOSE;
        return push(c, true);
    }
    if (ch == '[') {
        *next = WANT_VALUE_OR_CLOSE;
        return push(c, false);
    }
    if (ch == '"')
        return check_string(c);
    if (ch == '-' || is_digit(ch))
        return check_number(c);
    return check_literal(c);
}

/* After a value inside a container: ',' or the closer. */
static bool check_after_value(checker *c, state *next)
{
    frame *f = &c->stack[c->depth - 1];
    char ch = c->s[c->i];
    if (ch == ',') {
        c->i++;
        f->index++;
        *next = f->object ? WANT_KEY : WANT_VALUE;
        return true;
    }
    if (ch == (f->object ? '}' : ']')) {
        c->i++;
        c->depth--;
        *next = AFTER_VALUE;
        return true;
    }
    return refuse(c, c->i, f->object ? "expected ',' or '}'" : "expected ',' or ']'");
}

static bool check_grammar(checker *c)
{
    state st = WANT_VALUE;
    for (;;) {
        skip_space(c);
        if (st == AFTER_VALUE && c->depth == 0)
            break;
        if (c->i >= c->len)
            return refuse(c, c->i, c->depth ? "the text ends inside a value" : "no JSON value");
        bool ok;
        char ch = c->s[c->i];
        switch (st) {
        case WANT_VALUE_OR_CLOSE:
            if (ch == ']') {
                c->i++;
                c->depth--;
                st = AFTER_VALUE;
                continue;
            }
            ok = check_value(c, &st);
            break;
        case WANT_VALUE:
            ok = check_value(c, &st);
            break;
        case WANT_KEY_OR_CLOSE:
            if (ch == '}') {
                c->i++;
                c->depth--;
                st = AFTER_VALUE;
                continue;
            }
            /* fall through */
        case WANT_KEY:
            ok = check_key(c);
            st = WANT_VALUE;
            break;
        case AFTER_VALUE:
        default:
            ok = check_after_value(c, &st);
            break;
        }
        if (!ok)
            return false;
    }
    if (c->i < c->len)
        return refuse(c, c->i, "trailing data after the JSON value");
    return true;
}

bool jsonread_check(const char *text, size_t len, int max_depth, jsonread_error *e)
{
    memset(e, 0, sizeof *e);
    frame stack[JSONREAD_FILE_DEPTH];
    checker c = {text, len, 0, 0, max_depth < JSONREAD_FILE_DEPTH ? max_depth : JSONREAD_FILE_DEPTH,
                 stack, e};
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return refuse(&c, (size_t)(nul - text), "NUL byte");
    size_t valid = text_utf8_valid_prefix(text, len);
    if (valid < len)
        return refuse(&c, valid, "not valid UTF-8");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        return refuse(&c, 0, "starts with a UTF-8 byte order mark (JSON has none)");
    return check_grammar(&c);
}

/* ---- trees from checked text --------------------------------------------- */

/* Marks each number node of a tree parsed from text (in document order, as
 * cJSON keeps members and elements) with EXACT_INTEGER when its spelling is a
 * plain integer within JSONREAD_MAX_INTEGER. *pos walks the text. */
static void mark_integers(cJSON *node, const char *text, size_t len, size_t *pos)
{
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node)) {
            size_t i = *pos;
            /* the next number of the text: outside strings, a '-' or a digit
             * starts one (true, false and null hold neither) */
            while (i < len && text[i] != '-' && !is_digit(text[i])) {
                if (text[i] == '"')
                    for (i++; i < len && text[i] != '"'; i++)
                        if (text[i] == '\\')
                            i++;
                i++;
            }
            uint64_t v = 0;
            bool plain = i < len && text[i] != '-' && !(text[i] == '0' && i + 1 < len && is_digit(text[i + 1]));
            size_t j = i;
            for (; j < len && (is_digit(text[j]) || strchr("-+.eE", text[j])); j++) {
                if (!is_digit(text[j]))
                    plain = false;
                else if (v <= JSONREAD_MAX_INTEGER)
                    v = v * 10 + (uint64_t)(text[j] - '0'); /* saturates above the bound */
            }
            node->valueint = plain && v <= JSONREAD_MAX_INTEGER ? EXACT_INTEGER : 0;
            *pos = j;
        }
        /* a key holding a digit is skipped as a string by the scan above */
        if (node->child)
            mark_integers(node->child, text, len, pos);
    }
}

bool jsonread_integer(const cJSON *node, uint64_t *out)
{
    if (!cJSON_IsNumber(node) || node->valueint != EXACT_INTEGER)
        return false;
    *out = (uint64_t)node->valuedouble; /* exact: the integer is at most 2^53 */
    return true;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first object (depth first) with two members of one name: fills e's
 * where/member/what and returns true. path is the path of node's parent. */
static bool find_duplicate(const cJSON *node, char *path, size_t pathlen, int depth,
                           jsonread_error *e)
{
    size_t used = strlen(path);
    if (cJSON_IsObject(node) && node->child && node->child->next) {
        size_t n = (size_t)cJSON_GetArraySize(node), k = 0;
        const char **names = xmalloc(n * sizeof *names);
        for (const cJSON *m = node->child; m; m = m->next)
            names[k++] = m->string;
        qsort(names, n, sizeof *names, cmp_name);
        const char *dup = NULL;
        for (k = 1; k < n && !dup; k++)
            if (strcmp(names[k - 1], names[k]) == 0)
                dup = names[k];
        if (dup) {
            char shown[JSONREAD_WHERE_LEN];
            text_escape(dup, shown, sizeof shown);
            snprintf(e->where, sizeof e->where, "%s", path);
            e->what[0] = '\0';
            append(e->what, sizeof e->what, "duplicate member \"%s\"", shown);
            e->fault = JSONREAD_DUPLICATE;
        }
        free(names);
        if (dup)
            return true;
    }
    uint64_t index = 0;
    for (const cJSON *m = node->child; m; m = m->next, index++) {
        if (!m->child)
            continue;
        char shown[JSONREAD_WHERE_LEN];
        if (m->string)
            append(path, pathlen, "%s%s", used ? "." : "", text_escape(m->string, shown, sizeof shown));
        else
            append(path, pathlen, "[%llu]", (unsigned long long)index);
        if (depth == 0 && m->string)
            snprintf(e->member, sizeof e->member, "%s", shown);
        bool found = find_duplicate(m, path, pathlen, depth + 1, e);
        path[used] = '\0';
        if (found)
            return true;
        if (depth == 0)
            e->member[0] = '\0';
    }
    return false;
}

/* A tree of checked text [0, len): numbers marked, duplicates refused. */
static cJSON *tree_of_checked(const char *text, size_t len, jsonread_error *e)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) { /* cannot happen for checked text; refuse rather than trust */
        snprintf(e->what, sizeof e->what, "not accepted by the JSON parser");
        return NULL;
    }
    size_t pos = 0;
    mark_integers(root, text, len, &pos);
    char path[JSONREAD_WHERE_LEN] = "";
    if (find_duplicate(root, path, sizeof path, 0, e)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

cJSON *jsonread_parse(const char *text, size_t len, int max_depth, jsonread_error *e)
{
    if (!jsonread_check(text, len, max_depth, e))
        return NULL;
    return tree_of_checked(text, len, e);
}

/* The end of the value starting at text[i] (checked text). */
static size_t skip_value(const char *text, size_t len, size_t i)
{
    int depth = 0;
    do {
        char ch = text[i];
        if (ch == '"') {
            for (i++; text[i] != '"'; i++)
                if (text[i] == '\\')
                    i++;
            i++;
        } else if (ch == '{' || ch == '[') {
            depth++;
            i++;
        } else if (ch == '}' || ch == ']') {
            depth--;
            i++;
        } else if (ch == ',' || ch == ':' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            i++;
        } else { /* a number or a literal */
            while (i < len && !strchr(",:]} \t\n\r", text[i]))
                i++;
        }
    } while (depth > 0 && i < len);
    return i;
}

/* The error of a value inside member `key` (its text [key_start, key_end)),
 * at element index (or -1): where says "key[index].inner". */
static void member_fault(const char *text, size_t key_start, size_t key_end, long index, size_t at,
                         jsonread_error *e)
{
    char shown[JSONREAD_WHERE_LEN], inner[JSONREAD_WHERE_LEN], idx[32] = "";
    text_escape_n(text + key_start + 1, key_end - key_start - 2, shown, sizeof shown);
    snprintf(e->member, sizeof e->member, "%s", shown);
    snprintf(inner, sizeof inner, "%s", e->where);
    if (index >= 0)
        snprintf(idx, sizeof idx, "[%ld]", index);
    e->where[0] = '\0';
    append(e->where, sizeof e->where, "%s%s%s%s", shown, idx, inner[0] ? "." : "", inner);
    locate(text, at, e);
}

/* The elements of the array text[start..] one tree at a time. */
static int each_element(const char *text, size_t len, size_t start, const char *name, size_t key_start,
                        size_t key_end, const jsonread_walk *w, void *ctx, jsonread_error *e)
{
    size_t i = skip_space_at(text, len, start + 1);
    size_t index = 0;
    while (text[i] != ']') {
        size_t end = skip_value(text, len, i);
        cJSON *value = tree_of_checked(text + i, end - i, e);
        if (!value) {
            member_fault(text, key_start, key_end, (long)index, i, e);
            return -1;
        }
        int rc = w->element(name, index, value, ctx);
        cJSON_Delete(value);
        if (rc)
            return rc;
        index++;
        i = skip_space_at(text, len, end);
        if (text[i] == ',')
            i = skip_space_at(text, len, i + 1);
    }
    return 0;
}

int jsonread_walk_members(const char *text, size_t len, int max_depth, const jsonread_walk *w, void *ctx,
                          jsonread_error *e)
{
    if (!jsonread_check(text, len, max_depth, e))
        return -1;
    size_t i = skip_space_at(text, len, 0);
    if (text[i] != '{') {
        locate(text, i, e);
        e->fault = JSONREAD_NOT_OBJECT;
        snprintf(e->what, sizeof e->what, "not a JSON object");
        return -1;
    }
    i = skip_space_at(text, len, i + 1);
    while (text[i] == '"') {
        size_t key_start = i, key_end = skip_value(text, len, i);
        size_t value_start = skip_space_at(text, len, skip_space_at(text, len, key_end) + 1);
        size_t value_end = skip_value(text, len, value_start);
        cJSON *key = cJSON_ParseWithLength(text + key_start, key_end - key_start);
        const char *name = cJSON_GetStringValue(key);
        int rc = 0;
        if (!name) {
            snprintf(e->what, sizeof e->what, "not accepted by the JSON parser");
            member_fault(text, key_start, key_end, -1, key_start, e);
            rc = -1;
        } else if (text[value_start] == '[' && w->streams && w->streams(name, ctx)) {
            rc = w->member(name, NULL, ctx);
            if (rc == 0)
                rc = each_element(text, len, value_start, name, key_start, key_end, w, ctx, e);
        } else {
            cJSON *value = tree_of_checked(text + value_start, value_end - value_start, e);
            if (!value) {
                member_fault(text, key_start, key_end, -1, value_start, e);
                rc = -1;
            } else {
                rc = w->member(name, value, ctx);
            }
            cJSON_Delete(value);
        }
        cJSON_Delete(key);
        if (rc)
            return rc;
        i = skip_space_at(text, len, value_end);
        if (text[i] == ',')
            i = skip_space_at(text, len, i + 1);
    }
    return 0;
}

int jsonread_each_member(const char *text, size_t len, int max_depth, jsonread_member_fn fn,
                         void *ctx, jsonread_error *e)
{
    jsonread_walk w = {.member = fn};
    return jsonread_walk_members(text, len, max_depth, &w, ctx, e);
}

/* ---- files ---------------------------------------------------------------- */

void jsonread_format_error(const jsonread_error *e, const char *display, char *err, size_t errlen)
{
    char shown[256];
    text_escape(display, shown, sizeof shown);
    if (e->fault == JSONREAD_NOT_OBJECT)
        snprintf(err, errlen, "%s: not a JSON object", shown);
    else if (e->fault == JSONREAD_DUPLICATE)
        snprintf(err, errlen, "%s: %s%s%s%s", shown, e->what, e->where[0] ? " (at " : "",
                 e->where, e->where[0] ? ")" : "");
    else if (e->where[0])
        snprintf(err, errlen, "%s: not valid JSON at line %lu, column %lu (at %s): %s", shown,
                 e->line, e->column, e->where, e->what);
    else
        snprintf(err, errlen, "%s: not valid JSON at line %lu, column %lu: %s", shown, e->line,
                 e->column, e->what);
}

int jsonread_read_file(const char *path, const char *display, uint64_t max_bytes, char **text, size_t *len,
                       char *err, size_t errlen)
{
    *text = NULL;
    *len = 0;
    char shown[256];
    text_escape(display, shown, sizeof shown);
    struct stat sb;
    char why[UTIL_WHY_LEN];
    int fd = util_open_regular(path, &sb, why, sizeof why);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", shown, why);
        return -1;
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        char limit[64];
        snprintf(err, errlen, "%s: larger than the %s limit", shown, text_bytes(max_bytes, limit, sizeof limit));
        close(fd);
        return -1;
    }
    size_t n = (size_t)sb.st_size;
    char *buf = xmalloc(n + 1);
    int got = util_pread_exact(fd, buf, n, 0, why, sizeof why);
    close(fd);
    if (got < 0) {
        snprintf(err, errlen, "%s: %s", shown, why);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

cJSON *jsonread_load(const char *path, const char *display, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (jsonread_read_file(path, display, JSONREAD_MAX_FILE_BYTES, &text, &len, err, errlen) < 0)
        return NULL;
    cJSON *root = NULL;
    jsonread_error e;
    if (!(root = jsonread_parse(text, len, JSONREAD_FILE_DEPTH, &e)))
        jsonread_format_error(&e, display, err, errlen);
    free(text);
    return root;
}
