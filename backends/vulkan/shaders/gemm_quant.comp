#version 450
// gemm_quant: C = alpha * A dequant(W)^T + beta * C, W FP8 e4m3 (block scales) or INT4 (group
// scales), N x K. Workgroup (x, y) computes tile (x, y + row_base) of weight_tile.glsl.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

layout(push_constant) uniform Params {
  uvec2 addr[4];  // A, W, scales, C
  uint m, n, k, row_base;
  uint a_off, a_dt, lda;
  uint w_off, w_row_bytes, s_off, bn, bk;
  uint c_off, c_dt, ldc;
  float alpha, beta;
} p;

#define A_OP 0
#define W_OP 1
#define S_OP 2
#define C_OP 3
#include "weight_tile.glsl"

void main() {
  const uint r0 = (gl_WorkGroupID.y + p.row_base) * TILE_ROWS;  // < m: the host dispatches no more
  weight_tile(r0, min(TILE_ROWS, p.m - r0), gl_WorkGroupID.x * TILE_WIDTH, p.w_off, p.w_row_bytes, p.s_off, p.alpha,
              p.beta);
}
