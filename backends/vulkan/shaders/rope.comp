#version 450
// Rotates the interleaved pairs of x in place, one workgroup per (head h, token t) whose
// invocations walk the pairs i. A position outside the tables is reported through the stream's
// status words and its token left as it is rather than rotated with memory past them.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "grid.glsl"
#include "status.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Params {
  uvec2 addr[5];  // x, positions (I32), cos table, sin table (f32 [max_position][half]), status
  uint x_off, dt, token_stride, head_stride;
  uint pos_off, cos_off, sin_off;
  uint half_dim, heads, tokens, max_position;
} p;

void main() {
  const uint g = flat_group(), lid = gl_LocalInvocationID.x;
  if (g >= p.heads * p.tokens) return;
  const uint t = g / p.heads, h = g % p.heads;
  const int pos = int(WORDS(1)[(p.pos_off + 4u * t) >> 2]);
  // Positions live on the device, where hal cannot check them.
  if (pos < 0 || uint(pos) >= p.max_position) {
    if (lid == 0u) REPORT_STATUS(4, DSHAL_STATUS_ROPE_POSITION, t, pos, p.max_position);
    return;
  }
  for (uint i = lid; i < p.half_dim; i += gl_WorkGroupSize.x) {
    const uint ti = uint(pos) * p.half_dim + i;
    const float c = uintBitsToFloat(WORDS(2)[(p.cos_off + 4u * ti) >> 2]);
    const float s = uintBitsToFloat(WORDS(3)[(p.sin_off + 4u * ti) >> 2]);
    const uint e = t * p.token_stride + h * p.head_stride + 2u * i;
    const float x0 = LOAD(0, p.x_off, p.dt, e), x1 = LOAD(0, p.x_off, p.dt, e + 1u);
    precise const float y0 = x0 * c - x1 * s, y1 = x1 * c + x0 * s;
    STORE(0, p.x_off, p.dt, e, y0);
    STORE(0, p.x_off, p.dt, e + 1u, y1);
  }
}
