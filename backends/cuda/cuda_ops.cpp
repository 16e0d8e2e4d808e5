// The optional ops' slots: each returns at once for an empty shape (hal then lists no operand and
// the handles are not the backend's), makes the stream's device current and launches its kernel.
#include "cuda.hpp"
#include "kernels/launch.hpp"

namespace dshal::cuda {
namespace {

// Runs launch(stream) for the op named what, after the device switch.
template <class Launch>
dshal_status run(dshal_stream stream, const char* what, Launch&& launch) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    if (gpuError_t e = launch(s->stream); e != gpuSuccess) return gpu_fail(e, what);
    return DSHAL_OK;
  });
}

dshal_status rms_norm(dshal_stream stream, const dshal_rms_norm_desc* d) {
  if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
  return run(stream, "rms_norm", [&](gpuStream_t s) { return kernels::launch_rms_norm(s, *d); });
}

dshal_status silu_mul(dshal_stream stream, const dshal_silu_mul_desc* d) {
  if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
  return run(stream, "silu_mul", [&](gpuStream_t s) { return kernels::launch_silu_mul(s, *d); });
}

}  // namespace

void fill_kernel_slots(dshal_adapter_table* t) {
  t->rms_norm = rms_norm;
  t->silu_mul = silu_mul;
}

}  // namespace dshal::cuda
