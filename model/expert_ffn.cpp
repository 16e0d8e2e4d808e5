// expert_ffn (expert_ffn.hpp): gate and up grouped GEMMs, silu_mul, down grouped GEMM.
#include "model/expert_ffn.hpp"

namespace dshal::model {

Status expert_ffn(const Stream& s, const Buffer& b, const LayerWeights& w, uint64_t groups, uint64_t rows,
                  uint64_t intermediate, const dshal_buffer_ref& offsets, const ExpertRows& slots) {
  auto grouped = desc<dshal_grouped_gemm_desc>();
  grouped.groups = groups;
  grouped.m = rows;
  grouped.offsets = offsets;
  auto run = [&](const Experts& e, const Slot& in, const Slot& out) {
    grouped.n = uint64_t(e.n);
    grouped.k = uint64_t(e.k);
    grouped.a = mat(b, in);
    grouped.w = e.w;
    grouped.w_group_stride_bytes = e.w_stride;
    grouped.scales_group_stride_bytes = e.scales_stride;
    grouped.c = mat(b, out);
    return s.grouped_gemm(grouped);
  };
  DSHAL_RETURN_IF_ERROR(run(w.e_gate, slots.xp, slots.eg));
  DSHAL_RETURN_IF_ERROR(run(w.e_up, slots.xp, slots.eu));
  auto act = desc<dshal_silu_mul_desc>();
  act.rows = rows;
  act.cols = intermediate;
  act.gate = ten(b, slots.eg);
  act.up = ten(b, slots.eu);
  act.out = ten(b, slots.eh);
  DSHAL_RETURN_IF_ERROR(s.silu_mul(act));
  return run(w.e_down, slots.eh, slots.ey);
}

}  // namespace dshal::model
