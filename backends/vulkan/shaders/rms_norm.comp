#version 450
// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, one workgroup per row r (strided loads, a
// shared-memory tree reduction). Each invocation writes only the elements it read, after the
// reduction's barriers: out may alias x. Offsets are bytes within each bound range, strides elements.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "grid.glsl"

layout(local_size_x_id = 0) in;
#include "reduce.glsl"

layout(push_constant) uniform Params {
  uvec2 addr[3];  // x, weight, out
  uint rows, cols;
  uint x_off, x_dt, ldx;
  uint w_off, w_dt;
  uint o_off, o_dt, ldo;
  float eps;
} p;

void main() {
  const uint r = flat_group(), lid = gl_LocalInvocationID.x, n = gl_WorkGroupSize.x;
  if (r >= p.rows) return;  // the whole workgroup: barriers stay in uniform control flow
  // precise: every product and sum rounds on its own, as in the host kernels (no fused fma).
  precise float ss = 0.0;
  for (uint c = lid; c < p.cols; c += n) {
    const float v = LOAD(0, p.x_off, p.x_dt, r * p.ldx + c);
    ss += v * v;
  }
  const float mean = group_sum(ss) / float(p.cols);
  const float inv = 1.0 / sqrt(mean + p.eps);
  for (uint c = lid; c < p.cols; c += n) {
    precise const float v = LOAD(0, p.x_off, p.x_dt, r * p.ldx + c) * inv * LOAD(1, p.w_off, p.w_dt, c);
    STORE(2, p.o_off, p.o_dt, r * p.ldo + c, v);
  }
}
