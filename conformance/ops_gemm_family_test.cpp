// ops tier: gemm_quant (fp8 e4m3 block scales, int4 group scales), grouped_gemm (the contiguous MoE
// layout) and prepack_weight, against fp64 references written here; guard bytes around every output.
//
// Tolerances. A dot product of length K accumulated in f32 is off by at most
// gamma_K * sum|terms| <= K * 2^-24 * sum|terms| (first-order error analysis); dequantization
// (q * scale) and alpha/beta add a few roundings per term. The bound used everywhere is
//   2 * (K + 2) * 2^-24 * (|alpha| * sum_k |a_k * w_k| + |beta * c|)  +  rounding of the output type
// (2^-24 f32, 2^-8 bf16, 2^-11 f16, relative to the result) — the same rule as core/Gemm.
// fp8 and int4 codes are drawn here as raw bytes and decoded by this file, not by dshal.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"
#include "host/dtype.hpp"
#include "weight_util.hpp"

namespace dshal::conformance {
namespace {

// ------------------------------------------------------------------------------------------------
// gemm_quant

struct QuantCase {
  const char* name;
  uint64_t m, n, k;
  dshal_dtype wt;
  uint32_t bn, bk;
  dshal_dtype at, ct;
  float alpha, beta;
  uint64_t pad;          // extra elements per row of A and C
  uint64_t sample_rows;  // 0: all rows of C
};

const std::vector<QuantCase>& quant_cases() {
  static const std::vector<QuantCase> v = {
      // fp8, DeepSeek's 128 x 128 blocks; N = 320 and K = 200 end in partial blocks (64 and 72).
      {"fp8_edges_5x320x200", 5, 320, 200, FP8, 128, 128, F32, F32, 1, 0, 0, 0},
      {"fp8_one_block_f16", 3, 128, 128, FP8, 128, 128, F16, F16, 1, 0, 0, 0},
      {"fp8_bf16_alpha_beta_padded", 7, 130, 300, FP8, 128, 128, BF16, BF16, 0.5f, 0.75f, 3, 0},
      {"fp8_blocks_64x32", 4, 100, 72, FP8, 64, 32, F32, F32, 1.25f, 0, 0, 0},
      {"fp8_m1", 1, 1, 7, FP8, 128, 128, F32, F32, 1, 0, 0, 0},
      {"fp8_ds_decode_1x2048x7168", 1, 2048, 7168, FP8, 128, 128, BF16, F32, 1, 0, 0, 0},
      {"fp8_ds_16x2048x7168", 16, 2048, 7168, FP8, 128, 128, BF16, BF16, 1, 0, 0, 5},
      {"fp8_ds_16x7168x2048", 16, 7168, 2048, FP8, 128, 128, BF16, F32, 1, 0, 0, 4},
      {"fp8_m64_edges", 64, 320, 200, FP8, 128, 128, F32, F32, 1, 0, 0, 0},  // past the small-M path
      {"fp8_ds_prefill_64x2048x7168", 64, 2048, 7168, FP8, 128, 128, BF16, BF16, 1, 0, 0, 4},
      // int4, group-wise along K (block_n 1); K = 200 and 1000 end in partial groups.
      {"int4_g32", 4, 96, 256, INT4, 1, 32, F32, F32, 1, 0, 0, 0},
      {"int4_g64_partial", 3, 50, 200, INT4, 1, 64, F32, F32, 1, 0, 1, 0},
      {"int4_g128_partial_bf16_beta", 9, 130, 1000, INT4, 1, 128, BF16, BF16, 1, 0.5f, 2, 0},
      {"int4_g128_ds_4x2048x7168", 4, 2048, 7168, INT4, 1, 128, BF16, F32, 1, 0, 0, 0},
      {"int4_m40_g64_partial_beta", 40, 50, 200, INT4, 1, 64, F32, F32, 0.5f, 2, 1, 0},
  };
  return v;
}

using QuantParam = std::tuple<std::string, QuantCase>;
class GemmQuant : public testing::TestWithParam<QuantParam> {};

TEST_P(GemmQuant, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.at, g.ct}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t lda = g.k + g.pad, ldc = g.n + g.pad;
  const std::vector<float> a = random_values(g.m * lda, 101, g.at);
  const std::vector<std::byte> a_raw = encode(a, g.at);
  Buffer A = upload_bytes(id, a_raw.data(), a_raw.size());
  const HostWeight w = make_weight(g.wt, 1, g.n, g.k, 0, g.bn, g.bk, 202);
  const DeviceWeight W = upload_weight(id, w);
  Output C(id, g.m, ldc, g.ct, 303);

