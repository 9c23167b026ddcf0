#include "checkpoint.h"

#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonread.h"
#include "mxfp4.h"
#include "text.h"
#include "util.h"

#define SHOWN 200 /* bytes of an escaped name in a message */
#define SCALE_CHUNK (1u << 20)

typedef struct {
    char *tensor, *shard;
} index_entry;

struct ckpt {
    char *path, *dir;
    bool is_dir, has_index, has_total_size;
    bool total_size_not_integer; /* metadata.total_size present, but 1e3, 1.5, -1 or "N" */
    uint64_t total_size;
    index_entry *index;          /* weight_map, sorted by tensor name */
    size_t index_count;
    ckpt_shard *shards;
    size_t shard_count;
    ckpt_tensor *tensors;        /* sorted by name */
    size_t tensor_count;
    ckpt_logical *logical;       /* sorted by name */
    size_t logical_count;
    char **pair_names;           /* owned names of the pairs' logical entries, and the
                                    unpaired_base of those that did not pair */
    size_t pair_name_count;
    uint64_t *pair_dims;         /* the pairs' shapes, back to back */
    size_t pair_dims_used;
    ckpt_config config;
    char **not_convert;
};

static int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* A shard name from the index must name a file in the checkpoint directory,
 * never a path elsewhere. */
static bool is_plain_file_name(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int cmp_index_entry(const void *a, const void *b)
{
    return strcmp(((const index_entry *)a)->tensor, ((const index_entry *)b)->tensor);
}

static const index_entry *index_find(const ckpt *c, const char *tensor)
{
    index_entry key = {.tensor = (char *)tensor};
    return bsearch(&key, c->index, c->index_count, sizeof key, cmp_index_entry);
}

/* ---- index --------------------------------------------------------------- */

static void read_total_size(ckpt *c, const cJSON *root)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *ts = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "total_size") : NULL;
    c->has_total_size = jsonread_integer(ts, &c->total_size);
    c->total_size_not_integer = ts && !c->has_total_size;
}

static int load_index(ckpt *c, const char *index_path, char *err, size_t errlen)
{
    /* duplicate members, at any level, are refused by the reader */
    cJSON *root = jsonread_load(index_path, CKPT_INDEX_NAME, err, errlen);
    if (!root)
        return -1;
    int rc = 0;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    char shown[SHOWN], shown2[SHOWN];
    if (!cJSON_IsObject(root) || !cJSON_IsObject(map))
        rc = set_err(err, errlen, "%s: no \"weight_map\" object", CKPT_INDEX_NAME);
    if (rc < 0) {
        cJSON_Delete(root);
        return rc;
    }
    read_total_size(c, root);
    size_t n = (size_t)cJSON_GetArraySize(map);
    c->index = xcalloc(n, sizeof(index_entry));
    for (const cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !is_plain_file_name(e->valuestring)) {
            rc = set_err(err, errlen, "%s: tensor '%s': shard %s%s%s is not a file name in the checkpoint directory",
                         CKPT_INDEX_NAME, text_escape(e->string, shown, sizeof shown),
                         cJSON_IsString(e) ? "'" : "", cJSON_IsString(e) ? text_escape(e->valuestring, shown2, sizeof shown2) : "(not a string)",
                         cJSON_IsString(e) ? "'" : "");
            break;
        }
        c->index[c->index_count++] = (index_entry){xstrdup(e->string), xstrdup(e->valuestring)};
    }
    cJSON_Delete(root);
    qsort(c->index, c->index_count, sizeof(index_entry), cmp_index_entry);
    return rc;
}

/* ---- shards -------------------------------------------------------------- */

