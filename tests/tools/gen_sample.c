/* gen_sample - writes the project's sample checkpoints (`make samples`).
 *
 *   gen_sample OUTDIR
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
 * Every number is a function of the tensor's name and a fixed seed, so the
 * output is the same on every run and every host. */
#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dtype.h"
#include "mxfp4.h"
#include "pattern.h"
#include "st_writer.h"
#include "util.h"

#define ERR_LEN 512

/* ---- the model ------------------------------------------------------------- */

#define N_LAYERS 2
#define N_EXPERTS 4
#define HIDDEN 64
#define INTERMEDIATE 64     /* = HIDDEN: down_proj [E, 64, 64] is square */
#define VOCAB 96
#define N_HEADS 4
#define N_KV_HEADS 2
#define HEAD_DIM 16         /* N_HEADS * HEAD_DIM = HIDDEN */
#define EXPERTS_PER_TOKEN 2
#define N_SHARDS 2

#define SEED UINT64_C(0x6d78667034736d70) /* "mxfp4smp" */
#define OUTLIER_ONE_IN 199                /* about 0.5% of matrix weights */
#define OUTLIER_GAIN 12.0

#define SRC_DIR "tiny-bf16"
#define DST_DIR "tiny-mxfp4"

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
    char *name;
    dtype_id dtype;
    int rank;
    uint64_t shape[4];
    uint64_t numel, bytes;
    uint8_t *data;
    int shard;
} tensor;

typedef struct {
    tensor *items;
    size_t count, cap;
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
    for (int d = 0; d < rank; d++) {
        t->shape[d] = shape[d];
        t->numel *= shape[d];
    }
    if (!dtype_bytes(dtype, t->numel, &t->bytes))
        abort(); /* our own small shapes */
    t->data = xcalloc(1, (size_t)t->bytes);
    return t;
}

static void list_free(tensor_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].name);
        free(l->items[i].data);
    }
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

typedef struct {
    double mean, std;
    bool outliers;
} dist;

static const dist D_MATRIX = {0.0, 0.02, true};
static const dist D_BIAS = {0.0, 0.01, false};
static const dist D_NORM = {1.0, 0.05, false};
static const dist D_SINKS = {0.0, 0.5, false};

static void add_bf16(tensor_list *l, const char *name, int rank, const uint64_t *shape, dist d)
{
    tensor *t = list_push(l, name, DT_BF16, rank, shape);
    uint64_t s = name_seed(name);
    for (uint64_t i = 0; i < t->numel; i++) {
        double v = d.mean + d.std * normalish(&s);
        if (d.outliers && splitmix64(&s) % OUTLIER_ONE_IN == 0)
            v *= OUTLIER_GAIN;
        uint16_t b = f32_to_bf16((float)v);
        t->data[2 * i] = (uint8_t)(b & 0xFF); /* little-endian, as safetensors stores it */
        t->data[2 * i + 1] = (uint8_t)(b >> 8);
    }
}

#define SHAPE(...) ((const uint64_t[]){__VA_ARGS__})
#define RANK(...) ((int)(sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)))
#define ADD(l, name, d, ...) add_bf16((l), (name), RANK(__VA_ARGS__), SHAPE(__VA_ARGS__), (d))

