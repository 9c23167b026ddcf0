#include "engine.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mxfp4.h"
#include "text.h"
#include "util.h"

#define PROGRESS_INTERVAL 0.2
#define MAX_READERS 16
#define BATCH_MAX_PIECES 4096 /* pieces per job: bounds the results of one job */
#define PIECE_ALIGN 64        /* each piece starts a cache line in the slot buffers */
#define READ_EXTENT_DEFAULT ((uint64_t)16 << 20) /* bytes of a job one reader takes at once */
#define READ_CALL ((uint64_t)4 << 20)    /* bytes per pread */
#define KEPT_CHUNK ((uint64_t)256 << 10) /* per side: both stay in a core's cache */
#define JOB_WINDOW 1024                  /* jobs finished ahead of delivery, at most ... */
#define PIECE_WINDOW 65536               /* ... and pieces: bounds the results held */
#define SLOT_BYTES_MAX ((uint64_t)1536 << 20) /* staging memory of all slots */
#define PAGE 4096

/* One unit of comparison: a slab of a quantized tensor, or a byte range of a
 * kept tensor on both sides. There is one per small tensor: kept small. */
typedef struct {
    size_t item;
    union {
        mx_slab slab;                          /* quantized */
        struct { uint64_t offset, len; };      /* kept */
    };
} piece;

/* Where the next piece of a job goes in the buffers of a slot: the pieces
 * of a job lie back to back, each aligned, in the order of the job. */
typedef struct {
    uint64_t src, a, b;
} place;

/* What a kept piece gave. */
typedef struct {
    stats_acc acc;
    uint64_t elems_differing;
    bool identical, values;
    uint64_t nonfinite; /* summed over the parts that read it */
} kept_out;

typedef enum { JOB_WAITING, JOB_READ, JOB_DONE } job_state;

/* Consecutive pieces of one kind handed over together. A quantized job holds
 * slabs of one tensor (read into a slot, computed by a backend worker); a
 * kept job holds pieces of one or more tensors, compared by the reader that
 * reads them, in its cache, without a slot. */
typedef struct {
    engine_kind kind;
    size_t first, count;                  /* pieces[first .. first + count) */
    uint64_t src_bytes, a_bytes, b_bytes; /* slot buffer sizes it needs (quantized) */
    uint64_t bytes;                       /* tensor data bytes it reads */
    size_t quant;                         /* its index among the quantized jobs */
    unsigned parts, parts_done;           /* pieces of its reading, `extent` bytes each */
    job_state state;
    kept_out *kept;                       /* results of a kept job, per piece */
    stats_acc acc;                        /* result of a quantized job */
    uint64_t *hist;
} job;

/* Staging buffers of a quantized job: quantized job q uses slot q % nslots,
 * once job q - nslots has been computed. Allocated once and pinned once:
 * source, blocks (or DST's copy) and scales. */
typedef struct {
    void *buf[3];
    size_t cap[3];
    bool pinned[3], pin_tried;
    size_t next_quant; /* the quantized job that may use it next */
} slot;

typedef struct {
    const ckpt *src, *dst;
    const engine_item *items;
    size_t nitems, next_done;  /* items before next_done have had their call */
    engine_result res;         /* the item being delivered */
    const engine_opts *o;
    backend *b;                /* NULL: the CPU computes, here */
    piece *pieces;
    size_t npieces, pieces_cap;
    job *jobs;
    size_t njobs, jobs_cap;
    size_t *kept_jobs, nkept, *quant_jobs, nquant;
    slot *slots;
    size_t nslots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu: */
    size_t kept_next, quant_next;  /* reading cursors */
    unsigned quant_part;           /* next part of quant_jobs[quant_next] */
    unsigned kept_part;            /* next part of kept_jobs[kept_next] */
    size_t compute_next;           /* next quantized job for a worker */
    size_t delivered_job, delivered_piece;
    bool failed, stop;
    uint64_t bytes_read, bytes_total;
    char *err;
    size_t errlen;
    int readers, workers, lanes, omp_threads;
    uint64_t extent;               /* bytes of a job one reader takes at once */
    bool read_only;                /* MXFP4_CHECK_BENCH=read: the reader alone */
    uint64_t hist[MX_HIST_LEN];    /* scale bytes and offsets of the item being delivered */
    double t_ready, t_pin, t_deliver_wait; /* MXFP4_CHECK_TRACE */
    double t_read_busy, t_read_wait, t_submit, t_collect, t_unpin;
    double start, last_progress;
} engine;

/* MXFP4_CHECK_EXTENT overrides READ_EXTENT_DEFAULT (tuning). */
static uint64_t extent_from_env(void)
{
    const char *s = getenv("MXFP4_CHECK_EXTENT");
    char *end;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    return v >= 65536 && *end == '\0' ? (uint64_t)v : READ_EXTENT_DEFAULT;
}

/* Reader threads: all the cores when a GPU computes; a quarter when the CPU
 * does, which compares on the others (backend_cpu_threads): reading costs
 * about a quarter of comparing, and a comparison thread that shares its core
 * with a reader holds up the slab's other threads at its end (16 cores: 4
 * readers + 12 took 0.91 s on SPEC §4's pair, 8 + 16 1.29 s).
 * MXFP4_CHECK_READERS overrides (tuning, benchmarks). */
static int reader_count(bool gpu)
{
    const char *s = getenv("MXFP4_CHECK_READERS");
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (v > 0 && *end == '\0')
        return v > MAX_READERS ? MAX_READERS : (int)v;
    int procs = omp_get_num_procs();
    int n = gpu ? procs : procs / BACKEND_CPU_READERS_PER;
    return n < 2 ? 2 : n > MAX_READERS ? MAX_READERS : n;
}

uint64_t engine_slab_bytes_from_env(void)
{
    const char *s = getenv("MXFP4_CHECK_SLAB_BYTES");
    char *end;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    return v > 0 && *end == '\0' ? (uint64_t)v : ENGINE_DEFAULT_SLAB_BYTES;
}

