// rope, softmax, elementwise and embedding slots. Each returns at once for an empty shape (hal then
// lists no operand and the handles are not the backend's) and launches its kernel (cuda_ops.hpp).
#include "cuda_ops.hpp"
#include "kernels/rows_launch.hpp"

namespace dshal::cuda {
namespace {

dshal_status rope(dshal_stream stream, const dshal_rope_desc* d) {
  if (d->tokens == 0 || d->heads == 0 || d->dim == 0) return DSHAL_OK;
  return run_kernel(stream, "rope", [&](const Stream& s) { return kernels::launch_rope(s, *d); });
}

dshal_status softmax(dshal_stream stream, const dshal_softmax_desc* d) {
  if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
  return run_kernel(stream, "softmax", [&](const Stream& s) { return kernels::launch_softmax(s, *d); });
}

dshal_status elementwise(dshal_stream stream, const dshal_elementwise_desc* d) {
  if (d->n == 0) return DSHAL_OK;
  return run_kernel(stream, "elementwise", [&](const Stream& s) { return kernels::launch_elementwise(s, *d); });
}

// The ids live on the device: a bad one is reported by the kernel, at the stream's next synchronize.
dshal_status embedding(dshal_stream stream, const dshal_embedding_desc* d) {
  if (d->tokens == 0 || d->hidden == 0) return DSHAL_OK;
  return run_kernel(stream, "embedding", [&](const Stream& s) { return kernels::launch_embedding(s, *d); });
}

}  // namespace

void fill_rows_slots(dshal_adapter_table* t) {
  t->rope = rope;
  t->softmax = softmax;
  t->elementwise = elementwise;
  t->embedding = embedding;
}

}  // namespace dshal::cuda
