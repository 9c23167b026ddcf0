/* backend.h - where the numerics of a slab are computed: the CPU (OpenMP
 * threads, src/numerics.c) or GPUs (kernels/, linked only when nvcc was
 * found at build time: MXC_HAVE_CUDA). Both implement the slab contract of
 * numerics.h and give the same counts and statistics equal to ~1e-12.
 *
 * CUDA starts on a thread of its own (a context takes a quarter of a
 * second): backend_open returns at once, so the caller reads meanwhile, and
 * backend_ready waits for it. A backend has one or more workers (one per GPU
 * taken; the CPU backend has one); each worker computes jobs on BACKEND_LANES
 * lanes, asynchronously on the GPU. */
#ifndef MXC_BACKEND_H
#define MXC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "numerics.h"
#include "stats.h"

#define BACKEND_LANES 3 /* jobs in flight per worker (CUDA; the CPU computes one at once) */

typedef struct backend backend;

/* True when this binary contains the CUDA backend. */
bool backend_cuda_built(void);

/* Number of usable CUDA devices (0 without the CUDA backend, a driver or a
 * GPU). Never fails: no GPU means the CPU backend. */
int backend_cuda_devices(void);

/* Opens "cpu", "cuda" or "auto" (CUDA when usable, else the CPU, silently).
 * gpus (NULL: "all") picks the devices: "all", a count N (the first N), or a
 * comma list of ordinals such as "0,2" (a device listed twice gets two
 * workers: that is how several GPUs are tested on one). What is wrong at
 * once (a bad name or list, "cuda" in a binary without CUDA) is an error
 * here; the rest ("cuda" and no usable device, fewer devices than asked
 * for) comes from backend_ready. */
int backend_open(const char *name, const char *gpus, backend **out, char *err, size_t errlen);
void backend_close(backend *b); /* NULL is a no-op */

/* Whether the backend may compute on a GPU ("cuda", or "auto" in a CUDA
 * build), known without waiting for the start. */
bool backend_may_use_gpu(const backend *b);

/* Whether this process has started CUDA (a context exists). */
bool backend_cuda_started(void);

/* Waits until the backend has started: 0, or -1 with the reason in err. */
int backend_ready(backend *b, char *err, size_t errlen);

/* "cpu" or "cuda"; waits for the start. */
const char *backend_name(backend *b);

/* Workers (after backend_ready): GPUs taken, or 1 for the CPU; and the
 * lanes of each (BACKEND_LANES on a GPU, 1 on the CPU). */
int backend_workers(const backend *b);
int backend_lanes(const backend *b);

/* With the CPU backend, one core in BACKEND_CPU_READERS_PER reads (the
 * engine's readers) and the others compare. */
#define BACKEND_CPU_READERS_PER 4

/* Threads the CPU backend compares with: `requested` (--threads) when
 * positive, else OMP_NUM_THREADS when set, else the cores the readers leave. */
int backend_cpu_threads(int requested);

/* Largest GPU memory this process's backends held at once (bytes; 0 on the
 * CPU). */
unsigned long long backend_device_peak(void);

/* What computes, one string per device ("cuda:0 NVIDIA H200", or
 * "cpu: 16 threads"), for a report's provenance; after backend_ready. Returns the count; *out
 * (caller frees each and the array). */
size_t backend_devices(const backend *b, char ***out);

/* Host memory for slab buffers (aborts when out of memory) and its release. */
void *backend_host_alloc(backend *b, size_t n);
void backend_host_free(backend *b, void *p);

/* Page-locks memory the caller allocated, once (copies from it then run at
 * bus speed; pinning is slow, so buffers are pinned once and reused). True
 * when pinned; unpin before freeing it. No-ops on the CPU. */
bool backend_pin(backend *b, void *p, size_t n);
void backend_unpin(backend *b, void *p);

/* A job (slabs of one tensor, placed in d's buffers) on a lane of a worker:
 * queued on the GPU (the buffers must stay untouched until it is collected),
 * computed at once on the CPU. backend_collect merges its statistics into
 * *acc (in slab order, whatever the worker) and its scale bytes into
 * hist[MX_HIST_LEN] (numerics.h). Both return 0, or -1 with err set when the device fails. */
int backend_submit(backend *b, int worker, int lane, const mx_geom *g, const mx_placed_slab *slabs,
                   size_t n, const mx_job_data *d, const mx_variant *v, bool requant, char *err,
                   size_t errlen);
int backend_collect(backend *b, int worker, int lane, stats_acc *acc, uint64_t *hist, char *err,
                    size_t errlen);

/* mx_compare_slab_cpu's contract (numerics.h) on this backend, at once
 * (worker 0). Returns 0, or -1 with err set when the device fails. */
int backend_compare_slab(backend *b, const mx_geom *g, const mx_slab *s, const mx_buffers *buf,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist,
                         char *err, size_t errlen);

#endif
