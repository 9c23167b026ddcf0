#include "backend.h"

#if MXC_HAVE_CUDA
#include "cuda_backend.h"
#endif

bool backend_cuda_built(void)
{
    return MXC_HAVE_CUDA;
}

int backend_cuda_devices(void)
{
#if MXC_HAVE_CUDA
    return cuda_backend_device_count();
#else
    return 0;
#endif
}
