// Host GEMM family against an fp64 reference computed from the same (already rounded) inputs, on
// the portable kernels and on the AVX-512 kernels when the CPU has them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/dtype.hpp"
#include "host/gemm/gemm_internal.hpp"
#include "host/kernels.hpp"

namespace dshal::host {
namespace {

constexpr dshal_dtype F32 = DSHAL_DTYPE_F32, F16 = DSHAL_DTYPE_F16, BF16 = DSHAL_DTYPE_BF16;
constexpr dshal_dtype FP8 = DSHAL_DTYPE_FP8_E4M3, INT4 = DSHAL_DTYPE_INT4;
constexpr double kU = 0x1p-24;

// A host buffer with the operand at a non-zero byte offset and random bytes around it.
struct Mem {
  std::vector<uint8_t> bytes;
  HostBuffer hb;
  uint64_t offset = 0;
  Mem() = default;
  Mem(uint64_t payload_bytes, std::mt19937& rng, uint64_t off = 64) : bytes(payload_bytes + off + 64), offset(off) {
    for (auto& b : bytes) b = uint8_t(rng());
    hb.data = bytes.data();
    hb.size = bytes.size();
  }
  Mem(const Mem&) = delete;
  Mem& operator=(const Mem&) = delete;
  Mem(Mem&&) = default;  // the vector's storage (and so hb.data) moves along
  Mem& operator=(Mem&&) = default;
  dshal_buffer handle() { return as_handle(&hb); }
  void* base() { return bytes.data() + offset; }
};

float rnd(std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  return std::uniform_real_distribution<float>(lo, hi)(rng);
}

// Fills element idx with a random value representable in t.
void put_random(void* base, dshal_dtype t, uint64_t idx, std::mt19937& rng) {
  if (t == INT4) {
    uint8_t* p = static_cast<uint8_t*>(base) + idx / 2;
    const int v = int(rng() % 16);  // [-8, 7] after sign extension
    *p = uint8_t((idx & 1) ? (*p & 0x0f) | (v << 4) : (*p & 0xf0) | v);
    return;
  }
  store_f32(base, t, idx, rnd(rng, t == FP8 ? -300.0f : -1.0f, t == FP8 ? 300.0f : 1.0f));
}

double get(const void* base, dshal_dtype t, uint64_t idx) { return double(load_f32(base, t, idx)); }

double out_unit(dshal_dtype t) { return t == BF16 ? 0x1p-8 : t == F16 ? 0x1p-11 : 0.0; }

struct Checker {
  int bad = 0;
  std::string first;
  void check(double got, double ref, double tol, const std::string& where) {
    const bool ok = std::isfinite(ref) ? std::fabs(got - ref) <= tol : std::isnan(ref) == std::isnan(got);
    if (!ok && bad++ == 0) first = where + ": got " + std::to_string(got) + ", want " + std::to_string(ref) + " +- " + std::to_string(tol);
  }
};

class GemmTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!GetParam() && !gemm_detail::avx512_isa()) GTEST_SKIP() << "no AVX-512 on this CPU";
    gemm_detail::set_force_portable(GetParam());
  }
  void TearDown() override { gemm_detail::set_force_portable(false); }
  std::mt19937 rng{1234};
};

struct GemmCase {
  uint64_t m, n, k;
  dshal_dtype ta = F32, tb = F32, tc = F32;
  bool trans_a = false, trans_b = true;
  float alpha = 1.0f, beta = 0.0f;
  uint64_t batch = 1;
  uint64_t pad_a = 0, pad_b = 0, pad_c = 0;  // ld - minimum
  uint64_t gap = 0;                          // extra elements between batches
};

std::string describe(const GemmCase& t) {
  return std::to_string(t.m) + "x" + std::to_string(t.n) + "x" + std::to_string(t.k) + " a=" + dtype_name(t.ta) +
         " b=" + dtype_name(t.tb) + " c=" + dtype_name(t.tc) + " ta=" + std::to_string(t.trans_a) +
         " tb=" + std::to_string(t.trans_b) + " alpha=" + std::to_string(t.alpha) + " beta=" + std::to_string(t.beta) +
         " batch=" + std::to_string(t.batch);
}

