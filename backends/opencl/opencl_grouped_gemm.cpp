// opencl grouped_gemm: MoE experts in the contiguous layout, weights f32 / f16 / bf16 / FP8 (block
// scales) / INT4 (group scales); the device-resident offsets are checked by the kernels
// (kernels/gemm_grouped.cl), which report DSHAL_STATUS_GROUP_OFFSETS and write nothing.
#include <string>

#include "opencl_gemm.hpp"
#include "opencl_launch.hpp"

namespace dshal::opencl {
namespace {

using namespace gemm_detail;

// From this many rows per group on average, packing A and running the packed-panel tiles beats
// streaming every weight once per 4 rows.
constexpr uint64_t kPackedRowsPerGroup = 32;

dshal_status grouped_gemm(dshal_stream stream, const dshal_grouped_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0) return DSHAL_OK;
    const dshal_weight& w = d->w;
    const bool quant = w.dtype == DSHAL_DTYPE_FP8_E4M3 || w.dtype == DSHAL_DTYPE_INT4;
    const uint64_t ldw = quant ? d->k : w.ld;
    const cl_uint bn = quant ? w.block_n : 1, bk = quant ? w.block_k : 1;
    if (d->k > 0 && d->m >= kPackedRowsPerGroup * d->groups) {
      Scratch scratch;
      XSide packed;
      const Operand a{d->a.buffer, d->a.offset, d->a.dtype, d->a.ld, 1, 0};
      if (dshal_status st = pack_panels(s, a, d->m, d->k, 1, &scratch, &packed); st != DSHAL_OK) return st;
      const bool v_fast = sweep_v(d->n, d->m);
      const uint64_t tu = ceil_div(d->n, kTileU), tv = ceil_div(d->m, kPanel);
      return Launch(s, "gemm_grouped.cl", (std::string("grouped_gemm_packed_") + dtype_suffix(w.dtype)).c_str())
          .arg(scratch.mem)
          .buffer(w.buffer, w.offset).arg(cl_ulong(ldw)).arg(cl_ulong(d->w_group_stride_bytes))
          .buffer(w.scales, w.scales_offset).arg(cl_ulong(d->scales_group_stride_bytes)).arg(bn).arg(bk)
          .buffer(d->offsets).arg(cl_ulong(d->groups))
          .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld))
          .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).status().arg(cl_int(v_fast))
          .run({v_fast ? tv : tu, v_fast ? tu : tv}, {1, 1});
    }
    // With k == 0 hal leaves W untranslated: the kernel then only zeroes the grouped rows.
    const dshal_buffer wb = d->k ? w.buffer : nullptr, sb = d->k ? w.scales : nullptr;
    return Launch(s, "gemm_grouped.cl", (std::string("grouped_gemm_dot_") + dtype_suffix(w.dtype)).c_str())
        .buffer(d->a.buffer, d->a.offset).arg(cl_int(d->a.dtype)).arg(cl_ulong(d->a.ld))
        .buffer(wb, w.offset).arg(cl_ulong(ldw)).arg(cl_ulong(d->w_group_stride_bytes))
        .buffer(sb, w.scales_offset).arg(cl_ulong(d->scales_group_stride_bytes)).arg(bn).arg(bk)
        .buffer(d->offsets).arg(cl_ulong(d->groups))
        .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld))
        .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).status()
        .run({ceil_div(d->n, 4), ceil_div(d->m, 4)}, {1, 1});
  });
}

}  // namespace

void fill_grouped_gemm_slots(dshal_adapter_table* t) { t->grouped_gemm = grouped_gemm; }

}  // namespace dshal::opencl
