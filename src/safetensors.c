#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonfile.h"
#include "text.h"
#include "util.h"

#define NAME_SHOWN 160 /* bytes of an escaped name quoted in a message */

struct st_file {
    int fd;                 /* -1 for a header parsed from memory */
    char *display;
    uint64_t data_start, data_len;
    st_tensor *tensors;     /* sorted by name */
    size_t count;
    uint64_t *dims;         /* every tensor's shape, back to back: a tensor costs its
                               rank, not ST_MAX_RANK, entries */
    size_t dims_used, dims_cap;
    char **meta_keys, **meta_values;
    size_t meta_count;
};

/* ---- errors ------------------------------------------------------------- */

/* Writes "DISPLAY: [tensor 'NAME': ]MESSAGE" and returns -1. */
static int fail(char *err, size_t errlen, const char *display, const char *tensor,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *display, const char *tensor,
                const char *fmt, ...)
{
    if (!err || errlen == 0)
        return -1;
    char shown_file[NAME_SHOWN], shown_tensor[NAME_SHOWN];
    text_escape(display, shown_file, sizeof shown_file);
    int n = tensor ? snprintf(err, errlen, "%s: tensor '%s': ", shown_file,
                              text_escape(tensor, shown_tensor, sizeof shown_tensor))
                   : snprintf(err, errlen, "%s: ", shown_file);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- lexical pre-scan ---------------------------------------------------- */

/* cJSON reads numbers with strtod, so 1e3 and 1000 look the same to it, and a
 * value above 2^53 is silently rounded. The pre-scan lexes every number of the
 * header itself; after parsing, each cJSON number node is linked to its lexeme
 * by document order (see link_numbers). It also bounds nesting before cJSON
 * recurses, and finds \u0000 escapes, which cJSON would decode into a NUL that
 * silently cuts a name short. */
typedef struct {
    bool plain;      /* only digits: a non-negative integer literal */
    uint64_t value;  /* valid when plain and value <= ST_MAX_INTEGER */
} number_lexeme;

typedef struct {
    number_lexeme *numbers;
    size_t count, cap;
} lex_result;

static bool is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static number_lexeme lex_number(const char *s, size_t len)
{
    /* JSON forbids leading zeros; the reference rejects them too */
    number_lexeme n = {.plain = len > 0 && !(len > 1 && s[0] == '0'), .value = 0};
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            n.plain = false;
            return n;
        }
        if (n.value <= ST_MAX_INTEGER) /* saturate above the bound, no overflow */
            n.value = n.value * 10 + (uint64_t)(s[i] - '0');
    }
    return n;
}

static int prescan(const char *h, size_t len, lex_result *lex, const char *display, char *err,
                   size_t errlen)
{
    int depth = 0;
    /* cJSON skips a byte order mark and treats every byte <= 0x20 as white
     * space; JSON (and the reference) allows neither */
    if (len >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0)
        return fail(err, errlen, display, NULL,
                    "header is not valid JSON (starts with a UTF-8 byte order mark)");
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if ((unsigned char)c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return fail(err, errlen, display, NULL,
                        "header is not valid JSON (control byte 0x%02X at byte %zu)",
                        (unsigned)(unsigned char)c, i);
        if (c == '"') {
            for (i++; i < len && h[i] != '"'; i++) {
                if ((unsigned char)h[i] < 0x20)
                    return fail(err, errlen, display, NULL,
                                "header is not valid JSON (control byte 0x%02X in a string at byte %zu)",
                                (unsigned)(unsigned char)h[i], i);
                if (h[i] != '\\')
                    continue;
                if (i + 5 < len && memcmp(h + i, "\\u0000", 6) == 0)
                    return fail(err, errlen, display, NULL,
                                "header contains an escaped NUL byte (\\u0000)");
                i++; /* skip the escaped character */
            }
        } else if (c == '{' || c == '[') {
            if (++depth > ST_MAX_JSON_DEPTH)
                return fail(err, errlen, display, NULL, "header nests deeper than %d levels",
                            ST_MAX_JSON_DEPTH);
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i;
            while (i + 1 < len && is_number_char(h[i + 1]))
                i++;
            xgrow(&lex->numbers, &lex->cap, lex->count + 1, sizeof(number_lexeme));
            lex->numbers[lex->count++] = lex_number(h + start, i - start + 1);
        }
    }
    return 0;
}

