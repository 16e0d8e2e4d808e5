// gemm through cuBLASLt: f32 / f16 / bf16 inputs, f32 compute and scale. dshal's matrices are
// row-major; cuBLASLt's default is column-major, so the call computes C^T = op(B)^T * op(A)^T:
// the same bytes, B's buffer as cuBLASLt's A and A's as its B, m and n swapped. query_op sends
// what cuBLASLt does not take (mixed A / B types, C of a third type) to hal's host fallback.
#include "cuda.hpp"

#include <fmt/format.h>

namespace dshal::cuda {
namespace {

bool blas_type(dshal_dtype t, blasDataType_t* out) {
  switch (t) {
    case DSHAL_DTYPE_F32: *out = blasR32F; return true;
    case DSHAL_DTYPE_F16: *out = blasR16F; return true;
    case DSHAL_DTYPE_BF16: *out = blasR16BF; return true;
    default: return false;
  }
}

// A and B of one type; C of that type or f32.
bool gemm_supported(const dshal_gemm_desc& d) {
  blasDataType_t t;
  return d.a.dtype == d.b.dtype && blas_type(d.a.dtype, &t) && (d.c.dtype == d.a.dtype || d.c.dtype == DSHAL_DTYPE_F32);
}

// Owns the cuBLASLt descriptors of one call.
struct MatmulPlan {
  blasLtMatmulDesc_t op = nullptr;
  blasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  blasLtMatmulPreference_t pref = nullptr;
  ~MatmulPlan() {
    if (pref) blasLtMatmulPreferenceDestroy(pref);
    if (c) blasLtMatrixLayoutDestroy(c);
    if (b) blasLtMatrixLayoutDestroy(b);
    if (a) blasLtMatrixLayoutDestroy(a);
    if (op) blasLtMatmulDescDestroy(op);
  }
};

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

dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* d) {
  return guarded([&] {
    if (d->m == 0 || d->n == 0 || d->batch == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    Device* dev = s->device;
    if (dshal_status st = use(dev); st != DSHAL_OK) return st;
    blasDataType_t in_t, c_t;
    if (!gemm_supported(*d) || !blas_type(d->a.dtype, &in_t) || !blas_type(d->c.dtype, &c_t))
      return fail(DSHAL_ERROR_UNSUPPORTED, "gemm: cuBLASLt takes A and B of one type and C of that type or f32");
    MatmulPlan p;
    DSHAL_BLAS(blasLtMatmulDescCreate(&p.op, blasCompute32F, blasR32F));
    // cuBLASLt's A is dshal's B, its B dshal's A (see the file comment).
    const blasOperation_t ta = d->trans_b ? BLAS_OP_T : BLAS_OP_N, tb = d->trans_a ? BLAS_OP_T : BLAS_OP_N;
    DSHAL_BLAS(blasLtMatmulDescSetAttribute(p.op, BLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    DSHAL_BLAS(blasLtMatmulDescSetAttribute(p.op, BLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    const uint64_t M = d->m, N = d->n, K = d->k;
    if (dshal_status st = layout(&p.a, in_t, d->trans_b ? K : N, d->trans_b ? N : K, d->b.ld, d->batch, d->b.batch_stride);
        st != DSHAL_OK)
      return st;
    if (dshal_status st = layout(&p.b, in_t, d->trans_a ? M : K, d->trans_a ? K : M, d->a.ld, d->batch, d->a.batch_stride);
        st != DSHAL_OK)
      return st;
    if (dshal_status st = layout(&p.c, c_t, N, M, d->c.ld, d->batch, d->c.batch_stride); st != DSHAL_OK) return st;
    DSHAL_BLAS(blasLtMatmulPreferenceCreate(&p.pref));
    const uint64_t ws = dev->blas_workspace_bytes;
    DSHAL_BLAS(blasLtMatmulPreferenceSetAttribute(p.pref, BLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    blasLtMatmulHeuristicResult_t best{};
    int found = 0;
    DSHAL_BLAS(blasLtMatmulAlgoGetHeuristic(dev->blas, p.op, p.a, p.b, p.c, p.c, p.pref, 1, &best, &found));
    if (found == 0) return fail(DSHAL_ERROR_UNSUPPORTED, fmt::format("gemm: cuBLASLt has no algorithm for {}x{}x{}", M, N, K));
    const float alpha = d->alpha, beta = d->beta;
    void* c = at(d->c.buffer, d->c.offset);
    DSHAL_BLAS(blasLtMatmul(dev->blas, p.op, &alpha, at(d->b.buffer, d->b.offset), p.a, at(d->a.buffer, d->a.offset), p.b,
                            &beta, c, p.c, c, p.c, &best.algo, dev->blas_workspace, ws, s->stream));
    return DSHAL_OK;
  });
}

}  // namespace

dshal_status query_gemm(const dshal_gemm_desc& d) { return gemm_supported(d) ? DSHAL_OK : DSHAL_ERROR_UNSUPPORTED; }

void fill_gemm_slots(dshal_adapter_table* t) { t->gemm = gemm; }

}  // namespace dshal::cuda
