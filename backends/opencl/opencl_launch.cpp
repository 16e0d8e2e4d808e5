// Kernel launches: arguments set and the NDRange enqueued under the kernel's lock.
#include "opencl_launch.hpp"

namespace dshal::opencl {

dshal_status Launch::run(std::initializer_list<size_t> global, std::initializer_list<size_t> local) {
  cl_kernel kernel = nullptr;
  std::mutex* lock = nullptr;
  if (dshal_status st = stream_->device->programs->kernel(file_, kernel_, &kernel, &lock); st != DSHAL_OK) return st;
  const cl_uint dims = cl_uint(global.size());
  size_t g[3] = {1, 1, 1}, l[3] = {1, 1, 1};
  const bool has_local = local.size() != 0;
  for (cl_uint i = 0; i < dims; ++i) {
    l[i] = has_local ? local.begin()[i] : 1;
    g[i] = (global.begin()[i] + l[i] - 1) / l[i] * l[i];
    if (g[i] == 0) return DSHAL_OK;  // nothing to do
  }
  std::lock_guard guard(*lock);
  for (cl_uint i = 0; i < args_.size(); ++i) {
    const Arg& a = args_[i];
    const cl_int err = a.is_local ? clSetKernelArg(kernel, i, a.local_bytes, nullptr)
                                  : clSetKernelArg(kernel, i, a.bytes.size(), a.bytes.data());
    if (err != CL_SUCCESS) return cl_fail(err, std::string("clSetKernelArg(") + kernel_ + ", argument " + std::to_string(i) + ")");
  }
  DSHAL_CL_RETURN_IF_ERROR(
      clEnqueueNDRangeKernel(stream_->queue, kernel, dims, nullptr, g, has_local ? l : nullptr, 0, nullptr, nullptr),
      std::string("clEnqueueNDRangeKernel(") + kernel_ + ")");
  return DSHAL_OK;
}

}  // namespace dshal::opencl