static int add_shard(ckpt *c, const char *file, finding_list *fl, char *err, size_t errlen)
{
    char *full = xasprintf("%s/%s", c->dir, file);
    struct stat sb;
    if (stat(full, &sb) < 0 && errno == ENOENT) {
        char shown[SHOWN];
        findings_add(fl, FIND_INDEX_MISMATCH, SEV_ERROR, NULL, file,
                     "shard '%s' listed in the index is missing", text_escape(file, shown, sizeof shown));
        free(full);
        return 0;
    }
    st_file *st;
    int rc = st_open(full, file, &st, err, errlen);
    free(full);
    if (rc < 0)
        return -1;
    c->shards = xrealloc(c->shards, (c->shard_count + 1) * sizeof(ckpt_shard));
    c->shards[c->shard_count++] = (ckpt_shard){xstrdup(file), st};
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Opens each distinct shard the index names, in name order. */
static int open_index_shards(ckpt *c, finding_list *fl, char *err, size_t errlen)
{
    const char **names = xmalloc((c->index_count + 1) * sizeof *names);
    for (size_t i = 0; i < c->index_count; i++)
        names[i] = c->index[i].shard;
    qsort(names, c->index_count, sizeof *names, cmp_str_ptr);
    int rc = 0;
    for (size_t i = 0; i < c->index_count && rc == 0; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            rc = add_shard(c, names[i], fl, err, errlen);
    free(names);
    return rc;
}

/* ---- tensors ------------------------------------------------------------- */

static int cmp_ckpt_tensor(const void *a, const void *b)
{
    const ckpt_tensor *x = a, *y = b;
    int d = strcmp(x->t->name, y->t->name);
    return d ? d : (x->shard > y->shard) - (x->shard < y->shard);
}

/* Each shard lists its tensors sorted, so one shard (where the largest
 * counts are) needs no sort: checking is linear, sorting is not. */
static bool tensors_sorted(const ckpt_tensor *t, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (cmp_ckpt_tensor(&t[i - 1], &t[i]) > 0)
            return false;
    return true;
}

static void merge_tensors(ckpt *c, finding_list *fl)
{
    size_t total = 0;
    for (size_t s = 0; s < c->shard_count; s++)
        total += st_tensor_count(c->shards[s].st);
    c->tensors = xcalloc(total, sizeof(ckpt_tensor));
    for (size_t s = 0; s < c->shard_count; s++)
        for (size_t i = 0; i < st_tensor_count(c->shards[s].st); i++)
            c->tensors[c->tensor_count++] = (ckpt_tensor){st_tensor_at(c->shards[s].st, i), s};
    if (!tensors_sorted(c->tensors, c->tensor_count))
        qsort(c->tensors, c->tensor_count, sizeof(ckpt_tensor), cmp_ckpt_tensor);
    size_t kept = 0;
    for (size_t i = 0; i < c->tensor_count; i++) {
        if (kept > 0 && strcmp(c->tensors[kept - 1].t->name, c->tensors[i].t->name) == 0) {
            char shown[SHOWN], used[SHOWN];
            const char *name = c->tensors[i].t->name;
            findings_add(fl, FIND_INDEX_MISMATCH, SEV_ERROR, name, c->shards[c->tensors[i].shard].file,
                         "tensor '%s' is in two shards ('%s' is used)", text_escape(name, shown, sizeof shown),
                         text_escape(c->shards[c->tensors[kept - 1].shard].file, used, sizeof used));
            continue;
        }
        c->tensors[kept++] = c->tensors[i];
    }
    c->tensor_count = kept;
}

/* Each mapped tensor is in its shard, each shard tensor is in the map. */
static void check_index(ckpt *c, finding_list *fl)
{
    char shown[SHOWN], shown2[SHOWN], shown3[SHOWN];
    for (size_t i = 0; i < c->index_count; i++) {
        const index_entry *e = &c->index[i];
        const ckpt_tensor *ct = ckpt_tensor_find(c, e->tensor);
        if (ct && strcmp(c->shards[ct->shard].file, e->shard) == 0)
            continue;
        bool shard_open = false;
        for (size_t s = 0; s < c->shard_count; s++)
            shard_open |= strcmp(c->shards[s].file, e->shard) == 0;
        if (!shard_open)
            continue; /* already reported as a missing shard */
        text_escape(e->tensor, shown, sizeof shown);
        text_escape(e->shard, shown2, sizeof shown2);
        if (ct)
            findings_add(fl, FIND_INDEX_MISMATCH, SEV_ERROR, e->tensor, e->shard,
                         "index maps '%s' to '%s' but it is in '%s'", shown, shown2,
                         text_escape(c->shards[ct->shard].file, shown3, sizeof shown3));
        else
            findings_add(fl, FIND_INDEX_MISMATCH, SEV_ERROR, e->tensor, e->shard,
                         "index maps '%s' to '%s' but no shard has it", shown, shown2);
    }
    for (size_t i = 0; i < c->tensor_count; i++) {
        const char *name = c->tensors[i].t->name;
        if (!index_find(c, name))
            findings_add(fl, FIND_INDEX_MISMATCH, SEV_ERROR, name, c->shards[c->tensors[i].shard].file,
                         "tensor '%s' of shard '%s' is not in the index weight_map",
                         text_escape(name, shown, sizeof shown),
                         text_escape(c->shards[c->tensors[i].shard].file, shown2, sizeof shown2));
    }
    if (c->total_size_not_integer)
        findings_add(fl, FIND_INDEX_TOTAL_SIZE, SEV_WARN, NULL, CKPT_INDEX_NAME,
                     "metadata.total_size is not an integer in 0..2^53; the shards hold %llu bytes of tensors",
                     (unsigned long long)ckpt_data_bytes(c));
    if (c->has_total_size && c->total_size != ckpt_data_bytes(c))
        findings_add(fl, FIND_INDEX_TOTAL_SIZE, SEV_WARN, NULL, CKPT_INDEX_NAME,
                     "metadata.total_size is %llu but the shards hold %llu bytes of tensors",
                     (unsigned long long)c->total_size, (unsigned long long)ckpt_data_bytes(c));
}

/* ---- config -------------------------------------------------------------- */

static int load_config(ckpt *c, char *err, size_t errlen)
{
    char *full = xasprintf("%s/%s", c->dir, CKPT_CONFIG_NAME);
    struct stat sb;
    if (stat(full, &sb) < 0) {
        free(full);
        if (errno != ENOENT) /* there, but out of reach: not a missing config */
            return set_err(err, errlen, "%s: cannot open: %s", CKPT_CONFIG_NAME, strerror(errno));
        return 0; /* no config: reported by the checks that need one */
    }
    cJSON *root = jsonread_load(full, CKPT_CONFIG_NAME, err, errlen);
    free(full);
    if (!root)
        return -1;
    c->config.present = true;
    int rc = 0;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "quantization_config");
    if (cJSON_IsObject(q)) {
        c->config.has_quant = true;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(q, "quant_method");
        if (cJSON_IsString(m))
            c->config.quant_method = xstrdup(m->valuestring);
        const cJSON *pats = cJSON_GetObjectItemCaseSensitive(q, "modules_to_not_convert");
        int n = cJSON_IsArray(pats) ? cJSON_GetArraySize(pats) : 0;
        c->not_convert = xcalloc((size_t)n + 1, sizeof(char *));
        for (const cJSON *p = n ? pats->child : NULL; p; p = p->next) {
            if (!cJSON_IsString(p)) {
                rc = set_err(err, errlen,
                             "%s: quantization_config.modules_to_not_convert[%d] is not a string",
                             CKPT_CONFIG_NAME, c->config.n_not_convert);
                break;
            }
            c->not_convert[c->config.n_not_convert++] = xstrdup(p->valuestring);
        }
        c->config.not_convert = (const char *const *)c->not_convert;
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- logical tensors ----------------------------------------------------- */

/* Checks that blocks/scales form a valid pair; on failure adds an
 * mxfp4.pairing finding and returns false. */
static bool valid_pair(const ckpt *c, const char *base, const ckpt_tensor *blocks,
                       const ckpt_tensor *scales, finding_list *fl)
{
    const st_tensor *b = blocks->t;
    const char *file = c->shards[blocks->shard].file;
    char shown[SHOWN], bs[256], ss[256];
    text_escape(base, shown, sizeof shown);
    const char *fault = NULL;
    if (!scales)
        fault = "has no matching _scales tensor";
    else if (b->dtype != DT_U8)
        fault = "_blocks is not U8";
    else if (scales->t->dtype != DT_U8 && scales->t->dtype != DT_F8_E8M0 && scales->t->dtype != DT_I8)
        /* I8 is MLX's codec (signed exponents): a convention the numerics
         * diagnose (scale_signed), not a pair that cannot be read */
        fault = "_scales is not U8, F8_E8M0 or I8";
    else if (b->rank < 2 || b->shape[b->rank - 1] != MXFP4_BLOCK_BYTES)
        fault = "_blocks does not end in an axis of 16 bytes";
    else if (ckpt_tensor_find(c, base))
        fault = "exists both as a plain tensor and as _blocks/_scales";
    else {
        bool same = scales->t->rank == b->rank - 1;
        for (int i = 0; same && i < b->rank - 1; i++)
            same = scales->t->shape[i] == b->shape[i];
        uint64_t elems;
        if (same && !ckd_mul_u64(&elems, b->shape[b->rank - 2], MXFP4_BLOCK_ELEMS))
            fault = "_blocks has too many groups";
        else if (!same) {
            text_shape(b->shape, b->rank, bs, sizeof bs);
            text_shape(scales->t->shape, scales->t->rank, ss, sizeof ss);
            findings_add(fl, FIND_PAIRING, SEV_ERROR, base, file,
                         "'%s': _scales shape %s does not match _blocks shape %s without its last axis",
                         shown, ss, bs);
            return false;
        }
    }
    if (fault)
        findings_add(fl, FIND_PAIRING, SEV_ERROR, base, file, "'%s': %s", shown, fault);
    return fault == NULL;
}

/* The logical array holds at most one entry per tensor: sized once. */
static void add_logical(ckpt *c, ckpt_logical lt)
{
    c->logical[c->logical_count++] = lt;
}

static ckpt_logical make_pair(ckpt *c, const char *base, const ckpt_tensor *blocks,
                              const ckpt_tensor *scales)
{
    const st_tensor *b = blocks->t;
    char *name = c->pair_names[c->pair_name_count++] = xstrdup(base);
    uint64_t *shape = c->pair_dims + c->pair_dims_used;
    c->pair_dims_used += (size_t)(b->rank - 1);
    ckpt_logical lt = {.name = name, .kind = LT_MXFP4, .blocks = blocks, .scales = scales,
                       .rank = b->rank - 1, .shape = shape, .groups = b->shape[b->rank - 2]};
    memcpy(shape, b->shape, sizeof(uint64_t) * (size_t)(b->rank - 1));
    shape[lt.rank - 1] = lt.groups * MXFP4_BLOCK_ELEMS;
    lt.bytes = (b->end - b->begin) + (scales->t->end - scales->t->begin);
    return lt;
}

static char *strip_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s) - strlen(suffix);
    char *base = xmalloc(n + 1);
    memcpy(base, s, n);
    base[n] = '\0';
    return base;
}

static int cmp_logical(const void *a, const void *b)
{
    return strcmp(((const ckpt_logical *)a)->name, ((const ckpt_logical *)b)->name);
}

/* Room for every pair a _blocks tensor could make: its name and its shape
 * (the rank of _blocks less one); and for the base name of each _blocks or
 * _scales that does not pair. */
static void size_pairs(ckpt *c)
{
    size_t names = 0, dims = 0;
    for (size_t i = 0; i < c->tensor_count; i++) {
        const st_tensor *t = c->tensors[i].t;
        names += ends_with(t->name, MXFP4_BLOCKS_SUFFIX) || ends_with(t->name, MXFP4_SCALES_SUFFIX);
        if (ends_with(t->name, MXFP4_BLOCKS_SUFFIX) && t->rank >= 2)
            dims += (size_t)(t->rank - 1);
    }
    c->pair_names = xmalloc((names + 1) * sizeof *c->pair_names);
    c->pair_dims = xmalloc((dims + 1) * sizeof *c->pair_dims);
}

static void build_logical(ckpt *c, finding_list *fl)
{
    bool *paired = xcalloc(c->tensor_count + 1, sizeof(bool));
    /* never empty: qsort/bsearch want a base */
    c->logical = xmalloc((c->tensor_count + 1) * sizeof(ckpt_logical));
    size_pairs(c);
    for (size_t i = 0; i < c->tensor_count; i++) {
        const ckpt_tensor *ct = &c->tensors[i];
        if (!ends_with(ct->t->name, MXFP4_BLOCKS_SUFFIX))
            continue;
        char *base = strip_suffix(ct->t->name, MXFP4_BLOCKS_SUFFIX);
        char *scales_name = xasprintf("%s%s", base, MXFP4_SCALES_SUFFIX);
        const ckpt_tensor *sc = ckpt_tensor_find(c, scales_name);
        if (valid_pair(c, base, ct, sc, fl)) {
            add_logical(c, make_pair(c, base, ct, sc));
            paired[i] = true;
            paired[sc - c->tensors] = true;
        }
        free(scales_name);
        free(base);
    }
    for (size_t i = 0; i < c->tensor_count; i++) {
        const ckpt_tensor *ct = &c->tensors[i];
        if (paired[i])
            continue;
        const char *unpaired_base = NULL; /* its mxfp4.pairing finding says why */
        if (ends_with(ct->t->name, MXFP4_BLOCKS_SUFFIX))
            unpaired_base = c->pair_names[c->pair_name_count++] = strip_suffix(ct->t->name, MXFP4_BLOCKS_SUFFIX);
        if (ends_with(ct->t->name, MXFP4_SCALES_SUFFIX)) {
            char *base = strip_suffix(ct->t->name, MXFP4_SCALES_SUFFIX);
            unpaired_base = c->pair_names[c->pair_name_count++] = xstrdup(base);
            char *blocks_name = xasprintf("%s%s", base, MXFP4_BLOCKS_SUFFIX);
            char shown[SHOWN];
            if (!ckpt_tensor_find(c, blocks_name))
                findings_add(fl, FIND_PAIRING, SEV_ERROR, base, c->shards[ct->shard].file,
                             "'%s': _scales has no matching _blocks tensor",
                             text_escape(base, shown, sizeof shown));
            free(blocks_name);
            free(base);
        }
        const st_tensor *t = ct->t;
        add_logical(c, (ckpt_logical){.name = t->name, .kind = LT_PLAIN, .plain = ct, .rank = t->rank,
                                      .shape = t->shape, .bytes = t->end - t->begin,
                                      .unpaired_base = unpaired_base});
    }
    free(paired);
    qsort(c->logical, c->logical_count, sizeof(ckpt_logical), cmp_logical);
}

/* ---- open/close ---------------------------------------------------------- */

/* transformers looks for model.safetensors before the index: a single file
 * beside an index is what it loads, whatever the index and its shards say
 * (unless the index names that very file). */
static void check_single_beside_index(const ckpt *c, finding_list *fl)
{
    char *single = xasprintf("%s/%s", c->dir, CKPT_SINGLE_NAME);
    struct stat sb;
    bool present = lstat(single, &sb) == 0;
    free(single);
    for (size_t i = 0; present && i < c->shard_count; i++)
        if (strcmp(c->shards[i].file, CKPT_SINGLE_NAME) == 0)
            return;
    if (present)
        findings_add(fl, FIND_INDEX_MISMATCH, SEV_ERROR, NULL, CKPT_SINGLE_NAME,
                     "both %s and %s are here: the Hugging Face loader reads %s and ignores the "
                     "index and its shards, which are what was checked",
                     CKPT_SINGLE_NAME, CKPT_INDEX_NAME, CKPT_SINGLE_NAME);
}

static int open_layout(ckpt *c, finding_list *fl, char *err, size_t errlen)
{
    char shown[SHOWN];
    text_escape(c->path, shown, sizeof shown);
    struct stat sb;
    if (stat(c->path, &sb) < 0)
        return set_err(err, errlen, "%s: %s", shown, strerror(errno));
    if (S_ISREG(sb.st_mode)) {
        const char *slash = strrchr(c->path, '/');
        c->dir = slash ? strip_suffix(c->path, slash) : xstrdup(".");
        if (add_shard(c, slash ? slash + 1 : c->path, fl, err, errlen) < 0)
            return -1;
        return load_config(c, err, errlen); /* a shard's config sits beside it */
    }
    if (!S_ISDIR(sb.st_mode))
        return set_err(err, errlen, "%s: neither a directory nor a .safetensors file", shown);
    c->dir = xstrdup(c->path);
    c->is_dir = true;
    char *index_path = xasprintf("%s/%s", c->dir, CKPT_INDEX_NAME);
    int rc;
    if (stat(index_path, &sb) == 0) {
        c->has_index = true;
        rc = load_index(c, index_path, err, errlen);
        if (rc == 0)
            rc = open_index_shards(c, fl, err, errlen);
        if (rc == 0)
            check_single_beside_index(c, fl);
    } else if (errno != ENOENT) { /* a directory that cannot be searched is not an empty one */
        rc = set_err(err, errlen, "%s: cannot open %s: %s", shown, CKPT_INDEX_NAME, strerror(errno));
    } else {
        char *single = xasprintf("%s/%s", c->dir, CKPT_SINGLE_NAME);
        rc = stat(single, &sb) == 0
                 ? add_shard(c, CKPT_SINGLE_NAME, fl, err, errlen)
             : errno != ENOENT
                 ? set_err(err, errlen, "%s: cannot open %s: %s", shown, CKPT_SINGLE_NAME, strerror(errno))
                 : set_err(err, errlen, "%s: no %s or %s in this directory", shown, CKPT_INDEX_NAME,
                           CKPT_SINGLE_NAME);
        free(single);
    }
    free(index_path);
    if (rc == 0)
        rc = load_config(c, err, errlen);
    return rc;
}

int ckpt_open(const char *path, ckpt **out, finding_list *fl, char *err, size_t errlen)
{
    ckpt *c = xcalloc(1, sizeof *c);
    c->path = xstrdup(path);
    *out = NULL;
    if (open_layout(c, fl, err, errlen) < 0) {
        ckpt_close(c);
        return -1;
    }
    merge_tensors(c, fl);
    if (c->has_index)
        check_index(c, fl);
    build_logical(c, fl);
    *out = c;
    return 0;
}

void ckpt_close(ckpt *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->index_count; i++) {
        free(c->index[i].tensor);
        free(c->index[i].shard);
    }
    for (size_t i = 0; i < c->shard_count; i++) {
        st_close(c->shards[i].st);
        free((char *)c->shards[i].file);
    }
    for (size_t i = 0; i < c->pair_name_count; i++)
        free(c->pair_names[i]);
    for (int i = 0; i < c->config.n_not_convert; i++)
        free(c->not_convert[i]);
    free(c->not_convert);
    free((char *)c->config.quant_method);
    free(c->pair_names);
    free(c->pair_dims);
    free(c->logical);
    free(c->tensors);
    free(c->shards);
    free(c->index);
    free(c->dir);
    free(c->path);
    free(c);
}

