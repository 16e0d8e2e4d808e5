// grouped_gemm, the contiguous MoE layout: rows [offsets[g], offsets[g+1]) of A and C use weight
// group g. Work-items tile C in 4x4 dot_tiles; a row tile that straddles groups runs once per
// group it touches. The offsets live on the device, so every work-item checks them first: on a
// bad one nothing is written and the first work-item reports the first bad index.
#include "dtype.h"
#include "gemm_common.h"
#include "status.h"

// Global (n / 4, m / 4). Weight group g at w + w_off + g * w_gs (bytes), its scales at
// scales + s_off + g * s_gs (bytes).
inline void grouped_tile(global const uchar* a, ulong a_off, int a_dt, ulong lda, global const uchar* w, ulong w_off,
                         int w_dt, ulong ldw, ulong w_gs, global const uchar* scales, ulong s_off, ulong s_gs, uint bn,
                         uint bk, global const uchar* offsets_, ulong o_off, ulong groups, global uchar* c, ulong c_off,
                         int c_dt, ulong ldc, ulong m, ulong n, ulong k, global int* status) {
  global const int* off = (global const int*)(offsets_ + o_off);
  const ulong j0 = get_global_id(0) * 4, i0 = get_global_id(1) * 4;
  for (ulong g = 0; g <= groups; ++g) {
    const int o = off[g];
    if (o < 0 || (ulong)o > m || (g > 0 && o < off[g - 1])) {
      if (get_global_id(0) == 0 && get_global_id(1) == 0) report_status(status, DSHAL_STATUS_GROUP_OFFSETS, (int)g, o, (int)m);
      return;
    }
  }
  if (i0 >= m || j0 >= n) return;
  for (ulong g = 0; g < groups; ++g) {
    const ulong lo = (ulong)off[g], hi = (ulong)off[g + 1];
    if (max(lo, i0) >= min(hi, i0 + 4)) continue;
    dot_tile(a + a_off, a_dt, lda, w + w_off + g * w_gs, w_dt, ldw, (global const float*)(scales + s_off + g * s_gs),
             bn, bk, c + c_off, c_dt, ldc, i0, lo, hi, j0, n, k, 1.0f, 0.0f);
  }
}

// One kernel per weight type (the inner loop's dequantization); A's type is a runtime switch.
#define GROUPED_KERNEL(name, w_dt)                                                                                 \
  kernel void name(global const uchar* a, ulong a_off, int a_dt, ulong lda, global const uchar* w, ulong w_off,  \
                   ulong ldw, ulong w_gs, global const uchar* scales, ulong s_off, ulong s_gs, uint bn, uint bk,  \
                   global const uchar* offsets, ulong o_off, ulong groups, global uchar* c, ulong c_off, int c_dt, \
                   ulong ldc, ulong m, ulong n, ulong k, global int* status) {                                    \
    grouped_tile(a, a_off, a_dt, lda, w, w_off, w_dt, ldw, w_gs, scales, s_off, s_gs, bn, bk, offsets, o_off,     \
                 groups, c, c_off, c_dt, ldc, m, n, k, status);                                                   \
  }
GROUPED_KERNEL(grouped_gemm_f32, DT_F32)
GROUPED_KERNEL(grouped_gemm_f16, DT_F16)
GROUPED_KERNEL(grouped_gemm_bf16, DT_BF16)
GROUPED_KERNEL(grouped_gemm_fp8, DT_FP8)
GROUPED_KERNEL(grouped_gemm_int4, DT_INT4)
