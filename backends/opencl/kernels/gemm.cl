// GEMM: C_b = alpha * op(A_b) * op(B_b) + beta * C_b, any mix of f32 / f16 / bf16, f32 accumulate.
//
// The micro-kernel (gemm_tile, gemm_common.h) takes one operand (X, the "vector side") as 4
// float16 per k and broadcasts 6 scalars of the other (Y) against them. X must be contiguous along
// its rows' index: B stored K x N and A stored K x M are read in place; with C = A B^T (both
// contiguous along K, the Linear layout) the cheaper side is first packed into f32 panels
// P[panel][k][64] (zero past its end). gemm_quant and grouped_gemm pack A and read the quantized
// weight as Y. Small M with C = A B^T runs dot_tile (gemm_common.h) instead, which needs no
// packing and streams B once per 4 rows.
#include "dtype.h"
#include "gemm_common.h"

#define PACK_K 64  // k per packing work-item

// P[bt][panel][k][PANEL_W] <- X(v, k) at element bt * x_bs + v * x_rs + k (f32 / f16 / bf16 rows
// contiguous along k: only C = A B^T packs), 0 for v >= V. Global (k blocks, panels, batch).
kernel void gemm_pack(global const uchar* x_, ulong x_off, int x_dt, ulong x_rs, ulong x_bs, global float* dst,
                      ulong V, ulong k) {
  const ulong k0 = get_global_id(0) * PACK_K, panel = get_global_id(1), bt = get_global_id(2);
  if (k0 >= k) return;
  const ulong ke = min(k0 + PACK_K, k), panels = (V + PANEL_W - 1) / PANEL_W;
  global const uchar* x = x_ + x_off;
  global float* d = dst + ((bt * panels + panel) * k) * PANEL_W;
  for (ulong l = 0; l < PANEL_W; ++l) {
    const ulong v = panel * PANEL_W + l, row = bt * x_bs + v * x_rs;
    ulong p = k0;
    if (v < V)
      for (; p + 16 <= ke; p += 16) {
        const float16 r = load16(x, row + p, x_dt);
        const float* rl = (const float*)&r;
        for (int j = 0; j < 16; ++j) d[(p + j) * PANEL_W + l] = rl[j];
      }
    for (; p < ke; ++p) d[p * PANEL_W + l] = v < V ? load1(x, row + p, x_dt) : 0.0f;
  }
}

// C(u, v) at element bt * c_bs + u * c_us + v * c_vs for u < U, v < V. X(v, k) of tile tv at
// element bt * x_bs + tv * x_ts + (v - 64 tv) + k * x_ks, valid up to v < x_v (packed panels:
// padded with zeros); Y(u, k) at element bt * y_bs + u * y_us + k * y_ks (FP8 / INT4 with scales:
// gemm_quant's weight, batch 1). Global (tiles, tiles, batch): `v_fast` picks which tile index
// varies fastest across work-items. The swept side should be the smaller one (it is re-read from
// cache) while the other side's tile stays in L2.
#define TILE_KERNEL(name, x_dt, y_dt)                                                                             \
  kernel void name(global const uchar* x, ulong x_off, ulong x_ts, ulong x_ks, ulong x_bs, ulong x_v,           \
                   global const uchar* y, ulong y_off, ulong y_us, ulong y_ks, ulong y_bs,                      \
                   global const uchar* scales, ulong s_off, uint bn, uint bk, global uchar* c, ulong c_off,     \
                   int c_dt, ulong c_us, ulong c_vs, ulong c_bs, ulong U, ulong V, ulong k, float alpha,        \
                   float beta, int v_fast) {                                                                    \
    const ulong tv = v_fast ? get_global_id(0) : get_global_id(1);                                              \
    const ulong tu = v_fast ? get_global_id(1) : get_global_id(0), bt = get_global_id(2);                      \
    const ulong v0 = tv * PANEL_W;                                                                              \
    if (tu * TU >= U || v0 >= V) return;                                                                        \
    /* Batches of Y are only plain types: element offsets are whole bytes. */                                   \
    const ulong ye = y_dt == DT_F32 ? 4 : 2, ce = c_dt == DT_F32 ? 4 : 2;                                       \
    gemm_tile(x + x_off, x_dt, bt * x_bs + tv * x_ts, x_ks, min((ulong)PANEL_W, x_v - v0),                     \
              y + y_off + bt * y_bs * ye, y_dt, y_us, y_ks, (global const float*)(scales + s_off), bn, bk,     \
              c + c_off + bt * c_bs * ce, c_dt, c_us, c_vs, tu * TU, U, v0, 0, V, k, alpha, beta);             \
  }
// Packed (f32) X against every Y type; X read in place as f16 / bf16 against the plain ones.
TILE_KERNEL(gemm_tile_f32_f32, DT_F32, DT_F32)
TILE_KERNEL(gemm_tile_f32_f16, DT_F32, DT_F16)
TILE_KERNEL(gemm_tile_f32_bf16, DT_F32, DT_BF16)
TILE_KERNEL(gemm_tile_f32_fp8, DT_F32, DT_FP8)
TILE_KERNEL(gemm_tile_f32_int4, DT_F32, DT_INT4)
TILE_KERNEL(gemm_tile_f16_f32, DT_F16, DT_F32)
TILE_KERNEL(gemm_tile_f16_f16, DT_F16, DT_F16)
TILE_KERNEL(gemm_tile_f16_bf16, DT_F16, DT_BF16)
TILE_KERNEL(gemm_tile_bf16_f32, DT_BF16, DT_F32)
TILE_KERNEL(gemm_tile_bf16_f16, DT_BF16, DT_F16)
TILE_KERNEL(gemm_tile_bf16_bf16, DT_BF16, DT_BF16)

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
