// attention's three thread bodies against hal/host's attention: MLA naive (a K and V per head) and
// absorbed (one latent K, V a view of its first v_dim columns), causal with a query offset (prefill
// after a cached prefix) and not, bf16 and f32 operands, and no keys at all. The host runs an
// online softmax over key blocks with its own exp, so outputs agree within 2e-5 of the largest
// |v| the row mixes (f32 rounding of both orders), plus one unit in the last place of a bf16 out.
#include "attention.hpp"
#include "test_support.hpp"

#include <cmath>

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;
using test::make_values;

struct Shape {
  dshal_attention_mode mode;
  dshal_dtype t;
  uint64_t q_len, kv_len, heads, qk_dim, v_dim;
  bool causal;
  uint64_t q_offset;
};

class Attention : public testing::TestWithParam<Shape> {};

TEST_P(Attention, MatchesHostKernel) {
  const Shape p = GetParam();
  const bool absorbed = p.mode == DSHAL_ATTENTION_ABSORBED;
  const uint64_t kv_heads = absorbed ? 1 : p.heads;
  // q [q_len][heads][qk]; naive: k [kv][heads][qk], v [kv][heads][v]; absorbed: k [kv][qk], v = k's first v_dim.
  const std::vector<std::byte> q = make_values(p.t, p.q_len * p.heads * p.qk_dim, 11, 1.0f);
  const std::vector<std::byte> k = make_values(p.t, std::max<uint64_t>(1, p.kv_len * kv_heads * p.qk_dim), 12, 1.0f);
  const std::vector<std::byte> v = absorbed ? k : make_values(p.t, std::max<uint64_t>(1, p.kv_len * kv_heads * p.v_dim), 13);
  const uint64_t v_token = absorbed ? p.qk_dim : kv_heads * p.v_dim, v_head = absorbed ? 0 : p.v_dim;
  const uint64_t out_elems = p.q_len * p.heads * p.v_dim;
  HostBytes hq(q.size()), hk(k.size()), hv(v.size()), ho(out_elems * elem_bytes(p.t));
  std::memcpy(hq.bytes.data(), q.data(), q.size());
  std::memcpy(hk.bytes.data(), k.data(), k.size());
  std::memcpy(hv.bytes.data(), v.data(), v.size());
  const float scale = 1.0f / std::sqrt(float(p.qk_dim));
  dshal_attention_desc d{sizeof d, p.mode, p.q_len, p.kv_len, p.heads, kv_heads, p.qk_dim, p.v_dim, scale,
                         uint32_t(p.causal), p.q_offset,
                         {hq.handle(), 0, p.t, p.heads * p.qk_dim, p.qk_dim},
                         {hk.handle(), 0, p.t, kv_heads * p.qk_dim, absorbed ? 0 : p.qk_dim},
                         {hv.handle(), 0, p.t, v_token, v_head},
                         {ho.handle(), 0, p.t, p.heads * p.v_dim, p.v_dim}};
  std::string error;
  ASSERT_EQ(host::attention(d, &error), DSHAL_OK) << error;

  std::vector<std::byte> out(out_elems * elem_bytes(p.t));
  std::vector<float> scores(std::max<uint64_t>(1, p.q_len * p.heads * p.kv_len));
  AttentionArgs a;
  a.q = {q.data(), p.t, p.heads * p.qk_dim, p.qk_dim};
  a.k = {k.data(), p.t, kv_heads * p.qk_dim, absorbed ? 0 : p.qk_dim};
  a.v = {v.data(), p.t, v_token, v_head};
  a.out = out.data();
  a.out_dtype = p.t;
  a.out_token_stride = p.heads * p.v_dim;
  a.out_head_stride = p.v_dim;
  a.q_len = p.q_len, a.kv_len = p.kv_len, a.heads = p.heads, a.kv_heads = kv_heads;
  a.qk_dim = p.qk_dim, a.v_dim = p.v_dim, a.scale = scale, a.causal = p.causal, a.q_offset = p.q_offset;
  a.scores = scores.data();
  if (p.kv_len > 0) {
    for_each_thread(attention_scores_shape(a), [&](Index3 b, Index3 t) { attention_scores_thread(b, t, attention_scores_shape(a).block, a); });
    for_each_thread(attention_softmax_shape(a), [&](Index3 b, Index3 t) { attention_softmax_thread(b, t, attention_softmax_shape(a).block, a); });
  }
  for_each_thread(attention_output_shape(a), [&](Index3 b, Index3 t) { attention_output_thread(b, t, attention_output_shape(a).block, a); });

  float max_v = 0;
  for (uint64_t i = 0; i < v.size() / elem_bytes(p.t); ++i) max_v = std::max(max_v, std::fabs(load(v.data(), p.t, i)));
  const float ulp = p.t == DSHAL_DTYPE_F32 ? 0.0f : 1.0f / 128;
  for (uint64_t i = 0; i < out_elems; ++i) {
    const float got = load(out.data(), p.t, i), want = load(ho.bytes.data(), p.t, i);
    ASSERT_LE(std::fabs(got - want), 2e-5f * max_v + ulp * std::fabs(want)) << "element " << i << ": host " << want;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Mla, Attention,
    testing::Values(Shape{DSHAL_ATTENTION_NAIVE, DSHAL_DTYPE_F32, 7, 7, 4, 24, 16, true, 0},      // prefill
                    Shape{DSHAL_ATTENTION_NAIVE, DSHAL_DTYPE_BF16, 3, 20, 2, 48, 32, true, 17},   // chunk after a prefix
                    Shape{DSHAL_ATTENTION_ABSORBED, DSHAL_DTYPE_F32, 1, 150, 16, 80, 64, true, 149},  // decode
                    Shape{DSHAL_ATTENTION_ABSORBED, DSHAL_DTYPE_BF16, 5, 40, 8, 80, 64, false, 0},
                    Shape{DSHAL_ATTENTION_NAIVE, DSHAL_DTYPE_F32, 2, 0, 2, 16, 8, false, 0}));  // no keys

}  // namespace
}  // namespace dshal::cuda::kernels
