#version 450
// out[r] = softmax(scale * x[r]) over the visible columns, 0 past them; one workgroup per row.
// Row r is query r % row_period: with causal set, columns past query + causal_offset are masked.
// Each invocation writes only its own columns, after the reductions: out may alias x.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "grid.glsl"

layout(local_size_x_id = 0) in;
#include "reduce.glsl"

layout(push_constant) uniform Params {
  uvec2 addr[2];  // x, out
  uint rows, cols;
  uint x_off, x_dt, ldx;
  uint o_off, o_dt, ldo;
  float scale;
  uint causal;
  uint row_period;     // clamped to rows by the host (r % row_period is unchanged)
  uint causal_offset;  // clamped to cols by the host (>= cols masks nothing either way)
} p;

void main() {
  const uint r = flat_group(), lid = gl_LocalInvocationID.x, n = gl_WorkGroupSize.x;
  if (r >= p.rows) return;  // the whole workgroup: barriers stay in uniform control flow
  const uint visible =
      p.causal == 0u || p.causal_offset >= p.cols ? p.cols : min(p.cols, r % p.row_period + p.causal_offset + 1u);
  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (uint c = lid; c < visible; c += n) {
    precise const float v = p.scale * LOAD(0, p.x_off, p.x_dt, r * p.ldx + c);
    m = max_ignoring_nan(m, v);
  }
  m = group_max(m);
  precise float sum = 0.0;
  for (uint c = lid; c < visible; c += n) {
    precise const float v = p.scale * LOAD(0, p.x_off, p.x_dt, r * p.ldx + c) - m;
    sum += exp(v);
  }
  const float inv = 1.0 / group_sum(sum);
  for (uint c = lid; c < p.cols; c += n) {
    float v = 0.0;
    if (c < visible) {
      precise const float e = p.scale * LOAD(0, p.x_off, p.x_dt, r * p.ldx + c) - m;
      v = exp(e) * inv;
    }
    STORE(1, p.o_off, p.o_dt, r * p.ldo + c, v);
  }
}
