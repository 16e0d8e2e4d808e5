// ops tier: attention in both MLA forms (NAIVE: per-head K and V; ABSORBED: one latent cache with V
// a view of its first v_dim columns), decode (q_len 1) and causal prefill with q_offset, against an
// fp64 reference written here. Every view is strided; elements of the buffers outside the views are
// NaN (reading them poisons the result); the output sits in guard bytes and its padding must stay.
//
// Tolerance, for query t, head h, output column c (u = 2^-24):
//   scores: s_j = scale * q.k_j is a dot of D = qk_dim terms: |ds_j| <= Es = 2 (D + 2) u |scale| max_j sum_d |q_d k_jd|
//   softmax: perturbing every s_j by at most Es changes each p_j by at most 2 Es relative; exp, the
//     running max / rescaling and the normalizing sum over kv_len keys add (2 kv_len + 20) u relative
//   output: sum_j p_j v_jc adds (kv_len + 2) u sum_j p_j |v_jc|
//   => |err| <= 2 (2 Es + (3 kv_len + 22) u) sum_j p_j |v_jc|  + output rounding (2^-8 bf16, 2^-11 f16).
// This holds for any f32 evaluation order (flash-style or not); it does not allow rounding P or the
// scores to bf16 / f16 on the way, which adapter.h ("accumulation in f32") does not allow either.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"
#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

constexpr auto NAIVE = DSHAL_ATTENTION_NAIVE, ABSORBED = DSHAL_ATTENTION_ABSORBED;

// A [tokens][heads][width] view inside a host array: element (t, h, c) at off + t * ts + h * hs + c.
struct View {
  std::vector<float> data;
  uint64_t off = 0, ts = 0, hs = 0;
  float at(uint64_t t, uint64_t h, uint64_t c) const { return data[off + t * ts + h * hs + c]; }
};

// Random values (rounded to dt) in the view, NaN everywhere else; pad elements between heads,
// between tokens and before the first element.
View make_view(uint64_t tokens, uint64_t heads, uint64_t width, uint64_t pad, uint64_t seed, dshal_dtype dt) {
  View v;
  v.hs = width + pad;
  v.ts = heads * v.hs + pad;
  v.off = pad;
  v.data.assign(v.off + tokens * v.ts, std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> r = random_values(tokens * heads * width, seed, dt);
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t h = 0; h < heads; ++h)
      std::copy_n(r.begin() + (t * heads + h) * width, width, v.data.begin() + v.off + t * v.ts + h * v.hs);
  return v;
}

dshal_attention_view device_view(const Buffer& b, dshal_dtype t, const View& v, uint64_t extra_off = 0) {
  return dshal_attention_view{b.handle(), storage_bytes(t, v.off + extra_off), t, v.ts, v.hs};
}

struct AttnCase {
  const char* name;
  dshal_attention_mode mode;
  uint64_t q_len, kv_len, heads, kv_heads, qk_dim, v_dim;
  dshal_dtype t, ot;  // q, k, v type; out type
  float scale;
  uint32_t causal;
  uint64_t q_offset;
  uint64_t pad;  // padding of every view (heads, tokens, start)
  int v_layout;  // 0: V in a buffer of its own; 1: V = K's first v_dim columns; 2: V = columns [128, 128 + v_dim) of a kv_b_proj output
};

