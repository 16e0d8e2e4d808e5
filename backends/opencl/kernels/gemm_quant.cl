// gemm_quant for small M: C = alpha * A dequant(W)^T + beta * C, W FP8 e4m3 (block scales) or
// INT4 (group scales), one 4x4 dot_tile per work-item; larger M packs dequantized W (gemm.cl).
#include "dtype.h"
#include "gemm_common.h"

// Global (n / 4, m / 4).
#define QUANT_DOT_KERNEL(name, a_dt, w_dt)                                                                      \
  kernel void name(global const uchar* a, ulong a_off, ulong lda, global const uchar* w, ulong w_off,         \
                   global const uchar* scales, ulong s_off, uint bn, uint bk, global uchar* c, ulong c_off,   \
                   int c_dt, ulong ldc, ulong m, ulong n, ulong k, float alpha, float beta) {                 \
    const ulong j0 = get_global_id(0) * 4, i0 = get_global_id(1) * 4;                                         \
    if (i0 >= m || j0 >= n) return;                                                                            \
    dot_tile(a + a_off, a_dt, lda, w + w_off, w_dt, k, (global const float*)(scales + s_off), bn, bk,          \
             c + c_off, c_dt, ldc, i0, 0, m, j0, n, k, alpha, beta);                                          \
  }
QUANT_DOT_KERNEL(gemm_quant_dot_f32_fp8, DT_F32, DT_FP8)
QUANT_DOT_KERNEL(gemm_quant_dot_f16_fp8, DT_F16, DT_FP8)
QUANT_DOT_KERNEL(gemm_quant_dot_bf16_fp8, DT_BF16, DT_FP8)
QUANT_DOT_KERNEL(gemm_quant_dot_f32_int4, DT_F32, DT_INT4)
QUANT_DOT_KERNEL(gemm_quant_dot_f16_int4, DT_F16, DT_INT4)
QUANT_DOT_KERNEL(gemm_quant_dot_bf16_int4, DT_BF16, DT_INT4)
