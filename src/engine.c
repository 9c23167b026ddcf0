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

#define SLOTS 2 /* one being read while the other is computed on */
#define PROGRESS_INTERVAL 0.2
#define READ_PIECE ((uint64_t)2 << 20) /* enough pieces per slab to keep 16 readers busy */
#define MAX_READERS 16

#define BATCH_MAX_PIECES 4096 /* pieces per job: bounds the read list of one hand-over */
#define PIECE_ALIGN 64          /* each piece starts a cache line in the slot buffers */

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

/* What the reader hands over at once: consecutive pieces whose source bytes
 * together stay within the slab budget (or one larger piece), so tiny
 * tensors do not cost a hand-over each. The pieces of one item are
 * consecutive, and so are its jobs. */
typedef struct {
    size_t first, count;                 /* pieces[first .. first + count) */
    uint64_t src_bytes, a_bytes, b_bytes; /* slot buffer sizes it needs */
    uint64_t bytes;                      /* tensor data bytes it reads */
} job;

typedef struct {
    void *src, *dst_a, *dst_b; /* source; blocks (or DST copy); scales */
    size_t cap_src, cap_a, cap_b;
    bool full;
} slot;

typedef struct {
    const ckpt *src, *dst;
    const engine_item *items;
    size_t nitems, next_done;  /* items before next_done have had their call */
    engine_result res;         /* the item being computed */
    const engine_opts *o;
    piece *pieces;
    size_t npieces, pieces_cap;
    job *jobs;
    size_t njobs, jobs_cap;
    slot slots[SLOTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool failed;           /* the reader stopped on an error */
    bool stop;             /* the consumer gave up */
    char *err;
    size_t errlen;
    uint64_t bytes_read, bytes_total;
    struct read_op *reads;   /* the reads of the job being read (reader thread only) */
    size_t nreads, reads_cap;
    int readers;             /* threads of the reader team */
    uint64_t hist[256];      /* scale bytes of the item being computed */
    double t_read, t_reader_wait, t_compute, t_compute_wait; /* MXFP4_CHECK_TRACE */
    double start;
    double last_progress;
} engine;

/* Reader threads: half the cores when the CPU also computes, all of them when
 * the GPU does; MXFP4_CHECK_READERS overrides (tuning, benchmarks). */
static int reader_count(const backend *b)
{
    const char *s = getenv("MXFP4_CHECK_READERS");
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (v > 0 && *end == '\0')
        return v > MAX_READERS ? MAX_READERS : (int)v;
    int procs = omp_get_num_procs();
    int n = b && strcmp(backend_name(b), "cuda") == 0 ? procs : procs / 2;
    return n < 2 ? 2 : n > MAX_READERS ? MAX_READERS : n;
}

uint64_t engine_slab_bytes_from_env(void)
{
    const char *s = getenv("MXFP4_CHECK_SLAB_BYTES");
    char *end;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    return v > 0 && *end == '\0' ? (uint64_t)v : ENGINE_DEFAULT_SLAB_BYTES;
}

/* ---- planning the reads -------------------------------------------------- */

static uint64_t align_up(uint64_t n)
{
    return (n + PIECE_ALIGN - 1) / PIECE_ALIGN * PIECE_ALIGN;
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
    pl->src += align_up(sz[0]);
    pl->a += align_up(sz[1]);
    pl->b += align_up(sz[2]);
    return here;
}

/* Appends a piece to the last job, or to a new one when it would take that
 * job past the budget or the piece limit. */
static void add_piece(engine *e, piece p, uint64_t budget)
{
    uint64_t sz[3];
    piece_sizes(e, &p, sz);
    job *j = e->njobs ? &e->jobs[e->njobs - 1] : NULL;
    if (!j || j->count == BATCH_MAX_PIECES || j->src_bytes + align_up(sz[0]) > budget) {
        xgrow(&e->jobs, &e->jobs_cap, e->njobs + 1, sizeof(job));
        j = &e->jobs[e->njobs++];
        *j = (job){.first = e->npieces};
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
}

/* ---- reading ------------------------------------------------------------- */

/* One pread of a job. A job's reads are cut into pieces of at most
 * READ_PIECE bytes and run by a team of reader threads: one stream of preads
 * from the page cache is several times slower than the memory bus. */
typedef struct read_op {
    const ckpt *c;
    const ckpt_tensor *t;
    uint64_t offset;
    void *dst;
    size_t len;
} read_op;

static void ensure(engine *e, void **buf, size_t *cap, uint64_t need)
{
    if (need <= *cap)
        return;
    if (e->o->backend) {
        backend_host_free(e->o->backend, *buf);
        *buf = backend_host_alloc(e->o->backend, (size_t)need);
    } else {
        free(*buf);
        *buf = xmalloc((size_t)need);
    }
    *cap = (size_t)need;
}

static void release(engine *e, void *buf)
{
    if (e->o->backend)
        backend_host_free(e->o->backend, buf);
    else
        free(buf);
}

static void add_read(engine *e, const ckpt *c, const ckpt_tensor *t, uint64_t offset, void *dst,
                     uint64_t len)
{
    for (uint64_t done = 0; done < len; done += READ_PIECE) {
        uint64_t n = len - done < READ_PIECE ? len - done : READ_PIECE;
        xgrow(&e->reads, &e->reads_cap, e->nreads + 1, sizeof(read_op));
        e->reads[e->nreads++] = (read_op){c, t, offset + done, (char *)dst + done, (size_t)n};
    }
}

static int run_reads(engine *e)
{
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(e->readers)
    for (size_t i = 0; i < e->nreads; i++) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop)
            continue;
        const read_op *r = &e->reads[i];
        char err[ST_ERR_LEN];
        if (ckpt_read(r->c, r->t, r->offset, r->dst, r->len, err, sizeof err) < 0) {
#pragma omp critical(engine_read_error)
            if (!failed) {
                text_side_error(e->err, e->errlen, r->c == e->src ? "SRC" : "DST", ckpt_path(r->c), err);
#pragma omp atomic write
                failed = 1;
            }
        }
    }
    e->nreads = 0;
    return failed ? -1 : 0;
}