const std::vector<AttnCase>& attn_cases() {
  static const float ds_scale = float(1.0 / std::sqrt(192.0));  // DeepSeek: 1 / sqrt(qk_nope + qk_rope)
  static const std::vector<AttnCase> v = {
      // NAIVE, DeepSeek dims: qk 192 (nope 128 + rope 64), v 128.
      {"naive_decode_f32", NAIVE, 1, 37, 4, 4, 192, 128, F32, F32, ds_scale, 0, 36, 0, 0},
      {"naive_decode_causal_f32_strided", NAIVE, 1, 37, 4, 4, 192, 128, F32, F32, ds_scale, 1, 36, 3, 0},
      {"naive_prefill_causal_f32_strided", NAIVE, 7, 12, 3, 3, 192, 128, F32, F32, ds_scale, 1, 5, 2, 0},
      {"naive_prefill_causal_bf16", NAIVE, 16, 16, 2, 2, 192, 128, BF16, BF16, ds_scale, 1, 0, 0, 0},
      {"naive_prefill_bf16_in_f32_out_v_view", NAIVE, 3, 10, 2, 2, 192, 128, BF16, F32, ds_scale, 1, 7, 1, 2},
      {"naive_not_causal_prefill", NAIVE, 5, 9, 2, 2, 64, 48, F32, F32, 0.125f, 0, 0, 1, 0},
      {"naive_sharp_scores", NAIVE, 4, 20, 2, 2, 64, 32, F32, F32, 0.6f, 1, 16, 0, 0},
      {"naive_f16", NAIVE, 4, 11, 2, 2, 40, 24, F16, F16, 0.2f, 1, 7, 2, 0},
      {"naive_kv_len_1", NAIVE, 1, 1, 3, 3, 16, 8, F32, F32, 0.25f, 1, 0, 0, 0},
      {"naive_prefill_causal_bf16_128x128", NAIVE, 128, 128, 4, 4, 192, 128, BF16, BF16, ds_scale, 1, 0, 0, 0},
      {"naive_grouped_kv_heads", NAIVE, 2, 9, 6, 2, 32, 24, F32, F32, 0.2f, 1, 7, 1, 0},
      // ABSORBED, DeepSeek dims: qk 576 (kv_lora 512 + rope 64), v 512 = the cache's first columns.
      {"absorbed_decode_f32", ABSORBED, 1, 50, 16, 1, 576, 512, F32, F32, ds_scale, 0, 49, 0, 1},
      {"absorbed_decode_causal_f32_strided", ABSORBED, 1, 50, 16, 1, 576, 512, F32, F32, ds_scale, 1, 49, 3, 1},
      {"absorbed_decode_bf16_128heads", ABSORBED, 1, 300, 128, 1, 576, 512, BF16, F32, ds_scale, 1, 299, 0, 1},
      {"absorbed_prefill_causal_bf16", ABSORBED, 9, 20, 8, 1, 576, 512, BF16, BF16, ds_scale, 1, 11, 0, 1},
      {"absorbed_prefill_square_f32_strided", ABSORBED, 12, 12, 4, 1, 576, 512, F32, F32, ds_scale, 1, 0, 2, 1},
      {"absorbed_prefill_causal_bf16_64x512", ABSORBED, 64, 512, 8, 1, 576, 512, BF16, F32, ds_scale, 1, 448, 1, 1},
      {"absorbed_separate_v", ABSORBED, 3, 14, 4, 1, 96, 64, F32, F32, 0.1f, 1, 11, 1, 0},
  };
  return v;
}

using AttnParam = std::tuple<std::string, AttnCase>;
class Attention : public testing::TestWithParam<AttnParam> {};

