/* gen_sample - writes the project's sample checkpoints (`make samples`), and
 * GPT-OSS-shaped checkpoints of any size for benchmarks (bench/run.sh).
 *
 *   gen_sample [--layers N] [--experts N] [--hidden N] [--intermediate N]
 *              [--vocab N] [--heads N] [--kv-heads N] [--head-dim N]
 *              [--shards N] [--name NAME] OUTDIR
 *
 * Without options it writes the committed samples, byte for byte:
 *
 * OUTDIR/tiny-bf16/: a BF16 checkpoint with GPT-OSS tensor names and layout
 * (2 layers, 4 experts, hidden 64, expert intermediate 64 so that down_proj is
 * square like GPT-OSS-20B's 2880x2880), deterministic pseudo-random weights
 * with a few outliers, two shards + index, config and tokenizer stand-ins.
 *
 * OUTDIR/tiny-mxfp4/: its conversion following the reference converter's
 * steps (SPEC §1, ../shared/fixtures/README.md): tensors matched by the GPT-OSS
 * `modules_to_not_convert` list are copied, the others are swapaxes(-2, -1)'d
 * and quantized along the last axis with the reference quantizer of
 * src/mxfp4.h into `_blocks` [E, N, K/32, 16] and `_scales` [E, N, K/32];
 * shards model-0000N.safetensors, index metadata carrying the SOURCE's
 * total_size and total_parameters, config with quantization_config,
 * tokenizer files copied byte for byte.
 *
 * The options change the sizes (NAME replaces "tiny" in both directory
 * names). `--layers 2 --experts 32 --hidden 2880 --intermediate 2880` gives
 * GPT-OSS-20B's expert shapes, about 3.3 GB of source. Attention follows
 * GPT-OSS-20B (64 heads, 8 KV heads, head_dim 64) when hidden >= 256, else
 * the samples' 4 heads, 2 KV heads and head_dim = hidden / heads.
 *
 * Memory stays bounded whatever the size: the shard headers are laid out from
 * the shapes alone and written first; then each source tensor is generated a
 * slice at a time (a few expert matrices), written at its offset in its source
 * shard, converted, and written at its offsets in the converted shard. The
 * largest slice is one [K, N] expert matrix (at most MAX_ROW_BYTES).
 *
 * Every number is a function of the tensor's name and a fixed seed, so the
 * output is the same on every run and every host. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "mxfp4.h"
#include "pattern.h"
#include "st_writer.h"
#include "util.h"

#define ERR_LEN 512

/* ---- the model ------------------------------------------------------------- */

typedef struct {
    int layers, experts, hidden, intermediate, vocab;
    int heads, kv_heads, head_dim; /* 0: derived from hidden (model_finish) */
    int experts_per_token;         /* derived */
    int shards;
    const char *name;              /* directory names: NAME-bf16, NAME-mxfp4 */
} model;

/* The committed samples: down_proj [E, 64, 64] is square, as GPT-OSS-20B's. */
static const model SAMPLE_MODEL = {
    .layers = 2, .experts = 4, .hidden = 64, .intermediate = 64, .vocab = 96, .shards = 2, .name = "tiny",
};

#define SMALL_HEADS 4            /* hidden < GPTOSS_ATTN_HIDDEN: the samples' attention */
#define SMALL_KV_HEADS 2
#define GPTOSS_ATTN_HIDDEN 256   /* from here on, GPT-OSS-20B's attention: */
#define GPTOSS_HEADS 64
#define GPTOSS_KV_HEADS 8
#define GPTOSS_HEAD_DIM 64
#define MAX_EXPERTS_PER_TOKEN 2  /* config.json only */
#define MAX_DIM (1 << 20)        /* any single option */
#define MAX_SHARDS 99999         /* model-NNNNN-of-NNNNN */
#define MAX_ROW_BYTES ((uint64_t)2 << 30) /* one slice in memory: a [K, N] matrix */
#define SLICE_BYTES ((uint64_t)64 << 20)  /* generated and written at once */
#define WRITE_MAX ((size_t)1 << 30)       /* one pwrite */

#define SEED UINT64_C(0x6d78667034736d70) /* "mxfp4smp" */
#define OUTLIER_ONE_IN 199                /* about 0.5% of matrix weights */
#define OUTLIER_GAIN 12.0

#define SRC_SUFFIX "-bf16"
#define DST_SUFFIX "-mxfp4"
/* The GPT-OSS list, as in ../shared/fixtures/seedconv-small/mxfp4/config.json. */
static const char *const not_convert[] = {
    "model.layers.*.self_attn",
    "model.layers.*.mlp.router",
    "model.layers.*.input_layernorm",
    "model.layers.*.post_attention_layernorm",
    "model.layers.*.mlp.experts.down_proj_bias",
    "model.layers.*.mlp.experts.gate_up_proj_bias",
    "model.embed_tokens",
    "model.norm.weight",
    "lm_head",
};
#define N_NOT_CONVERT ((int)(sizeof not_convert / sizeof not_convert[0]))