/* Blocks and scales of a slab. A slab of whole rows is one run each; a slab
 * cut along the groups gathers one run per stored row. */
static void plan_mx_dst_reads(engine *e, const engine_item *it, const mx_slab *s, uint8_t *blocks,
                              uint8_t *scales)
{
    uint64_t N = it->geom.rows, G = it->geom.groups, groups = s->g1 - s->g0;
    if (groups == G) {
        uint64_t first = s->m0 * N + s->n0, rows = (s->m1 - s->m0) * (s->n1 - s->n0);
        add_read(e, e->dst, it->blocks, first * G * MXFP4_BLOCK_BYTES, blocks,
                 rows * G * MXFP4_BLOCK_BYTES);
        add_read(e, e->dst, it->scales, first * G, scales, rows * G);
        return;
    }
    for (uint64_t m = s->m0; m < s->m1; m++) {
        for (uint64_t n = s->n0; n < s->n1; n++) {
            uint64_t row = m * N + n, out = ((m - s->m0) * (s->n1 - s->n0) + n - s->n0) * groups;
            add_read(e, e->dst, it->blocks, (row * G + s->g0) * MXFP4_BLOCK_BYTES,
                     blocks + out * MXFP4_BLOCK_BYTES, groups * MXFP4_BLOCK_BYTES);
            add_read(e, e->dst, it->scales, row * G + s->g0, scales + out, groups);
        }
    }
}

/* Source bytes of a slab: always one contiguous run (see numerics.h). */
static uint64_t slab_src_offset(const mx_geom *g, const mx_slab *s)
{
    uint64_t N = g->rows, K = g->groups * MXFP4_BLOCK_ELEMS;
    uint64_t elem = g->layout == MX_TRANSPOSED ? s->m0 * N * K + s->g0 * MXFP4_BLOCK_ELEMS * N
                                               : s->m0 * N * K + s->n0 * K;
    return elem * 2;
}

