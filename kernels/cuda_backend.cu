// CUDA backend: the slab comparison of numerics.h in one fused kernel
// (dequantize + compare + reductions + re-quantization), sharing src/mxfp4.h
// with the CPU reference so both decode and round bit for bit alike.
//
// One thread takes one MXFP4 block (32 elements). Threads are laid out so a
// warp's source reads are coalesced: consecutive threads take consecutive
// stored rows n in the transposed layout (the 32 source values of a block are
// a column there, rows of the source tile are contiguous across the warp),
// consecutive groups in the direct layout (each thread reads 64 contiguous
// bytes). Each CUDA block reduces its threads' sums in a fixed tree and
// writes one partial; the host merges the partials in block order, so the
// result is deterministic.
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cuda_backend.h"
#include "mxfp4.h"

#define THREADS 128
#define NO_MAX (-1.0)

namespace {

struct partial {
    double sum_abs_err, sum_sq_err, sum_sq_src, sum_sq_deq, dot, max_abs_err, ref_sum_sq_err;
    unsigned long long n, nonfinite, equal, max_index, codes_equal, codes_total, scales_equal,
        scales_total;
};

struct slab_args {
    unsigned long long N, G, K, m0, n0, g0, mats, rows, groups, total;
    int transposed, swap, bias_k, requant;
};

__device__ void merge(partial &a, const partial &b)
{
    a.sum_abs_err += b.sum_abs_err;
    a.sum_sq_err += b.sum_sq_err;
    a.sum_sq_src += b.sum_sq_src;
    a.sum_sq_deq += b.sum_sq_deq;
    a.dot += b.dot;
    a.ref_sum_sq_err += b.ref_sum_sq_err;
    a.n += b.n;
    a.nonfinite += b.nonfinite;
    a.equal += b.equal;
    a.codes_equal += b.codes_equal;
    a.codes_total += b.codes_total;
    a.scales_equal += b.scales_equal;
    a.scales_total += b.scales_total;
    if (b.max_abs_err > a.max_abs_err || (b.max_abs_err == a.max_abs_err && b.max_index < a.max_index)) {
        a.max_abs_err = b.max_abs_err;
        a.max_index = b.max_index;
    }
}

__device__ __forceinline__ bool finite(double v)
{
    return v - v == 0.0;
}

// The 32 source values of block (m, n, g) and the source index of the first;
// consecutive values are `stride` apart in the source.
__device__ void load_block(const slab_args &a, const uint16_t *src, unsigned long long ml,
                           unsigned long long nl, unsigned long long gl, float *x,
                           unsigned long long *first, unsigned long long *stride)
{
    unsigned long long m = a.m0 + ml, n = a.n0 + nl, g = a.g0 + gl;
    if (a.transposed) {
        const uint16_t *col = src + (ml * a.groups + gl) * MXFP4_BLOCK_ELEMS * a.N + n;
        for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
            x[i] = mxfp4_bf16_to_f32(col[(unsigned long long)i * a.N]);
        *first = m * a.N * a.K + g * MXFP4_BLOCK_ELEMS * a.N + n;
        *stride = a.N;
    } else {
        const uint4 *row = reinterpret_cast<const uint4 *>(src + (ml * a.rows + nl) * a.K +
                                                           g * MXFP4_BLOCK_ELEMS);
        for (int q = 0; q < 4; q++) { // 4 x 16 bytes: 8 BF16 values each
            uint4 w = row[q];
            uint32_t words[4] = {w.x, w.y, w.z, w.w};
            for (int j = 0; j < 4; j++) {
                x[q * 8 + j * 2] = mxfp4_bf16_to_f32((uint16_t)(words[j] & 0xFFFFu));
                x[q * 8 + j * 2 + 1] = mxfp4_bf16_to_f32((uint16_t)(words[j] >> 16));
            }
        }
        *first = m * a.N * a.K + n * a.K + g * MXFP4_BLOCK_ELEMS;
        *stride = 1;
    }
}

__device__ void compare_block(const slab_args &a, const float *x, unsigned long long first,
                              unsigned long long stride, const uint8_t *block, uint8_t sb,
                              partial &p)
{
    double scale = sb == MXFP4_SCALE_NAN ? nan("") : ldexp(1.0, (int)sb - MXFP4_SCALE_BIAS - a.bias_k);
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        double src = x[i];
        double deq = (double)mxfp4_e2m1_value(mxfp4_block_code(block, i ^ a.swap)) * scale;
        double d = deq - src, ad = fabs(d);
        if (!finite(d) || !finite(src)) {
            p.nonfinite++;
            continue;
        }
        unsigned long long idx = first + (unsigned long long)i * stride;
        p.n++;
        p.equal += d == 0.0;
        p.sum_abs_err += ad;
        p.sum_sq_err += d * d;
        p.sum_sq_src += src * src;
        p.sum_sq_deq += deq * deq;
        p.dot += src * deq;
        if (ad > p.max_abs_err || (ad == p.max_abs_err && idx < p.max_index)) {
            p.max_abs_err = ad;
            p.max_index = idx;
        }
    }
    if (!a.requant)
        return;
    uint8_t ref_sb, codes[MXFP4_BLOCK_ELEMS];
    mxfp4_ref_quantize_block(x, &ref_sb, codes);
    double ref = ldexp(1.0, (int)ref_sb - MXFP4_SCALE_BIAS);
    p.scales_total++;
    p.scales_equal += ref_sb == sb;
    p.codes_total += MXFP4_BLOCK_ELEMS;
    for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++) {
        p.codes_equal += codes[i] == mxfp4_block_code(block, i);
        double d = (double)mxfp4_e2m1_value(codes[i]) * ref - (double)x[i];
        if (finite(d))
            p.ref_sum_sq_err += d * d;
    }
}