/* Stores in each number node's (otherwise unused: it saturates at INT_MAX)
 * valueint the index of its lexeme. cJSON keeps members in document order, so
 * a depth-first walk meets numbers in the order the pre-scan saw them. */
static bool link_numbers(cJSON *node, size_t *next, size_t count)
{
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node)) {
            if (*next >= count)
                return false;
            node->valueint = (int)(*next)++;
        }
        if (node->child && !link_numbers(node->child, next, count))
            return false;
    }
    return true;
}

/* The integer value of a number node, if it is a plain literal in 0..2^53. */
static bool node_integer(const cJSON *node, const lex_result *lex, uint64_t *out)
{
    if (!cJSON_IsNumber(node) || node->valueint < 0 || (size_t)node->valueint >= lex->count)
        return false;
    const number_lexeme *n = &lex->numbers[node->valueint];
    if (!n->plain || n->value > ST_MAX_INTEGER)
        return false;
    *out = n->value;
    return true;
}

/* ---- header validation --------------------------------------------------- */

typedef struct {
    const char *header;
    const char *display;
    const lex_result *lex;
    uint64_t data_len;
    char *err;
    size_t errlen;
} parse_ctx;

static int parse_shape(const parse_ctx *c, const char *name, const cJSON *shape, st_tensor *t,
                       st_file *f)
{
    if (!cJSON_IsArray(shape))
        return fail(c->err, c->errlen, c->display, name, "\"shape\" is not an array");
    int rank = cJSON_GetArraySize(shape);
    if (rank > ST_MAX_RANK)
        return fail(c->err, c->errlen, c->display, name, "rank %d exceeds %d", rank, ST_MAX_RANK);
    if ((size_t)rank > f->dims_cap - f->dims_used) /* counted by count_dims: cannot happen */
        return fail(c->err, c->errlen, c->display, name, "shape outside the counted dimensions");
    uint64_t *dims = f->dims + f->dims_used;
    f->dims_used += (size_t)rank;
    t->shape = dims; /* never NULL, so memcmp and memcpy of rank 0 are well defined */
    t->rank = rank;
    t->numel = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        if (!node_integer(d, c->lex, &dims[i]))
            return fail(c->err, c->errlen, c->display, name,
                        "shape[%d] is not an integer in 0..2^53", i);
        if (!ckd_mul_u64(&t->numel, t->numel, dims[i]))
            return fail(c->err, c->errlen, c->display, name, "shape overflows 64 bits");
    }
    return 0;
}

static int parse_offsets(const parse_ctx *c, const char *name, const cJSON *offs, st_tensor *t)
{
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return fail(c->err, c->errlen, c->display, name, "data_offsets must be [begin, end]");
    const char *which[2] = {"begin", "end"};
    uint64_t v[2];
    const cJSON *o = offs->child;
    for (int i = 0; i < 2; i++, o = o->next)
        if (!node_integer(o, c->lex, &v[i]))
            return fail(c->err, c->errlen, c->display, name,
                        "data_offsets %s is not an integer in 0..2^53", which[i]);
    t->begin = v[0];
    t->end = v[1];
    if (t->end < t->begin)
        return fail(c->err, c->errlen, c->display, name,
                    "data_offsets end < begin (%llu < %llu)", (unsigned long long)t->end,
                    (unsigned long long)t->begin);
    if (t->end > c->data_len)
        return fail(c->err, c->errlen, c->display, name,
                    "data_offsets [%llu, %llu] outside the data buffer (%llu bytes)",
                    (unsigned long long)t->begin, (unsigned long long)t->end,
                    (unsigned long long)c->data_len);
    uint64_t bytes;
    if (!dtype_bytes(t->dtype, t->numel, &bytes))
        return fail(c->err, c->errlen, c->display, name,
                    "shape overflows 64 bits or is not a whole number of bytes of %s",
                    dtype_name(t->dtype));
    if (t->end - t->begin != bytes)
        return fail(c->err, c->errlen, c->display, name,
                    "data length %llu differs from numel x dtype size (%llu)",
                    (unsigned long long)(t->end - t->begin), (unsigned long long)bytes);
    return 0;
}

