// gemm_vs_openblas: dshal's host GEMM kernels against OpenBLAS on DeepSeek-shaped products, each
// library limited to 2 threads and never running at the same time, plus a STREAM-style read of host
// memory for the decode GEMV. Ends with a summary table of the targets.
//
//   gemm_vs_openblas [--benchmark_filter=...]   (Google Benchmark flags)
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <tbb/global_control.h>

#include <immintrin.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/dtype.hpp"
#include "host/kernels.hpp"

namespace {

constexpr int kThreads = 2;
constexpr double kL3Bytes = 32.0 * 1024 * 1024;  // weights rotate through >= 3x this for cold reads

// 64-byte aligned host memory, wrapped as a dshal buffer.
struct HostMem {
  explicit HostMem(size_t bytes) : bytes(bytes) {
    data = static_cast<std::byte*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096));
    std::memset(data, 0, bytes);
    hb.data = data;
    hb.size = bytes;
  }
  ~HostMem() { std::free(data); }
  HostMem(const HostMem&) = delete;
  HostMem& operator=(const HostMem&) = delete;
  dshal_buffer handle() { return dshal::host::as_handle(&hb); }
  template <typename T>
  T* as() { return reinterpret_cast<T*>(data); }
  std::byte* data;
  size_t bytes;
  dshal::host::HostBuffer hb;
};

void fill_random(HostMem& m, dshal_dtype t, size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (size_t i = 0; i < count; ++i) dshal::store_f32(m.data, t, i, u(rng));
}

// OpenBLAS's pthreads keep spinning long after a call (they would take a core from whatever runs
// next), so every OpenBLAS benchmark ends by shutting its thread pool down; OpenBLAS restarts it
// on its next call, before timing. TBB's workers sleep within milliseconds: settle() covers that.
extern "C" int blas_thread_shutdown_(void);
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(250)); }

struct Shape {
  int64_t m, n, k;
};

