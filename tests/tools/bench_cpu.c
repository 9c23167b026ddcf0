/* bench_cpu - the CPU backend's comparison alone (mx_compare_slab_cpu, with each width of
 * tiles the CPU runs, the widest first: the one verify uses), on one
 * slab of each of GPT-OSS-20B's expert shapes as the engine cuts them, with
 * data already in memory: nanoseconds per element and core, with one thread
 * and with all of OpenMP's. bench/run.sh prints it beside the whole-process
 * ratios; not a test. Usage: bench_cpu [REPS] */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine.h"
#include "mxfp4.h"
#include "numerics.h"
#include "tiles.h"
#include "util.h"
#include "xorshift.h"

static uint64_t rng = 0x2545F4914F6CDD1Du;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Best of reps runs of the comparison with `threads` threads, in seconds. */
static double best_time(const mx_geom *g, const mx_slab *s, const mx_buffers *b, int threads,
                        int reps, unsigned lanes)
{
    mx_variant v = MX_VARIANT_FAITHFUL;
    uint64_t *hist = xcalloc(MX_HIST_LEN, sizeof *hist);
    double best = 1e30;
    omp_set_num_threads(threads);
    for (int r = 0; r < reps; r++) {
        stats_acc acc;
        stats_init(&acc);
        double t0 = now();
        mx_compare_slab_lanes(g, s, b, &v, true, &acc, hist, lanes);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    free(hist);
    return best;
}

static void run(const char *name, mx_geom g, int reps, int cores)
{
    uint64_t count = mx_plan_slabs(&g, ENGINE_DEFAULT_SLAB_BYTES, NULL);
    mx_slab *all = xmalloc(count * sizeof *all);
    mx_plan_slabs(&g, ENGINE_DEFAULT_SLAB_BYTES, all);
    mx_slab s = all[0];
    free(all);
    size_t src = mx_slab_src_bytes(&g, &s), blk = mx_slab_blocks_bytes(&s), sc = mx_slab_scales_bytes(&s);
    uint16_t *x = xmalloc(src);
    uint8_t *b = xmalloc(blk), *k = xmalloc(sc);
    /* what a faithful checkpoint holds (what a release gate verifies): small
     * normal weights, DST written by the reference quantizer */
    for (size_t i = 0; i < src / 2; i++) {
        float f = ((float)(xorshift64(&rng) & 0xFFFF) / 65536.0f - 0.5f) * 0.05f;
        x[i] = (uint16_t)(mxfp4_f32_bits(f) >> 16);
    }
    for (uint64_t m = s.m0; m < s.m1; m++) /* the first slab starts at the tensor's start */
        for (uint64_t n = 0; n < g.rows; n++)
            for (uint64_t grp = 0; grp < g.groups; grp++) {
                float v[MXFP4_BLOCK_ELEMS];
                uint8_t codes[MXFP4_BLOCK_ELEMS];
                uint64_t at = (m * g.rows + n) * g.groups + grp;
                for (int i = 0; i < MXFP4_BLOCK_ELEMS; i++)
                    v[i] = mxfp4_bf16_to_f32(x[mx_source_index(&g, m, n, grp * MXFP4_BLOCK_ELEMS + (uint64_t)i)]);
                mxfp4_ref_quantize_block(v, &k[at], codes);
                for (int i = 0; i < MXFP4_BLOCK_BYTES; i++)
                    b[at * MXFP4_BLOCK_BYTES + (uint64_t)i] = (uint8_t)(codes[2 * i] | codes[2 * i + 1] << 4);
            }
    mx_buffers buf = {x, b, k};
    double elems = (double)(src / 2);
    for (unsigned lanes = mx_tiles_lanes_max(); lanes >= 4; lanes /= 2) { /* the one verify uses first */
        double one = best_time(&g, &s, &buf, 1, reps, lanes);
        double many = best_time(&g, &s, &buf, cores, reps, lanes);
        printf("cpu %-8s %6.1f MB/slab, %u-column tiles: 1 thread %5.2f ns/element, %d threads %6.2f ms = "
               "%5.2f ns/element/core (%5.2f GB/s of input)\n",
               name, (double)(src + blk + sc) / 1e6, lanes, one / elems * 1e9, cores, many * 1e3,
               many * cores / elems * 1e9, (double)(src + blk + sc) / many / 1e9);
    }
    free(x);
    free(b);
    free(k);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    int cores = omp_get_max_threads();
    if (reps < 1)
        reps = 1;
    /* gate_up_proj [32, 5760, 90, 16] and down_proj [32, 2880, 90, 16], both transposed */
    run("gate_up", (mx_geom){32, 5760, 90, MX_TRANSPOSED}, reps, cores);
    run("down", (mx_geom){32, 2880, 90, MX_TRANSPOSED}, reps, cores);
    run("direct", (mx_geom){32, 2880, 90, MX_DIRECT}, reps, cores);
    return 0;
}
