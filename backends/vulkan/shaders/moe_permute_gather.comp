#version 450
// moe_permute, second pass: out[row] = x[perm[row] / top_k] for the kept rows, copied bit for bit.
// f32: an invocation per element. 16-bit: an invocation per uint word of the out row, filled
// from two x elements; only a word the row shares with its neighbours (or padding) is written
// half by half, atomically.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

layout(local_size_x = 64) in;
layout(push_constant) uniform Params {
  uvec2 addr[4];  // x, out, expert_offsets, perm
  uint x_off, ldx, out_off, ldo;
  uint dt, offsets_off, perm_off, experts;
  uint top_k, hidden, row_base;
} p;

// The 16-bit element at byte address a of operand 0.
uint x_half(uint a) { return (WORDS(0)[a >> 2] >> ((a & 2u) * 8u)) & 0xffffu; }

void main() {
  const uint row = gl_WorkGroupID.y + p.row_base, unit = gl_GlobalInvocationID.x;
  if (row >= WORDS(2)[(p.offsets_off >> 2) + p.experts]) return;
  const uint src = WORDS(3)[(p.perm_off >> 2) + row] / p.top_k;
  if (p.dt == DT_F32) {
    if (unit < p.hidden)
      WORDS(1)[(p.out_off >> 2) + row * p.ldo + unit] = WORDS(0)[(p.x_off >> 2) + src * p.ldx + unit];
    return;
  }
  const uint out_row = p.out_off + 2u * row * p.ldo, x_row = p.x_off + 2u * src * p.ldx;
  const uint word = (out_row >> 2) + unit, end = out_row + 2u * p.hidden;
  if (4u * word >= end) return;
  const uint lo = 4u * word, hi = lo + 2u;  // byte addresses of the word's halves
  const bool lo_in = lo >= out_row, hi_in = hi < end;
  const uint lo_v = lo_in ? x_half(x_row + (lo - out_row)) : 0u;
  const uint hi_v = hi_in ? x_half(x_row + (hi - out_row)) : 0u;
  if (lo_in && hi_in) {
    WORDS(1)[word] = lo_v | (hi_v << 16);
  } else if (lo_in) {
    atomicAnd(WORDS(1)[word], 0xffff0000u);
    atomicOr(WORDS(1)[word], lo_v);
  } else {
    atomicAnd(WORDS(1)[word], 0x0000ffffu);
    atomicOr(WORDS(1)[word], hi_v << 16);
  }
}