/* Records the first error and stops every thread (under mu). */
static void fail_locked(engine *e, const char *msg)
{
    if (!e->failed)
        snprintf(e->err, e->errlen, "%s", msg);
    e->failed = true;
    pthread_cond_broadcast(&e->cv);
}

static void fail(engine *e, const char *msg)
{
    pthread_mutex_lock(&e->mu);
    fail_locked(e, msg);
    pthread_mutex_unlock(&e->mu);
}

/* Staging bytes of a job of at most `slab` source bytes: with its blocks
 * (1/4 of the source bytes) and scales (1/64), page-rounded. */
static uint64_t job_bytes_bound(uint64_t slab)
{
    return slab + slab / 4 + slab / 64 + 3 * ((uint64_t)2 << 20);
}

void engine_memory_bounds(uint64_t slab_bytes, int gpus, uint64_t *host, uint64_t *gpu)
{
    uint64_t per_job = job_bytes_bound(slab_bytes ? slab_bytes : ENGINE_DEFAULT_SLAB_BYTES);
    uint64_t slots = (uint64_t)(4 + (gpus ? BACKEND_LANES * gpus : 1)) * per_job;
    *host = (slots < SLOT_BYTES_MAX ? slots : SLOT_BYTES_MAX) + MAX_READERS * 2 * KEPT_CHUNK +
            (uint64_t)PIECE_WINDOW * sizeof(kept_out) + (uint64_t)JOB_WINDOW * MX_HIST_LEN * sizeof(uint64_t);
    /* per lane: the job's buffers and one stats_acc per 128 blocks (4096 elements) */
    *gpu = gpus ? BACKEND_LANES * (per_job + per_job / 2 / 4096 * sizeof(stats_acc)) : 0;
}

/* ---- planning the reads -------------------------------------------------- */

static uint64_t align_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

/* Source, blocks-or-DST-copy and scales bytes of a piece. */
static void piece_sizes(const engine *e, const piece *p, uint64_t sz[3])
{
    const engine_item *it = &e->items[p->item];
    if (it->kind == ENGINE_KEPT) {
        sz[0] = sz[1] = p->len;
        sz[2] = 0;
        return;
    }
    sz[0] = mx_slab_src_bytes(&it->geom, &p->slab);
    sz[1] = mx_slab_blocks_bytes(&p->slab);
    sz[2] = mx_slab_scales_bytes(&p->slab);
}

/* Moves pl past piece p; returns where p itself goes. */
static place advance(const engine *e, const piece *p, place *pl)
{
    uint64_t sz[3];
    piece_sizes(e, p, sz);
    place here = *pl;
    pl->src += align_up(sz[0], PIECE_ALIGN);
    pl->a += align_up(sz[1], PIECE_ALIGN);
    pl->b += align_up(sz[2], PIECE_ALIGN);
    return here;
}

/* Appends a piece to the last job, or to a new one when it would take that
 * job past the budget or the piece limit, or mix kinds, or (quantized) mix
 * tensors. */
static void add_piece(engine *e, piece p, uint64_t budget)
{
    uint64_t sz[3];
    piece_sizes(e, &p, sz);
    engine_kind kind = e->items[p.item].kind;
    job *j = e->njobs ? &e->jobs[e->njobs - 1] : NULL;
    if (!j || j->kind != kind || j->count == BATCH_MAX_PIECES ||
        j->src_bytes + align_up(sz[0], PIECE_ALIGN) > budget ||
        (kind == ENGINE_QUANTIZED && e->pieces[j->first].item != p.item)) {
        xgrow(&e->jobs, &e->jobs_cap, e->njobs + 1, sizeof(job));
        j = &e->jobs[e->njobs++];
        *j = (job){.kind = kind, .first = e->npieces};
    }
    place end = {j->src_bytes, j->a_bytes, j->b_bytes};
    advance(e, &p, &end);
    j->src_bytes = end.src;
    j->a_bytes = end.a;
    j->b_bytes = end.b;
    j->bytes += sz[0] + sz[1] + sz[2];
    j->count++;
    e->bytes_total += sz[0] + sz[1] + sz[2];
    xgrow(&e->pieces, &e->pieces_cap, e->npieces + 1, sizeof(piece));
    e->pieces[e->npieces++] = p;
}

static void plan_jobs(engine *e, size_t n, uint64_t budget, bool first_only)
{
    for (size_t i = 0; i < n; i++) {
        const engine_item *it = &e->items[i];
        if (it->kind == ENGINE_KEPT) {
            /* whole elements per piece, so each is compared in one piece */
            uint64_t unit = dtype_group_bytes(it->src->t->dtype);
            uint64_t step = budget >= unit ? budget - budget % unit : unit;
            uint64_t len = it->src->t->end - it->src->t->begin, off = 0;
            do { /* a zero-length tensor still gets its (empty) piece */
                uint64_t part = len - off < step ? len - off : step;
                add_piece(e, (piece){.item = i, .offset = off, .len = part}, budget);
                off += part;
            } while (off < len && !first_only);
            continue;
        }
        uint64_t count = mx_plan_slabs(&it->geom, budget, NULL);
        mx_slab *slabs = xmalloc((count ? count : 1) * sizeof *slabs);
        mx_plan_slabs(&it->geom, budget, slabs);
        for (uint64_t s = 0; s < (first_only && count ? 1 : count); s++)
            add_piece(e, (piece){.item = i, .slab = slabs[s]}, budget);
        free(slabs);
    }
    e->kept_jobs = xmalloc((e->njobs ? e->njobs : 1) * sizeof(size_t));
    e->quant_jobs = xmalloc((e->njobs ? e->njobs : 1) * sizeof(size_t));
    for (size_t j = 0; j < e->njobs; j++) {
        job *jb = &e->jobs[j];
        /* parts of `extent` bytes (of the source side for kept jobs) */
        uint64_t span = jb->kind == ENGINE_KEPT ? jb->bytes / 2 : jb->bytes;
        jb->parts = (unsigned)((span + e->extent - 1) / e->extent);
        jb->parts = jb->parts ? jb->parts : 1;
        if (jb->kind == ENGINE_KEPT) {
            e->kept_jobs[e->nkept++] = j;
        } else {
            jb->quant = e->nquant;
            e->quant_jobs[e->nquant++] = j;
        }
    }
}

