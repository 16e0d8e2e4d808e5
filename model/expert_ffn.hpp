// The routed experts' FFN over rows already in expert order, one grouped GEMM per projection:
// eh = silu(xp * Wg_e^T) * (xp * Wu_e^T); ey = eh * Wd_e^T. Shared by the single-device MoE step
// (moe.cpp) and each device of expert parallelism (expert_parallel.cpp), so both compute every
// expert's rows the same way.
#pragma once

#include <dshal/dshal.hpp>

#include "model/arena.hpp"
#include "model/weights.hpp"

namespace dshal::model {

// Where the rows live: one buffer, five [rows][...] slots.
struct ExpertRows {
  Slot xp, eg, eu, eh, ey;
};

// groups: the experts of w's e_gate / e_up / e_down, in order; offsets[g] (int32, groups + 1
// entries) is group g's first row; rows: the rows in use; intermediate: moe_intermediate_size.
Status expert_ffn(const Stream& s, const Buffer& b, const LayerWeights& w, uint64_t groups, uint64_t rows,
                  uint64_t intermediate, const dshal_buffer_ref& offsets, const ExpertRows& slots);

}  // namespace dshal::model
