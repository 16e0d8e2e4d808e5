// core tier: GEMM against an fp64 reference, tolerance by dtype and K, guard bytes around C.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"
#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

struct GemmCase {
  const char* name;
  uint64_t m, n, k, batch;
  uint32_t ta, tb;
  dshal_dtype at, bt, ct;
  float alpha, beta;
  uint64_t pad;           // extra elements per stored row (ld > minimum)
  uint64_t sample_rows;   // check only this many rows of C against the reference (0: all)
  bool nan_c = false;     // C starts as NaN: beta == 0 must not read it
  bool side_by_side = false;  // the batch's Cs are column blocks of one [m][batch * n] matrix (per-head outputs)
};

const std::vector<GemmCase>& cases() {
  static const std::vector<GemmCase> v = {
      {"f32_1x1x1", 1, 1, 1, 1, 0, 0, F32, F32, F32, 1, 0, 0, 0},
      {"f32_odd_nn", 7, 13, 29, 1, 0, 0, F32, F32, F32, 1, 0, 0, 0},
      {"f32_odd_nt", 7, 13, 29, 1, 0, 1, F32, F32, F32, 1, 0, 0, 0},
      {"f32_odd_tn", 7, 13, 29, 1, 1, 0, F32, F32, F32, 1, 0, 0, 0},
      {"f32_odd_tt", 7, 13, 29, 1, 1, 1, F32, F32, F32, 1, 0, 0, 0},
      {"f32_k1", 5, 9, 1, 1, 0, 1, F32, F32, F32, 1, 0, 0, 0},
      {"f32_m1", 1, 300, 257, 1, 0, 1, F32, F32, F32, 1, 0, 0, 0},
      {"f32_edges", 37, 45, 67, 1, 0, 1, F32, F32, F32, 1, 0, 0, 0},
      {"f32_alpha_beta", 33, 17, 41, 1, 0, 0, F32, F32, F32, 0.5f, 0.75f, 0, 0},
      {"f32_beta0_nan_c", 19, 23, 31, 1, 0, 1, F32, F32, F32, 1.5f, 0, 0, 0, true},
      {"f32_padded_ld", 21, 34, 55, 1, 0, 1, F32, F32, F32, 1, 0, 5, 0},
      {"f32_padded_ld_tn", 21, 34, 55, 1, 1, 0, F32, F32, F32, 1, 1, 3, 0},
      {"f32_batched", 9, 14, 23, 3, 0, 1, F32, F32, F32, 1, 0.5f, 2, 0},
      {"f32_k0", 6, 7, 0, 1, 0, 0, F32, F32, F32, 1, 0.5f, 0, 0},
      {"f32_256", 256, 256, 256, 1, 0, 1, F32, F32, F32, 1, 0, 0, 0},
      {"bf16_nt", 33, 65, 129, 1, 0, 1, BF16, BF16, F32, 1, 0, 0, 0},
      {"bf16_tn_bf16_out", 33, 65, 129, 1, 1, 0, BF16, BF16, BF16, 1, 0, 0, 0},
      {"bf16_batched_beta", 17, 31, 64, 2, 0, 1, BF16, BF16, F32, 1, 1, 1, 0},
      {"f32_batched_side_by_side", 9, 14, 23, 4, 0, 1, F32, F32, F32, 1, 0.5f, 3, 0, false, true},
      {"bf16_batched_side_by_side", 5, 16, 32, 3, 0, 0, BF16, BF16, BF16, 1, 0, 0, 0, false, true},
      {"f16_nt", 33, 65, 129, 1, 0, 1, F16, F16, F32, 1, 0, 0, 0},
      {"f16_nn_f16_out", 33, 65, 129, 1, 0, 0, F16, F16, F16, 1, 0, 0, 0},
      {"mixed_f32_bf16", 16, 48, 96, 1, 0, 1, F32, BF16, F32, 1, 0, 0, 0},
      {"ds_decode_f32_1x2048x7168", 1, 2048, 7168, 1, 0, 1, F32, F32, F32, 1, 0, 0, 0},
      {"ds_decode_bf16_1x2048x7168", 1, 2048, 7168, 1, 0, 1, BF16, BF16, F32, 1, 0, 0, 0},
      {"ds_bf16_16x7168x2048", 16, 7168, 2048, 1, 0, 1, BF16, BF16, F32, 1, 0, 0, 0},
      {"ds_f32_128x576x7168", 128, 576, 7168, 1, 0, 1, F32, F32, F32, 1, 0, 0, 16},
      {"ds_bf16_512x7168x2048", 512, 7168, 2048, 1, 0, 1, BF16, BF16, BF16, 1, 0, 0, 8},
  };
  return v;
}