  auto d = desc<dshal_gemm_quant_desc>();
  d.m = g.m;
  d.n = g.n;
  d.k = g.k;
  d.alpha = g.alpha;
  d.beta = g.beta;
  d.a = matrix(A, g.at, lda);
  d.w = weight_desc(w, W);
  d.c = matrix(C.buf.buffer(), g.ct, ldc, C.buf.offset());
  DSHAL_ASSERT_OK(stream(id).gemm_quant(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> c = decode(C.buf.read_checked(), g.ct);

  std::vector<std::pair<uint64_t, uint64_t>> rows;
  for (uint64_t r : sample_rows(g.m, g.sample_rows)) rows.push_back({r, 0});
  check_rows(a, lda, w, rows, g.alpha, g.beta, C.c0, c, ldc, g.ct, fmt::format("gemm_quant {}", g.name));
  expect_untouched(C.c0, c, g.m, g.n, ldc, std::vector<bool>(g.m, true));
}

INSTANTIATE_TEST_SUITE_P(ops, GemmQuant, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(quant_cases())),
                         case_name<QuantCase>);

// ------------------------------------------------------------------------------------------------
// grouped_gemm

struct GroupedCase {
  const char* name;
  uint64_t n, k;
  std::vector<uint64_t> rows;  // rows of each group
  uint64_t head, tail;         // rows of A / C before offsets[0] and after offsets[groups]
  dshal_dtype at, wt, ct;
  uint32_t bn, bk;
  uint64_t pad;     // extra elements per row of A, C and (plain types) W
  uint64_t sample;  // rows checked per group (first, last, spread); 0: all
};

const std::vector<GroupedCase>& grouped_cases() {
  static const std::vector<GroupedCase> v = {
      {"f32_0_1_many_rows", 24, 40, {3, 0, 1, 7, 0}, 2, 3, F32, F32, F32, 0, 0, 3, 0},
      {"bf16_w_f32_out", 33, 64, {0, 5, 1, 0, 9}, 0, 1, BF16, BF16, F32, 0, 0, 0, 0},
      {"f16_w_f16_out", 17, 30, {2, 2, 0, 1}, 1, 0, F16, F16, F16, 0, 0, 1, 0},
      {"mixed_f32_a_bf16_w_bf16_out", 20, 48, {4, 1, 6}, 0, 0, F32, BF16, BF16, 0, 0, 2, 0},
      {"single_group", 19, 23, {11}, 0, 0, F32, F32, F32, 0, 0, 0, 0},
      {"all_groups_empty", 16, 32, {0, 0, 0}, 2, 3, F32, F32, F32, 0, 0, 0, 0},
      {"fp8_partial_blocks", 160, 200, {4, 0, 1, 6}, 1, 2, BF16, FP8, F32, 128, 128, 0, 0},
      {"fp8_blocks_32x64", 70, 100, {2, 3, 0}, 0, 1, F32, FP8, BF16, 32, 64, 1, 0},
      {"int4_g64_partial", 40, 200, {3, 1, 0, 5}, 0, 2, F32, INT4, F32, 1, 64, 2, 0},
      {"int4_g32", 24, 128, {1, 0, 7}, 1, 1, BF16, INT4, F32, 1, 32, 0, 0},
      // Groups of more than 16 rows (past the small-M path).
      {"f32_large_groups", 96, 256, {80, 0, 33, 1}, 3, 2, F32, F32, F32, 0, 0, 1, 0},
      {"fp8_large_groups", 160, 200, {40, 0, 17}, 0, 5, BF16, FP8, F32, 128, 128, 0, 0},
      {"int4_large_groups", 48, 200, {33, 2}, 2, 0, F32, INT4, BF16, 1, 64, 0, 0},
      // DeepSeek-V3 expert shapes (gate/up: N = 2048, K = 7168), 8 local experts, uneven routing.
      {"ds_bf16_8x2048x7168", 2048, 7168, {5, 0, 1, 17, 2, 0, 9, 3}, 0, 0, BF16, BF16, BF16, 0, 0, 0, 2},
      {"ds_fp8_4x2048x7168", 2048, 7168, {0, 3, 1, 6}, 0, 0, BF16, FP8, F32, 128, 128, 0, 2},
  };
  return v;
}

using GroupedParam = std::tuple<std::string, GroupedCase>;
class GroupedGemm : public testing::TestWithParam<GroupedParam> {};

TEST_P(GroupedGemm, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.at, g.ct}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t groups = g.rows.size();
  std::vector<int32_t> offsets{int32_t(g.head)};
  for (uint64_t r : g.rows) offsets.push_back(offsets.back() + int32_t(r));
  const uint64_t m = uint64_t(offsets.back()) + g.tail;
  const uint64_t lda = g.k + g.pad, ldc = g.n + g.pad;
  const std::vector<float> a = random_values(m * lda, 404, g.at);
  const std::vector<std::byte> a_raw = encode(a, g.at);
  Buffer A = upload_bytes(id, a_raw.data(), a_raw.size());
  const HostWeight w = make_weight(g.wt, groups, g.n, g.k, g.pad, g.bn, g.bk, 505);
  const DeviceWeight W = upload_weight(id, w);
  // offsets at a nonzero offset, after a word that is not part of them.
  std::vector<int32_t> off_buf{-7};
  off_buf.insert(off_buf.end(), offsets.begin(), offsets.end());
  Buffer O = upload(id, off_buf);
  Output C(id, m, ldc, g.ct, 606);