TEST_P(Attention, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  for (dshal_dtype t : {g.t, g.ot})
    if (!(device(id).properties().storage_dtypes & DSHAL_DTYPE_BIT(t))) GTEST_SKIP() << id << " has no " << dtype_name(t) << " storage";
  const View q = make_view(g.q_len, g.heads, g.qk_dim, g.pad, 1, g.t);
  const View k = make_view(g.kv_len, g.kv_heads, g.qk_dim, g.pad, 2, g.t);
  View v;
  uint64_t v_col0 = 0;  // V's first column inside its heads
  if (g.v_layout == 1) {
    v = k;
  } else if (g.v_layout == 2) {
    // kv_b_proj output [kv_len][heads][128 nope | v_dim]: V is the second part of each head.
    v = make_view(g.kv_len, g.kv_heads, 128 + g.v_dim, g.pad, 3, g.t);
    v_col0 = 128;
  } else {
    v = make_view(g.kv_len, g.kv_heads, g.v_dim, g.pad, 3, g.t);
  }
  const View out0 = [&] {
    View o = make_view(g.q_len, g.heads, g.v_dim, g.pad, 4, g.ot);
    for (float& x : o.data)
      if (std::isnan(x)) x = 0.5f;  // padding of out: a value whose bits must survive
    return o;
  }();

  const std::vector<std::byte> q_raw = encode(q.data, g.t), k_raw = encode(k.data, g.t), v_raw = encode(v.data, g.t),
                               o_raw = encode(out0.data, g.ot);
  Buffer Q = upload_bytes(id, q_raw.data(), q_raw.size()), K = upload_bytes(id, k_raw.data(), k_raw.size()), V;
  if (g.v_layout != 1) V = upload_bytes(id, v_raw.data(), v_raw.size());
  Guarded O(id, o_raw.size());
  DSHAL_ASSERT_OK(stream(id).copy_h2d(o_raw.data(), O.buffer(), O.offset(), o_raw.size()));

  auto d = desc<dshal_attention_desc>();
  d.mode = g.mode;
  d.q_len = g.q_len;
  d.kv_len = g.kv_len;
  d.heads = g.heads;
  d.kv_heads = g.kv_heads;
  d.qk_dim = g.qk_dim;
  d.v_dim = g.v_dim;
  d.scale = g.scale;
  d.causal = g.causal;
  d.q_offset = g.q_offset;
  d.q = device_view(Q, g.t, q);
  d.k = device_view(K, g.t, k);
  d.v = g.v_layout == 1 ? d.k : device_view(V, g.t, v, v_col0);
  d.out = dshal_attention_view{O.handle(), O.offset() + storage_bytes(g.ot, out0.off), g.ot, out0.ts, out0.hs};
  DSHAL_ASSERT_OK(stream(id).attention(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> got_all = decode(O.read_checked(), g.ot);

  std::vector<double> ref, bound, s(g.kv_len), p(g.kv_len);
  std::vector<float> got;
  std::vector<bool> is_out(got_all.size(), false);
  for (uint64_t t = 0; t < g.q_len; ++t)
    for (uint64_t h = 0; h < g.heads; ++h) {
      const uint64_t kvh = h * g.kv_heads / g.heads;
      const uint64_t visible = g.causal ? std::min<uint64_t>(g.kv_len, t + g.q_offset + 1) : g.kv_len;
      double mx = -INFINITY, es = 0;
      for (uint64_t j = 0; j < visible; ++j) {
        double dot = 0, mag = 0;
        for (uint64_t c = 0; c < g.qk_dim; ++c) {
          const double x = double(q.at(t, h, c)) * k.at(j, kvh, c);
          dot += x;
          mag += std::fabs(x);
        }
        s[j] = double(g.scale) * dot;
        mx = std::max(mx, s[j]);
        es = std::max(es, 2.0 * double(g.qk_dim + 2) * kU * std::fabs(double(g.scale)) * mag);
      }
      double sum = 0;
      for (uint64_t j = 0; j < visible; ++j) sum += (p[j] = std::exp(s[j] - mx));
      for (uint64_t j = 0; j < visible; ++j) p[j] /= sum;
      const double rel = 2.0 * (2.0 * es + (3.0 * double(g.kv_len) + 22.0) * kU);
      for (uint64_t c = 0; c < g.v_dim; ++c) {
        double o = 0, mag = 0;
        for (uint64_t j = 0; j < visible; ++j) {
          const double vv = v.at(j, kvh, v_col0 + c);
          o += p[j] * vv;
          mag += p[j] * std::fabs(vv);
        }
        const uint64_t e = out0.off + t * out0.ts + h * out0.hs + c;
        ref.push_back(o);
        bound.push_back(rel * mag + out_rounding(g.ot) * std::fabs(o) + out_abs(g.ot));
        got.push_back(got_all[e]);
        is_out[e] = true;
      }
    }
  expect_within(compare(ref, got, bound), fmt::format("attention {}", g.name));
  const std::vector<float> before = decode(o_raw, g.ot);
  for (size_t e = 0; e < got_all.size(); ++e) {
    if (!is_out[e]) {
      ASSERT_EQ(std::memcmp(&before[e], &got_all[e], 4), 0) << "out element " << e << " outside the view was written";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ops, Attention, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(attn_cases())),
                         case_name<AttnCase>);

}  // namespace
}  // namespace dshal::conformance
