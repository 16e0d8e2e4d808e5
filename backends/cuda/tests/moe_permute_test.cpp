// moe_permute and moe_unpermute: the thread bodies, launch after launch as moe.cu queues them,
// against hal/host's kernels, bit for bit (offsets, perm and gathered rows are exact; the weighted
// sums run in the same j order with the same roundings). DeepSeek V3 shapes, dropped slots (ids
// outside [0, experts)), experts with no rows, one token, no tokens, every storage dtype, padded ld.
#include "moe_permute.hpp"
#include "test_support.hpp"

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;
using test::make_values;

struct PermuteCase {
  const char* name;
  uint64_t tokens, top_k, experts, hidden, pad;
  int ids;  // 0: random over [0, experts) (a token may repeat one); 1: also ids outside (dropped); 2: few experts used
};

class MoePermute : public testing::TestWithParam<std::tuple<PermuteCase, dshal_dtype>> {};

std::vector<int32_t> ids_of(const PermuteCase& c) {
  std::vector<int32_t> ids(c.tokens * c.top_k);
  uint32_t x = 777u;
  for (uint64_t s = 0; s < ids.size(); ++s) {
    x = x * 1664525u + 1013904223u;
    int32_t e = int32_t((x >> 8) % c.experts);
    if (c.ids == 2) e = int32_t((x >> 8) % 3) * 5 % int32_t(c.experts);  // experts 0, 5, 10: the rest get no rows
    if (c.ids == 1 && (x >> 4) % 5 == 0) e = (x >> 12) % 2 ? -1 : int32_t(c.experts + (x >> 14) % 9);
    ids[s] = e;
  }
  return ids;
}

// The kernels of one launch sequence, emulated in moe.cu's order.
template <class Args, class Shape, class Body>
void run(const Args& a, Shape shape_of, Body body) {
  const LaunchShape shape = shape_of(a);
  for_each_thread(shape, [&](Index3 b, Index3 th) { body(b, th, shape.block, a); });
}

