#version 450
// grouped_gemm, the contiguous MoE layout: rows [offsets[g], offsets[g+1]) of A and C use weight
// group g (W_g at w_off + g * w_gs bytes, its scales at s_off + g * s_gs). Workgroup (x, y) covers
// TILE_WIDTH columns of C for group y + group_base, walking that group's rows TILE_ROWS at a time
// (weight_tile.glsl), so an empty group costs nothing and each weight is read once per TILE_ROWS
// rows. The offsets live on the device: every workgroup checks all of them first, so on a bad one
// nothing is written anywhere, and the first invocation reports the first bad index.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"
#include "status.glsl"

layout(push_constant) uniform Params {
  uvec2 addr[6];  // A, W, scales, offsets (i32), C, status words
  uint m, n, k, groups, group_base;
  uint a_off, a_dt, lda;
  uint w_off, w_row_bytes, w_gs, s_off, s_gs, bn, bk;
  uint o_off;
  uint c_off, c_dt, ldc;
} p;

#define A_OP 0
#define W_OP 1
#define S_OP 2
#define OFFSETS_OP 3
#define C_OP 4
#define STATUS_OP 5
#include "weight_tile.glsl"

int offset_at(uint g) { return int(WORDS(OFFSETS_OP)[(p.o_off >> 2) + g]); }

void main() {
  int prev = 0;
  for (uint g = 0u; g <= p.groups; ++g) {
    const int o = offset_at(g);
    if (o < 0 || uint(o) > p.m || o < prev) {
      if (gl_GlobalInvocationID == uvec3(0u)) REPORT_STATUS(STATUS_OP, DSHAL_STATUS_GROUP_OFFSETS, g, o, p.m);
      return;
    }
    prev = o;
  }
  const uint g = gl_WorkGroupID.y + p.group_base, lo = uint(offset_at(g)), hi = uint(offset_at(g + 1u));
  for (uint r0 = lo; r0 < hi; r0 += TILE_ROWS)
    weight_tile(r0, min(TILE_ROWS, hi - r0), gl_WorkGroupID.x * TILE_WIDTH, p.w_off + g * p.w_gs, p.w_row_bytes,
                p.s_off + g * p.s_gs, 1.0, 0.0);
}
