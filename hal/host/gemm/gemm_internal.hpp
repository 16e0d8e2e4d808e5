// Internals of the host GEMM family: operand views, the per-ISA kernel tables and the drivers that
// block, pack and thread around them (GEMV-style for M <= 16, streamed weights for moderate M with
// W contiguous along K, BLIS-style packed panels otherwise).
#pragma once

#include <dshal/adapter.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dshal::host::gemm_detail {

// A source operand seen as rows r and depth k: element (r, k) is element r * rs + k * ks of p
// (INT4: nibble index). A uses r = m, B and W use r = n. Quantized weights (FP8, INT4) have ks == 1,
// and scales[(r / bn) * scale_ld + k / bk] multiplies element (r, k).
struct Src {
  const void* p = nullptr;
  dshal_dtype t = DSHAL_DTYPE_F32;
  int64_t rs = 0, ks = 1;
  const float* scales = nullptr;
  int64_t scale_ld = 0;
  int64_t bn = 1, bk = 1;
  bool quant() const { return t == DSHAL_DTYPE_FP8_E4M3 || t == DSHAL_DTYPE_INT4; }
};

// The output: element (m, n) is element m * ld + n of p.
struct Dst {
  void* p = nullptr;
  dshal_dtype t = DSHAL_DTYPE_F32;
  int64_t ld = 0;
};

// Packed-panel micro-kernel family. Panels hold kunits steps of mr (A) or nr (B) elements: one f32
// per k (f32 kernels) or one pair of bf16 (k, k + 1) in a uint32_t (bf16 kernels, kc even except at
// the end of K, zero padded). Rows beyond `rows` are packed as zeros.
struct PanelKernels {
  int mr = 0, nr = 0;
  int kpack = 1;       // k per packed unit: 1 (f32) or 2 (bf16 pairs)
  int64_t kc = 0;      // k per block, a multiple of 16 * kpack
  int64_t nc = 0;      // max columns per packed B block (a multiple of nr)
  void (*pack_a)(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst) = nullptr;
  void (*pack_b)(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst) = nullptr;
  // c[0..m)[0..n) = alpha * (a . b) + beta * c over kunits packed steps; beta == 0 does not read c.
  // While it computes, the kernel prefetches the npf cache lines at pf[] into L2, spread over its loop.
  void (*ukr)(int64_t kunits, const void* a, const void* b, float* c, int64_t ldc, int m, int n, float alpha,
              float beta, const void* const* pf, int npf) = nullptr;

  // Streamed-weight form (nullptr when the ISA lacks it), for a k-contiguous weight W and few rows
  // of A: pack_u copies mr rows of W (k-contiguous source) row-major, kc / kpack units each at a
  // row stride of kc_stride units, without transposing; pack_b packs A^T panels of nr rows of A;
  // ukr_t computes the C^T tile, c[l][i] for l < m (rows of C, from the A panel) and i < n (columns
  // of C, from the W panel).
  int64_t kc_stride = 0;
  int64_t kc_stream = 0;  // k per block in the streamed path (0: kc), at most kc_stride * kpack
  void (*pack_u)(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst) = nullptr;
  void (*ukr_t)(int64_t kunits, const void* u, const void* v, float* c, int64_t ldc, int n, int m, float alpha,
                float beta, const void* const* pf, int npf) = nullptr;
};

// GEMV-style kernels for small M with k-contiguous W. acc is [4][4][16] partial sums per (m, n):
// acc[(mi * 4 + ni) * 16 + lane] += sum over k = lane (mod 16) of a[mi][k] * w[ni][k].
struct GemvKernels {
  // dst[r][0..kc16) = dequantized W rows [r0, r0 + rows) at k in [k0, k0 + kc), zero padded to a
  // multiple of 16. k0 is a multiple of 16.
  void (*convert_w)(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd) = nullptr;
  void (*dot_f32)(const float* a, int64_t lda, int m, const float* w, int64_t ldw, int n, int64_t kc, float* acc) = nullptr;
  // Same as convert_w + dot_f32 with W rows [n0, n0 + n) dequantized in registers (k0 % 16 == 0;
  // quantized W need bk % 16 == 0). nullptr when the ISA lacks it.
  void (*dot_w)(const float* a, int64_t lda, int m, const Src& w, int64_t n0, int n, int64_t k0, int64_t kc,
                float* acc) = nullptr;
  // bf16 a and w (k0 even), products summed in f32 (vdpbf16ps); nullptr when the ISA lacks it.
  void (*dot_bf16)(const uint16_t* a, int64_t lda, int m, const uint16_t* w, int64_t ldw, int n, int64_t kc,
                   float* acc) = nullptr;
};

struct Isa {
  const char* name = "";
  PanelKernels f32;
  PanelKernels bf16;  // mr == 0 when unavailable
  GemvKernels gemv;
};

const Isa& portable_isa();
const Isa* avx512_isa();  // nullptr when the CPU lacks AVX-512 (F, BW, VL), FMA or F16C
const Isa& active_isa();  // avx512_isa() when usable and not forced off, else portable_isa()
// Defined in gemm_avx512.cpp; called by avx512_isa() after the CPU check.
void fill_avx512_isa(Isa* isa, bool has_bf16);
// For tests and benchmarks: route every call through the portable kernels.
void set_force_portable(bool on);

// Converts n elements of a row (stride in elements) to f32.
void row_to_f32(const void* p, dshal_dtype t, int64_t idx0, int64_t stride, int64_t n, float* dst);

// Buffers reused across calls (thread-safe pool); page aligned, contents undefined.
class Scratch {
 public:
  explicit Scratch(size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <typename T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0;
};

// One small-M product: C[m][n] = alpha * A[m] . W[n] + beta * C[m][n] for m < rows.
struct GemvJob {
  Src a;  // rows = m
  Src w;  // rows = n, ks == 1
  int64_t rows = 0;
  Dst c;
  float alpha = 1, beta = 0;
};
inline constexpr int64_t kGemvMaxRows = 16;

// Small-M path over many jobs sharing N and K, threaded over (job, n) blocks.
void run_gemv(const Isa& isa, const std::vector<GemvJob>& jobs, int64_t n, int64_t k);

// Streamed-weight path for few rows of A (16 < M <= stream_max_rows): C = alpha * A * W^T + beta * C,
// W (rows = n) contiguous along k. stream_max_rows is 0 when the ISA has no such kernels.
int64_t stream_max_rows(const Isa& isa, const Src& a, const Src& w);
void run_stream_w(const Isa& isa, const Src& a, const Src& w, int64_t m, int64_t n, int64_t k, float alpha,
                  float beta, const Dst& c, bool parallel);

// Packed-panel path: C = alpha * A * B + beta * C with A rows = m, B rows = n.
void run_blocked(const Isa& isa, const Src& a, const Src& b, int64_t m, int64_t n, int64_t k, float alpha,
                 float beta, const Dst& c, bool parallel);

// C = beta * C on m x n (beta == 0 writes zeros without reading).
void scale_c(const Dst& c, int64_t m, int64_t n, float beta);

}  // namespace dshal::host::gemm_detail
