/* checkpoint.h - a checkpoint on disk: its shards, index, config and the
 * logical tensors (plain tensors and MXFP4 blocks/scales pairs).
 *
 * Accepted layouts: a directory with model.safetensors.index.json and shards,
 * a directory with a single model.safetensors, or one .safetensors file.
 * Symlinks (as in the Hugging Face cache) are followed.
 *
 * ckpt_open fails (returns -1, message in err) only for input that cannot be
 * read or parsed: the caller exits 2. Structural faults that still leave a
 * usable model (index vs shards, pairing, total_size) become findings. The
 * ckpt owns every st_file, string and array it hands out; nothing returned
 * outlives ckpt_close. */
#ifndef MXC_CHECKPOINT_H
#define MXC_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "finding.h"
#include "safetensors.h"

#define CKPT_INDEX_NAME "model.safetensors.index.json"
#define CKPT_SINGLE_NAME "model.safetensors"
#define CKPT_CONFIG_NAME "config.json"

typedef struct ckpt ckpt;

typedef struct {
    const char *file;  /* file name relative to the checkpoint directory */
    st_file *st;
} ckpt_shard;

typedef struct {
    const st_tensor *t; /* t->name is the tensor name */
    size_t shard;       /* index into the shards */
} ckpt_tensor;

typedef struct {
    bool present;            /* config.json exists */
    bool has_quant;          /* it has a quantization_config object */
    const char *quant_method;/* NULL when absent or not a string */
    const char *const *not_convert; /* modules_to_not_convert */
    int n_not_convert;
} ckpt_config;

typedef enum { LT_PLAIN, LT_MXFP4 } lt_kind;

/* A tensor as a model sees it: a plain tensor, or an MXFP4 pair standing for
 * the tensor it dequantizes to. */
typedef struct {
    const char *name;        /* plain: the tensor name; pair: blocks name minus "_blocks" */
    lt_kind kind;
    const ckpt_tensor *plain;          /* LT_PLAIN */
    const ckpt_tensor *blocks, *scales;/* LT_MXFP4 */
    int rank;                /* LT_MXFP4: the dequantized tensor as stored, [*prefix, G*32] */
    const uint64_t *shape;   /* rank entries (never NULL), owned by the ckpt */
    uint64_t groups;         /* LT_MXFP4: G, blocks per row */
    uint64_t bytes;          /* data bytes (blocks + scales for a pair) */
    const char *unpaired_base; /* LT_PLAIN: a _blocks or _scales tensor that made no pair (an
                                  mxfp4.pairing finding says why): the name it was to stand
                                  for; else NULL */
} ckpt_logical;

/* Opens path; structural findings are appended to fl (never NULL). */
int ckpt_open(const char *path, ckpt **out, finding_list *fl, char *err, size_t errlen);
void ckpt_close(ckpt *c); /* NULL is a no-op */

const char *ckpt_path(const ckpt *c);
/* The directory holding the shards (for a lone .safetensors file: its directory). */
const char *ckpt_dir(const ckpt *c);
/* True when the checkpoint was given as a directory (it may hold config and tokenizer files). */
bool ckpt_is_dir(const ckpt *c);
bool ckpt_has_index(const ckpt *c);

/* metadata.total_size of the index, when present. */
bool ckpt_index_total_size(const ckpt *c, uint64_t *out);

size_t ckpt_shard_count(const ckpt *c);
const ckpt_shard *ckpt_shard_at(const ckpt *c, size_t i);

/* All tensors of all shards, sorted by name, each once (the first shard wins
 * when a tensor is in two: an index.mismatch finding). */
size_t ckpt_tensor_count(const ckpt *c);
const ckpt_tensor *ckpt_tensor_at(const ckpt *c, size_t i);
const ckpt_tensor *ckpt_tensor_find(const ckpt *c, const char *name);

/* Sum of the data bytes of all tensors. */
uint64_t ckpt_data_bytes(const ckpt *c);

const ckpt_config *ckpt_get_config(const ckpt *c);

/* Adds a config.quantization finding unless config.json has a
 * quantization_config with quant_method "mxfp4". */
void ckpt_check_quant_config(const ckpt *c, finding_list *fl);

/* Logical tensors sorted by name. Invalid or orphaned _blocks/_scales appear
 * as plain tensors (with an mxfp4.pairing finding and their unpaired_base). */
size_t ckpt_logical_count(const ckpt *c);
const ckpt_logical *ckpt_logical_at(const ckpt *c, size_t i);
const ckpt_logical *ckpt_logical_find(const ckpt *c, const char *name);

/* Reads tensor data: bytes [offset, offset+len) of tensor ct. */
int ckpt_read(const ckpt *c, const ckpt_tensor *ct, uint64_t offset, void *buf, size_t len,
              char *err, size_t errlen);

/* Read-ahead hints (safetensors.h): every shard is read in long runs; bytes
 * [offset, offset+len) of ct are wanted soon. */
void ckpt_advise_sequential(const ckpt *c);
void ckpt_willneed(const ckpt *c, const ckpt_tensor *ct, uint64_t offset, uint64_t len);

/* Histogram of the scale bytes of pair lt (hist[b] = count of byte b; 255 is
 * NaN), reading in bounded chunks. */
int ckpt_scale_histogram(const ckpt *c, const ckpt_logical *lt, uint64_t hist[256], char *err,
                         size_t errlen);

#endif
