/* plant - copies a converted checkpoint and plants one fault in the copy, so
 * the verify tests can show that each fault is found and named.
 *
 *   plant FAULT SRC DST OUT [ARGS]
 *
 * DST (the MXFP4 checkpoint directory) is copied into OUT, which must not
 * exist: every regular file, symlinks followed. The fault is then planted in
 * OUT only; SRC (the BF16 source) and DST are only read. Tensors are located
 * with the project's parser (ckpt_open/ckpt_read); shards whose header must
 * change are rewritten whole with st_writer, and the index follows.
 *
 * Exit status: 0 planted; 2 bad usage or a fault that cannot be planted in
 * this checkpoint (unknown tensor, wrong shape, a scale that would wrap), with
 * a message; 1 an I/O error. On failure OUT is removed again. */
#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "dtype.h"
#include "finding.h"
#include "mxfp4.h"
#include "runner.h"
#include "safetensors.h"
#include "st_writer.h"
#include "util.h"

#define ERR_LEN 1024
#define CHUNK_BYTES ((size_t)1 << 20)
#define TMP_NAME ".plant-tmp.safetensors" /* a rewritten shard before its rename */
#define TOKENIZER_NAME "tokenizer.json"
#define QUANT_CONFIG_KEY "quantization_config"
#define GARBAGE_TEXT "this is not json"
#define EXTRA_ELEMS 8           /* the `extra` tensor: BF16 [8] */
#define BF16_ONE 0x3F80u        /* 1.0 in BF16 */
#define MAX_EDITS 4             /* tensors added or removed by one fault */

enum { PLANT_OK = 0, PLANT_IO = 1, PLANT_USAGE = 2 };

static const char usage[] =
    "usage: plant FAULT SRC DST OUT [ARGS]\n"
    "\n"
    "Copies the MXFP4 checkpoint DST into the new directory OUT and plants FAULT\n"
    "there (SRC, its BF16 source, is read by the faults that need it):\n"
    "  nibble-swap TENSOR        swap the nibbles of every byte of TENSOR_blocks\n"
    "  scale-bias TENSOR K       add K to every byte of TENSOR_scales (no wrap-around)\n"
    "  quantize-kept TENSOR      quantize kept TENSOR from SRC with the reference quantizer\n"
    "  missing TENSOR            remove TENSOR (or its _blocks/_scales) and its index entries\n"
    "  extra NAME                add a small BF16 tensor NAME to the first shard and the index\n"
    "  bitflip TENSOR            flip the lowest bit of the first byte of kept TENSOR\n"
    "  wrong-shard TENSOR        point TENSOR's index entry at another shard\n"
    "  nan-scale TENSOR          set the first byte of TENSOR_scales to 0xFF\n"
    "  no-quant-config           remove quantization_config from config.json\n"
    "  tokenizer                 append a space to tokenizer.json\n"
    "  no-transpose TENSOR       re-quantize SRC's square TENSOR without the transpose\n"
    "  convention TENSOR PARTS   rewrite TENSOR as another exporter would: PARTS joined by '+',\n"
    "                            in any order, from missing_transpose (square TENSOR),\n"
    "                            nibble_swap (element 2i high), nibble_split (ggml's order),\n"
    "                            scale_bias:K (E8M0 with bias 127+K), scale_signed\n"
    "                            (two's-complement exponents; scale_signed:I8 also sets dtype I8)\n"
    "  scales-dtype TENSOR DTYPE rewrite TENSOR_scales with dtype DTYPE (its bytes kept)\n"
    "  truncate SHARD BYTES      truncate the file SHARD to BYTES bytes\n"
    "  garbage-header SHARD      replace SHARD by a header length and \"" GARBAGE_TEXT "\"\n";

typedef struct {
    const char *fault, *src, *dst, *out;
    char *const *args;  /* the fault's own arguments */
    char *err;
    size_t errlen;
} plant;

