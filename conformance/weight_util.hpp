// Weights for the gemm-family conformance cases: W[groups][N][K] in the ABI's layout (plain,
// fp8 e4m3 with block scales, int4 with group scales), drawn, uploaded, decoded in fp64 without
// dshal's converters, and the fp64 row checks of C = alpha * A W^T + beta * C0.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "case_util.hpp"
#include "harness.hpp"

namespace dshal::conformance {

inline bool quantized(dshal_dtype t) { return t == FP8 || t == INT4; }

// The value of an OCP e4m3fn code (never NaN here: the generator avoids 0x7f / 0xff).
inline double fp8_value(uint8_t b) {
  const int e = (b >> 3) & 0xf, m = b & 7;
  const double mag = e == 0 ? std::ldexp(double(m), -9) : std::ldexp(double(8 + m), e - 10);
  return (b & 0x80) ? -mag : mag;
}

// Element i of a f32 / bf16 / f16 array, decoded without dshal's converters.
inline double plain_value(const std::byte* p, dshal_dtype t, uint64_t i) {
  if (t == F32) {
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  if (t == BF16) return std::bit_cast<float>(uint32_t(h) << 16);
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double mag = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(double(1024 + m), e - 25);
  return (h & 0x8000) ? -mag : mag;
}

// A weight W[groups][N][K] as the ABI lays it out, with its scales; row() dequantizes in fp64.
struct HostWeight {
  dshal_dtype t = F32;
  uint64_t groups = 1, n = 0, k = 0, ld = 0;
  uint32_t bn = 0, bk = 0;  // scale blocks (quantized types)
  uint64_t stride = 0;      // w_group_stride_bytes
  uint64_t sstride = 0;     // scales_group_stride_bytes
  std::vector<std::byte> bytes, scales;

  uint64_t scale_cols() const { return (k + bk - 1) / bk; }
  void row(uint64_t g, uint64_t r, std::vector<double>& out) const {
    out.resize(k);
    const std::byte* base = bytes.data() + g * stride;
    if (!quantized(t)) {
      for (uint64_t c = 0; c < k; ++c) out[c] = plain_value(base, t, r * ld + c);
      return;
    }
    const std::byte* sc = scales.data() + g * sstride + 4 * ((r / bn) * scale_cols());
    for (uint64_t c = 0; c < k; ++c) {
      float s;
      std::memcpy(&s, sc + 4 * (c / bk), 4);
      double q;
      if (t == FP8) {
        q = fp8_value(uint8_t(base[r * k + c]));
      } else {
        const uint8_t byte = uint8_t(base[(r * k + c) / 2]);
        const int nib = ((r * k + c) & 1) ? byte >> 4 : byte & 0xf;
        q = nib >= 8 ? nib - 16 : nib;
      }
      out[c] = q * double(s);
    }
  }
};

// Random weights from random_values(): plain types rounded to t; fp8 codes and int4 nibbles mapped
// from the same uniform draws; scales positive, around 2^-7 (DeepSeek's weight_scale_inv is ~1e-4..1e-2).
inline HostWeight make_weight(dshal_dtype t, uint64_t groups, uint64_t n, uint64_t k, uint64_t pad, uint32_t bn, uint32_t bk,
                       uint64_t seed) {
  HostWeight w;
  w.t = t;
  w.groups = groups;
  w.n = n;
  w.k = k;
  w.bn = bn;
  w.bk = bk;
  w.ld = quantized(t) ? k : k + pad;
  const uint64_t elem = t == F32 ? 4 : 2;
  const uint64_t group_bytes = t == FP8 ? n * k : t == INT4 ? n * k / 2 : n * w.ld * elem;
  w.stride = group_bytes + (groups > 1 ? 64 : 0);  // a gap between groups: the stride must be used
  w.bytes.assign(groups * w.stride, std::byte{0x5a});
  if (!quantized(t)) {
    for (uint64_t g = 0; g < groups; ++g) {
      const std::vector<float> v = random_values(n * w.ld, seed + g, t);
      const std::vector<std::byte> raw = encode(v, t);
      std::memcpy(w.bytes.data() + g * w.stride, raw.data(), raw.size());
    }
    return w;
  }
  for (uint64_t g = 0; g < groups; ++g) {
    const std::vector<float> v = random_values(n * k, seed + g);
    std::byte* base = w.bytes.data() + g * w.stride;
    if (t == FP8) {
      for (uint64_t i = 0; i < n * k; ++i) {
        uint8_t code = uint8_t(std::min(255.0f, std::floor((v[i] + 1.0f) * 128.0f)));
        if ((code & 0x7f) == 0x7f) code -= 1;  // 0x7f / 0xff are NaN: use +-448 instead
        base[i] = std::byte{code};
      }
    } else {
      std::fill(base, base + n * k / 2, std::byte{0});
      for (uint64_t i = 0; i < n * k; ++i) {
        const uint8_t nib = uint8_t(std::min(15.0f, std::floor((v[i] + 1.0f) * 8.0f)));  // [-8, 7] as 0..15 two's complement
        base[i / 2] |= std::byte(uint8_t(nib << ((i & 1) * 4)));
      }
    }
  }
  const uint64_t sn = (n + bn - 1) / bn, sk = (k + bk - 1) / bk;
  w.sstride = sn * sk * 4 + (groups > 1 ? 16 : 0);
  w.scales.assign(groups * w.sstride, std::byte{0});
  for (uint64_t g = 0; g < groups; ++g) {
    const std::vector<float> v = random_values(sn * sk, seed + 1000 + g);
    for (uint64_t i = 0; i < sn * sk; ++i) {
      const float s = (1.5f + v[i]) * 0x1p-7f;
      std::memcpy(w.scales.data() + g * w.sstride + 4 * i, &s, 4);
    }
  }
  return w;
}

struct DeviceWeight {
  Buffer data, scales;
};
inline DeviceWeight upload_weight(const std::string& id, const HostWeight& w) {
  DeviceWeight d;
  d.data = upload_bytes(id, w.bytes.data(), w.bytes.size());
  if (quantized(w.t)) d.scales = upload_bytes(id, w.scales.data(), w.scales.size());
  return d;
}
inline dshal_weight weight_desc(const HostWeight& w, const DeviceWeight& d) {
  dshal_weight x{};
  x.buffer = d.data.handle();
  x.dtype = w.t;
  x.ld = w.ld;
  if (quantized(w.t)) {
    x.scales = d.scales.handle();
    x.block_n = w.bn;
    x.block_k = w.bk;
  }
  return x;
}

// An output C[rows][ld] (the first n columns are the result) inside guard bytes, starting as c0.
struct Output {
  std::vector<float> c0;
  std::vector<std::byte> raw0;
  Guarded buf;
  Output(const std::string& id, uint64_t rows, uint64_t ld, dshal_dtype t, uint64_t seed)
      : c0(random_values(rows * ld, seed, t)), raw0(encode(c0, t)), buf(id, raw0.size()) {
    Status st = stream(id).copy_h2d(raw0.data(), buf.buffer(), buf.offset(), raw0.size());
    if (st.ok()) st = stream(id).synchronize();
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
};

// rows 0, ..., m-1, or `want` of them spread evenly (first and last included).
inline std::vector<uint64_t> sample_rows(uint64_t m, uint64_t want) {
  std::vector<uint64_t> rows;
  if (want == 0 || want >= m) {
    for (uint64_t r = 0; r < m; ++r) rows.push_back(r);
  } else {
    for (uint64_t r = 0; r < want; ++r) rows.push_back(want == 1 ? 0 : r * (m - 1) / (want - 1));
  }
  return rows;
}

// Checks C rows against alpha * A W_g^T + beta * C0 in fp64 (a holds A's values, row stride lda);
// rows lists the (row of C, group g) pairs to check.
inline void check_rows(const std::vector<float>& a, uint64_t lda, const HostWeight& w,
                const std::vector<std::pair<uint64_t, uint64_t>>& rows, float alpha, float beta,
                const std::vector<float>& c0, const std::vector<float>& c, uint64_t ldc, dshal_dtype ct,
                const std::string& what) {
  std::vector<double> ref, bound, wrow;
  std::vector<float> got;
  ref.reserve(rows.size() * w.n);
  std::vector<double> s(rows.size() * w.n), mag(rows.size() * w.n);
  // Weight rows outer (decoded once), A rows inner.
  for (uint64_t g = 0; g < w.groups; ++g) {
    bool any = false;
    for (auto& [r, rg] : rows) any |= rg == g;
    if (!any) continue;
    for (uint64_t j = 0; j < w.n; ++j) {
      w.row(g, j, wrow);
      for (size_t x = 0; x < rows.size(); ++x) {
        if (rows[x].second != g) continue;
        const float* ar = a.data() + rows[x].first * lda;
        double acc = 0, m = 0;
        for (uint64_t p = 0; p < w.k; ++p) {
          const double t = double(ar[p]) * wrow[p];
          acc += t;
          m += std::fabs(t);
        }
        s[x * w.n + j] = acc;
        mag[x * w.n + j] = m;
      }
    }
  }
  for (size_t x = 0; x < rows.size(); ++x) {
    for (uint64_t j = 0; j < w.n; ++j) {
      const double cv = c0[rows[x].first * ldc + j];
      const double r = alpha * s[x * w.n + j] + (beta != 0 ? beta * cv : 0.0);
      const double m = std::fabs(alpha) * mag[x * w.n + j] + (beta != 0 ? std::fabs(beta * cv) : 0.0);
      ref.push_back(r);
      bound.push_back(dot_bound(w.k, m, r, ct));
      got.push_back(c[rows[x].first * ldc + j]);
    }
  }
  expect_within(compare(ref, got, bound), what);
}

// Bytes of C that must be as they were: whole rows in [0, m) \ written, and padding columns of every row.
inline void expect_untouched(const std::vector<float>& c0, const std::vector<float>& c, uint64_t m, uint64_t n, uint64_t ldc,
                      const std::vector<bool>& written) {
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = written[i] ? n : 0; j < ldc; ++j) {
      const float want = c0[i * ldc + j], have = c[i * ldc + j];
      ASSERT_TRUE(same_bits(want, have))
          << (written[i] ? "padding of C row " : "C row outside [offsets[0], offsets[groups]) ") << i << " col " << j
          << " was written: " << want << " -> " << have;
    }
}

}  // namespace dshal::conformance
