// Shared pieces of the GEMM family kernels (after dtype.h): 16-wide loads of every weight type,
// the output update, the small-M dot-product tile and the micro-kernel tile.
//
// PoCL runs a work-group as a loop over its work-items, so every kernel here is launched with
// work-groups of one item that does a whole register tile with explicit float16 vectors; dtype
// arguments that are literals at the call site fold the switches away (one specialized kernel
// per dtype combination), a runtime dtype gives the generic path.
#ifndef DSHAL_GEMM_COMMON_H
#define DSHAL_GEMM_COMMON_H

// Inner-loop helpers must be inlined: a call inside the micro-kernel's loop spills its accumulators.
#define GEMM_INLINE inline __attribute__((always_inline))

// Elements i .. i+15 as f32 (INT4: i even, so they are whole bytes).
GEMM_INLINE float16 load16(global const uchar* p, ulong i, int dt) {
  switch (dt) {
    case DT_F32: return vload16(0, (global const float*)p + i);
    case DT_F16: return vload_half16(0, (global const half*)p + i);
    case DT_BF16: return as_float16(convert_uint16(vload16(0, (global const ushort*)p + i)) << 16);
    case DT_FP8: {
      // e4m3fn: normal values rebias the exponent (7 -> 127), subnormals are man * 2^-9, and
      // S.1111.111 is NaN: exact, so it matches fp8_to_f32 bit for bit.
      const uint16 v = convert_uint16(vload16(0, p + i));
      const uint16 e = (v >> 3) & 15u, man = v & 7u;
      const float16 normal = as_float16(((e + 120u) << 23) | (man << 20));
      float16 mag = select(normal, convert_float16(man) * 0x1p-9f, convert_int16(e) == 0);
      mag = select(mag, (float16)NAN, convert_int16(e) == 15 && convert_int16(man) == 7);
      return as_float16(as_uint16(mag) | ((v & 0x80u) << 24));
    }
    case DT_INT4: {
      const uchar8 b = vload8(0, p + i / 2);
      const int8 lo = (convert_int8(b & (uchar)15) ^ 8) - 8, hi = (convert_int8(b >> (uchar)4) ^ 8) - 8;
      return convert_float16(shuffle2(lo, hi, (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)));
    }
    default: return (float16)NAN;
  }
}

// e4m3fn as f32 without fp8_to_f32's ldexp (exact, so the same values).
inline float fp8_value(uint v) {
  const uint e = (v >> 3) & 15u, man = v & 7u;
  float mag = e == 0u ? (float)man * 0x1p-9f : as_float(((e + 120u) << 23) | (man << 20));
  if (e == 15u && man == 7u) mag = NAN;
  return as_float(as_uint(mag) | ((v & 0x80u) << 24));
}

// Element i as f32 (load_elem's float types, inlined).
GEMM_INLINE float load1(global const uchar* p, ulong i, int dt) {
  switch (dt) {
    case DT_F32: return ((global const float*)p)[i];
    case DT_F16: return vload_half(i, (global const half*)p);
    case DT_BF16: return bf16_to_f32(((global const ushort*)p)[i]);
    case DT_FP8: return fp8_value(p[i]);
    case DT_INT4: return (float)int4_at(p, i);
    default: return NAN;
  }
}

// Elements i .. i + lanes - 1 (lanes <= 16) as f32, 0 past them.
GEMM_INLINE float16 load16_part(global const uchar* p, ulong i, int dt, ulong lanes) {
  float16 v = 0.0f;
  float* l = (float*)&v;
  for (ulong j = 0; j < lanes; ++j) l[j] = load1(p, i + j, dt);
  return v;
}

inline bool is_quant(int dt) { return dt == DT_FP8 || dt == DT_INT4; }

// c[ci] = alpha * acc + beta * c[ci]; beta == 0 never reads C (NaN there is overwritten).
inline void put(global uchar* c, ulong ci, int c_dt, float acc, float alpha, float beta) {
  acc *= alpha;
  if (beta != 0.0f) acc = fma(beta, load_elem(c, ci, c_dt), acc);
  store_elem(c, ci, c_dt, acc);
}

