// Devices: enumeration through the runtime (its error is the reason `dshal devices` shows when
// there is no GPU), opening (a cuBLASLt handle and workspace per device), properties.
#include "cuda.hpp"

#include <fmt/format.h>

namespace dshal::cuda {

dshal_status gpu_fail(gpuError_t e, const char* what) {
  const dshal_status code = e == gpuErrorMemoryAllocation ? DSHAL_ERROR_OUT_OF_MEMORY : DSHAL_ERROR_DEVICE;
  return fail(code, fmt::format("{}: {}", what, gpuGetErrorString(e)));
}
dshal_status blas_fail(blasStatus_t e, const char* what) {
  return fail(DSHAL_ERROR_DEVICE, fmt::format("{}: {}", what, blasGetStatusString(e)));
}
dshal_status ccl_fail(cclResult_t e, const char* what) {
  return fail(DSHAL_ERROR_DEVICE, fmt::format("{}: {}", what, cclGetErrorString(e)));
}

dshal_status use(const Device* d) {
  DSHAL_GPU(gpuSetDevice(d->ordinal));
  return DSHAL_OK;
}

dshal_status device_count(uint32_t* count) {
  return guarded([&] {
    *count = 0;
    int n = 0;
    if (gpuError_t e = gpuGetDeviceCount(&n); e != gpuSuccess)
      return fail(DSHAL_ERROR_UNAVAILABLE, fmt::format("cudaGetDeviceCount: {}", gpuGetErrorString(e)));
    *count = uint32_t(n);
    return DSHAL_OK;
  });
}

dshal_status device_open(uint32_t index, dshal_device* out) {
  return guarded([&] {
    *out = nullptr;
    auto d = std::make_unique<Device>();
    d->ordinal = int(index);
    DSHAL_GPU(gpuSetDevice(d->ordinal));
    DSHAL_GPU(gpuGetDeviceProperties(&d->props, d->ordinal));
    DSHAL_BLAS(blasLtCreate(&d->blas));
    // cuBLASLt's recommended workspace for Hopper; Ampere needs less.
    d->blas_workspace_bytes = size_t(32) << 20;
    if (gpuError_t e = gpuMallocAsync(&d->blas_workspace, d->blas_workspace_bytes, nullptr); e != gpuSuccess) {
      blasLtDestroy(d->blas);
      return gpu_fail(e, "cudaMallocAsync (cuBLASLt workspace)");
    }
    DSHAL_GPU(gpuDeviceSynchronize());
    *out = reinterpret_cast<dshal_device>(d.release());
    return DSHAL_OK;
  });
}

dshal_status device_close(dshal_device device) {
  return guarded([&] {
    std::unique_ptr<Device> d(as_device(device));
    DSHAL_GPU(gpuSetDevice(d->ordinal));
    DSHAL_GPU(gpuDeviceSynchronize());
    gpuFreeAsync(d->blas_workspace, nullptr);
    blasLtDestroy(d->blas);
    DSHAL_GPU(gpuDeviceSynchronize());
    return DSHAL_OK;
  });
}

dshal_status device_get_properties(dshal_device device, dshal_device_properties* p) {
  return guarded([&] {
    const Device* d = as_device(device);
    const gpuDeviceProp& g = d->props;
    backend::copy_str(p->name, sizeof p->name, g.name);
    backend::copy_str(p->vendor, sizeof p->vendor, "NVIDIA");
    int driver = 0, runtime = 0;
    gpuDriverGetVersion(&driver);
    gpuRuntimeGetVersion(&runtime);
    backend::copy_str(p->driver_version, sizeof p->driver_version,
                      fmt::format("driver {}.{}, runtime {}.{}, sm_{}{}", driver / 1000, driver % 1000 / 10,
                                  runtime / 1000, runtime % 1000 / 10, g.major, g.minor));
    p->memory_bytes = g.totalGlobalMem;
    p->max_alloc_bytes = g.totalGlobalMem;
    p->max_buffer_range = g.totalGlobalMem;
    p->alignment = 256;  // cudaMalloc's guarantee
    p->compute_units = uint32_t(g.multiProcessorCount);
    p->gemm_dtypes = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
    p->storage_dtypes = p->gemm_dtypes | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_INT4) |
                        DSHAL_DTYPE_BIT(DSHAL_DTYPE_I32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_U8);
    p->flags = 0;  // discrete memory: weights are copied, not imported
    return DSHAL_OK;
  });
}

}  // namespace dshal::cuda
