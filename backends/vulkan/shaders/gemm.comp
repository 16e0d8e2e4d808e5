#version 450
// C_b = alpha * op(A_b) * op(B_b) + beta * C_b, one batch per workgroup layer (z). A workgroup
// computes a 64x64 tile of C, each invocation 4x4 outputs (rows ty + 16 i, columns tx + 16 j), from
// 16-deep slices of op(A) and op(B) staged in shared memory as f32. Offsets are bytes within each
// bound range, strides in elements (as dshal_matrix).
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform Params {
  uvec2 addr[3];  // A, B, C
  uint m, n, k, batch_base;
  uint a_off, a_dt, lda, a_bs;
  uint b_off, b_dt, ldb, b_bs;
  uint c_off, c_dt, ldc, c_bs;
  uint trans_a, trans_b;
  float alpha, beta;
} p;

shared float As[16][64];  // [k][row of the tile]
shared float Bs[16][64];  // [k][column of the tile]

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, tid = ty * 16u + tx;
  const uint row0 = gl_WorkGroupID.y * 64u, col0 = gl_WorkGroupID.x * 64u;
  const uint bt = gl_WorkGroupID.z + p.batch_base;
  // Rows of C this invocation owns: fewer than 4 at the bottom edge, none for most when M is small
  // (decode), so those skip the multiply-adds (lanes of one SIMD vector share ty on most drivers).
  const uint rows = row0 + ty < p.m ? min(4u, (p.m - row0 - ty + 15u) / 16u) : 0u;
  float acc[4][4];
  for (uint i = 0u; i < 4u; ++i)
    for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;
  for (uint k0 = 0u; k0 < p.k; k0 += 16u) {
    // 1024 elements of each slice, 4 per invocation; consecutive invocations take consecutive
    // stored elements (along k when that is the contiguous direction, along rows / columns if not).
    for (uint q = 0u; q < 4u; ++q) {
      const uint e = tid + 256u * q;
      uint kk = p.trans_a != 0u ? e >> 6 : e & 15u, r = p.trans_a != 0u ? e & 63u : e >> 4;
      uint gi = row0 + r, gk = k0 + kk;
      float v = 0.0;
      if (gi < p.m && gk < p.k)
        v = LOAD(0, p.a_off, p.a_dt, bt * p.a_bs + (p.trans_a != 0u ? gk * p.lda + gi : gi * p.lda + gk));
      As[kk][r] = v;
      kk = p.trans_b != 0u ? e & 15u : e >> 6;
      const uint c = p.trans_b != 0u ? e >> 4 : e & 63u, gj = col0 + c;
      gk = k0 + kk;
      v = 0.0;
      if (gj < p.n && gk < p.k)
        v = LOAD(1, p.b_off, p.b_dt, bt * p.b_bs + (p.trans_b != 0u ? gj * p.ldb + gk : gk * p.ldb + gj));
      Bs[kk][c] = v;
    }
    barrier();
    for (uint kk = 0u; kk < 16u; ++kk) {
      float a[4], b[4];
      for (uint i = 0u; i < 4u; ++i) a[i] = As[kk][ty + 16u * i];
      for (uint j = 0u; j < 4u; ++j) b[j] = Bs[kk][tx + 16u * j];
      for (uint i = 0u; i < 4u; ++i)
        if (i < rows)
          for (uint j = 0u; j < 4u; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier();
  }
  for (uint i = 0u; i < 4u; ++i) {
    const uint row = row0 + ty + 16u * i;
    for (uint j = 0u; j < 4u; ++j) {
      const uint col = col0 + tx + 16u * j;
      if (row >= p.m || col >= p.n) continue;
      const uint ci = bt * p.c_bs + row * p.ldc + col;
      float r = p.alpha * acc[i][j];
      if (p.beta != 0.0) r = fma(p.beta, LOAD(2, p.c_off, p.c_dt, ci), r);  // beta == 0: C is not read
      STORE(2, p.c_off, p.c_dt, ci, r);
    }
  }
}
