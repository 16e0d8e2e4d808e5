// gemm_quant and grouped_gemm thread bodies against hal/host's kernels: FP8 with 128x128 block
// scales and partial edge blocks, INT4 with group scales, bf16 and f32 weights; alpha / beta;
// groups with no rows, rows outside every group left alone, broken offsets reported. The host
// accumulates in another order (blocked SIMD), so results agree within the f32 accumulation bound
// 2 * K * 2^-24 * sum_k |a * w| (plus one unit in the last place of a 16-bit C).
#include "weight_gemm.hpp"
#include "test_support.hpp"

#include <cmath>

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;
using test::make_values;

struct Case {
  dshal_dtype a, w, c;
  uint64_t m, n, k;
};

// Weight bytes (and scales) of dtype t for [n][k], ld = k.
struct Weights {
  std::vector<std::byte> w, scales;
  uint32_t block_n = 0, block_k = 0;
};
Weights make_weights(dshal_dtype t, uint64_t n, uint64_t k, uint32_t seed) {
  Weights r;
  if (t == DSHAL_DTYPE_FP8_E4M3 || t == DSHAL_DTYPE_INT4) {
    r.block_n = t == DSHAL_DTYPE_FP8_E4M3 ? 128 : 1;
    r.block_k = t == DSHAL_DTYPE_FP8_E4M3 ? 128 : 32;
    r.w.resize(t == DSHAL_DTYPE_INT4 ? n * k / 2 : n * k);
    uint32_t x = seed;
    for (auto& b : r.w) b = std::byte((x = x * 1664525u + 1013904223u) >> 24);
    if (t == DSHAL_DTYPE_FP8_E4M3)  // no NaN patterns (S.1111.111)
      for (auto& b : r.w)
        if ((uint8_t(b) & 0x7f) == 0x7f) b = std::byte(uint8_t(b) & 0xfe);
    const uint64_t sn = (n + r.block_n - 1) / r.block_n, sk = (k + r.block_k - 1) / r.block_k;
    r.scales = make_values(DSHAL_DTYPE_F32, sn * sk, seed + 1, 0.01f);
  } else {
    r.w = make_values(t, n * k, seed);
  }
  return r;
}

WeightView view(const Weights& w, dshal_dtype t, uint64_t k) {
  return {w.w.data(), t, k, w.scales.empty() ? nullptr : reinterpret_cast<const float*>(w.scales.data()), w.block_n ? w.block_n : 1,
          w.block_k ? w.block_k : 1, k};
}

// |a| . |w| per output, for the accumulation bound.
float magnitude(const WeightGemmArgs& a, const WeightView& w, uint64_t r, uint64_t n) {
  float s = 0;
  for (uint64_t k = 0; k < a.k; ++k) s += std::fabs(load(a.a.row(r), a.a.dtype, k) * weight_at(w, n, k));
  return s;
}

void expect_close(float got, float want, float mag, uint64_t k, dshal_dtype c, const std::string& where) {
  const float ulp = c == DSHAL_DTYPE_F32 ? 0.0f : c == DSHAL_DTYPE_F16 ? 1.0f / 1024 : 1.0f / 128;
  const float bound = 2.0f * float(k) * 5.96e-8f * mag + ulp * std::fabs(want) + 1e-30f;
  ASSERT_LE(std::fabs(got - want), bound) << where << ": got " << got << ", host " << want;
}

class GemmQuant : public testing::TestWithParam<Case> {};

