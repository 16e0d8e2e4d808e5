#version 450
// gemm_quant: C = alpha * A dequant(W)^T + beta * C, W FP8 e4m3 (block scales) or INT4 (group
// scales), N x K. A workgroup covers 64 columns of C and TILE_ROWS rows (weight_tile.glsl).
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

layout(local_size_x = 64) in;
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
  const uint j = gl_GlobalInvocationID.x, r0 = (gl_WorkGroupID.y + p.row_base) * TILE_ROWS;
  if (j >= p.n || r0 >= p.m) return;
  weight_tile(r0, min(TILE_ROWS, p.m - r0), j, p.w_off + j * p.w_row_bytes, p.s_off, p.alpha, p.beta);
}
