// adapters/npu-sim/tests/cost_model_test.cpp: stream_device_time adds up exactly what the cost model
// says, for a spec with round numbers (tests/round-numbers.yaml, given through DSHAL_NPU_SIM_SPEC):
// bf16 at 1 TFLOP/s, f16 at 2, HBM 100 GB/s, PCIe 1 GB/s, launch overhead 10 us. The expected
// times are worked out here by hand from the roofline in npu_cost_model.cpp, not by calling it.
// Usage: npu_sim_cost_model_test <path to libdshal_npu_sim.so>
#include <vector>

#include "plugin_under_test.hpp"

namespace {

using npu_sim_test::check;

// The device time the work enqueued by enqueue() added to the stream, in ns; 0 on a failure.
template <class Enqueue>
uint64_t device_ns(npu_sim_test::Plugin& p, Enqueue&& enqueue) {
  uint64_t before = 0, after = 0;
  if (p.t->stream_synchronize(p.stream) != DSHAL_OK || p.t->stream_device_time(p.stream, &before) != DSHAL_OK ||
      !enqueue() || p.t->stream_synchronize(p.stream) != DSHAL_OK || p.t->stream_device_time(p.stream, &after) != DSHAL_OK)
    return 0;
  return after - before;
}

void expect_ns(uint64_t got, uint64_t want, const char* what) {
  std::printf("%s: %llu ns (expected %llu)\n", what, (unsigned long long)got, (unsigned long long)want);
  check(got == want, what);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <libdshal_npu_sim.so>\n", argv[0]);
    return 2;
  }
  npu_sim_test::Plugin p(argv[1]);
  const uint64_t n = 256, in_bytes = n * n * 2, out_bytes = n * n * 4;
  dshal_buffer a = nullptr, c = nullptr;
  if (p.t->buffer_alloc(p.dev, in_bytes, &a) != DSHAL_OK || p.t->buffer_alloc(p.dev, out_bytes, &c) != DSHAL_OK)
    p.setup_failed("buffer_alloc", p.t->last_error());
  const std::vector<unsigned char> zeros(in_bytes, 0);

  // PCIe: 131072 bytes at 1 GB/s = 131072 ns, + 10 us launch.
  expect_ns(device_ns(p, [&] { return p.t->copy_h2d(p.stream, zeros.data(), a, 0, in_bytes) == DSHAL_OK; }),
            131072 + 10000, "copy_h2d of 128 KiB is charged to PCIe plus the launch overhead");

  auto gemm = [&](dshal_dtype t) {
    dshal_gemm_desc d{};
    d.struct_size = sizeof d;
    d.trans_b = 1;
    d.m = d.n = d.k = n;
    d.batch = 1;
    d.alpha = 1;
    d.a = {a, 0, t, n, 0};
    d.b = {a, 0, t, n, 0};
    d.c = {c, 0, DSHAL_DTYPE_F32, n, 0};
    return p.t->gemm(p.stream, &d) == DSHAL_OK;
  };
  // 2 * 256^3 = 33554432 flop; HBM bytes: A and B 131072 each, C 262144 written = 524288 bytes at
  // 100 GB/s = 5243 ns. Compute-bound: bf16 at 1 TFLOP/s 33554 ns, f16 at 2 TFLOP/s 16777 ns.
  expect_ns(device_ns(p, [&] { return gemm(DSHAL_DTYPE_BF16); }), 33554 + 10000,
            "a 256^3 bf16 GEMM is charged at the bf16 peak");
  expect_ns(device_ns(p, [&] { return gemm(DSHAL_DTYPE_F16); }), 16777 + 10000,
            "a 256^3 f16 GEMM is charged at the f16 peak");

  p.t->buffer_free(a);
  p.t->buffer_free(c);
  return npu_sim_test::verdict();
}