static void add_layer(tensor_list *l, int layer)
{
    char n[128];
#define NAME(suffix) (snprintf(n, sizeof n, "model.layers.%d.%s", layer, (suffix)), n)
    ADD(l, NAME("input_layernorm.weight"), D_NORM, HIDDEN);
    ADD(l, NAME("post_attention_layernorm.weight"), D_NORM, HIDDEN);
    ADD(l, NAME("self_attn.q_proj.weight"), D_MATRIX, N_HEADS * HEAD_DIM, HIDDEN);
    ADD(l, NAME("self_attn.q_proj.bias"), D_BIAS, N_HEADS * HEAD_DIM);
    ADD(l, NAME("self_attn.k_proj.weight"), D_MATRIX, N_KV_HEADS * HEAD_DIM, HIDDEN);
    ADD(l, NAME("self_attn.k_proj.bias"), D_BIAS, N_KV_HEADS * HEAD_DIM);
    ADD(l, NAME("self_attn.v_proj.weight"), D_MATRIX, N_KV_HEADS * HEAD_DIM, HIDDEN);
    ADD(l, NAME("self_attn.v_proj.bias"), D_BIAS, N_KV_HEADS * HEAD_DIM);
    ADD(l, NAME("self_attn.o_proj.weight"), D_MATRIX, HIDDEN, N_HEADS * HEAD_DIM);
    ADD(l, NAME("self_attn.o_proj.bias"), D_BIAS, HIDDEN);
    ADD(l, NAME("self_attn.sinks"), D_SINKS, N_HEADS);
    ADD(l, NAME("mlp.router.weight"), D_MATRIX, N_EXPERTS, HIDDEN);
    ADD(l, NAME("mlp.router.bias"), D_BIAS, N_EXPERTS);
    ADD(l, NAME("mlp.experts.gate_up_proj"), D_MATRIX, N_EXPERTS, HIDDEN, 2 * INTERMEDIATE);
    ADD(l, NAME("mlp.experts.gate_up_proj_bias"), D_BIAS, N_EXPERTS, 2 * INTERMEDIATE);
    ADD(l, NAME("mlp.experts.down_proj"), D_MATRIX, N_EXPERTS, INTERMEDIATE, HIDDEN);
    ADD(l, NAME("mlp.experts.down_proj_bias"), D_BIAS, N_EXPERTS, HIDDEN);
#undef NAME
}

/* The source in the order a GPT-OSS checkpoint lists it. */
static void build_source(tensor_list *src)
{
    ADD(src, "model.embed_tokens.weight", D_MATRIX, VOCAB, HIDDEN);
    for (int layer = 0; layer < N_LAYERS; layer++)
        add_layer(src, layer);
    ADD(src, "model.norm.weight", D_NORM, HIDDEN);
    ADD(src, "lm_head.weight", D_MATRIX, VOCAB, HIDDEN);
}

/* ---- the conversion ----------------------------------------------------------- */

static uint16_t bf16_at(const tensor *t, uint64_t i)
{
    return (uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8);
}

/* W [E, K, N] -> swapaxes(-2, -1) = [E, N, K], quantized along K. */
static int quantize(tensor_list *dst, const tensor *w, char *err, size_t errlen)
{
    if (w->dtype != DT_BF16 || w->rank != 3 || w->shape[1] % MXFP4_BLOCK_ELEMS != 0) {
        snprintf(err, errlen, "%s: cannot quantize a tensor that is not BF16 [E, K, N] with K %% %d == 0",
                 w->name, MXFP4_BLOCK_ELEMS);
        return -1;
    }
    uint64_t E = w->shape[0], K = w->shape[1], N = w->shape[2], G = K / MXFP4_BLOCK_ELEMS;
    char *bname = xasprintf("%s%s", w->name, MXFP4_BLOCKS_SUFFIX);
    char *sname = xasprintf("%s%s", w->name, MXFP4_SCALES_SUFFIX);
    tensor *blocks = list_push(dst, bname, DT_U8, 4, SHAPE(E, N, G, MXFP4_BLOCK_BYTES));
    uint8_t *bdata = blocks->data; /* list_push may move the list, not the data */
    tensor *scales = list_push(dst, sname, DT_U8, 3, SHAPE(E, N, G));
    for (uint64_t e = 0; e < E; e++)
        for (uint64_t n = 0; n < N; n++)
            for (uint64_t g = 0; g < G; g++) {
                float x[MXFP4_BLOCK_ELEMS];
                uint8_t codes[MXFP4_BLOCK_ELEMS];
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
                    x[i] = mxfp4_bf16_to_f32(bf16_at(w, (e * K + g * MXFP4_BLOCK_ELEMS + (uint64_t)i) * N + n));
                uint64_t blk = (e * N + n) * G + g;
                mxfp4_ref_quantize_block(x, &scales->data[blk], codes);
                uint8_t *out = bdata + blk * MXFP4_BLOCK_BYTES;
                for (int i = 0; i < MXFP4_BLOCK_BYTES; i++) /* element 2i: LOW nibble */
                    out[i] = (uint8_t)(codes[2 * i] | codes[2 * i + 1] << 4);
            }
    free(bname);
    free(sname);
    return 0;
}

static void copy_tensor(tensor_list *dst, const tensor *t)
{
    tensor *c = list_push(dst, t->name, t->dtype, t->rank, t->shape);
    memcpy(c->data, t->data, (size_t)t->bytes);
}

