// opencl buffers: cl_mem objects of the device's context, or host memory wrapped in place.
#include "opencl.hpp"

namespace dshal::opencl {

dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    Device* d = as_device(device);
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(d->context(), CL_MEM_READ_WRITE, size, nullptr, &err);
    if (err != CL_SUCCESS)
      return cl_fail(err, "clCreateBuffer(" + std::to_string(size) + " bytes on " + d->info->name + ")");
    *out = reinterpret_cast<dshal_buffer>(new Buffer{d, mem, size});
    return DSHAL_OK;
  });
}

dshal_status buffer_free(dshal_buffer buffer) {
  Buffer* b = as_buffer(buffer);
  clReleaseMemObject(b->mem);
  delete b;
  return DSHAL_OK;
}

dshal_status import_host_memory(dshal_device device, void* ptr, uint64_t bytes, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    Device* d = as_device(device);
    if (!d->info->unified_memory)
      return fail(DSHAL_ERROR_UNSUPPORTED, "import_host_memory: " + d->info->name + " does not share host memory");
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(d->context(), CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, ptr, &err);
    if (err != CL_SUCCESS)
      return cl_fail(err, "clCreateBuffer(CL_MEM_USE_HOST_PTR, " + std::to_string(bytes) + " bytes on " + d->info->name + ")");
    *out = reinterpret_cast<dshal_buffer>(new Buffer{d, mem, bytes});
    return DSHAL_OK;
  });
}

}  // namespace dshal::opencl