/* Sets p->err and returns code, so handlers can `return fail(...)`. */
static int fail(const plant *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const plant *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int fail_errno(const plant *p, const char *what, const char *path)
{
    return fail(p, PLANT_IO, "%s %s: %s", what, path, strerror(errno));
}

/* ---- the copy in OUT --------------------------------------------------------- */

typedef struct {
    ckpt *c;
    finding_list *fl; /* structural findings of the copy: not ours to judge */
} opened;

static int open_ckpt(const plant *p, const char *path, opened *o)
{
    o->fl = findings_new();
    char err[ST_ERR_LEN];
    if (ckpt_open(path, &o->c, o->fl, err, sizeof err) < 0) {
        findings_free(o->fl);
        o->fl = NULL;
        return fail(p, PLANT_USAGE, "cannot open %s: %s", path, err);
    }
    return PLANT_OK;
}

static void close_ckpt(opened *o)
{
    ckpt_close(o->c);
    findings_free(o->fl);
    *o = (opened){0};
}

static char *out_path(const plant *p, const char *file)
{
    return xasprintf("%s/%s", p->out, file);
}

/* Absolute offset of byte `off` of tensor ct in its shard file. */
static uint64_t file_offset(const ckpt *c, const ckpt_tensor *ct, uint64_t off)
{
    return st_data_start(ckpt_shard_at(c, ct->shard)->st) + ct->t->begin + off;
}

static const ckpt_tensor *need_tensor(const plant *p, const ckpt *c, const char *name,
                                      const char *suffix, int *rc)
{
    char *full = xasprintf("%s%s", name, suffix);
    const ckpt_tensor *ct = ckpt_tensor_find(c, full);
    *rc = ct ? PLANT_OK : fail(p, PLANT_USAGE, "%s has no tensor '%s'", ckpt_path(c), full);
    free(full);
    return ct;
}

/* Calls visit on every chunk of tensor ct's bytes; with write_back, writes
 * the chunk back where it came from. visit returns PLANT_OK or a code with
 * p->err set (a refusal). */
typedef int (*chunk_fn)(const plant *p, uint8_t *buf, size_t n, uint64_t off, void *arg);

static int each_chunk(const plant *p, const ckpt *c, const ckpt_tensor *ct, chunk_fn visit,
                      void *arg, bool write_back)
{
    uint64_t len = ct->t->end - ct->t->begin;
    uint8_t *buf = xmalloc(CHUNK_BYTES);
    char *path = out_path(p, ckpt_shard_at(c, ct->shard)->file);
    char err[ST_ERR_LEN];
    int rc = PLANT_OK;
    for (uint64_t off = 0; off < len && rc == PLANT_OK; off += CHUNK_BYTES) {
        size_t n = len - off < CHUNK_BYTES ? (size_t)(len - off) : CHUNK_BYTES;
        if (ckpt_read(c, ct, off, buf, n, err, sizeof err) < 0)
            rc = fail(p, PLANT_IO, "%s", err);
        else if ((rc = visit(p, buf, n, off, arg)) == PLANT_OK && write_back &&
                 run_pwrite(path, file_offset(c, ct, off), buf, n) < 0)
            rc = fail_errno(p, "cannot write", path);
    }
    free(path);
    free(buf);
    return rc;
}

/* ---- rewriting a shard --------------------------------------------------------- */

typedef struct {
    const char *name;
    dtype_id dtype;
    int rank;
    uint64_t shape[ST_MAX_RANK];
    const void *data;
} new_tensor;

typedef struct {
    const char *remove[MAX_EDITS]; /* tensor names to drop */
    size_t nremove;
    new_tensor add[MAX_EDITS];     /* tensors to append */
    size_t nadd;
} shard_edit;

/* Copies the "__metadata__" strings of the shard's header (already validated
 * by st_open) into w, so a rewritten shard keeps them. */
static int copy_metadata(const plant *p, const char *path, stw_writer *w)
{
    char *raw;
    size_t len;
    if (run_read_file(path, &raw, &len) < 0)
        return fail_errno(p, "cannot read", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0 && len >= 8; i--)
        n = n << 8 | (uint8_t)raw[i];
    cJSON *h = len >= 8 && n <= len - 8 ? cJSON_ParseWithLength(raw + 8, (size_t)n) : NULL;
    free(raw);
    if (!h)
        return fail(p, PLANT_IO, "%s: header changed while planting", path);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next)
        if (cJSON_IsString(m))
            stw_set_metadata(w, m->string, m->valuestring);
    cJSON_Delete(h);
    return PLANT_OK;
}

static bool removed(const shard_edit *e, const char *name)
{
    for (size_t i = 0; i < e->nremove; i++)
        if (strcmp(e->remove[i], name) == 0)
            return true;
    return false;
}

