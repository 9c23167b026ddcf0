#include "st_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    char *name;
    dtype_id dtype;
    int rank;
    uint64_t shape[STW_MAX_RANK];
    uint64_t bytes;
    const void *data; /* borrowed */
} stw_tensor;

typedef struct {
    char *key, *value;
} stw_pair;

struct stw_writer {
    stw_tensor *tensors;
    size_t count, cap;
    stw_pair *meta;
    size_t meta_count, meta_cap;
};

struct stw_index {
    stw_pair *meta;     /* value: decimal integer text */
    size_t meta_count, meta_cap;
    stw_pair *map;      /* tensor -> file */
    size_t map_count, map_cap;
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Sets key in a list of pairs, replacing an existing value. */
static void pairs_set(stw_pair **items, size_t *count, size_t *cap, const char *key, const char *value)
{
    for (size_t i = 0; i < *count; i++) {
        if (strcmp((*items)[i].key, key) == 0) {
            free((*items)[i].value);
            (*items)[i].value = xstrdup(value);
            return;
        }
    }
    xgrow(items, cap, *count + 1, sizeof **items);
    (*items)[*count].key = xstrdup(key);
    (*items)[*count].value = xstrdup(value);
    (*count)++;
}

static void pairs_free(stw_pair *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(items[i].key);
        free(items[i].value);
    }
    free(items);
}

/* ---- writer --------------------------------------------------------------- */

stw_writer *stw_new(void)
{
    return xcalloc(1, sizeof(stw_writer));
}

void stw_free(stw_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    pairs_free(w->meta, w->meta_count);
    free(w);
}

void stw_set_metadata(stw_writer *w, const char *key, const char *value)
{
    pairs_set(&w->meta, &w->meta_count, &w->meta_cap, key, value);
}

int stw_add(stw_writer *w, const char *name, dtype_id dtype, int rank, const uint64_t *shape,
            const void *data, char *err, size_t errlen)
{
    if (rank < 0 || rank > STW_MAX_RANK)
        return fail(err, errlen, "tensor '%s': rank %d out of 0..%d", name, rank, STW_MAX_RANK);
    if (dtype >= DT_COUNT)
        return fail(err, errlen, "tensor '%s': unknown dtype id %d", name, (int)dtype);
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return fail(err, errlen, "tensor '%s': added twice", name);
    uint64_t numel = 1, bytes;
    for (int d = 0; d < rank; d++)
        if (!ckd_mul_u64(&numel, numel, shape[d]))
            return fail(err, errlen, "tensor '%s': element count overflows", name);
    if (!dtype_bytes(dtype, numel, &bytes))
        return fail(err, errlen, "tensor '%s': %" PRIu64 " x %s is not a whole number of bytes",
                    name, numel, dtype_name(dtype));
    if (bytes > 0 && !data)
        return fail(err, errlen, "tensor '%s': no data", name);
    xgrow(&w->tensors, &w->cap, w->count + 1, sizeof *w->tensors);
    stw_tensor *t = &w->tensors[w->count++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->dtype = dtype;
    t->rank = rank;
    for (int d = 0; d < rank; d++)
        t->shape[d] = shape[d];
    t->bytes = bytes;
    t->data = data;
    return 0;
}

size_t stw_count(const stw_writer *w)
{
    return w->count;
}

const char *stw_name_at(const stw_writer *w, size_t i)
{
    return i < w->count ? w->tensors[i].name : NULL;
}

uint64_t stw_data_size(const stw_writer *w)
{
    uint64_t total = 0;
    for (size_t i = 0; i < w->count; i++)
        total += w->tensors[i].bytes; /* each bounded by stw_add; tests stay far from 2^64 */
    return total;
}

/* An integer literal node: cJSON would print a double with %g, which turns
 * offsets beyond 10^15 into 1e+15-style text that the reference rejects. */
static cJSON *u64_node(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

static cJSON *tensor_entry(const stw_tensor *t, uint64_t begin)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "dtype", dtype_name(t->dtype));
    cJSON *shape = cJSON_AddArrayToObject(e, "shape");
    for (int d = 0; d < t->rank; d++)
        cJSON_AddItemToArray(shape, u64_node(t->shape[d]));
    cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(offs, u64_node(begin));
    cJSON_AddItemToArray(offs, u64_node(begin + t->bytes));
    return e;
}

/* The compact JSON header, unpadded; the caller releases it with cJSON_free. */
static char *header_json(const stw_writer *w)
{
    cJSON *root = cJSON_CreateObject();
    if (w->meta_count) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (size_t i = 0; i < w->meta_count; i++)
            cJSON_AddStringToObject(meta, w->meta[i].key, w->meta[i].value);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->count; i++) {
        cJSON_AddItemToObject(root, w->tensors[i].name, tensor_entry(&w->tensors[i], off));
        off += w->tensors[i].bytes;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        abort(); /* cJSON fails only for lack of memory */
    return text;
}

