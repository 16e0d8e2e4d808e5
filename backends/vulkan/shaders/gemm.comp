#version 450
// C_b = alpha * op(A_b) * op(B_b) + beta * C_b for one batch per workgroup layer (z): one output per
// invocation, 16x16 tiles of op(A) and op(B) staged in shared memory as f32. Offsets are bytes
// within each bound range, strides in elements (as dshal_matrix).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer ABuf { uint a_words[]; };
layout(std430, binding = 1) readonly buffer BBuf { uint b_words[]; };
layout(std430, binding = 2) buffer CBuf { uint c_words[]; };
layout(push_constant) uniform Params {
  uint m, n, k, batch_base;
  uint a_off, a_dt, lda, a_bs;
  uint b_off, b_dt, ldb, b_bs;
  uint c_off, c_dt, ldc, c_bs;
  uint trans_a, trans_b;
  float alpha, beta;
} p;

shared float As[16][17];  // [row of op(A)][k]; padded against bank conflicts
shared float Bs[16][17];  // [k][column of op(B)]

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint i = gl_WorkGroupID.y * 16u + ty, j = gl_WorkGroupID.x * 16u + tx;
  const uint bt = gl_WorkGroupID.z + p.batch_base;
  float acc = 0.0;
  for (uint k0 = 0u; k0 < p.k; k0 += 16u) {
    const uint ak = k0 + tx, bk = k0 + ty;
    float av = 0.0, bv = 0.0;
    if (i < p.m && ak < p.k)
      av = LOAD(a_words, p.a_off, p.a_dt, bt * p.a_bs + (p.trans_a != 0u ? ak * p.lda + i : i * p.lda + ak));
    if (j < p.n && bk < p.k)
      bv = LOAD(b_words, p.b_off, p.b_dt, bt * p.b_bs + (p.trans_b != 0u ? j * p.ldb + bk : bk * p.ldb + j));
    As[ty][tx] = av;
    Bs[ty][tx] = bv;
    barrier();
    for (uint kk = 0u; kk < 16u; ++kk) acc = fma(As[ty][kk], Bs[kk][tx], acc);
    barrier();
  }
  if (i >= p.m || j >= p.n) return;
  const uint ci = bt * p.c_bs + i * p.ldc + j;
  float r = p.alpha * acc;
  if (p.beta != 0.0) r = fma(p.beta, LOAD(c_words, p.c_off, p.c_dt, ci), r);  // beta == 0: C is not read
  STORE_C(c_words, p.c_off, p.c_dt, ci, r);
}