/* The tensors of shard st in data order (as the file lays them out). */
static const st_tensor **data_order(const st_file *st)
{
    size_t n = st_tensor_count(st);
    const st_tensor **v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(st, i);
        size_t j = i;
        for (; j > 0 && v[j - 1]->begin > t->begin; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
    return v;
}

/* Rewrites shard `shard` of the checkpoint in OUT: its tensors minus
 * e->remove, plus e->add at the end, through a temporary file and a rename. */
static int rewrite_shard(const plant *p, const ckpt *c, size_t shard, const shard_edit *e)
{
    const ckpt_shard *sh = ckpt_shard_at(c, shard);
    size_t n = st_tensor_count(sh->st);
    const st_tensor **order = data_order(sh->st);
    uint8_t **bufs = xcalloc(n + 1, sizeof *bufs);
    char *path = out_path(p, sh->file), *tmp = out_path(p, TMP_NAME);
    char err[ST_ERR_LEN];
    stw_writer *w = stw_new();
    int rc = copy_metadata(p, path, w);
    for (size_t i = 0; i < n && rc == PLANT_OK; i++) {
        const st_tensor *t = order[i];
        if (removed(e, t->name))
            continue;
        size_t len = (size_t)(t->end - t->begin);
        bufs[i] = xmalloc(len ? len : 1);
        if (st_read(sh->st, t, 0, bufs[i], len, err, sizeof err) < 0 ||
            stw_add(w, t->name, t->dtype, t->rank, t->shape, bufs[i], err, sizeof err) < 0)
            rc = fail(p, PLANT_IO, "%s", err);
    }
    for (size_t i = 0; i < e->nadd && rc == PLANT_OK; i++) {
        const new_tensor *a = &e->add[i];
        if (stw_add(w, a->name, a->dtype, a->rank, a->shape, a->data, err, sizeof err) < 0)
            rc = fail(p, PLANT_USAGE, "%s", err);
    }
    if (rc == PLANT_OK && stw_write(w, tmp, err, sizeof err) < 0)
        rc = fail(p, PLANT_IO, "%s", err);
    if (rc == PLANT_OK && rename(tmp, path) < 0)
        rc = fail_errno(p, "cannot rename over", path);
    stw_free(w);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(order);
    free(path);
    free(tmp);
    return rc;
}

/* ---- JSON files in OUT ------------------------------------------------------- */

static int load_json(const plant *p, const char *file, cJSON **out)
{
    char *path = out_path(p, file), *text;
    int rc = PLANT_OK;
    *out = NULL;
    if (run_read_file(path, &text, NULL) < 0)
        rc = fail_errno(p, "cannot read", path);
    else {
        if (!(*out = cJSON_Parse(text)) || !cJSON_IsObject(*out))
            rc = fail(p, PLANT_USAGE, "%s is not a JSON object", path);
        free(text);
    }
    free(path);
    if (rc != PLANT_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* Writes root as file in OUT (json.dumps(indent=2) layout, as the converter). */
static int save_json(const plant *p, const char *file, const cJSON *root)
{
    char *path = out_path(p, file), *text = stw_json_text(root), err[ST_ERR_LEN];
    int rc = stw_write_text(path, text, err, sizeof err) < 0 ? fail(p, PLANT_IO, "%s", err) : PLANT_OK;
    free(text);
    free(path);
    return rc;
}

/* Index edits: drop `remove` from weight_map, then map each `add` name to
 * `file`. A checkpoint without an index has nothing to edit. */
static int edit_index(const plant *p, const ckpt *c, const char *const *remove, size_t nremove,
                      const char *const *add, size_t nadd, const char *file)
{
    if (!ckpt_has_index(c))
        return PLANT_OK;
    cJSON *root;
    int rc = load_json(p, CKPT_INDEX_NAME, &root);
    if (rc != PLANT_OK)
        return rc;
    cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map))
        rc = fail(p, PLANT_USAGE, "%s has no weight_map object", CKPT_INDEX_NAME);
    for (size_t i = 0; i < nremove && rc == PLANT_OK; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(map, remove[i]);
    for (size_t i = 0; i < nadd && rc == PLANT_OK; i++)
        cJSON_AddStringToObject(map, add[i], file);
    if (rc == PLANT_OK)
        rc = save_json(p, CKPT_INDEX_NAME, root);
    cJSON_Delete(root);
    return rc;
}

/* ---- faults on bytes in place ------------------------------------------------- */

static int swap_nibbles(const plant *p, uint8_t *buf, size_t n, uint64_t off, void *arg)
{
    (void)p;
    (void)off;
    (void)arg;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(buf[i] << 4 | buf[i] >> 4);
    return PLANT_OK;
}

/* Checks (dry run) or applies the bias; a byte leaving 0..254 (255 is NaN)
 * is refused before anything is written. */
static int add_bias(const plant *p, uint8_t *buf, size_t n, uint64_t off, void *arg)
{
    long k = *(const long *)arg;
    for (size_t i = 0; i < n; i++) {
        long v = (long)buf[i] + k;
        if (buf[i] == MXFP4_SCALE_NAN || v < 0 || v >= (long)MXFP4_SCALE_NAN)
            return fail(p, PLANT_USAGE, "scale byte %" PRIu64 " is %u: adding %ld leaves 0..254",
                        off + i, buf[i], k);
        buf[i] = (uint8_t)v;
    }
    return PLANT_OK;
}

static int first_byte(const plant *p, uint8_t *buf, size_t n, uint64_t off, void *arg)
{
    (void)p;
    (void)n;
    if (off == 0)
        buf[0] = *(const uint8_t *)arg == 0 ? (uint8_t)(buf[0] ^ 1u) : *(const uint8_t *)arg;
    return PLANT_OK;
}

/* Opens OUT, finds NAME+suffix and runs visit over it (dry first when asked). */
static int on_tensor(const plant *p, const char *suffix, chunk_fn visit, void *arg, bool dry_run)
{
    opened o;
    int rc = open_ckpt(p, p->out, &o);
    if (rc != PLANT_OK)
        return rc;
    const ckpt_tensor *ct = need_tensor(p, o.c, p->args[0], suffix, &rc);
    if (ct && ct->t->end == ct->t->begin)
        rc = fail(p, PLANT_USAGE, "tensor '%s%s' has no bytes", p->args[0], suffix);
    if (rc == PLANT_OK && dry_run)
        rc = each_chunk(p, o.c, ct, visit, arg, false);
    if (rc == PLANT_OK)
        rc = each_chunk(p, o.c, ct, visit, arg, true);
    close_ckpt(&o);
    return rc;
}

static int fault_nibble_swap(const plant *p)
{
    return on_tensor(p, MXFP4_BLOCKS_SUFFIX, swap_nibbles, NULL, false);
}

static int fault_scale_bias(const plant *p)
{
    char *end;
    errno = 0;
    long k = strtol(p->args[1], &end, 10);
    if (*p->args[1] == '\0' || *end != '\0' || errno || k == 0 || k < -254 || k > 254)
        return fail(p, PLANT_USAGE, "scale-bias: K must be a non-zero integer, not '%s'", p->args[1]);
    return on_tensor(p, MXFP4_SCALES_SUFFIX, add_bias, &k, true);
}

static int fault_bitflip(const plant *p)
{
    uint8_t flip = 0;
    return on_tensor(p, "", first_byte, &flip, false);
}

static int fault_nan_scale(const plant *p)
{
    uint8_t nan = MXFP4_SCALE_NAN;
    return on_tensor(p, MXFP4_SCALES_SUFFIX, first_byte, &nan, false);
}

/* ---- faults that quantize from SRC -------------------------------------------- */

/* A source tensor as float32, with its shape. */
typedef struct {
    float *x;
    int rank;
    uint64_t shape[ST_MAX_RANK];
    uint64_t numel;
} source;

static int read_source(const plant *p, const char *name, source *s)
{
    opened o;
    int rc = open_ckpt(p, p->src, &o);
    if (rc != PLANT_OK)
        return rc;
    const ckpt_tensor *ct = need_tensor(p, o.c, name, "", &rc);
    if (ct && ct->t->dtype != DT_BF16)
        rc = fail(p, PLANT_USAGE, "source tensor '%s' is %s, not BF16", name, dtype_name(ct->t->dtype));
    if (rc == PLANT_OK) {
        char err[ST_ERR_LEN];
        s->rank = ct->t->rank;
        s->numel = ct->t->numel;
        memcpy(s->shape, ct->t->shape, sizeof *s->shape * (size_t)s->rank);
        uint16_t *raw = xmalloc((size_t)s->numel * 2 + 1);
        s->x = xmalloc((size_t)s->numel * sizeof(float) + 1);
        if (ckpt_read(o.c, ct, 0, raw, (size_t)s->numel * 2, err, sizeof err) < 0)
            rc = fail(p, PLANT_IO, "%s", err);
        for (uint64_t i = 0; i < s->numel && rc == PLANT_OK; i++)
            s->x[i] = mxfp4_bf16_to_f32(raw[i]);
        free(raw);
    }
    close_ckpt(&o);
    return rc;
}

/* MXFP4 of a source read as matrices of [rows, cols] (cols = G*32 along the
 * blocks' last axis); element (m, r, k) is x[m*rows*cols + r*rs + k*ks]. */
typedef struct {
    uint64_t matrices, rows, groups;
    uint8_t *blocks, *scales;
} quantized;

static void quantize(const float *x, uint64_t rs, uint64_t ks, quantized *q)
{
    uint64_t cols = q->groups * MXFP4_BLOCK_ELEMS;
    q->blocks = xcalloc((size_t)(q->matrices * q->rows * q->groups) * MXFP4_BLOCK_BYTES + 1, 1);
    q->scales = xcalloc((size_t)(q->matrices * q->rows * q->groups) + 1, 1);
    for (uint64_t m = 0; m < q->matrices; m++)
        for (uint64_t r = 0; r < q->rows; r++)
            for (uint64_t g = 0; g < q->groups; g++) {
                float blk[MXFP4_BLOCK_ELEMS];
                uint8_t codes[MXFP4_BLOCK_ELEMS];
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
                    blk[i] = x[m * q->rows * cols + r * rs + (g * MXFP4_BLOCK_ELEMS + (uint64_t)i) * ks];
                uint64_t b = (m * q->rows + r) * q->groups + g;
                mxfp4_ref_quantize_block(blk, &q->scales[b], codes);
                for (int i = 0; i < MXFP4_BLOCK_BYTES; i++) /* element 2i low, 2i+1 high */
                    q->blocks[b * MXFP4_BLOCK_BYTES + (uint64_t)i] =
                        (uint8_t)(codes[2 * i] | codes[2 * i + 1] << 4);
            }
}

static void free_quantized(quantized *q)
{
    free(q->blocks);
    free(q->scales);
}

/* Quantizes s as the converter does: [..., K, N] transposed to [..., N, K]
 * and quantized along K. When K is not a multiple of 32 but N is, without the
 * transpose ([..., K, N] along N), so that shapes still fit. *direct tells
 * which. */
static int quantize_like_converter(const plant *p, const source *s, quantized *q, bool *direct)
{
    int r = s->rank;
    uint64_t K = r >= 2 ? s->shape[r - 2] : 1, N = s->shape[r - 1];
    q->matrices = 1;
    for (int i = 0; i < r - 2; i++)
        q->matrices *= s->shape[i];
    *direct = r < 2 || K % MXFP4_BLOCK_ELEMS != 0;
    if (*direct && N % MXFP4_BLOCK_ELEMS != 0)
        return fail(p, PLANT_USAGE, "neither of the last two axes of '%s' is a multiple of %d",
                    p->args[0], MXFP4_BLOCK_ELEMS);
    if (*direct) {
        q->rows = K;
        q->groups = N / MXFP4_BLOCK_ELEMS;
        quantize(s->x, N, 1, q);
    } else {
        q->rows = N;
        q->groups = K / MXFP4_BLOCK_ELEMS;
        quantize(s->x, 1, N, q);
    }
    return PLANT_OK;
}

/* The blocks/scales tensors of q, prefix from s (rank of s - 2 axes). */
static void pair_tensors(const source *s, const quantized *q, const char *blocks_name,
                         const char *scales_name, new_tensor out[2])
{
    int prefix = s->rank >= 2 ? s->rank - 2 : 0;
    new_tensor *b = &out[0], *sc = &out[1];
    *b = (new_tensor){.name = blocks_name, .dtype = DT_U8, .rank = prefix + 3, .data = q->blocks};
    *sc = (new_tensor){.name = scales_name, .dtype = DT_U8, .rank = prefix + 2, .data = q->scales};
    memcpy(b->shape, s->shape, sizeof(uint64_t) * (size_t)prefix);
    memcpy(sc->shape, s->shape, sizeof(uint64_t) * (size_t)prefix);
    b->shape[prefix] = sc->shape[prefix] = q->rows;
    b->shape[prefix + 1] = sc->shape[prefix + 1] = q->groups;
    b->shape[prefix + 2] = MXFP4_BLOCK_BYTES;
    if (s->rank < 2) { /* a vector: one row, no row axis */
        b->rank--, sc->rank--;
        b->shape[0] = sc->shape[0] = q->groups;
        b->shape[1] = MXFP4_BLOCK_BYTES;
    }
}

static int fault_quantize_kept(const plant *p)
{
    const char *name = p->args[0];
    source s = {0};
    quantized q = {0};
    bool direct;
    int rc = read_source(p, name, &s);
    if (rc == PLANT_OK)
        rc = quantize_like_converter(p, &s, &q, &direct);
    opened o = {0};
    if (rc == PLANT_OK)
        rc = open_ckpt(p, p->out, &o);
    const ckpt_tensor *ct = rc == PLANT_OK ? need_tensor(p, o.c, name, "", &rc) : NULL;
    char *bn = xasprintf("%s%s", name, MXFP4_BLOCKS_SUFFIX);
    char *sn = xasprintf("%s%s", name, MXFP4_SCALES_SUFFIX);
    if (rc == PLANT_OK && (ckpt_tensor_find(o.c, bn) || ckpt_tensor_find(o.c, sn)))
        rc = fail(p, PLANT_USAGE, "'%s' already has a %s or %s tensor", name, bn, sn);
    if (rc == PLANT_OK) {
        shard_edit e = {.remove = {name}, .nremove = 1, .nadd = 2};
        pair_tensors(&s, &q, bn, sn, e.add);
        const char *file = ckpt_shard_at(o.c, ct->shard)->file;
        const char *add[] = {bn, sn};
        rc = rewrite_shard(p, o.c, ct->shard, &e);
        if (rc == PLANT_OK)
            rc = edit_index(p, o.c, &name, 1, add, 2, file);
        if (rc == PLANT_OK)
            printf("plant: '%s' quantized %s the transpose\n", name, direct ? "without" : "with");
    }
    free(bn);
    free(sn);
    if (o.c)
        close_ckpt(&o);
    free_quantized(&q);
    free(s.x);
    return rc;
}

/* Checks that the stored tensor has exactly the given shape. */
static int expect_shape(const plant *p, const ckpt_tensor *ct, const uint64_t *shape, int rank)
{
    if (ct->t->rank == rank && memcmp(ct->t->shape, shape, sizeof(uint64_t) * (size_t)rank) == 0)
        return PLANT_OK;
    return fail(p, PLANT_USAGE, "'%s' does not have the shape of the re-quantized source", ct->t->name);
}

static int overwrite(const plant *p, const ckpt *c, const ckpt_tensor *ct, const void *data)
{
    char *path = out_path(p, ckpt_shard_at(c, ct->shard)->file);
    int rc = run_pwrite(path, file_offset(c, ct, 0), data, (size_t)(ct->t->end - ct->t->begin)) < 0
                 ? fail_errno(p, "cannot write", path)
                 : PLANT_OK;
    free(path);
    return rc;
}

static int fault_no_transpose(const plant *p)
{
    source s = {0};
    quantized q = {0};
    int rc = read_source(p, p->args[0], &s);
    int r = s.rank;
    if (rc == PLANT_OK && (r < 2 || s.shape[r - 2] != s.shape[r - 1] || s.shape[r - 1] % MXFP4_BLOCK_ELEMS))
        rc = fail(p, PLANT_USAGE, "'%s' is not square in its last two axes (a multiple of %d)",
                  p->args[0], MXFP4_BLOCK_ELEMS);
    opened o = {0};
    if (rc == PLANT_OK) {
        q.matrices = s.numel / (s.shape[r - 1] * s.shape[r - 1]);
        q.rows = s.shape[r - 1];
        q.groups = s.shape[r - 1] / MXFP4_BLOCK_ELEMS;
        quantize(s.x, s.shape[r - 1], 1, &q); /* rows as the source has them: no transpose */
        rc = open_ckpt(p, p->out, &o);
    }
    const ckpt_tensor *bt = rc == PLANT_OK ? need_tensor(p, o.c, p->args[0], MXFP4_BLOCKS_SUFFIX, &rc) : NULL;
    const ckpt_tensor *st = rc == PLANT_OK ? need_tensor(p, o.c, p->args[0], MXFP4_SCALES_SUFFIX, &rc) : NULL;
    if (rc == PLANT_OK) {
        new_tensor pair[2];
        pair_tensors(&s, &q, "", "", pair);
        rc = expect_shape(p, bt, pair[0].shape, pair[0].rank);
        if (rc == PLANT_OK)
            rc = expect_shape(p, st, pair[1].shape, pair[1].rank);
        if (rc == PLANT_OK)
            rc = overwrite(p, o.c, bt, q.blocks);
        if (rc == PLANT_OK)
            rc = overwrite(p, o.c, st, q.scales);
    }
    if (o.c)
        close_ckpt(&o);
    free_quantized(&q);
    free(s.x);
    return rc;
}

/* ---- another exporter's convention ------------------------------------------ */

typedef struct {
    bool transpose_missing;
    mxfp4_order order;
    mxfp4_scale_code scale;
    long bias_k;     /* MXFP4_SCALE_E8M0 */
    bool dtype_i8;   /* scale_signed:I8 */
} convention;

/* Parses PARTS ("nibble_swap+scale_bias:5"); 0, or a refusal. */
static int parse_convention(const plant *p, const char *text, convention *cv)
{
    *cv = (convention){false, MXFP4_ORDER_REFERENCE, MXFP4_SCALE_E8M0, 0, false};
    char *copy = xstrdup(text), *save = NULL;
    int rc = PLANT_OK, parts = 0;
    for (char *part = strtok_r(copy, "+", &save); part && rc == PLANT_OK; part = strtok_r(NULL, "+", &save)) {
        char *end;
        parts++;
        if (strcmp(part, "missing_transpose") == 0)
            cv->transpose_missing = true;
        else if (strcmp(part, "nibble_swap") == 0)
            cv->order = MXFP4_ORDER_NIBBLE_SWAP;
        else if (strcmp(part, "nibble_split") == 0)
            cv->order = MXFP4_ORDER_NIBBLE_SPLIT;
        else if (strcmp(part, "scale_signed") == 0 || strcmp(part, "scale_signed:I8") == 0) {
            cv->scale = MXFP4_SCALE_SIGNED;
            cv->dtype_i8 = strchr(part, ':') != NULL;
        } else if (strncmp(part, "scale_bias:", 11) == 0 && part[11] &&
                   (errno = 0, cv->bias_k = strtol(part + 11, &end, 10), *end == '\0' && !errno) &&
                   cv->bias_k != 0 && cv->bias_k >= -254 && cv->bias_k <= 254)
            ;
        else
            rc = fail(p, PLANT_USAGE, "convention: unknown part '%s'", part);
    }
    if (rc == PLANT_OK && parts == 0)
        rc = fail(p, PLANT_USAGE, "convention: no parts in '%s'", text);
    free(copy);
    return rc;
}

/* Rewrites each 16-byte block from the reference's element order into cv's. */
static int reorder_blocks(const plant *p, uint8_t *buf, size_t n, uint64_t off, void *arg)
{
    (void)p;
    (void)off;
    mxfp4_order order = ((const convention *)arg)->order;
    for (size_t b = 0; b + MXFP4_BLOCK_BYTES <= n; b += MXFP4_BLOCK_BYTES) {
        uint8_t codes[MXFP4_BLOCK_ELEMS];
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            codes[i] = (uint8_t)mxfp4_block_code(buf + b, i);
        memset(buf + b, 0, MXFP4_BLOCK_BYTES);
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
            /* where element i goes: byte and nibble in cv's order */
            int byte = order == MXFP4_ORDER_NIBBLE_SPLIT ? i % MXFP4_BLOCK_BYTES : i / 2;
            bool high = order == MXFP4_ORDER_NIBBLE_SPLIT ? i >= MXFP4_BLOCK_BYTES
                                                          : (i % 2 == 1) != (order == MXFP4_ORDER_NIBBLE_SWAP);
            buf[b + (size_t)byte] |= (uint8_t)(high ? codes[i] << 4 : codes[i]);
        }
    }
    return PLANT_OK;
}

/* Scale bytes as E8M0 exponents become the signed exponents they stand for. */
static int signed_scales(const plant *p, uint8_t *buf, size_t n, uint64_t off, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == MXFP4_SCALE_NAN)
            return fail(p, PLANT_USAGE, "scale byte %" PRIu64 " is NaN: no signed exponent", off + i);
        buf[i] = (uint8_t)(int8_t)((int)buf[i] - MXFP4_SCALE_BIAS);
    }
    return PLANT_OK;
}