// Runs one gemm and checks every element of C against fp64, and every byte around C.
void run_gemm_case(const GemmCase& t, std::mt19937& rng) {
  SCOPED_TRACE(describe(t));
  const uint64_t ar = t.trans_a ? t.k : t.m, ac = t.trans_a ? t.m : t.k;
  const uint64_t br = t.trans_b ? t.n : t.k, bc = t.trans_b ? t.k : t.n;
  const uint64_t lda = ac + t.pad_a, ldb = bc + t.pad_b, ldc = t.n + t.pad_c;
  const uint64_t sa = ar * lda + t.gap, sb = br * ldb + t.gap, sc = t.m * ldc + t.gap;
  Mem A(storage_bytes(t.ta, sa * t.batch), rng), B(storage_bytes(t.tb, sb * t.batch), rng);
  Mem C(storage_bytes(t.tc, sc * t.batch), rng, 128);
  for (uint64_t i = 0; i < sa * t.batch; ++i) put_random(A.base(), t.ta, i, rng);
  for (uint64_t i = 0; i < sb * t.batch; ++i) put_random(B.base(), t.tb, i, rng);
  for (uint64_t i = 0; i < sc * t.batch; ++i) put_random(C.base(), t.tc, i, rng);
  if (t.beta == 0.0f)  // beta == 0 must not read C: NaN everywhere in C
    for (uint64_t b = 0; b < t.batch; ++b)
      for (uint64_t i = 0; i < t.m; ++i)
        for (uint64_t j = 0; j < t.n; ++j) store_f32(C.base(), t.tc, b * sc + i * ldc + j, NAN);
  const std::vector<uint8_t> before = C.bytes;

  dshal_gemm_desc d{};
  d.struct_size = sizeof d;
  d.trans_a = t.trans_a;
  d.trans_b = t.trans_b;
  d.m = t.m;
  d.n = t.n;
  d.k = t.k;
  d.batch = t.batch;
  d.alpha = t.alpha;
  d.beta = t.beta;
  d.a = {A.handle(), A.offset, t.ta, lda, sa};
  d.b = {B.handle(), B.offset, t.tb, ldb, sb};
  d.c = {C.handle(), C.offset, t.tc, ldc, sc};
  std::string err;
  ASSERT_EQ(gemm(d, &err), DSHAL_OK) << err;

  Checker chk;
  std::vector<bool> written(C.bytes.size(), false);
  const uint32_t csz = dtype_bytes(t.tc);
  for (uint64_t b = 0; b < t.batch; ++b)
    for (uint64_t i = 0; i < t.m; ++i)
      for (uint64_t j = 0; j < t.n; ++j) {
        double s = 0, sabs = 0;
        for (uint64_t k = 0; k < t.k; ++k) {
          const double x = get(A.base(), t.ta, b * sa + (t.trans_a ? k * lda + i : i * lda + k));
          const double y = get(B.base(), t.tb, b * sb + (t.trans_b ? j * ldb + k : k * ldb + j));
          s += x * y;
          sabs += std::fabs(x * y);
        }
        const uint64_t ci = b * sc + i * ldc + j;
        double cold = 0;
        if (t.beta != 0.0f) {
          float f;
          std::vector<uint8_t> tmp(before.begin() + long(C.offset + ci * csz), before.begin() + long(C.offset + ci * csz + csz));
          f = load_f32(tmp.data(), t.tc, 0);
          cold = f;
        }
        const double ref = double(t.alpha) * s + double(t.beta) * cold;
        const double tol = 4.0 * double(std::max<uint64_t>(t.k, 1)) * kU * (std::fabs(t.alpha) * sabs + std::fabs(t.beta * cold)) +
                           out_unit(t.tc) * std::fabs(ref) + 1e-30;
        chk.check(get(C.base(), t.tc, ci), ref, tol,
                  "C[" + std::to_string(b) + "][" + std::to_string(i) + "][" + std::to_string(j) + "]");
        for (uint32_t x = 0; x < csz; ++x) written[C.offset + ci * csz + x] = true;
      }
  EXPECT_EQ(chk.bad, 0) << chk.first;
  size_t touched = 0;
  for (size_t i = 0; i < C.bytes.size(); ++i)
    if (!written[i] && C.bytes[i] != before[i]) ++touched;
  EXPECT_EQ(touched, 0u) << "bytes outside C changed";
}

