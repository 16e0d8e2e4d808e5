#version 450
// out = silu(gate) * up over rows x cols, one invocation per element (flat index, row-major). Each
// invocation reads both inputs before it writes its element: out may alias gate or up.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "grid.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Params {
  uvec2 addr[3];  // gate, up, out
  uint g_off, g_dt, ldg;
  uint u_off, u_dt, ldu;
  uint o_off, o_dt, ldo;
  uint cols, total;  // total = rows * cols
} p;

void main() {
  const uint e = flat_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (e >= p.total) return;
  const uint r = e / p.cols, c = e % p.cols;
  const float g = LOAD(0, p.g_off, p.g_dt, r * p.ldg + c);
  const float u = LOAD(1, p.u_off, p.u_dt, r * p.ldu + c);
  precise const float v = g / (1.0 + exp(-g)) * u;
  STORE(2, p.o_off, p.o_dt, r * p.ldo + c, v);
}