static const char *const tokenizer_files[][2] = {
    {"tokenizer.json",
     "{\"version\": \"1.0\", \"note\": \"stand-in tokenizer of the mxfp4-check samples\",\n"
     " \"model\": {\"type\": \"WordLevel\", \"unk_token\": \"<unk>\",\n"
     "           \"vocab\": {\"<unk>\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2, "
     "\"<|return|>\": 3}}}\n"},
    {"tokenizer_config.json",
     "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"model_max_length\": 128,\n"
     " \"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|return|>\", "
     "\"pad_token\": \"<|endoftext|>\"}\n"},
    {"special_tokens_map.json",
     "{\"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|return|>\", "
     "\"pad_token\": \"<|endoftext|>\"}\n"},
};
#define N_TOKENIZER_FILES (sizeof tokenizer_files / sizeof tokenizer_files[0])

/* ---- tensors ---------------------------------------------------------------- */

typedef struct {
    double mean, std;
    bool outliers;
} dist;

/* Shapes and places only: data exists one slice at a time (fill_tensor). */
typedef struct {
    char *name;
    dtype_id dtype;
    int rank;
    uint64_t shape[4];
    uint64_t numel, bytes;
    dist d;            /* source: how its values are drawn */
    bool quantized;    /* source: converted to _blocks + _scales, else copied */
    size_t out;        /* source: its copy, or its _blocks (then _scales), in the converted list */
    int shard;
    uint64_t offset;   /* in the shard file, header included */
} tensor;

typedef struct {
    tensor *items;
    size_t count, cap;
    bool overflow;     /* a shape whose size does not fit in 64 bits */
} tensor_list;

static tensor *list_push(tensor_list *l, const char *name, dtype_id dtype, int rank,
                         const uint64_t *shape)
{
    xgrow(&l->items, &l->cap, l->count + 1, sizeof *l->items);
    tensor *t = &l->items[l->count++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->dtype = dtype;
    t->rank = rank;
    t->numel = 1;
    bool ok = true;
    for (int d = 0; d < rank; d++) {
        t->shape[d] = shape[d];
        ok = ok && ckd_mul_u64(&t->numel, t->numel, shape[d]);
    }
    if (!ok || !dtype_bytes(dtype, t->numel, &t->bytes)) {
        l->overflow = true;
        t->numel = t->bytes = 0;
    }
    return t;
}

static void list_free(tensor_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].name);
    free(l->items);
}

/* ---- deterministic numbers ----------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
    return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Sum of 4 uniforms, centred and scaled to unit variance: normal-ish, and
 * made only of exact operations, so every libm gives the same numbers. */
static double normalish(uint64_t *s)
{
    double sum = uniform01(s) + uniform01(s) + uniform01(s) + uniform01(s);
    return (sum - 2.0) * 1.7320508075688772;
}

static uint64_t name_seed(const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return h ^ SEED;
}

/* float -> BF16, round to nearest even (no NaN is ever generated here). */
static uint16_t f32_to_bf16(float f)
{
    uint32_t u = mxfp4_f32_bits(f);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* The next n values of a tensor whose generator state is *s: the stream is
 * the same whether a tensor is drawn whole or a slice at a time. */
static void draw_bf16(dist d, uint64_t *s, uint8_t *out, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        double v = d.mean + d.std * normalish(s);
        if (d.outliers && splitmix64(s) % OUTLIER_ONE_IN == 0)
            v *= OUTLIER_GAIN;
        uint16_t b = f32_to_bf16((float)v);
        out[2 * i] = (uint8_t)(b & 0xFF); /* little-endian, as safetensors stores it */
        out[2 * i + 1] = (uint8_t)(b >> 8);
    }
}

static const dist D_MATRIX = {0.0, 0.02, true};
static const dist D_BIAS = {0.0, 0.01, false};
static const dist D_NORM = {1.0, 0.05, false};
static const dist D_SINKS = {0.0, 0.5, false};

static void add_bf16(tensor_list *l, const char *name, int rank, const uint64_t *shape, dist d)
{
    list_push(l, name, DT_BF16, rank, shape)->d = d;
}

#define SHAPE(...) ((const uint64_t[]){__VA_ARGS__})
#define RANK(...) ((int)(sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)))
#define ADD(l, name, d, ...) add_bf16((l), (name), RANK(__VA_ARGS__), SHAPE(__VA_ARGS__), (d))