TEST_P(GemmTest, EveryDtypeComboAndTranspose) {
  const dshal_dtype types[] = {F32, F16, BF16};
  const uint64_t shapes[][3] = {{7, 13, 29}, {1, 1, 1}, {19, 35, 40}, {3, 70, 33}, {18, 5, 1}};
  int variant = 0;
  for (dshal_dtype ta : types)
    for (dshal_dtype tb : types)
      for (dshal_dtype tc : types)
        for (int tr = 0; tr < 4; ++tr)
          for (const auto& s : shapes) {
            GemmCase t{s[0], s[1], s[2], ta, tb, tc, bool(tr & 1), bool(tr & 2)};
            ++variant;
            t.alpha = variant % 3 == 0 ? -0.75f : 1.0f;
            t.beta = variant % 2 == 0 ? 0.0f : 0.5f;
            run_gemm_case(t, rng);
          }
}

// Edge tiles of every micro-kernel dimension on the packed-panel path (12 x 32 tiles, k blocks of
// 384 f32 / 768 bf16, portable 4 x 16): trans_b = 0 from M = 17, trans_b = 1 above 256 rows.
TEST_P(GemmTest, BlockedEdgeTiles) {
  const uint64_t ms[] = {17, 24, 25, 37}, ns[] = {15, 31, 32, 33, 65}, ks[] = {1, 17, 385, 769};
  for (dshal_dtype t : {F32, BF16})
    for (uint64_t m : ms)
      for (uint64_t n : ns)
        for (uint64_t k : ks) {
          GemmCase g{m, n, k, t, t, F32, (m + n + k) % 2 == 1, false};
          g.beta = (n % 2) ? 0.0f : -1.25f;
          run_gemm_case(g, rng);
        }
  for (dshal_dtype t : {F32, BF16})
    for (uint64_t n : {33u, 65u})
      for (uint64_t k : {17u, 769u})
        for (int tr = 0; tr < 4; ++tr) {
          GemmCase g{269, n, k, t, t, tr == 3 ? BF16 : F32, bool(tr & 1), bool(tr & 2)};
          g.beta = (tr % 2) ? 0.0f : 0.5f;
          run_gemm_case(g, rng);
        }
}

// Edge tiles of the streamed-weight path (trans_b = 1, 16 < M <= 256): 12-row weight panels,
// 32-row A^T panels, transposed C tiles.
TEST_P(GemmTest, StreamedWeightEdgeTiles) {
  const uint64_t ms[] = {17, 31, 32, 33, 65, 256}, ns[] = {11, 12, 13, 25}, ks[] = {1, 17, 385, 769};
  int v = 0;
  for (dshal_dtype t : {F32, BF16})
    for (uint64_t m : ms)
      for (uint64_t n : ns)
        for (uint64_t k : ks) {
          if (m == 256 && k > 17) continue;
          ++v;
          GemmCase g{m, n, k, t, t, v % 5 == 0 ? BF16 : F32, v % 3 == 0, true};
          g.beta = v % 2 ? 0.0f : 0.75f;
          g.pad_c = v % 4;
          run_gemm_case(g, rng);
        }
}

// Small-M (GEMV-style) path: every M up to 16, weight-row groups of 4 and K chunks of 1024.
TEST_P(GemmTest, SmallM) {
  const uint64_t ns[] = {1, 3, 4, 5, 17}, ks[] = {1, 15, 16, 33, 1025, 2100};
  const std::pair<dshal_dtype, dshal_dtype> types[] = {{F32, F32}, {BF16, BF16}, {F32, BF16}, {F16, F16}, {BF16, F32}};
  int v = 0;
  for (uint64_t m = 1; m <= 16; ++m)
    for (uint64_t n : ns)
      for (uint64_t k : ks) {
        const auto [ta, tb] = types[v++ % 5];
        GemmCase g{m, n, k, ta, tb, v % 3 == 0 ? BF16 : F32, v % 7 == 0, true};
        g.beta = v % 2 ? 0.0f : 0.5f;
        g.pad_a = v % 3;
        g.pad_b = v % 5;
        run_gemm_case(g, rng);
      }
}

