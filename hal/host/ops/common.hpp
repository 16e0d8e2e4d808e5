// Helpers shared by the host op kernels: typed row conversion to and from f32, and SIMD dispatch.
#pragma once

#include "host/dtype.hpp"
#include "host/kernels.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

// Hot loops are compiled for x86-64-v4 (AVX-512), v3 (AVX2 + FMA) and the baseline, picked at load
// time (GCC/Clang function multi-versioning). Everything called from such a function must inline.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define DSHAL_HOST_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DSHAL_HOST_SIMD_CLONES
#endif
#define DSHAL_HOST_INLINE inline __attribute__((always_inline))

namespace dshal::host::ops {

// dst[i] = element i of src (dtype t) as f32, for i < n.
DSHAL_HOST_INLINE void load_row(const void* src, dshal_dtype t, uint64_t n, float* dst) {
  switch (t) {
    case DSHAL_DTYPE_F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DSHAL_DTYPE_BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (uint64_t i = 0; i < n; ++i) {
        const uint32_t u = uint32_t(s[i]) << 16;
        std::memcpy(dst + i, &u, sizeof(float));
      }
      return;
    }
    case DSHAL_DTYPE_F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (uint64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    default:
      for (uint64_t i = 0; i < n; ++i) dst[i] = load_f32(src, t, i);
      return;
  }
}

// Element i of dst (dtype t) = src[i] rounded to t, for i < n.
DSHAL_HOST_INLINE void store_row(const float* src, uint64_t n, void* dst, dshal_dtype t) {
  switch (t) {
    case DSHAL_DTYPE_F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DSHAL_DTYPE_BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (uint64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DSHAL_DTYPE_F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (uint64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    default:
      for (uint64_t i = 0; i < n; ++i) store_f32(dst, t, i, src[i]);
      return;
  }
}

// Address of element `index` of a typed array starting at byte offset `offset` of buffer b.
inline std::byte* elem_ptr(dshal_buffer b, uint64_t offset, dshal_dtype t, uint64_t index) {
  return host_ptr(b, offset) + index * dtype_bytes(t);
}

// Row r of a strided tensor view.
inline std::byte* row_ptr(const dshal_tensor& v, uint64_t r) { return elem_ptr(v.buffer, v.offset, v.dtype, r * v.ld); }

inline dshal_status fail(std::string* error, dshal_status status, std::string message) {
  if (error) *error = std::move(message);
  return status;
}

}  // namespace dshal::host::ops
