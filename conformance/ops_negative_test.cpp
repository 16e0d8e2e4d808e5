// ops tier: each optional op's descriptor checks. Every case starts from a descriptor that runs,
// changes one thing, and expects DSHAL_ERROR_INVALID_ARGUMENT from the call (never a crash, never
// deferred to synchronize) with a message that names the offending argument.
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"

namespace dshal::conformance {
namespace {

constexpr dshal_dtype I32 = DSHAL_DTYPE_I32, U8 = DSHAL_DTYPE_U8;

// INVALID_ARGUMENT, and the message mentions `names` (the argument).
#define EXPECT_INVALID(expr, names)                                                                         \
  do {                                                                                                      \
    const ::dshal::Status s_ = (expr);                                                                      \
    EXPECT_EQ(s_.code(), DSHAL_ERROR_INVALID_ARGUMENT) << #expr << " gave " << s_.to_string();               \
    EXPECT_NE(s_.message().find(names), std::string::npos)                                                  \
        << #expr << ": the message \"" << s_.message() << "\" does not name " << (names);                  \
  } while (0)

class OpsNegative : public DeviceTest {
 protected:
  // A zeroed buffer of bytes.
  Buffer zeros(uint64_t bytes) { return upload(id(), std::vector<uint8_t>(bytes, 0)); }
  void TearDown() override {
    const Status s = str().synchronize();  // nothing was enqueued by the failed calls; the valid ones ran
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
};

TEST_P(OpsNegative, GemmQuant) {
  Buffer a = zeros(4096), w = zeros(4096), sc = zeros(64), c = zeros(4096);
  auto valid = [&] {
    auto d = desc<dshal_gemm_quant_desc>();
    d.m = 2;
    d.n = 4;
    d.k = 8;
    d.alpha = 1;
    d.a = matrix(a, F32, 8);
    d.w = dshal_weight{w.handle(), 0, FP8, 8, sc.handle(), 0, 128, 128};
    d.c = matrix(c, F32, 4);
    return d;
  };
  DSHAL_ASSERT_OK(str().gemm_quant(valid()));
  auto d = valid();
  d.struct_size = sizeof(d) - 8;
  EXPECT_INVALID(str().gemm_quant(d), "struct_size");
  d = valid();
  d.w.dtype = BF16;  // gemm_quant takes fp8 or int4 weights only
  EXPECT_INVALID(str().gemm_quant(d), "w.dtype");
  d = valid();
  d.a.dtype = I32;
  EXPECT_INVALID(str().gemm_quant(d), "a.dtype");
  d = valid();
  d.c.dtype = FP8;
  EXPECT_INVALID(str().gemm_quant(d), "c.dtype");
  d = valid();
  d.a.ld = 7;  // below k
  EXPECT_INVALID(str().gemm_quant(d), "a.ld");
  d = valid();
  d.c.ld = 3;  // below n
  EXPECT_INVALID(str().gemm_quant(d), "c.ld");
  d = valid();
  d.w.ld = 9;  // quantized weights are dense: ld == k
  EXPECT_INVALID(str().gemm_quant(d), "w.ld");
  d = valid();
  d.w.block_k = 0;
  EXPECT_INVALID(str().gemm_quant(d), "block");
  d = valid();
  d.w.dtype = INT4;
  d.w.block_n = 2;  // int4 scales are per row
  d.w.block_k = 32;
  EXPECT_INVALID(str().gemm_quant(d), "block_n");
  d = valid();
  d.w.dtype = INT4;
  d.w.block_n = 1;
  d.w.block_k = 32;
  d.k = d.a.ld = d.w.ld = 7;  // odd K cannot be packed two per byte
  EXPECT_INVALID(str().gemm_quant(d), "k");
  d = valid();
  d.m = 600;  // A (600 x 8 f32) does not fit in 4096 bytes
  EXPECT_INVALID(str().gemm_quant(d), "a");
  d = valid();
  d.n = 300;  // 3 x 1 scale blocks: 12 bytes fit; weight 300 x 8 fits; C 2 x 300 f32 fits; scales at offset 60 do not
  d.c.ld = 300;
  d.w.scales_offset = 60;
  EXPECT_INVALID(str().gemm_quant(d), "w.scales");
  d = valid();
  d.c.offset = 2;  // not f32-aligned
  EXPECT_INVALID(str().gemm_quant(d), "c.offset");
}

// Bad values that live in device memory (positions, group offsets) cannot be checked by hal: the
// op itself, or the next synchronize, reports them once; the stream then works again.
void expect_reported_once(const Stream& s, const Status& call) {
  const Status first = call.ok() ? s.synchronize() : call;
  EXPECT_EQ(first.code(), DSHAL_ERROR_INVALID_ARGUMENT) << "the bad value was not reported: " << first.to_string();
  EXPECT_FALSE(first.message().empty()) << "an error needs a message";
  const Status next = s.synchronize();
  EXPECT_TRUE(next.ok()) << "reported twice: " << next.to_string();
}

TEST_P(OpsNegative, GroupedGemm) {
  Buffer a = zeros(4096), w = zeros(4096), c = zeros(4096);
  Buffer off = upload(id(), std::vector<int32_t>{0, 1, 2});
  auto valid = [&] {
    auto d = desc<dshal_grouped_gemm_desc>();
    d.groups = 2;
    d.m = 2;
    d.n = 4;
    d.k = 8;
    d.a = matrix(a, F32, 8);
    d.w = dshal_weight{w.handle(), 0, F32, 8, nullptr, 0, 0, 0};
    d.w_group_stride_bytes = 4 * 8 * 4;
    d.offsets = ref(off);
    d.c = matrix(c, F32, 4);
    return d;
  };
  DSHAL_ASSERT_OK(str().grouped_gemm(valid()));
  auto d = valid();
  d.struct_size = 4;
  EXPECT_INVALID(str().grouped_gemm(d), "struct_size");
  d = valid();
  d.groups = 0;
  EXPECT_INVALID(str().grouped_gemm(d), "groups");
  d = valid();
  d.w_group_stride_bytes = 6;  // not a multiple of the f32 size
  EXPECT_INVALID(str().grouped_gemm(d), "w_group_stride_bytes");
  d = valid();
  d.w.ld = 7;
  EXPECT_INVALID(str().grouped_gemm(d), "w.ld");
  d = valid();
  d.a.ld = 7;
  EXPECT_INVALID(str().grouped_gemm(d), "a.ld");
  d = valid();
  d.c.ld = 3;
  EXPECT_INVALID(str().grouped_gemm(d), "c.ld");
  d = valid();
  d.groups = 3;  // offsets holds 3 I32, 4 are needed
  EXPECT_INVALID(str().grouped_gemm(d), "offsets");
  d = valid();
  d.w_group_stride_bytes = 4000;  // the second group's weight ends past the buffer
  EXPECT_INVALID(str().grouped_gemm(d), "w");
  for (const std::vector<int32_t>& bad : {std::vector<int32_t>{0, 2, 1}, std::vector<int32_t>{-1, 1, 2},
                                          std::vector<int32_t>{0, 1, 3}}) {
    SCOPED_TRACE(fmt::format("offsets {}", fmt::join(bad, ",")));
    Buffer bad_offsets = upload(id(), bad);
    d = valid();
    d.offsets = ref(bad_offsets);
    expect_reported_once(str(), str().grouped_gemm(d));
  }
  d = valid();
  d.w.dtype = U8;
  EXPECT_INVALID(str().grouped_gemm(d), "w.dtype");
  d = valid();
  d.a.dtype = FP8;
  EXPECT_INVALID(str().grouped_gemm(d), "a.dtype");
}

TEST_P(OpsNegative, RmsNorm) {
  Buffer x = zeros(1024), w = zeros(64), o = zeros(1024);
  auto valid = [&] {
    auto d = desc<dshal_rms_norm_desc>();
    d.rows = 4;
    d.cols = 16;
    d.eps = 1e-6f;
    d.x = tensor(x, F32, 16);
    d.weight = tensor(w, F32, 0);
    d.out = tensor(o, F32, 16);
    return d;
  };
  DSHAL_ASSERT_OK(str().rms_norm(valid()));
  auto d = valid();
  d.struct_size = 0;
  EXPECT_INVALID(str().rms_norm(d), "struct_size");
  d = valid();
  d.x.dtype = I32;
  EXPECT_INVALID(str().rms_norm(d), "x.dtype");
  d = valid();
  d.weight.dtype = FP8;
  EXPECT_INVALID(str().rms_norm(d), "weight.dtype");
  d = valid();
  d.eps = -1;
  EXPECT_INVALID(str().rms_norm(d), "eps");
  d = valid();
  d.eps = std::numeric_limits<float>::quiet_NaN();
  EXPECT_INVALID(str().rms_norm(d), "eps");
  d = valid();
  d.x.ld = 15;
  EXPECT_INVALID(str().rms_norm(d), "x.ld");
  d = valid();
  d.out.ld = 8;
  EXPECT_INVALID(str().rms_norm(d), "out.ld");
  d = valid();
  d.rows = 17;  // 17 x 16 f32 = 1088 bytes > 1024
  EXPECT_INVALID(str().rms_norm(d), "x");
  d = valid();
  d.cols = d.x.ld = d.out.ld = 17;  // the weight (64 bytes) holds 16
  d.rows = 2;
  EXPECT_INVALID(str().rms_norm(d), "weight");
  d = valid();
  d.out.offset = 1000;
  EXPECT_INVALID(str().rms_norm(d), "out");
}

TEST_P(OpsNegative, Rope) {
  Buffer x = zeros(4096), pos = zeros(16), tab = zeros(8 * 8 * 4);
  auto valid = [&] {
    auto d = desc<dshal_rope_desc>();
    d.tokens = 4;
    d.heads = 2;
    d.dim = 16;
    d.max_position = 8;
    d.buffer = x.handle();
    d.dtype = F32;
    d.token_stride = 32;
    d.head_stride = 16;
    d.positions = ref(pos);
    d.cos_table = ref(tab);
    d.sin_table = ref(tab);
    return d;
  };
  DSHAL_ASSERT_OK(str().rope(valid()));
  auto d = valid();
  d.struct_size = 16;
  EXPECT_INVALID(str().rope(d), "struct_size");
  d = valid();
  d.dim = 15;  // pairs
  EXPECT_INVALID(str().rope(d), "dim");
  d = valid();
  d.max_position = 0;
  EXPECT_INVALID(str().rope(d), "max_position");
  d = valid();
  d.dtype = I32;
  EXPECT_INVALID(str().rope(d), "dtype");
  d = valid();
  d.head_stride = 8;  // heads would overlap
  EXPECT_INVALID(str().rope(d), "head_stride");
  d = valid();
  d.token_stride = 10;
  EXPECT_INVALID(str().rope(d), "token_stride");
  d = valid();
  d.tokens = 40;  // x: 40 x 32 f32 > 4096 bytes
  EXPECT_INVALID(str().rope(d), "x");
  d = valid();
  d.max_position = 9;  // tables hold 8 rows of dim / 2
  EXPECT_INVALID(str().rope(d), "cos_table");
  d = valid();
  d.positions.offset = 4;  // 4 I32 from byte 4 exceed 16 bytes
  EXPECT_INVALID(str().rope(d), "positions");
  for (int32_t bad : {8, -1}) {
    SCOPED_TRACE(fmt::format("position {}", bad));
    Buffer bad_positions = upload(id(), std::vector<int32_t>{0, 3, bad, 7});
    d = valid();
    d.positions = ref(bad_positions);
    expect_reported_once(str(), str().rope(d));
  }
}

TEST_P(OpsNegative, Softmax) {
  Buffer x = zeros(1024), o = zeros(1024);
  auto valid = [&] {
    auto d = desc<dshal_softmax_desc>();
    d.rows = 4;
    d.cols = 16;
    d.scale = 1;
    d.x = tensor(x, F32, 16);
    d.out = tensor(o, F32, 16);
    return d;
  };
  DSHAL_ASSERT_OK(str().softmax(valid()));
  auto d = valid();
  d.struct_size = sizeof(d) - 1;
  EXPECT_INVALID(str().softmax(d), "struct_size");
  d = valid();
  d.causal = 2;
  EXPECT_INVALID(str().softmax(d), "causal");
  d = valid();
  d.causal = 1;
  d.row_period = 0;
  EXPECT_INVALID(str().softmax(d), "row_period");
  d = valid();
  d.x.ld = 4;
  EXPECT_INVALID(str().softmax(d), "x.ld");
  d = valid();
  d.out.dtype = INT4;
  EXPECT_INVALID(str().softmax(d), "out.dtype");
  d = valid();
  d.rows = 100;
  EXPECT_INVALID(str().softmax(d), "x");
}

TEST_P(OpsNegative, SiluMul) {
  Buffer g = zeros(1024), u = zeros(1024), o = zeros(1024);
  auto valid = [&] {
    auto d = desc<dshal_silu_mul_desc>();
    d.rows = 4;
    d.cols = 16;
    d.gate = tensor(g, F32, 16);
    d.up = tensor(u, F32, 16);
    d.out = tensor(o, F32, 16);
    return d;
  };
  DSHAL_ASSERT_OK(str().silu_mul(valid()));
  auto d = valid();
  d.struct_size = 1;
  EXPECT_INVALID(str().silu_mul(d), "struct_size");
  d = valid();
  d.up.ld = 15;
  EXPECT_INVALID(str().silu_mul(d), "up.ld");
  d = valid();
  d.gate.dtype = U8;
  EXPECT_INVALID(str().silu_mul(d), "gate.dtype");
  d = valid();
  d.out.offset = 800;
  EXPECT_INVALID(str().silu_mul(d), "out");
}

TEST_P(OpsNegative, MoeRoute) {
  Buffer l = zeros(4 * 16 * 4), b = zeros(16 * 4), ids = zeros(4 * 4 * 4), w = zeros(4 * 4 * 4);
  auto valid = [&] {
    auto d = desc<dshal_moe_route_desc>();
    d.tokens = 4;
    d.experts = 16;
    d.top_k = 4;
    d.scoring = DSHAL_MOE_SCORING_SIGMOID;
    d.method = DSHAL_MOE_TOPK_NOAUX_TC;
    d.n_group = 4;
    d.topk_group = 2;
    d.norm_topk_prob = 1;
    d.routed_scaling_factor = 2.5f;
    d.logits = tensor(l, F32, 16);
    d.bias = ref(b);
    d.topk_ids = ref(ids);
    d.topk_weights = ref(w);
    return d;
  };
  DSHAL_ASSERT_OK(str().moe_route(valid()));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().moe_route(d), "struct_size");
  d = valid();
  d.logits.dtype = BF16;  // router logits are f32
  EXPECT_INVALID(str().moe_route(d), "logits.dtype");
  d = valid();
  d.scoring = static_cast<dshal_moe_scoring>(5);
  EXPECT_INVALID(str().moe_route(d), "scoring");
  d.scoring = static_cast<dshal_moe_scoring>(-1);
  EXPECT_INVALID(str().moe_route(d), "scoring");
  d = valid();
  d.method = static_cast<dshal_moe_topk_method>(7);
  EXPECT_INVALID(str().moe_route(d), "method");
  d = valid();
  d.experts = 0;
  EXPECT_INVALID(str().moe_route(d), "experts");
  d = valid();
  d.top_k = 0;
  EXPECT_INVALID(str().moe_route(d), "top_k");
  d = valid();
  d.method = DSHAL_MOE_TOPK_GREEDY;
  d.top_k = 17;  // more than the experts
  EXPECT_INVALID(str().moe_route(d), "top_k");
  d = valid();
  d.n_group = 3;  // does not divide 16
  EXPECT_INVALID(str().moe_route(d), "n_group");
  d = valid();
  d.n_group = 0;
  EXPECT_INVALID(str().moe_route(d), "n_group");
  d = valid();
  d.topk_group = 5;  // more than n_group
  EXPECT_INVALID(str().moe_route(d), "topk_group");
  d = valid();
  d.topk_group = 0;
  EXPECT_INVALID(str().moe_route(d), "topk_group");
  d = valid();
  d.topk_group = 1;  // one group of 4 experts cannot give top_k 5
  d.top_k = 5;
  EXPECT_INVALID(str().moe_route(d), "top_k");
  d = valid();
  d.n_group = 16;  // noaux_tc scores groups by their top 2: groups of one expert cannot be
  d.topk_group = 4;
  EXPECT_INVALID(str().moe_route(d), "group");
  d = valid();
  d.logits.ld = 15;
  EXPECT_INVALID(str().moe_route(d), "logits.ld");
  d = valid();
  d.tokens = 5;  // topk_ids / logits hold 4 tokens
  EXPECT_INVALID(str().moe_route(d), "logits");
  d = valid();
  d.bias.offset = 8;  // 16 f32 from byte 8 exceed 64 bytes
  EXPECT_INVALID(str().moe_route(d), "bias");
  d = valid();
  d.topk_weights.offset = 4;
  EXPECT_INVALID(str().moe_route(d), "topk_weights");
}

TEST_P(OpsNegative, MoePermute) {
  Buffer x = zeros(4 * 8 * 4), ids = zeros(4 * 2 * 4), o = zeros(8 * 8 * 4), off = zeros(5 * 4), perm = zeros(8 * 4);
  auto valid = [&] {
    auto d = desc<dshal_moe_permute_desc>();
    d.tokens = 4;
    d.top_k = 2;
    d.experts = 4;
    d.hidden = 8;
    d.x = tensor(x, F32, 8);
    d.topk_ids = ref(ids);
    d.out = tensor(o, F32, 8);
    d.expert_offsets = ref(off);
    d.perm = ref(perm);
    return d;
  };
  DSHAL_ASSERT_OK(str().moe_permute(valid()));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().moe_permute(d), "struct_size");
  d = valid();
  d.out.dtype = BF16;  // out has x's type
  EXPECT_INVALID(str().moe_permute(d), "out.dtype");
  d = valid();
  d.experts = 0;
  EXPECT_INVALID(str().moe_permute(d), "experts");
  d = valid();
  d.top_k = 0;
  EXPECT_INVALID(str().moe_permute(d), "top_k");
  d = valid();
  d.x.ld = 7;
  EXPECT_INVALID(str().moe_permute(d), "x.ld");
  d = valid();
  d.experts = 5;  // expert_offsets holds 5 I32, 6 are needed
  EXPECT_INVALID(str().moe_permute(d), "expert_offsets");
  d = valid();
  d.perm.offset = 4;
  EXPECT_INVALID(str().moe_permute(d), "perm");
  d = valid();
  d.tokens = uint64_t(1) << 31;  // tokens * top_k beyond the I32 range of perm
  EXPECT_INVALID(str().moe_permute(d), "perm");
}

TEST_P(OpsNegative, MoeUnpermute) {
  Buffer y = zeros(8 * 8 * 4), perm = upload(id(), std::vector<int32_t>(8, -1)), w = zeros(8 * 4), o = zeros(4 * 8 * 4);
  auto valid = [&] {
    auto d = desc<dshal_moe_unpermute_desc>();
    d.tokens = 4;
    d.top_k = 2;
    d.hidden = 8;
    d.y = tensor(y, F32, 8);
    d.perm = ref(perm);
    d.weights = ref(w);
    d.out = tensor(o, F32, 8);
    return d;
  };
  DSHAL_ASSERT_OK(str().moe_unpermute(valid()));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().moe_unpermute(d), "struct_size");
  d = valid();
  d.top_k = 0;
  EXPECT_INVALID(str().moe_unpermute(d), "top_k");
  d = valid();
  d.accumulate = 2;
  EXPECT_INVALID(str().moe_unpermute(d), "accumulate");
  d = valid();
  d.y.dtype = FP8;
  EXPECT_INVALID(str().moe_unpermute(d), "y.dtype");
  d = valid();
  d.out.ld = 4;
  EXPECT_INVALID(str().moe_unpermute(d), "out.ld");
  d = valid();
  d.weights.offset = 4;
  EXPECT_INVALID(str().moe_unpermute(d), "weights");
  d = valid();
  d.top_k = 3;  // y, perm and weights hold 8 slots, 12 are needed
  EXPECT_INVALID(str().moe_unpermute(d), "y");
}

