// Host GEMM family entry points: gemm, gemm_quant and grouped_gemm decode their descriptors into
// operand views and route each product to the small-M, streamed-weight or packed-panel driver on
// the best kernels this CPU runs.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "gemm_internal.hpp"
#include "host/dtype.hpp"
#include "host/kernels.hpp"

namespace dshal::host {
namespace gemm_detail {
namespace {

std::atomic<bool> g_force_portable{false};

bool is_float(dshal_dtype t) { return t == DSHAL_DTYPE_F32 || t == DSHAL_DTYPE_F16 || t == DSHAL_DTYPE_BF16; }

const void* elem(const void* p, dshal_dtype t, uint64_t idx) {
  return static_cast<const std::byte*>(p) + (t == DSHAL_DTYPE_INT4 ? idx / 2 : idx * dtype_bytes(t));
}

}  // namespace

const Isa* avx512_isa() {
  static const Isa* isa = []() -> const Isa* {
#if defined(__x86_64__) && defined(DSHAL_GEMM_HAVE_AVX512)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c"))
      return nullptr;
    static Isa storage;
    fill_avx512_isa(&storage, __builtin_cpu_supports("avx512bf16"));
    return &storage;
#else
    return nullptr;
#endif
  }();
  return isa;
}

const Isa& active_isa() {
  const Isa* fast = g_force_portable.load(std::memory_order_relaxed) ? nullptr : avx512_isa();
  return fast ? *fast : portable_isa();
}

void set_force_portable(bool on) { g_force_portable.store(on, std::memory_order_relaxed); }

}  // namespace gemm_detail

namespace {

using namespace gemm_detail;

// Products smaller than this (2*M*N*K) run one per thread instead of threading inside.
constexpr double kSmallFlops = 4.0e6;

// A weight view (W[N][K]) for group g.
Src weight_src(const dshal_weight& w, uint64_t k, uint64_t group_stride, uint64_t scales_stride, uint64_t g) {
  Src s;
  s.p = host_ptr(w.buffer, w.offset + g * group_stride);
  s.t = w.dtype;
  s.rs = int64_t(w.ld);
  s.ks = 1;
  if (s.quant()) {
    s.rs = int64_t(k);
    s.scales = host_ptr<const float>(w.scales, w.scales_offset + g * scales_stride);
    s.bn = w.block_n;
    s.bk = w.block_k;
    s.scale_ld = int64_t((k + w.block_k - 1) / w.block_k);
  }
  return s;
}

Src row_src(const dshal_matrix& a) {  // A[M][K] not transposed
  return Src{host_ptr(a.buffer, a.offset), a.dtype, int64_t(a.ld), 1};
}

Dst dst_of(const dshal_matrix& c) { return Dst{host_ptr(c.buffer, c.offset), c.dtype, int64_t(c.ld)}; }

dshal_status unsupported(std::string* error, const char* op, const char* what, dshal_dtype t) {
  if (error) *error = std::string(op) + ": " + what + " = " + dtype_name(t) + " is not supported by the host kernels";
  return DSHAL_ERROR_UNSUPPORTED;
}

template <typename F>
dshal_status guarded(std::string* error, const char* op, const F& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    if (error) *error = std::string(op) + ": out of host memory for packing buffers";
    return DSHAL_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    if (error) *error = std::string(op) + ": " + e.what();
    return DSHAL_ERROR_INTERNAL;
  }
}

}  // namespace

dshal_status gemm(const dshal_gemm_desc& d, std::string* error) {
  if (!is_float(d.a.dtype)) return unsupported(error, "gemm", "a.dtype", d.a.dtype);
  if (!is_float(d.b.dtype)) return unsupported(error, "gemm", "b.dtype", d.b.dtype);
  if (!is_float(d.c.dtype)) return unsupported(error, "gemm", "c.dtype", d.c.dtype);
  if (d.m == 0 || d.n == 0 || d.batch == 0) return DSHAL_OK;
  return guarded(error, "gemm", [&] {
    const int64_t M = int64_t(d.m), N = int64_t(d.n), K = int64_t(d.k), B = int64_t(d.batch);
    const Dst c0 = dst_of(d.c);
    auto c_at = [&](int64_t b) {
      Dst c = c0;
      c.p = host_ptr(d.c.buffer, d.c.offset + uint64_t(b) * d.c.batch_stride * dtype_bytes(d.c.dtype));
      return c;
    };
    if (K == 0 || d.alpha == 0.0f) {  // C = beta * C (as BLAS: alpha == 0 does not read A or B)
      for (int64_t b = 0; b < B; ++b) scale_c(c_at(b), M, N, d.beta);
      return DSHAL_OK;
    }
    const Isa& isa = active_isa();
    const void* a0 = host_ptr(d.a.buffer, d.a.offset);
    const void* b0 = host_ptr(d.b.buffer, d.b.offset);
    auto a_at = [&](int64_t b) {
      return Src{elem(a0, d.a.dtype, uint64_t(b) * d.a.batch_stride), d.a.dtype, d.trans_a ? 1 : int64_t(d.a.ld),
                 d.trans_a ? int64_t(d.a.ld) : 1};
    };
    auto b_at = [&](int64_t b) {  // rows = n
      return Src{elem(b0, d.b.dtype, uint64_t(b) * d.b.batch_stride), d.b.dtype, d.trans_b ? int64_t(d.b.ld) : 1,
                 d.trans_b ? 1 : int64_t(d.b.ld)};
    };

    if (M <= kGemvMaxRows && d.trans_b) {
      std::vector<GemvJob> jobs(static_cast<size_t>(B));
      for (int64_t b = 0; b < B; ++b) jobs[size_t(b)] = GemvJob{a_at(b), b_at(b), M, c_at(b), d.alpha, d.beta};
      run_gemv(isa, jobs, N, K);
      return DSHAL_OK;
    }
    const bool stream = d.trans_b && M <= stream_max_rows(isa, a_at(0), b_at(0));
    auto run_one = [&](int64_t b, bool parallel) {
      if (stream) run_stream_w(isa, a_at(b), b_at(b), M, N, K, d.alpha, d.beta, c_at(b), parallel);
      else run_blocked(isa, a_at(b), b_at(b), M, N, K, d.alpha, d.beta, c_at(b), parallel);
    };
    if (B > 1 && 2.0 * double(M) * double(N) * double(K) < kSmallFlops) {
      tbb::parallel_for(tbb::blocked_range<int64_t>(0, B, 1), [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t b = r.begin(); b != r.end(); ++b) run_one(b, false);
      });
    } else {
      for (int64_t b = 0; b < B; ++b) run_one(b, true);
    }
    return DSHAL_OK;
  });
}

