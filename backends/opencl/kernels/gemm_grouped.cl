// grouped_gemm, the contiguous MoE layout: rows [offsets[g], offsets[g+1]) of A and C use weight
// group g (W_g at w + w_off + g * w_gs bytes, its scales at scales + s_off + g * s_gs bytes).
// A tile of rows that straddles groups runs once per group it touches, storing only that group's
// rows. The offsets live on the device, so every work-item checks them first: on a bad one
// nothing is written and the first work-item reports the first bad index.
#include "dtype.h"
#include "gemm_common.h"
#include "status.h"

inline bool offsets_ok(global const int* off, ulong groups, ulong m, global int* status) {
  for (ulong g = 0; g <= groups; ++g) {
    const int o = off[g];
    if (o < 0 || (ulong)o > m || (g > 0 && o < off[g - 1])) {
      if (get_global_id(0) == 0 && get_global_id(1) == 0)
        report_status(status, DSHAL_STATUS_GROUP_OFFSETS, (int)g, o, (int)m);
      return false;
    }
  }
  return true;
}

// Few rows per group: 4x4 dot_tiles. Global (n / 4, m / 4).
inline void grouped_dot(global const uchar* a, ulong a_off, int a_dt, ulong lda, global const uchar* w, ulong w_off,
                        int w_dt, ulong ldw, ulong w_gs, global const uchar* scales, ulong s_off, ulong s_gs, uint bn,
                        uint bk, global const uchar* offsets, ulong o_off, ulong groups, global uchar* c, ulong c_off,
                        int c_dt, ulong ldc, ulong m, ulong n, ulong k, global int* status) {
  global const int* off = (global const int*)(offsets + o_off);
  if (!offsets_ok(off, groups, m, status)) return;
  const ulong j0 = get_global_id(0) * 4, i0 = get_global_id(1) * 4;
  if (i0 >= m || j0 >= n) return;
  for (ulong g = 0; g < groups; ++g) {
    const ulong lo = (ulong)off[g], hi = (ulong)off[g + 1];
    if (max(lo, i0) >= min(hi, i0 + 4)) continue;
    dot_tile(a + a_off, a_dt, lda, w + w_off + g * w_gs, w_dt, ldw, (global const float*)(scales + s_off + g * s_gs),
             bn, bk, c + c_off, c_dt, ldc, i0, lo, hi, j0, n, k, 1.0f, 0.0f);
  }
}

// Many rows per group: A packed by gemm_pack (gemm.cl) into panels of 64 rows, each work-item one
// gemm_tile of 64 rows x 6 weight rows per group its rows touch. Global (tiles, tiles).
inline void grouped_packed(global const float* xp, global const uchar* w, ulong w_off, int w_dt, ulong ldw, ulong w_gs,
                           global const uchar* scales, ulong s_off, ulong s_gs, uint bn, uint bk,
                           global const uchar* offsets, ulong o_off, ulong groups, global uchar* c, ulong c_off,
                           int c_dt, ulong ldc, ulong m, ulong n, ulong k, global int* status, int v_fast) {
  global const int* off = (global const int*)(offsets + o_off);
  if (!offsets_ok(off, groups, m, status)) return;
  const ulong tv = v_fast ? get_global_id(0) : get_global_id(1), tu = v_fast ? get_global_id(1) : get_global_id(0);
  const ulong v0 = tv * PANEL_W, u0 = tu * TU;
  if (v0 >= m || u0 >= n) return;
  for (ulong g = 0; g < groups; ++g) {
    const ulong lo = (ulong)off[g], hi = (ulong)off[g + 1];
    if (max(lo, v0) >= min(hi, v0 + PANEL_W)) continue;
    gemm_tile((global const uchar*)xp, DT_F32, tv * k * PANEL_W, PANEL_W, PANEL_W, w + w_off + g * w_gs, w_dt, ldw, 1,
              (global const float*)(scales + s_off + g * s_gs), bn, bk, c + c_off, c_dt, 1, ldc, u0, n, v0, lo, hi, k,
              1.0f, 0.0f);
  }
}

// One kernel of each kind per weight type (the inner loop's loads and dequantization); A's type
// is a runtime switch in the dot tiles and does not reach the packed ones.
#define GROUPED_KERNELS(suffix, w_dt)                                                                               \
  kernel void grouped_gemm_dot_##suffix(                                                                           \
      global const uchar* a, ulong a_off, int a_dt, ulong lda, global const uchar* w, ulong w_off, ulong ldw,     \
      ulong w_gs, global const uchar* scales, ulong s_off, ulong s_gs, uint bn, uint bk, global const uchar* off, \
      ulong o_off, ulong groups, global uchar* c, ulong c_off, int c_dt, ulong ldc, ulong m, ulong n, ulong k,    \
      global int* status) {                                                                                        \
    grouped_dot(a, a_off, a_dt, lda, w, w_off, w_dt, ldw, w_gs, scales, s_off, s_gs, bn, bk, off, o_off, groups,  \
                c, c_off, c_dt, ldc, m, n, k, status);                                                            \
  }                                                                                                                \
  kernel void grouped_gemm_packed_##suffix(                                                                        \
      global const float* xp, global const uchar* w, ulong w_off, ulong ldw, ulong w_gs, global const uchar* scales, \
      ulong s_off, ulong s_gs, uint bn, uint bk, global const uchar* off, ulong o_off, ulong groups,              \
      global uchar* c, ulong c_off, int c_dt, ulong ldc, ulong m, ulong n, ulong k, global int* status,           \
      int v_fast) {                                                                                                \
    grouped_packed(xp, w, w_off, w_dt, ldw, w_gs, scales, s_off, s_gs, bn, bk, off, o_off, groups, c, c_off, c_dt, \
                   ldc, m, n, k, status, v_fast);                                                                 \
  }
GROUPED_KERNELS(f32, DT_F32)
GROUPED_KERNELS(f16, DT_F16)
GROUPED_KERNELS(bf16, DT_BF16)
GROUPED_KERNELS(fp8, DT_FP8)
GROUPED_KERNELS(int4, DT_INT4)
