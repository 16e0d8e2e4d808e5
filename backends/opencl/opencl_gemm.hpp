// Shared host side of the GEMM family (gemm, gemm_quant, grouped_gemm): the packed-panel path
// and a device scratch buffer for it. Kernels: kernels/gemm.cl, gemm_common.h.
#pragma once

#include "opencl.hpp"

namespace dshal::opencl::gemm_detail {

// Up to this many rows of C, products with both operands contiguous along K use the dot-product
// tiles (no packing; the weight is streamed once per 4 rows).
constexpr uint64_t kDotMaxRows = 16;

inline uint64_t elem_bytes(dshal_dtype t) { return t == DSHAL_DTYPE_F32 ? 4 : t == DSHAL_DTYPE_FP8_E4M3 ? 1 : 2; }

const char* dtype_suffix(dshal_dtype t);  // "f32", "f16", "bf16"

// An operand as rows r and depth k: element (r, k) of batch bt is element bt * bs + r * rs + k * ks
// of buffer at offset (bytes); FP8 / INT4 weights carry their scale blocks.
struct Operand {
  dshal_buffer buffer = nullptr;
  uint64_t offset = 0;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t rs = 0, ks = 1, bs = 0;
  dshal_buffer scales = nullptr;
  uint64_t scales_offset = 0;
  uint32_t bn = 1, bk = 1;
};

// C(u, v) of batch bt: element bt * bs + u * us + v * vs.
struct Output {
  dshal_buffer buffer = nullptr;
  uint64_t offset = 0;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t us = 0, vs = 1, bs = 0;
};

// C(u, v) = alpha * sum_k Y(u, k) X(v, k) + beta * C(u, v) for u < U, v < V, every batch: X is
// packed into f32 panels (converted, dequantized) in a scratch buffer, Y (f32 / f16 / bf16) is
// read in place. k >= 1.
dshal_status run_packed(Stream* s, const Operand& x, const Operand& y, const Output& c, uint64_t U, uint64_t V,
                        uint64_t k, uint64_t batch, float alpha, float beta);

// C = beta * C for an m x n matrix (each of batch, bs elements apart): K == 0 or alpha == 0.
dshal_status run_scale(Stream* s, const dshal_matrix& c, uint64_t m, uint64_t n, uint64_t batch, float beta);

}  // namespace dshal::opencl::gemm_detail

namespace dshal::opencl {
void fill_gemm_quant_slots(dshal_adapter_table* t);    // opencl_gemm_quant.cpp
void fill_grouped_gemm_slots(dshal_adapter_table* t);  // opencl_grouped_gemm.cpp
void fill_prepack_slots(dshal_adapter_table* t);       // opencl_gemm_prepack.cpp
}  // namespace dshal::opencl