/* ---- staging slots ------------------------------------------------------- */

/* Slots: enough for every lane of every worker plus readers ahead, within
 * SLOT_BYTES_MAX (MXFP4_CHECK_SLOTS overrides). */
static size_t slot_count(const engine *e, uint64_t job_max)
{
    const char *s = getenv("MXFP4_CHECK_SLOTS");
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (v > 0 && *end == '\0')
        return (size_t)(v > 256 ? 256 : v);
    size_t want = (size_t)(e->workers * e->lanes) + 4;
    size_t fit = job_max ? (size_t)(SLOT_BYTES_MAX / job_max) : want;
    want = want < fit ? want : fit;
    return want < 2 ? 2 : want;
}

static void slot_unpin(engine *e, slot *sl)
{
    for (int k = 0; k < 3; k++)
        if (sl->pinned[k])
            backend_unpin(e->b, sl->buf[k]);
    memset(sl->pinned, 0, sizeof sl->pinned);
    sl->pin_tried = false;
}

/* Buffer k of a slot, large enough for need bytes (grown only for a job
 * larger than every one before; then pinned again). */
static void *slot_buffer(engine *e, slot *sl, int k, uint64_t need)
{
    if (need > sl->cap[k]) {
        slot_unpin(e, sl);
        free(sl->buf[k]);
        sl->buf[k] = xmalloc_pages((size_t)need);
        sl->cap[k] = (size_t)need;
    }
    return sl->buf[k];
}

/* Pins a slot's buffers the first time a GPU copies from them. */
static void slot_pin(engine *e, slot *sl)
{
    if (sl->pin_tried || !e->b || strcmp(backend_name(e->b), "cuda") != 0)
        return;
    double t0 = util_now_seconds();
    for (int k = 0; k < 3; k++)
        sl->pinned[k] = sl->buf[k] && backend_pin(e->b, sl->buf[k], sl->cap[k]);
    sl->pin_tried = true;
    e->t_pin += util_now_seconds() - t0;
}

static void slot_free(engine *e, slot *sl)
{
    slot_unpin(e, sl);
    for (int k = 0; k < 3; k++)
        free(sl->buf[k]);
}

/* ---- values of kept tensors ----------------------------------------------- */

static double f16_to_double(uint16_t h)
{
    int exp = (h >> 10) & 0x1F;
    double mant = h & 0x3FF, sign = (h & 0x8000) ? -1.0 : 1.0;
    if (exp == 0x1F)
        return mant ? NAN : sign * INFINITY;
    return sign * (exp ? ldexp(1024.0 + mant, exp - 25) : ldexp(mant, -24));
}

/* Element i of a floating-point tensor as a double; false for other dtypes
 * (integers, sub-byte floats), which are only compared bit for bit. */
static bool kept_value(dtype_id dt, const uint8_t *p, uint64_t i, double *out)
{
    uint16_t h;
    float f;
    switch (dt) {
    case DT_BF16:
        memcpy(&h, p + i * 2, 2);
        *out = mxfp4_bf16_to_f32(h);
        return true;
    case DT_F16:
        memcpy(&h, p + i * 2, 2);
        *out = f16_to_double(h);
        return true;
    case DT_F32:
        memcpy(&f, p + i * 4, 4);
        *out = f;
        return true;
    case DT_F64:
        memcpy(out, p + i * 8, 8);
        return true;
    default:
        return false;
    }
}

/* How many of the n elements at p are NaN or inf (exponent all ones), one
 * loop per dtype so that each vectorizes: every byte of a kept tensor passes
 * here. */
static uint64_t nonfinite_count(dtype_id dt, const uint8_t *p, uint64_t n)
{
    uint64_t count = 0;
    switch (dt) {
    case DT_BF16:
    case DT_F16: {
        uint16_t mask = dt == DT_BF16 ? 0x7F80u : 0x7C00u;
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + i * 2, 2);
            count += (h & mask) == mask;
        }
        return count;
    }
    case DT_F32:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t w;
            memcpy(&w, p + i * 4, 4);
            count += (w & 0x7F800000u) == 0x7F800000u;
        }
        return count;
    case DT_F64:
        for (uint64_t i = 0; i < n; i++) {
            uint64_t d;
            memcpy(&d, p + i * 8, 8);
            count += (d & UINT64_C(0x7FF0000000000000)) == UINT64_C(0x7FF0000000000000);
        }
        return count;
    default: return 0;
    }
}

/* Sub-byte elements that differ in len bytes (a whole number of
 * dtype_group_bytes, so no element is split): element k is bits
 * [k*bits, (k+1)*bits), counted from the least significant bit up. */
static uint64_t packed_elements_differing(const uint8_t *a, const uint8_t *b, uint64_t len,
                                          unsigned bits)
{
    uint64_t n = 0, last = UINT64_MAX;
    for (uint64_t i = 0; i < len; i++) {
        unsigned x = a[i] ^ b[i];
        for (unsigned bit = 0; x; bit++, x >>= 1) {
            uint64_t k = (i * 8 + bit) / bits;
            if ((x & 1) && k != last) {
                n++;
                last = k;
            }
        }
    }
    return n;
}


/* ---- reading ------------------------------------------------------------- */

typedef struct {
    const ckpt *c;
    const ckpt_tensor *t;
    uint64_t offset;
    uint8_t *dst;
    uint64_t len;
} read_op;

