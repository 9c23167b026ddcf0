// CUDA backend. For now it only reports devices; the fused dequantize +
// compare + re-quantize kernels arrive with the CUDA issue and include
// src/mxfp4.h so they share the CPU reference's constants and rounding.
#include <cuda_runtime.h>

#include "cuda_backend.h"
#include "mxfp4.h"

extern "C" int cuda_backend_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no driver" error
        return 0;
    }
    return n;
}
