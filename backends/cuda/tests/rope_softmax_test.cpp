// rope and softmax: the thread bodies over their launch shapes against hal/host's kernels, for every
// storage dtype, with strided / padded rows, partial last blocks, out aliasing x (softmax), the
// causal mask's row_period and causal_offset, and rope's report of a position outside the tables.
#include "../../device_status.hpp"
#include "rope_softmax.hpp"
#include "test_support.hpp"

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;
using test::make_values;

class RopeSoftmax : public testing::TestWithParam<dshal_dtype> {};

// A rope problem: 7 tokens x 5 heads x 9 pairs = 315 threads, two blocks of 256 (the second
// partial); each head holds 24 elements of which the rotated 18 start at element 2, and tokens are
// padded by 4 elements past their heads.
struct RopeCase {
  static constexpr uint64_t tokens = 7, heads = 5, dim = 18, max_position = 33, head_stride = 24,
                            token_stride = heads * head_stride + 4, start = 2;
  explicit RopeCase(dshal_dtype t)
      : dtype(t), x(make_values(t, tokens * token_stride, 11)), cos(make_values(DSHAL_DTYPE_F32, max_position * dim / 2, 12)),
        sin(make_values(DSHAL_DTYPE_F32, max_position * dim / 2, 13)) {
    for (uint64_t i = 0; i < tokens; ++i) positions.push_back(int32_t((i * 13 + 5) % max_position));
  }
  // x rotated by hal/host's kernel (positions as they are: all must be valid).
  std::vector<std::byte> host_result() {
    HostBytes hx(x.size()), hp(positions.size() * 4), hc(cos.size()), hs(sin.size());
    std::memcpy(hx.bytes.data(), x.data(), x.size());
    std::memcpy(hp.bytes.data(), positions.data(), positions.size() * 4);
    std::memcpy(hc.bytes.data(), cos.data(), cos.size());
    std::memcpy(hs.bytes.data(), sin.data(), sin.size());
    const dshal_rope_desc d = desc(hx.handle(), hp.handle(), hc.handle(), hs.handle());
    std::string error;
    EXPECT_EQ(host::rope(d, &error), DSHAL_OK) << error;
    return hx.bytes;
  }
  dshal_rope_desc desc(dshal_buffer hx, dshal_buffer hp, dshal_buffer hc, dshal_buffer hs) const {
    return {sizeof(dshal_rope_desc), tokens, heads, dim, max_position, hx, start * elem_bytes(dtype), dtype,
            token_stride, head_stride, {hp, 0}, {hc, 0}, {hs, 0}};
  }
  // x rotated by the kernel's threads, with status words in *status.
  std::vector<std::byte> kernel_result(int32_t* status) const {
    std::vector<std::byte> got = x;
    RopeArgs a{got.data() + start * elem_bytes(dtype), dtype, token_stride, head_stride, positions.data(),
               reinterpret_cast<const float*>(cos.data()), reinterpret_cast<const float*>(sin.data()),
               tokens, heads, dim / 2, max_position, status};
    const LaunchShape shape = rope_shape(a);
    EXPECT_GE(uint64_t(shape.grid.x) * shape.block.x, tokens * heads * dim / 2);
    for_each_thread(shape, [&](Index3 b, Index3 th) { rope_thread(b, th, shape.block, a); });
    return got;
  }
  dshal_dtype dtype;
  std::vector<std::byte> x, cos, sin;
  std::vector<int32_t> positions;
};

TEST_P(RopeSoftmax, RopeMatchesHostKernel) {
  RopeCase c(GetParam());
  int32_t status[4] = {};
  const std::vector<std::byte> got = c.kernel_result(status), want = c.host_result();
  EXPECT_EQ(status[0], 0);
  // The same f32 products and sums in the same order: bit-identical, padding and the unrotated
  // start of each head included.
  for (uint64_t i = 0; i < c.tokens * c.token_stride; ++i)
    ASSERT_EQ(load(got.data(), c.dtype, i), load(want.data(), c.dtype, i)) << "element " << i;
}