std::string shape_name(const Shape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

// ---- GEMM -----------------------------------------------------------------------------------------

// C[M][N] (f32) = A[M][K] * op(B), B stored N x K (trans_b = 1, weights) or K x N.
void BM_dshal_gemm(benchmark::State& state, Shape s, dshal_dtype in, bool trans_b) {
  HostMem a(size_t(s.m * s.k) * dshal::dtype_bytes(in)), b(size_t(s.n * s.k) * dshal::dtype_bytes(in));
  HostMem c(size_t(s.m * s.n) * 4);
  fill_random(a, in, size_t(s.m * s.k), 1);
  fill_random(b, in, size_t(s.n * s.k), 2);
  dshal_gemm_desc d{};
  d.struct_size = sizeof d;
  d.trans_b = trans_b;
  d.m = uint64_t(s.m);
  d.n = uint64_t(s.n);
  d.k = uint64_t(s.k);
  d.batch = 1;
  d.alpha = 1.0f;
  d.beta = 0.0f;
  d.a = {a.handle(), 0, in, uint64_t(s.k), 0};
  d.b = {b.handle(), 0, in, uint64_t(trans_b ? s.k : s.n), 0};
  d.c = {c.handle(), 0, DSHAL_DTYPE_F32, uint64_t(s.n), 0};
  std::string err;
  if (dshal::host::gemm(d, &err) != DSHAL_OK) {
    state.SkipWithError(err.c_str());
    return;
  }
  settle();
  for (auto _ : state) {
    dshal::host::gemm(d, &err);
    benchmark::DoNotOptimize(c.data);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(s.m * s.n * s.k), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_openblas_sgemm(benchmark::State& state, Shape s, bool trans_b) {
  HostMem a(size_t(s.m * s.k) * 4), b(size_t(s.n * s.k) * 4), c(size_t(s.m * s.n) * 4);
  fill_random(a, DSHAL_DTYPE_F32, size_t(s.m * s.k), 1);
  fill_random(b, DSHAL_DTYPE_F32, size_t(s.n * s.k), 2);
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(s.m), int(s.n), int(s.k), 1.0f,
                a.as<float>(), int(s.k), b.as<float>(), int(trans_b ? s.k : s.n), 0.0f, c.as<float>(), int(s.n));
  };
  run();
  settle();
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(c.data);
    benchmark::ClobberMemory();
  }
  blas_thread_shutdown_();
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(s.m * s.n * s.k), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

// ---- decode GEMV: weights read cold from memory -------------------------------------------------

// y[1][N] = x[1][K] * W^T, W[N][K] in `wt`, rotating over enough copies of W that each call reads
// its weights from DRAM rather than from the 32 MiB L3.
// Copies of a random W[N][K] (dtype t) totalling > 3x L3, kept across calls of a benchmark.
std::vector<std::unique_ptr<HostMem>>& cold_weights(Shape s, dshal_dtype t) {
  static std::map<int, std::vector<std::unique_ptr<HostMem>>> cache;
  auto& w = cache[int(t)];
  if (w.empty()) {
    const size_t bytes = size_t(s.n * s.k) * dshal::dtype_bytes(t);
    const int copies = int(std::ceil(3.0 * kL3Bytes / double(bytes))) + 1;
    for (int i = 0; i < copies; ++i) {
      w.push_back(std::make_unique<HostMem>(bytes));
      fill_random(*w.back(), t, size_t(s.n * s.k), 10 + unsigned(i));
    }
  }
  return w;
}

// y[1][N] = x[1][K] * W^T, W[N][K], rotating over enough copies of W that each call reads its
// weights from DRAM rather than from the 32 MiB L3.
void BM_dshal_gemv(benchmark::State& state, Shape s, dshal_dtype at, dshal_dtype wt) {
  auto& w = cold_weights(s, wt);
  const size_t wbytes = size_t(s.n * s.k) * dshal::dtype_bytes(wt);
  HostMem a(size_t(s.m * s.k) * dshal::dtype_bytes(at)), c(size_t(s.m * s.n) * 4);
  fill_random(a, at, size_t(s.m * s.k), 3);
  dshal_gemm_desc d{};
  d.struct_size = sizeof d;
  d.trans_b = 1;
  d.m = uint64_t(s.m);
  d.n = uint64_t(s.n);
  d.k = uint64_t(s.k);
  d.batch = 1;
  d.alpha = 1.0f;
  d.a = {a.handle(), 0, at, uint64_t(s.k), 0};
  d.c = {c.handle(), 0, DSHAL_DTYPE_F32, uint64_t(s.n), 0};
  std::string err;
  size_t next = 0;
  settle();
  for (auto _ : state) {
    d.b = {w[next]->handle(), 0, wt, uint64_t(s.k), 0};
    next = (next + 1) % w.size();
    if (dshal::host::gemm(d, &err) != DSHAL_OK) {
      state.SkipWithError(err.c_str());
      return;
    }
    benchmark::ClobberMemory();
  }
  state.counters["W_GB/s"] =
      benchmark::Counter(double(wbytes), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_openblas_sgemv(benchmark::State& state, Shape s) {
  auto& w = cold_weights(s, DSHAL_DTYPE_F32);
  const size_t wbytes = size_t(s.n * s.k) * 4;
  HostMem x(size_t(s.k) * 4), y(size_t(s.n) * 4);
  fill_random(x, DSHAL_DTYPE_F32, size_t(s.k), 3);
  size_t next = 0;
  settle();
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(s.n), int(s.k), 1.0f, w[next]->as<float>(), int(s.k), x.as<float>(), 1,
                0.0f, y.as<float>(), 1);
    next = (next + 1) % w.size();
    benchmark::ClobberMemory();
  }
  blas_thread_shutdown_();
  state.counters["W_GB/s"] =
      benchmark::Counter(double(wbytes), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// ---- STREAM-style read: sum a 1 GiB float array with 2 threads -----------------------------------

__attribute__((target("avx512f"))) float sum_avx512(const float* p, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  float t = 0;
  for (float v : lanes) t += v;
  return t;
}

float sum_portable(const float* p, size_t n) {
  float s[16] = {};
  for (size_t i = 0; i < n; i += 16)
    for (int l = 0; l < 16; ++l) s[l] += p[i + l];
  float t = 0;
  for (float v : s) t += v;
  return t;
}

void BM_stream_read(benchmark::State& state) {
  const size_t bytes = size_t(1) << 30, n = bytes / 4;
  static HostMem mem(bytes);
  float* p = mem.as<float>();
  for (size_t i = 0; i < n; ++i) p[i] = 1.0f;
  const bool avx512 = __builtin_cpu_supports("avx512f");
  settle();
  for (auto _ : state) {
    float part[kThreads];
    std::vector<std::thread> th;
    for (int t = 0; t < kThreads; ++t)
      th.emplace_back([&, t] {
        const size_t b = n / kThreads * size_t(t), e = n / kThreads * size_t(t + 1);
        part[t] = avx512 ? sum_avx512(p + b, e - b) : sum_portable(p + b, e - b);
      });
    for (auto& x : th) x.join();
    benchmark::DoNotOptimize(part[0] + part[1]);
  }
  state.counters["GB/s"] =
      benchmark::Counter(double(bytes), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// ---- registration and summary --------------------------------------------------------------------

const Shape kMoe{128, 2048, 7168}, kSquare{2048, 2048, 2048}, kDecode{1, 2048, 7168};

// Seconds per iteration of every benchmark that ran, by name: the median over repetitions (the
// single run without repetitions).
class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> seconds;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations <= 0) continue;
      const std::string& name = r.run_name.function_name;
      const double s = r.real_accumulated_time / double(r.iterations);
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") seconds[name] = s;
      } else if (r.repetitions <= 1) {
        seconds[name] = s;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

void register_all() {
  auto reg = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
  };
  for (const Shape& s : {kMoe, kSquare}) {
    const std::string n = shape_name(s);
    reg("openblas_f32_NT/" + n, [s](benchmark::State& st) { BM_openblas_sgemm(st, s, true); });
    reg("dshal_f32_NT/" + n, [s](benchmark::State& st) { BM_dshal_gemm(st, s, DSHAL_DTYPE_F32, true); });
    reg("dshal_bf16_NT/" + n, [s](benchmark::State& st) { BM_dshal_gemm(st, s, DSHAL_DTYPE_BF16, true); });
    reg("openblas_f32_NN/" + n, [s](benchmark::State& st) { BM_openblas_sgemm(st, s, false); });
    reg("dshal_f32_NN/" + n, [s](benchmark::State& st) { BM_dshal_gemm(st, s, DSHAL_DTYPE_F32, false); });
  }
  reg("stream_read/1GiB", [](benchmark::State& st) { BM_stream_read(st); });
  const std::string d = shape_name(kDecode);
  reg("dshal_gemv_bf16W_bf16A/" + d,
      [](benchmark::State& st) { BM_dshal_gemv(st, kDecode, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16); });
  reg("dshal_gemv_bf16W_f32A/" + d,
      [](benchmark::State& st) { BM_dshal_gemv(st, kDecode, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16); });
  reg("openblas_gemv_f32W/" + d, [](benchmark::State& st) { BM_openblas_sgemv(st, kDecode); });
}

void print_summary(const std::map<std::string, double>& sec) {
  auto get = [&](const std::string& name) {
    auto it = sec.find(name);
    return it == sec.end() ? std::nan("") : it->second;
  };
  auto gflops = [&](const std::string& name, const Shape& s) { return 2.0 * double(s.m * s.n * s.k) / get(name) * 1e-9; };
  auto verdict = [](double ratio, double target) { return std::isnan(ratio) ? "n/a" : ratio >= target ? "MET" : "NOT MET"; };

  std::printf("\n==== gemm_vs_openblas summary (%d threads each, one library at a time; medians over repetitions;"
              " GFLOP/s = 2*M*N*K / time) ====\n",
              kThreads);
  std::printf("OpenBLAS core: %s\n", openblas_get_corename());
  std::printf("%-16s %-6s %11s %11s %11s %9s %9s   %s\n", "shape MxNxK", "layout", "dshal f32", "dshal bf16",
              "OpenBLAS f32", "f32 ratio", "bf16 ratio", "targets");
  for (const Shape& s : {kMoe, kSquare}) {
    const std::string n = shape_name(s);
    for (const char* layout : {"NT", "NN"}) {
      const std::string l = layout;
      const double df = gflops("dshal_f32_" + l + "/" + n, s), ob = gflops("openblas_f32_" + l + "/" + n, s);
      const double db = l == "NT" ? gflops("dshal_bf16_NT/" + n, s) : std::nan("");
      std::string targets;
      if (l == "NT") {
        targets = std::string("f32 >= 1.2x: ") + verdict(df / ob, 1.2);
        if (s.m == kSquare.m) targets += std::string(", bf16 >= 2.2x: ") + verdict(db / ob, 2.2);
      } else {
        targets = "(info)";
      }
      std::printf("%-16s %-6s %11.1f %11.1f %11.1f %8.2fx %8.2fx   %s\n", n.c_str(), layout, df, db, ob, df / ob, db / ob,
                  targets.c_str());
    }
  }
  const double stream = double(size_t(1) << 30) / get("stream_read/1GiB") * 1e-9;
  const std::string d = shape_name(kDecode);
  const double wbytes = double(kDecode.n * kDecode.k) * 2;
  const double gv_bf = wbytes / get("dshal_gemv_bf16W_bf16A/" + d) * 1e-9;
  const double gv_f = wbytes / get("dshal_gemv_bf16W_f32A/" + d) * 1e-9;
  const double ob_gv = wbytes * 2 / get("openblas_gemv_f32W/" + d) * 1e-9;
  std::printf("\nSTREAM-style read (sum of a 1 GiB f32 array, %d threads): %.1f GB/s\n", kThreads, stream);
  std::printf("decode GEMV %s, B = bf16 W[N][K] (trans_b = 1), weights cold (rotating copies > 3x L3):\n", d.c_str());
  std::printf("  %-28s %8.1f GB/s of W  = %.2fx STREAM   target >= 0.6x: %s\n", "dshal, A bf16:", gv_bf, gv_bf / stream,
              verdict(gv_bf / stream, 0.6));
  std::printf("  %-28s %8.1f GB/s of W  = %.2fx STREAM   target >= 0.6x: %s\n", "dshal, A f32:", gv_f, gv_f / stream,
              verdict(gv_f / stream, 0.6));
  std::printf("  %-28s %8.1f GB/s of W  = %.2fx STREAM   (info: f32 W)\n", "OpenBLAS sgemv, f32 W:", ob_gv, ob_gv / stream);
}

}  // namespace

int main(int argc, char** argv) {
  tbb::global_control tbb_threads(tbb::global_control::max_allowed_parallelism, kThreads);
  openblas_set_num_threads(kThreads);
  // Defaults for a shared, noisy machine: 5 repetitions of every benchmark in random order (so
  // both libraries see the same background), summarized by their medians. Flags given override.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5", order = "--benchmark_enable_random_interleaving=true";
  bool has_reps = false;
  for (int i = 1; i < argc; ++i) has_reps |= std::strncmp(argv[i], "--benchmark_repetitions", 23) == 0;
  if (!has_reps) {
    args.insert(args.begin() + 1, reps.data());
    args.insert(args.begin() + 2, order.data());
  }
  argc = int(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  Collector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_summary(reporter.seconds);
  benchmark::Shutdown();
  return 0;
}