/* TENSOR_scales rewritten with dtype `to`, same shape: each byte as it is
 * now, in the first byte of its element (the rest zero). */
static int scales_as(const plant *p, dtype_id to)
{
    opened o;
    int rc = open_ckpt(p, p->out, &o);
    if (rc != PLANT_OK)
        return rc;
    const ckpt_tensor *ct = need_tensor(p, o.c, p->args[0], MXFP4_SCALES_SUFFIX, &rc);
    uint64_t bytes;
    if (rc == PLANT_OK && (!dtype_bytes(to, ct->t->numel, &bytes) || bytes % ct->t->numel))
        rc = fail(p, PLANT_USAGE, "scales-dtype: %s has no whole bytes per element", dtype_name(to));
    if (rc == PLANT_OK) {
        size_t len = (size_t)(ct->t->end - ct->t->begin), width = (size_t)(bytes / ct->t->numel);
        uint8_t *now = xmalloc(len + 1), *data = xcalloc((size_t)bytes + 1, 1);
        char err[ST_ERR_LEN];
        if (ckpt_read(o.c, ct, 0, now, len, err, sizeof err) < 0)
            rc = fail(p, PLANT_IO, "%s", err);
        for (size_t i = 0; i < len; i++)
            data[i * width] = now[i];
        shard_edit e = {.nremove = 1, .nadd = 1};
        e.remove[0] = ct->t->name;
        e.add[0] = (new_tensor){.name = ct->t->name, .dtype = to, .rank = ct->t->rank, .data = data};
        memcpy(e.add[0].shape, ct->t->shape, sizeof(uint64_t) * (size_t)ct->t->rank);
        if (rc == PLANT_OK)
            rc = rewrite_shard(p, o.c, ct->shard, &e);
        free(now);
        free(data);
    }
    close_ckpt(&o);
    return rc;
}