TEST_P(OpsNegative, Embedding) {
  Buffer t = zeros(10 * 8 * 4), ids = zeros(4 * 4), o = zeros(4 * 8 * 4);
  auto valid = [&] {
    auto d = desc<dshal_embedding_desc>();
    d.tokens = 4;
    d.vocab = 10;
    d.hidden = 8;
    d.table = tensor(t, F32, 8);
    d.ids = ref(ids);
    d.out = tensor(o, F32, 8);
    return d;
  };
  DSHAL_ASSERT_OK(str().embedding(valid()));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().embedding(d), "struct_size");
  d = valid();
  d.vocab = 0;
  EXPECT_INVALID(str().embedding(d), "vocab");
  d = valid();
  d.vocab = uint64_t(1) << 32;  // beyond the I32 ids
  EXPECT_INVALID(str().embedding(d), "vocab");
  d = valid();
  d.vocab = 11;  // the table holds 10 rows
  EXPECT_INVALID(str().embedding(d), "table");
  d = valid();
  d.table.ld = 7;
  EXPECT_INVALID(str().embedding(d), "table.ld");
  d = valid();
  d.table.dtype = I32;
  EXPECT_INVALID(str().embedding(d), "table.dtype");
  d = valid();
  d.tokens = 5;
  EXPECT_INVALID(str().embedding(d), "ids");
}