  auto d = desc<dshal_grouped_gemm_desc>();
  d.groups = groups;
  d.m = m;
  d.n = g.n;
  d.k = g.k;
  d.a = matrix(A, g.at, lda);
  d.w = weight_desc(w, W);
  d.w_group_stride_bytes = w.stride;
  d.scales_group_stride_bytes = w.sstride;
  d.offsets = ref(O, 4);
  d.c = matrix(C.buf.buffer(), g.ct, ldc, C.buf.offset());
  DSHAL_ASSERT_OK(stream(id).grouped_gemm(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> c = decode(C.buf.read_checked(), g.ct);

  std::vector<std::pair<uint64_t, uint64_t>> rows;
  std::vector<bool> written(m, false);
  for (uint64_t gi = 0; gi < groups; ++gi) {
    for (uint64_t r : sample_rows(g.rows[gi], g.sample)) rows.push_back({offsets[gi] + r, gi});
    for (int32_t r = offsets[gi]; r < offsets[gi + 1]; ++r) written[r] = true;
  }
  check_rows(a, lda, w, rows, 1.0f, 0.0f, C.c0, c, ldc, g.ct, fmt::format("grouped_gemm {}", g.name));
  expect_untouched(C.c0, c, m, g.n, ldc, written);
}

INSTANTIATE_TEST_SUITE_P(ops, GroupedGemm,
                         testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(grouped_cases())),
                         case_name<GroupedCase>);

// ------------------------------------------------------------------------------------------------
// prepack_weight: the packed buffer stands in for the plain weight (w.offset 0, same scales) in
// gemm_quant, grouped_gemm and gemm (trans_b = 1, ld = k). Both runs are held to the same fp64
// reference and bound. The source is overwritten after prepack_weight was enqueued: the packed
// buffer must not depend on it afterwards.

class Prepack : public DeviceTest {
 protected:
  // Prepacks w (uploaded as W), then clobbers the source on the stream.
  void pack(const HostWeight& w, DeviceWeight& W, Buffer* packed) {
    auto p = desc<dshal_prepack_desc>();
    p.groups = w.groups;
    p.n = w.n;
    p.k = w.k;
    p.w = weight_desc(w, W);
    p.w_group_stride_bytes = w.stride;
    DSHAL_ASSERT_OK(str().prepack_weight(p, packed));
    ASSERT_TRUE(bool(*packed)) << "prepack_weight returned no buffer";
    const uint8_t junk = 0x7f;  // fp8 NaN, a huge f32 / bf16
    DSHAL_ASSERT_OK(str().fill(W.data, 0, W.data.size(), &junk, 1));
  }