TEST_P(GemmQuant, MatchesHostKernel) {
  const Case p = GetParam();
  const Weights w = make_weights(p.w, p.n, p.k, 7);
  const std::vector<std::byte> a = make_values(p.a, p.m * p.k, 8), c0 = make_values(p.c, p.m * p.n, 9);
  HostBytes ha(a.size()), hw(w.w.size()), hs(w.scales.size() + 4), hc(c0.size());
  std::memcpy(ha.bytes.data(), a.data(), a.size());
  std::memcpy(hw.bytes.data(), w.w.data(), w.w.size());
  std::memcpy(hs.bytes.data(), w.scales.data(), w.scales.size());
  std::memcpy(hc.bytes.data(), c0.data(), c0.size());
  const bool quant = !w.scales.empty();
  dshal_gemm_quant_desc d{sizeof d, p.m, p.n, p.k, 0.75f, 0.5f, {ha.handle(), 0, p.a, p.k, 0},
                          {hw.handle(), 0, p.w, p.k, quant ? hs.handle() : nullptr, 0, w.block_n, w.block_k},
                          {hc.handle(), 0, p.c, p.n, 0}};
  std::string error;
  ASSERT_EQ(host::gemm_quant(d, &error), DSHAL_OK) << error;

  std::vector<std::byte> got = c0;
  WeightGemmArgs args;
  args.a = {a.data(), p.a, p.k};
  args.w = view(w, p.w, p.k);
  args.c = {got.data(), p.c, p.n};
  args.m = p.m, args.n = p.n, args.k = p.k, args.alpha = 0.75f, args.beta = 0.5f;
  const LaunchShape shape = weight_gemm_shape(args);
  for_each_thread(shape, [&](Index3 b, Index3 t) { weight_gemm_thread(b, t, shape.block, args); });
  for (uint64_t r = 0; r < p.m; ++r)
    for (uint64_t n = 0; n < p.n; ++n) {
      const float mag = 0.75f * magnitude(args, args.w, r, n) + 0.5f * std::fabs(load(c0.data(), p.c, r * p.n + n));
      ASSERT_NO_FATAL_FAILURE(expect_close(load(got.data(), p.c, r * p.n + n), load(hc.bytes.data(), p.c, r * p.n + n), mag,
                                           p.k, p.c, "row " + std::to_string(r) + " col " + std::to_string(n)));
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmQuant,
    testing::Values(Case{DSHAL_DTYPE_BF16, DSHAL_DTYPE_FP8_E4M3, DSHAL_DTYPE_F32, 3, 200, 300},  // partial 128-blocks
                    Case{DSHAL_DTYPE_F32, DSHAL_DTYPE_FP8_E4M3, DSHAL_DTYPE_BF16, 17, 130, 256},
                    Case{DSHAL_DTYPE_F16, DSHAL_DTYPE_INT4, DSHAL_DTYPE_F16, 5, 64, 96},
                    Case{DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, 9, 33, 70}));

TEST(GroupedGemm, GroupsEmptyGroupsAndUntouchedRows) {
  const uint64_t m = 40, n = 24, k = 200, groups = 4;
  const int32_t off[groups + 1] = {3, 10, 10, 29, 37};  // group 1 empty; rows 0-2 and 37-39 in no group
  const dshal_dtype t = DSHAL_DTYPE_BF16, wt = DSHAL_DTYPE_FP8_E4M3;
  std::vector<Weights> per_group;
  for (uint64_t g = 0; g < groups; ++g) per_group.push_back(make_weights(wt, n, k, uint32_t(20 + g)));
  const uint64_t wstride = per_group[0].w.size(), sstride = per_group[0].scales.size();
  std::vector<std::byte> w_all, s_all;
  for (const Weights& w : per_group) {
    w_all.insert(w_all.end(), w.w.begin(), w.w.end());
    s_all.insert(s_all.end(), w.scales.begin(), w.scales.end());
  }
  const std::vector<std::byte> a = make_values(t, m * k, 30), c0 = make_values(DSHAL_DTYPE_F32, m * n, 31);
  HostBytes ha(a.size()), hw(w_all.size()), hs(s_all.size()), ho(sizeof off), hc(c0.size());
  std::memcpy(ha.bytes.data(), a.data(), a.size());
  std::memcpy(hw.bytes.data(), w_all.data(), w_all.size());
  std::memcpy(hs.bytes.data(), s_all.data(), s_all.size());
  std::memcpy(ho.bytes.data(), off, sizeof off);
  std::memcpy(hc.bytes.data(), c0.data(), c0.size());
  dshal_grouped_gemm_desc d{sizeof d, groups, m, n, k, {ha.handle(), 0, t, k, 0},
                            {hw.handle(), 0, wt, k, hs.handle(), 0, 128, 128}, wstride, sstride, {ho.handle(), 0},
                            {hc.handle(), 0, DSHAL_DTYPE_F32, n, 0}};
  std::string error;
  ASSERT_EQ(host::grouped_gemm(d, &error), DSHAL_OK) << error;

  std::vector<std::byte> got = c0;
  WeightGemmArgs args;
  args.a = {a.data(), t, k};
  args.w = view(per_group[0], wt, k);
  args.w.w = w_all.data();
  args.w.scales = reinterpret_cast<const float*>(s_all.data());
  args.w_group_stride = wstride;
  args.scales_group_stride = sstride;
  args.offsets = off;
  args.groups = groups;
  args.c = {got.data(), DSHAL_DTYPE_F32, n};
  args.m = m, args.n = n, args.k = k;
  const LaunchShape shape = weight_gemm_shape(args);
  for_each_thread(shape, [&](Index3 b, Index3 th) { weight_gemm_thread(b, th, shape.block, args); });
  for (uint64_t r = 0; r < m; ++r) {
    const int64_t g = group_of(args, r);
    for (uint64_t c = 0; c < n; ++c) {
      const float have = load(got.data(), DSHAL_DTYPE_F32, r * n + c), host = load(hc.bytes.data(), DSHAL_DTYPE_F32, r * n + c);
      if (g < 0) {
        ASSERT_EQ(f32_to_bits(have), f32_to_bits(load(c0.data(), DSHAL_DTYPE_F32, r * n + c))) << "row " << r << " was written";
        continue;
      }
      WeightView w = args.w;
      w.w = w_all.data() + uint64_t(g) * wstride;
      w.scales = reinterpret_cast<const float*>(s_all.data() + uint64_t(g) * sstride);
      ASSERT_NO_FATAL_FAILURE(expect_close(have, host, magnitude(args, w, r, c), k, DSHAL_DTYPE_F32,
                                           "row " + std::to_string(r) + " col " + std::to_string(c)));
    }
  }
}

TEST(GroupedGemm, BrokenOffsetsAreReported) {
  int32_t words[4] = {};
  const int32_t decreasing[4] = {0, 5, 4, 8};
  offsets_check_thread({}, {}, {}, OffsetsCheckArgs{decreasing, 3, 8, words});
  EXPECT_EQ(words[0], 2);
  EXPECT_EQ(words[1], 2);  // offsets[2]
  EXPECT_EQ(words[2], 4);
  EXPECT_EQ(words[3], 8);
  int32_t clean[4] = {};
  const int32_t beyond_m[3] = {0, 4, 9};
  offsets_check_thread({}, {}, {}, OffsetsCheckArgs{beyond_m, 2, 8, clean});
  EXPECT_EQ(clean[0], 2);
  EXPECT_EQ(clean[1], 2);
  int32_t none[4] = {};
  const int32_t good[3] = {0, 0, 8};
  offsets_check_thread({}, {}, {}, OffsetsCheckArgs{good, 2, 8, none});
  EXPECT_EQ(none[0], 0);
}

}  // namespace
}  // namespace dshal::cuda::kernels