TEST_P(GemmTest, LeadingDimensionsAndBatches) {
  for (dshal_dtype t : {F32, BF16, F16})
    for (int tr = 0; tr < 4; ++tr)
      for (uint64_t m : {1u, 5u, 20u}) {
        GemmCase g{m, 37, 45, t, t, t, bool(tr & 1), bool(tr & 2), 1.5f, 0.25f, 3, 3, 5, 7, 11};
        run_gemm_case(g, rng);
        g.beta = 0.0f;
        g.batch = 2;
        run_gemm_case(g, rng);
      }
}

TEST_P(GemmTest, LargerThreadedShapes) {
  // Several column blocks and k blocks, both kernels, the model's layout (trans_b = 1).
  run_gemm_case(GemmCase{70, 1100, 800, F32, F32, F32, false, true, 1.0f, 0.0f}, rng);
  run_gemm_case(GemmCase{70, 1100, 1600, BF16, BF16, F32, false, true, 1.0f, 1.0f}, rng);
  run_gemm_case(GemmCase{130, 300, 500, BF16, BF16, BF16, true, false, 2.0f, 0.0f}, rng);
  run_gemm_case(GemmCase{64, 64, 64, F16, BF16, F16, false, false, 1.0f, 0.0f, 40}, rng);  // batch-parallel
}

TEST_P(GemmTest, DegenerateSizes) {
  // K == 0: C = beta * C; beta == 0 overwrites NaN. A and B are never touched (null buffers).
  for (float beta : {0.0f, 2.0f})
    for (dshal_dtype tc : {F32, BF16}) {
      Mem C(storage_bytes(tc, 6 * 5), rng);
      for (int i = 0; i < 30; ++i) store_f32(C.base(), tc, i, i % 4 == 0 && beta == 0 ? NAN : float(i));
      dshal_gemm_desc d{};
      d.struct_size = sizeof d;
      d.m = 6;
      d.n = 5;
      d.k = 0;
      d.batch = 1;
      d.alpha = 1;
      d.beta = beta;
      d.a.dtype = d.b.dtype = F32;
      d.c = {C.handle(), C.offset, tc, 5, 0};
      ASSERT_EQ(gemm(d, nullptr), DSHAL_OK);
      for (int i = 0; i < 30; ++i) EXPECT_EQ(load_f32(C.base(), tc, i), beta == 0 ? 0.0f : beta * float(i));
      // M, N or batch == 0: nothing is written.
      const std::vector<uint8_t> before = C.bytes;
      for (int which = 0; which < 3; ++which) {
        dshal_gemm_desc e = d;
        e.k = 4;
        (which == 0 ? e.m : which == 1 ? e.n : e.batch) = 0;
        ASSERT_EQ(gemm(e, nullptr), DSHAL_OK);
        EXPECT_EQ(C.bytes, before);
      }
    }
  // alpha == 0 on a real product: C = beta * C.
  GemmCase g{20, 20, 20, F32, F32, F32, false, true, 0.0f, 0.5f};
  run_gemm_case(g, rng);
  g.beta = 0.0f;
  run_gemm_case(g, rng);
}

// ---- quantized weights --------------------------------------------------------------------------

struct WeightData {
  Mem w, scales;
  dshal_weight desc{};
  uint64_t group_stride = 0, scales_stride = 0;
  uint64_t n = 0, k = 0;
  // Dequantized W[g][n][k] in fp64.
  double value(uint64_t g, uint64_t r, uint64_t c) const {
    const void* wb = w.bytes.data() + w.offset + g * group_stride;
    const uint64_t idx = desc.dtype == FP8 || desc.dtype == INT4 ? r * k + c : r * desc.ld + c;
    double v = double(load_f32(wb, desc.dtype, idx));
    if (desc.dtype == FP8 || desc.dtype == INT4) {
      const uint64_t sld = (k + desc.block_k - 1) / desc.block_k;
      const float* s = reinterpret_cast<const float*>(scales.bytes.data() + scales.offset + g * scales_stride);
      v *= double(s[(r / desc.block_n) * sld + c / desc.block_k]);
    }
    return v;
  }
};