dshal_status gemm_quant(const dshal_gemm_quant_desc& d, std::string* error) {
  if (!is_float(d.a.dtype)) return unsupported(error, "gemm_quant", "a.dtype", d.a.dtype);
  if (!is_float(d.c.dtype)) return unsupported(error, "gemm_quant", "c.dtype", d.c.dtype);
  if (!is_float(d.w.dtype) && d.w.dtype != DSHAL_DTYPE_FP8_E4M3 && d.w.dtype != DSHAL_DTYPE_INT4)
    return unsupported(error, "gemm_quant", "w.dtype", d.w.dtype);
  if (d.m == 0 || d.n == 0) return DSHAL_OK;
  return guarded(error, "gemm_quant", [&] {
    const int64_t M = int64_t(d.m), N = int64_t(d.n), K = int64_t(d.k);
    const Dst c = dst_of(d.c);
    if (K == 0 || d.alpha == 0.0f) {
      scale_c(c, M, N, d.beta);
      return DSHAL_OK;
    }
    const Isa& isa = active_isa();
    const Src a = row_src(d.a), w = weight_src(d.w, d.k, 0, 0, 0);
    if (M <= kGemvMaxRows) {
      run_gemv(isa, {GemvJob{a, w, M, c, d.alpha, d.beta}}, N, K);
    } else if (M <= stream_max_rows(isa, a, w)) {
      run_stream_w(isa, a, w, M, N, K, d.alpha, d.beta, c, true);
    } else {
      run_blocked(isa, a, w, M, N, K, d.alpha, d.beta, c, true);
    }
    return DSHAL_OK;
  });
}

dshal_status grouped_gemm(const dshal_grouped_gemm_desc& d, std::string* error) {
  if (!is_float(d.a.dtype)) return unsupported(error, "grouped_gemm", "a.dtype", d.a.dtype);
  if (!is_float(d.c.dtype)) return unsupported(error, "grouped_gemm", "c.dtype", d.c.dtype);
  if (!is_float(d.w.dtype) && d.w.dtype != DSHAL_DTYPE_FP8_E4M3 && d.w.dtype != DSHAL_DTYPE_INT4)
    return unsupported(error, "grouped_gemm", "w.dtype", d.w.dtype);
  if (d.m == 0 || d.n == 0 || d.groups == 0) return DSHAL_OK;
  const int32_t* off = host_ptr<const int32_t>(d.offsets.buffer, d.offsets.offset);
  for (uint64_t g = 0; g <= d.groups; ++g) {
    const bool bad = off[g] < 0 || uint64_t(off[g]) > d.m || (g > 0 && off[g] < off[g - 1]);
    if (bad) {
      if (error)
        *error = "grouped_gemm: offsets[" + std::to_string(g) + "] = " + std::to_string(off[g]) +
                 (off[g] < 0 || uint64_t(off[g]) > d.m
                      ? " is outside [0, m = " + std::to_string(d.m) + "]"
                      : " is below offsets[" + std::to_string(g - 1) + "] = " + std::to_string(off[g - 1]));
      return DSHAL_ERROR_INVALID_ARGUMENT;
    }
  }
  return guarded(error, "grouped_gemm", [&] {
    const int64_t N = int64_t(d.n), K = int64_t(d.k);
    const Dst c0 = dst_of(d.c);
    auto c_row = [&](int64_t r) {
      Dst c = c0;
      c.p = host_ptr(d.c.buffer, d.c.offset + uint64_t(r) * d.c.ld * dtype_bytes(d.c.dtype));
      return c;
    };
    if (K == 0) {
      scale_c(c_row(off[0]), off[d.groups] - off[0], N, 0.0f);
      return DSHAL_OK;
    }
    const Isa& isa = active_isa();
    const Src a0 = row_src(d.a);
    std::vector<GemvJob> small;
    for (uint64_t g = 0; g < d.groups; ++g) {
      const int64_t r0 = off[g], rows = off[g + 1] - off[g];
      if (rows == 0) continue;
      Src a = a0;
      a.p = elem(a0.p, a0.t, uint64_t(r0) * d.a.ld);
      const Src w = weight_src(d.w, d.k, d.w_group_stride_bytes, d.scales_group_stride_bytes, g);
      if (rows <= kGemvMaxRows) {
        small.push_back(GemvJob{a, w, rows, c_row(r0), 1.0f, 0.0f});
      } else if (rows <= stream_max_rows(isa, a, w)) {
        run_stream_w(isa, a, w, rows, N, K, 1.0f, 0.0f, c_row(r0), true);
      } else {
        run_blocked(isa, a, w, rows, N, K, 1.0f, 0.0f, c_row(r0), true);
      }
    }
    if (!small.empty()) run_gemv(isa, small, N, K);
    return DSHAL_OK;
  });
}

}  // namespace dshal::host