static int parse_tensor(const parse_ctx *c, const cJSON *entry, st_tensor *t, st_file *st)
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return fail(c->err, c->errlen, c->display, name, "entry is not an object");
    const char *dup = jsonfile_duplicate_member(entry);
    if (dup)
        return fail(c->err, c->errlen, c->display, name, "duplicate key \"%s\"", dup);
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    const cJSON *f[3];
    for (int i = 0; i < 3; i++)
        if (!(f[i] = cJSON_GetObjectItemCaseSensitive(entry, fields[i])))
            return fail(c->err, c->errlen, c->display, name, "missing \"%s\"", fields[i]);
    char shown[NAME_SHOWN];
    if (!cJSON_IsString(f[0]) || !dtype_from_name(f[0]->valuestring, &t->dtype))
        return fail(c->err, c->errlen, c->display, name, "unknown dtype '%s'",
                    cJSON_IsString(f[0]) ? text_escape(f[0]->valuestring, shown, sizeof shown)
                                         : "(not a string)");
    if (parse_shape(c, name, f[1], t, st) < 0 || parse_offsets(c, name, f[2], t) < 0)
        return -1;
    t->name = xstrdup(name);
    return 0;
}

static int parse_metadata(const parse_ctx *c, const cJSON *meta, st_file *f)
{
    if (!cJSON_IsObject(meta))
        return fail(c->err, c->errlen, c->display, NULL, "__metadata__ is not an object");
    const char *dup = jsonfile_duplicate_member(meta);
    if (dup)
        return fail(c->err, c->errlen, c->display, NULL, "__metadata__ has duplicate key \"%s\"",
                    dup);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    f->meta_keys = xcalloc(n, sizeof(char *));
    f->meta_values = xcalloc(n, sizeof(char *));
    for (const cJSON *m = meta->child; m; m = m->next) {
        char shown[NAME_SHOWN];
        if (!cJSON_IsString(m))
            return fail(c->err, c->errlen, c->display, NULL,
                        "__metadata__ value for '%s' is not a string",
                        text_escape(m->string, shown, sizeof shown));
        f->meta_keys[f->meta_count] = xstrdup(m->string);
        f->meta_values[f->meta_count++] = xstrdup(m->valuestring);
    }
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The reference requires the tensors to tile the data buffer exactly: sorted
 * by offset, each begins where the previous ended, and the last ends at the
 * end of the buffer. */
static int check_tiling(const parse_ctx *c, const st_file *f)
{
    const st_tensor **by_off = xmalloc((f->count ? f->count : 1) * sizeof *by_off);
    for (size_t i = 0; i < f->count; i++)
        by_off[i] = &f->tensors[i];
    qsort(by_off, f->count, sizeof *by_off, cmp_tensor_offset);
    uint64_t expected = 0;
    const st_tensor *prev = NULL;
    int rc = 0;
    for (size_t i = 0; i < f->count && rc == 0; i++) {
        const st_tensor *t = by_off[i];
        char shown[NAME_SHOWN];
        if (t->begin < expected)
            rc = fail(c->err, c->errlen, c->display, t->name, "overlaps tensor '%s'",
                      text_escape(prev->name, shown, sizeof shown));
        else if (t->begin > expected)
            rc = fail(c->err, c->errlen, c->display, t->name,
                      "hole in the data buffer at bytes [%llu, %llu) before this tensor",
                      (unsigned long long)expected, (unsigned long long)t->begin);
        expected = t->end;
        prev = t;
    }
    if (rc == 0 && expected != c->data_len)
        rc = fail(c->err, c->errlen, c->display, NULL,
                  "hole in the data buffer at bytes [%llu, %llu) after the last tensor",
                  (unsigned long long)expected, (unsigned long long)c->data_len);
    free(by_off);
    return rc;
}

/* Sizes the shape store before any tensor points into it: the dimensions of
 * every shape array short enough to be accepted. */
static void count_dims(const cJSON *root, st_file *f)
{
    size_t n = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        const cJSON *s = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "shape") : NULL;
        int rank = cJSON_IsArray(s) ? cJSON_GetArraySize(s) : 0;
        n += rank <= ST_MAX_RANK ? (size_t)rank : 0;
    }
    f->dims = xmalloc((n + 1) * sizeof *f->dims);
    f->dims_cap = n;
}

