// The tile shared by gemm_quant.comp and gemm_grouped.comp: C = alpha * A W^T + beta * C for a
// weight W[N][K] of f32 / f16 / bf16, FP8 e4m3 (block scales) or INT4 (group scales), dequantized
// as it is read. A workgroup of TILE_INVOCATIONS computes up to TILE_ROWS rows x TILE_WIDTH columns
// of C, each invocation TILE_COLS columns (weight rows) of all those rows: each weight element is
// read and dequantized once per tile, and A's rows are staged in shared memory for all of them.
//
// Before including, define the operand indices A_OP, W_OP, S_OP (scales), C_OP; the push block p
// must have n, k, a_off, a_dt, lda, bn, bk, c_off, c_dt, ldc (offsets in bytes, strides in
// elements, as in dshal_matrix / dshal_weight).
#extension GL_EXT_control_flow_attributes : require

#define DT_FP8 4u
#define DT_INT4 5u
#define TILE_COLS 4u
#define TILE_INVOCATIONS 64u
#define TILE_WIDTH (TILE_COLS * TILE_INVOCATIONS)  // columns of C per workgroup

layout(local_size_x = TILE_INVOCATIONS) in;

// The weight's dtype, and whether every weight row starts on a uint word so that runs of 8
// elements are whole words (the host checks the offsets, strides and scale blocks).
layout(constant_id = 0) const uint W_DT = DT_F32;
layout(constant_id = 1) const uint W_WORDS = 0u;
// Rows of A per tile (1, 2, 4 or 8): the host picks the fewest that cover the rows it expects per
// tile, since every row of the tile costs its multiply-adds (lavapipe runs both sides of a branch).
layout(constant_id = 2) const uint TILE_ROWS = 8u;

// OCP e4m3fn as hal's host/dtype.hpp decodes it: bias 7, subnormals man * 2^-9, S.1111.111 NaN.
float fp8_to_f32(uint v) {
  const uint e = (v >> 3) & 15u, man = v & 7u, sign = (v & 0x80u) << 24;
  if (e == 15u && man == 7u) return uintBitsToFloat(sign | 0x7fc00000u);
  if (e == 0u) {
    const float sub = float(man) * 0.001953125;  // 2^-9, exact
    return sign != 0u ? -sub : sub;
  }
  return uintBitsToFloat(sign | ((e + 120u) << 23) | (man << 20));
}

// The signed nibble (even index in the low nibble).
float int4_to_f32(uint nib) { return float(int(nib << 28) >> 28); }

bool weight_quantized() { return W_DT == DT_FP8 || W_DT == DT_INT4; }

// Element e of the weight row starting at byte row (unscaled).
float weight_at(uint row, uint e) {
  if (W_DT == DT_FP8) return fp8_to_f32(LOAD_BYTE(W_OP, row, e));
  if (W_DT == DT_INT4) return int4_to_f32(LOAD_BYTE(W_OP, row, e >> 1) >> ((e & 1u) * 4u));
  return LOAD(W_OP, row, W_DT, e);
}

// Elements e .. e + 7 of the weight row starting at byte row (row and e such that they are
// whole words: W_WORDS and e a multiple of 8).
void weight_run8(uint row, uint e, out float w[8]) {
  if (W_DT == DT_INT4) {
    const uint x = WORDS(W_OP)[(row + (e >> 1)) >> 2];
    [[unroll]] for (uint q = 0u; q < 8u; ++q) w[q] = int4_to_f32(x >> (4u * q));
  } else if (W_DT == DT_FP8) {
    const uint base = (row + e) >> 2;
    [[unroll]] for (uint h = 0u; h < 2u; ++h) {
      const uint x = WORDS(W_OP)[base + h];
      [[unroll]] for (uint q = 0u; q < 4u; ++q) w[4u * h + q] = fp8_to_f32((x >> (8u * q)) & 0xffu);
    }
  } else if (W_DT == DT_F32) {
    const uint base = (row >> 2) + e;
    [[unroll]] for (uint q = 0u; q < 8u; ++q) w[q] = uintBitsToFloat(WORDS(W_OP)[base + q]);
  } else {
    const uint base = (row >> 2) + (e >> 1);
    [[unroll]] for (uint h = 0u; h < 4u; ++h) {
      const uint x = WORDS(W_OP)[base + h];
      w[2u * h] = decode16(x & 0xffffu, W_DT);
      w[2u * h + 1u] = decode16(x >> 16, W_DT);
    }
  }
}

// A's rows of the tile, a chunk of K at a time, as f32: every invocation reads all of it, and
// vec4 reads of shared memory cost far less than per-element loads of A (which lavapipe runs lane
// by lane, with the dtype decode, even when all lanes want the same element).
#define CHUNK_K 128u
shared vec4 a_tile[TILE_ROWS][CHUNK_K / 4u];