using Param = std::tuple<std::string, GemmCase>;

class Gemm : public testing::TestWithParam<Param> {};

TEST_P(Gemm, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();

  const uint64_t a_rows = g.ta ? g.k : g.m, a_cols = g.ta ? g.m : g.k;
  const uint64_t b_rows = g.tb ? g.n : g.k, b_cols = g.tb ? g.k : g.n;
  const uint64_t lda = a_cols + g.pad, ldb = b_cols + g.pad, ldc = (g.side_by_side ? g.batch * g.n : g.n) + g.pad;
  const uint64_t sa = a_rows * lda + 3, sb = b_rows * ldb + 5, sc = g.side_by_side ? g.n : g.m * ldc + 1;
  std::vector<float> a = random_values(std::max<uint64_t>(1, sa * g.batch), 11, g.at);
  std::vector<float> b = random_values(std::max<uint64_t>(1, sb * g.batch), 22, g.bt);
  std::vector<float> c0 = random_values(g.side_by_side ? g.m * ldc : sc * g.batch, 33, g.ct);
  if (g.nan_c) std::fill(c0.begin(), c0.end(), std::numeric_limits<float>::quiet_NaN());

  const std::vector<std::byte> a_raw = encode(a, g.at), b_raw = encode(b, g.bt), c_raw = encode(c0, g.ct);
  Buffer A = upload_bytes(id, a_raw.data(), a_raw.size());
  Buffer B = upload_bytes(id, b_raw.data(), b_raw.size());
  Guarded C(id, c_raw.size());
  DSHAL_ASSERT_OK(stream(id).copy_h2d(c_raw.data(), C.buffer(), C.offset(), c_raw.size()));

  auto d = desc<dshal_gemm_desc>();
  d.trans_a = g.ta;
  d.trans_b = g.tb;
  d.m = g.m;
  d.n = g.n;
  d.k = g.k;
  d.batch = g.batch;
  d.alpha = g.alpha;
  d.beta = g.beta;
  d.a = matrix(A, g.at, lda, 0, sa);
  d.b = matrix(B, g.bt, ldb, 0, sb);
  d.c = matrix(C.buffer(), g.ct, ldc, C.offset(), sc);
  DSHAL_ASSERT_OK(stream(id).gemm(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> c = decode(C.read_checked(), g.ct);

  // Rows to check: all, or a spread including the first and the last.
  std::vector<uint64_t> rows;
  const uint64_t want_rows = g.sample_rows ? std::min(g.sample_rows, g.m) : g.m;
  for (uint64_t r = 0; r < want_rows; ++r) rows.push_back(want_rows == g.m ? r : r * (g.m - 1) / (want_rows - 1));

  std::vector<double> ref, bound;
  std::vector<float> got;
  for (uint64_t bt = 0; bt < g.batch; ++bt) {
    for (uint64_t i : rows) {
      for (uint64_t j = 0; j < g.n; ++j) {
        double s = 0, mag = 0;
        for (uint64_t p = 0; p < g.k; ++p) {
          const double av = a[bt * sa + (g.ta ? p * lda + i : i * lda + p)];
          const double bv = b[bt * sb + (g.tb ? j * ldb + p : p * ldb + j)];
          s += av * bv;
          mag += std::fabs(av * bv);
        }
        const double cv = c0[bt * sc + i * ldc + j];
        const double r = g.alpha * s + (g.beta != 0 ? g.beta * cv : 0.0);
        const double m = std::fabs(g.alpha) * mag + (g.beta != 0 ? std::fabs(g.beta * cv) : 0.0);
        ref.push_back(r);
        bound.push_back(2.0 * double(g.k + 2) * 0x1p-24 * m + out_rounding(g.ct) * std::fabs(r) + 1e-30);
        got.push_back(c[bt * sc + i * ldc + j]);
      }
    }
  }
  expect_within(compare(ref, got, bound), fmt::format("{}x{}x{} {}", g.m, g.n, g.k, g.name));
  // Padding between rows and batches must be left alone.
  const uint64_t width = g.side_by_side ? g.batch * g.n : g.n, blocks = g.side_by_side ? 1 : g.batch;
  for (uint64_t bt = 0; bt < blocks; ++bt)
    for (uint64_t i = 0; i < g.m; ++i)
      for (uint64_t j = width; j < ldc; ++j) {
        const float want = c0[bt * sc + i * ldc + j], have = c[bt * sc + i * ldc + j];
        ASSERT_TRUE(want == have || (std::isnan(want) && std::isnan(have))) << "padding of C row " << i << " was written";
      }
}

INSTANTIATE_TEST_SUITE_P(core, Gemm, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(cases())),
                         case_name<GemmCase>);

}  // namespace
}  // namespace dshal::conformance
