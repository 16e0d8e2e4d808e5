// opencl devices: opened from the inventory, with a queue for staging work and a program cache;
// their properties come from clGetDeviceInfo.
#include "opencl.hpp"

namespace dshal::opencl {

Device::~Device() {
  programs.reset();
  if (aux_queue) clReleaseCommandQueue(aux_queue);
}

dshal_status device_count(uint32_t* count) {
  *count = 0;
  return guarded([&] {
    const Inventory& inv = inventory();
    if (inv.devices.empty()) return fail(DSHAL_ERROR_UNAVAILABLE, inv.unavailable);
    *count = uint32_t(inv.devices.size());
    return DSHAL_OK;
  });
}

dshal_status device_open(uint32_t index, dshal_device* out) {
  *out = nullptr;
  return guarded([&] {
    const Inventory& inv = inventory();
    if (index >= inv.devices.size())
      return fail(DSHAL_ERROR_NOT_FOUND, "opencl:" + std::to_string(index) + " does not exist (" +
                                             std::to_string(inv.devices.size()) + " devices)");
    auto d = std::make_unique<Device>();
    d->info = &inv.devices[index];
    cl_int err = CL_SUCCESS;
    d->aux_queue = clCreateCommandQueue(d->context(), d->info->id, 0, &err);
    if (err != CL_SUCCESS) return cl_fail(err, "clCreateCommandQueue(" + d->info->name + ")");
    d->programs = std::make_unique<ProgramCache>(d.get());
    *out = reinterpret_cast<dshal_device>(d.release());
    return DSHAL_OK;
  });
}

dshal_status device_close(dshal_device device) {
  Device* d = as_device(device);
  clFinish(d->aux_queue);
  delete d;
  return DSHAL_OK;
}

dshal_status device_get_properties(dshal_device device, dshal_device_properties* p) {
  return guarded([&] {
    const DeviceInfo& info = *as_device(device)->info;
    const uint32_t size = p->struct_size;
    *p = dshal_device_properties{};
    p->struct_size = size;
    backend::copy_str(p->name, sizeof(p->name), info.name + " (" + info.platform_name + ")");
    backend::copy_str(p->vendor, sizeof(p->vendor), info.vendor);
    backend::copy_str(p->driver_version, sizeof(p->driver_version), info.driver_version);
    p->memory_bytes = info.global_mem;
    p->max_alloc_bytes = info.max_alloc;
    p->max_buffer_range = info.max_alloc;
    p->alignment = info.base_align_bits / 8;
    p->compute_units = info.compute_units;
    // f16 is read and written with vload_half / vstore_half, which OpenCL C 1.2 has without
    // cl_khr_fp16; bf16 is stored as ushort. Every type accumulates in f32.
    p->gemm_dtypes = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
    p->storage_dtypes = p->gemm_dtypes | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_INT4) |
                        DSHAL_DTYPE_BIT(DSHAL_DTYPE_I32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_U8);
    // Unified memory: CL_MEM_USE_HOST_PTR buffers are the host pages themselves.
    p->flags = info.unified_memory ? DSHAL_DEVICE_HOST_SHARED_MEMORY : 0;
    return DSHAL_OK;
  });
}

}  // namespace dshal::opencl
