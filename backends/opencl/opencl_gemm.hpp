// Shared host side of the GEMM family (gemm, gemm_quant, grouped_gemm): packing into a device
// scratch buffer and the micro-kernel's launch. Kernels: kernels/gemm.cl, gemm_common.h.
#pragma once

#include "opencl.hpp"

namespace dshal::opencl::gemm_detail {

// Up to this many rows of C, gemm skips the packing (dot-product tiles when both operands are
// contiguous along K, B's rows read in place when B is stored K x N): the weight is streamed once
// per 4 rows. Beyond it the packed path wins even with most of its 64-wide panel empty.
constexpr uint64_t kDotMaxRows = 16;
constexpr uint64_t kPanel = 64, kTileU = 6;  // PANEL_W and TU in gemm_common.h

const char* dtype_suffix(dshal_dtype t);  // "f32", "f16", "bf16", "fp8", "int4"

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

// A device buffer released when it goes out of scope: OpenCL keeps a released cl_mem alive for
// the commands already enqueued on it.
struct Scratch {
  cl_mem mem = nullptr;
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    if (mem) clReleaseMemObject(mem);
  }
};

// The vector side of the micro-kernel: X(v, k) of tile t (64 values of v) at element
// bt * bs + t * ts + (v - 64 t) + k * ks of mem at offset (bytes), valid for v < extent.
struct XSide {
  cl_mem mem = nullptr;
  uint64_t offset = 0;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t ts = 0, ks = 0, bs = 0, extent = 0;
};

// X read in place: an operand contiguous along v (rs == 1).
XSide in_place(Stream* s, const Operand& x, uint64_t V);

// Packs X (f32 / f16 / bf16, V rows contiguous along k, every batch) into f32 panels of 64 rows
// in *scratch (gemm_pack), zero past V.
dshal_status pack_panels(Stream* s, const Operand& x, uint64_t V, uint64_t k, uint64_t batch, Scratch* scratch,
                         XSide* out);

// Which tile index runs fastest across work-items: sweep the smaller side (re-read from cache)
// while the other side's tile stays in L2.
inline bool sweep_v(uint64_t U, uint64_t V) { return V < U; }

// C(u, v) = alpha * sum_k Y(u, k) X(v, k) + beta * C(u, v) for u < U, v < V, every batch; Y
// (f32 / f16 / bf16, or a quantized weight of batch 1 against packed X) is read in place. k >= 1.
dshal_status run_tiles(Stream* s, const XSide& x, const Operand& y, const Output& c, uint64_t U, uint64_t V,
                       uint64_t k, uint64_t batch, float alpha, float beta);

// C = beta * C for an m x n matrix (each of batch, bs elements apart): K == 0 or alpha == 0.
dshal_status run_scale(Stream* s, const dshal_matrix& c, uint64_t m, uint64_t n, uint64_t batch, float beta);

}  // namespace dshal::opencl::gemm_detail

namespace dshal::opencl {
void fill_gemm_quant_slots(dshal_adapter_table* t);    // opencl_gemm_quant.cpp
void fill_grouped_gemm_slots(dshal_adapter_table* t);  // opencl_grouped_gemm.cpp
void fill_prepack_slots(dshal_adapter_table* t);       // opencl_gemm_prepack.cpp
}  // namespace dshal::opencl
