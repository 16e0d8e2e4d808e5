// LtMatmul (cuda_lt_matmul.hpp). dshal's matrices are row-major; cuBLASLt's default is
// column-major, so the call computes C^T = op(B)^T * op(A)^T: the same bytes, B's buffer as
// cuBLASLt's A and A's as its B, M and N swapped.
#include "cuda_lt_matmul.hpp"

#include <fmt/format.h>

namespace dshal::cuda {
namespace {

// A column-major layout of rows x cols with leading dimension ld, batched at stride (elements).
dshal_status layout(blasLtMatrixLayout_t* out, blasDataType_t t, uint64_t rows, uint64_t cols, uint64_t ld,
                    uint64_t batch, uint64_t stride) {
  DSHAL_BLAS(blasLtMatrixLayoutCreate(out, t, rows, cols, int64_t(ld)));
  if (batch > 1) {
    const int32_t count = int32_t(batch);
    const int64_t offset = int64_t(stride);
    DSHAL_BLAS(blasLtMatrixLayoutSetAttribute(*out, BLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    DSHAL_BLAS(blasLtMatrixLayoutSetAttribute(*out, BLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset, sizeof offset));
  }
  return DSHAL_OK;
}

}  // namespace

bool blas_type(dshal_dtype t, blasDataType_t* out) {
  switch (t) {
    case DSHAL_DTYPE_F32: *out = blasR32F; return true;
    case DSHAL_DTYPE_F16: *out = blasR16F; return true;
    case DSHAL_DTYPE_BF16: *out = blasR16BF; return true;
    default: return false;
  }
}

LtMatmul::~LtMatmul() {
  if (pref_) blasLtMatmulPreferenceDestroy(pref_);
  if (c_) blasLtMatrixLayoutDestroy(c_);
  if (b_) blasLtMatrixLayoutDestroy(b_);
  if (a_) blasLtMatrixLayoutDestroy(a_);
  if (op_) blasLtMatmulDescDestroy(op_);
}

dshal_status LtMatmul::plan(Device* dev, const LtGemm& g, const char* what) {
  dev_ = dev;
  DSHAL_BLAS(blasLtMatmulDescCreate(&op_, blasCompute32F, blasR32F));
  // cuBLASLt's A is dshal's B, its B dshal's A (see the file comment).
  const blasOperation_t ta = g.trans_b ? BLAS_OP_T : BLAS_OP_N, tb = g.trans_a ? BLAS_OP_T : BLAS_OP_N;
  DSHAL_BLAS(blasLtMatmulDescSetAttribute(op_, BLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  DSHAL_BLAS(blasLtMatmulDescSetAttribute(op_, BLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  const uint64_t M = g.m, N = g.n, K = g.k;
  if (dshal_status st = layout(&a_, g.b.type, g.trans_b ? K : N, g.trans_b ? N : K, g.b.ld, g.batch, g.b.batch_stride);
      st != DSHAL_OK)
    return st;
  if (dshal_status st = layout(&b_, g.a.type, g.trans_a ? M : K, g.trans_a ? K : M, g.a.ld, g.batch, g.a.batch_stride);
      st != DSHAL_OK)
    return st;
  if (dshal_status st = layout(&c_, g.c.type, N, M, g.c.ld, g.batch, g.c.batch_stride); st != DSHAL_OK) return st;
  DSHAL_BLAS(blasLtMatmulPreferenceCreate(&pref_));
  const uint64_t ws = dev->blas_workspace_bytes;
  DSHAL_BLAS(blasLtMatmulPreferenceSetAttribute(pref_, BLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  int found = 0;
  DSHAL_BLAS(blasLtMatmulAlgoGetHeuristic(dev->blas, op_, a_, b_, c_, c_, pref_, 1, &best_, &found));
  if (found == 0)
    return fail(DSHAL_ERROR_UNSUPPORTED, fmt::format("{}: cuBLASLt has no algorithm for {}x{}x{}", what, M, N, K));
  return DSHAL_OK;
}

dshal_status LtMatmul::run(const Stream& s, const void* a, const void* b, void* c, float alpha, float beta) const {
  DSHAL_BLAS(blasLtMatmul(dev_->blas, op_, &alpha, b, a_, a, b_, &beta, c, c_, c, c_, &best_.algo, dev_->blas_workspace,
                          dev_->blas_workspace_bytes, s.stream));
  return DSHAL_OK;
}

}  // namespace dshal::cuda