  void run_gemm_quant(dshal_dtype wt, uint32_t bn, uint32_t bk) {
    const uint64_t m = 6, n = 320, k = 200;
    const std::vector<float> a = random_values(m * k, 11, BF16);
    const std::vector<std::byte> a_raw = encode(a, BF16);
    Buffer A = upload_bytes(id(), a_raw.data(), a_raw.size());
    const HostWeight w = make_weight(wt, 1, n, k, 0, bn, bk, 12);
    DeviceWeight W = upload_weight(id(), w);
    Output plain(id(), m, n, F32, 13), packed_out(id(), m, n, F32, 13);
    auto d = desc<dshal_gemm_quant_desc>();
    d.m = m;
    d.n = n;
    d.k = k;
    d.alpha = 1;
    d.a = matrix(A, BF16, k);
    d.w = weight_desc(w, W);
    d.c = matrix(plain.buf.buffer(), F32, n, plain.buf.offset());
    DSHAL_ASSERT_OK(str().gemm_quant(d));  // the plain run, before the source is clobbered
    Buffer packed;
    pack(w, W, &packed);
    if (HasFatalFailure()) return;
    d.w.buffer = packed.handle();
    d.w.offset = 0;
    d.c = matrix(packed_out.buf.buffer(), F32, n, packed_out.buf.offset());
    DSHAL_ASSERT_OK(str().gemm_quant(d));
    DSHAL_ASSERT_OK(str().synchronize());
    std::vector<std::pair<uint64_t, uint64_t>> rows;
    for (uint64_t r = 0; r < m; ++r) rows.push_back({r, 0});
    check_rows(a, k, w, rows, 1, 0, plain.c0, plain.buf.read<float>(), n, F32, "gemm_quant, plain weight");
    check_rows(a, k, w, rows, 1, 0, packed_out.c0, packed_out.buf.read<float>(), n, F32, "gemm_quant, prepacked weight");
  }

  void run_grouped(dshal_dtype wt, uint32_t bn, uint32_t bk, uint64_t pad) {
    const uint64_t n = 96, k = 160;
    const std::vector<int32_t> offsets{0, 3, 3, 4, 9};
    const uint64_t m = 9, groups = 4;
    const std::vector<float> a = random_values(m * k, 21, F32);
    Buffer A = upload(id(), a);
    Buffer O = upload(id(), offsets);
    const HostWeight w = make_weight(wt, groups, n, k, pad, bn, bk, 22);
    DeviceWeight W = upload_weight(id(), w);
    Output plain(id(), m, n, F32, 23), packed_out(id(), m, n, F32, 23);
    auto d = desc<dshal_grouped_gemm_desc>();
    d.groups = groups;
    d.m = m;
    d.n = n;
    d.k = k;
    d.a = matrix(A, F32, k);
    d.w = weight_desc(w, W);
    d.w_group_stride_bytes = w.stride;
    d.scales_group_stride_bytes = w.sstride;
    d.offsets = ref(O);
    d.c = matrix(plain.buf.buffer(), F32, n, plain.buf.offset());
    DSHAL_ASSERT_OK(str().grouped_gemm(d));
    Buffer packed;
    pack(w, W, &packed);
    if (HasFatalFailure()) return;
    d.w.buffer = packed.handle();
    d.w.offset = 0;
    d.c = matrix(packed_out.buf.buffer(), F32, n, packed_out.buf.offset());
    DSHAL_ASSERT_OK(str().grouped_gemm(d));
    DSHAL_ASSERT_OK(str().synchronize());
    std::vector<std::pair<uint64_t, uint64_t>> rows;
    for (uint64_t gi = 0; gi < groups; ++gi)
      for (int32_t r = offsets[gi]; r < offsets[gi + 1]; ++r) rows.push_back({uint64_t(r), gi});
    check_rows(a, k, w, rows, 1, 0, plain.c0, plain.buf.read<float>(), n, F32, "grouped_gemm, plain weight");
    check_rows(a, k, w, rows, 1, 0, packed_out.c0, packed_out.buf.read<float>(), n, F32, "grouped_gemm, prepacked weight");
  }