typedef struct {
    read_op *ops;
    size_t n, cap;
} read_list;

static void add_op(read_list *l, const ckpt *c, const ckpt_tensor *t, uint64_t offset, void *dst,
                   uint64_t len)
{
    if (len == 0)
        return;
    xgrow(&l->ops, &l->cap, l->n + 1, sizeof(read_op));
    l->ops[l->n++] = (read_op){c, t, offset, dst, len};
}

static int read_range(engine *e, const read_op *r, uint64_t off, uint64_t len)
{
    for (uint64_t done = 0; done < len; done += READ_CALL) {
        uint64_t n = len - done < READ_CALL ? len - done : READ_CALL;
        char err[ST_ERR_LEN], msg[ST_ERR_LEN + 64];
        if (ckpt_read(r->c, r->t, r->offset + off + done, r->dst + off + done, (size_t)n, err,
                      sizeof err) < 0) {
            text_side_error(msg, sizeof msg, r->c == e->src ? "SRC" : "DST", ckpt_path(r->c), err);
            fail(e, msg);
            return -1;
        }
    }
    return 0;
}

/* Blocks and scales of a slab. A slab of whole rows is one run each; a slab
 * cut along the groups gathers one run per stored row. */
static void mx_dst_reads(engine *e, read_list *l, const engine_item *it, const mx_slab *s,
                         uint8_t *blocks, uint8_t *scales)
{
    uint64_t N = it->geom.rows, G = it->geom.groups, groups = s->g1 - s->g0;
    if (groups == G) {
        uint64_t first = s->m0 * N + s->n0, rows = (s->m1 - s->m0) * (s->n1 - s->n0);
        add_op(l, e->dst, it->blocks, first * G * MXFP4_BLOCK_BYTES, blocks, rows * G * MXFP4_BLOCK_BYTES);
        add_op(l, e->dst, it->scales, first * G, scales, rows * G);
        return;
    }
    for (uint64_t m = s->m0; m < s->m1; m++) {
        for (uint64_t n = s->n0; n < s->n1; n++) {
            uint64_t row = m * N + n, out = ((m - s->m0) * (s->n1 - s->n0) + n - s->n0) * groups;
            add_op(l, e->dst, it->blocks, (row * G + s->g0) * MXFP4_BLOCK_BYTES,
                   blocks + out * MXFP4_BLOCK_BYTES, groups * MXFP4_BLOCK_BYTES);
            add_op(l, e->dst, it->scales, row * G + s->g0, scales + out, groups);
        }
    }
}

/* Every read of a quantized job, in the order of its pieces. */
static void quant_job_reads(engine *e, const job *j, slot *sl, read_list *l)
{
    place pl = {0, 0, 0};
    l->n = 0;
    for (size_t k = 0; k < j->count; k++) {
        const piece *p = &e->pieces[j->first + k];
        const engine_item *it = &e->items[p->item];
        place h = advance(e, p, &pl);
        uint8_t *src = sl->buf[0], *a = sl->buf[1], *b = sl->buf[2];
        add_op(l, e->src, it->src, 2 * mx_slab_source_first(&it->geom, &p->slab), src + h.src,
               mx_slab_src_bytes(&it->geom, &p->slab));
        mx_dst_reads(e, l, it, &p->slab, a ? a + h.a : NULL, b ? b + h.b : NULL);
    }
}

/* Part `part` of a quantized job: its bytes [part, part + 1) * extent
 * of the job's reads laid end to end. Disjoint parts go to different
 * readers, each one long run. */
static int read_quant_part(engine *e, const job *j, unsigned part, read_list *l)
{
    quant_job_reads(e, j, &e->slots[j->quant % e->nslots], l);
    uint64_t lo = (uint64_t)part * e->extent, hi = lo + e->extent, at = 0;
    for (size_t k = 0; k < l->n && at < hi; k++) {
        const read_op *r = &l->ops[k];
        uint64_t a = lo > at ? lo - at : 0, b = hi - at < r->len ? hi - at : r->len;
        if (a < b)
            ckpt_willneed(r->c, r->t, r->offset + a, b - a);
        at += r->len;
    }
    at = 0;
    for (size_t k = 0; k < l->n && at < hi; k++) {
        const read_op *r = &l->ops[k];
        uint64_t a = lo > at ? lo - at : 0, b = hi - at < r->len ? hi - at : r->len;
        if (a < b && read_range(e, r, a, b - a) < 0)
            return -1;
        at += r->len;
    }
    return 0;
}

/* ---- kept tensors: compared by the reader, in its cache ------------------ */

/* Reads both sides of [off, off + n) of a kept piece into the buffers. */
static int read_kept_chunk(engine *e, const engine_item *it, uint64_t off, uint64_t n, uint8_t *a,
                           uint8_t *b)
{
    read_op rs = {e->src, it->src, off, a, n}, rd = {e->dst, it->dst, off, b, n};
    return read_range(e, &rs, 0, n) < 0 || read_range(e, &rd, 0, n) < 0 ? -1 : 0;
}

/* Kept tensors must be bit-identical. Identical bytes need no arithmetic:
 * every element is equal (the non-finite ones are only counted). When the
 * bytes differ, floating-point tensors get statistics so the report says how
 * far off they are; other dtypes get the count of differing elements.
 *
 * A kept job is read in parts (`extent` bytes of its pieces laid end to
 * end, cut at whole elements) by several readers, each in chunks that stay
 * in its cache: a part only finds whether the bytes differ and counts the
 * non-finite elements. The reader finishing the job's last part then sets
 * each piece's result, and reads a differing piece again, whole and in
 * element order, for its statistics (the rare case). */

static bool kept_has_values(dtype_id dt, uint64_t esize, uint64_t count)
{
    double probe;
    uint8_t zero[8] = {0};
    /* sub-byte dtypes have no float values (kept_value reads nothing then) */
    return !((count || !esize) && !kept_value(dt, zero, 0, &probe));
}