TEST_P(OpsNegative, Elementwise) {
  Buffer a = zeros(400), b = zeros(400), o = zeros(400);
  auto valid = [&] {
    auto d = desc<dshal_elementwise_desc>();
    d.op = DSHAL_ELEMENTWISE_ADD;
    d.n = 100;
    d.a = tensor(a, F32, 0);
    d.b = tensor(b, F32, 0);
    d.out = tensor(o, F32, 0);
    return d;
  };
  DSHAL_ASSERT_OK(str().elementwise(valid()));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().elementwise(d), "struct_size");
  d = valid();
  d.op = static_cast<dshal_elementwise_op>(9);
  EXPECT_INVALID(str().elementwise(d), "op");
  d.op = static_cast<dshal_elementwise_op>(-1);
  EXPECT_INVALID(str().elementwise(d), "op");
  d = valid();
  d.a.dtype = I32;
  EXPECT_INVALID(str().elementwise(d), "a.dtype");
  d = valid();
  d.b.dtype = FP8;
  EXPECT_INVALID(str().elementwise(d), "b.dtype");
  d = valid();
  d.n = 101;
  EXPECT_INVALID(str().elementwise(d), "a");
  d = valid();
  d.out.offset = 4;
  EXPECT_INVALID(str().elementwise(d), "out");
  // SCALE and CAST do not read b: whatever b holds is fine.
  d = valid();
  d.op = DSHAL_ELEMENTWISE_SCALE;
  d.alpha = 2;
  d.b = dshal_tensor{nullptr, 0, DSHAL_DTYPE_INVALID, 0};
  DSHAL_ASSERT_OK(str().elementwise(d));
  d.op = DSHAL_ELEMENTWISE_CAST;
  d.out.dtype = BF16;
  DSHAL_ASSERT_OK(str().elementwise(d));
}