TEST_P(MoePermute, PermuteAndUnpermuteMatchHostKernels) {
  const auto& [c, t] = GetParam();
  const uint64_t slots = c.tokens * c.top_k, ld = c.hidden + c.pad, es = elem_bytes(t);
  const std::vector<int32_t> ids = ids_of(c);
  const std::vector<std::byte> x = make_values(t, c.tokens * ld, 1);
  const std::vector<std::byte> sentinel = make_values(t, slots * ld, 2);  // rows not kept stay as they were

  // ---- permute ----
  HostBytes hx(x.size() + 1), hids(ids.size() * 4 + 1), hout(sentinel.size() + 1), hoff((c.experts + 1) * 4),
      hperm(slots * 4 + 1);
  std::memcpy(hx.bytes.data(), x.data(), x.size());
  std::memcpy(hids.bytes.data(), ids.data(), ids.size() * 4);
  std::memcpy(hout.bytes.data(), sentinel.data(), sentinel.size());
  dshal_moe_permute_desc pd{sizeof(dshal_moe_permute_desc), c.tokens, c.top_k, c.experts, c.hidden,
                            {hx.handle(), 0, t, ld}, {hids.handle(), 0}, {hout.handle(), 0, t, ld},
                            {hoff.handle(), 0}, {hperm.handle(), 0}};
  std::string error;
  ASSERT_EQ(host::moe_permute(pd, &error), DSHAL_OK) << error;

  std::vector<std::byte> out = sentinel;
  std::vector<int32_t> offsets(c.experts + 1, -5), perm(slots, -5);
  MoePermuteArgs a;
  a.ids = ids.data();
  a.offsets = offsets.data();
  a.perm = perm.data();
  a.x = {x.data(), t, ld};
  a.out = {out.data(), t, ld};
  a.slots = slots;
  a.top_k = c.top_k;
  a.experts = c.experts;
  a.hidden = c.hidden;
  run(a, moe_count_shape, moe_count_thread);
  run(a, moe_scan_shape, moe_scan_thread);
  if (slots > 0) run(a, moe_place_shape, moe_place_thread);
  if (slots > 0 && c.hidden > 0) run(a, moe_gather_shape, moe_gather_thread);

  const auto* want_off = reinterpret_cast<const int32_t*>(hoff.bytes.data());
  for (uint64_t e = 0; e <= c.experts; ++e) ASSERT_EQ(offsets[e], want_off[e]) << "expert_offsets[" << e << "]";
  const auto* want_perm = reinterpret_cast<const int32_t*>(hperm.bytes.data());
  for (uint64_t p = 0; p < slots; ++p) ASSERT_EQ(perm[p], want_perm[p]) << "perm[" << p << "]";
  ASSERT_EQ(std::memcmp(out.data(), hout.bytes.data(), out.size()), 0) << "gathered rows differ";
  if (slots == 0) return;  // unpermute has nothing to do: hal lists no operand

  // ---- unpermute, from the host's permutation (one block per dtype, out over and not over) ----
  const std::vector<std::byte> y = make_values(t, slots * ld, 3), out0 = make_values(t, c.tokens * ld, 4);
  const std::vector<std::byte> wbytes = make_values(DSHAL_DTYPE_F32, slots, 5, 1.0f);
  for (uint32_t accumulate : {0u, 1u}) {
    HostBytes hy(y.size()), hw(wbytes.size()), hu(out0.size());
    std::memcpy(hy.bytes.data(), y.data(), y.size());
    std::memcpy(hw.bytes.data(), wbytes.data(), wbytes.size());
    std::memcpy(hu.bytes.data(), out0.data(), out0.size());
    dshal_moe_unpermute_desc ud{sizeof(dshal_moe_unpermute_desc), c.tokens, c.top_k, c.hidden, accumulate,
                                {hy.handle(), 0, t, ld}, {hperm.handle(), 0}, {hw.handle(), 0}, {hu.handle(), 0, t, ld}};
    ASSERT_EQ(host::moe_unpermute(ud, &error), DSHAL_OK) << error;

    std::vector<std::byte> got = out0;
    std::vector<int32_t> row_of(slots, -5);
    MoeUnpermuteArgs u;
    u.y = {y.data(), t, ld};
    u.perm = perm.data();
    u.weights = reinterpret_cast<const float*>(wbytes.data());
    u.out = {got.data(), t, ld};
    u.row_of = row_of.data();
    u.tokens = c.tokens;
    u.top_k = c.top_k;
    u.hidden = c.hidden;
    u.accumulate = accumulate;
    run(u, moe_unpermute_clear_shape, moe_unpermute_clear_thread);
    run(u, moe_unpermute_invert_shape, moe_unpermute_invert_thread);
    run(u, moe_unpermute_shape, moe_unpermute_thread);
    for (uint64_t i = 0; i < c.tokens * ld; ++i)
      ASSERT_EQ(std::memcmp(got.data() + i * es, hu.bytes.data() + i * es, es), 0)
          << "accumulate " << accumulate << " token " << i / ld << " col " << i % ld << ": " << load(got.data(), t, i)
          << " vs " << load(hu.bytes.data(), t, i);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MoePermute,
    testing::Combine(
        testing::Values(PermuteCase{"V3", 64, 8, 256, 40, 8, 0},          // most of 256 experts get 1-5 rows, some none
                        PermuteCase{"Dropped", 37, 8, 64, 33, 0, 1},      // ids outside [0, 64): a perm tail of -1
                        PermuteCase{"FewExperts", 20, 6, 32, 17, 3, 2},   // experts with no rows between used ones
                        PermuteCase{"OneToken", 1, 8, 256, 24, 0, 1},
                        PermuteCase{"NoHidden", 9, 4, 16, 0, 0, 1},
                        PermuteCase{"NoTokens", 0, 8, 16, 24, 0, 0}),
        testing::Values(DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::string(::dshal::dtype_name(std::get<1>(info.param)));
    });

}  // namespace
}  // namespace dshal::cuda::kernels