void make_weight(WeightData& wd, dshal_dtype t, uint64_t groups, uint64_t n, uint64_t k, uint32_t bn, uint32_t bk,
                 std::mt19937& rng) {
  wd.n = n;
  wd.k = k;
  const bool quant = t == FP8 || t == INT4;
  const uint64_t ld = quant ? k : k + 3;
  const uint64_t per = storage_bytes(t, n * ld);
  wd.group_stride = (per + 100) / 4 * 4;  // padding between groups
  wd.w = Mem(wd.group_stride * groups, rng);
  for (uint64_t g = 0; g < groups; ++g) {
    uint8_t* base = static_cast<uint8_t*>(wd.w.base()) + g * wd.group_stride;
    for (uint64_t i = 0; i < n * ld; ++i) put_random(base, t, i, rng);
  }
  wd.desc = {wd.w.handle(), wd.w.offset, t, ld, nullptr, 0, 1, 1};
  if (quant) {
    const uint64_t count = ((n + bn - 1) / bn) * ((k + bk - 1) / bk);
    wd.scales_stride = count * 4 + 36;
    wd.scales = Mem(wd.scales_stride * groups, rng);
    for (uint64_t g = 0; g < groups; ++g) {
      float* s = reinterpret_cast<float*>(static_cast<uint8_t*>(wd.scales.base()) + g * wd.scales_stride);
      for (uint64_t i = 0; i < count; ++i) s[i] = rnd(rng, 0.001f, 0.02f);
    }
    wd.desc.scales = wd.scales.handle();
    wd.desc.scales_offset = wd.scales.offset;
    wd.desc.block_n = bn;
    wd.desc.block_k = bk;
  }
}

struct ActData {
  Mem a, c;
  dshal_matrix am{}, cm{};
  std::vector<uint8_t> c_before;
};

void make_act(ActData& x, dshal_dtype ta, dshal_dtype tc, uint64_t m, uint64_t n, uint64_t k, bool nan_c,
              std::mt19937& rng) {
  const uint64_t lda = k + 2, ldc = n + 1;
  x.a = Mem(storage_bytes(ta, m * lda), rng);
  x.c = Mem(storage_bytes(tc, m * ldc), rng);
  for (uint64_t i = 0; i < m * lda; ++i) put_random(x.a.base(), ta, i, rng);
  for (uint64_t i = 0; i < m * ldc; ++i) store_f32(x.c.base(), tc, i, nan_c ? NAN : rnd(rng));
  x.am = {x.a.handle(), x.a.offset, ta, lda, 0};
  x.cm = {x.c.handle(), x.c.offset, tc, ldc, 0};
  x.c_before = x.c.bytes;
}

// Checks rows [r0, r1) of C = alpha * A * W_g^T + beta * C_old (per row group) and that other
// rows / gaps are untouched.
void check_rows(ActData& x, const WeightData& wd, const std::vector<std::pair<uint64_t, uint64_t>>& groups_rows,
                float alpha, float beta, const std::string& what) {
  const uint64_t n = wd.n, k = wd.k, ldc = x.cm.ld, lda = x.am.ld;
  const dshal_dtype tc = x.cm.dtype, ta = x.am.dtype;
  const uint32_t csz = dtype_bytes(tc);
  std::vector<bool> written(x.c.bytes.size(), false);
  Checker chk;
  for (uint64_t g = 0; g < groups_rows.size(); ++g)
    for (uint64_t r = groups_rows[g].first; r < groups_rows[g].second; ++r)
      for (uint64_t j = 0; j < n; ++j) {
        double s = 0, sabs = 0;
        for (uint64_t kk = 0; kk < k; ++kk) {
          const double p = get(x.a.base(), ta, r * lda + kk) * wd.value(g, j, kk);
          s += p;
          sabs += std::fabs(p);
        }
        const uint64_t ci = r * ldc + j;
        const double cold = beta != 0 ? double(load_f32(x.c_before.data() + x.c.offset, tc, ci)) : 0.0;
        const double ref = double(alpha) * s + double(beta) * cold;
        const double tol = 4.0 * double(std::max<uint64_t>(k, 1)) * kU * (std::fabs(alpha) * sabs + std::fabs(beta * cold)) +
                           out_unit(tc) * std::fabs(ref) + 1e-30;
        chk.check(get(x.c.base(), tc, ci), ref, tol, what + " C[" + std::to_string(r) + "][" + std::to_string(j) + "]");
        for (uint32_t b = 0; b < csz; ++b) written[x.c.offset + ci * csz + b] = true;
      }
  EXPECT_EQ(chk.bad, 0) << chk.first;
  size_t touched = 0;
  for (size_t i = 0; i < x.c.bytes.size(); ++i)
    if (!written[i] && x.c.bytes[i] != x.c_before[i]) ++touched;
  EXPECT_EQ(touched, 0u) << what << ": bytes outside the written rows changed";
}

