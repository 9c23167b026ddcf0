/* bench_kernel - the fused kernel alone against a device-to-device copy of
 * the same bytes (bench/device-check.sh prints it): one slab of GPT-OSS-20B's
 * expert shapes, as the engine cuts them with its default slab budget, on
 * data already on the GPU. Prints one line per shape and exits 0, or 1 when
 * the GPU cannot be used. Not a test: `make test-gpu` does not run it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_backend.h"
#include "engine.h"
#include "mxfp4.h"
#include "numerics.h"
#include "xorshift.h"

static uint64_t rng = 0x2545F4914F6CDD1Du;

static int run(struct cuda_ctx *c, const char *name, mx_geom g, int reps)
{
    mx_slab s;
    if (mx_plan_slabs(&g, ENGINE_DEFAULT_SLAB_BYTES, NULL) == 0)
        return 1;
    mx_slab *all = malloc(mx_plan_slabs(&g, ENGINE_DEFAULT_SLAB_BYTES, NULL) * sizeof *all);
    mx_plan_slabs(&g, ENGINE_DEFAULT_SLAB_BYTES, all);
    s = all[0];
    free(all);
    size_t src = mx_slab_src_bytes(&g, &s), blk = mx_slab_blocks_bytes(&s), sc = mx_slab_scales_bytes(&s);
    uint16_t *x = cuda_backend_host_alloc(src);
    uint8_t *b = cuda_backend_host_alloc(blk), *k = cuda_backend_host_alloc(sc);
    if (!x || !b || !k)
        return 1;
    for (size_t i = 0; i < src / 2; i++) {
        float f = ((float)(xorshift64(&rng) & 0xFFFF) / 65536.0f - 0.5f) * 0.05f;
        x[i] = (uint16_t)(mxfp4_f32_bits(f) >> 16);
    }
    for (size_t i = 0; i < blk; i++)
        b[i] = (uint8_t)xorshift64(&rng);
    for (size_t i = 0; i < sc; i++)
        k[i] = (uint8_t)(118 + xorshift64(&rng) % 6);
    mx_buffers buf = {x, b, k};
    double ks, cs;
    char err[512];
    if (cuda_backend_time_kernel(c, &g, &s, &buf, reps, &ks, &cs, err, sizeof err) < 0) {
        fprintf(stderr, "bench_kernel: %s\n", err);
        return 1;
    }
    double bytes = (double)(src + blk + sc);
    printf("kernel %-8s %6.1f MB/slab: kernel %7.3f ms (%6.0f GB/s of input), d2d copy %7.3f ms "
           "(%6.0f GB/s), kernel/copy %.2f\n",
           name, bytes / 1e6, ks * 1e3, bytes / ks / 1e9, cs * 1e3, bytes / cs / 1e9, ks / cs);
    cuda_backend_host_free(x);
    cuda_backend_host_free(b);
    cuda_backend_host_free(k);
    return 0;
}

int main(void)
{
    struct cuda_ctx *c;
    char err[512];
    int dev = 0;
    if (cuda_backend_device_count() == 0 || cuda_backend_open(&dev, 1, &c, err, sizeof err) < 0) {
        fprintf(stderr, "bench_kernel: no GPU\n");
        return 1;
    }
    /* gate_up_proj [32, 5760, 90, 16] and down_proj [32, 2880, 90, 16], both transposed */
    int rc = run(c, "gate_up", (mx_geom){32, 5760, 90, MX_TRANSPOSED}, 20);
    rc |= run(c, "down", (mx_geom){32, 2880, 90, MX_TRANSPOSED}, 20);
    rc |= run(c, "direct", (mx_geom){32, 2880, 90, MX_DIRECT}, 20);
    cuda_backend_close(c);
    return rc;
}
