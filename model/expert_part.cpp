// ExpertLayout, ExpertWeights and ExpertWorkspace (expert_part.hpp).
#include "model/expert_part.hpp"
#include "model/expert_ffn.hpp"

#include "host/dtype.hpp"  // header-only element sizes, no device access

#include <fmt/format.h>

namespace dshal::model {
namespace {

constexpr uint64_t kAlign = 256;

// Appends a [rows][cols] slot of dtype t to a workspace of *bytes bytes.
Slot append(uint64_t* bytes, dshal_dtype t, uint64_t rows, uint64_t cols) {
  Slot s{(*bytes + kAlign - 1) / kAlign * kAlign, t, cols};
  *bytes = s.offset + rows * cols * dtype_bytes(t);
  return s;
}

}  // namespace

Status ExpertLayout::update(std::span<const int32_t> offsets, size_t parts) {
  const size_t E = offsets.size() - 1, Ed = E / parts;
  first_row.resize(parts);
  rows.resize(parts);
  local_offsets.resize(parts);
  for (size_t p = 0; p < parts; ++p) {
    const int32_t first = offsets[p * Ed], end = offsets[(p + 1) * Ed];
    if (first < 0 || end < first)
      return Status(DSHAL_ERROR_INTERNAL, fmt::format("moe_permute wrote decreasing expert offsets ({} then {})", first, end));
    first_row[p] = uint64_t(first);
    rows[p] = uint64_t(end - first);
    local_offsets[p].resize(Ed + 1);
    for (size_t g = 0; g <= Ed; ++g) local_offsets[p][g] = offsets[p * Ed + g] - first;
  }
  return Status();
}

Status ExpertWeights::load(const Checkpoint& ckpt, const Device& device, const Stream& stream, dshal_dtype act,
                           int64_t first, int64_t count, ExpertWeights* out) {
  WeightPart part;
  part.dense = false;
  part.first_expert = first;
  part.expert_count = count;
  DSHAL_RETURN_IF_ERROR(ModelWeights::load(ckpt, device, stream, act, nullptr, &out->weights, part));
  out->stats = {device.id(), first, count, out->weights.stats};
  return Status();
}

Status ExpertWorkspace::create(const Device& device, const ModelConfig& c, dshal_dtype act, uint64_t max_rows,
                               uint64_t groups, ExpertWorkspace* out) {
  const uint64_t H = uint64_t(c.hidden_size), MI = uint64_t(c.moe_intermediate_size);
  uint64_t bytes = 0;
  out->xp = append(&bytes, act, max_rows, H);
  out->eg = append(&bytes, act, max_rows, MI);
  out->eu = append(&bytes, act, max_rows, MI);
  out->eh = append(&bytes, act, max_rows, MI);
  out->ey = append(&bytes, DSHAL_DTYPE_F32, max_rows, H);
  out->offsets = append(&bytes, DSHAL_DTYPE_I32, 1, groups + 1);
  return device.alloc(bytes, &out->buffer);
}

Status ExpertWorkspace::run(const Stream& s, const ModelConfig& c, const LayerWeights& w, uint64_t groups,
                            uint64_t rows, const int32_t* local_offsets) const {
  DSHAL_RETURN_IF_ERROR(s.copy_h2d(local_offsets, buffer, offsets.offset, (groups + 1) * 4));
  return expert_ffn(s, buffer, w, groups, rows, uint64_t(c.moe_intermediate_size), ref(buffer, offsets.offset),
                    {xp, eg, eu, eh, ey});
}

}  // namespace dshal::model