static int parse_tensors(const parse_ctx *c, const cJSON *root, st_file *f)
{
    const char *dup = jsonfile_duplicate_member(root);
    if (dup) {
        char shown[NAME_SHOWN];
        return fail(c->err, c->errlen, c->display, NULL, "duplicate tensor name '%s'",
                    text_escape(dup, shown, sizeof shown));
    }
    size_t n = (size_t)cJSON_GetArraySize(root);
    f->tensors = xcalloc(n, sizeof(st_tensor));
    count_dims(root, f);
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            /* the reference reads it as an optional map: null means none */
            if (!cJSON_IsNull(e) && parse_metadata(c, e, f) < 0)
                return -1;
            continue;
        }
        if (parse_tensor(c, e, &f->tensors[f->count], f) < 0)
            return -1;
        f->count++;
    }
    qsort(f->tensors, f->count, sizeof(st_tensor), cmp_tensor_name);
    return check_tiling(c, f);
}

static int parse_json(const parse_ctx *c, st_file *f)
{
    const char *end = NULL;
    size_t len = strlen(c->header); /* the caller guarantees no NUL inside */
    cJSON *root = cJSON_ParseWithLengthOpts(c->header, len, &end, 0);
    if (!root)
        return fail(c->err, c->errlen, c->display, NULL, "header is not valid JSON (near byte %td)",
                    end ? end - c->header : (ptrdiff_t)0);
    int rc = 0;
    /* the reference pads the header with spaces; anything else is an error */
    for (const char *p = end; p < c->header + len && rc == 0; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            rc = fail(c->err, c->errlen, c->display, NULL,
                      "trailing data after the JSON header at byte %td", p - c->header);
    size_t next = 0;
    if (rc == 0 && !cJSON_IsObject(root))
        rc = fail(c->err, c->errlen, c->display, NULL, "header is not a JSON object");
    if (rc == 0 && !link_numbers(root, &next, c->lex->count))
        rc = fail(c->err, c->errlen, c->display, NULL, "header is not valid JSON (numbers)");
    if (rc == 0)
        rc = parse_tensors(c, root, f);
    cJSON_Delete(root);
    return rc;
}

int st_parse_header(const char *header, size_t header_len, uint64_t data_len, const char *display,
                    st_file **out, char *err, size_t errlen)
{
    *out = NULL;
    if (header_len > ST_MAX_HEADER_BYTES)
        return fail(err, errlen, display, NULL, "header length %zu exceeds the 100 MB limit",
                    header_len);
    if (memchr(header, '\0', header_len))
        return fail(err, errlen, display, NULL, "header contains a NUL byte");
    if (!text_utf8_valid(header, header_len))
        return fail(err, errlen, display, NULL, "header is not valid UTF-8");
    lex_result lex = {0};
    if (prescan(header, header_len, &lex, display, err, errlen) < 0) {
        free(lex.numbers);
        return -1;
    }
    char *text = xmalloc(header_len + 1);
    memcpy(text, header, header_len);
    text[header_len] = '\0';
    st_file *f = xcalloc(1, sizeof *f);
    f->fd = -1;
    f->display = xstrdup(display);
    f->data_len = data_len;
    parse_ctx c = {text, display, &lex, data_len, err, errlen};
    int rc = parse_json(&c, f);
    free(text);
    free(lex.numbers);
    if (rc < 0) {
        st_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

/* ---- files --------------------------------------------------------------- */

int st_open(const char *path, const char *display, st_file **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!display)
        display = path;
    struct stat sb;
    char why[UTIL_WHY_LEN];
    int fd = util_open_regular(path, &sb, why, sizeof why);
    if (fd < 0)
        return fail(err, errlen, display, NULL, "%s", why);
    uint8_t lenbuf[8];
    int rc = -1;
    char *header = NULL;
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8 || util_pread_full(fd, lenbuf, 8, 0) != 8) {
        fail(err, errlen, display, NULL, "file is shorter than the 8-byte header length");
        goto done;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | lenbuf[i];
    if (n > ST_MAX_HEADER_BYTES) {
        fail(err, errlen, display, NULL, "header length %llu exceeds the 100 MB limit",
             (unsigned long long)n);
        goto done;
    }
    if (n > size - 8) {
        fail(err, errlen, display, NULL, "header length %llu exceeds file size (%llu bytes)",
             (unsigned long long)n, (unsigned long long)size);
        goto done;
    }
    header = xmalloc((size_t)n + 1);
    if (util_pread_full(fd, header, (size_t)n, 8) != (ssize_t)n) {
        fail(err, errlen, display, NULL, "file ended early while reading the header");
        goto done;
    }
    if (st_parse_header(header, (size_t)n, size - 8 - n, display, out, err, errlen) == 0) {
        (*out)->fd = fd;
        (*out)->data_start = 8 + n;
        fd = -1;
        rc = 0;
    }
done:
    free(header);
    if (fd >= 0)
        close(fd);
    return rc;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (size_t i = 0; i < f->count; i++)
        free((char *)f->tensors[i].name);
    for (size_t i = 0; i < f->meta_count; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->tensors);
    free(f->dims);
    free(f->display);
    free(f);
}

const char *st_display_name(const st_file *f)
{
    return f->display;
}

size_t st_tensor_count(const st_file *f)
{
    return f->count;
}

const st_tensor *st_tensor_at(const st_file *f, size_t i)
{
    return i < f->count ? &f->tensors[i] : NULL;
}

const st_tensor *st_tensor_find(const st_file *f, const char *name)
{
    st_tensor key = {.name = name};
    return bsearch(&key, f->tensors, f->count, sizeof(st_tensor), cmp_tensor_name);
}

const char *st_metadata_get(const st_file *f, const char *key)
{
    for (size_t i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

uint64_t st_data_start(const st_file *f)
{
    return f->data_start;
}

uint64_t st_data_len(const st_file *f)
{
    return f->data_len;
}

int st_read(const st_file *f, const st_tensor *t, uint64_t offset, void *buf, size_t len,
            char *err, size_t errlen)
{
    uint64_t stop;
    if (!ckd_add_u64(&stop, offset, len) || stop > t->end - t->begin)
        return fail(err, errlen, f->display, t->name, "read of %zu bytes at %llu is outside the tensor",
                    len, (unsigned long long)offset);
    if (f->fd < 0)
        return fail(err, errlen, f->display, t->name, "no file to read from");
    ssize_t got = util_pread_full(f->fd, buf, len, f->data_start + t->begin + offset);
    if (got < 0)
        return fail(err, errlen, f->display, t->name, "read failed: %s", strerror(errno));
    if ((size_t)got < len)
        return fail(err, errlen, f->display, t->name,
                    "file ended early (read %zd of %zu bytes at data offset %llu)", got, len,
                    (unsigned long long)(t->begin + offset));
    return 0;
}