/* A piece's place in a slot buffer (a buffer never allocated stays NULL:
 * only empty pieces point there). */
static void *at(void *buf, uint64_t offset)
{
    return buf ? (char *)buf + offset : NULL;
}

static void plan_piece_reads(engine *e, const piece *p, slot *sl, place *pl)
{
    const engine_item *it = &e->items[p->item];
    place h = advance(e, p, pl);
    void *src = at(sl->src, h.src), *a = at(sl->dst_a, h.a), *b = at(sl->dst_b, h.b);
    if (it->kind == ENGINE_KEPT) {
        add_read(e, e->src, it->src, p->offset, src, p->len);
        add_read(e, e->dst, it->dst, p->offset, a, p->len);
        return;
    }
    add_read(e, e->src, it->src, slab_src_offset(&it->geom, &p->slab), src,
             mx_slab_src_bytes(&it->geom, &p->slab));
    plan_mx_dst_reads(e, it, &p->slab, a, b);
}

/* All reads of a job's pieces go to the reader team at once. */
static int read_job(engine *e, const job *j, slot *sl)
{
    ensure(e, &sl->src, &sl->cap_src, j->src_bytes);
    ensure(e, &sl->dst_a, &sl->cap_a, j->a_bytes);
    ensure(e, &sl->dst_b, &sl->cap_b, j->b_bytes);
    place pl = {0, 0, 0};
    for (size_t k = 0; k < j->count; k++)
        plan_piece_reads(e, &e->pieces[j->first + k], sl, &pl);
    return run_reads(e);
}

static void *reader_main(void *arg)
{
    engine *e = arg;
    for (size_t j = 0; j < e->njobs; j++) {
        slot *sl = &e->slots[j % SLOTS];
        double t0 = util_now_seconds();
        pthread_mutex_lock(&e->mu);
        while (sl->full && !e->stop)
            pthread_cond_wait(&e->cv, &e->mu);
        bool stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        if (stop)
            return NULL;
        double t1 = util_now_seconds();
        int rc = read_job(e, &e->jobs[j], sl);
        e->t_reader_wait += t1 - t0;
        e->t_read += util_now_seconds() - t1;
        pthread_mutex_lock(&e->mu);
        if (rc < 0)
            e->failed = true;
        else {
            sl->full = true;
            e->bytes_read += e->jobs[j].bytes;
        }
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        if (rc < 0)
            return NULL;
    }
    return NULL;
}

/* ---- computing ----------------------------------------------------------- */

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

/* Whether element i of a floating-point run is NaN or inf (exponent all ones). */
static bool nonfinite_at(dtype_id dt, const uint8_t *p, uint64_t i)
{
    uint16_t h;
    uint32_t w;
    uint64_t d;
    switch (dt) {
    case DT_BF16: memcpy(&h, p + i * 2, 2); return (h & 0x7F80u) == 0x7F80u;
    case DT_F16: memcpy(&h, p + i * 2, 2); return (h & 0x7C00u) == 0x7C00u;
    case DT_F32: memcpy(&w, p + i * 4, 4); return (w & 0x7F800000u) == 0x7F800000u;
    case DT_F64:
        memcpy(&d, p + i * 8, 8);
        return (d & UINT64_C(0x7FF0000000000000)) == UINT64_C(0x7FF0000000000000);
    default: return false;
    }
}

/* The kept comparison of a job, in chunks over the threads: whether the
 * bytes are equal and how many elements are non-finite. */
