// `dshal bench`: GEMM GFLOP/s per shape and dtype, copy and host-read bandwidth, and the cost of
// one queued tiny op, on one device. Numbers are for comparing devices and peers in one run. A device
// that reports device time (Stream::device_time: measured, or a simulator's cost model) also gets
// GEMM throughput projected from it.
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <dshal/dshal.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_decode.hpp"
#include "commands.hpp"

namespace dshal::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  uint64_t m, n, k;
};

// Best time of repeated runs of f (which enqueues work), at least min_reps and about budget_s.
template <typename F>
double best_seconds(const Stream& s, F&& f, int min_reps = 3, double budget_s = 0.5) {
  double best = 1e30, total = 0;
  for (int rep = 0; rep < min_reps || (total < budget_s && rep < 50); ++rep) {
    const auto t0 = Clock::now();
    if (!f().ok() || !s.synchronize().ok()) return -1;
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, dt);
    total += dt;
  }
  return best;
}

// STREAM-style read bandwidth of host memory: a parallel sum over 1 GiB of floats.
double stream_read_gbps() {
  const size_t n = size_t(1) << 28;
  std::unique_ptr<float[]> a(new float[n]);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, n), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i < r.end(); ++i) a[i] = float(i & 7);
  });
  double best = 1e30;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    sink = tbb::parallel_reduce(
        tbb::blocked_range<size_t>(0, n, size_t(1) << 16), 0.0f,
        [&](const tbb::blocked_range<size_t>& r, float acc) {
          float part[16] = {};
          size_t i = r.begin();
          for (; i + 16 <= r.end(); i += 16)
            for (int j = 0; j < 16; ++j) part[j] += a[i + j];
          for (; i < r.end(); ++i) acc += a[i];
          for (float p : part) acc += p;
          return acc;
        },
        [](float x, float y) { return x + y; });
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  (void)sink;
  return double(n * sizeof(float)) / best / 1e9;
}

struct GemmResult {
  Shape s;
  std::string dtype;
  double gflops, weight_gbps;
  double projected_gflops = -1;  // from the device's own time (Stream::device_time); < 0: none
};

// Whether the device reports device time (measured, or a simulator's cost model).
bool reports_device_time(const Stream& str) {
  uint64_t ns = 0;
  return str.device_time(&ns).ok();
}

// Device-side GFLOP/s of one more run of f, from the stream's device time. Negative when the device
// does not report it, or when the op ran as a host fallback (its device time would be only the
// fallback's copies, not the GEMM).
double projected_gflops(const Device& dev, const Stream& str, double flops, const std::function<Status()>& f) {
  uint64_t before = 0, after = 0;
  if (!str.synchronize().ok() || !str.device_time(&before).ok()) return -1;
  const auto fallbacks = dev.fallback_counts();
  if (!f().ok() || !str.synchronize().ok() || !str.device_time(&after).ok()) return -1;
  if (dev.fallback_counts() != fallbacks || after <= before) return -1;
  return flops / (double(after - before) * 1e-9) / 1e9;
}

