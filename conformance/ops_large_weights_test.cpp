// ops tier: weights at the far end of a 1 GiB buffer, each larger than 128 MiB, for every op that
// reads a weight (gemm, gemm_quant, grouped_gemm, embedding). Real checkpoints are loaded that way
// (DeepSeek-V3's embedding table alone is 1.8 GB in bf16), and 128 MiB is what lavapipe and many
// GPUs give as the largest range one shader binding may cover (maxStorageBufferRange): an adapter
// must bind ranges, split the work or address memory another way. Checked against fp64 as in
// ops_gemm_family_test.cpp.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"
#include "weight_util.hpp"

namespace dshal::conformance {
namespace {

constexpr uint64_t kArenaBytes = uint64_t(1) << 30;
constexpr uint64_t kPastBindingRange = uint64_t(128) << 20;  // every weight below is larger

class LargeWeights : public DeviceTest {
 protected:
  void SetUp() override {
    const uint64_t max_alloc = dev().properties().max_alloc_bytes;
    if (max_alloc < kArenaBytes) GTEST_SKIP() << id() << " allocates at most " << max_alloc << " bytes in one buffer";
    DSHAL_ASSERT_OK(dev().alloc(kArenaBytes, &arena_));
    top_ = kArenaBytes;
  }

  // Copies bytes into the arena below everything placed so far (4 KiB aligned); returns the offset.
  uint64_t place(const std::vector<std::byte>& bytes) {
    top_ = (top_ - bytes.size()) / 4096 * 4096;
    Status st = str().copy_h2d(bytes.data(), arena_, top_, bytes.size());
    if (st.ok()) st = str().synchronize();
    EXPECT_TRUE(st.ok()) << st.to_string();
    return top_;
  }

  // w's data and scales placed in the arena, as a dshal_weight.
  dshal_weight place_weight(const HostWeight& w) {
    EXPECT_GT(w.bytes.size(), kPastBindingRange);
    dshal_weight x{};
    x.buffer = arena_.handle();
    x.offset = place(w.bytes);
    x.dtype = w.t;
    x.ld = w.ld;
    if (quantized(w.t)) {
      x.scales = arena_.handle();
      x.scales_offset = place(w.scales);
      x.block_n = w.bn;
      x.block_k = w.bk;
    }
    return x;
  }

  Buffer arena_;
  uint64_t top_ = 0;
};

TEST_P(LargeWeights, Gemm) {
  const uint64_t m = 3, n = 4736, k = 7168;  // B is 136 MB of f32
  const HostWeight w = make_weight(F32, 1, n, k, 0, 0, 0, 11);
  const dshal_weight wd = place_weight(w);
  const std::vector<float> a = random_values(m * k, 12);
  Buffer A = upload(id(), a);
  Output C(id(), m, n, F32, 13);
  auto d = desc<dshal_gemm_desc>();
  d.m = m;
  d.n = n;
  d.k = k;
  d.batch = 1;
  d.a = matrix(A, F32, k);
  d.b = matrix(arena_, F32, k, wd.offset);
  d.trans_b = 1;
  d.c = matrix(C.buf.buffer(), F32, n, C.buf.offset());
  d.alpha = 1;
  DSHAL_ASSERT_OK(str().gemm(d));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> c = decode(C.buf.read_checked(), F32);
  check_rows(a, k, w, {{0, 0}, {1, 0}, {2, 0}}, 1.0f, 0.0f, C.c0, c, n, F32, "gemm with a 136 MB weight");
}

TEST_P(LargeWeights, GemmQuantFp8) {
  const uint64_t m = 2, n = 11648, k = 11648;  // 136 MB of fp8 codes, 91 x 91 block scales
  const HostWeight w = make_weight(FP8, 1, n, k, 0, 128, 128, 21);
  const std::vector<float> a = random_values(m * k, 22, BF16);
  const std::vector<std::byte> a_raw = encode(a, BF16);
  Buffer A = upload_bytes(id(), a_raw.data(), a_raw.size());
  Output C(id(), m, n, F32, 23);
  auto d = desc<dshal_gemm_quant_desc>();
  d.m = m;
  d.n = n;
  d.k = k;
  d.alpha = 1;
  d.a = matrix(A, BF16, k);
  d.w = place_weight(w);
  d.c = matrix(C.buf.buffer(), F32, n, C.buf.offset());
  DSHAL_ASSERT_OK(str().gemm_quant(d));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> c = decode(C.buf.read_checked(), F32);
  check_rows(a, k, w, {{0, 0}, {1, 0}}, 1.0f, 0.0f, C.c0, c, n, F32, "gemm_quant with a 136 MB fp8 weight");
}

TEST_P(LargeWeights, GroupedGemmBf16) {
  const std::vector<int32_t> offsets{0, 1, 1, 3, 4};  // 4 experts of 2048 x 8960 bf16: 147 MB
  const uint64_t n = 2048, k = 8960, m = 4, groups = offsets.size() - 1;
  const HostWeight w = make_weight(BF16, groups, n, k, 0, 0, 0, 31);
  const std::vector<float> a = random_values(m * k, 32, BF16);
  const std::vector<std::byte> a_raw = encode(a, BF16);
  Buffer A = upload_bytes(id(), a_raw.data(), a_raw.size());
  Buffer O = upload(id(), offsets);
  Output C(id(), m, n, F32, 33);
  auto d = desc<dshal_grouped_gemm_desc>();
  d.groups = groups;
  d.m = m;
  d.n = n;
  d.k = k;
  d.a = matrix(A, BF16, k);
  d.w = place_weight(w);
  d.w_group_stride_bytes = w.stride;
  d.offsets = ref(O);
  d.c = matrix(C.buf.buffer(), F32, n, C.buf.offset());
  DSHAL_ASSERT_OK(str().grouped_gemm(d));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> c = decode(C.buf.read_checked(), F32);
  check_rows(a, k, w, {{0, 0}, {1, 2}, {2, 2}, {3, 3}}, 1.0f, 0.0f, C.c0, c, n, F32,
             "grouped_gemm with 147 MB of expert weights");
}

TEST_P(LargeWeights, Embedding) {
  const uint64_t vocab = 36000, hidden = 1024;  // 147 MB of f32
  const std::vector<float> table = random_values(vocab * hidden, 41);
  const std::vector<std::byte> raw = encode(table, F32);
  ASSERT_GT(raw.size(), kPastBindingRange);
  const uint64_t at = place(raw);
  const std::vector<int32_t> ids{int32_t(vocab - 1), 0, int32_t(vocab / 2), 12345, int32_t(vocab - 2)};
  Buffer I = upload(id(), ids);
  GuardedInit out(id(), std::vector<float>(ids.size() * hidden, 0.0f), F32);
  auto d = desc<dshal_embedding_desc>();
  d.tokens = ids.size();
  d.vocab = vocab;
  d.hidden = hidden;
  d.table = tensor(arena_, F32, hidden, at);
  d.ids = ref(I);
  d.out = out.view(F32, hidden);
  DSHAL_ASSERT_OK(str().embedding(d));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> got = decode(out.buf.read_checked(), F32);
  for (size_t t = 0; t < ids.size(); ++t)
    for (uint64_t h = 0; h < hidden; ++h)
      ASSERT_TRUE(same_bits(got[t * hidden + h], table[uint64_t(ids[t]) * hidden + h]))
          << "out row " << t << " (id " << ids[t] << ") column " << h;
}

DSHAL_INSTANTIATE(ops, LargeWeights);

}  // namespace
}  // namespace dshal::conformance
