#version 450
// moe_unpermute: out[t] = (accumulate ? out[t] : 0) + sum over j in order of
// weights[t][j] * y[row of slot t*top_k+j]. Workgroup (b, c) takes tokens [b * block, +block) and
// columns [c * chunk, +chunk): it finds its slots' rows by scanning perm into shared memory (-1
// for a slot not kept), then sums each element in j order, unfused, as the host kernel: the result
// depends only on the slots, not on the row layout.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

#define WG 64u
#define ROW_CAP 1024u  // block * top_k, bounded by the host

layout(local_size_x = 64) in;
layout(push_constant) uniform Params {
  uvec2 addr[4];  // y, perm, weights, out
  uint y_off, y_dt, ldy, perm_off;
  uint weights_off, out_off, out_dt, ldo;
  uint tokens, top_k, hidden, accumulate;
  uint block, chunk, block_base;
} p;

shared int row_of[ROW_CAP];

void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint t0 = (gl_WorkGroupID.x + p.block_base) * p.block, t1 = min(p.tokens, t0 + p.block);
  const uint h0 = gl_WorkGroupID.y * p.chunk, width = min(p.hidden, h0 + p.chunk) - h0;
  const uint slots = p.tokens * p.top_k, s0 = t0 * p.top_k, s1 = t1 * p.top_k;
  for (uint i = lid; i < s1 - s0; i += WG) row_of[i] = -1;
  barrier();
  for (uint row = lid; row < slots; row += WG) {
    const int s = int(WORDS(1)[(p.perm_off >> 2) + row]);
    if (s >= 0 && uint(s) >= s0 && uint(s) < s1) row_of[uint(s) - s0] = int(row);
  }
  barrier();
  for (uint i = lid; i < (t1 - t0) * width; i += WG) {
    const uint t = t0 + i / width, h = h0 + i % width;
    precise float acc = p.accumulate != 0u ? LOAD(3, p.out_off, p.out_dt, t * p.ldo + h) : 0.0;
    for (uint j = 0u; j < p.top_k; ++j) {
      const int row = row_of[(t - t0) * p.top_k + j];
      if (row < 0) continue;
      const precise float w = uintBitsToFloat(WORDS(2)[(p.weights_off >> 2) + t * p.top_k + j]);
      const precise float term = w * LOAD(0, p.y_off, p.y_dt, uint(row) * p.ldy + h);
      acc += term;
    }
    STORE(3, p.out_off, p.out_dt, t * p.ldo + h, acc);
  }
}