  // at: the activations' type (a device may run a GEMM of other input types than its packed
  // weight's on the host, which must then still read the packed B correctly).
  void run_gemm(dshal_dtype wt, dshal_dtype at) {
    const uint64_t m = 5, n = 70, k = 130;
    const std::vector<float> a = random_values(m * k, 31, at);
    const std::vector<std::byte> a_raw = encode(a, at);
    Buffer A = upload_bytes(id(), a_raw.data(), a_raw.size());
    const HostWeight w = make_weight(wt, 1, n, k, 0, 0, 0, 32);  // ld = k
    DeviceWeight W = upload_weight(id(), w);
    Output plain(id(), m, n, F32, 33), packed_out(id(), m, n, F32, 33);
    auto d = desc<dshal_gemm_desc>();
    d.trans_b = 1;
    d.m = m;
    d.n = n;
    d.k = k;
    d.batch = 1;
    d.alpha = 1;
    d.a = matrix(A, at, k);
    d.b = matrix(W.data, wt, k);
    d.c = matrix(plain.buf.buffer(), F32, n, plain.buf.offset());
    DSHAL_ASSERT_OK(str().gemm(d));
    Buffer packed;
    pack(w, W, &packed);
    if (HasFatalFailure()) return;
    d.b = matrix(packed, wt, k);
    d.c = matrix(packed_out.buf.buffer(), F32, n, packed_out.buf.offset());
    DSHAL_ASSERT_OK(str().gemm(d));
    DSHAL_ASSERT_OK(str().synchronize());
    std::vector<std::pair<uint64_t, uint64_t>> rows;
    for (uint64_t r = 0; r < m; ++r) rows.push_back({r, 0});
    check_rows(a, k, w, rows, 1, 0, plain.c0, plain.buf.read<float>(), n, F32, "gemm, plain B");
    check_rows(a, k, w, rows, 1, 0, packed_out.c0, packed_out.buf.read<float>(), n, F32, "gemm, prepacked B");
  }
};

TEST_P(Prepack, GemmQuantFp8) { run_gemm_quant(FP8, 128, 128); }
TEST_P(Prepack, GemmQuantInt4) { run_gemm_quant(INT4, 1, 64); }
TEST_P(Prepack, GroupedGemmBf16) { run_grouped(BF16, 0, 0, 0); }
TEST_P(Prepack, GroupedGemmF32PaddedLd) { run_grouped(F32, 0, 0, 5); }
TEST_P(Prepack, GroupedGemmFp8) { run_grouped(FP8, 128, 128, 0); }
TEST_P(Prepack, GroupedGemmInt4) { run_grouped(INT4, 1, 32, 0); }
TEST_P(Prepack, GemmF32TransB) { run_gemm(F32, F32); }
TEST_P(Prepack, GemmBf16TransB) { run_gemm(BF16, BF16); }
TEST_P(Prepack, GemmF32ActivationsBf16TransB) { run_gemm(BF16, F32); }

DSHAL_INSTANTIATE(ops, Prepack);

}  // namespace
}  // namespace dshal::conformance
