/* cuda_backend.h - C interface of the CUDA backend (kernels/cuda_backend.cu),
 * used through backend.h. Only compiled in when MXC_HAVE_CUDA is 1. */
#ifndef MXC_CUDA_BACKEND_H
#define MXC_CUDA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numerics.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cuda_ctx;

/* Usable devices; 0 when the driver or a GPU is missing (never an error). */
int cuda_backend_device_count(void);

/* "cuda:DEV NAME" into out. */
void cuda_backend_device_name(int dev, char *out, size_t len);

/* Device 0 with its stream and buffers; -1 with err when it cannot start. */
int cuda_backend_open(struct cuda_ctx **out, char *err, size_t errlen);
void cuda_backend_close(struct cuda_ctx *c);

/* Pinned host memory, NULL when none can be had; free returns false for a
 * pointer that is not pinned memory of ours. */
void *cuda_backend_host_alloc(size_t n);
bool cuda_backend_host_free(void *p);

/* mx_compare_slab_cpu's contract on the GPU. */
int cuda_backend_compare_slab(struct cuda_ctx *c, const mx_geom *g, const mx_slab *s,
                              const mx_buffers *b, const mx_variant *v, bool requant,
                              stats_acc *acc, uint64_t *hist, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
