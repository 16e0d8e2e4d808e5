// gemm_quant as dequantize-then-GEMM: W's rows are dequantized into an f32 scratch in column
// chunks (kernels/dequant.hpp plans them under kDequantScratchCap), each chunk multiplied by one
// cuBLASLt f32 matmul (LtMatmul) into the matching columns of C. cuBLASLt takes A and B of one type
// and, for f32 inputs, an f32 C: so A of f16 / bf16 is converted to an f32 scratch once (exact), and
// a C of f16 / bf16 goes through an f32 scratch per chunk (read exactly when beta != 0, rounded to
// nearest even on the way back, as cuBLASLt would round its own f16 / bf16 output). Everything is
// stream-ordered: the scratch is allocated and freed on the stream (with_scratch).
//
// Why not cuBLASLt's own block-scaled fp8 (CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F for W with
// VEC128_32F for A; cuBLAS 12.9+, sm_90 only, not sm_100+): it multiplies fp8 by fp8, both operands
// scaled. dshal's contract keeps A in f32 / f16 / bf16 unquantized (adapter.h,
// dshal_gemm_quant_desc), and quantizing A to fp8 e4m3 (3 mantissa bits) would add error far beyond
// what the op allows; cuBLASLt has no bf16-A x block-scaled-fp8-B form. So fp8 W is dequantized.
#include "cuda_dequant_gemm.hpp"

#include "cuda_lt_matmul.hpp"
#include "kernels/args.hpp"
#include "kernels/dequant.hpp"
#include "kernels/dequant_launch.hpp"

#include <numeric>
#include <vector>

namespace dshal::cuda {
namespace {

using kernels::DequantChunk;

// Scratch pieces start 256-byte aligned, as cuBLASLt's heuristic assumes of every operand by default.
uint64_t aligned(uint64_t bytes) { return (bytes + 255) / 256 * 256; }

dshal_status run(const Stream& s, const dshal_gemm_quant_desc& d) {
  // Chunks a multiple of the scale block height (a block is dequantized whole) and of 64 rows: an f32
  // C's chunk then starts a multiple of 256 bytes past C, the alignment cuBLASLt's heuristic assumes
  // of its pointers unless told otherwise (the scratch pieces are 256-byte aligned too).
  const uint64_t align = std::lcm(uint64_t(d.w.block_n), uint64_t(64));
  const std::vector<DequantChunk> chunks = kernels::plan_dequant_chunks(d.n, d.k, kernels::kDequantScratchCap, align);
  const uint64_t full = chunks.front().rows, tail = chunks.back().rows;
  const bool a32 = d.a.dtype == DSHAL_DTYPE_F32, c32 = d.c.dtype == DSHAL_DTYPE_F32;
  const uint64_t a_ld = a32 ? d.a.ld : d.k, c_ld = c32 ? d.c.ld : full;
  auto shape = [&](uint64_t rows) {
    LtGemm g;
    g.m = d.m, g.n = rows, g.k = d.k;
    g.trans_b = true;  // dequant(W) chunk stored rows x K: op(B) = its transpose
    g.a = {blasR32F, a_ld, 0};
    g.b = {blasR32F, d.k, 0};
    g.c = {blasR32F, c_ld, 0};
    return g;
  };
  // Both chunk widths are planned before anything is queued, so a shape cuBLASLt refuses leaves C as it was.
  LtMatmul plan_full, plan_tail;
  if (dshal_status st = plan_full.plan(s.device, shape(full), "gemm_quant"); st != DSHAL_OK) return st;
  if (tail != full)
    if (dshal_status st = plan_tail.plan(s.device, shape(tail), "gemm_quant"); st != DSHAL_OK) return st;

  // Scratch: [A as f32 (f16 / bf16 A)][one chunk of dequant(W)][one chunk of C as f32 (f16 / bf16 C)].
  const uint64_t a_bytes = a32 ? 0 : aligned(d.m * d.k * sizeof(float));
  const uint64_t w_bytes = aligned(full * d.k * sizeof(float));
  const uint64_t c_bytes = c32 ? 0 : aligned(d.m * full * sizeof(float));
  dshal_status blas = DSHAL_OK;
  const gpuError_t queued = kernels::with_scratch(s, a_bytes + w_bytes + c_bytes, [&](void* base) -> gpuError_t {
    std::byte* bytes = static_cast<std::byte*>(base);
    const void* a = at(d.a.buffer, d.a.offset);
    if (!a32) {
      const kernels::MutRows a_f32{bytes, DSHAL_DTYPE_F32, d.k};
      if (gpuError_t e = kernels::launch_dequant_convert(s, kernels::rows_of(d.a), a_f32, d.m, d.k); e != gpuSuccess) return e;
      a = bytes;
    }
    float* w = reinterpret_cast<float*>(bytes + a_bytes);
    const kernels::MutRows c_f32{bytes + a_bytes + w_bytes, DSHAL_DTYPE_F32, full};
    for (const DequantChunk& ch : chunks) {
      if (gpuError_t e = kernels::launch_dequant_weight(s, d.w, d.k, ch.n0, ch.rows, w); e != gpuSuccess) return e;
      // Columns [n0, n0 + rows) of C.
      const kernels::MutRows c{at(d.c.buffer, d.c.offset + ch.n0 * kernels::elem_bytes(d.c.dtype)), d.c.dtype, d.c.ld};
      if (!c32 && d.beta != 0.0f)  // beta == 0: C is not read (cuBLASLt does not read C either)
        if (gpuError_t e = kernels::launch_dequant_convert(s, {c.base, c.dtype, c.ld}, c_f32, d.m, ch.rows); e != gpuSuccess)
          return e;
      const LtMatmul& mm = ch.rows == full ? plan_full : plan_tail;
      // A cuBLASLt error stops queuing; the scratch is still freed after what was queued.
      if ((blas = mm.run(s, a, w, c32 ? c.base : c_f32.base, d.alpha, d.beta)) != DSHAL_OK) return gpuSuccess;
      if (!c32)
        if (gpuError_t e = kernels::launch_dequant_convert(s, {c_f32.base, DSHAL_DTYPE_F32, full}, c, d.m, ch.rows);
            e != gpuSuccess)
          return e;
    }
    return gpuSuccess;
  });
  if (queued != gpuSuccess) return gpu_fail(queued, "gemm_quant");
  return blas;
}

}  // namespace

dshal_status dequant_gemm_quant(dshal_stream stream, const dshal_gemm_quant_desc* d) {
  return guarded([&] {
    const Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    return run(*s, *d);
  });
}

}  // namespace dshal::cuda