/* ---- accessors ----------------------------------------------------------- */

const char *ckpt_path(const ckpt *c) { return c->path; }
const char *ckpt_dir(const ckpt *c) { return c->dir; }
bool ckpt_is_dir(const ckpt *c) { return c->is_dir; }
bool ckpt_has_index(const ckpt *c) { return c->has_index; }
size_t ckpt_shard_count(const ckpt *c) { return c->shard_count; }
size_t ckpt_tensor_count(const ckpt *c) { return c->tensor_count; }
size_t ckpt_logical_count(const ckpt *c) { return c->logical_count; }
const ckpt_config *ckpt_get_config(const ckpt *c) { return &c->config; }

void ckpt_check_quant_config(const ckpt *c, finding_list *fl)
{
    const ckpt_config *cfg = &c->config;
    if (!cfg->present)
        findings_add(fl, FIND_CONFIG_QUANT, SEV_ERROR, NULL, CKPT_CONFIG_NAME, "no config.json");
    else if (!cfg->has_quant)
        findings_add(fl, FIND_CONFIG_QUANT, SEV_ERROR, NULL, CKPT_CONFIG_NAME,
                     "config.json has no quantization_config");
    else if (!cfg->quant_method || strcmp(cfg->quant_method, "mxfp4") != 0)
        findings_add(fl, FIND_CONFIG_QUANT, SEV_ERROR, NULL, CKPT_CONFIG_NAME,
                     "quantization_config.quant_method is not \"mxfp4\"");
}

