// elementwise and embedding: the thread bodies over their launch shapes against hal/host's kernels,
// byte for byte: every op over every dtype combination the host kernel takes (fp8, i32 and u8
// included), same-type casts keeping NaN payloads, aliasing, padded rows, partial last blocks, and
// embedding's report of an id outside [0, vocab). Also the fp8 conversions against hal/host's.
#include "elementwise.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;
using test::make_values;

// n elements of dtype t: floats of magnitudes 2^-20 .. 2^10 (f16 and fp8 subnormals, fp8
// saturation past 448) with a few infinities and NaNs; ints and raw bytes for the integer types.
std::vector<std::byte> mixed_values(dshal_dtype t, uint64_t n, uint32_t seed) {
  std::vector<std::byte> out(storage_bytes(t, n));
  uint32_t x = seed * 2654435761u + 777u;
  const auto next = [&] { return x = x * 1664525u + 1013904223u; };
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t r = next();
    if (t == DSHAL_DTYPE_I32) {
      reinterpret_cast<int32_t*>(out.data())[i] = int32_t(r % 4001) - 2000;
    } else if (t == DSHAL_DTYPE_U8 || t == DSHAL_DTYPE_FP8_E4M3 || t == DSHAL_DTYPE_INT4) {
      if (t != DSHAL_DTYPE_INT4 || i % 2 == 0) out[t == DSHAL_DTYPE_INT4 ? i / 2 : i] = std::byte(r >> 24);
    } else {
      float v = std::ldexp(float(r >> 8) / float(1u << 24) * 2.0f - 1.0f, int(next() % 31) - 20);
      if (i % 97 == 5) v = (r & 1) ? INFINITY : -INFINITY;
      if (i % 89 == 7) v = std::bit_cast<float>(0x7fc00000u | (r & 0x803fffffu));  // NaN, some payload
      ::dshal::store_f32(out.data(), t, i, v);
    }
  }
  return out;
}

// Whether element i of got (dtype t) is the host's, byte for byte (NaN payloads included).
bool same_element(const std::byte* got, const std::byte* want, dshal_dtype t, uint64_t i) {
  const uint64_t n = dtype_bytes(t);
  return std::memcmp(got + i * n, want + i * n, n) == 0;
}

constexpr dshal_dtype kReadable[] = {DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_FP8_E4M3,
                                     DSHAL_DTYPE_I32, DSHAL_DTYPE_U8};
constexpr dshal_dtype kWritable[] = {DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_FP8_E4M3};

// One elementwise call by the kernel and by hal/host, compared byte for byte (the same f32
// operations in the same order; the conversions are bit-exact with hal/host/dtype.hpp).
void check_elementwise(dshal_elementwise_op op, dshal_dtype at, dshal_dtype bt, dshal_dtype ot, int alias = 0) {
  SCOPED_TRACE(testing::Message() << "op " << int(op) << " " << dtype_name(at) << ", " << dtype_name(bt) << " -> "
                                  << dtype_name(ot) << " alias " << alias);
  const uint64_t n = 1031;  // 5 blocks of 256, the last partial
  const std::vector<std::byte> a = mixed_values(at, n, 1), b = mixed_values(bt, n, 2), o = mixed_values(ot, n, 3);
  HostBytes ha(a.size()), hb(b.size()), ho(o.size());
  std::memcpy(ha.bytes.data(), a.data(), a.size());
  std::memcpy(hb.bytes.data(), b.data(), b.size());
  std::memcpy(ho.bytes.data(), o.data(), o.size());
  dshal_elementwise_desc d{sizeof(dshal_elementwise_desc), op, n, 1.7f, {ha.handle(), 0, at, 0}, {hb.handle(), 0, bt, 0},
                           {ho.handle(), 0, ot, 0}};
  if (alias == 1) d.out = d.a;
  if (alias == 2) d.out = d.b;
  std::string error;
  ASSERT_EQ(host::elementwise(d, &error), DSHAL_OK) << error;
  const std::vector<std::byte>& want = alias == 1 ? ha.bytes : alias == 2 ? hb.bytes : ho.bytes;

  std::vector<std::byte> ga = a, gb = b, go = o;
  std::byte* out = alias == 1 ? ga.data() : alias == 2 ? gb.data() : go.data();
  ElementwiseArgs args{ga.data(), gb.data(), out, at, bt, ot, op, 1.7f, n};
  const LaunchShape shape = elementwise_shape(args);
  ASSERT_GE(uint64_t(shape.grid.x) * shape.block.x, n);
  for_each_thread(shape, [&](Index3 bl, Index3 th) { elementwise_thread(bl, th, shape.block, args); });
  if (ot == DSHAL_DTYPE_INT4) {  // only a same-type cast writes INT4: whole bytes
    ASSERT_EQ(std::memcmp(out, want.data(), want.size()), 0);
    return;
  }
  for (uint64_t i = 0; i < n; ++i)
    ASSERT_TRUE(same_element(out, want.data(), ot, i))
        << "element " << i << ": " << load_any(out, ot, i) << " vs host " << load_any(want.data(), ot, i);
}

