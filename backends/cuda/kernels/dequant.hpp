// gemm_quant's dequantize-then-GEMM path, its device-side half: the thread body that writes
// dequant(W) rows into an f32 scratch, the body that converts a strided f16 / bf16 / f32 matrix into
// another dtype (A to f32 for cuBLASLt, C to and from an f32 scratch), the choice of path and the
// plan of W column chunks (pure, tested on the host). The host-side half is cuda_dequant_gemm.cpp.
#pragma once

#include "weight_gemm.hpp"

#include <vector>

namespace dshal::cuda::kernels {

// From this many rows of A on, gemm_quant dequantizes W and runs cuBLASLt; below it the per-output
// kernel of weight_gemm.hpp stays. That kernel reads each W element once per output row from cache
// at 1 byte (fp8) or half a byte (int4); dequantize-then-GEMM first writes and reads N*K f32 (8
// bytes an element, plus the conversion of A), which only pays once M is large enough for the
// tiled GEMM's throughput to beat M untiled passes. Decode steps (a few tokens) stay on the
// kernel, prefill goes to cuBLASLt. An estimate, not a measurement (no GPU here): tune on one.
inline constexpr uint64_t kDequantGemmMinRows = 32;
// The most f32 scratch one chunk of dequantized W may take; larger W go in column chunks.
inline constexpr uint64_t kDequantScratchCap = uint64_t(64) << 20;

// Whether gemm_quant takes the dequantize-then-GEMM path: a quantized W, M at the threshold, and a
// product to compute (alpha == 0 or K == 0 is C = beta * C, which the kernel does without reading
// A or W, as the contract wants).
inline bool use_dequant_gemm(const dshal_gemm_quant_desc& d) {
  const bool quant = d.w.dtype == DSHAL_DTYPE_FP8_E4M3 || d.w.dtype == DSHAL_DTYPE_INT4;
  return quant && d.m >= kDequantGemmMinRows && d.alpha != 0.0f && d.k > 0;
}

// Rows [n0, n0 + rows) of W, i.e. columns [n0, n0 + rows) of C.
struct DequantChunk {
  uint64_t n0 = 0, rows = 0;
};
// W's N rows in chunks whose k * 4 bytes of f32 each fit in cap_bytes, every chunk but the last a
// multiple of align_rows (the scale block height, so a scale block is never split across chunks)
// when align_rows rows fit; otherwise as many rows as fit, and at least one row (a row wider than
// the cap is one chunk over the cap: it cannot be split along K without a second accumulation).
inline std::vector<DequantChunk> plan_dequant_chunks(uint64_t n, uint64_t k, uint64_t cap_bytes, uint64_t align_rows) {
  std::vector<DequantChunk> out;
  if (n == 0) return out;
  const uint64_t fit = k == 0 ? n : cap_bytes / (k * sizeof(float));
  uint64_t rows = fit >= align_rows && align_rows > 0 ? fit / align_rows * align_rows : fit;
  if (rows == 0) rows = 1;
  if (rows > n) rows = n;
  for (uint64_t n0 = 0; n0 < n; n0 += rows) out.push_back({n0, rows < n - n0 ? rows : n - n0});
  return out;
}

// Element (n, k) of a quantized W as f32: the decoded value times its block's scale, one rounded
// product (mul_rn: nvcc may not fuse it into anything), the same as hal/host's dequantization.
DSHAL_HD inline float dequant_at(const WeightView& v, uint64_t n, uint64_t k) {
  const uint64_t i = n * v.k + k, scale_cols = (v.k + v.block_k - 1) / v.block_k;
  const auto* p = static_cast<const uint8_t*>(v.w);
  const float q = v.dtype == DSHAL_DTYPE_FP8_E4M3 ? fp8_e4m3_to_f32(p[i]) : float(int4_at(p, i));
  return mul_rn(q, v.scales[(n / v.block_n) * scale_cols + k / v.block_k]);
}

// out[r][k] = dequant(W)[n0 + r][k] for r < rows, k < w.k (out row stride w.k): one thread each.
struct DequantArgs {
  WeightView w;  // FP8_E4M3 or INT4
  uint64_t n0 = 0, rows = 0;
  float* out = nullptr;
};
inline LaunchShape dequant_shape(const DequantArgs& a) { return cover_1d(a.rows * a.w.k); }
DSHAL_HD inline void dequant_weight_thread(Index3 block, Index3 thread, Index3 block_dim, const DequantArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.rows * a.w.k) return;
  a.out[i] = dequant_at(a.w, a.n0 + i / a.w.k, i % a.w.k);
}

// dst[r][c] = src[r][c] converted (f32 / f16 / bf16 either side; to f32 exact, from f32 rounded to
// nearest even), r < rows, c < cols, each side at its own row stride: one thread each.
struct DequantConvertArgs {
  Rows src;
  MutRows dst;
  uint64_t rows = 0, cols = 0;
};
inline LaunchShape dequant_convert_shape(const DequantConvertArgs& a) { return cover_1d(a.rows * a.cols); }
DSHAL_HD inline void dequant_convert_thread(Index3 block, Index3 thread, Index3 block_dim, const DequantConvertArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.rows * a.cols) return;
  const uint64_t r = i / a.cols, c = i % a.cols;
  store(a.dst.row(r), a.dst.dtype, c, load(a.src.row(r), a.src.dtype, c));
}

}  // namespace dshal::cuda::kernels
