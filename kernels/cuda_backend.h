/* cuda_backend.h - C interface of the CUDA backend (kernels/cuda_backend.cu),
 * used through backend.h. Only compiled in when MXC_HAVE_CUDA is 1.
 *
 * One worker per GPU taken (a device may be listed twice: two workers share
 * it, which is how the multi-GPU path is tested on one GPU). Each worker has
 * CUDA_LANES lanes: a stream with its own device buffers, so the copies of
 * one job overlap the kernels of the previous one. A job is submitted to a
 * lane and collected later; a lane holds one job at a time. */
#ifndef MXC_CUDA_BACKEND_H
#define MXC_CUDA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numerics.h"
#include "stats.h"

#define CUDA_LANES 3

#ifdef __cplusplus
extern "C" {
#endif

struct cuda_ctx;

/* Usable devices; 0 when the driver or a GPU is missing (never an error). */
int cuda_backend_device_count(void);

/* "cuda:DEV NAME" into out. */
void cuda_backend_device_name(int dev, char *out, size_t len);

/* One worker on each of devices[0..n); -1 with err when one cannot start. */
int cuda_backend_open(const int *devices, int n, struct cuda_ctx **out, char *err, size_t errlen);
void cuda_backend_close(struct cuda_ctx *c);

/* Pinned host memory, NULL when none can be had; free returns false for a
 * pointer that is not pinned memory of ours. */
void *cuda_backend_host_alloc(size_t n);
bool cuda_backend_host_free(void *p);

/* Pins (page-locks) existing host memory for every device, once: copies from
 * it run at bus speed. False when it cannot be pinned (it stays usable). */
bool cuda_backend_pin(struct cuda_ctx *c, void *p, size_t n);
void cuda_backend_unpin(struct cuda_ctx *c, void *p);

/* Queues the copies and kernels of a job (slabs of one tensor, placed in
 * d's buffers) on a lane of a worker; the buffers must stay untouched until
 * the lane is collected. */
int cuda_backend_submit(struct cuda_ctx *c, int worker, int lane, const mx_geom *g,
                        const mx_placed_slab *slabs, size_t n, const mx_job_data *d,
                        const mx_variant *v, bool requant, char *err, size_t errlen);

/* Waits for the lane's job and merges its statistics into *acc (in slab and
 * block order: deterministic) and its scale bytes and offsets into hist[MX_HIST_LEN]. */
int cuda_backend_collect(struct cuda_ctx *c, int worker, int lane, stats_acc *acc, uint64_t *hist,
                         char *err, size_t errlen);

/* mx_compare_slab_cpu's contract on the GPU (worker 0, synchronously). */
int cuda_backend_compare_slab(struct cuda_ctx *c, const mx_geom *g, const mx_slab *s,
                              const mx_buffers *b, const mx_variant *v, bool requant,
                              stats_acc *acc, uint64_t *hist, char *err, size_t errlen);

/* Largest device memory the backend held at once, all workers (bytes). */
unsigned long long cuda_backend_device_peak(void);

/* Benchmark aid (tests/gpu/bench_kernel.c): seconds per launch of the
 * kernel on one slab already on the device (requant on), and per
 * device-to-device copy of the same input bytes, each the mean of reps. */
int cuda_backend_time_kernel(struct cuda_ctx *c, const mx_geom *g, const mx_slab *s,
                             const mx_buffers *b, int reps, double *kernel_s, double *copy_s,
                             char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
