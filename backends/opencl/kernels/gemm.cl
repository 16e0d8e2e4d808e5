// GEMM: C_b = alpha * op(A_b) * op(B_b) + beta * C_b, any mix of f32 / f16 / bf16, f32 accumulate.
//
// Large products run in two steps. One operand (X, the "vector side") is packed into f32 panels
// P[panel][k][64] (zero past its end, dequantized for gemm_quant), so the micro-kernel reads one
// contiguous stream of 4 float16 per k; the other operand (Y) is read where it is, 6 scalars per
// k broadcast against those vectors: 24 float16 accumulators, which fit AVX-512's registers.
// Small M with both operands contiguous along K (C = A B^T, the Linear layout) skips the packing
// and runs dot_tile (gemm_common.h) instead.
#include "dtype.h"
#include "gemm_common.h"

#define PANEL_W 64   // packed panel width: NV float16 vectors
#define NV 4
#define TU 6         // rows of the Y side per work-item
#define PACK_K 64    // k per packing work-item

// P[bt][panel][k][PANEL_W] <- X(v, k) at element bt * x_bs + v * vs + k * ks (any dtype; FP8 and
// INT4 times their scale block), 0 for v >= V. Global (k blocks, panels, batch).
kernel void gemm_pack(global const uchar* x_, ulong x_off, int x_dt, ulong vs, ulong ks, ulong x_bs,
                      global const float* scales, ulong s_off, uint bn, uint bk,
                      global float* dst, ulong dst_off, ulong V, ulong k) {
  const ulong k0 = get_global_id(0) * PACK_K, panel = get_global_id(1), bt = get_global_id(2);
  if (k0 >= k) return;
  const ulong ke = min(k0 + PACK_K, k), panels = (V + PANEL_W - 1) / PANEL_W;
  global const uchar* x = x_ + x_off;
  global const float* sc = (global const float*)((global const uchar*)scales + s_off);
  const bool quant = is_quant(x_dt);
  const ulong sld = quant ? (k + bk - 1) / bk : 0;
  global float* d = dst + dst_off / 4 + ((bt * panels + panel) * k) * PANEL_W;
  // Walk the source along whichever of v and k is contiguous.
  if (ks == 1) {
    for (ulong l = 0; l < PANEL_W; ++l) {
      const ulong v = panel * PANEL_W + l;
      for (ulong p = k0; p < ke; ++p)
        d[p * PANEL_W + l] =
            v < V ? load_elem(x, bt * x_bs + v * vs + p, x_dt) * (quant ? sc[(v / bn) * sld + p / bk] : 1.0f) : 0.0f;
    }
  } else {
    for (ulong p = k0; p < ke; ++p)
      for (ulong l = 0; l < PANEL_W; ++l) {
        const ulong v = panel * PANEL_W + l;
        d[p * PANEL_W + l] =
            v < V ? load_elem(x, bt * x_bs + v * vs + p * ks, x_dt) * (quant ? sc[(v / bn) * sld + p / bk] : 1.0f)
                  : 0.0f;
      }
  }
}

// C(u, v) at c_off + bt * c_bs + u * c_us + v * c_vs for u < U, v < V: TU x PANEL_W per work-item,
// Y(u, k) at y + bt * y_bs + u * y_us + k * y_ks (y_dt a literal at each call). `v_fast` picks
// which tile index varies fastest across work-items: the swept operand should be the smaller one
// (it is re-read from cache), while the other's tile stays in L2.
inline void packed_tile(global const float* xp, global const uchar* y_, ulong y_off, int y_dt, ulong y_us,
                        ulong y_ks, ulong y_bs, global uchar* c_, ulong c_off, int c_dt, ulong c_us, ulong c_vs,
                        ulong c_bs, ulong U, ulong V, ulong k, float alpha, float beta, int v_fast) {
  const ulong tv = v_fast ? get_global_id(0) : get_global_id(1), tu = v_fast ? get_global_id(1) : get_global_id(0);
  const ulong bt = get_global_id(2), u0 = tu * TU, v0 = tv * PANEL_W;
  if (u0 >= U || v0 >= V) return;
  const ulong panels = (V + PANEL_W - 1) / PANEL_W;
  global const float16* x = (global const float16*)xp + (bt * panels + tv) * k * NV;
  global const uchar* y = y_ + y_off;
  ulong yr[TU];
  #pragma unroll
  for (int r = 0; r < TU; ++r) yr[r] = bt * y_bs + min(u0 + r, U - 1) * y_us;
  float16 acc[TU][NV];
  #pragma unroll
  for (int r = 0; r < TU; ++r)
    #pragma unroll
    for (int q = 0; q < NV; ++q) acc[r][q] = 0.0f;
  for (ulong p = 0; p < k; ++p) {
    float16 xv[NV];
    #pragma unroll
    for (int q = 0; q < NV; ++q) xv[q] = x[p * NV + q];
    #pragma unroll
    for (int r = 0; r < TU; ++r) {
      const float16 yv = (float16)load_elem(y, yr[r] + p * y_ks, y_dt);
      #pragma unroll
      for (int q = 0; q < NV; ++q) acc[r][q] = fma(yv, xv[q], acc[r][q]);
    }
  }
  global uchar* c = c_ + c_off;
  #pragma unroll
  for (int r = 0; r < TU; ++r) {
    if (u0 + r >= U) break;
    const ulong cu = bt * c_bs + (u0 + r) * c_us;
    #pragma unroll
    for (int q = 0; q < NV; ++q) {
      const float* lanes = (const float*)&acc[r][q];
      for (int l = 0; l < 16; ++l) {
        const ulong v = v0 + q * 16 + l;
        if (v < V) put(c, cu + v * c_vs, c_dt, lanes[l], alpha, beta);
      }
    }
  }
}