#define KEPT_CHUNK ((uint64_t)1 << 20)
static bool kept_equal(dtype_id dt, const uint8_t *src, const uint8_t *dst, uint64_t len,
                       uint64_t esize, uint64_t *nonfinite)
{
    uint64_t chunks = (len + KEPT_CHUNK - 1) / KEPT_CHUNK, nf = 0;
    int differ = 0;
#pragma omp parallel for schedule(static) reduction(| : differ) reduction(+ : nf) if (chunks > 1)
    for (uint64_t c = 0; c < chunks; c++) {
        uint64_t off = c * KEPT_CHUNK, n = len - off < KEPT_CHUNK ? len - off : KEPT_CHUNK;
        differ |= memcmp(src + off, dst + off, (size_t)n) != 0;
        if (esize) /* 0: no float values to look at */
            for (uint64_t i = off / esize; i < (off + n) / esize; i++)
                nf += nonfinite_at(dt, src, i);
    }
    *nonfinite = nf;
    return !differ;
}

/* Kept tensors must be bit-identical. Identical bytes need no arithmetic:
 * every element is equal (the non-finite ones are only counted). When the
 * bytes differ, floating-point tensors get statistics so the report says how
 * far off they are; other dtypes get the count of differing elements. */
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

static void compute_kept(const engine_item *it, engine_result *res, const piece *p,
                         const uint8_t *src, const uint8_t *dst)
{
    dtype_id dt = it->src->t->dtype;
    uint64_t esize = dtype_traits(dt)->bits / 8, first = esize ? p->offset / esize : 0;
    uint64_t count = esize ? p->len / esize : 0;
    double a, b;
    /* sub-byte dtypes have no float values (kept_value reads nothing then) */
    if ((count || !esize) && !kept_value(dt, src, 0, &a))
        res->values = false;
    uint64_t nonfinite;
    if (kept_equal(dt, src, dst, p->len, esize > 0 && res->values ? esize : 0, &nonfinite)) {
        res->acc.n += count - nonfinite;
        res->acc.equal += count - nonfinite;
        res->acc.nonfinite += nonfinite;
        return;
    }
    res->identical = false;
    if (!esize) {
        res->elems_differing += packed_elements_differing(src, dst, p->len, dtype_traits(dt)->bits);
        return;
    }
    for (uint64_t i = 0; i < count; i++) {
        bool same = memcmp(src + i * esize, dst + i * esize, (size_t)esize) == 0;
        res->elems_differing += !same;
        if (res->values && kept_value(dt, src, i, &a) && kept_value(dt, dst, i, &b))
            stats_add(&res->acc, first + i, a, b);
    }
}

static int compute_piece(engine *e, const piece *p, const slot *sl, place *pl, char *err,
                         size_t errlen)
{
    const engine_item *it = &e->items[p->item];
    place h = advance(e, p, pl);
    const uint8_t *src = at(sl->src, h.src), *a = at(sl->dst_a, h.a), *b = at(sl->dst_b, h.b);
    if (it->kind == ENGINE_KEPT) {
        compute_kept(it, &e->res, p, src, a);
        return 0;
    }
    mx_buffers buf = {(const uint16_t *)(const void *)src, a, b};
    if (!e->o->backend) {
        mx_compare_slab_cpu(&it->geom, &p->slab, &buf, &e->o->variant, e->o->requant, &e->res.acc,
                            e->hist);
        return 0;
    }
    return backend_compare_slab(e->o->backend, &it->geom, &p->slab, &buf, &e->o->variant,
                                e->o->requant, &e->res.acc, e->hist, err, errlen);
}

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

/* Before an item's first piece, the items before it are complete. */
static void start_piece(engine *e, const piece *p)
{
    deliver(e, p->item);
}