#define HSUM16(v) \
  ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)) + \
   (((v).s8 + (v).s9) + ((v).sa + (v).sb)) + (((v).sc + (v).sd) + ((v).se + (v).sf)))

// One 4x4 tile of C = alpha * A B^T + beta * C with A rows and B (weight) rows both contiguous
// along K: float16 partial sums per output, reduced at the end. Rows of the tile outside
// [rlo, rhi) and columns past n repeat a valid one (every load stays in bounds) and are not
// stored. Quantized B rows (FP8, INT4) are dequantized with their scale block: K is walked one
// scale block at a time so each 16-wide load needs one scale per row.
GEMM_INLINE void dot_tile(global const uchar* a, int a_dt, ulong lda, global const uchar* b, int b_dt, ulong ldb,
                          global const float* scales, uint bn, uint bk, global uchar* c, int c_dt, ulong ldc,
                          ulong i0, ulong rlo, ulong rhi, ulong j0, ulong n, ulong k, float alpha, float beta) {
  ulong ar[4], br[4];
  #pragma unroll
  for (int r = 0; r < 4; ++r) {
    ar[r] = clamp(i0 + r, rlo, rhi - 1) * lda;
    br[r] = min(j0 + r, n - 1);
  }
  float16 acc[4][4];
  #pragma unroll
  for (int r = 0; r < 4; ++r)
    #pragma unroll
    for (int q = 0; q < 4; ++q) acc[r][q] = 0.0f;
  const bool quant = is_quant(b_dt);
  const ulong kstep = quant ? bk : k, sld = quant ? (k + bk - 1) / bk : 0;
  // INT4 vectors must start on a byte: scale blocks of odd size take the scalar loop.
  const bool vec = b_dt != DT_INT4 || bk % 2 == 0;
  for (ulong kb = 0; kb < k; kb += kstep) {
    const ulong ke = min(kb + kstep, k);
    float s[4];
    #pragma unroll
    for (int q = 0; q < 4; ++q) s[q] = quant ? scales[(br[q] / bn) * sld + kb / bk] : 1.0f;
    ulong p = kb;
    if (vec) {
      for (; p + 16 <= ke; p += 16) {
        float16 av[4], bv[4];
        #pragma unroll
        for (int r = 0; r < 4; ++r) av[r] = load16(a, ar[r] + p, a_dt);
        #pragma unroll
        for (int q = 0; q < 4; ++q) {
          bv[q] = load16(b, br[q] * ldb + p, b_dt);
          if (quant) bv[q] *= s[q];
        }
        #pragma unroll
        for (int r = 0; r < 4; ++r)
          #pragma unroll
          for (int q = 0; q < 4; ++q) acc[r][q] = fma(av[r], bv[q], acc[r][q]);
      }
    }
    for (; p < ke; ++p) {
      float bv[4];
      #pragma unroll
      for (int q = 0; q < 4; ++q) bv[q] = load1(b, br[q] * ldb + p, b_dt) * s[q];
      #pragma unroll
      for (int r = 0; r < 4; ++r) {
        const float av = load1(a, ar[r] + p, a_dt);
        #pragma unroll
        for (int q = 0; q < 4; ++q) acc[r][q].s0 = fma(av, bv[q], acc[r][q].s0);
      }
    }
  }
  #pragma unroll
  for (int r = 0; r < 4; ++r) {
    const ulong i = i0 + r;
    if (i < rlo || i >= rhi) continue;
    #pragma unroll
    for (int q = 0; q < 4; ++q)
      if (j0 + q < n) put(c, i * ldc + j0 + q, c_dt, HSUM16(acc[r][q]), alpha, beta);
  }
}

#define PANEL_W 64  // X values per tile (a packed panel): NV float16 vectors
#define NV 4
#define TU 6  // rows of the unpacked side per work-item