#define PACKED_KERNEL(name, y_dt)                                                                                \
  kernel void name(global const float* xp, global const uchar* y, ulong y_off, ulong y_us, ulong y_ks,        \
                   ulong y_bs, global uchar* c, ulong c_off, int c_dt, ulong c_us, ulong c_vs, ulong c_bs,    \
                   ulong U, ulong V, ulong k, float alpha, float beta, int v_fast) {                          \
    packed_tile(xp, y, y_off, y_dt, y_us, y_ks, y_bs, c, c_off, c_dt, c_us, c_vs, c_bs, U, V, k, alpha, beta, \
                v_fast);                                                                                       \
  }
PACKED_KERNEL(gemm_packed_f32, DT_F32)
PACKED_KERNEL(gemm_packed_f16, DT_F16)
PACKED_KERNEL(gemm_packed_bf16, DT_BF16)

// Small M, C = A B^T: one 4x4 dot_tile per work-item. Global (n / 4, m / 4, batch).
#define DOT_KERNEL(name, a_dt_expr, b_dt_expr)                                                                  \
  kernel void name(global const uchar* a, ulong a_off, int a_dt, ulong lda, ulong a_bs, global const uchar* b, \
                   ulong b_off, int b_dt, ulong ldb, ulong b_bs, global uchar* c, ulong c_off, int c_dt,       \
                   ulong ldc, ulong c_bs, ulong m, ulong n, ulong k, float alpha, float beta) {                \
    const ulong j0 = get_global_id(0) * 4, i0 = get_global_id(1) * 4, bt = get_global_id(2);                  \
    if (i0 >= m || j0 >= n) return;                                                                             \
    const int ad = a_dt_expr, bd = b_dt_expr;                                                                   \
    const ulong ae = ad == DT_F32 ? 4 : 2, be = bd == DT_F32 ? 4 : 2, ce = c_dt == DT_F32 ? 4 : 2;              \
    dot_tile(a + a_off + bt * a_bs * ae, ad, lda, b + b_off + bt * b_bs * be, bd, ldb, 0, 1, 1,                \
             c + c_off + bt * c_bs * ce, c_dt, ldc, i0, 0, m, j0, n, k, alpha, beta);                          \
  }
DOT_KERNEL(gemm_dot_f32, DT_F32, DT_F32)
DOT_KERNEL(gemm_dot_f16, DT_F16, DT_F16)
DOT_KERNEL(gemm_dot_bf16, DT_BF16, DT_BF16)
DOT_KERNEL(gemm_dot_any, a_dt, b_dt)  // mixed input types

// C_b = beta * C_b (K == 0 or alpha == 0: A and B are not read). Global (n, m, batch).
kernel void gemm_scale(global uchar* c, ulong c_off, int c_dt, ulong ldc, ulong c_bs, ulong m, ulong n, float beta) {
  const ulong j = get_global_id(0), i = get_global_id(1), bt = get_global_id(2);
  if (i >= m || j >= n) return;
  const ulong ci = bt * c_bs + i * ldc + j;
  store_elem(c + c_off, ci, c_dt, beta != 0.0f ? beta * load_elem(c + c_off, ci, c_dt) : 0.0f);
}
