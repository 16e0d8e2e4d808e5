// Helpers the rope / softmax / elementwise / embedding bodies need beyond hd.hpp: a bit copy of one
// element, and loads and stores that also handle FP8 / I32 / U8 (as hal/host/dtype.hpp's load_f32).
#pragma once

#include "hd.hpp"

namespace dshal::cuda::kernels {

// Element i of src copied to element j of dst, bits unchanged (a same-type gather or cast keeps
// NaN payloads, which a round trip through f32 would not for f16).
DSHAL_HD inline void copy_elem(void* dst, uint64_t j, const void* src, uint64_t i, dshal_dtype t) {
  const uint64_t n = elem_bytes(t);
  const char* s = static_cast<const char*>(src) + i * n;
  char* d = static_cast<char*>(dst) + j * n;
  for (uint64_t k = 0; k < n; ++k) d[k] = s[k];
}

// Element i of a typed array as f32, for every type hal/host's load_f32 reads but INT4.
DSHAL_HD inline float load_any(const void* p, dshal_dtype t, uint64_t i) {
  if (t == DSHAL_DTYPE_FP8_E4M3) return fp8_e4m3_to_f32(static_cast<const uint8_t*>(p)[i]);
  if (t == DSHAL_DTYPE_I32) return float(static_cast<const int32_t*>(p)[i]);
  if (t == DSHAL_DTYPE_U8) return float(static_cast<const uint8_t*>(p)[i]);
  return load(p, t, i);
}
// Stores v at element i of a float-typed array (F32, F16, BF16, FP8_E4M3).
DSHAL_HD inline void store_any(void* p, dshal_dtype t, uint64_t i, float v) {
  if (t == DSHAL_DTYPE_FP8_E4M3) static_cast<uint8_t*>(p)[i] = f32_to_fp8_e4m3(v);
  else store(p, t, i, v);
}

}  // namespace dshal::cuda::kernels
