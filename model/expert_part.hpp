// The pieces every form of expert parallelism shares: the layout pass (which rows each holder of a
// contiguous group of experts gets), one holder's expert weights, and a workspace where a holder
// that is not the home device receives its rows and computes them.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <span>
#include <vector>

#include "model/arena.hpp"
#include "model/checkpoint.hpp"
#include "model/routed_experts.hpp"
#include "model/weights.hpp"

namespace dshal::model {

// Rows per part and per expert, from the expert offsets moe_permute wrote (E + 1 entries; expert
// e's rows are [offsets[e], offsets[e + 1])). Part p holds experts [p * E/P, (p + 1) * E/P).
struct ExpertLayout {
  Status update(std::span<const int32_t> offsets, size_t parts);
  std::vector<uint64_t> first_row, rows;          // per part
  std::vector<std::vector<int32_t>> local_offsets;  // per part: its offsets rebased to its first row
};

// Experts [first, first + count) of every MoE layer, on one device.
struct ExpertWeights {
  static Status load(const Checkpoint& ckpt, const Device& device, const Stream& stream, dshal_dtype act,
                     int64_t first, int64_t count, ExpertWeights* out);
  ModelWeights weights;
  DeviceWeightStats stats;
};

// Room for max_rows permuted rows on one device, and the local offsets of `groups` experts.
struct ExpertWorkspace {
  static Status create(const Device& device, const ModelConfig& c, dshal_dtype act, uint64_t max_rows,
                       uint64_t groups, ExpertWorkspace* out);
  // expert_ffn over the first `rows` rows of xp into ey. local_offsets (host, groups + 1 entries)
  // is read when the copy runs: it must stay unchanged until the stream passes it.
  Status run(const Stream& s, const ModelConfig& c, const LayerWeights& w, uint64_t groups, uint64_t rows,
             const int32_t* local_offsets) const;
  Buffer buffer;
  Slot xp, eg, eu, eh, ey, offsets;
};

}  // namespace dshal::model
