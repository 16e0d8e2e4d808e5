// gemm through cuBLASLt: f32 / f16 / bf16 inputs, f32 compute and scale, row-major through
// LtMatmul (cuda_lt_matmul.hpp). query_op sends what cuBLASLt does not take (mixed A / B types, C of
// a third type) to hal's host fallback.
#include "cuda_lt_matmul.hpp"

namespace dshal::cuda {
namespace {

// A and B of one type; C of that type or f32.
bool gemm_supported(const dshal_gemm_desc& d) {
  blasDataType_t t;
  return d.a.dtype == d.b.dtype && blas_type(d.a.dtype, &t) && (d.c.dtype == d.a.dtype || d.c.dtype == DSHAL_DTYPE_F32);
}

dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* d) {
  return guarded([&] {
    if (d->m == 0 || d->n == 0 || d->batch == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    blasDataType_t in_t, c_t;
    if (!gemm_supported(*d) || !blas_type(d->a.dtype, &in_t) || !blas_type(d->c.dtype, &c_t))
      return fail(DSHAL_ERROR_UNSUPPORTED, "gemm: cuBLASLt takes A and B of one type and C of that type or f32");
    LtGemm g;
    g.m = d->m, g.n = d->n, g.k = d->k, g.batch = d->batch;
    g.trans_a = d->trans_a != 0, g.trans_b = d->trans_b != 0;
    g.a = {in_t, d->a.ld, d->a.batch_stride};
    g.b = {in_t, d->b.ld, d->b.batch_stride};
    g.c = {c_t, d->c.ld, d->c.batch_stride};
    LtMatmul mm;
    if (dshal_status st = mm.plan(s->device, g, "gemm"); st != DSHAL_OK) return st;
    return mm.run(*s, at(d->a.buffer, d->a.offset), at(d->b.buffer, d->b.offset), at(d->c.buffer, d->c.offset), d->alpha,
                  d->beta);
  });
}

}  // namespace

dshal_status query_gemm(const dshal_gemm_desc& d) { return gemm_supported(d) ? DSHAL_OK : DSHAL_ERROR_UNSUPPORTED; }

void fill_gemm_slots(dshal_adapter_table* t) { t->gemm = gemm; }

}  // namespace dshal::cuda