float a_at(uint i, uint kk) { return a_tile[i][kk >> 2][kk & 3u]; }

// Rows r0 .. r0 + rows - 1 (rows <= TILE_ROWS) of columns col0 + lane + TILE_INVOCATIONS * c
// (c < TILE_COLS, those below n) of C; weight row j starts at byte w_base + j * w_row_bytes of
// W_OP, the weight's scales at byte s_base of S_OP. All arguments are uniform across the
// workgroup and every invocation must call it (it has barriers).
void weight_tile(uint r0, uint rows, uint col0, uint w_base, uint w_row_bytes, uint s_base, float alpha, float beta) {
  const uint lane = gl_LocalInvocationID.x;
  uint w_row[TILE_COLS], srow[TILE_COLS];
  float acc[TILE_ROWS][TILE_COLS];
  const bool quant = weight_quantized();
  const uint kstep = quant ? p.bk : p.k, sld = quant ? (p.k + p.bk - 1u) / p.bk : 0u;
  [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c) {
    const uint j = min(col0 + lane + TILE_INVOCATIONS * c, p.n - 1u);  // past n: repeat a valid row
    w_row[c] = w_base + j * w_row_bytes;
    srow[c] = (s_base >> 2) + (j / p.bn) * sld;
    [[unroll]] for (uint i = 0u; i < TILE_ROWS; ++i) acc[i][c] = 0.0;
  }
  for (uint kb = 0u; kb < p.k; kb += kstep) {
    const uint ke = min(kb + kstep, p.k);
    float s[TILE_COLS];
    [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c)
      s[c] = quant ? uintBitsToFloat(WORDS(S_OP)[srow[c] + kb / p.bk]) : 1.0;
    for (uint k0 = kb; k0 < ke; k0 += CHUNK_K) {
      const uint kn = min(CHUNK_K, ke - k0);
      barrier();  // the previous chunk is read
      for (uint v = lane; v < TILE_ROWS * CHUNK_K / 4u; v += gl_WorkGroupSize.x) {
        const uint i = v / (CHUNK_K / 4u), q0 = 4u * (v % (CHUNK_K / 4u));
        vec4 x = vec4(0.0);
        [[unroll]] for (uint q = 0u; q < 4u; ++q)
          if (i < rows && q0 + q < kn) x[q] = LOAD(A_OP, p.a_off, p.a_dt, (r0 + i) * p.lda + k0 + q0 + q);
        a_tile[i][q0 / 4u] = x;
      }
      barrier();
      uint kk = 0u;
      if (W_WORDS != 0u) {
        for (; kk + 8u <= kn; kk += 8u) {
          float w[TILE_COLS][8];
          [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c) {
            weight_run8(w_row[c], k0 + kk, w[c]);
            [[unroll]] for (uint q = 0u; q < 8u; ++q) w[c][q] *= s[c];
          }
          [[unroll]] for (uint i = 0u; i < TILE_ROWS; ++i) {
            if (i >= rows) continue;
            const vec4 lo = a_tile[i][kk >> 2], hi = a_tile[i][(kk >> 2) + 1u];
            [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c) {
              float t = acc[i][c];
              [[unroll]] for (uint q = 0u; q < 4u; ++q) t = fma(lo[q], w[c][q], t);
              [[unroll]] for (uint q = 0u; q < 4u; ++q) t = fma(hi[q], w[c][4u + q], t);
              acc[i][c] = t;
            }
          }
        }
      }
      for (; kk < kn; ++kk) {
        float w[TILE_COLS];
        [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c) w[c] = weight_at(w_row[c], k0 + kk) * s[c];
        [[unroll]] for (uint i = 0u; i < TILE_ROWS; ++i) {
          if (i >= rows) continue;
          const float a = a_at(i, kk);
          [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c) acc[i][c] = fma(a, w[c], acc[i][c]);
        }
      }
    }
  }
  [[unroll]] for (uint c = 0u; c < TILE_COLS; ++c) {
    const uint j = col0 + lane + TILE_INVOCATIONS * c;
    if (j >= p.n) continue;
    [[unroll]] for (uint i = 0u; i < TILE_ROWS; ++i) {
      if (i >= rows) continue;
      const uint ci = (r0 + i) * p.ldc + j;
      float r = alpha * acc[i][c];
      if (beta != 0.0) r = fma(beta, LOAD(C_OP, p.c_off, p.c_dt, ci), r);  // beta == 0: C is not read
      STORE(C_OP, p.c_off, p.c_dt, ci, r);
    }
  }
}
