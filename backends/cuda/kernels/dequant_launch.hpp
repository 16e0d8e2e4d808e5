// The launchers of dequant.cu (bodies in dequant.hpp), callable from host C++; each returns the
// launch error (gpuSuccess when queued on s.stream).
#pragma once

#include <dshal/adapter.h>

#include "cuda.hpp"
#include "hd.hpp"

namespace dshal::cuda::kernels {

// out[r][k] = dequant(w)[n0 + r][k] for r < rows, k < k (FP8_E4M3 or INT4 w; out row stride k).
gpuError_t launch_dequant_weight(const Stream& s, const dshal_weight& w, uint64_t k, uint64_t n0, uint64_t rows, float* out);
// dst[r][c] = src[r][c] converted between f32 / f16 / bf16, r < rows, c < cols.
gpuError_t launch_dequant_convert(const Stream& s, const Rows& src, const MutRows& dst, uint64_t rows, uint64_t cols);

}  // namespace dshal::cuda::kernels