static int fault_scales_dtype(const plant *p)
{
    dtype_id to;
    if (!dtype_from_name(p->args[1], &to))
        return fail(p, PLANT_USAGE, "scales-dtype: unknown dtype '%s'", p->args[1]);
    return scales_as(p, to);
}

/* TENSOR as an exporter with convention PARTS writes it: from the faithful
 * conversion (or, with missing_transpose, SRC re-quantized without the
 * transpose), codes moved to its element order and scales to its encoding. */
static int fault_convention(const plant *p)
{
    convention cv;
    int rc = parse_convention(p, p->args[1], &cv);
    if (rc == PLANT_OK && cv.transpose_missing)
        rc = fault_no_transpose(p);
    if (rc == PLANT_OK && cv.order != MXFP4_ORDER_REFERENCE)
        rc = on_tensor(p, MXFP4_BLOCKS_SUFFIX, reorder_blocks, &cv, false);
    if (rc == PLANT_OK && cv.scale == MXFP4_SCALE_SIGNED)
        rc = on_tensor(p, MXFP4_SCALES_SUFFIX, signed_scales, NULL, true);
    if (rc == PLANT_OK && cv.bias_k != 0)
        rc = on_tensor(p, MXFP4_SCALES_SUFFIX, add_bias, &cv.bias_k, true);
    if (rc == PLANT_OK && cv.dtype_i8)
        rc = scales_as(p, DT_I8);
    return rc;
}

