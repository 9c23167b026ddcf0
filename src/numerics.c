#include "numerics.h"

#include <stdlib.h>

#include "mxfp4.h"
#include "tiles.h"
#include "util.h"

uint64_t mx_slab_src_bytes(const mx_geom *g, const mx_slab *s)
{
    uint64_t K = g->groups * MXFP4_BLOCK_ELEMS;
    if (g->layout == MX_TRANSPOSED)
        return (s->m1 - s->m0) * (s->g1 - s->g0) * MXFP4_BLOCK_ELEMS * g->rows * 2;
    return (s->m1 - s->m0) * (s->n1 - s->n0) * K * 2;
}

uint64_t mx_slab_blocks_bytes(const mx_slab *s)
{
    return mx_slab_scales_bytes(s) * MXFP4_BLOCK_BYTES;
}

uint64_t mx_slab_scales_bytes(const mx_slab *s)
{
    return (s->m1 - s->m0) * (s->n1 - s->n0) * (s->g1 - s->g0);
}

static uint64_t div_ceil(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

uint64_t mx_plan_slabs(const mx_geom *g, uint64_t budget, mx_slab *out)
{
    uint64_t N = g->rows, G = g->groups, K = G * MXFP4_BLOCK_ELEMS;
    uint64_t matrix_bytes = N * K * 2, count = 0;
    if (matrix_bytes == 0 || g->matrices == 0)
        return 0;
    if (matrix_bytes <= budget) {
        uint64_t per = budget / matrix_bytes;
        for (uint64_t m = 0; m < g->matrices; m += per, count++)
            if (out)
                out[count] = (mx_slab){m, m + per < g->matrices ? m + per : g->matrices, 0, N, 0, G};
        return count;
    }
    /* one matrix is larger than the budget: cut it along the source's
     * contiguous axis so each slab's source part stays one read */
    bool by_groups = g->layout == MX_TRANSPOSED;
    uint64_t unit = by_groups ? MXFP4_BLOCK_ELEMS * N * 2 : K * 2;
    uint64_t per = budget / unit ? budget / unit : 1;
    uint64_t extent = by_groups ? G : N;
    for (uint64_t m = 0; m < g->matrices; m++) {
        for (uint64_t a = 0; a < extent; a += per, count++) {
            uint64_t b = a + per < extent ? a + per : extent;
            if (out)
                out[count] = by_groups ? (mx_slab){m, m + 1, 0, N, a, b}
                                       : (mx_slab){m, m + 1, a, b, 0, G};
        }
    }
    return count;
}

unsigned mx_tiles_lanes_max(void)
{
#if MXC_TILES_W8
    /* x86-64-v4, what the 8-wide object is compiled for */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return 8;
#endif
    return 4;
}

void mx_compare_slab_lanes(const mx_geom *g, const mx_slab *s, const mx_buffers *b, const mx_variant *v,
                           bool requant, stats_acc *acc, uint64_t *hist, unsigned lanes)
{
    uint64_t mats = s->m1 - s->m0;
    bool transposed = g->layout == MX_TRANSPOSED;
    uint64_t per_matrix = transposed ? s->g1 - s->g0 : div_ceil(s->n1 - s->n0, TILE_DIRECT_ROWS);
    uint64_t items = mats * per_matrix;
    tiles_item *item = transposed ? tiles_transposed_w4 : tiles_direct_w4;
#if MXC_TILES_W8
    if (lanes == 8)
        item = transposed ? tiles_transposed_w8 : tiles_direct_w8;
#else
    (void)lanes;
#endif
    stats_acc *part = xmalloc((items ? items : 1) * sizeof *part);
    double scale_of[256];
    for (int byte = 0; byte < 256; byte++)
        scale_of[byte] = mx_variant_scale(v, (uint8_t)byte);
#pragma omp parallel if (items > 1)
    {
        uint64_t local_hist[MX_HIST_LEN] = {0};
        tile *t = xmalloc(sizeof *t);
#pragma omp for schedule(dynamic, 4)
        for (uint64_t it = 0; it < items; it++) {
            stats_init(&part[it]);
            tiles_ctx c = {v, scale_of, requant, &part[it], hist ? local_hist : NULL};
            uint64_t ml = it / per_matrix, k = it % per_matrix;
            item(g, s, b, &c, t, ml, transposed ? k : k * TILE_DIRECT_ROWS);
        }
        free(t);
        if (hist) {
#pragma omp critical
            for (int i = 0; i < MX_HIST_LEN; i++)
                hist[i] += local_hist[i];
        }
    }
    for (uint64_t it = 0; it < items; it++) /* fixed order: thread-count independent */
        stats_merge(acc, &part[it]);
    free(part);
}

void mx_compare_slab_cpu(const mx_geom *g, const mx_slab *s, const mx_buffers *b,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist)
{
    mx_compare_slab_lanes(g, s, b, v, requant, acc, hist, mx_tiles_lanes_max());
}
