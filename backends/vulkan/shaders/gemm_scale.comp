#version 450
// C_b = beta * C_b: gemm with K == 0 or alpha == 0, where A and B must not be read (hal may not
// even have translated their handles). beta == 0 writes zeros without reading C.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform Params {
  uvec2 addr[1];  // C
  uint m, n, batch_base, c_off, c_dt, ldc, c_bs;
  float beta;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y, j = gl_GlobalInvocationID.x, bt = gl_WorkGroupID.z + p.batch_base;
  if (i >= p.m || j >= p.n) return;
  const uint ci = bt * p.c_bs + i * p.ldc + j;
  const float r = p.beta != 0.0 ? p.beta * LOAD(0, p.c_off, p.c_dt, ci) : 0.0;
  STORE(0, p.c_off, p.c_dt, ci, r);
}