void run_quant(dshal_dtype wt, uint64_t m, uint64_t n, uint64_t k, uint32_t bn, uint32_t bk, dshal_dtype ta,
               dshal_dtype tc, float alpha, float beta, std::mt19937& rng) {
  const std::string what = std::string("gemm_quant w=") + dtype_name(wt) + " " + std::to_string(m) + "x" +
                           std::to_string(n) + "x" + std::to_string(k) + " block " + std::to_string(bn) + "x" +
                           std::to_string(bk) + " a=" + dtype_name(ta) + " c=" + dtype_name(tc);
  SCOPED_TRACE(what);
  WeightData wd;
  make_weight(wd, wt, 1, n, k, bn, bk, rng);
  ActData x;
  make_act(x, ta, tc, m, n, k, beta == 0.0f, rng);
  dshal_gemm_quant_desc d{};
  d.struct_size = sizeof d;
  d.m = m;
  d.n = n;
  d.k = k;
  d.alpha = alpha;
  d.beta = beta;
  d.a = x.am;
  d.w = wd.desc;
  d.c = x.cm;
  std::string err;
  ASSERT_EQ(gemm_quant(d, &err), DSHAL_OK) << err;
  check_rows(x, wd, {{0, m}}, alpha, beta, what);
}

TEST_P(GemmTest, QuantFp8PartialBlocks) {
  for (uint64_t m : {1u, 5u, 16u, 17u, 40u})
    for (dshal_dtype ta : {F32, BF16, F16})
      run_quant(FP8, m, 320, 200, 128, 128, ta, m % 2 ? F32 : BF16, 1.0f, m == 5 ? 0.5f : 0.0f, rng);
  run_quant(FP8, 3, 50, 70, 16, 24, F32, F32, 2.0f, 0.0f, rng);  // blocks not aligned to 16
  run_quant(FP8, 40, 50, 70, 16, 24, F32, F32, 2.0f, 0.0f, rng);
  run_quant(FP8, 270, 136, 200, 128, 128, BF16, F32, 1.0f, 0.5f, rng);  // packed-panel path
}

TEST_P(GemmTest, QuantInt4Groups) {
  for (uint32_t group : {32u, 64u})
    for (uint64_t m : {1u, 3u, 16u, 33u})
      for (dshal_dtype ta : {F32, BF16})
        run_quant(INT4, m, 70, 200, 1, group, ta, m == 3 ? F16 : F32, 1.0f, m == 16 ? -1.0f : 0.0f, rng);
  run_quant(INT4, 2, 9, 22, 1, 6, F32, F32, 1.0f, 0.0f, rng);  // groups straddling 16-element chunks
  run_quant(INT4, 20, 9, 22, 1, 6, F32, F32, 1.0f, 0.0f, rng);
  run_quant(INT4, 260, 40, 128, 1, 64, F32, BF16, 1.0f, 0.0f, rng);  // packed-panel path
}

