// opencl GEMM slots: gemm (every dtype mix, transposes, strided and side-by-side batches) and the
// packed-panel path it shares with gemm_quant.
#include "opencl_gemm.hpp"

#include <string>

#include "opencl_launch.hpp"

namespace dshal::opencl {

namespace gemm_detail {

namespace {
constexpr uint64_t kPanel = 64, kTileU = 6, kPackK = 64;  // PANEL_W, TU, PACK_K in gemm.cl

// A device buffer that lives until the commands enqueued on it have run: OpenCL keeps a released
// cl_mem alive for the kernels that use it.
struct Scratch {
  cl_mem mem = nullptr;
  ~Scratch() {
    if (mem) clReleaseMemObject(mem);
  }
};
}  // namespace

const char* dtype_suffix(dshal_dtype t) { return t == DSHAL_DTYPE_F16 ? "f16" : t == DSHAL_DTYPE_BF16 ? "bf16" : "f32"; }

dshal_status run_packed(Stream* s, const Operand& x, const Operand& y, const Output& c, uint64_t U, uint64_t V,
                        uint64_t k, uint64_t batch, float alpha, float beta) {
  const uint64_t panels = ceil_div(V, kPanel);
  Scratch packed;
  cl_int err = CL_SUCCESS;
  const uint64_t bytes = batch * panels * kPanel * k * 4;
  packed.mem = clCreateBuffer(s->device->context(), CL_MEM_READ_WRITE, bytes, nullptr, &err);
  if (err != CL_SUCCESS) return cl_fail(err, "clCreateBuffer(GEMM packing scratch, " + std::to_string(bytes) + " bytes)");
  if (dshal_status st = Launch(s, "gemm.cl", "gemm_pack")
                            .buffer(x.buffer, x.offset).arg(cl_int(x.dtype)).arg(cl_ulong(x.rs)).arg(cl_ulong(x.ks)).arg(cl_ulong(x.bs))
                            .buffer(x.scales, x.scales_offset).arg(cl_uint(x.bn)).arg(cl_uint(x.bk))
                            .arg(packed.mem).arg(cl_ulong(0)).arg(cl_ulong(V)).arg(cl_ulong(k))
                            .run({ceil_div(k, kPackK), panels, batch}, {1, 1, 1});
      st != DSHAL_OK)
    return st;
  // Sweep the smaller side fastest: it is re-read from cache while the other side's tile stays in L2.
  const bool v_fast = V < U;
  const uint64_t tu = ceil_div(U, kTileU);
  return Launch(s, "gemm.cl", (std::string("gemm_packed_") + dtype_suffix(y.dtype)).c_str())
      .arg(packed.mem)
      .buffer(y.buffer, y.offset).arg(cl_ulong(y.rs)).arg(cl_ulong(y.ks)).arg(cl_ulong(y.bs))
      .buffer(c.buffer, c.offset).arg(cl_int(c.dtype)).arg(cl_ulong(c.us)).arg(cl_ulong(c.vs)).arg(cl_ulong(c.bs))
      .arg(cl_ulong(U)).arg(cl_ulong(V)).arg(cl_ulong(k)).arg(alpha).arg(beta).arg(cl_int(v_fast))
      .run({v_fast ? panels : tu, v_fast ? tu : panels, batch}, {1, 1, 1});
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

// Padded multiply-adds when `rows` is the packed (vector) side and `cols` the other.
uint64_t padded_work(uint64_t v, uint64_t u) { return ceil_div(v, kPanel) * kPanel * ceil_div(u, kTileU) * kTileU; }

dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0 || d->batch == 0) return DSHAL_OK;
    // With k == 0 hal leaves A and B untranslated; alpha == 0 must not read them either.
    if (d->k == 0 || d->alpha == 0.0f) return run_scale(s, d->c, d->m, d->n, d->batch, d->beta);
    if (!d->trans_a && d->trans_b && d->m <= kDotMaxRows) {
      const bool same = d->a.dtype == d->b.dtype;
      const std::string name = std::string("gemm_dot_") + (same ? dtype_suffix(d->a.dtype) : "any");
      return Launch(s, "gemm.cl", name.c_str())
          .buffer(d->a.buffer, d->a.offset).arg(cl_int(d->a.dtype)).arg(cl_ulong(d->a.ld)).arg(cl_ulong(d->a.batch_stride))
          .buffer(d->b.buffer, d->b.offset).arg(cl_int(d->b.dtype)).arg(cl_ulong(d->b.ld)).arg(cl_ulong(d->b.batch_stride))
          .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld)).arg(cl_ulong(d->c.batch_stride))
          .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).arg(d->alpha).arg(d->beta)
          .run({ceil_div(d->n, 4), ceil_div(d->m, 4), d->batch}, {1, 1, 1});
    }
    // op(A)(i, k) and op(B)^T(j, k) as operands.
    Operand a{d->a.buffer, d->a.offset, d->a.dtype, d->trans_a ? 1 : d->a.ld, d->trans_a ? d->a.ld : 1, d->a.batch_stride};
    Operand b{d->b.buffer, d->b.offset, d->b.dtype, d->trans_b ? d->b.ld : 1, d->trans_b ? 1 : d->b.ld, d->b.batch_stride};
    // Pack the side that wastes less of the padded tiles (on a tie, the smaller operand).
    const uint64_t pack_b = padded_work(d->n, d->m), pack_a = padded_work(d->m, d->n);
    const bool x_is_a = pack_a < pack_b || (pack_a == pack_b && d->m < d->n);
    Output c{d->c.buffer, d->c.offset, d->c.dtype, d->c.ld, 1, d->c.batch_stride};
    if (x_is_a) {
      std::swap(c.us, c.vs);  // C(u = j, v = i)
      return run_packed(s, a, b, c, d->n, d->m, d->k, d->batch, d->alpha, d->beta);
    }
    return run_packed(s, b, a, c, d->m, d->n, d->k, d->batch, d->alpha, d->beta);
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
