// Elementwise host kernel: add / mul / scale / cast over n contiguous elements, computed in f32.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstring>

namespace dshal::host {
namespace {

constexpr uint64_t kChunk = 1024;  // elements converted to f32 at a time

DSHAL_HOST_SIMD_CLONES void combine(dshal_elementwise_op op, float alpha, float* a, const float* b, uint64_t n) {
  switch (op) {
    case DSHAL_ELEMENTWISE_ADD: for (uint64_t i = 0; i < n; ++i) a[i] += b[i]; break;
    case DSHAL_ELEMENTWISE_MUL: for (uint64_t i = 0; i < n; ++i) a[i] *= b[i]; break;
    case DSHAL_ELEMENTWISE_SCALE: for (uint64_t i = 0; i < n; ++i) a[i] *= alpha; break;
    default: break;
  }
}

}  // namespace

dshal_status elementwise(const dshal_elementwise_desc& d, std::string* error) {
  if (d.n == 0) return DSHAL_OK;
  const bool binary = d.op == DSHAL_ELEMENTWISE_ADD || d.op == DSHAL_ELEMENTWISE_MUL;
  if (!binary && d.op != DSHAL_ELEMENTWISE_SCALE && d.op != DSHAL_ELEMENTWISE_CAST)
    return ops::fail(error, DSHAL_ERROR_INVALID_ARGUMENT, "elementwise: op " + std::to_string(int(d.op)) + " is unknown");
  const auto readable = [](dshal_dtype t) { return t != DSHAL_DTYPE_INT4 && dtype_bytes(t) != 0; };
  const auto writable = [](dshal_dtype t) {
    return t == DSHAL_DTYPE_F32 || t == DSHAL_DTYPE_F16 || t == DSHAL_DTYPE_BF16 || t == DSHAL_DTYPE_FP8_E4M3;
  };
  if (!(d.op == DSHAL_ELEMENTWISE_CAST && d.a.dtype == d.out.dtype) &&
      (!readable(d.a.dtype) || (binary && !readable(d.b.dtype)) || !writable(d.out.dtype)))
    return ops::fail(error, DSHAL_ERROR_UNSUPPORTED,
                     std::string("elementwise: dtypes a = ") + dtype_name(d.a.dtype) + ", b = " +
                         dtype_name(binary ? d.b.dtype : d.a.dtype) + ", out = " + dtype_name(d.out.dtype) +
                         " are not supported (f32, f16, bf16, fp8 out; INT4 nowhere)");
  const std::byte* a = host_ptr(d.a.buffer, d.a.offset);
  const std::byte* b = binary ? host_ptr(d.b.buffer, d.b.offset) : nullptr;
  std::byte* out = host_ptr(d.out.buffer, d.out.offset);

  if (d.op == DSHAL_ELEMENTWISE_CAST && d.a.dtype == d.out.dtype) {  // exact copy, NaN payloads kept
    if (a != out) std::memmove(out, a, storage_bytes(d.a.dtype, d.n));
    return DSHAL_OK;
  }
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, (d.n + kChunk - 1) / kChunk, 16),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    float fa[kChunk], fb[kChunk];
    for (uint64_t c = range.begin(); c != range.end(); ++c) {
      const uint64_t i0 = c * kChunk, n = std::min(kChunk, d.n - i0);
      // A chunk is read whole before it is written: out may alias a or b.
      ops::load_row(a + i0 * dtype_bytes(d.a.dtype), d.a.dtype, n, fa);
      if (binary) ops::load_row(b + i0 * dtype_bytes(d.b.dtype), d.b.dtype, n, fb);
      combine(d.op, d.alpha, fa, fb, n);
      ops::store_row(fa, n, out + i0 * dtype_bytes(d.out.dtype), d.out.dtype);
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