int stw_serialize(const stw_writer *w, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    char *json = header_json(w);
    size_t jlen = strlen(json);
    size_t hlen = jlen + (STW_HEADER_ALIGN - jlen % STW_HEADER_ALIGN) % STW_HEADER_ALIGN;
    uint64_t total = 8 + (uint64_t)hlen + stw_data_size(w);
    if (total > SIZE_MAX) {
        cJSON_free(json);
        return fail(err, errlen, "file of %" PRIu64 " bytes does not fit in memory", total);
    }
    uint8_t *buf = xmalloc((size_t)total);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, json, jlen);
    memset(buf + 8 + jlen, ' ', hlen - jlen);
    cJSON_free(json);
    uint8_t *p = buf + 8 + hlen;
    for (size_t i = 0; i < w->count; i++) {
        if (w->tensors[i].bytes)
            memcpy(p, w->tensors[i].data, (size_t)w->tensors[i].bytes);
        p += w->tensors[i].bytes;
    }
    *out = buf;
    *len = (size_t)total;
    return 0;
}

int stw_write(const stw_writer *w, const char *path, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    if (stw_serialize(w, &buf, &len, err, errlen) < 0)
        return -1;
    int rc = stw_write_bytes(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---- files ---------------------------------------------------------------- */

int stw_write_bytes(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return fail(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, len, fp) == len;
    int saved = errno;
    if (fclose(fp) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok)
        return fail(err, errlen, "%s: write failed: %s", path, strerror(saved));
    return 0;
}

int stw_write_text(const char *path, const char *text, char *err, size_t errlen)
{
    return stw_write_bytes(path, text, strlen(text), err, errlen);
}

int stw_copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    FILE *fp = fopen(src, "rb");
    if (!fp)
        return fail(err, errlen, "%s: cannot open: %s", src, strerror(errno));
    size_t len = 0, cap = 0;
    uint8_t *buf = NULL;
    for (;;) {
        xgrow(&buf, &cap, len + 4096, 1);
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    bool bad = ferror(fp) != 0;
    fclose(fp);
    int rc = bad ? fail(err, errlen, "%s: read failed", src) : stw_write_bytes(dst, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---- index ---------------------------------------------------------------- */

stw_index *stw_index_new(void)
{
    return xcalloc(1, sizeof(stw_index));
}

void stw_index_free(stw_index *x)
{
    if (!x)
        return;
    pairs_free(x->meta, x->meta_count);
    pairs_free(x->map, x->map_count);
    free(x);
}

void stw_index_set_meta_u64(stw_index *x, const char *key, uint64_t value)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, value);
    pairs_set(&x->meta, &x->meta_count, &x->meta_cap, key, buf);
}

void stw_index_map(stw_index *x, const char *tensor, const char *file)
{
    xgrow(&x->map, &x->map_cap, x->map_count + 1, sizeof *x->map);
    x->map[x->map_count].key = xstrdup(tensor);
    x->map[x->map_count].value = xstrdup(file);
    x->map_count++;
}

void stw_index_map_shard(stw_index *x, const stw_writer *w, const char *file)
{
    for (size_t i = 0; i < w->count; i++)
        stw_index_map(x, w->tensors[i].name, file);
}

char *stw_json_text(const cJSON *root)
{
    char *text = cJSON_Print(root);
    if (!text)
        abort(); /* cJSON fails only for lack of memory */
    /* cJSON indents with tabs and writes "key":\tvalue. A raw tab cannot occur
     * inside a JSON string (cJSON escapes it), so every tab is layout. */
    size_t tabs = 0;
    for (const char *p = text; *p; p++)
        tabs += *p == '\t';
    char *out = xmalloc(strlen(text) + tabs + 2), *o = out;
    for (const char *p = text; *p; p++) {
        if (*p != '\t') {
            *o++ = *p;
        } else if (p > text && p[-1] == ':') {
            *o++ = ' ';
        } else {
            *o++ = ' ';
            *o++ = ' ';
        }
    }
    *o++ = '\n';
    *o = '\0';
    cJSON_free(text);
    return out;
}

int stw_index_write(const stw_index *x, const char *path, char *err, size_t errlen)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (size_t i = 0; i < x->meta_count; i++)
        cJSON_AddItemToObject(meta, x->meta[i].key, cJSON_CreateRaw(x->meta[i].value));
    cJSON *map = cJSON_AddObjectToObject(root, "weight_map");
    for (size_t i = 0; i < x->map_count; i++)
        cJSON_AddStringToObject(map, x->map[i].key, x->map[i].value);
    char *text = stw_json_text(root);
    cJSON_Delete(root);
    int rc = stw_write_text(path, text, err, errlen);
    free(text);
    return rc;
}
