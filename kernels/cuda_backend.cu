// CUDA backend: the slab comparison of numerics.h in one fused kernel
// (dequantize + compare + reductions + re-quantization), sharing src/mxfp4.h
// (decoding, the reference quantizer), numerics.h (where a block's source
// values are) and stats.h (the accumulator) with the CPU reference, so both
// decode, round and accumulate with the same code.
//
// One thread takes one MXFP4 block (32 elements). Threads are laid out so a
// warp's source reads are coalesced: consecutive threads take consecutive
// stored rows n in the transposed layout (the 32 source values of a block are
// a column there, rows of the source tile are contiguous across the warp),
// consecutive groups in the direct layout (each thread reads 64 contiguous
// bytes). Threads accumulate with stats.h's stats_add; each CUDA block
// merges its threads in a fixed tree and writes one stats_acc, which the host
// merges in block order, so the result is deterministic.
//
// Work arrives as jobs (slabs of one tensor read together) on lanes: each
// lane is a stream with its own device buffers, so a job's host-to-device
// copy overlaps the previous job's kernels and the next job's reads.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "cuda_backend.h"
#include "mxfp4.h"

#define THREADS 128

namespace {

struct slab_args {
    mx_geom g;
    unsigned long long m0, n0, g0, mats, rows, groups, total;
    mx_variant v; // how DST's bytes are decoded (numerics.h, shared with the CPU)
    int requant;
};

// The 32 source values of block (ml, nl, gl) of the slab, and where the
// first is in the source tensor; consecutive values are `stride` apart there.
__device__ void load_block(const slab_args &a, const uint16_t *src, unsigned long long ml,
                           unsigned long long nl, unsigned long long gl, float *x, uint64_t *first,
                           uint64_t *stride)
{
    unsigned long long N = a.g.rows, K = a.g.groups * MXFP4_BLOCK_ELEMS;
    *first = mx_block_source(&a.g, a.m0 + ml, a.n0 + nl, a.g0 + gl, stride);
    if (a.g.layout == MX_TRANSPOSED) {
        const uint16_t *col = src + (ml * a.groups + gl) * MXFP4_BLOCK_ELEMS * N + a.n0 + nl;
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            x[i] = mxfp4_bf16_to_f32(col[(unsigned long long)i * N]);
    } else {
        const uint4 *row = reinterpret_cast<const uint4 *>(src + (ml * a.rows + nl) * K +
                                                           (a.g0 + gl) * MXFP4_BLOCK_ELEMS);
        for (int q = 0; q < 4; q++) { // 4 x 16 bytes: 8 BF16 values each
            uint4 w = row[q];
            uint32_t words[4] = {w.x, w.y, w.z, w.w};
            for (int j = 0; j < 4; j++) {
                x[q * 8 + j * 2] = mxfp4_bf16_to_f32((uint16_t)(words[j] & 0xFFFFu));
                x[q * 8 + j * 2 + 1] = mxfp4_bf16_to_f32((uint16_t)(words[j] >> 16));
            }
        }
    }
}

__device__ void compare_block(const slab_args &a, const float *x, uint64_t first, uint64_t stride,
                              const uint8_t *block, uint8_t sb, stats_acc *p, unsigned int *offsets)
{
    double scale = mx_variant_scale(&a.v, sb);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        double deq = (double)mxfp4_e2m1_value(mx_variant_code(&a.v, block, i)) * scale;
        stats_add(p, first + (uint64_t)i * stride, x[i], deq);
    }
    if (!a.requant)
        return;
    uint8_t ref_sb, codes[MXFP4_BLOCK_ELEMS];
    mxfp4_ref_quantize_block(x, &ref_sb, codes);
    double ref = mxfp4_ref_scale_value(ref_sb);
    p->scales_total++;
    p->scales_equal += ref_sb == sb;
    atomicAdd(&offsets[(uint8_t)(sb - ref_sb)], 1u);
    p->codes_total += MXFP4_BLOCK_ELEMS;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        p->codes_equal += codes[i] == mxfp4_block_code(block, i);
        double d = (double)mxfp4_e2m1_value(codes[i]) * ref - (double)x[i];
        if (d - d == 0.0) // finite: a non-finite source has no error to count
            p->ref_sum_sq_err += d * d;
    }
}