Status bench_gemm(const Device& dev, const Stream& str, const Shape& sh, const std::string& dtype, GemmResult* out) {
  const bool quant = dtype == "fp8" || dtype == "int4";
  const dshal_dtype in = dtype == "f32" ? DSHAL_DTYPE_F32 : dtype == "f16" ? DSHAL_DTYPE_F16 : DSHAL_DTYPE_BF16;
  const uint64_t a_bytes = sh.m * sh.k * (in == DSHAL_DTYPE_F32 ? 4 : 2);
  const uint64_t w_bytes = dtype == "int4" ? sh.n * sh.k / 2 : dtype == "fp8" ? sh.n * sh.k : sh.n * sh.k * (in == DSHAL_DTYPE_F32 ? 4 : 2);
  const uint32_t bn = dtype == "fp8" ? 128 : 1, bk = dtype == "fp8" ? 128 : 64;
  const uint64_t scale_bytes = quant ? 4 * ((sh.n + bn - 1) / bn) * ((sh.k + bk - 1) / bk) : 0;
  Buffer a, w, scales, c;
  DSHAL_RETURN_IF_ERROR(dev.alloc(a_bytes, &a));
  DSHAL_RETURN_IF_ERROR(dev.alloc(w_bytes, &w));
  DSHAL_RETURN_IF_ERROR(dev.alloc(sh.m * sh.n * 4, &c));
  // Small finite values: 0x3c00 is 1.0 in f16 and 0.0078 in bf16 pairs; 0x38 is fp8 1.0; 0x11 int4 1,1.
  const uint16_t half = in == DSHAL_DTYPE_F16 ? 0x2c00 : 0x3c00;
  const float f = 0.01f;
  DSHAL_RETURN_IF_ERROR(in == DSHAL_DTYPE_F32 ? str.fill(a, 0, a_bytes, &f, 4) : str.fill(a, 0, a_bytes, &half, 2));
  if (quant) {
    DSHAL_RETURN_IF_ERROR(dev.alloc(scale_bytes, &scales));
    const uint8_t wv = dtype == "fp8" ? 0x38 : 0x11;
    const float one = 1.0f;
    DSHAL_RETURN_IF_ERROR(str.fill(w, 0, w_bytes, &wv, 1));
    DSHAL_RETURN_IF_ERROR(str.fill(scales, 0, scale_bytes, &one, 4));
  } else {
    DSHAL_RETURN_IF_ERROR(in == DSHAL_DTYPE_F32 ? str.fill(w, 0, w_bytes, &f, 4) : str.fill(w, 0, w_bytes, &half, 2));
  }
  std::function<Status()> run;
  if (quant) {
    auto d = desc<dshal_gemm_quant_desc>();
    d.m = sh.m, d.n = sh.n, d.k = sh.k, d.alpha = 1, d.beta = 0;
    d.a = matrix(a, DSHAL_DTYPE_BF16, sh.k);
    d.w = dshal_weight{w.handle(), 0, dtype == "fp8" ? DSHAL_DTYPE_FP8_E4M3 : DSHAL_DTYPE_INT4, sh.k, scales.handle(), 0, bn, bk};
    d.c = matrix(c, DSHAL_DTYPE_F32, sh.n);
    run = [&str, d] { return str.gemm_quant(d); };
  } else {
    auto d = desc<dshal_gemm_desc>();
    d.trans_b = 1;  // weights as Hugging Face stores them: [N][K]
    d.m = sh.m, d.n = sh.n, d.k = sh.k, d.batch = 1, d.alpha = 1, d.beta = 0;
    d.a = matrix(a, in, sh.k);
    d.b = matrix(w, in, sh.k);
    d.c = matrix(c, DSHAL_DTYPE_F32, sh.n);
    run = [&str, d] { return str.gemm(d); };
  }
  DSHAL_RETURN_IF_ERROR(run());  // warm-up (and packing caches)
  DSHAL_RETURN_IF_ERROR(str.synchronize());
  const double t = best_seconds(str, run);
  if (t <= 0) return Status(DSHAL_ERROR_DEVICE, fmt::format("gemm {}x{}x{} {} failed", sh.m, sh.n, sh.k, dtype));
  const double flops = 2.0 * double(sh.m) * sh.n * sh.k;
  *out = {sh, dtype, flops / t / 1e9, sh.m <= 16 ? double(w_bytes + scale_bytes) / t / 1e9 : 0.0};
  out->projected_gflops = projected_gflops(dev, str, flops, run);
  return {};
}

double copy_gbps(const Device& dev, const Stream& str) {
  const uint64_t bytes = 256ull << 20;
  Buffer a, b;
  if (!dev.alloc(bytes, &a).ok() || !dev.alloc(bytes, &b).ok()) return 0;
  const uint8_t z = 1;
  (void)str.fill(a, 0, bytes, &z, 1);
  (void)str.fill(b, 0, bytes, &z, 1);
  const double t = best_seconds(str, [&] { return str.copy_d2d(a, 0, b, 0, bytes); });
  return t > 0 ? 2.0 * double(bytes) / t / 1e9 : 0;  // read + write
}

double dispatch_us(const Device& dev, const Stream& str) {
  Buffer b;
  if (!dev.alloc(64, &b).ok()) return 0;
  const int n = 2000;
  const uint32_t v = 7;
  const double t = best_seconds(str, [&] {
    for (int i = 0; i < n; ++i) DSHAL_RETURN_IF_ERROR(str.fill(b, 0, 64, &v, 4));
    return Status();
  });
  return t > 0 ? t / n * 1e6 : 0;
}

