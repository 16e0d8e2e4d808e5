// opencl_gemm_vs_clblast: dshal's OpenCL GEMM (through the public API) against CLBlast on the same
// OpenCL device, f32 C = A B^T (row-major, the Linear layout) on DeepSeek-like shapes. Both get
// the same A and B, a warm-up call (kernel builds) and one check of sampled elements against an
// fp64 reference, then a few untimed calls before timing; every timed call waits for its result. Ends with a table of
// GFLOP/s and the dshal / CLBlast ratio.
//
//   opencl_gemm_vs_clblast [--device opencl:0] [--benchmark_filter=...]   (Google Benchmark flags)
#include <CL/cl.h>
#include <benchmark/benchmark.h>
#include <clblast.h>
#include <dshal/dshal.hpp>

#include "gemm_problem.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using dshal::bench::check;
using dshal::bench::DeviceGemm;
using dshal::bench::inputs;
using dshal::bench::Inputs;
using dshal::bench::Shape;

std::string g_device = "opencl:0";

const Shape kShapes[] = {{128, 2048, 7168}, {512, 7168, 2048}, {2048, 2048, 2048}};

std::map<std::string, double> g_dshal, g_clblast;  // GFLOP/s by shape

// Runs `call` (enqueue + wait) under the benchmark loop and records GFLOP/s, after a few untimed
// calls: PoCL finishes building a kernel for its launch geometry on first use, and CLBlast takes a
// few calls to reach its steady speed.
template <typename F>
void timed(benchmark::State& state, const Shape& s, std::map<std::string, double>& record, const F& call) {
  for (int i = 0; i < 3; ++i) call();
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  record[s.name()] = flops * double(state.iterations()) / seconds * 1e-9;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

#define BENCH_CHECK(cond, msg)          \
  if (!(cond)) {                        \
    state.SkipWithError((msg).c_str()); \
    return;                             \
  }

void BM_dshal(benchmark::State& state, Shape s) {
  DeviceGemm g;
  const std::string why = g.prepare(g_device, s);
  BENCH_CHECK(why.empty(), why);
  timed(state, s, g_dshal, [&] {
    if (const dshal::Status e = g.run(); !e.ok()) state.SkipWithError(e.to_string().c_str());
  });
}

// The OpenCL device dshal reports for g_device (by name), for CLBlast's own context and queue.
cl_device_id same_device() {
  dshal::Device dev;
  if (!dshal::open_device(g_device, &dev).ok()) return nullptr;
  const std::string want = dev.properties().name;
  cl_uint np = 0;
  clGetPlatformIDs(0, nullptr, &np);
  std::vector<cl_platform_id> platforms(np);
  clGetPlatformIDs(np, platforms.data(), nullptr);
  for (cl_platform_id p : platforms) {
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS) continue;
    std::vector<cl_device_id> devices(nd);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, devices.data(), nullptr);
    for (cl_device_id id : devices) {
      char name[256] = {};
      clGetDeviceInfo(id, CL_DEVICE_NAME, sizeof name - 1, name, nullptr);
      if (want == name || want.rfind(std::string(name) + " (", 0) == 0) return id;  // dshal adds " (platform)"
    }
  }
  return nullptr;
}

void BM_clblast(benchmark::State& state, Shape s) {
  cl_device_id id = same_device();
  BENCH_CHECK(id, "no OpenCL device named like dshal's " + g_device);
  cl_int err = CL_SUCCESS;
  cl_context ctx = clCreateContext(nullptr, 1, &id, nullptr, nullptr, &err);
  BENCH_CHECK(err == CL_SUCCESS, std::string("clCreateContext failed"));
  cl_command_queue queue = clCreateCommandQueue(ctx, id, 0, &err);
  const Inputs& in = inputs(s);
  auto buffer = [&](size_t bytes, const float* host) {
    return clCreateBuffer(ctx, host ? CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR : CL_MEM_READ_WRITE, bytes,
                          const_cast<float*>(host), &err);
  };
  cl_mem a = buffer(in.a.size() * 4, in.a.data()), b = buffer(in.b.size() * 4, in.b.data());
  cl_mem c = buffer(size_t(s.m * s.n) * 4, nullptr);
  auto gemm = [&] {
    return clblast::Gemm<float>(clblast::Layout::kRowMajor, clblast::Transpose::kNo, clblast::Transpose::kYes,
                                size_t(s.m), size_t(s.n), size_t(s.k), 1.0f, a, 0, size_t(s.k), b, 0, size_t(s.k), 0.0f,
                                c, 0, size_t(s.n), &queue, nullptr);
  };
  const clblast::StatusCode code = gemm();  // warm-up: kernel builds
  std::vector<float> out(size_t(s.m * s.n));
  clEnqueueReadBuffer(queue, c, CL_TRUE, 0, out.size() * 4, out.data(), 0, nullptr, nullptr);
  std::string bad = code == clblast::StatusCode::kSuccess ? check(s, out) : "status " + std::to_string(int(code));
  if (bad.empty()) {
    timed(state, s, g_clblast, [&] {
      gemm();
      clFinish(queue);
    });
  } else {
    state.SkipWithError(("CLBlast: " + bad).c_str());
  }
  for (cl_mem m : {a, b, c}) clReleaseMemObject(m);
  clReleaseCommandQueue(queue);
  clReleaseContext(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--device") == 0) {
      g_device = argv[i + 1];
      for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  for (const Shape& s : kShapes) {
    benchmark::RegisterBenchmark(("clblast/" + s.name()).c_str(), BM_clblast, s)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RegisterBenchmark(("dshal/" + s.name()).c_str(), BM_dshal, s)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\nf32 C = A B^T on %s          dshal GFLOP/s   CLBlast GFLOP/s   dshal / CLBlast\n", g_device.c_str());
  for (const Shape& s : kShapes) {
    const auto d = g_dshal.find(s.name()), c = g_clblast.find(s.name());
    if (d == g_dshal.end() || c == g_clblast.end()) continue;
    std::printf("  %-34s %13.1f %17.1f %16.2fx\n", s.name().c_str(), d->second, c->second, d->second / c->second);
  }
  return 0;
}
