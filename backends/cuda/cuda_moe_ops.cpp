// moe_route, moe_permute and moe_unpermute slots (kernels in kernels/moe.cu). Each returns at once
// for a shape where hal lists no operand (the handles are then not the backend's).
#include "cuda_ops.hpp"
#include "kernels/moe_launch.hpp"

namespace dshal::cuda {
namespace {

dshal_status moe_route(dshal_stream stream, const dshal_moe_route_desc* d) {
  if (d->tokens == 0) return DSHAL_OK;
  return run_kernel(stream, "moe_route", [&](const Stream& s) { return kernels::launch_moe_route(s, *d); });
}

// No early return for tokens == 0: hal still lists expert_offsets, which is then all zero.
dshal_status moe_permute(dshal_stream stream, const dshal_moe_permute_desc* d) {
  return run_kernel(stream, "moe_permute", [&](const Stream& s) { return kernels::launch_moe_permute(s, *d); });
}

dshal_status moe_unpermute(dshal_stream stream, const dshal_moe_unpermute_desc* d) {
  if (d->tokens == 0 || d->hidden == 0) return DSHAL_OK;
  return run_kernel(stream, "moe_unpermute", [&](const Stream& s) { return kernels::launch_moe_unpermute(s, *d); });
}

}  // namespace

void fill_moe_slots(dshal_adapter_table* t) {
  t->moe_route = moe_route;
  t->moe_permute = moe_permute;
  t->moe_unpermute = moe_unpermute;
}

}  // namespace dshal::cuda
