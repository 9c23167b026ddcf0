#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonread.h"
#include "text.h"
#include "util.h"

#define NAME_SHOWN 160

_Static_assert(ST_MAX_INTEGER <= JSONREAD_MAX_INTEGER, "integers are read exactly up to the bound"); /* bytes of an escaped name quoted in a message */

struct st_file {
    int fd;                 /* -1 for a header parsed from memory */
    char *display;
    uint64_t data_start, data_len;
    st_tensor *tensors;     /* sorted by name */
    size_t count, cap;
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

/* ---- header validation --------------------------------------------------- */

typedef struct {
    const char *display;
    uint64_t data_len;
    st_file *f;
    size_t *dims_at;        /* per tensor: where its shape starts in f->dims (the
                               store grows while members are read, so pointers wait) */
    size_t dims_at_cap;
    bool has_metadata;
    char *err;
    size_t errlen;
} parse_ctx;

static int parse_shape(parse_ctx *c, const char *name, const cJSON *shape, st_tensor *t)
{
    if (!cJSON_IsArray(shape))
        return fail(c->err, c->errlen, c->display, name, "\"shape\" is not an array");
    int rank = cJSON_GetArraySize(shape);
    if (rank > ST_MAX_RANK)
        return fail(c->err, c->errlen, c->display, name, "rank %d exceeds %d", rank, ST_MAX_RANK);
    st_file *f = c->f;
    xgrow(&f->dims, &f->dims_cap, f->dims_used + (size_t)rank + 1, sizeof *f->dims);
    uint64_t *dims = f->dims + f->dims_used;
    t->rank = rank;
    t->numel = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        if (!jsonread_integer(d, &dims[i]))
            return fail(c->err, c->errlen, c->display, name,
                        "shape[%d] is not an integer in 0..2^53", i);
        if (!ckd_mul_u64(&t->numel, t->numel, dims[i]))
            return fail(c->err, c->errlen, c->display, name, "shape overflows 64 bits");
    }
    f->dims_used += (size_t)rank;
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
        if (!jsonread_integer(o, &v[i]))
            return fail(c->err, c->errlen, c->display, name,
                        "data_offsets %s is not an integer in 0..2^53", which[i]);
    t->begin = v[0];
    t->end = v[1];
    if (t->end < t->begin)
        return fail(c->err, c->errlen, c->display, name,
                    "data_offsets end < begin (%llu < %llu)", (unsigned long long)t->end,
                    (unsigned long long)t->begin);
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

static int parse_tensor(parse_ctx *c, const char *name, const cJSON *entry, st_tensor *t)
{
    if (!cJSON_IsObject(entry))
        return fail(c->err, c->errlen, c->display, name, "entry is not an object");
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
    if (parse_shape(c, name, f[1], t) < 0 || parse_offsets(c, name, f[2], t) < 0)
        return -1;
    t->name = xstrdup(name);
    return 0;
}

static int parse_metadata(const parse_ctx *c, const cJSON *meta, st_file *f)
{
    if (!cJSON_IsObject(meta))
        return fail(c->err, c->errlen, c->display, NULL, "__metadata__ is not an object");
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

/* Whether base[0..n) is in order already (headers usually are: a linear
 * look saves an n log n sort of a million entries). */
static bool sorted(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = base;
    for (size_t i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0)
            return false;
    return true;
}

/* Names sorted: a name given twice sits beside itself. */
static int check_unique_names(const parse_ctx *c, const st_file *f)
{
    for (size_t i = 1; i < f->count; i++) {
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0) {
            char shown[NAME_SHOWN];
            return fail(c->err, c->errlen, c->display, NULL, "duplicate tensor name '%s'",
                        text_escape(f->tensors[i].name, shown, sizeof shown));
        }
    }
    return 0;
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
    /* checked here, after the names: a tensor given twice is that fault,
     * whichever of its entries lies outside */
    for (size_t i = 0; i < f->count; i++) {
        const st_tensor *t = &f->tensors[i];
        if (t->end > c->data_len)
            return fail(c->err, c->errlen, c->display, t->name,
                        "data_offsets [%llu, %llu] outside the data buffer (%llu bytes)",
                        (unsigned long long)t->begin, (unsigned long long)t->end,
                        (unsigned long long)c->data_len);
    }
    const st_tensor **by_off = xmalloc((f->count ? f->count : 1) * sizeof *by_off);
    for (size_t i = 0; i < f->count; i++)
        by_off[i] = &f->tensors[i];
    if (!sorted(by_off, f->count, sizeof *by_off, cmp_tensor_offset))
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

/* One top-level member: "__metadata__" or a tensor. */
static int parse_member(const char *name, cJSON *value, void *ctx)
{
    parse_ctx *c = ctx;
    st_file *f = c->f;
    if (strcmp(name, "__metadata__") == 0) {
        if (c->has_metadata)
            return fail(c->err, c->errlen, c->display, NULL, "duplicate tensor name '__metadata__'");
        c->has_metadata = true;
        /* the reference reads it as an optional map: null means none */
        return cJSON_IsNull(value) ? 0 : parse_metadata(c, value, f);
    }
    xgrow(&f->tensors, &f->cap, f->count + 1, sizeof(st_tensor));
    xgrow(&c->dims_at, &c->dims_at_cap, f->count + 1, sizeof *c->dims_at);
    c->dims_at[f->count] = f->dims_used;
    if (parse_tensor(c, name, value, &f->tensors[f->count]) < 0)
        return -1;
    f->count++;
    return 0;
}

/* A fault of the JSON text itself, naming the tensor it is in. */
static int fail_json(const parse_ctx *c, const jsonread_error *e)
{
    const char *tensor = e->member[0] && strcmp(e->member, "__metadata__") != 0 ? e->member : NULL;
    const char *at = e->where[0] ? " (at " : "", *close = e->where[0] ? ")" : "";
    /* e->member and e->where are escaped already: print them as they are */
    char prefix[NAME_SHOWN * 2];
    snprintf(prefix, sizeof prefix, "%s%s%s", tensor ? "tensor '" : "", tensor ? tensor : "",
             tensor ? "': " : "");
    switch (e->fault) {
    case JSONREAD_NOT_OBJECT:
        return fail(c->err, c->errlen, c->display, NULL, "header is not a JSON object");
    case JSONREAD_DUPLICATE:
        return fail(c->err, c->errlen, c->display, NULL, "%sheader has a %s%s%s%s", prefix,
                    e->what, at, e->where, close);
    case JSONREAD_SYNTAX:
    default:
        return fail(c->err, c->errlen, c->display, NULL,
                    "%sheader is not valid JSON at byte %zu%s%s%s: %s", prefix, e->offset, at,
                    e->where, close, e->what);
    }
}

int st_parse_header(const char *header, size_t header_len, uint64_t data_len, const char *display,
                    st_file **out, char *err, size_t errlen)
{
    *out = NULL;
    if (header_len > ST_MAX_HEADER_BYTES)
        return fail(err, errlen, display, NULL, "header length %zu exceeds the 100 MB limit",
                    header_len);
    st_file *f = xcalloc(1, sizeof *f);
    f->fd = -1;
    f->display = xstrdup(display);
    f->data_len = data_len;
    parse_ctx c = {display, data_len, f, NULL, 0, false, err, errlen};
    jsonread_error e;
    int rc = jsonread_each_member(header, header_len, ST_MAX_JSON_DEPTH, parse_member, &c, &e);
    if (rc == -1 && e.what[0])
        fail_json(&c, &e);
    for (size_t i = 0; rc == 0 && i < f->count; i++) /* the store is complete now */
        f->tensors[i].shape = f->dims + c.dims_at[i]; /* never NULL: memcmp of rank 0 stays defined */
    free(c.dims_at);
    if (rc == 0) {
        if (f->count > 1 && !sorted(f->tensors, f->count, sizeof(st_tensor), cmp_tensor_name))
            qsort(f->tensors, f->count, sizeof(st_tensor), cmp_tensor_name); /* writers sort names: rarely */
        rc = check_unique_names(&c, f);
    }
    if (rc == 0)
        rc = check_tiling(&c, f);
    if (rc != 0) {
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
    if (size < 8) {
        fail(err, errlen, display, NULL, "file is shorter than the 8-byte header length");
        goto done;
    }
    if (util_pread_exact(fd, lenbuf, 8, 0, why, sizeof why) < 0) {
        fail(err, errlen, display, NULL, "the 8-byte header length: %s", why);
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
    if (util_pread_exact(fd, header, (size_t)n, 8, why, sizeof why) < 0) {
        fail(err, errlen, display, NULL, "the header: %s", why);
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
    if (f->count == 0)
        return NULL;
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
    char why[UTIL_WHY_LEN];
    if (util_pread_exact(f->fd, buf, len, f->data_start + t->begin + offset, why, sizeof why) < 0)
        return fail(err, errlen, f->display, t->name, "%s", why);
    return 0;
}

void st_advise_sequential(const st_file *f)
{
    if (f->fd >= 0)
        (void)posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

void st_willneed(const st_file *f, const st_tensor *t, uint64_t offset, uint64_t len)
{
    if (f->fd >= 0 && offset <= t->end - t->begin && len)
        (void)posix_fadvise(f->fd, (off_t)(f->data_start + t->begin + offset), (off_t)len,
                            POSIX_FADV_WILLNEED);
}