bool ckpt_index_total_size(const ckpt *c, uint64_t *out)
{
    if (c->has_total_size)
        *out = c->total_size;
    return c->has_total_size;
}

const ckpt_shard *ckpt_shard_at(const ckpt *c, size_t i)
{
    return i < c->shard_count ? &c->shards[i] : NULL;
}

const ckpt_tensor *ckpt_tensor_at(const ckpt *c, size_t i)
{
    return i < c->tensor_count ? &c->tensors[i] : NULL;
}

static int cmp_name_tensor(const void *key, const void *elem)
{
    return strcmp(key, ((const ckpt_tensor *)elem)->t->name);
}

const ckpt_tensor *ckpt_tensor_find(const ckpt *c, const char *name)
{
    return bsearch(name, c->tensors, c->tensor_count, sizeof(ckpt_tensor), cmp_name_tensor);
}

const ckpt_logical *ckpt_logical_at(const ckpt *c, size_t i)
{
    return i < c->logical_count ? &c->logical[i] : NULL;
}

static int cmp_name_logical(const void *key, const void *elem)
{
    return strcmp(key, ((const ckpt_logical *)elem)->name);
}

const ckpt_logical *ckpt_logical_find(const ckpt *c, const char *name)
{
    return bsearch(name, c->logical, c->logical_count, sizeof(ckpt_logical), cmp_name_logical);
}