TEST_P(OpsNegative, Attention) {
  // Absorbed decode: q [1][4][576], cache [8][576], out [1][4][512], all f32.
  Buffer q = zeros(4 * 576 * 4), kv = zeros(8 * 576 * 4), o = zeros(4 * 512 * 4);
  auto valid = [&] {
    auto d = desc<dshal_attention_desc>();
    d.mode = DSHAL_ATTENTION_ABSORBED;
    d.q_len = 1;
    d.kv_len = 8;
    d.heads = 4;
    d.kv_heads = 1;
    d.qk_dim = 576;
    d.v_dim = 512;
    d.scale = 0.07f;
    d.causal = 1;
    d.q_offset = 7;
    d.q = dshal_attention_view{q.handle(), 0, F32, 4 * 576, 576};
    d.k = dshal_attention_view{kv.handle(), 0, F32, 576, 576};
    d.v = dshal_attention_view{kv.handle(), 0, F32, 576, 576};
    d.out = dshal_attention_view{o.handle(), 0, F32, 4 * 512, 512};
    return d;
  };
  DSHAL_ASSERT_OK(str().attention(valid()));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().attention(d), "struct_size");
  d = valid();
  d.kv_heads = 2;  // absorbed: one latent cache
  d.heads = 4;
  d.k.head_stride = d.v.head_stride = 0;
  EXPECT_INVALID(str().attention(d), "kv_heads");
  d = valid();
  d.mode = DSHAL_ATTENTION_NAIVE;
  d.kv_heads = 3;  // does not divide heads = 4
  EXPECT_INVALID(str().attention(d), "kv_heads");
  d = valid();
  d.mode = static_cast<dshal_attention_mode>(5);
  EXPECT_INVALID(str().attention(d), "mode");
  d.mode = static_cast<dshal_attention_mode>(0x7fffffff);
  EXPECT_INVALID(str().attention(d), "mode");
  d = valid();
  d.causal = 2;
  EXPECT_INVALID(str().attention(d), "causal");
  d = valid();
  d.qk_dim = 0;
  EXPECT_INVALID(str().attention(d), "qk_dim");
  d = valid();
  d.kv_len = 0;
  EXPECT_INVALID(str().attention(d), "kv_len");
  d = valid();
  d.heads = 0;
  EXPECT_INVALID(str().attention(d), "heads");
  d = valid();
  d.q.dtype = I32;
  EXPECT_INVALID(str().attention(d), "q.dtype");
  d = valid();
  d.kv_len = 9;  // the cache holds 8 rows
  EXPECT_INVALID(str().attention(d), "k");
  d = valid();
  d.out.token_stride = d.out.head_stride = 600;
  d.q_len = 2;  // out: 2 tokens x 4 heads do not fit
  d.q.token_stride = 0;
  EXPECT_INVALID(str().attention(d), "out");
}

