// rms_norm and silu_mul: the thread bodies over their launch shapes against hal/host's kernels, for
// every storage dtype, with row padding (ld > cols), rows that do not fill the last block, and out
// aliasing the input.
#include "norm_act.hpp"
#include "test_support.hpp"

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;
using test::make_values;

class NormAct : public testing::TestWithParam<dshal_dtype> {};

TEST_P(NormAct, RmsNormMatchesHostKernel) {
  const dshal_dtype t = GetParam();
  const uint64_t rows = 131, cols = 96, ld = 100;  // 131 rows: two blocks of 128, the second partial
  const std::vector<std::byte> x = make_values(t, rows * ld, 1), w = make_values(t, cols, 2);
  HostBytes hx(x.size()), hw(w.size()), hout(x.size());
  std::memcpy(hx.bytes.data(), x.data(), x.size());
  std::memcpy(hw.bytes.data(), w.data(), w.size());
  dshal_rms_norm_desc d{sizeof(dshal_rms_norm_desc), rows, cols, 1e-6f, {hx.handle(), 0, t, ld}, {hw.handle(), 0, t, cols},
                        {hout.handle(), 0, t, ld}};
  std::string error;
  ASSERT_EQ(host::rms_norm(d, &error), DSHAL_OK) << error;

  std::vector<std::byte> got = x;  // in place: out aliases x, as the model runs it
  RmsNormArgs a{{got.data(), t, ld}, {w.data(), t, cols}, {got.data(), t, ld}, rows, cols, 1e-6f};
  const LaunchShape shape = rms_norm_shape(a);
  ASSERT_GE(uint64_t(shape.grid.x) * shape.block.x, rows);
  for_each_thread(shape, [&](Index3 b, Index3 th) { rms_norm_thread(b, th, shape.block, a); });
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) {
      const float want = load(hout.bytes.data(), t, r * ld + c), have = load(got.data(), t, r * ld + c);
      // The host sums squares in 16 lanes, the kernel in one: the f32 results may differ in the last
      // bits, and a 16-bit output by one unit in the last place.
      const float ulp = t == DSHAL_DTYPE_F32 ? 2e-6f : t == DSHAL_DTYPE_F16 ? 1.0f / 1024 : 1.0f / 128;
      ASSERT_NEAR(have, want, ulp * std::fabs(want) + 1e-7f)
          << "row " << r << " col " << c;
    }
}

TEST_P(NormAct, SiluMulMatchesHostKernel) {
  const dshal_dtype t = GetParam();
  const uint64_t rows = 7, cols = 301, ld = 305;  // 2107 elements: 9 blocks, the last partial
  const std::vector<std::byte> g = make_values(t, rows * ld, 3, 6.0f), u = make_values(t, rows * ld, 4);
  HostBytes hg(g.size()), hu(u.size()), hout(g.size());
  std::memcpy(hg.bytes.data(), g.data(), g.size());
  std::memcpy(hu.bytes.data(), u.data(), u.size());
  dshal_silu_mul_desc d{sizeof(dshal_silu_mul_desc), rows, cols, {hg.handle(), 0, t, ld}, {hu.handle(), 0, t, ld},
                        {hout.handle(), 0, t, ld}};
  std::string error;
  ASSERT_EQ(host::silu_mul(d, &error), DSHAL_OK) << error;

  std::vector<std::byte> out(g.size());
  SiluMulArgs a{{g.data(), t, ld}, {u.data(), t, ld}, {out.data(), t, ld}, rows, cols};
  const LaunchShape shape = silu_mul_shape(a);
  for_each_thread(shape, [&](Index3 b, Index3 th) { silu_mul_thread(b, th, shape.block, a); });
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) {
      const uint64_t i = r * ld + c;
      ASSERT_EQ(load(out.data(), t, i), load(hout.bytes.data(), t, i)) << "row " << r << " col " << c;
    }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, NormAct, testing::Values(DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16),
                         [](const auto& info) { return std::string(::dshal::dtype_name(info.param)); });

}  // namespace
}  // namespace dshal::cuda::kernels
