// opencl gemm_quant: A (f32 / f16 / bf16) x dequant(W)^T for FP8 e4m3 block-scaled and INT4
// group-scaled weights. Small M streams W once per 4 rows (kernels/gemm_quant.cl); larger M packs A
// into f32 panels and runs the packed-panel micro-kernel with W dequantized as it is read
// (kernels/gemm.cl), so the weight is never expanded in memory.
#include <string>

#include "opencl_gemm.hpp"
#include "opencl_launch.hpp"

namespace dshal::opencl {
namespace {

using namespace gemm_detail;

// Up to this many rows the dot tiles, which dequantize 16 weights at a time, beat the packed
// tiles, which dequantize one weight per row of their 64-row panel (measured on PoCL, AVX-512).
constexpr uint64_t kQuantDotMaxRows = 32;

dshal_status gemm_quant(dshal_stream stream, const dshal_gemm_quant_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0) return DSHAL_OK;
    // With k == 0 hal leaves W untranslated; alpha == 0 must not read A or W either.
    if (d->k == 0 || d->alpha == 0.0f) return run_scale(s, d->c, d->m, d->n, 1, d->beta);
    const dshal_weight& w = d->w;
    if (d->m <= kQuantDotMaxRows) {
      const std::string name = std::string("gemm_quant_dot_") + dtype_suffix(d->a.dtype) +
                               (w.dtype == DSHAL_DTYPE_FP8_E4M3 ? "_fp8" : "_int4");
      return Launch(s, "gemm_quant.cl", name.c_str())
          .buffer(d->a.buffer, d->a.offset).arg(cl_ulong(d->a.ld))
          .buffer(w.buffer, w.offset).buffer(w.scales, w.scales_offset).arg(cl_uint(w.block_n)).arg(cl_uint(w.block_k))
          .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld))
          .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).arg(d->alpha).arg(d->beta)
          .run({ceil_div(d->n, 4), ceil_div(d->m, 4)}, {1, 1});
    }
    const Operand x{d->a.buffer, d->a.offset, d->a.dtype, d->a.ld, 1, 0};
    const Operand y{w.buffer, w.offset, w.dtype, d->k, 1, 0, w.scales, w.scales_offset, w.block_n, w.block_k};
    const Output c{d->c.buffer, d->c.offset, d->c.dtype, 1, d->c.ld, 0};  // C(u = j, v = i)
    Scratch scratch;
    XSide packed;
    if (dshal_status st = pack_panels(s, x, d->m, d->k, 1, &scratch, &packed); st != DSHAL_OK) return st;
    return run_tiles(s, packed, y, c, d->n, d->m, d->k, 1, d->alpha, d->beta);
  });
}

}  // namespace

void fill_gemm_quant_slots(dshal_adapter_table* t) { t->gemm_quant = gemm_quant; }

}  // namespace dshal::opencl