__global__ void __launch_bounds__(THREADS)
compare_kernel(slab_args a, const uint16_t *src, const uint8_t *blocks, const uint8_t *scales,
               partial *out, unsigned long long *hist)
{
    __shared__ partial part[THREADS];
    __shared__ unsigned int local_hist[256];
    for (int i = threadIdx.x; i < 256; i += THREADS)
        local_hist[i] = 0;
    __syncthreads();
    partial p = {};
    p.max_abs_err = NO_MAX;
    p.max_index = ~0ull;
    unsigned long long t = (unsigned long long)blockIdx.x * THREADS + threadIdx.x;
    if (t < a.total) {
        unsigned long long ml, nl, gl;
        if (a.transposed) { // n fastest: coalesced source columns
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
        unsigned long long first, stride;
        load_block(a, src, ml, nl, gl, x, &first, &stride);
        uint8_t block[MXFP4_BLOCK_BYTES];
        uint4 w = reinterpret_cast<const uint4 *>(blocks)[blk];
        memcpy(block, &w, sizeof block);
        uint8_t sb = scales[blk];
        atomicAdd(&local_hist[sb], 1u);
        compare_block(a, x, first, stride, block, sb, p);
    }
    part[threadIdx.x] = p;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) { // fixed tree: deterministic
        if (threadIdx.x < s)
            merge(part[threadIdx.x], part[threadIdx.x + s]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        out[blockIdx.x] = part[0];
    for (int i = threadIdx.x; i < 256; i += THREADS)
        if (local_hist[i])
            atomicAdd(&hist[i], (unsigned long long)local_hist[i]);
}

} // namespace

struct cuda_ctx {
    cudaStream_t stream;
    void *d_src, *d_blocks, *d_scales;
    size_t cap_src, cap_blocks, cap_scales;
    partial *d_part, *h_part;
    size_t cap_part;
    unsigned long long *d_hist;
};

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
    cudaFree(*p);
    *p = NULL;
    *cap = 0;
    CHECK(cudaMalloc(p, need), "cudaMalloc");
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

extern "C" int cuda_backend_open(struct cuda_ctx **out, char *err, size_t errlen)
{
    *out = NULL;
    cuda_ctx *c = new cuda_ctx();
    cudaError_t e = cudaSetDevice(0);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess)
        e = cudaMalloc(&c->d_hist, 256 * sizeof(unsigned long long));
    if (e != cudaSuccess) {
        delete c;
        return cuda_fail(e, "cannot start device 0", err, errlen);
    }
    *out = c;
    return 0;
}

extern "C" void cuda_backend_close(struct cuda_ctx *c)
{
    if (!c)
        return;
    cudaFree(c->d_src);
    cudaFree(c->d_blocks);
    cudaFree(c->d_scales);
    cudaFree(c->d_part);
    cudaFree(c->d_hist);
    cudaFreeHost(c->h_part);
    cudaStreamDestroy(c->stream);
    delete c;
}

