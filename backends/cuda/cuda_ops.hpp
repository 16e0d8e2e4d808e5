// What the optional ops' slot files share: running one kernel launcher for a slot.
#pragma once

#include "cuda.hpp"

namespace dshal::cuda {

// After the device switch, launch(stream) for the op named what; a launch error becomes the status.
template <class Launch>
dshal_status run_kernel(dshal_stream stream, const char* what, Launch&& launch) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    if (gpuError_t e = launch(*s); e != gpuSuccess) return gpu_fail(e, what);
    return DSHAL_OK;
  });
}

}  // namespace dshal::cuda