// One TU x PANEL_W tile of C(u, v) = alpha * sum_k Y(u, k) X(v, k) + beta * C(u, v).
//   X(v0 + l, k): element x0 + l + k * x_ks of x (dtype x_dt), for lanes l < x_lanes (0 past
//     them): packed f32 panels, or an operand read in place where it is contiguous along v;
//   Y(u, k): element u * y_us + k * y_ks of y, dtype y_dt; FP8 and INT4 are times
//     scales[(u / bn) * sld + k / bk], so K is walked one scale block at a time;
//   C(u, v): element u * c_us + v * c_vs of c. Rows u >= U repeat the last one and are not stored;
//   only v in [vlo, vhi) is stored.
// The dtypes are literals at each call. 24 float16 accumulators and 4 X vectors fit AVX-512's 32
// registers; each k broadcasts TU scalars of Y against the X vectors.
GEMM_INLINE void gemm_tile(global const uchar* x, int x_dt, ulong x0, ulong x_ks, ulong x_lanes,
                           global const uchar* y, int y_dt, ulong y_us, ulong y_ks, global const float* scales,
                           uint bn, uint bk, global uchar* c, int c_dt, ulong c_us, ulong c_vs, ulong u0, ulong U,
                           ulong v0, ulong vlo, ulong vhi, ulong k, float alpha, float beta) {
  ulong yr[TU], yo[TU];  // rows of Y, their first elements
  #pragma unroll
  for (int r = 0; r < TU; ++r) {
    yr[r] = min(u0 + r, U - 1);
    yo[r] = yr[r] * y_us;
  }
  float16 acc[TU][NV];
  #pragma unroll
  for (int r = 0; r < TU; ++r)
    #pragma unroll
    for (int q = 0; q < NV; ++q) acc[r][q] = 0.0f;
  const bool quant = is_quant(y_dt), full = x_lanes == PANEL_W;
  const ulong kstep = quant ? bk : k, sld = quant ? (k + bk - 1) / bk : 0;
  for (ulong kb = 0; kb < k; kb += kstep) {
    const ulong ke = min(kb + kstep, k);
    float s[TU];
    #pragma unroll
    for (int r = 0; r < TU; ++r) s[r] = quant ? scales[(yr[r] / bn) * sld + kb / bk] : 1.0f;
    for (ulong p = kb; p < ke; ++p) {
      float16 xv[NV];
      if (full) {
        #pragma unroll
        for (int q = 0; q < NV; ++q) xv[q] = load16(x, x0 + p * x_ks + q * 16, x_dt);
      } else {  // the last tile of an operand read in place
        #pragma unroll
        for (int q = 0; q < NV; ++q) {
          const ulong lanes = clamp(x_lanes, (ulong)(q * 16), (ulong)(q * 16 + 16)) - q * 16;
          xv[q] = load16_part(x, x0 + p * x_ks + q * 16, x_dt, lanes);
        }
      }
      #pragma unroll
      for (int r = 0; r < TU; ++r) {
        const float16 yv = (float16)(load1(y, yo[r] + p * y_ks, y_dt) * s[r]);
        #pragma unroll
        for (int q = 0; q < NV; ++q) acc[r][q] = fma(yv, xv[q], acc[r][q]);
      }
    }
  }
  const ulong vb = max(v0, vlo), ve = min(v0 + PANEL_W, vhi);
  #pragma unroll
  for (int r = 0; r < TU; ++r) {
    if (u0 + r >= U) break;
    #pragma unroll
    for (int q = 0; q < NV; ++q) {
      const float* lanes = (const float*)&acc[r][q];
      for (int l = 0; l < 16; ++l) {
        const ulong v = v0 + q * 16 + l;
        if (v >= vb && v < ve) put(c, (u0 + r) * c_us + v * c_vs, c_dt, lanes[l], alpha, beta);
      }
    }
  }
}

#endif  // DSHAL_GEMM_COMMON_H