__global__ void __launch_bounds__(THREADS)
compare_kernel(slab_args a, const uint16_t *src, const uint8_t *blocks, const uint8_t *scales,
               stats_acc *out, unsigned long long *hist)
{
    __shared__ stats_acc part[THREADS];
    __shared__ unsigned int local_hist[MX_HIST_LEN];
    for (int i = threadIdx.x; i < MX_HIST_LEN; i += THREADS)
        local_hist[i] = 0;
    __syncthreads();
    stats_acc p;
    stats_init(&p);
    unsigned long long t = (unsigned long long)blockIdx.x * THREADS + threadIdx.x;
    if (t < a.total) {
        unsigned long long ml, nl, gl;
        if (a.g.layout == MX_TRANSPOSED) { // n fastest: coalesced source columns
            nl = t % a.rows;
            gl = (t / a.rows) % a.groups;
            ml = t / (a.rows * a.groups);
        } else { // g fastest: contiguous source rows
            gl = t % a.groups;
            nl = (t / a.groups) % a.rows;
            ml = t / (a.rows * a.groups);
        }
        unsigned long long blk = (ml * a.rows + nl) * a.groups + gl;
        float x[MXFP4_BLOCK_ELEMS];
        uint64_t first, stride;
        load_block(a, src, ml, nl, gl, x, &first, &stride);
        uint8_t block[MXFP4_BLOCK_BYTES];
        uint4 w = reinterpret_cast<const uint4 *>(blocks)[blk];
        memcpy(block, &w, sizeof block);
        uint8_t sb = scales[blk];
        atomicAdd(&local_hist[sb], 1u);
        compare_block(a, x, first, stride, block, sb, &p, local_hist + MX_HIST_BYTES);
    }
    part[threadIdx.x] = p;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) { // fixed tree: deterministic
        if (threadIdx.x < s)
            stats_merge(&part[threadIdx.x], &part[threadIdx.x + s]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        out[blockIdx.x] = part[0];
    for (int i = threadIdx.x; i < MX_HIST_LEN; i += THREADS)
        if (local_hist[i])
            atomicAdd(&hist[i], (unsigned long long)local_hist[i]);
}

struct lane {
    cudaStream_t stream;
    void *d_src, *d_blocks, *d_scales;
    size_t cap_src, cap_blocks, cap_scales;
    stats_acc *d_part, *h_part;
    size_t cap_part, parts; // partials allocated, and those of the job in flight
    unsigned long long *d_hist, *h_hist;
};

struct worker {
    int device;
    lane lanes[CUDA_LANES];
};

} // namespace

struct cuda_ctx {
    int n;
    worker *w;
};

// Device memory taken, all workers together (for the bound SPEC §4 sets).
static unsigned long long device_bytes, device_peak;

static cudaError_t device_alloc(void **p, size_t n)
{
    cudaError_t e = cudaMalloc(p, n);
    if (e == cudaSuccess) {
        unsigned long long now = __atomic_add_fetch(&device_bytes, n, __ATOMIC_RELAXED);
        unsigned long long peak = __atomic_load_n(&device_peak, __ATOMIC_RELAXED);
        while (now > peak && !__atomic_compare_exchange_n(&device_peak, &peak, now, false, __ATOMIC_RELAXED,
                                                          __ATOMIC_RELAXED)) {
        }
    }
    return e;
}

static void device_free(void *p, size_t n)
{
    if (p) {
        cudaFree(p);
        __atomic_sub_fetch(&device_bytes, n, __ATOMIC_RELAXED);
    }
}

extern "C" unsigned long long cuda_backend_device_peak(void)
{
    return __atomic_load_n(&device_peak, __ATOMIC_RELAXED);
}

static int cuda_fail(cudaError_t e, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "CUDA: %s: %s", what, cudaGetErrorString(e));
    return -1;
}

#define CHECK(call, what)                                  \
    do {                                                   \
        cudaError_t e_ = (call);                           \
        if (e_ != cudaSuccess)                             \
            return cuda_fail(e_, what, err, errlen);       \
    } while (0)

