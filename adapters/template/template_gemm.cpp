// adapters/template/template_gemm.cpp: the one mandatory compute op, as plain loops. A port calls its
// vendor BLAS / kernel here; the contract details that catch ports out are listed at gemm() below.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "template.hpp"

namespace dshal_template {
namespace {

// ---- f16 / bf16 conversions, round-to-nearest-even ---------------------------------------------

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float bf16_to_f32(uint16_t h) { return float_of(uint32_t(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // NaN stays NaN (quiet)
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // ties to the even upper half
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in f32
    const float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return float_of(sign | 0x7f800000u | (mantissa << 13));  // inf / NaN
  return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));         // rebias 15 -> 127
}

// Rounds the integer q + remainder / 2^shift to the nearest, ties to even.
uint32_t round_shifted(uint32_t value, uint32_t shift) {
  const uint32_t q = value >> shift, remainder = value & ((1u << shift) - 1), half = 1u << (shift - 1);
  return q + ((remainder > half || (remainder == half && (q & 1u))) ? 1u : 0u);
}

uint16_t f32_to_f16(float f) {
  const uint32_t u = bits_of(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t x = u & 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past 65504: infinity
  if (x < 0x33000000u) return sign;             // <= 2^-25 rounds to zero (2^-25 ties to even 0)
  if (x < 0x38800000u) {                        // below 2^-14: an f16 subnormal, units of 2^-24
    const uint32_t exponent = x >> 23, mantissa = (x & 0x7fffffu) | 0x800000u;
    return sign | uint16_t(round_shifted(mantissa, 126 - exponent));  // may round up to the smallest normal
  }
  // Normal: rebias 127 -> 15 and drop 13 mantissa bits; a carry into the exponent is still correct.
  return sign | uint16_t(round_shifted(x - 0x38000000u, 13));
}

// ---- element access ----------------------------------------------------------------------------

float load(dshal_dtype dtype, const std::byte* base, uint64_t index) {
  switch (dtype) {
    case DSHAL_DTYPE_F16: {
      uint16_t h;
      std::memcpy(&h, base + 2 * index, 2);
      return f16_to_f32(h);
    }
    case DSHAL_DTYPE_BF16: {
      uint16_t h;
      std::memcpy(&h, base + 2 * index, 2);
      return bf16_to_f32(h);
    }
    default: {  // F32: gemm_dtypes admits nothing else, and hal checks
      float f;
      std::memcpy(&f, base + 4 * index, 4);
      return f;
    }
  }
}

void store(dshal_dtype dtype, std::byte* base, uint64_t index, float value) {
  switch (dtype) {
    case DSHAL_DTYPE_F16: {
      const uint16_t h = f32_to_f16(value);
      std::memcpy(base + 2 * index, &h, 2);
      return;
    }
    case DSHAL_DTYPE_BF16: {
      const uint16_t h = f32_to_bf16(value);
      std::memcpy(base + 2 * index, &h, 2);
      return;
    }
    default:
      std::memcpy(base + 4 * index, &value, 4);
  }
}

// ---- the loops ---------------------------------------------------------------------------------

// Columns of C computed together: op(B)'s K x kColumnBlock slice stays in cache across all rows.
constexpr uint64_t kColumnBlock = 256;

// One matrix of the batch. op(A) and op(B) are first widened to f32 in plain row-major layouts
// (M x K and K x N), which takes care of transposes, leading dimensions and mixed input types in
// one place; the product then runs over contiguous f32 with an f32 accumulator per element of C.
void gemm_one(const dshal_gemm_desc& d, uint64_t b) {
  const uint64_t m = d.m, n = d.n, k = d.k;
  const std::byte* a_base = d.a.buffer->data + d.a.offset;
  const std::byte* b_base = d.b.buffer->data + d.b.offset;
  std::byte* c_base = d.c.buffer->data + d.c.offset;
  const uint64_t a0 = b * d.a.batch_stride, b0 = b * d.b.batch_stride, c0 = b * d.c.batch_stride;
  const bool reads_ab = d.alpha != 0 && k > 0;  // alpha == 0: A and B are not read, as in BLAS

  std::vector<float> a, bt;
  if (reads_ab) {
    a.resize(m * k);
    bt.resize(k * n);
    for (uint64_t i = 0; i < m; ++i)
      for (uint64_t p = 0; p < k; ++p)
        a[i * k + p] = load(d.a.dtype, a_base, a0 + (d.trans_a ? p * d.a.ld + i : i * d.a.ld + p));
    for (uint64_t p = 0; p < k; ++p)
      for (uint64_t j = 0; j < n; ++j)
        bt[p * n + j] = load(d.b.dtype, b_base, b0 + (d.trans_b ? j * d.b.ld + p : p * d.b.ld + j));
  }

  std::vector<float> acc(std::min(n, kColumnBlock));
  for (uint64_t j0 = 0; j0 < n; j0 += kColumnBlock) {
    const uint64_t width = std::min(kColumnBlock, n - j0);
    for (uint64_t i = 0; i < m; ++i) {
      std::fill(acc.begin(), acc.begin() + width, 0.0f);
      if (reads_ab)
        for (uint64_t p = 0; p < k; ++p) {
          const float aip = a[i * k + p];
          const float* row = &bt[p * n + j0];
          for (uint64_t j = 0; j < width; ++j) acc[j] += aip * row[j];  // vectorizes: no reduction
        }
      for (uint64_t j = 0; j < width; ++j) {
        const uint64_t ci = c0 + i * d.c.ld + j0 + j;
        float value = reads_ab ? d.alpha * acc[j] : 0.0f;
        if (d.beta != 0) value += d.beta * load(d.c.dtype, c_base, ci);  // beta == 0: C is not read (may be NaN)
        store(d.c.dtype, c_base, ci, value);
      }
    }
  }
}

}  // namespace

// Async on stream. hal has checked shapes, leading dimensions, dtypes and that every matrix fits its
// buffer; the descriptor is copied because the caller's copy is only valid during the call. The
// rules a port must keep (the conformance suite checks each):
//   - accumulate in f32 whatever the input types; round f16 / bf16 outputs to nearest even;
//   - beta == 0 must not read C (it may hold NaN); alpha == 0 must not read A or B;
//   - K == 0 gives C = beta * C; M, N or batch == 0 does nothing;
//   - batch_stride 0 broadcasts A or B; the Cs of a batch may sit side by side in one row.
dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* desc) {
  return guarded("gemm", [&] {
    const dshal_gemm_desc d = *desc;
    stream->enqueue([d] {
      for (uint64_t b = 0; b < d.batch; ++b) gemm_one(d, b);
      return WorkResult{};
    });
    return DSHAL_OK;
  });
}

}  // namespace dshal_template
