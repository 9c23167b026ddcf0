/* engine.h - the streaming pass of `verify`: reads each planned tensor once,
 * in large reads on a reader thread, while the backend computes on the
 * previous slab (two buffers in flight, so memory stays bounded whatever the
 * checkpoint's size). Small tensors travel together: consecutive pieces are
 * batched up to the slab budget, so a checkpoint of a million tiny tensors
 * costs a few hundred hand-overs between the threads, not a million.
 *
 * The caller owns the items; the engine fills their outputs. */
#ifndef MXC_ENGINE_H
#define MXC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "checkpoint.h"
#include "numerics.h"
#include "scalehist.h"
#include "stats.h"

#define ENGINE_DEFAULT_SLAB_BYTES ((uint64_t)64 << 20)
/* No slab may need more than this, whatever the budget: a tensor whose
 * smallest slab (32 source rows, or one stored row) is larger is refused. */
#define ENGINE_MAX_SLAB_BYTES ((uint64_t)1 << 30)

typedef enum { ENGINE_QUANTIZED, ENGINE_KEPT } engine_kind;

typedef struct {
    engine_kind kind;
    const ckpt_tensor *src;              /* source tensor (BF16 for quantized) */
    const ckpt_tensor *dst;              /* ENGINE_KEPT: DST's copy, same dtype and shape */
    const ckpt_tensor *blocks, *scales;  /* ENGINE_QUANTIZED */
    mx_geom geom;                        /* ENGINE_QUANTIZED */
    /* outputs */
    stats_acc acc;
    scale_hist *hist;                    /* ENGINE_QUANTIZED: where the scale bytes seen are
                                            counted (replaced), or NULL when not wanted */
    bool identical;                      /* ENGINE_KEPT: bytes equal */
    bool values;                         /* ENGINE_KEPT: the dtype has float values, so
                                            statistics mean something */
    uint64_t elems_differing;            /* ENGINE_KEPT: elements whose bytes differ */
} engine_item;

typedef struct {
    backend *backend;     /* where slabs are computed (NULL: the CPU) */
    uint64_t slab_bytes;  /* source bytes per slab (0: default) */
    mx_variant variant;   /* how DST is decoded ({false, 0}: faithfully) */
    bool requant;         /* also run the reference quantizer */
    bool progress;        /* progress bar on stderr */
    bool first_slab_only; /* a sample: each item's first slab (diagnosis) */
} engine_opts;

/* Runs every item. Returns 0, or -1 with err set when a read fails (the file
 * shrank, an I/O error): input that cannot be read. *bytes_read (may be NULL)
 * gets the bytes of tensor data read. */
int engine_run(const ckpt *src, const ckpt *dst, engine_item *items, size_t n,
               const engine_opts *o, uint64_t *bytes_read, char *err, size_t errlen);

/* Slab size from the environment (MXFP4_CHECK_SLAB_BYTES, for tests and
 * tuning), else ENGINE_DEFAULT_SLAB_BYTES. */
uint64_t engine_slab_bytes_from_env(void);

#endif
