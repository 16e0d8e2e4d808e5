// gemm_devices: the same f32 GEMMs, C = A B^T (row-major, the Linear layout), through the public
// API on several dshal devices (cpu:0, opencl:0, vulkan:0 by default), on DeepSeek-like shapes:
// a prefill projection, a square one and a decode (small M) one. Each device gets a warm-up call
// (pipeline / kernel builds), one check of sampled elements against an fp64 reference and a few
// untimed calls before timing; every timed call waits for its result. Devices that do not open are
// skipped with a message. Ends with a table of GFLOP/s per device and the vulkan / opencl ratio.
//
//   gemm_devices [--devices cpu:0,opencl:0,vulkan:0] [--benchmark_filter=...]   (Google Benchmark flags)
#include <benchmark/benchmark.h>
#include <dshal/dshal.hpp>

#include "gemm_problem.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using dshal::bench::check;
using dshal::bench::inputs;
using dshal::bench::Inputs;
using dshal::bench::Shape;

std::vector<std::string> g_devices = {"cpu:0", "opencl:0", "vulkan:0"};

const Shape kShapes[] = {{128, 2048, 7168}, {2048, 2048, 2048}, {1, 2048, 7168}, {4, 7168, 2048}};

std::map<std::string, std::map<std::string, double>> g_gflops;  // [shape][device]

#define BENCH_CHECK(cond, msg)          \
  if (!(cond)) {                        \
    state.SkipWithError((msg).c_str()); \
    return;                             \
  }

void BM_gemm(benchmark::State& state, std::string device, Shape s) {
  dshal::Device dev;
  dshal::Stream str;
  dshal::Buffer a, b, c;
  dshal::Status st = dshal::open_device(device, &dev);
  if (!st.ok()) {
    state.SkipWithError((device + " skipped: " + st.to_string()).c_str());
    return;
  }
  st = dev.create_stream(&str);
  if (st.ok()) st = dev.alloc(uint64_t(s.m * s.k) * 4, &a);
  if (st.ok()) st = dev.alloc(uint64_t(s.n * s.k) * 4, &b);
  if (st.ok()) st = dev.alloc(uint64_t(s.m * s.n) * 4, &c);
  const Inputs& in = inputs(s);
  if (st.ok()) st = str.copy_h2d(in.a.data(), a, 0, a.size());
  if (st.ok()) st = str.copy_h2d(in.b.data(), b, 0, b.size());
  dshal_gemm_desc d{};
  d.struct_size = sizeof d;
  d.trans_b = 1;
  d.m = uint64_t(s.m);
  d.n = uint64_t(s.n);
  d.k = uint64_t(s.k);
  d.batch = 1;
  d.alpha = 1.0f;
  d.a = {a.handle(), 0, DSHAL_DTYPE_F32, uint64_t(s.k), 0};
  d.b = {b.handle(), 0, DSHAL_DTYPE_F32, uint64_t(s.k), 0};
  d.c = {c.handle(), 0, DSHAL_DTYPE_F32, uint64_t(s.n), 0};
  if (st.ok()) st = str.gemm(d);  // warm-up: pipeline / kernel builds
  std::vector<float> out(size_t(s.m * s.n));
  if (st.ok()) st = str.copy_d2h(c, 0, out.data(), c.size());
  if (st.ok()) st = str.synchronize();
  BENCH_CHECK(st.ok(), st.to_string());
  const std::string bad = check(s, out);
  BENCH_CHECK(bad.empty(), device + ": " + bad);
  auto call = [&] {
    if (dshal::Status e = str.gemm(d); !e.ok() || !(e = str.synchronize()).ok()) state.SkipWithError(e.to_string().c_str());
  };
  for (int i = 0; i < 2; ++i) call();  // PoCL specializes a kernel for its launch geometry on first use
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  g_gflops[s.name()][device] = flops * double(state.iterations()) / seconds * 1e-9;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

double find(const std::map<std::string, double>& by_device, const std::string& prefix) {
  for (const auto& [device, g] : by_device)
    if (device.rfind(prefix, 0) == 0) return g;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--devices") == 0) {
      g_devices.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string d; std::getline(list, d, ',');) g_devices.push_back(d);
      for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  for (const Shape& s : kShapes)
    for (const std::string& device : g_devices)
      benchmark::RegisterBenchmark((device + "/" + s.name()).c_str(), BM_gemm, device, s)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\nf32 C = A B^T, GFLOP/s\n  %-20s", "M x N x K");
  for (const std::string& device : g_devices) std::printf(" %12s", device.c_str());
  std::printf(" %16s\n", "vulkan / opencl");
  for (const Shape& s : kShapes) {
    const auto it = g_gflops.find(s.name());
    if (it == g_gflops.end()) continue;
    std::printf("  %-20s", s.name().c_str());
    for (const std::string& device : g_devices) {
      const auto g = it->second.find(device);
      if (g == it->second.end())
        std::printf(" %12s", "-");
      else
        std::printf(" %12.1f", g->second);
    }
    const double v = find(it->second, "vulkan"), o = find(it->second, "opencl");
    if (v > 0 && o > 0)
      std::printf(" %15.2fx\n", v / o);
    else
      std::printf(" %16s\n", "-");
  }
  return 0;
}