/* ---- faults on the tensor set and the index ------------------------------------- */

/* Removes names (all in OUT) from their shards and from the index. */
static int remove_tensors(const plant *p, const ckpt *c, const ckpt_tensor *const *cts, size_t n)
{
    const char *names[MAX_EDITS];
    int rc = PLANT_OK;
    for (size_t i = 0; i < n; i++)
        names[i] = cts[i]->t->name;
    for (size_t s = 0; s < ckpt_shard_count(c) && rc == PLANT_OK; s++) {
        shard_edit e = {0};
        for (size_t i = 0; i < n; i++)
            if (cts[i]->shard == s)
                e.remove[e.nremove++] = names[i];
        if (e.nremove)
            rc = rewrite_shard(p, c, s, &e);
    }
    return rc == PLANT_OK ? edit_index(p, c, names, n, NULL, 0, NULL) : rc;
}

static int fault_missing(const plant *p)
{
    opened o;
    int rc = open_ckpt(p, p->out, &o);
    if (rc != PLANT_OK)
        return rc;
    const ckpt_tensor *cts[2] = {ckpt_tensor_find(o.c, p->args[0]), NULL};
    size_t n = 1;
    if (!cts[0]) {
        cts[0] = need_tensor(p, o.c, p->args[0], MXFP4_BLOCKS_SUFFIX, &rc);
        cts[1] = cts[0] ? need_tensor(p, o.c, p->args[0], MXFP4_SCALES_SUFFIX, &rc) : NULL;
        n = 2;
    }
    if (rc == PLANT_OK)
        rc = remove_tensors(p, o.c, cts, n);
    close_ckpt(&o);
    return rc;
}