static void add_layer(tensor_list *l, const model *m, int layer)
{
    char n[128];
    uint64_t H = (uint64_t)m->hidden, I = (uint64_t)m->intermediate, E = (uint64_t)m->experts;
    uint64_t Q = (uint64_t)m->heads * (uint64_t)m->head_dim, KV = (uint64_t)m->kv_heads * (uint64_t)m->head_dim;
#define NAME(suffix) (snprintf(n, sizeof n, "model.layers.%d.%s", layer, (suffix)), n)
    ADD(l, NAME("input_layernorm.weight"), D_NORM, H);
    ADD(l, NAME("post_attention_layernorm.weight"), D_NORM, H);
    ADD(l, NAME("self_attn.q_proj.weight"), D_MATRIX, Q, H);
    ADD(l, NAME("self_attn.q_proj.bias"), D_BIAS, Q);
    ADD(l, NAME("self_attn.k_proj.weight"), D_MATRIX, KV, H);
    ADD(l, NAME("self_attn.k_proj.bias"), D_BIAS, KV);
    ADD(l, NAME("self_attn.v_proj.weight"), D_MATRIX, KV, H);
    ADD(l, NAME("self_attn.v_proj.bias"), D_BIAS, KV);
    ADD(l, NAME("self_attn.o_proj.weight"), D_MATRIX, H, Q);
    ADD(l, NAME("self_attn.o_proj.bias"), D_BIAS, H);
    ADD(l, NAME("self_attn.sinks"), D_SINKS, (uint64_t)m->heads);
    ADD(l, NAME("mlp.router.weight"), D_MATRIX, E, H);
    ADD(l, NAME("mlp.router.bias"), D_BIAS, E);
    ADD(l, NAME("mlp.experts.gate_up_proj"), D_MATRIX, E, H, 2 * I);
    ADD(l, NAME("mlp.experts.gate_up_proj_bias"), D_BIAS, E, 2 * I);
    ADD(l, NAME("mlp.experts.down_proj"), D_MATRIX, E, I, H);
    ADD(l, NAME("mlp.experts.down_proj_bias"), D_BIAS, E, H);
#undef NAME
}

/* The source in the order a GPT-OSS checkpoint lists it. */
static void build_source(tensor_list *src, const model *m)
{
    uint64_t H = (uint64_t)m->hidden, V = (uint64_t)m->vocab;
    ADD(src, "model.embed_tokens.weight", D_MATRIX, V, H);
    for (int layer = 0; layer < m->layers; layer++)
        add_layer(src, m, layer);
    ADD(src, "model.norm.weight", D_NORM, H);
    ADD(src, "lm_head.weight", D_MATRIX, V, H);
}

/* ---- the conversion ----------------------------------------------------------- */

/* The converted list, in source order: a copy for each kept tensor, _blocks
 * then _scales for each quantized one. W [E, K, N] is quantized as
 * swapaxes(-2, -1) = [E, N, K] along K. */
static int plan_converted(tensor_list *src, tensor_list *dst, char *err, size_t errlen)
{
    for (size_t i = 0; i < src->count; i++) {
        tensor *w = &src->items[i];
        w->out = dst->count;
        if (pat_first_match(not_convert, N_NOT_CONVERT, w->name) >= 0) {
            list_push(dst, w->name, w->dtype, w->rank, w->shape);
            continue;
        }
        if (w->dtype != DT_BF16 || w->rank != 3 || w->shape[1] % MXFP4_BLOCK_ELEMS != 0) {
            snprintf(err, errlen, "%s: cannot quantize a tensor that is not BF16 [E, K, N] with K %% %d == 0",
                     w->name, MXFP4_BLOCK_ELEMS);
            return -1;
        }
        w->quantized = true;
        uint64_t E = w->shape[0], N = w->shape[2], G = w->shape[1] / MXFP4_BLOCK_ELEMS;
        char *bname = xasprintf("%s%s", w->name, MXFP4_BLOCKS_SUFFIX);
        char *sname = xasprintf("%s%s", w->name, MXFP4_SCALES_SUFFIX);
        list_push(dst, bname, DT_U8, 4, SHAPE(E, N, G, MXFP4_BLOCK_BYTES));
        list_push(dst, sname, DT_U8, 3, SHAPE(E, N, G));
        free(bname);
        free(sname);
    }
    return 0;
}

/* n matrices [K, N] of BF16 (bf16) -> their blocks [n, N, G, 16] and scales
 * [n, N, G]. */
static void quantize_slice(const uint8_t *bf16, uint64_t n_mat, uint64_t K, uint64_t N, uint8_t *blocks,
                           uint8_t *scales)
{
    uint64_t G = K / MXFP4_BLOCK_ELEMS;
    for (uint64_t e = 0; e < n_mat; e++)
        for (uint64_t n = 0; n < N; n++)
            for (uint64_t g = 0; g < G; g++) {
                float x[MXFP4_BLOCK_ELEMS];
                uint8_t codes[MXFP4_BLOCK_ELEMS];
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
                    uint64_t at = 2 * ((e * K + g * MXFP4_BLOCK_ELEMS + (uint64_t)i) * N + n);
                    x[i] = mxfp4_bf16_to_f32((uint16_t)(bf16[at] | bf16[at + 1] << 8));
                }
                uint64_t blk = (e * N + n) * G + g;
                mxfp4_ref_quantize_block(x, &scales[blk], codes);
                uint8_t *out = blocks + blk * MXFP4_BLOCK_BYTES;
                for (int i = 0; i < MXFP4_BLOCK_BYTES; i++) /* element 2i: LOW nibble */
                    out[i] = (uint8_t)(codes[2 * i] | codes[2 * i + 1] << 4);
            }
}