static int convert(const tensor_list *src, tensor_list *dst, char *err, size_t errlen)
{
    for (size_t i = 0; i < src->count; i++) {
        const tensor *t = &src->items[i];
        if (pat_first_match(not_convert, N_NOT_CONVERT, t->name) >= 0)
            copy_tensor(dst, t);
        else if (quantize(dst, t, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* Splits the list, in its order, into N_SHARDS shards of about equal size,
 * as save_pretrained does with a max_shard_size. */
static void assign_shards(tensor_list *l)
{
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < l->count; i++)
        total += l->items[i].bytes;
    for (size_t i = 0; i < l->count; i++) {
        int s = (int)(done * N_SHARDS / (total ? total : 1));
        l->items[i].shard = s < N_SHARDS ? s : N_SHARDS - 1;
        done += l->items[i].bytes;
    }
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

static int write_shard(const char *dir, const char *file, const tensor_list *l, int shard, bool meta,
                       char *err, size_t errlen)
{
    const tensor **order = xcalloc(l->count, sizeof *order);
    size_t n = 0;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].shard == shard)
            order[n++] = &l->items[i];
    qsort(order, n, sizeof *order, cmp_layout);
    stw_writer *w = stw_new();
    if (meta)
        stw_set_metadata(w, "format", "pt");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = stw_add(w, order[i]->name, order[i]->dtype, order[i]->rank, order[i]->shape, order[i]->data,
                     err, errlen);
    char *path = xasprintf("%s/%s", dir, file);
    if (rc == 0)
        rc = stw_write(w, path, err, errlen);
    free(path);
    stw_free(w);
    free(order);
    return rc;
}

typedef struct {
    const char *dir;
    bool hf_names;              /* model-00001-of-00002.safetensors, else model-00000.safetensors */
    bool format_pt;             /* "__metadata__": {"format": "pt"} in each shard */
    bool sorted_index;          /* weight_map sorted by name (else in list order) */
    uint64_t total_size;        /* index metadata */
    uint64_t total_parameters;  /* 0: not written */
} ckpt_layout;

static int write_index(const ckpt_layout *c, const tensor_list *l, char **files, char *err, size_t errlen)
{
    const tensor **order = xcalloc(l->count, sizeof *order);
    for (size_t i = 0; i < l->count; i++)
        order[i] = &l->items[i];
    if (c->sorted_index)
        qsort(order, l->count, sizeof *order, cmp_name);
    stw_index *x = stw_index_new();
    if (c->total_parameters)
        stw_index_set_meta_u64(x, "total_parameters", c->total_parameters);
    stw_index_set_meta_u64(x, "total_size", c->total_size);
    for (size_t i = 0; i < l->count; i++)
        stw_index_map(x, order[i]->name, files[order[i]->shard]);
    char *path = xasprintf("%s/model.safetensors.index.json", c->dir);
    int rc = stw_index_write(x, path, err, errlen);
    free(path);
    stw_index_free(x);
    free(order);
    return rc;
}

static int write_checkpoint(const ckpt_layout *c, tensor_list *l, char *err, size_t errlen)
{
    char *files[N_SHARDS];
    assign_shards(l);
    int rc = 0;
    for (int s = 0; s < N_SHARDS; s++)
        files[s] = c->hf_names ? xasprintf("model-%05d-of-%05d.safetensors", s + 1, N_SHARDS)
                               : xasprintf("model-%05d.safetensors", s);
    for (int s = 0; s < N_SHARDS && rc == 0; s++)
        rc = write_shard(c->dir, files[s], l, s, c->format_pt, err, errlen);
    if (rc == 0)
        rc = write_index(c, l, files, err, errlen);
    for (int s = 0; s < N_SHARDS; s++)
        free(files[s]);
    return rc;
}

static cJSON *raw(const char *text)
{
    return cJSON_CreateRaw(text);
}

/* config.json, keys in sorted order as the converter writes them. */
static int write_config(const char *dir, bool quantized, char *err, size_t errlen)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("GptOssForCausalLM"));
    cJSON_AddNumberToObject(c, "experts_per_token", EXPERTS_PER_TOKEN);
    cJSON_AddNumberToObject(c, "head_dim", HEAD_DIM);
    cJSON_AddNumberToObject(c, "hidden_size", HIDDEN);
    cJSON_AddNumberToObject(c, "intermediate_size", INTERMEDIATE);
    cJSON_AddStringToObject(c, "model_type", "gpt_oss");
    cJSON_AddNumberToObject(c, "num_attention_heads", N_HEADS);
    cJSON_AddNumberToObject(c, "num_hidden_layers", N_LAYERS);
    cJSON_AddNumberToObject(c, "num_key_value_heads", N_KV_HEADS);
    cJSON_AddNumberToObject(c, "num_local_experts", N_EXPERTS);
    if (quantized) {
        cJSON *q = cJSON_AddObjectToObject(c, "quantization_config");
        cJSON *list = cJSON_AddArrayToObject(q, "modules_to_not_convert");
        for (int i = 0; i < N_NOT_CONVERT; i++)
            cJSON_AddItemToArray(list, cJSON_CreateString(not_convert[i]));
        cJSON_AddStringToObject(q, "quant_method", "mxfp4");
    }
    cJSON_AddItemToObject(c, "swiglu_limit", raw("7.0"));
    cJSON_AddStringToObject(c, "torch_dtype", "bfloat16");
    cJSON_AddNumberToObject(c, "vocab_size", VOCAB);
    char *text = stw_json_text(c);
    cJSON_Delete(c);
    char *path = xasprintf("%s/config.json", dir);
    int rc = stw_write_text(path, text, err, errlen);
    free(text);
    free(path);
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
        total += l->items[i].bytes;
        *params += l->items[i].numel;
    }
    return total;
}

