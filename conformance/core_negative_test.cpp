// core tier: bad arguments get their documented error code and a message, never a crash.
#include "harness.hpp"

namespace dshal::conformance {
namespace {

class Negative : public DeviceTest {
 protected:
  dshal_gemm_desc valid_gemm(const Buffer& a, const Buffer& b, const Buffer& c) const {
    auto d = desc<dshal_gemm_desc>();
    d.m = d.n = d.k = 4;
    d.batch = 1;
    d.alpha = 1;
    d.a = matrix(a, DSHAL_DTYPE_F32, 4);
    d.b = matrix(b, DSHAL_DTYPE_F32, 4);
    d.c = matrix(c, DSHAL_DTYPE_F32, 4);
    return d;
  }
};

TEST_P(Negative, InvalidHandles) {
  Buffer a = upload(id(), std::vector<float>(16, 1.0f)), c;
  DSHAL_ASSERT_OK(dev().alloc(64, &c));
  dshal_gemm_desc d = valid_gemm(a, a, c);
  DSHAL_ASSERT_OK(str().gemm(d));

  d.b.buffer = nullptr;
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d.b.buffer = reinterpret_cast<dshal_buffer>(uintptr_t(0x1234));  // garbage
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d.b.buffer = reinterpret_cast<dshal_buffer>(stream_handle(str()));  // a handle of another kind
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  {
    Buffer freed;
    DSHAL_ASSERT_OK(dev().alloc(64, &freed));
    d.b.buffer = freed.handle();
  }  // released here
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);

  Stream empty;
  DSHAL_EXPECT_CODE(empty.gemm(valid_gemm(a, a, c)), DSHAL_ERROR_INVALID_ARGUMENT);
  Event no_event;
  DSHAL_EXPECT_CODE(str().record(no_event), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_ASSERT_OK(str().synchronize());
}

TEST_P(Negative, BufferOfAnotherDevice) {
  const std::vector<std::string> ids = sibling_ids(id());
  if (ids.size() < 2) GTEST_SKIP() << "needs two devices of " << id() << "'s backend";
  const std::string other = ids[0] == id() ? ids[1] : ids[0];
  Buffer a = upload(id(), std::vector<float>(16, 1.0f)), c, foreign;
  DSHAL_ASSERT_OK(dev().alloc(64, &c));
  DSHAL_ASSERT_OK(device(other).alloc(64, &foreign));
  DSHAL_EXPECT_CODE(str().gemm(valid_gemm(a, foreign, c)), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().copy_h2d(a.handle(), foreign, 0, 4), DSHAL_ERROR_INVALID_ARGUMENT);
}

TEST_P(Negative, OutOfRangeCopies) {
  Buffer b;
  DSHAL_ASSERT_OK(dev().alloc(100, &b));
  std::vector<uint8_t> host(200);
  DSHAL_EXPECT_CODE(str().copy_h2d(host.data(), b, 0, 101), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().copy_h2d(host.data(), b, 90, 11), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().copy_d2h(b, UINT64_MAX - 3, host.data(), 8), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().copy_d2h(b, 8, host.data(), UINT64_MAX - 3), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().copy_d2d(b, 0, b, 50, 60), DSHAL_ERROR_INVALID_ARGUMENT);  // overlap
  DSHAL_EXPECT_CODE(str().copy_h2d(nullptr, b, 0, 4), DSHAL_ERROR_INVALID_ARGUMENT);
  const uint32_t pattern = 0;
  DSHAL_EXPECT_CODE(str().fill(b, 0, 12, &pattern, 3), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().fill(b, 0, 10, &pattern, 4), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_EXPECT_CODE(str().fill(b, 96, 8, &pattern, 4), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_ASSERT_OK(str().synchronize());
}

TEST_P(Negative, GemmShapesAndTypes) {
  Buffer a = upload(id(), std::vector<float>(16, 1.0f)), c;
  DSHAL_ASSERT_OK(dev().alloc(64, &c));
  dshal_gemm_desc d = valid_gemm(a, a, c);
  d.a.ld = 3;  // below k
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.c.ld = 3;  // below n
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.k = 5;  // A and B are 16 floats: 4 x 5 does not fit
  d.a.ld = d.b.ld = 5;
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.batch = 2;  // a second C does not fit, and c.batch_stride 0 would overlap
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.a.dtype = DSHAL_DTYPE_FP8_E4M3;  // not a GEMM input type
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.b.dtype = static_cast<dshal_dtype>(99);
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.trans_a = 7;
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.struct_size = 8;
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d = valid_gemm(a, a, c);
  d.c.offset = 2;  // not f32-aligned
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  // GEMM inputs are f32, f16 or bf16 (types outside gemm_dtypes run on the host, not here).
  d = valid_gemm(a, a, c);
  d.a.dtype = DSHAL_DTYPE_FP8_E4M3;
  DSHAL_EXPECT_CODE(str().gemm(d), DSHAL_ERROR_INVALID_ARGUMENT);
  DSHAL_ASSERT_OK(str().synchronize());  // nothing was enqueued by the failed calls
}

TEST_P(Negative, AllToAllCountsMustMatch) {
  Buffer s, r;
  DSHAL_ASSERT_OK(dev().alloc(64, &s));
  DSHAL_ASSERT_OK(dev().alloc(64, &r));
  const Device* devs[] = {&dev()};
  Communicator comm;
  DSHAL_ASSERT_OK(Communicator::create(devs, &comm));
  const uint64_t four = 4, five = 5, zero = 0, big = 100;
  dshal_all_to_all_rank rank{stream_handle(str()), ref(s), &four, &zero, ref(r), &five, &zero};
  auto d = desc<dshal_all_to_all_desc>();
  d.elem_bytes = 4;
  d.rank_count = 1;
  d.ranks = &rank;
  DSHAL_EXPECT_CODE(comm.all_to_all(d), DSHAL_ERROR_INVALID_ARGUMENT);  // sends 4, expects 5
  rank.recv_counts = &four;
  rank.send_displs = &big;  // beyond the send buffer
  DSHAL_EXPECT_CODE(comm.all_to_all(d), DSHAL_ERROR_INVALID_ARGUMENT);
  rank.send_displs = &zero;
  d.rank_count = 2;
  DSHAL_EXPECT_CODE(comm.all_to_all(d), DSHAL_ERROR_INVALID_ARGUMENT);
  d.rank_count = 1;
  DSHAL_ASSERT_OK(comm.all_to_all(d));
  DSHAL_ASSERT_OK(str().synchronize());
}

DSHAL_INSTANTIATE(core, Negative);

}  // namespace
}  // namespace dshal::conformance