/* ---- laying out and opening the shards ------------------------------------------ */

typedef struct {
    const char *dir;
    bool hf_names;              /* model-00001-of-00002.safetensors, else model-00000.safetensors */
    bool format_pt;             /* "__metadata__": {"format": "pt"} in each shard */
    bool sorted_index;          /* weight_map sorted by name (else in list order) */
    uint64_t total_size;        /* index metadata */
    uint64_t total_parameters;  /* 0: not written */
    tensor_list *l;
    int nfiles;
    char **files;               /* shard file names */
    char **paths;
    int *fds;                   /* -1: closed */
} ckpt_out;

/* Splits the list, in its order, into at most `shards` shards of about equal
 * size, as save_pretrained does with a max_shard_size; a shard that would be
 * empty (more shards asked than tensors to fill them) is left out. */
static int assign_shards(tensor_list *l, int shards)
{
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < l->count; i++)
        total += l->items[i].bytes;
    int used = 0, last = -1;
    for (size_t i = 0; i < l->count; i++) {
        int s = (int)(done * (uint64_t)shards / (total ? total : 1)); /* < 2^63: MAX_TOTAL_BYTES */
        s = s < shards ? s : shards - 1;
        if (s != last) { /* shards only grow along the list: renumber densely */
            used++;
            last = s;
        }
        l->items[i].shard = used - 1;
        done += l->items[i].bytes;
    }
    return used;
}

/* The reference implementation's layout order within a file: larger dtype
 * first (BF16 before U8), then by name. */
static int cmp_layout(const void *a, const void *b)
{
    const tensor *x = *(const tensor *const *)a, *y = *(const tensor *const *)b;
    if (x->dtype != y->dtype)
        return x->dtype > y->dtype ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const tensor *const *)a)->name, (*(const tensor *const *)b)->name);
}

/* An integer literal node, as st_writer writes offsets (cJSON's %g would
 * print large ones as 1e+15). */
static cJSON *u64_node(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

/* The shard's first bytes exactly as st_writer's stw_serialize lays them out
 * (8-byte length, compact JSON padded with spaces to STW_HEADER_ALIGN), made
 * from the shapes alone so that no tensor has to be in memory; sets each
 * tensor's offset in the file. *len: the header's length. */
static uint8_t *shard_header(tensor **order, size_t n, bool format_pt, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    if (format_pt)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "__metadata__"), "format", "pt");
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "dtype", dtype_name(order[i]->dtype));
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < order[i]->rank; d++)
            cJSON_AddItemToArray(shape, u64_node(order[i]->shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, u64_node(off));
        cJSON_AddItemToArray(offs, u64_node(off + order[i]->bytes));
        cJSON_AddItemToObject(root, order[i]->name, e);
        order[i]->offset = off; /* data-relative until the header length is known */
        off += order[i]->bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        abort(); /* cJSON fails only for lack of memory */
    size_t jlen = strlen(json);
    size_t hlen = jlen + (STW_HEADER_ALIGN - jlen % STW_HEADER_ALIGN) % STW_HEADER_ALIGN;
    uint8_t *buf = xmalloc(8 + hlen);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, json, jlen);
    memset(buf + 8 + jlen, ' ', hlen - jlen);
    cJSON_free(json);
    for (size_t i = 0; i < n; i++)
        order[i]->offset += 8 + hlen;
    *len = 8 + hlen;
    return buf;
}