uint64_t ckpt_data_bytes(const ckpt *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->tensor_count; i++)
        sum += c->tensors[i].t->end - c->tensors[i].t->begin;
    return sum;
}

int ckpt_read(const ckpt *c, const ckpt_tensor *ct, uint64_t offset, void *buf, size_t len,
              char *err, size_t errlen)
{
    return st_read(c->shards[ct->shard].st, ct->t, offset, buf, len, err, errlen);
}

void ckpt_advise_sequential(const ckpt *c)
{
    for (size_t i = 0; i < c->shard_count; i++)
        if (c->shards[i].st)
            st_advise_sequential(c->shards[i].st);
}

void ckpt_willneed(const ckpt *c, const ckpt_tensor *ct, uint64_t offset, uint64_t len)
{
    st_willneed(c->shards[ct->shard].st, ct->t, offset, len);
}

int ckpt_scale_histogram(const ckpt *c, const ckpt_logical *lt, uint64_t hist[256], char *err,
                         size_t errlen)
{
    memset(hist, 0, 256 * sizeof(uint64_t));
    uint64_t total = lt->scales->t->end - lt->scales->t->begin;
    uint8_t *buf = xmalloc(SCALE_CHUNK);
    int rc = 0;
    for (uint64_t off = 0; off < total && rc == 0; off += SCALE_CHUNK) {
        size_t n = total - off < SCALE_CHUNK ? (size_t)(total - off) : SCALE_CHUNK;
        rc = ckpt_read(c, lt->scales, off, buf, n, err, errlen);
        for (size_t i = 0; rc == 0 && i < n; i++)
            hist[buf[i]]++;
    }
    free(buf);
    return rc;
}
