// Embedding gather host kernel: out[t] = table[ids[t]], with ids checked against vocab first.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstring>
#include <vector>

namespace dshal::host {

dshal_status embedding(const dshal_embedding_desc& d, std::string* error) {
  const auto* ids = host_ptr<const int32_t>(d.ids.buffer, d.ids.offset);
  // Every id is checked before anything is written: a bad id leaves out untouched.
  for (uint64_t t = 0; t < d.tokens; ++t)
    if (ids[t] < 0 || uint64_t(ids[t]) >= d.vocab)
      return ops::fail(error, DSHAL_ERROR_INVALID_ARGUMENT,
                       "embedding: ids[" + std::to_string(t) + "] = " + std::to_string(ids[t]) +
                           " is outside [0, vocab = " + std::to_string(d.vocab) + ")");
  if (d.tokens == 0 || d.hidden == 0) return DSHAL_OK;
  const bool same_type = d.table.dtype == d.out.dtype;
  const uint64_t row_bytes = storage_bytes(d.out.dtype, d.hidden);
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.tokens, std::max<uint64_t>(1, 65536 / row_bytes)),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> row(same_type ? 0 : d.hidden);
    for (uint64_t t = range.begin(); t != range.end(); ++t) {
      const std::byte* src = ops::row_ptr(d.table, uint64_t(ids[t]));
      std::byte* dst = ops::row_ptr(d.out, t);
      if (same_type) {
        std::memcpy(dst, src, row_bytes);
      } else {
        ops::load_row(src, d.table.dtype, d.hidden, row.data());
        ops::store_row(row.data(), d.hidden, dst, d.out.dtype);
      }
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