/* Writes len bytes at offset off of an open file. */
static int write_at(int fd, const char *path, const void *buf, uint64_t len, uint64_t off, char *err,
                    size_t errlen)
{
    const uint8_t *p = buf;
    while (len > 0) {
        size_t chunk = len < WRITE_MAX ? (size_t)len : WRITE_MAX;
        ssize_t n = pwrite(fd, p, chunk, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: write failed: %s", path, n < 0 ? strerror(errno) : "no progress");
            return -1;
        }
        p += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* Creates shard s (truncated) with its header; the data follows in fill_*. */
static int open_shard(ckpt_out *c, int s, char *err, size_t errlen)
{
    tensor **order = xcalloc(c->l->count ? c->l->count : 1, sizeof *order);
    size_t n = 0, hlen;
    for (size_t i = 0; i < c->l->count; i++)
        if (c->l->items[i].shard == s)
            order[n++] = &c->l->items[i];
    qsort(order, n, sizeof *order, cmp_layout);
    uint8_t *header = shard_header(order, n, c->format_pt, &hlen);
    free(order);
    c->fds[s] = open(c->paths[s], O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int rc = 0;
    if (c->fds[s] < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", c->paths[s], strerror(errno));
        rc = -1;
    } else {
        rc = write_at(c->fds[s], c->paths[s], header, hlen, 0, err, errlen);
    }
    free(header);
    return rc;
}

static int open_checkpoint(ckpt_out *c, tensor_list *l, int shards, char *err, size_t errlen)
{
    c->l = l;
    c->nfiles = assign_shards(l, shards);
    c->files = xcalloc((size_t)c->nfiles, sizeof *c->files);
    c->paths = xcalloc((size_t)c->nfiles, sizeof *c->paths);
    c->fds = xcalloc((size_t)c->nfiles, sizeof *c->fds);
    for (int s = 0; s < c->nfiles; s++) {
        c->files[s] = c->hf_names ? xasprintf("model-%05d-of-%05d.safetensors", s + 1, c->nfiles)
                                  : xasprintf("model-%05d.safetensors", s);
        c->paths[s] = xasprintf("%s/%s", c->dir, c->files[s]);
        c->fds[s] = -1;
    }
    for (int s = 0; s < c->nfiles; s++)
        if (open_shard(c, s, err, errlen) < 0)
            return -1;
    return 0;
}

/* Closes the shards; the first failure (a late write error) is reported. */
static int close_checkpoint(ckpt_out *c, char *err, size_t errlen)
{
    int rc = 0;
    for (int s = 0; s < c->nfiles; s++) {
        if (c->fds[s] >= 0 && close(c->fds[s]) != 0 && rc == 0) {
            snprintf(err, errlen, "%s: write failed: %s", c->paths[s], strerror(errno));
            rc = -1;
        }
        c->fds[s] = -1;
    }
    return rc;
}

static void free_checkpoint(ckpt_out *c)
{
    for (int s = 0; s < c->nfiles; s++) {
        if (c->fds[s] >= 0)
            close(c->fds[s]);
        free(c->files[s]);
        free(c->paths[s]);
    }
    free(c->files);
    free(c->paths);
    free(c->fds);
}

/* Writes bytes [at, at + len) of tensor t's data. */
static int put(const ckpt_out *c, const tensor *t, uint64_t at, const void *data, uint64_t len, char *err,
               size_t errlen)
{
    return write_at(c->fds[t->shard], c->paths[t->shard], data, len, t->offset + at, err, errlen);
}

/* ---- filling in the data --------------------------------------------------------- */

/* Source tensor t, a slice of whole rows along its first axis at a time (for
 * a quantized [E, K, N] tensor, whole expert matrices), into the source and
 * converted shards. */
static int fill_tensor(const tensor *t, const ckpt_out *src, const ckpt_out *dst, char *err, size_t errlen)
{
    uint64_t rows = t->shape[0], row_elems = rows ? t->numel / rows : 0, row_bytes = row_elems * 2;
    if (row_bytes == 0)
        return 0;
    uint64_t per = SLICE_BYTES / row_bytes ? SLICE_BYTES / row_bytes : 1;
    per = per < rows ? per : rows;
    uint8_t *data = xmalloc((size_t)(per * row_bytes));
    uint8_t *blocks = NULL, *scales = NULL;
    const tensor *tb = NULL, *ts = NULL, *tc = &dst->l->items[t->out];
    uint64_t K = t->shape[1], N = t->rank > 2 ? t->shape[2] : 0, G = K / MXFP4_BLOCK_ELEMS;
    if (t->quantized) {
        tb = &dst->l->items[t->out];
        ts = &dst->l->items[t->out + 1];
        blocks = xmalloc((size_t)(per * N * G * MXFP4_BLOCK_BYTES));
        scales = xmalloc((size_t)(per * N * G));
    }
    uint64_t s = name_seed(t->name);
    int rc = 0;
    for (uint64_t r = 0; r < rows && rc == 0; r += per) {
        uint64_t n = per < rows - r ? per : rows - r;
        draw_bf16(t->d, &s, data, n * row_elems);
        rc = put(src, t, r * row_bytes, data, n * row_bytes, err, errlen);
        if (rc == 0 && !t->quantized)
            rc = put(dst, tc, r * row_bytes, data, n * row_bytes, err, errlen);
        if (rc == 0 && t->quantized) {
            quantize_slice(data, n, K, N, blocks, scales);
            rc = put(dst, tb, r * N * G * MXFP4_BLOCK_BYTES, blocks, n * N * G * MXFP4_BLOCK_BYTES, err,
                     errlen);
            if (rc == 0)
                rc = put(dst, ts, r * N * G, scales, n * N * G, err, errlen);
        }
    }
    free(data);
    free(blocks);
    free(scales);
    return rc;
}

/* ---- index, config, tokenizer ------------------------------------------------------ */

static int write_index(const ckpt_out *c, char *err, size_t errlen)
{
    const tensor_list *l = c->l;
    const tensor **order = xcalloc(l->count ? l->count : 1, sizeof *order);
    for (size_t i = 0; i < l->count; i++)
        order[i] = &l->items[i];
    if (c->sorted_index)
        qsort(order, l->count, sizeof *order, cmp_name);
    stw_index *x = stw_index_new();
    if (c->total_parameters)
        stw_index_set_meta_u64(x, "total_parameters", c->total_parameters);
    stw_index_set_meta_u64(x, "total_size", c->total_size);
    for (size_t i = 0; i < l->count; i++)
        stw_index_map(x, order[i]->name, c->files[order[i]->shard]);
    char *path = xasprintf("%s/model.safetensors.index.json", c->dir);
    int rc = stw_index_write(x, path, err, errlen);
    free(path);
    stw_index_free(x);
    free(order);
    return rc;
}

static cJSON *raw(const char *text)
{
    return cJSON_CreateRaw(text);
}

/* config.json, keys in sorted order as the converter writes them. */
static int write_config(const char *dir, const model *m, bool quantized, char *err, size_t errlen)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("GptOssForCausalLM"));
    cJSON_AddNumberToObject(c, "experts_per_token", m->experts_per_token);
    cJSON_AddNumberToObject(c, "head_dim", m->head_dim);
    cJSON_AddNumberToObject(c, "hidden_size", m->hidden);
    cJSON_AddNumberToObject(c, "intermediate_size", m->intermediate);
    cJSON_AddStringToObject(c, "model_type", "gpt_oss");
    cJSON_AddNumberToObject(c, "num_attention_heads", m->heads);
    cJSON_AddNumberToObject(c, "num_hidden_layers", m->layers);
    cJSON_AddNumberToObject(c, "num_key_value_heads", m->kv_heads);
    cJSON_AddNumberToObject(c, "num_local_experts", m->experts);
    if (quantized) {
        cJSON *q = cJSON_AddObjectToObject(c, "quantization_config");
        cJSON *list = cJSON_AddArrayToObject(q, "modules_to_not_convert");
        for (int i = 0; i < N_NOT_CONVERT; i++)
            cJSON_AddItemToArray(list, cJSON_CreateString(not_convert[i]));
        cJSON_AddStringToObject(q, "quant_method", "mxfp4");
    }
    cJSON_AddItemToObject(c, "swiglu_limit", raw("7.0"));
    cJSON_AddStringToObject(c, "torch_dtype", "bfloat16");
    cJSON_AddNumberToObject(c, "vocab_size", m->vocab);
    char *text = stw_json_text(c);
    cJSON_Delete(c);
    char *path = xasprintf("%s/config.json", dir);
    int rc = stw_write_text(path, text, err, errlen);
    free(text);
    free(path);
    return rc;
}

/* Tokenizer stand-ins in the source; the converter copies them byte for byte. */
static int write_tokenizer(const char *dir, const char *copy_from, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < N_TOKENIZER_FILES && rc == 0; i++) {
        char *to = xasprintf("%s/%s", dir, tokenizer_files[i][0]);
        if (copy_from) {
            char *from = xasprintf("%s/%s", copy_from, tokenizer_files[i][0]);
            rc = stw_copy_file(from, to, err, errlen);
            free(from);
        } else {
            rc = stw_write_text(to, tokenizer_files[i][1], err, errlen);
        }
        free(to);
    }
    return rc;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
    return -1;
}

