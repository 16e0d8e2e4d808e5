// MoE permute / unpermute host kernels: gather token rows into expert order and the fixed-order
// weighted scatter-add back.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstring>
#include <vector>

namespace dshal::host {

dshal_status moe_permute(const dshal_moe_permute_desc& d, std::string* error) {
  const uint64_t slots = d.tokens * d.top_k;
  const auto* ids = host_ptr<const int32_t>(d.topk_ids.buffer, d.topk_ids.offset);
  auto* offsets = host_ptr<int32_t>(d.expert_offsets.buffer, d.expert_offsets.offset);
  auto* perm = host_ptr<int32_t>(d.perm.buffer, d.perm.offset);
  const auto kept_expert = [&](int32_t e) { return e >= 0 && uint64_t(e) < d.experts; };

  // Counting sort by expert; scanning slots in order keeps each expert's slots in slot order.
  std::vector<uint64_t> cursor(d.experts + 1, 0);
  for (uint64_t s = 0; s < slots; ++s)
    if (kept_expert(ids[s])) ++cursor[uint64_t(ids[s]) + 1];
  for (uint64_t e = 0; e < d.experts; ++e) cursor[e + 1] += cursor[e];
  for (uint64_t e = 0; e <= d.experts; ++e) offsets[e] = int32_t(cursor[e]);
  const uint64_t kept = cursor[d.experts];
  for (uint64_t s = 0; s < slots; ++s)
    if (kept_expert(ids[s])) perm[cursor[uint64_t(ids[s])]++] = int32_t(s);
  for (uint64_t p = kept; p < slots; ++p) perm[p] = -1;

  if (d.hidden == 0 || kept == 0) return DSHAL_OK;
  const uint64_t row_bytes = storage_bytes(d.x.dtype, d.hidden);
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, kept, std::max<uint64_t>(1, 65536 / row_bytes)),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    for (uint64_t p = range.begin(); p != range.end(); ++p)
      std::memcpy(ops::row_ptr(d.out, p), ops::row_ptr(d.x, uint64_t(perm[p]) / d.top_k), row_bytes);
  });
  return DSHAL_OK;
}

dshal_status moe_unpermute(const dshal_moe_unpermute_desc& d, std::string* error) {
  const uint64_t slots = d.tokens * d.top_k;
  if (d.tokens == 0 || d.hidden == 0) return DSHAL_OK;
  const auto* perm = host_ptr<const int32_t>(d.perm.buffer, d.perm.offset);
  const auto* weights = host_ptr<const float>(d.weights.buffer, d.weights.offset);

  // row_of[s] = the row p with perm[p] == s, or -1 for a slot that was not kept.
  std::vector<int64_t> row_of(slots, -1);
  for (uint64_t p = 0; p < slots; ++p)
    if (perm[p] >= 0 && uint64_t(perm[p]) < slots) row_of[uint64_t(perm[p])] = int64_t(p);

  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.tokens, std::max<uint64_t>(1, 4096 / d.hidden)),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> acc(d.hidden), y(d.hidden);
    for (uint64_t t = range.begin(); t != range.end(); ++t) {
      if (d.accumulate) ops::load_row(ops::row_ptr(d.out, t), d.out.dtype, d.hidden, acc.data());
      else std::fill(acc.begin(), acc.end(), 0.0f);
      // Every element sums j = 0 .. top_k-1 in order, whatever the threads: bit-reproducible.
      for (uint64_t j = 0; j < d.top_k; ++j) {
        const int64_t p = row_of[t * d.top_k + j];
        if (p < 0) continue;
        const float w = weights[t * d.top_k + j];
        ops::load_row(ops::row_ptr(d.y, uint64_t(p)), d.y.dtype, d.hidden, y.data());
        for (uint64_t h = 0; h < d.hidden; ++h) acc[h] += w * y[h];
      }
      ops::store_row(acc.data(), d.hidden, ops::row_ptr(d.out, t), d.out.dtype);
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
