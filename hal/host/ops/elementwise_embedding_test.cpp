// Tests of the elementwise and embedding host ops against fp64 references.
#include "host/ops/test_util.hpp"

#include <cmath>
#include <vector>

namespace dshal::host::test {
namespace {

// ---- elementwise ----------------------------------------------------------------------------------

enum class Alias { kNone, kOutIsA, kOutIsB };

void run_elementwise(dshal_elementwise_op op, dshal_dtype at, dshal_dtype bt, dshal_dtype ot, uint64_t n,
                     Alias alias = Alias::kNone) {
  SCOPED_TRACE(cat("elementwise op ", int(op), " ", dtype_name(at), ",", dtype_name(bt), "->", dtype_name(ot), " n ", n,
                   " alias ", int(alias)));
  const uint64_t a_off = 4, b_off = after(a_off + n * dtype_bytes(at), 12);
  uint64_t o_off = after(b_off + n * dtype_bytes(bt), 20);
  if (alias == Alias::kOutIsA) o_off = a_off, ot = at;
  if (alias == Alias::kOutIsB) o_off = b_off, ot = bt;
  Buffer buf(std::max(b_off + n * dtype_bytes(bt), o_off + n * dtype_bytes(ot)) + 4);
  std::vector<double> a(n), b(n);
  for (uint64_t i = 0; i < n; ++i) {
    a[i] = put(buf.data() + a_off, at, i, uniform(-100, 100));
    b[i] = put(buf.data() + b_off, bt, i, uniform(-3, 3));
  }
  dshal_elementwise_desc d{};
  d.struct_size = sizeof d;
  d.op = op;
  d.n = n;
  d.alpha = -0.37f;
  d.a = {buf.handle(), a_off, at, 0};
  d.b = {buf.handle(), b_off, bt, 0};
  d.out = {buf.handle(), o_off, ot, 0};
  WriteMask mask(buf.size());
  mask.allow(o_off, n * dtype_bytes(ot));
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(elementwise(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);
  Compare cmp(ot, 1e-7);
  for (uint64_t i = 0; i < n; ++i) {
    double ref = a[i];
    if (op == DSHAL_ELEMENTWISE_ADD) ref = float(a[i]) + float(b[i]);  // one f32 rounding, then the store's
    if (op == DSHAL_ELEMENTWISE_MUL) ref = float(a[i]) * float(b[i]);
    if (op == DSHAL_ELEMENTWISE_SCALE) ref = double(d.alpha) * a[i];
    cmp.add(get(buf.data() + o_off, ot, i), ref, {i});
  }
  cmp.expect_ok();
}

TEST(Elementwise, AddF32) { run_elementwise(DSHAL_ELEMENTWISE_ADD, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 5003); }
TEST(Elementwise, AddBf16Residual) {
  run_elementwise(DSHAL_ELEMENTWISE_ADD, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, 3001, Alias::kOutIsA);
}
TEST(Elementwise, AddMixedOutIsB) {
  run_elementwise(DSHAL_ELEMENTWISE_ADD, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 1025, Alias::kOutIsB);
}
TEST(Elementwise, MulMixed) { run_elementwise(DSHAL_ELEMENTWISE_MUL, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, 77); }
TEST(Elementwise, MulF16) { run_elementwise(DSHAL_ELEMENTWISE_MUL, DSHAL_DTYPE_F16, DSHAL_DTYPE_F16, DSHAL_DTYPE_F32, 64); }
TEST(Elementwise, ScaleF32InPlace) {
  run_elementwise(DSHAL_ELEMENTWISE_SCALE, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 4097, Alias::kOutIsA);
}
TEST(Elementwise, ScaleBf16) { run_elementwise(DSHAL_ELEMENTWISE_SCALE, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, 9); }
TEST(Elementwise, CastF32ToBf16) { run_elementwise(DSHAL_ELEMENTWISE_CAST, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, 2049); }
TEST(Elementwise, CastBf16ToF32) { run_elementwise(DSHAL_ELEMENTWISE_CAST, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 1000); }
TEST(Elementwise, CastF16ToBf16) { run_elementwise(DSHAL_ELEMENTWISE_CAST, DSHAL_DTYPE_F16, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, 33); }
TEST(Elementwise, CastSameTypeInPlace) {
  run_elementwise(DSHAL_ELEMENTWISE_CAST, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, 100, Alias::kOutIsA);
}

TEST(Elementwise, CastSameTypeKeepsNaNPayloadAndAddPropagatesNaN) {
  Buffer buf(64);
  const uint32_t nan_bits = 0x7fc01234u;
  std::memcpy(buf.as<float>(0), &nan_bits, 4);
  buf.as<float>(0)[1] = 1.0f;
  dshal_elementwise_desc d{};
  d.struct_size = sizeof d;
  d.op = DSHAL_ELEMENTWISE_CAST;
  d.n = 2;
  d.a = {buf.handle(), 0, DSHAL_DTYPE_F32, 0};
  d.out = {buf.handle(), 16, DSHAL_DTYPE_F32, 0};
  std::string error;
  ASSERT_EQ(elementwise(d, &error), DSHAL_OK);
  uint32_t got;
  std::memcpy(&got, buf.as<float>(16), 4);
  EXPECT_EQ(got, nan_bits);
  d.op = DSHAL_ELEMENTWISE_ADD;
  d.b = d.a;
  d.out = {buf.handle(), 32, DSHAL_DTYPE_BF16, 0};
  ASSERT_EQ(elementwise(d, &error), DSHAL_OK);
  EXPECT_TRUE(std::isnan(get(buf.data() + 32, DSHAL_DTYPE_BF16, 0)));
  EXPECT_EQ(get(buf.data() + 32, DSHAL_DTYPE_BF16, 1), 2.0);
}

// ---- embedding ------------------------------------------------------------------------------------

void run_embedding(dshal_dtype tt, dshal_dtype ot, uint64_t tokens, uint64_t vocab, uint64_t hidden) {
  SCOPED_TRACE(cat("embedding ", dtype_name(tt), "->", dtype_name(ot)));
  const uint64_t ld_t = hidden + 3, ld_o = hidden + 5;
  const uint64_t t_off = 8, ids_off = after(t_off + vocab * ld_t * dtype_bytes(tt)), o_off = after(ids_off + tokens * 4);
  Buffer buf(o_off + tokens * ld_o * dtype_bytes(ot) + 8);
  std::vector<double> table(vocab * hidden);
  for (uint64_t v = 0; v < vocab; ++v)
    for (uint64_t h = 0; h < hidden; ++h) table[v * hidden + h] = put(buf.data() + t_off, tt, v * ld_t + h, uniform(-1, 1));
  auto* ids = buf.as<int32_t>(ids_off);
  for (uint64_t t = 0; t < tokens; ++t)
    ids[t] = t == 0 ? 0 : t == 1 ? int32_t(vocab - 1) : int32_t(std::uniform_int_distribution<uint64_t>(0, vocab - 1)(rng()));
  dshal_embedding_desc d{};
  d.struct_size = sizeof d;
  d.tokens = tokens;
  d.vocab = vocab;
  d.hidden = hidden;
  d.table = {buf.handle(), t_off, tt, ld_t};
  d.ids = {buf.handle(), ids_off};
  d.out = {buf.handle(), o_off, ot, ld_o};
  WriteMask mask(buf.size());
  mask.allow_rows(o_off, tokens, hidden, ld_o, dtype_bytes(ot));
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(embedding(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);
  Compare cmp(ot, 0.0);
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t h = 0; h < hidden; ++h)
      cmp.add(get(buf.data() + o_off, ot, t * ld_o + h), table[uint64_t(ids[t]) * hidden + h],
              {t, h});
  cmp.expect_ok();
}

TEST(Embedding, F32) { run_embedding(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 37, 256, 64); }
TEST(Embedding, Bf16) { run_embedding(DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, 9, 300, 7); }
TEST(Embedding, Bf16TableF32Out) { run_embedding(DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, 5, 17, 33); }

TEST(Embedding, IdOutsideVocabIsAnErrorAndWritesNothing) {
  for (int32_t bad : {256, -1, 1 << 30}) {
    Buffer buf(4096);
    auto* ids = buf.as<int32_t>(0);
    ids[0] = 3;
    ids[1] = 255;
    ids[2] = 0;
    ids[3] = bad;
    ids[4] = 1;
    dshal_embedding_desc d{};
    d.struct_size = sizeof d;
    d.tokens = 5;
    d.vocab = 256;
    d.hidden = 2;
    d.table = {buf.handle(), 64, DSHAL_DTYPE_BF16, 2};
    d.ids = {buf.handle(), 0};
    d.out = {buf.handle(), 2048, DSHAL_DTYPE_F32, 2};
    const auto before = buf.snapshot();
    std::string error;
    EXPECT_EQ(embedding(d, &error), DSHAL_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(error.find(cat("ids[3] = ", bad)), std::string::npos) << error;
    EXPECT_NE(error.find("256"), std::string::npos) << error;
    EXPECT_TRUE(buf.snapshot() == before) << "out was written despite the error";
  }
}

}  // namespace
}  // namespace dshal::host::test
