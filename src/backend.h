/* backend.h - the compute backends (CPU with OpenMP threads; CUDA when built
 * in). The CUDA side lives in kernels/ and is linked only when nvcc was found
 * at build time (MXC_HAVE_CUDA). */
#ifndef MXC_BACKEND_H
#define MXC_BACKEND_H

#include <stdbool.h>

/* True when this binary contains the CUDA backend. */
bool backend_cuda_built(void);

/* Number of usable CUDA devices (0 without the CUDA backend, a driver or a
 * GPU). Never fails: no GPU means the CPU backend. */
int backend_cuda_devices(void);

#endif
