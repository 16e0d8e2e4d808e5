#version 450
// Elementwise add / mul / scale / cast over n contiguous elements, one invocation per element i.
// Each invocation reads before it writes its own element: out may alias a or b. A cast to the
// same type copies bits (NaN payloads kept).
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "grid.glsl"
#include "raw_copy.glsl"

#define OP_ADD 0u
#define OP_MUL 1u
#define OP_SCALE 2u
#define OP_CAST 3u

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Params {
  uvec2 addr[3];  // a, b (a again for SCALE and CAST: never read), out
  uint a_off, a_dt, b_off, b_dt, o_off, o_dt;
  uint op;
  float alpha;
  uint n;
} p;

void main() {
  const uint i = flat_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  if (p.op == OP_CAST && p.a_dt == p.o_dt) {
    COPY_ELEM(2, p.o_off, i, 0, p.a_off, i, p.a_dt);
    return;
  }
  precise float v = LOAD(0, p.a_off, p.a_dt, i);
  if (p.op == OP_ADD) v += LOAD(1, p.b_off, p.b_dt, i);
  else if (p.op == OP_MUL) v *= LOAD(1, p.b_off, p.b_dt, i);
  else if (p.op == OP_SCALE) v *= p.alpha;
  STORE(2, p.o_off, p.o_dt, i, v);
}
