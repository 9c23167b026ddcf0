/* backend.h - where the numerics of a slab are computed: the CPU (OpenMP
 * threads, src/numerics.c) or the GPU (kernels/, linked only when nvcc was
 * found at build time: MXC_HAVE_CUDA). Both implement the slab contract of
 * numerics.h and give the same counts and statistics equal to ~1e-12.
 *
 * A backend owns its device state; buffers for slab data come from it so the
 * CUDA backend can hand out pinned memory (copies to the GPU run at bus speed
 * only from pinned memory). */
#ifndef MXC_BACKEND_H
#define MXC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "numerics.h"
#include "stats.h"

typedef struct backend backend;

/* True when this binary contains the CUDA backend. */
bool backend_cuda_built(void);

/* Number of usable CUDA devices (0 without the CUDA backend, a driver or a
 * GPU). Never fails: no GPU means the CPU backend. */
int backend_cuda_devices(void);

/* Opens "cpu", "cuda" or "auto" (CUDA when usable, else the CPU, silently).
 * "cuda" without a usable GPU is an error (message in err). */
int backend_open(const char *name, backend **out, char *err, size_t errlen);
void backend_close(backend *b); /* NULL is a no-op */

/* "cpu" or "cuda". */
const char *backend_name(const backend *b);

/* What computes, one string per device ("cuda:0 NVIDIA H200", or
 * "cpu: 16 threads"), for a report's provenance. Returns the count; *out
 * (caller frees each and the array). */
size_t backend_devices(const backend *b, char ***out);

/* Host memory for slab buffers (aborts when out of memory) and its release. */
void *backend_host_alloc(backend *b, size_t n);
void backend_host_free(backend *b, void *p);

/* mx_compare_slab_cpu's contract (numerics.h) on this backend. Returns 0, or
 * -1 with err set when the device fails. */
int backend_compare_slab(backend *b, const mx_geom *g, const mx_slab *s, const mx_buffers *buf,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist,
                         char *err, size_t errlen);

#endif