/* Bytes [a, b) of a kept piece: whether they differ, and non-finite elements. */
static int scan_kept_range(engine *e, const piece *p, uint64_t a, uint64_t b, uint8_t *x, uint8_t *y,
                           bool *differ, uint64_t *nonfinite)
{
    const engine_item *it = &e->items[p->item];
    dtype_id dt = it->src->t->dtype;
    uint64_t esize = dtype_traits(dt)->bits / 8, unit = dtype_group_bytes(dt);
    uint64_t chunk = KEPT_CHUNK >= unit ? KEPT_CHUNK - KEPT_CHUNK % unit : unit;
    bool values = kept_has_values(dt, esize, esize ? p->len / esize : 0);
    ckpt_willneed(e->src, it->src, p->offset + a, b - a);
    ckpt_willneed(e->dst, it->dst, p->offset + a, b - a);
    for (uint64_t off = a; off < b; off += chunk) {
        uint64_t n = b - off < chunk ? b - off : chunk;
        if (read_kept_chunk(e, it, p->offset + off, n, x, y) < 0)
            return -1;
        if (e->read_only)
            continue;
        *differ |= memcmp(x, y, (size_t)n) != 0;
        if (esize && values) /* 0: no float values to look at */
            *nonfinite += nonfinite_count(dt, x, n / esize);
    }
    return 0;
}

/* The statistics of a differing kept piece, element by element in order. */
static int kept_piece_stats(engine *e, const piece *p, kept_out *out, uint8_t *x, uint8_t *y)
{
    const engine_item *it = &e->items[p->item];
    dtype_id dt = it->src->t->dtype;
    uint64_t esize = dtype_traits(dt)->bits / 8, first = esize ? p->offset / esize : 0;
    uint64_t unit = dtype_group_bytes(dt);
    uint64_t chunk = KEPT_CHUNK >= unit ? KEPT_CHUNK - KEPT_CHUNK % unit : unit;
    for (uint64_t off = 0; off < p->len; off += chunk) {
        uint64_t n = p->len - off < chunk ? p->len - off : chunk;
        if (read_kept_chunk(e, it, p->offset + off, n, x, y) < 0)
            return -1;
        if (!esize) {
            out->elems_differing += packed_elements_differing(x, y, n, dtype_traits(dt)->bits);
            continue;
        }
        uint64_t at = first + off / esize;
        for (uint64_t i = 0; i < n / esize; i++) {
            bool same = memcmp(x + i * esize, y + i * esize, (size_t)esize) == 0;
            out->elems_differing += !same;
            double u, v;
            if (out->values && kept_value(dt, x, i, &u) && kept_value(dt, y, i, &v))
                stats_add(&out->acc, at + i, u, v);
        }
    }
    return 0;
}

/* A piece's part of [lo, hi) of the job's bytes, cut at whole elements. */
static void kept_part_range(const engine *e, const piece *p, uint64_t at, uint64_t lo, uint64_t hi,
                            uint64_t *a, uint64_t *b)
{
    uint64_t unit = dtype_group_bytes(e->items[p->item].src->t->dtype);
    uint64_t x = lo > at ? lo - at : 0, y = hi - at < p->len ? hi - at : p->len;
    x = x >= p->len ? p->len : x - x % unit;
    y = y >= p->len ? p->len : y - y % unit;
    *a = x;
    *b = y > x ? y : x;
}

/* Part `part` of a kept job: the pieces' bytes it covers. */
static int scan_kept_part(engine *e, job *j, unsigned part, uint8_t *x, uint8_t *y)
{
    uint64_t lo = (uint64_t)part * e->extent, hi = lo + e->extent, at = 0;
    for (size_t k = 0; k < j->count && at < hi; k++) {
        const piece *p = &e->pieces[j->first + k];
        uint64_t a, b;
        kept_part_range(e, p, at, lo, hi, &a, &b);
        at += p->len;
        if (a >= b)
            continue;
        bool differ = false;
        uint64_t nonfinite = 0;
        if (scan_kept_range(e, p, a, b, x, y, &differ, &nonfinite) < 0)
            return -1;
        pthread_mutex_lock(&e->mu);
        j->kept[k].identical &= !differ;
        j->kept[k].nonfinite += nonfinite;
        pthread_mutex_unlock(&e->mu);
    }
    return 0;
}

/* After the last part: each piece's result. */
static int finish_kept_job(engine *e, job *j, uint8_t *x, uint8_t *y)
{
    for (size_t k = 0; k < j->count; k++) {
        const piece *p = &e->pieces[j->first + k];
        kept_out *o = &j->kept[k];
        dtype_id dt = e->items[p->item].src->t->dtype;
        uint64_t esize = dtype_traits(dt)->bits / 8, count = esize ? p->len / esize : 0;
        stats_init(&o->acc);
        o->values = kept_has_values(dt, esize, count);
        if (o->identical) {
            o->acc.n = count - o->nonfinite;
            o->acc.equal = count - o->nonfinite;
            o->acc.nonfinite = o->nonfinite;
        } else if (kept_piece_stats(e, p, o, x, y) < 0)
            return -1;
    }
    return 0;
}

/* ---- handing out the reads ----------------------------------------------- */

/* Whether job j may start: it is the next to deliver, or within the window
 * of results held ahead of delivery. */
static bool in_window(const engine *e, size_t j)
{
    const job *jb = &e->jobs[j];
    return j == e->delivered_job ||
           (j < e->delivered_job + JOB_WINDOW && jb->first + jb->count <= e->delivered_piece + PIECE_WINDOW);
}

/* The next read for a reader (under mu): quantized parts first (the GPU
 * waits for them), kept jobs while no slot is free. False: none left. */