std::vector<Shape> parse_shapes(const std::string& text, std::string* error) {
  std::vector<Shape> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Shape s{};
    char x1 = 0, x2 = 0;
    std::stringstream is(item);
    if (!(is >> s.m >> x1 >> s.n >> x2 >> s.k) || x1 != 'x' || x2 != 'x' || !is.eof() || !s.m || !s.n || !s.k) {
      *error = fmt::format("--shapes: '{}' is not MxNxK with positive sizes", item);
      return {};
    }
    out.push_back(s);
  }
  return out;
}

int run_bench(const std::string& device_spec, bool json, const std::string& shapes_text, const std::vector<std::string>& dtypes,
              const DecodeBenchArgs* decode) {
  std::vector<std::string> ids;
  if (!resolve_devices(device_spec, &ids)) return kUsage;
  std::string error;
  const std::vector<Shape> shapes = shapes_text.empty() ? std::vector<Shape>{} : parse_shapes(shapes_text, &error);
  if (shapes.empty() && !shapes_text.empty()) {
    std::cerr << "dshal bench: " << error << "\n";
    return kUsage;
  }
  for (const std::string& t : dtypes)
    if (t != "f32" && t != "f16" && t != "bf16" && t != "fp8" && t != "int4") {
      std::cerr << "dshal bench: --dtypes: '" << t << "' is not one of f32, f16, bf16, fp8, int4\n";
      return kUsage;
    }
  if (ids.size() > 1 && !decode) {
    std::cerr << "dshal bench: --device lists " << ids.size()
              << " devices; several devices are for --model (decode as the routed experts spread over them)\n";
    return kUsage;
  }
  std::vector<Device> devices(ids.size());
  Stream str;
  for (size_t i = 0; i < ids.size(); ++i)
    if (Status st = open_device(ids[i], &devices[i]); !st.ok() || (i == 0 && !(st = devices[0].create_stream(&str)).ok())) {
      std::cerr << "dshal bench: " << st.to_string() << "\n";
      return kFailed;
    }
  const Device& dev = devices[0];
  nlohmann::json j;
  j["device"] = ids[0];
  j["device_name"] = dev.properties().name;
  j["gemm"] = nlohmann::json::array();
  // Devices that report device time (a simulator's cost model, say) also get projected GFLOP/s;
  // the output for every other device stays as it was.
  const bool projected = reports_device_time(str);
  if (projected) j["device_time"] = true;
  std::fprintf(stderr, "dshal bench on %s (%s)\n", ids[0].c_str(), dev.properties().name);
  for (const Shape& s : shapes) {
    for (const std::string& t : dtypes) {
      const bool quant = t == "fp8" || t == "int4";
      if (quant && s.m > 16) continue;  // weight-only quantization is for decode-shaped GEMMs
      const dshal_dtype in = t == "f32" ? DSHAL_DTYPE_F32 : t == "f16" ? DSHAL_DTYPE_F16 : DSHAL_DTYPE_BF16;
      if (!quant && !(dev.properties().gemm_dtypes & DSHAL_DTYPE_BIT(in))) continue;
      std::fprintf(stderr, "  gemm %llux%llux%llu %s ...", (unsigned long long)s.m, (unsigned long long)s.n,
                   (unsigned long long)s.k, t.c_str());
      GemmResult r;
      if (Status st = bench_gemm(dev, str, s, t, &r); !st.ok()) {
        std::fprintf(stderr, " failed: %s\n", st.to_string().c_str());
        return kFailed;
      }
      std::fprintf(stderr, " %.1f GFLOP/s%s%s\n", r.gflops, r.weight_gbps > 0 ? fmt::format(", weights {:.1f} GB/s", r.weight_gbps).c_str() : "",
                   !projected ? "" : r.projected_gflops >= 0 ? fmt::format(", projected {:.1f} GFLOP/s", r.projected_gflops).c_str() : ", projected - (host fallback)");
      nlohmann::json g = {{"m", s.m}, {"n", s.n}, {"k", s.k}, {"dtype", t}, {"gflops", r.gflops}};
      g["weight_gbps"] = s.m <= 16 ? nlohmann::json(r.weight_gbps) : nlohmann::json(nullptr);
      // null: the GEMM ran as a host fallback, so the device's time says nothing about it.
      if (projected) g["projected_gflops"] = r.projected_gflops >= 0 ? nlohmann::json(r.projected_gflops) : nlohmann::json(nullptr);
      j["gemm"].push_back(g);
    }
  }
  std::fprintf(stderr, "  copy, host read bandwidth, dispatch ...\n");
  j["copy_gbps"] = copy_gbps(dev, str);
  j["stream_read_gbps"] = stream_read_gbps();
  j["dispatch_us"] = dispatch_us(dev, str);
  if (decode) {
    nlohmann::json d;
    const double read_gbps = j["stream_read_gbps"].get<double>();
    Status st = ids.size() > 1 ? bench_decode_by_devices(devices, *decode, read_gbps, &d)
                               : bench_decode(devices, *decode, read_gbps, &d);
    if (!st.ok()) {
      std::cerr << "dshal bench: " << st.message() << "\n";
      return st.code() == DSHAL_ERROR_INVALID_ARGUMENT || st.code() == DSHAL_ERROR_NOT_FOUND ? kUsage : kFailed;
    }
    if (ids.size() > 1) j["decode_by_devices"] = d;
    j["decode"] = ids.size() > 1 ? d[0] : d;  // one device
  }
  if (json) {
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  std::cout << fmt::format("{:<22} {:<6} {:>10} {:>12}", "gemm MxNxK", "dtype", "GFLOP/s", "weights GB/s")
            << (projected ? fmt::format(" {:>18}", "projected GFLOP/s") : "") << "\n";
  for (const auto& g : j["gemm"]) {
    std::cout << fmt::format("{:<22} {:<6} {:>10.1f} {:>12}",
                             fmt::format("{}x{}x{}", g["m"].get<uint64_t>(), g["n"].get<uint64_t>(), g["k"].get<uint64_t>()),
                             g["dtype"].get<std::string>(), g["gflops"].get<double>(),
                             g["weight_gbps"].is_null() ? "-" : fmt::format("{:.1f}", g["weight_gbps"].get<double>()));
    if (projected)
      std::cout << fmt::format(" {:>18}", g["projected_gflops"].is_null() ? "- (host)" : fmt::format("{:.1f}", g["projected_gflops"].get<double>()));
    std::cout << "\n";
  }
  if (projected)
    std::cout << "projected: work / the device's own time (Stream::device_time; for a simulator, its cost model); "
                 "'- (host)': ran as a host fallback\n";
  std::cout << fmt::format("copy (d2d, read+write): {:.1f} GB/s\nhost STREAM read: {:.1f} GB/s\none queued tiny op: {:.2f} us\n",
                           j["copy_gbps"].get<double>(), j["stream_read_gbps"].get<double>(), j["dispatch_us"].get<double>());
  if (decode) print_decode(j);
  return kOk;
}

}  // namespace