static uint64_t total_bytes(const tensor_list *l, uint64_t *params)
{
    uint64_t total = 0;
    *params = 0;
    for (size_t i = 0; i < l->count; i++) {
        total += l->items[i].bytes; /* bounded by MAX_TOTAL_BYTES (check_size) */
        *params += l->items[i].numel;
    }
    return total;
}

/* ---- the whole pair ------------------------------------------------------------------ */

/* Both checkpoints: shard headers first, then the data tensor by tensor, then
 * the index, config and tokenizer files of each. */
static int write_pair(const model *m, tensor_list *src, tensor_list *dst, const char *src_dir,
                      const char *dst_dir, char *err, size_t errlen)
{
    uint64_t params, size = total_bytes(src, &params);
    ckpt_out s = {.dir = src_dir, .hf_names = true, .format_pt = true, .total_size = size};
    /* the converter writes the SOURCE's sizes into the index metadata */
    ckpt_out d = {.dir = dst_dir, .sorted_index = true, .total_size = size, .total_parameters = params};
    int rc = make_dir(src_dir, err, errlen);
    if (rc == 0)
        rc = make_dir(dst_dir, err, errlen);
    if (rc == 0)
        rc = open_checkpoint(&s, src, m->shards, err, errlen);
    if (rc == 0)
        rc = open_checkpoint(&d, dst, m->shards, err, errlen);
    /* tensors in parallel: each has its own generator stream and offsets, so
     * the bytes are the same whatever the thread count (largest first, so the
     * longest one does not start last) */
    if (rc == 0) {
        size_t n = src->count, *order = xmalloc((n ? n : 1) * sizeof *order);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = 1; i < n; i++) /* insertion sort by size, descending: n is small */
            for (size_t k = i; k > 0 && src->items[order[k]].numel > src->items[order[k - 1]].numel; k--) {
                size_t t = order[k];
                order[k] = order[k - 1];
                order[k - 1] = t;
            }
        int failed = 0;
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t i = 0; i < n; i++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            char why[ERR_LEN];
            if (!stop && fill_tensor(&src->items[order[i]], &s, &d, why, sizeof why) < 0) {
#pragma omp critical(gen_sample_error)
                if (!failed) {
                    snprintf(err, errlen, "%s", why);
#pragma omp atomic write
                    failed = 1;
                }
            }
        }
        free(order);
        rc = failed ? -1 : 0;
    }
    if (rc == 0)
        rc = close_checkpoint(&s, err, errlen);
    if (rc == 0)
        rc = close_checkpoint(&d, err, errlen);
    if (rc == 0)
        rc = write_index(&s, err, errlen);
    if (rc == 0)
        rc = write_config(src_dir, m, false, err, errlen);
    if (rc == 0)
        rc = write_tokenizer(src_dir, NULL, err, errlen);
    if (rc == 0)
        rc = write_index(&d, err, errlen);
    if (rc == 0)
        rc = write_config(dst_dir, m, true, err, errlen);
    if (rc == 0)
        rc = write_tokenizer(dst_dir, src_dir, err, errlen);
    free_checkpoint(&s);
    free_checkpoint(&d);
    return rc;
}