static bool take_read(engine *e, size_t *jout, unsigned *part)
{
    for (;;) {
        if (e->failed || e->stop)
            return false;
        if (e->quant_next < e->nquant) {
            size_t q = e->quant_next, j = e->quant_jobs[q];
            slot *sl = &e->slots[q % e->nslots];
            if (e->quant_part > 0 || (sl->next_quant == q && in_window(e, j))) {
                if (e->quant_part == 0) {
                    slot_buffer(e, sl, 0, e->jobs[j].src_bytes);
                    slot_buffer(e, sl, 1, e->jobs[j].a_bytes);
                    slot_buffer(e, sl, 2, e->jobs[j].b_bytes);
                }
                *jout = j;
                *part = e->quant_part++;
                if (e->quant_part == e->jobs[j].parts) {
                    e->quant_next++;
                    e->quant_part = 0;
                }
                return true;
            }
        }
        if (e->kept_next < e->nkept && (e->kept_part > 0 || in_window(e, e->kept_jobs[e->kept_next]))) {
            size_t j = e->kept_jobs[e->kept_next];
            job *jb = &e->jobs[j];
            if (e->kept_part == 0) {
                jb->kept = xcalloc(jb->count, sizeof *jb->kept);
                for (size_t k = 0; k < jb->count; k++)
                    jb->kept[k].identical = true;
            }
            *jout = j;
            *part = e->kept_part++;
            if (e->kept_part == jb->parts) {
                e->kept_next++;
                e->kept_part = 0;
            }
            return true;
        }
        if (e->quant_next >= e->nquant && e->kept_next >= e->nkept)
            return false;
        pthread_cond_wait(&e->cv, &e->mu);
    }
}

static void *reader_main(void *arg)
{
    engine *e = arg;
    uint8_t *a = xmalloc(KEPT_CHUNK), *b = xmalloc(KEPT_CHUNK);
    read_list l = {0};
    double busy = 0, t0 = util_now_seconds();
    pthread_mutex_lock(&e->mu);
    size_t j;
    unsigned part;
    while (take_read(e, &j, &part)) {
        pthread_mutex_unlock(&e->mu);
        job *jb = &e->jobs[j];
        double t1 = util_now_seconds();
        int rc = jb->kind == ENGINE_KEPT ? scan_kept_part(e, jb, part, a, b) : read_quant_part(e, jb, part, &l);
        pthread_mutex_lock(&e->mu);
        bool last = rc == 0 && ++jb->parts_done == jb->parts;
        pthread_mutex_unlock(&e->mu);
        if (last && jb->kind == ENGINE_KEPT)
            rc = finish_kept_job(e, jb, a, b);
        busy += util_now_seconds() - t1;
        pthread_mutex_lock(&e->mu);
        if (rc < 0)
            break;
        if (last) {
            jb->state = jb->kind == ENGINE_KEPT ? JOB_DONE : JOB_READ;
            e->bytes_read += jb->bytes;
            pthread_cond_broadcast(&e->cv);
        }
    }
    e->t_read_busy += busy;
    e->t_read_wait += util_now_seconds() - t0 - busy;
    pthread_mutex_unlock(&e->mu);
    free(l.ops);
    free(a);
    free(b);
    return NULL;
}

/* ---- computing quantized jobs -------------------------------------------- */

typedef struct {
    engine *e;
    int worker;
} worker_arg;

/* Hands a read job to the backend (queued on a GPU lane; computed at once on
 * the CPU). */
static int submit_job(engine *e, int worker, int lane, job *j, char *err, size_t errlen)
{
    slot *sl = &e->slots[j->quant % e->nslots];
    j->hist = xcalloc(MX_HIST_LEN, sizeof(uint64_t));
    stats_init(&j->acc);
    if (e->read_only)
        return 0;
    mx_placed_slab *ps = xmalloc(j->count * sizeof *ps);
    place pl = {0, 0, 0};
    for (size_t k = 0; k < j->count; k++) {
        place h = advance(e, &e->pieces[j->first + k], &pl);
        ps[k] = (mx_placed_slab){e->pieces[j->first + k].slab, h.src, h.a, h.b};
    }
    mx_job_data d = {{sl->buf[0], sl->buf[1], sl->buf[2]}, j->src_bytes, j->a_bytes, j->b_bytes};
    const engine_item *it = &e->items[e->pieces[j->first].item];
    int rc = 0;
    if (e->b)
        rc = backend_submit(e->b, worker, lane, &it->geom, ps, j->count, &d, &e->o->variant,
                            e->o->requant, err, errlen);
    else
        for (size_t k = 0; k < j->count; k++) {
            mx_buffers at = {(const uint16_t *)(const void *)((const char *)d.buf.src + ps[k].src),
                             d.buf.blocks + ps[k].blocks, d.buf.scales + ps[k].scales};
            mx_compare_slab_cpu(&it->geom, &ps[k].slab, &at, &e->o->variant, e->o->requant, &j->acc,
                                j->hist);
        }
    free(ps);
    return rc;
}

static int collect_job(engine *e, int worker, int lane, job *j, char *err, size_t errlen)
{
    if (!e->b || e->read_only)
        return 0;
    return backend_collect(e->b, worker, lane, &j->acc, j->hist, err, errlen);
}

/* A worker: takes the read quantized jobs in order, keeps up to `lanes` of
 * them in flight, and retires the oldest when it has nothing new to start. */