static int fault_extra(const plant *p)
{
    const char *name = p->args[0];
    opened o;
    int rc = open_ckpt(p, p->out, &o);
    if (rc != PLANT_OK)
        return rc;
    if (ckpt_tensor_find(o.c, name) || ckpt_logical_find(o.c, name))
        rc = fail(p, PLANT_USAGE, "%s already has a tensor '%s'", p->out, name);
    else if (ckpt_shard_count(o.c) == 0)
        rc = fail(p, PLANT_USAGE, "%s has no shard", p->out);
    if (rc == PLANT_OK) {
        uint16_t data[EXTRA_ELEMS];
        for (size_t i = 0; i < EXTRA_ELEMS; i++)
            data[i] = BF16_ONE;
        shard_edit e = {.nadd = 1};
        e.add[0] = (new_tensor){.name = name, .dtype = DT_BF16, .rank = 1, .shape = {EXTRA_ELEMS},
                                .data = data};
        rc = rewrite_shard(p, o.c, 0, &e);
        if (rc == PLANT_OK)
            rc = edit_index(p, o.c, NULL, 0, &name, 1, ckpt_shard_at(o.c, 0)->file);
    }
    close_ckpt(&o);
    return rc;
}

/* TENSOR's weight_map entry (or those of its _blocks/_scales) now names the
 * next shard; the data stays where it is. */
static int fault_wrong_shard(const plant *p)
{
    opened o;
    int rc = open_ckpt(p, p->out, &o);
    if (rc != PLANT_OK)
        return rc;
    if (!ckpt_has_index(o.c) || ckpt_shard_count(o.c) < 2)
        rc = fail(p, PLANT_USAGE, "wrong-shard needs an index and two shards");
    const char *names[2];
    size_t n = 0;
    const ckpt_tensor *ct = ckpt_tensor_find(o.c, p->args[0]);
    if (rc == PLANT_OK && ct)
        names[n++] = ct->t->name;
    else if (rc == PLANT_OK) {
        ct = need_tensor(p, o.c, p->args[0], MXFP4_BLOCKS_SUFFIX, &rc);
        const ckpt_tensor *sc = ct ? need_tensor(p, o.c, p->args[0], MXFP4_SCALES_SUFFIX, &rc) : NULL;
        if (sc) {
            names[n++] = ct->t->name;
            names[n++] = sc->t->name;
        }
    }
    if (rc == PLANT_OK) {
        const char *other = ckpt_shard_at(o.c, (ct->shard + 1) % ckpt_shard_count(o.c))->file;
        rc = edit_index(p, o.c, names, n, names, n, other);
    }
    close_ckpt(&o);
    return rc;
}

/* ---- faults on other files ----------------------------------------------------- */

static int fault_no_quant_config(const plant *p)
{
    cJSON *root;
    int rc = load_json(p, CKPT_CONFIG_NAME, &root);
    if (rc != PLANT_OK)
        return rc;
    if (!cJSON_GetObjectItemCaseSensitive(root, QUANT_CONFIG_KEY))
        rc = fail(p, PLANT_USAGE, "%s has no %s", CKPT_CONFIG_NAME, QUANT_CONFIG_KEY);
    else {
        cJSON_DeleteItemFromObjectCaseSensitive(root, QUANT_CONFIG_KEY);
        rc = save_json(p, CKPT_CONFIG_NAME, root);
    }
    cJSON_Delete(root);
    return rc;
}