/* ---- options ------------------------------------------------------------------------- */

#define MAX_TOTAL_BYTES ((uint64_t)1 << 46) /* keeps the shard arithmetic far from 2^64 */

static const char usage[] =
    "usage: gen_sample [options] OUTDIR\n"
    "writes OUTDIR/NAME" SRC_SUFFIX " (BF16) and OUTDIR/NAME" DST_SUFFIX " (its MXFP4 conversion);\n"
    "without options, the committed samples (tiny" SRC_SUFFIX ", tiny" DST_SUFFIX ")\n"
    "  --layers N        decoder layers (2)\n"
    "  --experts N       experts per layer (4)\n"
    "  --hidden N        hidden size, a multiple of 32 (64)\n"
    "  --intermediate N  expert intermediate size, a multiple of 32 (64)\n"
    "  --vocab N         vocabulary size (96)\n"
    "  --heads N         attention heads (64 if hidden >= 256, else 4)\n"
    "  --kv-heads N      key/value heads, dividing --heads (8 if hidden >= 256, else 2)\n"
    "  --head-dim N      (64 if hidden >= 256, else hidden / heads)\n"
    "  --shards N        shards per checkpoint, at most (2)\n"
    "  --name NAME       directory name prefix: letters, digits, '.', '_', '-' (tiny)\n"
    "e.g. GPT-OSS-20B's expert shapes, ~3.3 GB of source:\n"
    "  gen_sample --layers 2 --experts 32 --hidden 2880 --intermediate 2880 --vocab 8192 --name bench DIR\n";

