// One cuBLASLt matmul on row-major operands, shared by gemm (cuda_gemm.cpp) and gemm_quant's
// dequantize-then-GEMM path (cuda_dequant_gemm.cpp): the descriptors are built and the algorithm
// picked once (plan), then the product can be queued any number of times on other pointers (run).
#pragma once

#include "cuda.hpp"

namespace dshal::cuda {

// The cuBLASLt type of f32 / f16 / bf16; false for any other dtype.
bool blas_type(dshal_dtype t, blasDataType_t* out);

// One operand as stored, row-major: its type, row stride and batch stride (elements).
struct LtOperand {
  blasDataType_t type = blasR32F;
  uint64_t ld = 0, batch_stride = 0;
};

// C[M][N] = alpha * op(A) * op(B) + beta * C for each of batch matrices, f32 compute and scale.
// op(A) is M x K (A stored M x K, or K x M with trans_a); op(B) is K x N (B stored K x N, or N x K
// with trans_b). beta == 0: C is not read.
struct LtGemm {
  uint64_t m = 0, n = 0, k = 0, batch = 1;
  bool trans_a = false, trans_b = false;
  LtOperand a, b, c;
};

class LtMatmul {
 public:
  LtMatmul() = default;
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;
  ~LtMatmul();
  // Builds the descriptors of g and asks cuBLASLt for its best algorithm on dev (what names the op
  // in errors: UNSUPPORTED when cuBLASLt has none). Queues nothing.
  dshal_status plan(Device* dev, const LtGemm& g, const char* what);
  // Queues the planned product on s with these operands (the layouts given to plan).
  dshal_status run(const Stream& s, const void* a, const void* b, void* c, float alpha, float beta) const;

 private:
  Device* dev_ = nullptr;
  blasLtMatmulDesc_t op_ = nullptr;
  blasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  blasLtMatmulPreference_t pref_ = nullptr;
  blasLtMatmulHeuristicResult_t best_{};
};

}  // namespace dshal::cuda
