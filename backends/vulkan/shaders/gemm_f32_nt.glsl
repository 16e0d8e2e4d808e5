// The body of gemm_f32_nt.comp and gemm_f32_nt_texel.comp, which differ only in how A and B are
// read: the including shader defines LOAD_A4(i) and LOAD_B4(i), vec4 i of operand 0 and 1 (indices
// in vec4 from the operand's binding). Operand 2 (C) is a storage buffer or address (bind.glsl).
layout(local_size_x_id = 0) in;             // W
layout(constant_id = 1) const uint R = 16;  // rows of C per workgroup
layout(constant_id = 2) const uint C = 4;   // columns of C per invocation
layout(push_constant) uniform Params {
  uvec2 addr[3];  // A, B, C
  uint m, n, k4, batch_base;  // k4 = K / 4
  uint a_off, lda, a_bs, b_off;
  uint ldb, b_bs, c_off, c_dt;
  uint ldc, c_bs;
  float alpha, beta;
} p;

void main() {
  const uint W = gl_WorkGroupSize.x;
  const uint bt = gl_WorkGroupID.z + p.batch_base;
  const uint row0 = gl_WorkGroupID.y * R, col0 = gl_WorkGroupID.x * W * C + gl_LocalInvocationID.x;
  // vec4 indices of each row's start; rows / columns past the edge re-read the last one (their
  // results are not stored), so the loop has no bounds checks.
  uint arow[R], bcol[C];
  [[unroll]] for (uint r = 0u; r < R; ++r)
    arow[r] = (p.a_off >> 4) + (bt * p.a_bs + min(row0 + r, p.m - 1u) * p.lda) / 4u;
  [[unroll]] for (uint c = 0u; c < C; ++c)
    bcol[c] = (p.b_off >> 4) + (bt * p.b_bs + min(col0 + W * c, p.n - 1u) * p.ldb) / 4u;
  float acc[R][C];
  [[unroll]] for (uint r = 0u; r < R; ++r)
    [[unroll]] for (uint c = 0u; c < C; ++c) acc[r][c] = 0.0;
  for (uint q = 0u; q < p.k4; ++q) {
    vec4 b[C];
    [[unroll]] for (uint c = 0u; c < C; ++c) b[c] = LOAD_B4(bcol[c] + q);
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      const vec4 a = LOAD_A4(arow[r] + q);
      [[unroll]] for (uint c = 0u; c < C; ++c) {
        float s = acc[r][c];
        s = fma(a.x, b[c].x, s);
        s = fma(a.y, b[c].y, s);
        s = fma(a.z, b[c].z, s);
        s = fma(a.w, b[c].w, s);
        acc[r][c] = s;
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < R; ++r)
    [[unroll]] for (uint c = 0u; c < C; ++c) {
      const uint row = row0 + r, col = col0 + W * c;
      if (row >= p.m || col >= p.n) continue;
      const uint ci = bt * p.c_bs + row * p.ldc + col;
      float v = p.alpha * acc[r][c];
      if (p.beta != 0.0) v = fma(p.beta, LOAD(2, p.c_off, p.c_dt, ci), v);  // beta == 0: C is not read
      STORE(2, p.c_off, p.c_dt, ci, v);
    }
}