static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    engine *e = wa->e;
    omp_set_num_threads(e->omp_threads); /* a new thread starts from the defaults */
    size_t fifo[BACKEND_LANES];
    int lane_of[BACKEND_LANES];
    size_t head = 0, inflight = 0, submitted = 0;
    char err[ST_ERR_LEN] = "";
    double submit_s = 0, collect_s = 0;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        bool take = false;
        size_t j = 0;
        while (!e->failed) {
            if (inflight < (size_t)e->lanes && e->compute_next < e->nquant &&
                e->jobs[e->quant_jobs[e->compute_next]].state == JOB_READ) {
                j = e->quant_jobs[e->compute_next++];
                take = true;
                break;
            }
            if (inflight > 0 || e->compute_next >= e->nquant)
                break;
            pthread_cond_wait(&e->cv, &e->mu);
        }
        if (e->failed || (!take && inflight == 0))
            break;
        pthread_mutex_unlock(&e->mu);
        int rc = 0;
        double t0 = util_now_seconds();
        if (take) {
            int lane = (int)(submitted++ % (size_t)e->lanes);
            slot_pin(e, &e->slots[e->jobs[j].quant % e->nslots]);
            fifo[(head + inflight) % BACKEND_LANES] = j;
            lane_of[(head + inflight) % BACKEND_LANES] = lane;
            inflight++;
            rc = submit_job(e, wa->worker, lane, &e->jobs[j], err, sizeof err);
            submit_s += util_now_seconds() - t0;
        } else {
            job *old = &e->jobs[fifo[head]];
            rc = collect_job(e, wa->worker, lane_of[head], old, err, sizeof err);
            collect_s += util_now_seconds() - t0;
            head = (head + 1) % BACKEND_LANES;
            inflight--;
            pthread_mutex_lock(&e->mu);
            old->state = JOB_DONE;
            e->slots[old->quant % e->nslots].next_quant += e->nslots;
            pthread_cond_broadcast(&e->cv);
            pthread_mutex_unlock(&e->mu);
        }
        pthread_mutex_lock(&e->mu);
        if (rc < 0) {
            fail_locked(e, err);
            break;
        }
    }
    e->t_submit += submit_s;
    e->t_collect += collect_s;
    pthread_mutex_unlock(&e->mu);
    /* after a failure: nothing may still copy from the slots when they are freed */
    for (; inflight > 0; inflight--, head = (head + 1) % BACKEND_LANES)
        collect_job(e, wa->worker, lane_of[head], &e->jobs[fifo[head]], err, sizeof err);
    return NULL;
}

/* ---- delivering, in item order ------------------------------------------- */

static void reset_result(engine *e)
{
    stats_init(&e->res.acc);
    memset(e->hist, 0, sizeof e->hist);
    e->res.hist = e->hist;
    e->res.identical = true;
    e->res.values = true;
    e->res.elems_differing = 0;
}

/* Hands out the results of every item before `upto` (those without pieces
 * get an empty one), then starts afresh. */
static void deliver(engine *e, size_t upto)
{
    while (e->next_done < upto) {
        if (e->o->done)
            e->o->done(e->o->done_ctx, e->next_done, &e->res);
        e->next_done++;
        reset_result(e);
    }
}

/* A finished job's results into its items' (merged in piece order, so the
 * report does not depend on which thread or GPU computed what). */
static void merge_job(engine *e, job *j)
{
    if (j->kind == ENGINE_QUANTIZED) {
        deliver(e, e->pieces[j->first].item);
        stats_merge(&e->res.acc, &j->acc);
        for (int i = 0; i < MX_HIST_LEN; i++)
            e->hist[i] += j->hist[i];
        return;
    }
    for (size_t k = 0; k < j->count; k++) {
        const kept_out *o = &j->kept[k];
        deliver(e, e->pieces[j->first + k].item);
        stats_merge(&e->res.acc, &o->acc);
        e->res.identical &= o->identical;
        e->res.values &= o->values;
        e->res.elems_differing += o->elems_differing;
    }
}

static void release_job(job *j)
{
    free(j->kept);
    free(j->hist);
    j->kept = NULL;
    j->hist = NULL;
}

static void show_progress(engine *e, bool final)
{
    double t = util_now_seconds();
    if (!e->o->progress || (!final && t - e->last_progress < PROGRESS_INTERVAL))
        return;
    e->last_progress = t;
    pthread_mutex_lock(&e->mu);
    double done = (double)e->bytes_read, total = (double)e->bytes_total;
    pthread_mutex_unlock(&e->mu);
    double el = t - e->start, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    char text[96];
    int n = snprintf(text, sizeof text, " %.2f/%.2f GB  %.2f GB/s  ETA %.0fs", done / 1e9, total / 1e9,
                     rate / 1e9, eta);
    /* one line whatever the terminal's width: a line that wraps would add a
     * line at every redraw */
    int cols = text_terminal_columns(STDERR_FILENO), room = cols - 1 - n - 2;
    int width = room < 30 ? room : 30;
    int shown;
    if (width < 5) { /* too narrow for a bar: the numbers alone, cut to fit */
        shown = cols - 1 < n - 1 ? cols - 1 : n - 1;
        fprintf(stderr, "\r%.*s", shown > 0 ? shown : 0, text + 1);
    } else {
        int fill = total > 0 ? (int)(width * done / total) : width;
        fprintf(stderr, "\r[%.*s%*s]%s", fill, "##############################", width - fill, "", text);
        shown = width + 2 + n;
    }
    if (shown < cols - 1) /* blank what a longer line left behind */
        fprintf(stderr, "%*s", cols - 1 - shown, "");
    if (final)
        fputc('\n', stderr);
}

/* Waits for each job in order and delivers it. */
static int deliver_all(engine *e)
{
    for (size_t j = 0; j < e->njobs; j++) {
        job *jb = &e->jobs[j];
        double t0 = util_now_seconds();
        pthread_mutex_lock(&e->mu);
        while (jb->state != JOB_DONE && !e->failed)
            pthread_cond_wait(&e->cv, &e->mu);
        bool failed = e->failed;
        pthread_mutex_unlock(&e->mu);
        e->t_deliver_wait += util_now_seconds() - t0;
        if (failed)
            return -1;
        merge_job(e, jb);
        release_job(jb);
        pthread_mutex_lock(&e->mu);
        e->delivered_job = j + 1;
        e->delivered_piece = jb->first + jb->count;
        pthread_cond_broadcast(&e->cv);
        uint64_t done = e->bytes_read;
        pthread_mutex_unlock(&e->mu);
        show_progress(e, false);
        if (e->o->on_progress)
            e->o->on_progress(e->o->progress_ctx, done, e->bytes_total);
        if (e->o->cancel && atomic_load(e->o->cancel)) {
            fail(e, "cancelled");
            return -1;
        }
    }
    return 0;
}