static int grow_device(void **p, size_t *cap, size_t need, char *err, size_t errlen)
{
    if (need <= *cap)
        return 0;
    device_free(*p, *cap);
    *p = NULL;
    *cap = 0;
    CHECK(device_alloc(p, need), "cudaMalloc");
    *cap = need;
    return 0;
}

extern "C" int cuda_backend_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no driver" error
        return 0;
    }
    return n;
}

extern "C" void cuda_backend_device_name(int dev, char *out, size_t len)
{
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, dev) == cudaSuccess)
        snprintf(out, len, "cuda:%d %s", dev, p.name);
    else
        snprintf(out, len, "cuda:%d", dev);
}

static int open_lane(lane *l, char *err, size_t errlen)
{
    CHECK(cudaStreamCreateWithFlags(&l->stream, cudaStreamNonBlocking), "stream");
    CHECK(device_alloc((void **)&l->d_hist, MX_HIST_LEN * sizeof(unsigned long long)), "cudaMalloc");
    CHECK(cudaHostAlloc(&l->h_hist, MX_HIST_LEN * sizeof(unsigned long long), cudaHostAllocDefault), "cudaHostAlloc");
    return 0;
}

static void close_lane(lane *l)
{
    device_free(l->d_src, l->cap_src);
    device_free(l->d_blocks, l->cap_blocks);
    device_free(l->d_scales, l->cap_scales);
    device_free(l->d_part, l->cap_part * sizeof(stats_acc));
    device_free(l->d_hist, MX_HIST_LEN * sizeof(unsigned long long));
    cudaFreeHost(l->h_part);
    cudaFreeHost(l->h_hist);
    if (l->stream)
        cudaStreamDestroy(l->stream);
}

extern "C" int cuda_backend_open(const int *devices, int n, struct cuda_ctx **out, char *err,
                                 size_t errlen)
{
    *out = NULL;
    cuda_ctx *c = new cuda_ctx();
    c->n = n;
    c->w = new worker[n]();
    for (int k = 0; k < n; k++) {
        c->w[k].device = devices[k];
        cudaError_t e = cudaSetDevice(devices[k]);
        if (e == cudaSuccess)
            e = cudaFree(0); // the context, now rather than at the first copy
        int rc = e == cudaSuccess ? 0 : cuda_fail(e, "cannot start the device", err, errlen);
        for (int l = 0; l < CUDA_LANES && rc == 0; l++)
            rc = open_lane(&c->w[k].lanes[l], err, errlen);
        if (rc < 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "device %d: %s", devices[k], why);
            c->n = k + 1;
            cuda_backend_close(c);
            return -1;
        }
    }
    *out = c;
    return 0;
}

extern "C" void cuda_backend_close(struct cuda_ctx *c)
{
    if (!c)
        return;
    for (int k = 0; k < c->n; k++) {
        cudaSetDevice(c->w[k].device);
        for (int l = 0; l < CUDA_LANES; l++)
            close_lane(&c->w[k].lanes[l]);
    }
    delete[] c->w;
    delete c;
}