static int fault_tokenizer(const plant *p)
{
    char *path = out_path(p, TOKENIZER_NAME);
    FILE *f = access(path, F_OK) == 0 ? fopen(path, "ab") : NULL;
    int rc = PLANT_OK;
    if (!f)
        rc = fail(p, PLANT_USAGE, "%s: %s", path, strerror(errno));
    else if (fputc(' ', f) == EOF || fclose(f) != 0)
        rc = fail_errno(p, "cannot append to", path);
    free(path);
    return rc;
}

/* SHARD must name an existing file directly in OUT: nothing outside it. */
static int shard_file(const plant *p, char **path, off_t *size)
{
    const char *name = p->args[0];
    struct stat sb;
    *path = NULL;
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return fail(p, PLANT_USAGE, "SHARD must be a file name in OUT, not '%s'", name);
    *path = out_path(p, name);
    if (lstat(*path, &sb) < 0 || !S_ISREG(sb.st_mode))
        return fail(p, PLANT_USAGE, "%s is not a file copied from DST", *path);
    *size = sb.st_size;
    return PLANT_OK;
}

static int fault_truncate(const plant *p)
{
    char *path, *end;
    off_t size;
    int rc = shard_file(p, &path, &size);
    errno = 0;
    unsigned long long bytes = strtoull(p->args[1], &end, 10);
    if (rc == PLANT_OK && (!*p->args[1] || *end || errno || p->args[1][0] == '-' ||
                           bytes > (unsigned long long)size))
        rc = fail(p, PLANT_USAGE, "truncate: BYTES must be a number from 0 to %lld, not '%s'",
                  (long long)size, p->args[1]);
    if (rc == PLANT_OK && truncate(path, (off_t)bytes) < 0)
        rc = fail_errno(p, "cannot truncate", path);
    free(path);
    return rc;
}

static int fault_garbage_header(const plant *p)
{
    char *path;
    off_t size;
    int rc = shard_file(p, &path, &size);
    if (rc == PLANT_OK) {
        uint8_t bytes[8 + sizeof GARBAGE_TEXT - 1];
        uint64_t n = sizeof GARBAGE_TEXT - 1;
        for (int i = 0; i < 8; i++)
            bytes[i] = (uint8_t)(n >> (8 * i)); /* little-endian header length */
        memcpy(bytes + 8, GARBAGE_TEXT, (size_t)n);
        char err[ST_ERR_LEN];
        if (stw_write_bytes(path, bytes, sizeof bytes, err, sizeof err) < 0)
            rc = fail(p, PLANT_IO, "%s", err);
    }
    free(path);
    return rc;
}

/* ---- main ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int nargs;
    int (*run)(const plant *p);
} fault;

static const fault faults[] = {
    {"nibble-swap", 1, fault_nibble_swap},     {"scale-bias", 2, fault_scale_bias},
    {"quantize-kept", 1, fault_quantize_kept}, {"missing", 1, fault_missing},
    {"extra", 1, fault_extra},                 {"bitflip", 1, fault_bitflip},
    {"wrong-shard", 1, fault_wrong_shard},     {"nan-scale", 1, fault_nan_scale},
    {"no-quant-config", 0, fault_no_quant_config}, {"tokenizer", 0, fault_tokenizer},
    {"no-transpose", 1, fault_no_transpose},   {"truncate", 2, fault_truncate},
    {"convention", 2, fault_convention},       {"scales-dtype", 2, fault_scales_dtype},
    {"garbage-header", 1, fault_garbage_header},
};

static const fault *find_fault(const char *name)
{
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        if (strcmp(faults[i].name, name) == 0)
            return &faults[i];
    return NULL;
}

/* Creates OUT (which must not exist) and copies DST's files into it;
 * *created tells whether OUT is ours to remove on failure. */
static int make_copy(const plant *p, bool *created)
{
    struct stat sb;
    if (stat(p->dst, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return fail(p, PLANT_USAGE, "DST %s is not a directory", p->dst);
    if (lstat(p->out, &sb) == 0 || errno != ENOENT)
        return fail(p, PLANT_USAGE, "OUT %s already exists (or cannot be checked)", p->out);
    if (mkdir(p->out, 0755) < 0)
        return fail_errno(p, "cannot create", p->out);
    *created = true;
    if (run_copy_dir(p->dst, p->out) < 0)
        return fail(p, PLANT_IO, "cannot copy %s into %s: %s", p->dst, p->out, strerror(errno));
    return PLANT_OK;
}

int main(int argc, char **argv)
{
    const fault *f = argc >= 2 ? find_fault(argv[1]) : NULL;
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return PLANT_OK;
    }
    if (!f || argc != 5 + f->nargs) {
        if (argc >= 2 && !f)
            fprintf(stderr, "plant: unknown fault '%s'\n", argv[1]);
        else if (f)
            fprintf(stderr, "plant: %s takes %d argument%s after OUT\n", f->name, f->nargs,
                    f->nargs == 1 ? "" : "s");
        fputs(usage, stderr);
        return PLANT_USAGE;
    }
    char err[ERR_LEN] = "";
    plant p = {argv[1], argv[2], argv[3], argv[4], argv + 5, err, sizeof err};
    bool created = false;
    int rc = make_copy(&p, &created);
    if (rc == PLANT_OK)
        rc = f->run(&p);
    if (rc != PLANT_OK) {
        fprintf(stderr, "plant %s: %s\n", p.fault, err);
        if (created)
            run_rmtree(p.out);
    }
    return rc;
}