/* Starts the workers once the backend is up (reading goes on meanwhile).
 * Returns how many started. */
static int start_workers(engine *e, pthread_t *threads, worker_arg *args)
{
    int n = 0;
    char err[ST_ERR_LEN];
    if (e->b && backend_ready(e->b, err, sizeof err) < 0) {
        fail(e, err);
        return 0;
    }
    pthread_mutex_lock(&e->mu);
    e->workers = e->b ? backend_workers(e->b) : 1;
    e->lanes = e->b ? backend_lanes(e->b) : 1;
    pthread_mutex_unlock(&e->mu);
    for (; n < e->workers; n++) {
        args[n] = (worker_arg){e, n};
        if (pthread_create(&threads[n], NULL, worker_main, &args[n]) != 0) {
            fail(e, "cannot start a compute thread");
            break;
        }
    }
    return n;
}

int engine_run(const ckpt *src, const ckpt *dst, const engine_item *items, size_t n,
               const engine_opts *o, uint64_t *bytes_read, char *err, size_t errlen)
{
    engine e = {.src = src, .dst = dst, .items = items, .nitems = n, .o = o, .b = o->backend,
                .err = err, .errlen = errlen};
    reset_result(&e);
    e.extent = extent_from_env();
    const char *bench = getenv("MXFP4_CHECK_BENCH");
    e.read_only = bench && strcmp(bench, "read") == 0;
    plan_jobs(&e, n, o->slab_bytes ? o->slab_bytes : ENGINE_DEFAULT_SLAB_BYTES, o->first_slab_only);
    bool gpu = e.b && backend_may_use_gpu(e.b);
    e.readers = reader_count(gpu);
    e.omp_threads = omp_get_max_threads();
    e.workers = 1;
    e.lanes = gpu ? BACKEND_LANES : 1;
    uint64_t job_max = 0;
    for (size_t q = 0; q < e.nquant; q++) {
        const job *j = &e.jobs[e.quant_jobs[q]];
        uint64_t bytes = align_up(j->src_bytes, PAGE) + align_up(j->a_bytes, PAGE) + align_up(j->b_bytes, PAGE);
        job_max = bytes > job_max ? bytes : job_max;
    }
    e.nslots = slot_count(&e, job_max);
    e.slots = xcalloc(e.nslots, sizeof(slot));
    for (size_t s = 0; s < e.nslots; s++)
        e.slots[s].next_quant = s;
    pthread_mutex_init(&e.mu, NULL);
    pthread_cond_init(&e.cv, NULL);
    e.start = e.last_progress = util_now_seconds();
    ckpt_advise_sequential(src);
    ckpt_advise_sequential(dst);
    pthread_t readers[MAX_READERS], *workers = NULL;
    worker_arg *wargs = NULL;
    int nreaders = 0, nworkers = 0;
    for (; nreaders < e.readers && e.njobs; nreaders++)
        if (pthread_create(&readers[nreaders], NULL, reader_main, &e) != 0) {
            if (nreaders == 0)
                fail(&e, "cannot start the reader threads");
            break;
        }
    if (e.nquant && !e.failed) {
        int most = 1;
        double t0 = util_now_seconds();
        if (e.b && backend_ready(e.b, NULL, 0) == 0)
            most = backend_workers(e.b);
        e.t_ready = util_now_seconds() - t0;
        workers = xcalloc((size_t)most, sizeof *workers);
        wargs = xcalloc((size_t)most, sizeof *wargs);
        nworkers = start_workers(&e, workers, wargs);
    }
    int rc = e.failed ? -1 : deliver_all(&e);
    pthread_mutex_lock(&e.mu);
    e.stop = true;
    pthread_cond_broadcast(&e.cv);
    pthread_mutex_unlock(&e.mu);
    for (int r = 0; r < nreaders; r++)
        pthread_join(readers[r], NULL);
    for (int w = 0; w < nworkers; w++)
        pthread_join(workers[w], NULL);
    if (rc == 0 && e.failed)
        rc = -1;
    if (rc == 0) {
        deliver(&e, e.nitems);
        show_progress(&e, true);
    }
    if (bytes_read)
        *bytes_read = e.bytes_read;
    double t_unpin = util_now_seconds();
    for (size_t s = 0; s < e.nslots; s++)
        slot_free(&e, &e.slots[s]);
    t_unpin = util_now_seconds() - t_unpin;
    if (getenv("MXFP4_CHECK_TRACE")) /* where the time went: tuning aid */
        fprintf(stderr,
                "engine: %zu pieces in %zu jobs (%zu quantized), %d readers, %d workers x %d lanes (%d CPU threads), %zu slots; "
                "%.3f s: waited %.3f for the backend; readers busy %.3f, idle %.3f (thread-seconds); "
                "workers submitting %.3f, collecting %.3f; pinning %.3f, unpinning %.3f; delivery waited %.3f\n",
                e.npieces, e.njobs, e.nquant, e.readers, e.workers, e.lanes, e.omp_threads, e.nslots,
                util_now_seconds() - e.start, e.t_ready, e.t_read_busy, e.t_read_wait, e.t_submit, e.t_collect,
                e.t_pin, t_unpin, e.t_deliver_wait);
    for (size_t j = 0; j < e.njobs; j++)
        release_job(&e.jobs[j]);
    free(e.slots);
    free(workers);
    free(wargs);
    free(e.jobs);
    free(e.kept_jobs);
    free(e.quant_jobs);
    free(e.pieces);
    pthread_cond_destroy(&e.cv);
    pthread_mutex_destroy(&e.mu);
    return rc;
}
