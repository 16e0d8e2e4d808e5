// The f32 GEMM problem the GEMM benchmarks share: a shape, the same random A[M][K] and B[N][K] for
// every contender, the check of C = A B^T against an fp64 reference, and a dshal device set up to
// run it.
#pragma once

#include <dshal/dshal.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace dshal::bench {

struct Shape {
  int64_t m, n, k;
  std::string name() const { return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k); }
};

struct Inputs {
  std::vector<float> a, b;
};
inline const Inputs& inputs(const Shape& s) {
  static std::map<std::string, Inputs> cache;
  Inputs& in = cache[s.name()];
  if (in.a.empty()) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    in.a.resize(size_t(s.m * s.k));
    in.b.resize(size_t(s.n * s.k));
    for (float& x : in.a) x = u(rng);
    for (float& x : in.b) x = u(rng);
  }
  return in;
}

// Checks 64 sampled elements of C (always including the last one) against an fp64 reference; ""
// when they match within f32 accumulation error.
inline std::string check(const Shape& s, const std::vector<float>& c) {
  const Inputs& in = inputs(s);
  std::mt19937 rng(11);
  for (int t = 0; t < 64; ++t) {
    const int64_t i = t == 0 ? s.m - 1 : int64_t(rng() % uint64_t(s.m)), j = t == 0 ? s.n - 1 : int64_t(rng() % uint64_t(s.n));
    double ref = 0, mag = 0;
    for (int64_t p = 0; p < s.k; ++p) {
      const double x = double(in.a[size_t(i * s.k + p)]) * in.b[size_t(j * s.k + p)];
      ref += x;
      mag += std::fabs(x);
    }
    const double got = c[size_t(i * s.n + j)];
    if (!(std::fabs(got - ref) <= 2.0 * double(s.k + 2) * 0x1p-24 * mag))
      return "C[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(got) + ", expected " +
             std::to_string(ref);
  }
  return "";
}

// The shape's GEMM on one dshal device: A and B uploaded, C allocated, the descriptor built, and one
// warm-up call (kernel / pipeline builds) checked against fp64 by prepare().
struct DeviceGemm {
  dshal::Device dev;
  dshal::Stream str;
  dshal::Buffer a, b, c;
  dshal_gemm_desc d{};

  // "" when ready, else why not.
  std::string prepare(const std::string& device, const Shape& s) {
    dshal::Status st = dshal::open_device(device, &dev);
    if (!st.ok()) return device + " skipped: " + st.to_string();
    st = dev.create_stream(&str);
    if (st.ok()) st = dev.alloc(uint64_t(s.m * s.k) * 4, &a);
    if (st.ok()) st = dev.alloc(uint64_t(s.n * s.k) * 4, &b);
    if (st.ok()) st = dev.alloc(uint64_t(s.m * s.n) * 4, &c);
    const Inputs& in = inputs(s);
    if (st.ok()) st = str.copy_h2d(in.a.data(), a, 0, a.size());
    if (st.ok()) st = str.copy_h2d(in.b.data(), b, 0, b.size());
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
    if (st.ok()) st = str.gemm(d);
    std::vector<float> out(size_t(s.m * s.n));
    if (st.ok()) st = str.copy_d2h(c, 0, out.data(), c.size());
    if (st.ok()) st = str.synchronize();
    if (!st.ok()) return device + ": " + st.to_string();
    const std::string bad = check(s, out);
    return bad.empty() ? "" : device + ": " + bad;
  }

  // One timed unit: the GEMM and the wait for it.
  dshal::Status run() {
    dshal::Status st = str.gemm(d);
    return st.ok() ? str.synchronize() : st;
  }
};

}  // namespace dshal::bench