void add_bench_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("bench", "Measure GEMM, copy and dispatch speed on a device");
  auto device = std::make_shared<std::string>();
  auto shapes = std::make_shared<std::string>("1x2048x7168,16x2048x7168,128x2048x7168,512x7168x2048,2048x2048x2048");
  auto dtypes = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"f32", "bf16", "fp8", "int4"});
  cmd->add_option("--device", *device, "Device id; default: $DSHAL_DEVICE or auto");
  cmd->add_option("--shapes", *shapes, "Comma list of MxNxK (C = A[MxK] * W[NxK]^T)")->capture_default_str();
  cmd->add_option("--dtypes", *dtypes, "Any of f32 f16 bf16 fp8 int4 (fp8/int4: weight-only, M <= 16)")->delimiter(',')->capture_default_str();
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON");
  auto decode = std::make_shared<DecodeBenchArgs>();
  cmd->add_option("--model", decode->model, "Also time prefill and decode of this checkpoint (GEMM shapes then run only when --shapes is given)");
  cmd->add_option("--prompt-len", decode->prompt_len, "Prompt tokens for --model")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--new-tokens", decode->new_tokens, "Decoded tokens for --model")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--model-dtype", decode->dtype, "Activations for --model")->check(CLI::IsMember({"f32", "bf16"}))->capture_default_str();
  CLI::Option* shapes_opt = cmd->get_option("--shapes");
  cmd->callback([=] {
    const bool with_model = !decode->model.empty();
    const std::string shape_list = with_model && shapes_opt->count() == 0 ? "" : *shapes;
    *exit_code = run_bench(device->empty() ? device_spec_from_env("auto") : *device, *json, shape_list, *dtypes,
                           with_model ? decode.get() : nullptr);
  });
}

}  // namespace dshal::cli