extern "C" void *cuda_backend_host_alloc(size_t n)
{
    void *p = NULL;
    if (cudaHostAlloc(&p, n ? n : 1, cudaHostAllocDefault) != cudaSuccess) {
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

static void add_partial(stats_acc *acc, const partial &p)
{
    stats_acc b;
    stats_init(&b);
    b.n = p.n;
    b.nonfinite = p.nonfinite;
    b.equal = p.equal;
    b.sum_abs_err = p.sum_abs_err;
    b.sum_sq_err = p.sum_sq_err;
    b.sum_sq_src = p.sum_sq_src;
    b.sum_sq_deq = p.sum_sq_deq;
    b.dot = p.dot;
    if (p.max_abs_err != NO_MAX) {
        b.max_abs_err = p.max_abs_err;
        b.max_abs_err_index = p.max_index;
    }
    b.codes_equal = p.codes_equal;
    b.codes_total = p.codes_total;
    b.scales_equal = p.scales_equal;
    b.scales_total = p.scales_total;
    b.ref_sum_sq_err = p.ref_sum_sq_err;
    stats_merge(acc, &b);
}

extern "C" int cuda_backend_compare_slab(struct cuda_ctx *c, const mx_geom *g, const mx_slab *s,
                                         const mx_buffers *b, const mx_variant *v, bool requant,
                                         stats_acc *acc, uint64_t *hist, char *err, size_t errlen)
{
    slab_args a = {};
    a.N = g->rows;
    a.G = g->groups;
    a.K = g->groups * MXFP4_BLOCK_ELEMS;
    a.m0 = s->m0;
    a.n0 = s->n0;
    a.g0 = s->g0;
    a.mats = s->m1 - s->m0;
    a.rows = s->n1 - s->n0;
    a.groups = s->g1 - s->g0;
    a.total = a.mats * a.rows * a.groups;
    a.transposed = g->layout == MX_TRANSPOSED;
    a.swap = v->swap_nibbles ? 1 : 0;
    a.bias_k = v->scale_bias_k;
    a.requant = requant;
    if (a.total == 0)
        return 0;
    size_t src_bytes = mx_slab_src_bytes(g, s), blk_bytes = mx_slab_blocks_bytes(s),
           sc_bytes = mx_slab_scales_bytes(s);
    size_t grid = (size_t)((a.total + THREADS - 1) / THREADS);
    if (grow_device(&c->d_src, &c->cap_src, src_bytes, err, errlen) < 0 ||
        grow_device(&c->d_blocks, &c->cap_blocks, blk_bytes, err, errlen) < 0 ||
        grow_device(&c->d_scales, &c->cap_scales, sc_bytes, err, errlen) < 0)
        return -1;
    if (grid > c->cap_part) {
        cudaFree(c->d_part);
        cudaFreeHost(c->h_part);
        c->d_part = NULL;
        c->h_part = NULL;
        c->cap_part = 0;
        CHECK(cudaMalloc(&c->d_part, grid * sizeof(partial)), "cudaMalloc");
        CHECK(cudaHostAlloc(&c->h_part, grid * sizeof(partial), cudaHostAllocDefault), "cudaHostAlloc");
        c->cap_part = grid;
    }
    CHECK(cudaMemcpyAsync(c->d_src, b->src, src_bytes, cudaMemcpyHostToDevice, c->stream), "copy source");
    CHECK(cudaMemcpyAsync(c->d_blocks, b->blocks, blk_bytes, cudaMemcpyHostToDevice, c->stream), "copy blocks");
    CHECK(cudaMemcpyAsync(c->d_scales, b->scales, sc_bytes, cudaMemcpyHostToDevice, c->stream), "copy scales");
    CHECK(cudaMemsetAsync(c->d_hist, 0, 256 * sizeof(unsigned long long), c->stream), "memset");
    compare_kernel<<<(unsigned)grid, THREADS, 0, c->stream>>>(
        a, (const uint16_t *)c->d_src, (const uint8_t *)c->d_blocks, (const uint8_t *)c->d_scales,
        c->d_part, c->d_hist);
    CHECK(cudaGetLastError(), "kernel launch");
    unsigned long long h_hist[256];
    CHECK(cudaMemcpyAsync(c->h_part, c->d_part, grid * sizeof(partial), cudaMemcpyDeviceToHost, c->stream),
          "copy partials");
    CHECK(cudaMemcpyAsync(h_hist, c->d_hist, sizeof h_hist, cudaMemcpyDeviceToHost, c->stream), "copy histogram");
    CHECK(cudaStreamSynchronize(c->stream), "kernel");
    for (size_t i = 0; i < grid; i++) // block order: deterministic
        add_partial(acc, c->h_part[i]);
    if (hist)
        for (int i = 0; i < 256; i++)
            hist[i] += h_hist[i];
    return 0;
}
