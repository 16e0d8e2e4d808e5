// core tier: stream order under load, asynchronous enqueue, events across streams, queued errors.
#include <cmath>

#include "harness.hpp"

namespace dshal::conformance {
namespace {

class Streams : public DeviceTest {
 protected:
  // The GEMM input type the device runs natively (f32 if it can): these cases time the device's own
  // queue, and a GEMM declined to hal's host fallback would only measure the host.
  dshal_dtype native_input() {
    const uint32_t mask = dev().properties().gemm_dtypes;
    for (dshal_dtype t : {DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F16})
      if (mask & DSHAL_DTYPE_BIT(t)) return t;
    return DSHAL_DTYPE_F32;
  }
  // An n x n matrix of value in the native input type.
  Buffer upload_square(uint64_t n, float value) {
    const std::vector<std::byte> raw = encode(std::vector<float>(n * n, value), native_input());
    return upload_bytes(id(), raw.data(), raw.size());
  }
  // C (n x n, f32) = A * B^T (A, B: n x n in the native input type), enqueued on s.
  Status enqueue_big_gemm(const Stream& s, const Buffer& a, const Buffer& b, const Buffer& c, uint64_t n, float alpha) {
    auto d = desc<dshal_gemm_desc>();
    d.trans_b = 1;
    d.m = d.n = d.k = n;
    d.batch = 1;
    d.alpha = alpha;
    d.beta = 0;
    d.a = matrix(a, native_input(), n);
    d.b = matrix(b, native_input(), n);
    d.c = matrix(c, DSHAL_DTYPE_F32, n);
    return s.gemm(d);
  }
};

// Hundreds of queued ops whose result depends on their order: c <- alpha_i + 0.5 c, snapshots taken
// by copies in between.
TEST_P(Streams, OrderUnderLoad) {
  const int steps = 400, every = 50;
  const float one = 1.0f;
  Buffer a = upload(id(), std::vector<float>{one}), c, snaps;
  DSHAL_ASSERT_OK(dev().alloc(4, &c));
  DSHAL_ASSERT_OK(dev().alloc(4 * (steps / every), &snaps));
  const float zero = 0;
  DSHAL_ASSERT_OK(str().fill(c, 0, 4, &zero, 4));
  std::vector<double> ref;
  double r = 0;
  for (int i = 0; i < steps; ++i) {
    auto d = desc<dshal_gemm_desc>();
    d.m = d.n = d.k = d.batch = 1;
    d.alpha = float(i % 7);
    d.beta = 0.5f;
    d.a = d.b = matrix(a, DSHAL_DTYPE_F32, 1);
    d.c = matrix(c, DSHAL_DTYPE_F32, 1);
    DSHAL_ASSERT_OK(str().gemm(d));
    r = (i % 7) + 0.5 * r;
    if ((i + 1) % every == 0) {
      DSHAL_ASSERT_OK(str().copy_d2d(c, 0, snaps, 4 * ((i + 1) / every - 1), 4));
      ref.push_back(r);
    }
  }
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> got = download<float>(id(), snaps, 0, ref.size());
  std::vector<double> bound(ref.size());
  for (size_t i = 0; i < ref.size(); ++i) bound[i] = 1e-5 * std::fabs(ref[i]) + 1e-6;
  expect_within(compare(ref, got, bound), "snapshots of the ordered chain");
}

// A host call enqueues and returns: right after enqueueing enough work, an event on it is not done.
TEST_P(Streams, EnqueueReturnsBeforeWorkIsDone) {
  const uint64_t n = 512;
  Buffer a = upload_square(n, 0.01f), c;
  DSHAL_ASSERT_OK(dev().alloc(n * n * 4, &c));
  Event ev;
  DSHAL_ASSERT_OK(dev().create_event(&ev));
  bool saw_not_ready = false;
  for (int batch = 4; batch <= 256 && !saw_not_ready; batch *= 2) {
    for (int i = 0; i < batch; ++i) DSHAL_ASSERT_OK(enqueue_big_gemm(str(), a, a, c, n, 1.0f));
    DSHAL_ASSERT_OK(str().record(ev));
    const Status q = ev.query();
    saw_not_ready = q.code() == DSHAL_ERROR_NOT_READY;
    if (!saw_not_ready) DSHAL_ASSERT_OK(q);
    DSHAL_ASSERT_OK(str().synchronize());
  }
  EXPECT_TRUE(saw_not_ready) << "event_query never returned NOT_READY right after enqueueing up to 256 GEMMs of "
                             << n << "^3: the stream seems to run work synchronously";
  DSHAL_ASSERT_OK(ev.query());  // after synchronize the event is complete
}

// Work on stream 2 waits for an event recorded on stream 1 after a long GEMM.
TEST_P(Streams, EventOrdersAcrossStreams) {
  const uint64_t n = 768;
  Stream s1, s2;
  DSHAL_ASSERT_OK(dev().create_stream(&s1));
  DSHAL_ASSERT_OK(dev().create_stream(&s2));
  Buffer a = upload_square(n, 0.5f), c, d;
  DSHAL_ASSERT_OK(dev().alloc(n * n * 4, &c));
  DSHAL_ASSERT_OK(dev().alloc(n * n * 4, &d));
  const float zero = 0;
  DSHAL_ASSERT_OK(s1.fill(c, 0, n * n * 4, &zero, 4));
  DSHAL_ASSERT_OK(s1.synchronize());
  Event ev;
  DSHAL_ASSERT_OK(dev().create_event(&ev));
  DSHAL_ASSERT_OK(ev.query());  // never recorded: complete
  for (int i = 0; i < 3; ++i) DSHAL_ASSERT_OK(enqueue_big_gemm(s1, a, a, c, n, 2.0f));
  DSHAL_ASSERT_OK(s1.record(ev));
  DSHAL_ASSERT_OK(s2.wait(ev));
  DSHAL_ASSERT_OK(s2.copy_d2d(c, 0, d, 0, n * n * 4));
  DSHAL_ASSERT_OK(s2.synchronize());
  DSHAL_ASSERT_OK(ev.synchronize());
  const std::vector<float> got = download<float>(id(), d, 0, n * n);
  const double want = 2.0 * 0.25 * double(n);
  std::vector<double> ref(got.size(), want), bound(got.size(), 1e-5 * want);
  expect_within(compare(ref, got, bound), "copy ordered after the GEMM by the event");
}

// An error in queued work is reported once, by the call itself or by the next synchronize — never
// lost — and the stream works again after it. The error comes from an embedding id out of range:
// ids live in device memory, so a device that runs embedding natively finds it only when the work
// runs (hal's host fallback reports it from the call). Every device runs embedding, natively or not.
TEST_P(Streams, QueuedErrorIsReportedOnce) {
  const uint64_t vocab = 6, hidden = 5, tokens = 3;
  std::vector<float> rows(vocab * hidden);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(i) + 0.25f;
  Buffer table = upload(id(), rows), out;
  Buffer bad_ids = upload(id(), std::vector<int32_t>{1, int32_t(vocab), 2});
  Buffer good_ids = upload(id(), std::vector<int32_t>{4, 0, 5});
  DSHAL_ASSERT_OK(dev().alloc(tokens * hidden * 4, &out));
  auto d = desc<dshal_embedding_desc>();
  d.tokens = tokens;
  d.vocab = vocab;
  d.hidden = hidden;
  d.table = tensor(table, DSHAL_DTYPE_F32, hidden);
  d.ids = ref(bad_ids);
  d.out = tensor(out, DSHAL_DTYPE_F32, hidden);
  const Status call = str().embedding(d);
  const Status first = call.ok() ? str().synchronize() : call;
  EXPECT_EQ(first.code(), DSHAL_ERROR_INVALID_ARGUMENT)
      << "ids[1] = " << vocab << " (outside the vocabulary) was reported neither by the call nor by the next "
      << "synchronize: " << first.to_string();
  EXPECT_FALSE(first.message().empty()) << "an error needs a message";
  const Status next = str().synchronize();
  EXPECT_TRUE(next.ok()) << "the error was reported twice: " << next.to_string();

  d.ids = ref(good_ids);
  DSHAL_ASSERT_OK(str().embedding(d));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> got = download<float>(id(), out, 0, tokens * hidden);
  const int32_t picked[] = {4, 0, 5};
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t j = 0; j < hidden; ++j)
      ASSERT_EQ(got[t * hidden + j], rows[picked[t] * hidden + j]) << "token " << t << " element " << j
                                                                   << " after the error";
}

DSHAL_INSTANTIATE(core, Streams);

}  // namespace
}  // namespace dshal::conformance
