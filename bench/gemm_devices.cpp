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

using dshal::bench::DeviceGemm;
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
  DeviceGemm g;
  const std::string why = g.prepare(device, s);
  BENCH_CHECK(why.empty(), why);
  auto call = [&] {
    if (const dshal::Status e = g.run(); !e.ok()) state.SkipWithError(e.to_string().c_str());
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