void run_grouped(dshal_dtype wt, dshal_dtype ta, dshal_dtype tc, const std::vector<int32_t>& offsets, uint64_t m,
                 uint64_t n, uint64_t k, std::mt19937& rng) {
  const std::string what = std::string("grouped w=") + dtype_name(wt) + " a=" + dtype_name(ta) + " c=" + dtype_name(tc) +
                           " n=" + std::to_string(n) + " k=" + std::to_string(k);
  SCOPED_TRACE(what);
  const uint64_t groups = offsets.size() - 1;
  WeightData wd;
  make_weight(wd, wt, groups, n, k, wt == FP8 ? 128 : 1, wt == FP8 ? 128 : 32, rng);
  ActData x;
  make_act(x, ta, tc, m, n, k, false, rng);
  Mem off(offsets.size() * 4, rng);
  std::memcpy(off.base(), offsets.data(), offsets.size() * 4);
  dshal_grouped_gemm_desc d{};
  d.struct_size = sizeof d;
  d.groups = groups;
  d.m = m;
  d.n = n;
  d.k = k;
  d.a = x.am;
  d.w = wd.desc;
  d.w_group_stride_bytes = wd.group_stride;
  d.scales_group_stride_bytes = wd.scales_stride;
  d.offsets = {off.handle(), off.offset};
  d.c = x.cm;
  std::string err;
  ASSERT_EQ(grouped_gemm(d, &err), DSHAL_OK) << err;
  std::vector<std::pair<uint64_t, uint64_t>> rows;
  for (uint64_t g = 0; g < groups; ++g) rows.emplace_back(uint64_t(offsets[g]), uint64_t(offsets[g + 1]));
  check_rows(x, wd, rows, 1.0f, 0.0f, what);
}

TEST_P(GemmTest, GroupedEveryWeightDtype) {
  // Groups of 0, 1, 3 and 20 rows (20 takes the blocked path); rows 0-1 and the last 3 belong to no
  // group and must not be written.
  const std::vector<int32_t> offsets = {2, 2, 3, 23, 23, 26, 26};
  for (dshal_dtype wt : {F32, F16, BF16, FP8, INT4})
    for (dshal_dtype ta : {F32, BF16}) run_grouped(wt, ta, wt == F16 ? F16 : F32, offsets, 29, 136, 200, rng);
  run_grouped(BF16, BF16, BF16, {0, 1, 1, 40}, 40, 70, 1000, rng);
}

TEST_P(GemmTest, GroupedBadOffsets) {
  WeightData wd;
  make_weight(wd, F32, 2, 4, 8, 1, 1, rng);
  ActData x;
  make_act(x, F32, F32, 5, 4, 8, false, rng);
  for (const std::vector<int32_t>& offsets :
       {std::vector<int32_t>{0, 3, 2}, std::vector<int32_t>{-1, 2, 3}, std::vector<int32_t>{0, 2, 6}}) {
    Mem off(12, rng);
    std::memcpy(off.base(), offsets.data(), 12);
    dshal_grouped_gemm_desc d{};
    d.struct_size = sizeof d;
    d.groups = 2;
    d.m = 5;
    d.n = 4;
    d.k = 8;
    d.a = x.am;
    d.w = wd.desc;
    d.w_group_stride_bytes = wd.group_stride;
    d.offsets = {off.handle(), off.offset};
    d.c = x.cm;
    std::string err;
    EXPECT_EQ(grouped_gemm(d, &err), DSHAL_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(err.find("offsets["), std::string::npos) << err;
    EXPECT_EQ(x.c.bytes, x.c_before);
  }
}

// Several host threads calling gemm at once (as the cpu backend's streams do) share the scratch
// pool and TBB's workers.
TEST_P(GemmTest, ConcurrentCallers) {
  std::vector<std::thread> threads;
  std::vector<std::mt19937> rngs;
  for (int t = 0; t < 4; ++t) rngs.emplace_back(100 + t);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &rngs] {
      const uint64_t m[] = {3, 40, 300, 64};
      run_gemm_case(GemmCase{m[t], 70, 200, t % 2 ? BF16 : F32, t % 2 ? BF16 : F32, F32, false, t != 3}, rngs[size_t(t)]);
    });
  for (auto& th : threads) th.join();
}

INSTANTIATE_TEST_SUITE_P(Kernels, GemmTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Portable" : "Native"; });

TEST(GemmIsa, ReportsKernels) {
  const gemm_detail::Isa* fast = gemm_detail::avx512_isa();
  std::printf("host gemm kernels: %s\n", fast ? fast->name : "portable only");
  SUCCEED();
}

}  // namespace
}  // namespace dshal::host
