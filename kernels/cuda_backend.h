/* cuda_backend.h - C interface of the CUDA backend (kernels/cuda_backend.cu).
 * Only compiled in when MXC_HAVE_CUDA is 1. */
#ifndef MXC_CUDA_BACKEND_H
#define MXC_CUDA_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

/* Usable devices; 0 when the driver or a GPU is missing (never an error). */
int cuda_backend_device_count(void);

#ifdef __cplusplus
}
#endif

#endif
