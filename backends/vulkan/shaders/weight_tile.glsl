// The tile shared by gemm_quant.comp and gemm_grouped.comp: C = alpha * A W^T + beta * C for a
// weight W[N][K] of f32 / f16 / bf16, FP8 e4m3 (block scales) or INT4 (group scales), dequantized
// as it is read. Each invocation owns one column j of C (one weight row) and up to TILE_ROWS rows
// of A that the whole workgroup shares: A's loads are uniform across the workgroup, so only the
// weight is read per invocation, once per tile.
//
// Before including, define the operand indices A_OP, W_OP, S_OP (scales), C_OP; the push block p
// must have k, a_off, a_dt, lda, bn, bk, c_off, c_dt, ldc (offsets in bytes, strides in
// elements, as in dshal_matrix / dshal_weight).
#define DT_FP8 4u
#define DT_INT4 5u
#define TILE_ROWS 8u

// The weight's dtype, and whether every weight row starts on a uint word so that runs of 8
// elements are whole words (the host checks the offsets, strides and scale blocks).
layout(constant_id = 0) const uint W_DT = DT_F32;
layout(constant_id = 1) const uint W_WORDS = 0u;

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
    for (uint q = 0u; q < 8u; ++q) w[q] = int4_to_f32(x >> (4u * q));
  } else if (W_DT == DT_FP8) {
    const uint base = (row + e) >> 2;
    for (uint h = 0u; h < 2u; ++h) {
      const uint x = WORDS(W_OP)[base + h];
      for (uint q = 0u; q < 4u; ++q) w[4u * h + q] = fp8_to_f32((x >> (8u * q)) & 0xffu);
    }
  } else if (W_DT == DT_F32) {
    const uint base = (row >> 2) + e;
    for (uint q = 0u; q < 8u; ++q) w[q] = uintBitsToFloat(WORDS(W_OP)[base + q]);
  } else {
    const uint base = (row >> 2) + (e >> 1);
    for (uint h = 0u; h < 4u; ++h) {
      const uint x = WORDS(W_OP)[base + h];
      w[2u * h] = decode16(x & 0xffffu, W_DT);
      w[2u * h + 1u] = decode16(x >> 16, W_DT);
    }
  }
}

// Rows r0 .. r0 + rows - 1 (rows <= TILE_ROWS, uniform across the workgroup) of column j of C,
// with weight row j at byte w_row of W_OP and the weight's scales from byte s_base of S_OP.
void weight_tile(uint r0, uint rows, uint j, uint w_row, uint s_base, float alpha, float beta) {
  float acc[TILE_ROWS];
  for (uint i = 0u; i < TILE_ROWS; ++i) acc[i] = 0.0;
  const bool quant = weight_quantized();
  const uint kstep = quant ? p.bk : p.k, sld = quant ? (p.k + p.bk - 1u) / p.bk : 0u;
  for (uint kb = 0u; kb < p.k; kb += kstep) {
    const uint ke = min(kb + kstep, p.k);
    const float s = quant ? uintBitsToFloat(WORDS(S_OP)[(s_base >> 2) + (j / p.bn) * sld + kb / p.bk]) : 1.0;
    uint pk = kb;
    if (W_WORDS != 0u) {
      for (; pk + 8u <= ke; pk += 8u) {
        float w[8];
        weight_run8(w_row, pk, w);
        for (uint q = 0u; q < 8u; ++q) w[q] *= s;
        for (uint i = 0u; i < TILE_ROWS; ++i) {
          if (i >= rows) break;
          const uint ai = (r0 + i) * p.lda + pk;
          for (uint q = 0u; q < 8u; ++q) acc[i] = fma(LOAD(A_OP, p.a_off, p.a_dt, ai + q), w[q], acc[i]);
        }
      }
    }
    for (; pk < ke; ++pk) {
      const float w = weight_at(w_row, pk) * s;
      for (uint i = 0u; i < TILE_ROWS; ++i) {
        if (i >= rows) break;
        acc[i] = fma(LOAD(A_OP, p.a_off, p.a_dt, (r0 + i) * p.lda + pk), w, acc[i]);
      }
    }
  }
  for (uint i = 0u; i < TILE_ROWS; ++i) {
    if (i >= rows) break;
    const uint ci = (r0 + i) * p.ldc + j;
    float r = alpha * acc[i];
    if (beta != 0.0) r = fma(beta, LOAD(C_OP, p.c_off, p.c_dt, ci), r);  // beta == 0: C is not read
    STORE(C_OP, p.c_off, p.c_dt, ci, r);
  }
}