static int write_source(const char *dir, tensor_list *src, char *err, size_t errlen)
{
    uint64_t params;
    ckpt_layout c = {.dir = dir, .hf_names = true, .format_pt = true, .total_size = total_bytes(src, &params)};
    if (make_dir(dir, err, errlen) < 0 || write_checkpoint(&c, src, err, errlen) < 0 ||
        write_config(dir, false, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < N_TOKENIZER_FILES; i++) {
        char *path = xasprintf("%s/%s", dir, tokenizer_files[i][0]);
        int rc = stw_write_text(path, tokenizer_files[i][1], err, errlen);
        free(path);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int write_converted(const char *src_dir, const char *dir, const tensor_list *src, char *err,
                           size_t errlen)
{
    tensor_list dst = {0};
    uint64_t params;
    /* the converter writes the SOURCE's sizes into the index metadata */
    ckpt_layout c = {.dir = dir, .hf_names = false, .sorted_index = true, .total_size = total_bytes(src, &params)};
    c.total_parameters = params;
    int rc = make_dir(dir, err, errlen);
    if (rc == 0)
        rc = convert(src, &dst, err, errlen);
    if (rc == 0)
        rc = write_checkpoint(&c, &dst, err, errlen);
    if (rc == 0)
        rc = write_config(dir, true, err, errlen);
    for (size_t i = 0; i < N_TOKENIZER_FILES && rc == 0; i++) {
        char *from = xasprintf("%s/%s", src_dir, tokenizer_files[i][0]);
        char *to = xasprintf("%s/%s", dir, tokenizer_files[i][0]);
        rc = stw_copy_file(from, to, err, errlen);
        free(from);
        free(to);
    }
    list_free(&dst);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: gen_sample OUTDIR\n"
                        "writes OUTDIR/" SRC_DIR " (BF16) and OUTDIR/" DST_DIR " (its MXFP4 conversion)\n");
        return 2;
    }
    char err[ERR_LEN] = "";
    tensor_list src = {0};
    build_source(&src);
    char *src_dir = xasprintf("%s/%s", argv[1], SRC_DIR);
    char *dst_dir = xasprintf("%s/%s", argv[1], DST_DIR);
    int rc = make_dir(argv[1], err, sizeof err);
    if (rc == 0)
        rc = write_source(src_dir, &src, err, sizeof err);
    if (rc == 0)
        rc = write_converted(src_dir, dst_dir, &src, err, sizeof err);
    if (rc == 0)
        printf("gen_sample: wrote %s and %s\n", src_dir, dst_dir);
    else
        fprintf(stderr, "gen_sample: %s\n", err);
    list_free(&src);
    free(src_dir);
    free(dst_dir);
    return rc == 0 ? 0 : 1;
}