extern "C" void *cuda_backend_host_alloc(size_t n)
{
    void *p = NULL;
    if (cudaHostAlloc(&p, n ? n : 1, cudaHostAllocPortable) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

extern "C" bool cuda_backend_host_free(void *p)
{
    cudaPointerAttributes attr;
    if (cudaPointerGetAttributes(&attr, p) != cudaSuccess || attr.type != cudaMemoryTypeHost) {
        cudaGetLastError();
        return false;
    }
    return cudaFreeHost(p) == cudaSuccess;
}

extern "C" bool cuda_backend_pin(struct cuda_ctx *c, void *p, size_t n)
{
    if (c->n == 0 || cudaSetDevice(c->w[0].device) != cudaSuccess ||
        cudaHostRegister(p, n, cudaHostRegisterPortable) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    return true;
}

extern "C" void cuda_backend_unpin(struct cuda_ctx *c, void *p)
{
    if (c->n > 0 && cudaSetDevice(c->w[0].device) == cudaSuccess && cudaHostUnregister(p) == cudaSuccess)
        return;
    cudaGetLastError();
}

static slab_args args_of(const mx_geom *g, const mx_slab *s, const mx_variant *v, bool requant)
{
    slab_args a = {};
    a.g = *g;
    a.m0 = s->m0;
    a.n0 = s->n0;
    a.g0 = s->g0;
    a.mats = s->m1 - s->m0;
    a.rows = s->n1 - s->n0;
    a.groups = s->g1 - s->g0;
    a.total = a.mats * a.rows * a.groups;
    a.v = *v;
    a.requant = requant;
    return a;
}

static size_t grid_of(const slab_args &a)
{
    return (size_t)((a.total + THREADS - 1) / THREADS);
}

extern "C" int cuda_backend_submit(struct cuda_ctx *c, int worker_index, int lane_index,
                                   const mx_geom *g, const mx_placed_slab *slabs, size_t n,
                                   const mx_job_data *d, const mx_variant *v, bool requant,
                                   char *err, size_t errlen)
{
    worker *w = &c->w[worker_index];
    lane *l = &w->lanes[lane_index];
    CHECK(cudaSetDevice(w->device), "cudaSetDevice");
    size_t parts = 0;
    for (size_t k = 0; k < n; k++)
        parts += grid_of(args_of(g, &slabs[k].slab, v, requant));
    l->parts = parts;
    if (grow_device(&l->d_src, &l->cap_src, d->src_bytes, err, errlen) < 0 ||
        grow_device(&l->d_blocks, &l->cap_blocks, d->blocks_bytes, err, errlen) < 0 ||
        grow_device(&l->d_scales, &l->cap_scales, d->scales_bytes, err, errlen) < 0)
        return -1;
    if (parts > l->cap_part) {
        device_free(l->d_part, l->cap_part * sizeof(stats_acc));
        cudaFreeHost(l->h_part);
        l->d_part = NULL;
        l->h_part = NULL;
        l->cap_part = 0;
        CHECK(device_alloc((void **)&l->d_part, parts * sizeof(stats_acc)), "cudaMalloc");
        CHECK(cudaHostAlloc(&l->h_part, parts * sizeof(stats_acc), cudaHostAllocDefault), "cudaHostAlloc");
        l->cap_part = parts;
    }
    if (d->src_bytes)
        CHECK(cudaMemcpyAsync(l->d_src, d->buf.src, d->src_bytes, cudaMemcpyHostToDevice, l->stream), "copy source");
    if (d->blocks_bytes)
        CHECK(cudaMemcpyAsync(l->d_blocks, d->buf.blocks, d->blocks_bytes, cudaMemcpyHostToDevice, l->stream),
              "copy blocks");
    if (d->scales_bytes)
        CHECK(cudaMemcpyAsync(l->d_scales, d->buf.scales, d->scales_bytes, cudaMemcpyHostToDevice, l->stream),
              "copy scales");
    CHECK(cudaMemsetAsync(l->d_hist, 0, MX_HIST_LEN * sizeof(unsigned long long), l->stream), "memset");
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        slab_args a = args_of(g, &slabs[k].slab, v, requant);
        size_t grid = grid_of(a);
        if (grid == 0)
            continue;
        compare_kernel<<<(unsigned)grid, THREADS, 0, l->stream>>>(
            a, (const uint16_t *)((const char *)l->d_src + slabs[k].src),
            (const uint8_t *)l->d_blocks + slabs[k].blocks, (const uint8_t *)l->d_scales + slabs[k].scales,
            l->d_part + at, l->d_hist);
        CHECK(cudaGetLastError(), "kernel launch");
        at += grid;
    }
    if (parts)
        CHECK(cudaMemcpyAsync(l->h_part, l->d_part, parts * sizeof(stats_acc), cudaMemcpyDeviceToHost, l->stream),
              "copy partials");
    CHECK(cudaMemcpyAsync(l->h_hist, l->d_hist, MX_HIST_LEN * sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                          l->stream), "copy histogram");
    return 0;
}

extern "C" int cuda_backend_collect(struct cuda_ctx *c, int worker_index, int lane_index,
                                    stats_acc *acc, uint64_t *hist, char *err, size_t errlen)
{
    worker *w = &c->w[worker_index];
    lane *l = &w->lanes[lane_index];
    CHECK(cudaSetDevice(w->device), "cudaSetDevice");
    CHECK(cudaStreamSynchronize(l->stream), "kernel");
    for (size_t i = 0; i < l->parts; i++) // block order: deterministic
        stats_merge(acc, &l->h_part[i]);
    if (hist)
        for (int i = 0; i < MX_HIST_LEN; i++)
            hist[i] += l->h_hist[i];
    l->parts = 0;
    return 0;
}

extern "C" int cuda_backend_compare_slab(struct cuda_ctx *c, const mx_geom *g, const mx_slab *s,
                                         const mx_buffers *b, const mx_variant *v, bool requant,
                                         stats_acc *acc, uint64_t *hist, char *err, size_t errlen)
{
    mx_placed_slab p = {*s, 0, 0, 0};
    mx_job_data d = {*b, mx_slab_src_bytes(g, s), mx_slab_blocks_bytes(s), mx_slab_scales_bytes(s)};
    if (cuda_backend_submit(c, 0, 0, g, &p, 1, &d, v, requant, err, errlen) < 0)
        return -1;
    return cuda_backend_collect(c, 0, 0, acc, hist, err, errlen);
}

extern "C" int cuda_backend_time_kernel(struct cuda_ctx *c, const mx_geom *g, const mx_slab *s,
                                        const mx_buffers *b, int reps, double *kernel_s, double *copy_s,
                                        char *err, size_t errlen)
{
    mx_placed_slab p = {*s, 0, 0, 0};
    mx_job_data d = {*b, mx_slab_src_bytes(g, s), mx_slab_blocks_bytes(s), mx_slab_scales_bytes(s)};
    mx_variant v = MX_VARIANT_FAITHFUL;
    stats_acc acc;
    stats_init(&acc);
    // once for the buffers and a warm-up
    if (cuda_backend_submit(c, 0, 0, g, &p, 1, &d, &v, true, err, errlen) < 0 ||
        cuda_backend_collect(c, 0, 0, &acc, NULL, err, errlen) < 0)
        return -1;
    lane *l = &c->w[0].lanes[0];
    slab_args a = args_of(g, s, &v, true);
    size_t grid = grid_of(a), bytes = d.src_bytes + d.blocks_bytes + d.scales_bytes;
    void *copy = NULL;
    CHECK(cudaMalloc(&copy, bytes), "cudaMalloc");
    cudaEvent_t e0, e1, e2;
    CHECK(cudaEventCreate(&e0), "event");
    CHECK(cudaEventCreate(&e1), "event");
    CHECK(cudaEventCreate(&e2), "event");
    CHECK(cudaEventRecord(e0, l->stream), "event");
    for (int r = 0; r < reps; r++)
        compare_kernel<<<(unsigned)grid, THREADS, 0, l->stream>>>(a, (const uint16_t *)l->d_src,
            (const uint8_t *)l->d_blocks, (const uint8_t *)l->d_scales, l->d_part, l->d_hist);
    CHECK(cudaEventRecord(e1, l->stream), "event");
    for (int r = 0; r < reps; r++) { // the same bytes read, and written once more
        CHECK(cudaMemcpyAsync(copy, l->d_src, d.src_bytes, cudaMemcpyDeviceToDevice, l->stream), "copy");
        CHECK(cudaMemcpyAsync((char *)copy + d.src_bytes, l->d_blocks, d.blocks_bytes, cudaMemcpyDeviceToDevice,
                              l->stream), "copy");
        CHECK(cudaMemcpyAsync((char *)copy + d.src_bytes + d.blocks_bytes, l->d_scales, d.scales_bytes,
                              cudaMemcpyDeviceToDevice, l->stream), "copy");
    }
    CHECK(cudaEventRecord(e2, l->stream), "event");
    CHECK(cudaEventSynchronize(e2), "kernel");
    float k_ms, c_ms;
    cudaEventElapsedTime(&k_ms, e0, e1);
    cudaEventElapsedTime(&c_ms, e1, e2);
    *kernel_s = k_ms / 1e3 / reps;
    *copy_s = c_ms / 1e3 / reps;
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaEventDestroy(e2);
    cudaFree(copy);
    return 0;
}