TEST(Elementwise, BinaryOpsOverEveryDtypeCombinationMatchHostKernel) {
  for (dshal_elementwise_op op : {DSHAL_ELEMENTWISE_ADD, DSHAL_ELEMENTWISE_MUL})
    for (dshal_dtype at : kReadable)
      for (dshal_dtype bt : kReadable)
        for (dshal_dtype ot : kWritable) check_elementwise(op, at, bt, ot);
}

TEST(Elementwise, ScaleAndCastOverEveryDtypeCombinationMatchHostKernel) {
  for (dshal_elementwise_op op : {DSHAL_ELEMENTWISE_SCALE, DSHAL_ELEMENTWISE_CAST})
    for (dshal_dtype at : kReadable)
      for (dshal_dtype ot : kWritable) check_elementwise(op, at, DSHAL_DTYPE_F32, ot);
}

TEST(Elementwise, SameTypeCastCopiesBitsOfEveryType) {  // NaN payloads, and INT4 / I32 / U8, which no
  for (dshal_dtype t : {DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_FP8_E4M3,  // other op writes
                        DSHAL_DTYPE_INT4, DSHAL_DTYPE_I32, DSHAL_DTYPE_U8})
    check_elementwise(DSHAL_ELEMENTWISE_CAST, t, t, t);
}

TEST(Elementwise, OutMayAliasAnInput) {
  for (dshal_dtype t : {DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16}) {
    check_elementwise(DSHAL_ELEMENTWISE_ADD, t, t, t, 1);
    check_elementwise(DSHAL_ELEMENTWISE_MUL, t, t, t, 2);
    check_elementwise(DSHAL_ELEMENTWISE_SCALE, t, t, t, 1);
  }
}

TEST(Elementwise, Fp8ConversionsMatchHalHost) {
  for (uint32_t v = 0; v < 256; ++v) {
    const float want = ::dshal::fp8_e4m3_to_f32(uint8_t(v)), have = fp8_e4m3_to_f32(uint8_t(v));
    ASSERT_EQ(std::bit_cast<uint32_t>(have), std::bit_cast<uint32_t>(want)) << "fp8 " << v;
  }
  // Every f32 whose low 13 bits are 0 (all f16 values and their neighbourhood of rounding ties),
  // then a stride through all of f32 that lands on other low bits.
  const auto check = [](uint32_t u) {
    const float f = std::bit_cast<float>(u);
    ASSERT_EQ(f32_to_fp8_e4m3(f), ::dshal::f32_to_fp8_e4m3(f)) << std::hex << "f32 bits 0x" << u;
  };
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 1u << 13) check(uint32_t(u));
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 4099) check(uint32_t(u));
}

class Embedding : public testing::TestWithParam<std::tuple<dshal_dtype, dshal_dtype>> {};