static int compute_job(engine *e, const job *j, const slot *sl, char *err, size_t errlen)
{
    place pl = {0, 0, 0};
    for (size_t k = 0; k < j->count; k++) {
        start_piece(e, &e->pieces[j->first + k]);
        if (compute_piece(e, &e->pieces[j->first + k], sl, &pl, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static void show_progress(engine *e, bool final)
{
    double t = util_now_seconds();
    if (!e->o->progress || (!final && t - e->last_progress < PROGRESS_INTERVAL))
        return;
    e->last_progress = t;
    double el = t - e->start, done = (double)e->bytes_read, total = (double)e->bytes_total;
    double rate = el > 0 ? done / el : 0;
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

int engine_run(const ckpt *src, const ckpt *dst, const engine_item *items, size_t n,
               const engine_opts *o, uint64_t *bytes_read, char *err, size_t errlen)
{
    engine e = {.src = src, .dst = dst, .items = items, .nitems = n, .o = o, .err = err,
                .errlen = errlen};
    reset_result(&e);
    plan_jobs(&e, n, o->slab_bytes ? o->slab_bytes : ENGINE_DEFAULT_SLAB_BYTES, o->first_slab_only);
    e.readers = reader_count(o->backend);
    pthread_mutex_init(&e.mu, NULL);
    pthread_cond_init(&e.cv, NULL);
    e.start = e.last_progress = util_now_seconds();
    pthread_t reader;
    char compute_err[ST_ERR_LEN] = "";
    int rc = 0;
    if (pthread_create(&reader, NULL, reader_main, &e) != 0) {
        snprintf(err, errlen, "cannot start the reader thread");
        free(e.jobs);
        free(e.pieces);
        pthread_cond_destroy(&e.cv);
        pthread_mutex_destroy(&e.mu);
        return -1;
    }
    for (size_t j = 0; j < e.njobs; j++) {
        slot *sl = &e.slots[j % SLOTS];
        double t0 = util_now_seconds();
        pthread_mutex_lock(&e.mu);
        while (!sl->full && !e.failed)
            pthread_cond_wait(&e.cv, &e.mu);
        bool ready = sl->full;
        pthread_mutex_unlock(&e.mu);
        if (!ready) {
            rc = -1;
            break;
        }
        double t1 = util_now_seconds();
        e.t_compute_wait += t1 - t0;
        if (compute_job(&e, &e.jobs[j], sl, compute_err, sizeof compute_err) < 0) {
            rc = -1;
            break;
        }
        e.t_compute += util_now_seconds() - t1;
        pthread_mutex_lock(&e.mu);
        sl->full = false;
        pthread_cond_broadcast(&e.cv);
        uint64_t done = e.bytes_read;
        pthread_mutex_unlock(&e.mu);
        show_progress(&e, false);
        if (o->on_progress)
            o->on_progress(o->progress_ctx, done, e.bytes_total);
        if (o->cancel && atomic_load(o->cancel)) {
            snprintf(compute_err, sizeof compute_err, "cancelled");
            rc = -1;
            break;
        }
    }
    pthread_mutex_lock(&e.mu);
    e.stop = true;
    pthread_cond_broadcast(&e.cv);
    pthread_mutex_unlock(&e.mu);
    pthread_join(reader, NULL);
    if (getenv("MXFP4_CHECK_TRACE")) /* where the time went: tuning aid */
        fprintf(stderr, "engine: %zu pieces in %zu jobs, %d readers, %.3f s: read %.3f (waiting for a slot %.3f), "
                        "compute %.3f (waiting for data %.3f)\n", e.npieces, e.njobs, e.readers,
                util_now_seconds() - e.start, e.t_read, e.t_reader_wait, e.t_compute, e.t_compute_wait);
    if (compute_err[0]) /* the reader's error, if any, is already in err */
        snprintf(err, errlen, "%s", compute_err);
    if (rc == 0) {
        deliver(&e, e.nitems);
        show_progress(&e, true);
    }
    if (bytes_read)
        *bytes_read = e.bytes_read;
    for (int s = 0; s < SLOTS; s++) {
        release(&e, e.slots[s].src);
        release(&e, e.slots[s].dst_a);
        release(&e, e.slots[s].dst_b);
    }
    free(e.jobs);
    free(e.pieces);
    free(e.reads);
    pthread_cond_destroy(&e.cv);
    pthread_mutex_destroy(&e.mu);
    return rc;
}
