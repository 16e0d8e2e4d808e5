// rms_norm, silu_mul, gemm_quant, grouped_gemm and attention slots. Each optional op's slot returns at once for an empty shape (hal then
// lists no operand and the handles are not the backend's) and launches its kernel (cuda_ops.hpp).
#include "cuda_ops.hpp"
#include "cuda_dequant_gemm.hpp"
#include "kernels/dequant.hpp"
#include "kernels/launch.hpp"

namespace dshal::cuda {
namespace {

dshal_status rms_norm(dshal_stream stream, const dshal_rms_norm_desc* d) {
  if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
  return run_kernel(stream, "rms_norm", [&](const Stream& s) { return kernels::launch_rms_norm(s, *d); });
}

dshal_status silu_mul(dshal_stream stream, const dshal_silu_mul_desc* d) {
  if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
  return run_kernel(stream, "silu_mul", [&](const Stream& s) { return kernels::launch_silu_mul(s, *d); });
}

dshal_status gemm_quant(dshal_stream stream, const dshal_gemm_quant_desc* d) {
  if (d->m == 0 || d->n == 0) return DSHAL_OK;
  // Prefill shapes: dequantize W, then cuBLASLt; decode shapes: the per-output kernel (kernels/dequant.hpp says why).
  if (kernels::use_dequant_gemm(*d)) return dequant_gemm_quant(stream, d);
  return run_kernel(stream, "gemm_quant", [&](const Stream& s) { return kernels::launch_gemm_quant(s, *d); });
}

dshal_status grouped_gemm(dshal_stream stream, const dshal_grouped_gemm_desc* d) {
  if (d->m == 0 || d->n == 0 || d->groups == 0) return DSHAL_OK;
  return run_kernel(stream, "grouped_gemm", [&](const Stream& s) { return kernels::launch_grouped_gemm(s, *d); });
}

dshal_status attention(dshal_stream stream, const dshal_attention_desc* d) {
  if (d->q_len == 0 || d->heads == 0 || d->v_dim == 0) return DSHAL_OK;
  return run_kernel(stream, "attention", [&](const Stream& s) { return kernels::launch_attention(s, *d); });
}

}  // namespace

void fill_kernel_slots(dshal_adapter_table* t) {
  t->rms_norm = rms_norm;
  t->silu_mul = silu_mul;
  t->gemm_quant = gemm_quant;
  t->grouped_gemm = grouped_gemm;
  t->attention = attention;
}

}  // namespace dshal::cuda
