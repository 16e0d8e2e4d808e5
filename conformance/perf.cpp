// The perf tier (perf.hpp): decode (m = 1) and prefill-chunk (m = 128) GEMMs with DeepSeek-V3's
// hidden size 7168 and expert width 2048, weights as [n][k] (trans_b, as model/ runs linear layers).
#include "perf.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "harness.hpp"
#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

struct Shape {
  uint64_t m, n, k;
};
// Expert down / o_proj-like (n 7168, k 2048) and expert gate/up-like (n 2048, k 7168) projections.
constexpr Shape kShapes[] = {{1, 7168, 2048}, {1, 2048, 7168}, {128, 2048, 7168}, {128, 7168, 2048}};
constexpr int kMaxReps = 5;
constexpr double kSecondsPerShape = 1.5;  // stop repeating once a shape has used this much

// bf16 when the device multiplies it natively, else f16, else f32.
dshal_dtype best_dtype(uint32_t gemm_dtypes) {
  for (dshal_dtype t : {DSHAL_DTYPE_BF16, DSHAL_DTYPE_F16})
    if (gemm_dtypes & DSHAL_DTYPE_BIT(t)) return t;
  return DSHAL_DTYPE_F32;
}

Status time_gemm(const Device& dev, const Stream& s, const Shape& shape, dshal_dtype t, PerfResult* out) {
  const std::vector<std::byte> a = encode(random_values(shape.m * shape.k, 1, t), t);
  const std::vector<std::byte> w = encode(random_values(shape.n * shape.k, 2, t), t);
  Buffer ba, bw, bc;
  DSHAL_RETURN_IF_ERROR(dev.alloc(a.size(), &ba));
  DSHAL_RETURN_IF_ERROR(dev.alloc(w.size(), &bw));
  DSHAL_RETURN_IF_ERROR(dev.alloc(storage_bytes(t, shape.m * shape.n), &bc));
  DSHAL_RETURN_IF_ERROR(s.copy_h2d(a.data(), ba, 0, a.size()));
  DSHAL_RETURN_IF_ERROR(s.copy_h2d(w.data(), bw, 0, w.size()));
  DSHAL_RETURN_IF_ERROR(s.synchronize());

  auto d = desc<dshal_gemm_desc>();
  d.trans_b = 1;
  d.m = shape.m;
  d.n = shape.n;
  d.k = shape.k;
  d.batch = 1;
  d.alpha = 1.0f;
  d.a = matrix(ba, t, shape.k);
  d.b = matrix(bw, t, shape.k);
  d.c = matrix(bc, t, shape.n);
  DSHAL_RETURN_IF_ERROR(s.gemm(d));  // warm-up: first-touch, kernel compilation, caches
  DSHAL_RETURN_IF_ERROR(s.synchronize());

  double best_wall = 1e30, best_device = 1e30, spent = 0;
  bool device_time = true;
  for (int rep = 0; rep < kMaxReps && (rep < 2 || spent < kSecondsPerShape); ++rep) {
    uint64_t ns0 = 0, ns1 = 0;
    const auto fallbacks = dev.fallback_counts();
    if (device_time && !s.device_time(&ns0).ok()) device_time = false;
    const auto t0 = std::chrono::steady_clock::now();
    DSHAL_RETURN_IF_ERROR(s.gemm(d));
    DSHAL_RETURN_IF_ERROR(s.synchronize());
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (device_time && !s.device_time(&ns1).ok()) device_time = false;
    // A GEMM declined to the host leaves only its staging copies in device time: no projection.
    if (dev.fallback_counts() != fallbacks) device_time = false;
    best_wall = std::min(best_wall, wall);
    if (device_time && ns1 > ns0) best_device = std::min(best_device, double(ns1 - ns0) * 1e-9);
    spent += wall;
  }
  out->name = fmt::format("gemm {} {}x{}x{}", dtype_name(t), shape.m, shape.n, shape.k);
  out->op = "gemm";
  out->dtype = dtype_name(t);
  out->m = shape.m;
  out->n = shape.n;
  out->k = shape.k;
  out->flop = 2.0 * double(shape.m) * double(shape.n) * double(shape.k);
  out->wall_seconds = best_wall;
  out->gflops = out->flop / best_wall * 1e-9;
  if (device_time && best_device < 1e30) {
    out->device_seconds = best_device;
    out->device_gflops = out->flop / best_device * 1e-9;
  }
  return {};
}

}  // namespace

void run_perf(const std::string& id, const std::function<void(const std::string&)>& on_start,
              const std::function<void(const PerfResult&)>& on_result,
              const std::function<void(const std::string&)>& on_failure) {
  const Device& dev = device(id);
  Stream s;  // its own stream: device_time then covers only the timed work
  if (const Status st = dev.create_stream(&s); !st.ok()) {
    std::fprintf(stderr, "dshal conform: perf: cannot create a stream: %s\n", st.to_string().c_str());
    return;
  }
  const dshal_dtype t = best_dtype(dev.properties().gemm_dtypes);
  for (const Shape& shape : kShapes) {
    on_start(fmt::format("gemm {} {}x{}x{}", dtype_name(t), shape.m, shape.n, shape.k));
    PerfResult r;
    if (const Status st = time_gemm(dev, s, shape, t, &r); !st.ok()) {
      on_failure(st.to_string());
      continue;
    }
    on_result(r);
  }
}

}  // namespace dshal::conformance