// 37 tokens x 29 columns = 1073 threads (5 blocks, the last partial) from a 50-row table; padded
// rows in both. The kernel's out starts as the host's (the same fill) so padding is compared too.
struct EmbeddingCase {
  static constexpr uint64_t tokens = 37, vocab = 50, hidden = 29, ldt = 31, ldo = 33;
  EmbeddingCase(dshal_dtype tt, dshal_dtype ot)
      : table_t(tt), out_t(ot), table(mixed_values(tt, vocab * ldt, 4)), fill(mixed_values(ot, tokens * ldo, 5)) {
    for (uint64_t i = 0; i < tokens; ++i) ids.push_back(int32_t((i * 7 + 3) % vocab));
  }
  std::vector<std::byte> host_result() const {
    HostBytes ht(table.size()), hi(ids.size() * 4), ho(fill.size());
    std::memcpy(ht.bytes.data(), table.data(), table.size());
    std::memcpy(hi.bytes.data(), ids.data(), ids.size() * 4);
    std::memcpy(ho.bytes.data(), fill.data(), fill.size());
    dshal_embedding_desc d{sizeof(dshal_embedding_desc), tokens, vocab, hidden, {ht.handle(), 0, table_t, ldt},
                           {hi.handle(), 0}, {ho.handle(), 0, out_t, ldo}};
    std::string error;
    EXPECT_EQ(host::embedding(d, &error), DSHAL_OK) << error;
    return ho.bytes;
  }
  std::vector<std::byte> kernel_result(int32_t* status) const {
    std::vector<std::byte> out = fill;
    EmbeddingArgs a{{table.data(), table_t, ldt}, ids.data(), {out.data(), out_t, ldo}, tokens, vocab, hidden, status};
    const LaunchShape shape = embedding_shape(a);
    EXPECT_GE(uint64_t(shape.grid.x) * shape.block.x, tokens * hidden);
    for_each_thread(shape, [&](Index3 b, Index3 th) { embedding_thread(b, th, shape.block, a); });
    return out;
  }
  dshal_dtype table_t, out_t;
  std::vector<std::byte> table, fill;
  std::vector<int32_t> ids;
};

TEST_P(Embedding, MatchesHostKernel) {
  const EmbeddingCase c(std::get<0>(GetParam()), std::get<1>(GetParam()));
  int32_t status[4] = {};
  const std::vector<std::byte> got = c.kernel_result(status), want = c.host_result();
  EXPECT_EQ(status[0], 0);
  for (uint64_t i = 0; i < c.tokens * c.ldo; ++i)  // padding included
    ASSERT_TRUE(same_element(got.data(), want.data(), c.out_t, i)) << "token " << i / c.ldo << " col " << i % c.ldo;
}

TEST_P(Embedding, ReportsAnIdOutsideTheVocabAndLeavesItsRowAlone) {
  EmbeddingCase c(std::get<0>(GetParam()), std::get<1>(GetParam()));
  const std::vector<std::byte> want_gathered = c.host_result();  // every id valid
  c.ids[4] = int32_t(c.vocab);  // one past the table
  c.ids[30] = -7;               // a later bad token: the first report wins
  int32_t status[4] = {};
  const std::vector<std::byte> got = c.kernel_result(status);
  EXPECT_EQ(status[0], 1);  // DSHAL_STATUS_EMBEDDING_ID: token, id, vocab
  EXPECT_EQ(status[1], 4);
  EXPECT_EQ(status[2], int32_t(c.vocab));
  EXPECT_EQ(status[3], int32_t(c.vocab));
  for (uint64_t i = 0; i < c.tokens * c.ldo; ++i) {
    const uint64_t t = i / c.ldo;
    const std::vector<std::byte>& want = t == 4 || t == 30 ? c.fill : want_gathered;
    ASSERT_TRUE(same_element(got.data(), want.data(), c.out_t, i)) << "token " << t << " col " << i % c.ldo;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Embedding,
                         testing::Combine(testing::Values(DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16),
                                          testing::Values(DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16)),
                         [](const auto& info) {
                           return std::string(::dshal::dtype_name(std::get<0>(info.param))) + "_to_" +
                                  ::dshal::dtype_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace dshal::cuda::kernels
