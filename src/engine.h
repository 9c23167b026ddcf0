/* engine.h - the streaming pass of `verify`: reads each planned tensor once
 * and compares it, with memory bounded whatever the checkpoint's size.
 *
 * Pieces (slabs of quantized tensors, byte ranges of kept ones) are batched
 * into jobs of one kind, so a million tiny tensors cost a few hundred
 * hand-overs. Reader threads take jobs in parts of 16 MiB (disjoint long
 * runs, with read-ahead hints): a kept job is compared by its readers in
 * their caches (it needs no GPU); a quantized job is read into one of a few
 * staging slots, pinned once, and computed by the backend's workers (one per
 * GPU, several jobs in flight on its lanes), while the readers go on. Reading
 * starts before the backend has started (CUDA comes up on its own thread).
 * Results are merged in job order, whatever thread or GPU computed them, so
 * the report does not depend on their number.
 *
 * The caller owns the items; the engine fills their outputs. */
#ifndef MXC_ENGINE_H
#define MXC_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "checkpoint.h"
#include "numerics.h"
#include "stats.h"

#define ENGINE_DEFAULT_SLAB_BYTES ((uint64_t)64 << 20)
/* No slab may need more than this, whatever the budget: a tensor whose
 * smallest slab (32 source rows, or one stored row) is larger is refused. */
#define ENGINE_MAX_SLAB_BYTES ((uint64_t)1 << 30)

typedef enum { ENGINE_QUANTIZED, ENGINE_KEPT } engine_kind;

/* What to compare. Inputs only: a run has one per tensor, so the outputs
 * (engine_result) exist for one item at a time, not for all of them. */
typedef struct {
    engine_kind kind;
    const ckpt_tensor *src;              /* source tensor (BF16 for quantized) */
    const ckpt_tensor *dst;              /* ENGINE_KEPT: DST's copy, same dtype and shape */
    const ckpt_tensor *blocks, *scales;  /* ENGINE_QUANTIZED */
    mx_geom geom;                        /* ENGINE_QUANTIZED */
} engine_item;

/* What one item gave, handed to engine_done once it is complete. */
typedef struct {
    stats_acc acc;
    const uint64_t *hist;                /* ENGINE_QUANTIZED: count per scale byte, then
                                            per offset from the reference's (numerics.h:
                                            MX_HIST_LEN), valid during the call */
    bool identical;                      /* ENGINE_KEPT: bytes equal */
    bool values;                         /* ENGINE_KEPT: the dtype has float values, so
                                            statistics mean something */
    uint64_t elems_differing;            /* ENGINE_KEPT: elements whose bytes differ */
} engine_result;

/* Called for every item, in item order, once it is complete (an item with
 * nothing to read, an empty quantized tensor, gets an empty result). */
typedef void (*engine_done)(void *ctx, size_t item, const engine_result *res);

/* Progress for a caller that draws its own (the TUI): tensor bytes read so
 * far and in all, called on the engine's thread after each slab. */
typedef void (*engine_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct {
    backend *backend;     /* where slabs are computed (NULL: the CPU) */
    uint64_t slab_bytes;  /* source bytes per slab (0: default) */
    mx_variant variant;   /* how DST is decoded ({0}: MX_VARIANT_FAITHFUL) */
    bool requant;         /* also run the reference quantizer */
    bool progress;        /* progress bar on stderr */
    bool first_slab_only; /* a sample: each item's first slab (diagnosis) */
    engine_done done;     /* receives each item's result */
    void *done_ctx;
    engine_progress_fn on_progress; /* may be NULL */
    void *progress_ctx;
    const atomic_int *cancel; /* may be NULL; nonzero: stop after the slab, -1 "cancelled" */
} engine_opts;

/* Runs every item, calling o->done for each. Returns 0, or -1 with err set
 * when a read fails (the file shrank, an I/O error): input that cannot be
 * read (items after the failure then get no call). *bytes_read (may be NULL)
 * gets the bytes of tensor data read. */
int engine_run(const ckpt *src, const ckpt *dst, const engine_item *items, size_t n,
               const engine_opts *o, uint64_t *bytes_read, char *err, size_t errlen);

/* The memory a run takes at most whatever the checkpoint's size, with slabs
 * of slab_bytes source bytes and `gpus` GPUs (0: the CPU backend): host
 * (staging slots, reader buffers, the results held ahead of delivery) and
 * each GPU (the lanes' buffers). What grows with the tensor COUNT (headers,
 * the plan) and the CUDA runtime's own memory are not in it. */
void engine_memory_bounds(uint64_t slab_bytes, int gpus, uint64_t *host, uint64_t *gpu);

/* Slab size from the environment (MXFP4_CHECK_SLAB_BYTES, for tests and
 * tuning), else ENGINE_DEFAULT_SLAB_BYTES. */
uint64_t engine_slab_bytes_from_env(void);

#endif