static int parse_int(const char *opt, const char *s, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < 1 || v > max) {
        fprintf(stderr, "gen_sample: --%s wants a whole number from 1 to %d, not '%s'\n", opt, max, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static bool valid_name(const char *s)
{
    if (*s == '\0' || *s == '.' || *s == '-')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* Fills the derived sizes and checks that they make a checkpoint the
 * converter could have made. */
static int model_finish(model *m, char *err, size_t errlen)
{
    bool big = m->hidden >= GPTOSS_ATTN_HIDDEN;
    if (!m->heads)
        m->heads = big ? GPTOSS_HEADS : SMALL_HEADS;
    if (!m->kv_heads)
        m->kv_heads = big ? GPTOSS_KV_HEADS : SMALL_KV_HEADS;
    if (!m->head_dim && !big && m->hidden % m->heads != 0) {
        snprintf(err, errlen, "--heads %d does not divide --hidden %d (or give --head-dim)", m->heads,
                 m->hidden);
        return -1;
    }
    if (!m->head_dim)
        m->head_dim = big ? GPTOSS_HEAD_DIM : m->hidden / m->heads;
    m->experts_per_token = m->experts < MAX_EXPERTS_PER_TOKEN ? m->experts : MAX_EXPERTS_PER_TOKEN;
    if (m->hidden % MXFP4_BLOCK_ELEMS != 0 || m->intermediate % MXFP4_BLOCK_ELEMS != 0) {
        snprintf(err, errlen, "--hidden %d and --intermediate %d must be multiples of %d (the MXFP4 block)",
                 m->hidden, m->intermediate, MXFP4_BLOCK_ELEMS);
        return -1;
    }
    if (m->heads % m->kv_heads != 0) {
        snprintf(err, errlen, "--kv-heads %d does not divide --heads %d", m->kv_heads, m->heads);
        return -1;
    }
    /* the largest slice in memory: one gate_up_proj matrix [hidden, 2 * intermediate] */
    uint64_t row = (uint64_t)m->hidden * 2 * (uint64_t)m->intermediate * 2;
    if (row > MAX_ROW_BYTES) {
        snprintf(err, errlen, "one expert matrix would take %" PRIu64 " bytes; at most %" PRIu64, row,
                 MAX_ROW_BYTES);
        return -1;
    }
    return 0;
}

static int check_size(const tensor_list *src, char *err, size_t errlen)
{
    uint64_t total = 0;
    bool ok = !src->overflow;
    for (size_t i = 0; ok && i < src->count; i++)
        ok = ckd_add_u64(&total, total, src->items[i].bytes);
    if (ok && total <= MAX_TOTAL_BYTES)
        return 0;
    snprintf(err, errlen, "the checkpoint would be larger than %" PRIu64 " bytes", MAX_TOTAL_BYTES);
    return -1;
}

/* Returns 0 with *m and *outdir set, 1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, model *m, const char **outdir)
{
    static const struct option longopts[] = {
        {"layers", required_argument, NULL, 'L'},   {"experts", required_argument, NULL, 'E'},
        {"hidden", required_argument, NULL, 'H'},   {"intermediate", required_argument, NULL, 'I'},
        {"vocab", required_argument, NULL, 'V'},    {"heads", required_argument, NULL, 'A'},
        {"kv-heads", required_argument, NULL, 'K'}, {"head-dim", required_argument, NULL, 'D'},
        {"shards", required_argument, NULL, 'S'},   {"name", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    *m = SAMPLE_MODEL;
    int ch, idx, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        const char *opt = ch != '?' && ch != 'h' ? longopts[idx].name : "";
        switch (ch) {
        case 'L': rc = parse_int(opt, optarg, MAX_DIM, &m->layers); break;
        case 'E': rc = parse_int(opt, optarg, MAX_DIM, &m->experts); break;
        case 'H': rc = parse_int(opt, optarg, MAX_DIM, &m->hidden); break;
        case 'I': rc = parse_int(opt, optarg, MAX_DIM, &m->intermediate); break;
        case 'V': rc = parse_int(opt, optarg, MAX_DIM, &m->vocab); break;
        case 'A': rc = parse_int(opt, optarg, MAX_DIM, &m->heads); break;
        case 'K': rc = parse_int(opt, optarg, MAX_DIM, &m->kv_heads); break;
        case 'D': rc = parse_int(opt, optarg, MAX_DIM, &m->head_dim); break;
        case 'S': rc = parse_int(opt, optarg, MAX_SHARDS, &m->shards); break;
        case 'N':
            m->name = optarg;
            if (!valid_name(optarg)) {
                fprintf(stderr, "gen_sample: --name '%s': use letters, digits, '.', '_', '-'\n", optarg);
                rc = -1;
            }
            break;
        case 'h': fputs(usage, stdout); return 1;
        default: rc = -1; break;
        }
    }
    if (rc == 0 && optind != argc - 1) {
        fprintf(stderr, "gen_sample: expected one OUTDIR\n");
        rc = -1;
    }
    if (rc != 0) {
        fputs(usage, stderr);
        return 2;
    }
    *outdir = argv[optind];
    return 0;
}

int main(int argc, char **argv)
{
    model m;
    const char *outdir;
    int rc = parse_args(argc, argv, &m, &outdir);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    char err[ERR_LEN] = "";
    if (model_finish(&m, err, sizeof err) < 0) {
        fprintf(stderr, "gen_sample: %s\n", err);
        return 2;
    }
    tensor_list src = {0}, dst = {0};
    build_source(&src, &m);
    if (check_size(&src, err, sizeof err) < 0) {
        fprintf(stderr, "gen_sample: %s\n", err);
        list_free(&src);
        return 2;
    }
    char *src_dir = xasprintf("%s/%s%s", outdir, m.name, SRC_SUFFIX);
    char *dst_dir = xasprintf("%s/%s%s", outdir, m.name, DST_SUFFIX);
    rc = plan_converted(&src, &dst, err, sizeof err);
    if (rc == 0)
        rc = make_dir(outdir, err, sizeof err);
    if (rc == 0)
        rc = write_pair(&m, &src, &dst, src_dir, dst_dir, err, sizeof err);
    if (rc == 0)
        printf("gen_sample: wrote %s and %s\n", src_dir, dst_dir);
    else
        fprintf(stderr, "gen_sample: %s\n", err);
    list_free(&src);
    list_free(&dst);
    free(src_dir);
    free(dst_dir);
    return rc == 0 ? 0 : 1;
}
