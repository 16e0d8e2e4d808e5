// opencl gemm (every dtype mix, transposes, strided and side-by-side batches), and the packing and
// micro-kernel launches it shares with gemm_quant and grouped_gemm.
#include "opencl_gemm.hpp"

#include <string>
#include <utility>

#include "opencl_launch.hpp"

namespace dshal::opencl {

namespace gemm_detail {

const char* dtype_suffix(dshal_dtype t) {
  switch (t) {
    case DSHAL_DTYPE_F16: return "f16";
    case DSHAL_DTYPE_BF16: return "bf16";
    case DSHAL_DTYPE_FP8_E4M3: return "fp8";
    case DSHAL_DTYPE_INT4: return "int4";
    default: return "f32";
  }
}

XSide in_place(Stream* s, const Operand& x, uint64_t V) {
  return XSide{x.buffer ? as_buffer(x.buffer)->mem : s->status, x.offset, x.dtype, kPanel, x.ks, x.bs, V};
}

dshal_status pack_panels(Stream* s, const Operand& x, uint64_t V, uint64_t k, uint64_t batch, Scratch* scratch,
                         XSide* out) {
  constexpr uint64_t kPackK = 64;  // PACK_K in gemm.cl
  const uint64_t panels = ceil_div(V, kPanel), bytes = batch * panels * kPanel * k * 4;
  cl_int err = CL_SUCCESS;
  scratch->mem = clCreateBuffer(s->device->context(), CL_MEM_READ_WRITE, bytes, nullptr, &err);
  if (err != CL_SUCCESS) return cl_fail(err, "clCreateBuffer(GEMM packing scratch, " + std::to_string(bytes) + " bytes)");
  *out = XSide{scratch->mem, 0, DSHAL_DTYPE_F32, kPanel * k, kPanel, panels * kPanel * k, panels * kPanel};
  return Launch(s, "gemm.cl", "gemm_pack")
      .buffer(x.buffer, x.offset).arg(cl_int(x.dtype)).arg(cl_ulong(x.rs)).arg(cl_ulong(x.bs))
      .arg(scratch->mem).arg(cl_ulong(V)).arg(cl_ulong(k))
      .run({ceil_div(k, kPackK), panels, batch}, {1, 1, 1});
}

dshal_status run_tiles(Stream* s, const XSide& x, const Operand& y, const Output& c, uint64_t U, uint64_t V,
                       uint64_t k, uint64_t batch, float alpha, float beta) {
  const bool v_fast = sweep_v(U, V);
  const uint64_t tu = ceil_div(U, kTileU), tv = ceil_div(V, kPanel);
  const std::string name = std::string("gemm_tile_") + dtype_suffix(x.dtype) + "_" + dtype_suffix(y.dtype);
  return Launch(s, "gemm.cl", name.c_str())
      .arg(x.mem).arg(cl_ulong(x.offset)).arg(cl_ulong(x.ts)).arg(cl_ulong(x.ks)).arg(cl_ulong(x.bs)).arg(cl_ulong(x.extent))
      .buffer(y.buffer, y.offset).arg(cl_ulong(y.rs)).arg(cl_ulong(y.ks)).arg(cl_ulong(y.bs))
      .buffer(y.scales, y.scales_offset).arg(cl_uint(y.bn)).arg(cl_uint(y.bk))
      .buffer(c.buffer, c.offset).arg(cl_int(c.dtype)).arg(cl_ulong(c.us)).arg(cl_ulong(c.vs)).arg(cl_ulong(c.bs))
      .arg(cl_ulong(U)).arg(cl_ulong(V)).arg(cl_ulong(k)).arg(alpha).arg(beta).arg(cl_int(v_fast))
      .run({v_fast ? tv : tu, v_fast ? tu : tv, batch}, {1, 1, 1});
}

dshal_status run_scale(Stream* s, const dshal_matrix& c, uint64_t m, uint64_t n, uint64_t batch, float beta) {
  return Launch(s, "gemm.cl", "gemm_scale")
      .buffer(c.buffer, c.offset).arg(cl_int(c.dtype)).arg(cl_ulong(c.ld)).arg(cl_ulong(c.batch_stride))
      .arg(cl_ulong(m)).arg(cl_ulong(n)).arg(beta)
      .run({n, m, batch});
}

}  // namespace gemm_detail

namespace {

using namespace gemm_detail;

// Cost per unit of k of side v as X against side u: the padded multiply-adds, plus the packing
// pass when X cannot be read in place, measured at about 200 multiply-adds per packed element.
uint64_t tile_cost(uint64_t v, uint64_t u, bool packed) {
  return ceil_div(v, kPanel) * kPanel * ceil_div(u, kTileU) * kTileU + (packed ? 200 * v : 0);
}

dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0 || d->batch == 0) return DSHAL_OK;
    // With k == 0 hal leaves A and B untranslated; alpha == 0 must not read them either.
    if (d->k == 0 || d->alpha == 0.0f) return run_scale(s, d->c, d->m, d->n, d->batch, d->beta);
    if (!d->trans_a && d->trans_b && d->m <= kDotMaxRows) {
      const std::string name = std::string("gemm_dot_") + (d->a.dtype == d->b.dtype ? dtype_suffix(d->a.dtype) : "any");
      return Launch(s, "gemm.cl", name.c_str())
          .buffer(d->a.buffer, d->a.offset).arg(cl_int(d->a.dtype)).arg(cl_ulong(d->a.ld)).arg(cl_ulong(d->a.batch_stride))
          .buffer(d->b.buffer, d->b.offset).arg(cl_int(d->b.dtype)).arg(cl_ulong(d->b.ld)).arg(cl_ulong(d->b.batch_stride))
          .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld)).arg(cl_ulong(d->c.batch_stride))
          .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).arg(d->alpha).arg(d->beta)
          .run({ceil_div(d->n, 4), ceil_div(d->m, 4), d->batch}, {1, 1, 1});
    }
    // op(A)(i, k) and op(B)^T(j, k) as operands: rs == 1 where they can be read in place as X.
    const Operand a{d->a.buffer, d->a.offset, d->a.dtype, d->trans_a ? 1 : d->a.ld, d->trans_a ? d->a.ld : 1, d->a.batch_stride};
    const Operand b{d->b.buffer, d->b.offset, d->b.dtype, d->trans_b ? d->b.ld : 1, d->trans_b ? 1 : d->b.ld, d->b.batch_stride};
    const uint64_t cost_b = tile_cost(d->n, d->m, b.rs != 1), cost_a = tile_cost(d->m, d->n, a.rs != 1);
    // X = the cheaper side (on a tie, the smaller operand), Y = the other; C(u = j, v = i) when X is A.
    const bool x_is_a = cost_a < cost_b || (cost_a == cost_b && d->m < d->n);
    const Operand& x = x_is_a ? a : b;
    const Operand& y = x_is_a ? b : a;
    const uint64_t V = x_is_a ? d->m : d->n, U = x_is_a ? d->n : d->m;
    Output c{d->c.buffer, d->c.offset, d->c.dtype, d->c.ld, 1, d->c.batch_stride};
    if (x_is_a) std::swap(c.us, c.vs);
    if (x.rs == 1) return run_tiles(s, in_place(s, x, V), y, c, U, V, d->k, d->batch, d->alpha, d->beta);
    Scratch scratch;
    XSide packed;
    if (dshal_status st = pack_panels(s, x, V, d->k, d->batch, &scratch, &packed); st != DSHAL_OK) return st;
    return run_tiles(s, packed, y, c, U, V, d->k, d->batch, d->alpha, d->beta);
  });
}

}  // namespace

void fill_gemm_slots(dshal_adapter_table* t) {
  t->gemm = gemm;
  fill_gemm_quant_slots(t);
  fill_grouped_gemm_slots(t);
  fill_prepack_slots(t);
}

}  // namespace dshal::opencl