TEST_P(RopeSoftmax, RopeReportsAPositionOutsideTheTablesAndLeavesItsTokenAlone) {
  RopeCase c(GetParam());
  const std::vector<std::byte> want_rotated = c.host_result();  // every position valid
  c.positions[3] = int32_t(c.max_position);  // one past the tables
  c.positions[5] = -1;                       // a later bad token: the first report wins
  int32_t status[4] = {};
  const std::vector<std::byte> got = c.kernel_result(status);
  EXPECT_EQ(status[0], 3);  // DSHAL_STATUS_ROPE_POSITION
  EXPECT_EQ(status[1], 3);
  EXPECT_EQ(status[2], int32_t(c.max_position));
  EXPECT_EQ(status[3], int32_t(c.max_position));

  // The message the stream will give is the one hal/host gives for the same positions.
  HostBytes hx(c.x.size()), hp(c.positions.size() * 4), hc(c.cos.size()), hs(c.sin.size());
  std::memcpy(hp.bytes.data(), c.positions.data(), c.positions.size() * 4);
  std::string host_error, device_error;
  EXPECT_EQ(host::rope(c.desc(hx.handle(), hp.handle(), hc.handle(), hs.handle()), &host_error),
            DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(backend::status_from_words(status, &device_error), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(device_error, host_error);

  // Tokens 3 and 5 are untouched, the others rotated as with valid positions.
  for (uint64_t i = 0; i < c.tokens * c.token_stride; ++i) {
    const uint64_t t = i / c.token_stride;
    const std::vector<std::byte>& want = t == 3 || t == 5 ? c.x : want_rotated;
    ASSERT_EQ(load(got.data(), c.dtype, i), load(want.data(), c.dtype, i)) << "element " << i << " token " << t;
  }
}

// Softmax of rows x cols (ld padded) from x (dtype xt) into out (dtype ot), or in place, by the
// kernel and by hal/host; both outputs must be bit-identical (same operations in the same order),
// the padding included.
void check_softmax(dshal_dtype xt, dshal_dtype ot, bool in_place, uint32_t causal, uint64_t row_period,
                   uint64_t causal_offset) {
  SCOPED_TRACE(testing::Message() << dtype_name(xt) << " -> " << dtype_name(ot) << (in_place ? " in place" : "")
                                  << " causal " << causal << " period " << row_period << " offset " << causal_offset);
  const uint64_t rows = 131, cols = 77, ld = 80;  // 131 rows: two blocks of 128, the second partial
  const float scale = 0.37f;
  const std::vector<std::byte> x = make_values(xt, rows * ld, 21, 8.0f), pad = make_values(ot, rows * ld, 22);
  HostBytes hx(x.size()), hout(pad.size());
  std::memcpy(hx.bytes.data(), x.data(), x.size());
  std::memcpy(hout.bytes.data(), pad.data(), pad.size());
  dshal_softmax_desc d{sizeof(dshal_softmax_desc), rows, cols, scale, causal, row_period, causal_offset,
                       {hx.handle(), 0, xt, ld}, {hout.handle(), 0, ot, ld}};
  if (in_place) d.out = d.x;
  std::string error;
  ASSERT_EQ(host::softmax(d, &error), DSHAL_OK) << error;
  const std::vector<std::byte>& want = in_place ? hx.bytes : hout.bytes;

  std::vector<std::byte> got_x = x, got_out = pad;
  std::byte* out = in_place ? got_x.data() : got_out.data();
  SoftmaxArgs a{{got_x.data(), xt, ld}, {out, ot, ld}, rows, cols, scale, causal, row_period, causal_offset};
  const LaunchShape shape = softmax_shape(a);
  ASSERT_GE(uint64_t(shape.grid.x) * shape.block.x, rows);
  for_each_thread(shape, [&](Index3 b, Index3 th) { softmax_thread(b, th, shape.block, a); });
  for (uint64_t i = 0; i < rows * ld; ++i)
    ASSERT_EQ(load(out, ot, i), load(want.data(), ot, i)) << "row " << i / ld << " col " << i % ld;
}

TEST_P(RopeSoftmax, SoftmaxMatchesHostKernel) {
  const dshal_dtype t = GetParam();
  check_softmax(t, t, false, 0, 0, 0);
  check_softmax(t, t, true, 0, 0, 0);
  check_softmax(t, DSHAL_DTYPE_F32, false, 0, 0, 0);
  check_softmax(DSHAL_DTYPE_F32, t, false, 0, 0, 0);
}

TEST_P(RopeSoftmax, SoftmaxCausalMatchesHostKernel) {
  const dshal_dtype t = GetParam();
  check_softmax(t, t, false, 1, 131, 0);  // one query per row: row r sees columns [0, r]
  check_softmax(t, t, true, 1, 10, 3);    // 10 queries repeated per head, 3 cached columns before them
  check_softmax(t, t, false, 1, 131, 70); // an offset that leaves the last rows unmasked
  check_softmax(t, t, false, 1, 4, 77);   // offset >= cols: nothing masked
  check_softmax(t, t, false, 1, 4, ~uint64_t(0));  // i + offset + 1 would overflow
}

TEST(RopeSoftmaxMask, VisibleColumnsFollowTheDescriptor) {
  SoftmaxArgs a{{}, {}, 12, 20, 1.0f, 1, 5, 2};
  for (uint64_t r = 0; r < 12; ++r) EXPECT_EQ(softmax_visible(a, r), r % 5 + 3) << r;
  a.causal_offset = 17;  // query 2 and up see every column
  EXPECT_EQ(softmax_visible(a, 1), 19u);
  EXPECT_EQ(softmax_visible(a, 2), 20u);
  EXPECT_EQ(softmax_visible(a, 9), 20u);
  a.causal = 0;
  EXPECT_EQ(softmax_visible(a, 0), 20u);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, RopeSoftmax, testing::Values(DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_BF16),
                         [](const auto& info) { return std::string(::dshal::dtype_name(info.param)); });

}  // namespace
}  // namespace dshal::cuda::kernels
