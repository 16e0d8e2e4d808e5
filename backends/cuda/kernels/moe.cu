// moe_route, moe_permute and moe_unpermute launches (bodies in moe_route.hpp and moe_permute.hpp).
#include "args.hpp"
#include "launch.hpp"
#include "moe_launch.hpp"
#include "moe_permute.hpp"
#include "moe_route.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_moe_route(const Stream& s, const dshal_moe_route_desc& d) {
  MoeRouteArgs a;
  a.logits = reinterpret_cast<const float*>(at(d.logits.buffer, d.logits.offset));
  a.ld = d.logits.ld;
  a.bias = d.bias.buffer ? reinterpret_cast<const float*>(at(d.bias)) : nullptr;
  a.ids = reinterpret_cast<int32_t*>(at(d.topk_ids));
  a.weights = reinterpret_cast<float*>(at(d.topk_weights));
  a.tokens = d.tokens;
  a.experts = d.experts;
  a.top_k = d.top_k;
  a.groups = dshal_moe_route_groups(&d);  // the same decision as every implementation
  a.topk_group = d.topk_group;
  a.scoring = d.scoring;
  a.method = d.method;
  a.norm_topk_prob = d.norm_topk_prob;
  a.routed_scaling_factor = d.routed_scaling_factor;
  return launch<MoeRouteArgs, moe_route_thread>(s.stream, moe_route_shape(a), a);
}

gpuError_t launch_moe_permute(const Stream& s, const dshal_moe_permute_desc& d) {
  MoePermuteArgs a;
  a.slots = d.tokens * d.top_k;
  a.top_k = d.top_k;
  a.experts = d.experts;
  a.hidden = d.hidden;
  a.offsets = reinterpret_cast<int32_t*>(at(d.expert_offsets));
  // With no tokens hal lists only expert_offsets: the other handles are not ours to resolve.
  if (a.slots > 0) {
    a.ids = reinterpret_cast<const int32_t*>(at(d.topk_ids));
    a.perm = reinterpret_cast<int32_t*>(at(d.perm));
  }
  if (a.slots > 0 && d.hidden > 0) {
    a.x = rows_of(d.x);
    a.out = mut_rows_of(d.out);
  }
  // Stream order makes each launch see the previous one's writes.
  if (gpuError_t e = launch<MoePermuteArgs, moe_count_thread>(s.stream, moe_count_shape(a), a); e != gpuSuccess) return e;
  if (gpuError_t e = launch<MoePermuteArgs, moe_scan_thread>(s.stream, moe_scan_shape(a), a); e != gpuSuccess) return e;
  if (a.slots == 0) return gpuSuccess;
  if (gpuError_t e = launch<MoePermuteArgs, moe_place_thread>(s.stream, moe_place_shape(a), a); e != gpuSuccess) return e;
  if (d.hidden == 0) return gpuSuccess;
  return launch<MoePermuteArgs, moe_gather_thread>(s.stream, moe_gather_shape(a), a);
}

gpuError_t launch_moe_unpermute(const Stream& s, const dshal_moe_unpermute_desc& d) {
  MoeUnpermuteArgs a;
  a.y = rows_of(d.y);
  a.perm = reinterpret_cast<const int32_t*>(at(d.perm));
  a.weights = reinterpret_cast<const float*>(at(d.weights));
  a.out = mut_rows_of(d.out);
  a.tokens = d.tokens;
  a.top_k = d.top_k;
  a.hidden = d.hidden;
  a.accumulate = d.accumulate;
  return with_scratch(s, d.tokens * d.top_k * sizeof(int32_t), [&](void* scratch) {
    a.row_of = static_cast<int32_t*>(scratch);
    gpuError_t e = launch<MoeUnpermuteArgs, moe_unpermute_clear_thread>(s.stream, moe_unpermute_clear_shape(a), a);
    if (e == gpuSuccess) e = launch<MoeUnpermuteArgs, moe_unpermute_invert_thread>(s.stream, moe_unpermute_invert_shape(a), a);
    if (e == gpuSuccess) e = launch<MoeUnpermuteArgs, moe_unpermute_thread>(s.stream, moe_unpermute_shape(a), a);
    return e;
  });
}

}  // namespace dshal::cuda::kernels