TEST_P(OpsNegative, PrepackWeight) {
  Buffer w = zeros(4096), sc = zeros(64);
  auto valid = [&] {
    auto d = desc<dshal_prepack_desc>();
    d.groups = 2;
    d.n = 8;
    d.k = 16;
    d.w = dshal_weight{w.handle(), 0, FP8, 16, sc.handle(), 0, 128, 128};
    d.w_group_stride_bytes = 8 * 16;
    return d;
  };
  Buffer packed;
  DSHAL_ASSERT_OK(str().prepack_weight(valid(), &packed));
  EXPECT_TRUE(bool(packed));
  auto d = valid();
  d.struct_size = 8;
  EXPECT_INVALID(str().prepack_weight(d, &packed), "struct_size");
  EXPECT_FALSE(bool(packed)) << "a failed prepack must leave no buffer";
  d = valid();
  d.groups = 0;
  EXPECT_INVALID(str().prepack_weight(d, &packed), "groups");
  d = valid();
  d.n = 0;
  EXPECT_INVALID(str().prepack_weight(d, &packed), "n");
  d = valid();
  d.w.dtype = I32;
  EXPECT_INVALID(str().prepack_weight(d, &packed), "w.dtype");
  d = valid();
  d.w.ld = 17;
  EXPECT_INVALID(str().prepack_weight(d, &packed), "w.ld");
  d = valid();
  d.w_group_stride_bytes = 4000;  // the second group ends past the buffer
  EXPECT_INVALID(str().prepack_weight(d, &packed), "w");
}

TEST_P(OpsNegative, EmptyStreamHandle) {
  Stream empty;
  EXPECT_INVALID(empty.rms_norm(desc<dshal_rms_norm_desc>()), "");
  EXPECT_INVALID(empty.attention(desc<dshal_attention_desc>()), "");
  Buffer out;
  EXPECT_INVALID(empty.prepack_weight(desc<dshal_prepack_desc>(), &out), "");
}

DSHAL_INSTANTIATE(ops, OpsNegative);

}  // namespace
}  // namespace dshal::conformance
