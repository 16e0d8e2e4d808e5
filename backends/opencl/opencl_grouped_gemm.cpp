// opencl grouped_gemm: MoE experts in the contiguous layout, weights f32 / f16 / bf16 / FP8 (block
// scales) / INT4 (group scales); the device-resident offsets are checked by the kernel
// (kernels/gemm_grouped.cl), which reports DSHAL_STATUS_GROUP_OFFSETS and writes nothing.
#include <string>

#include "opencl_gemm.hpp"
#include "opencl_launch.hpp"

namespace dshal::opencl {
namespace {

const char* weight_kernel(dshal_dtype t) {
  switch (t) {
    case DSHAL_DTYPE_F16: return "grouped_gemm_f16";
    case DSHAL_DTYPE_BF16: return "grouped_gemm_bf16";
    case DSHAL_DTYPE_FP8_E4M3: return "grouped_gemm_fp8";
    case DSHAL_DTYPE_INT4: return "grouped_gemm_int4";
    default: return "grouped_gemm_f32";
  }
}

dshal_status grouped_gemm(dshal_stream stream, const dshal_grouped_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0) return DSHAL_OK;
    const dshal_weight& w = d->w;
    // With k == 0 hal leaves W untranslated: the kernel then only zeroes the grouped rows.
    const dshal_buffer wb = d->k ? w.buffer : nullptr, sb = d->k ? w.scales : nullptr;
    const bool quant = w.dtype == DSHAL_DTYPE_FP8_E4M3 || w.dtype == DSHAL_DTYPE_INT4;
    return Launch(s, "gemm_grouped.cl", weight_kernel(w.dtype))
        .buffer(d->a.buffer, d->a.offset).arg(cl_int(d->a.dtype)).arg(cl_ulong(d->a.ld))
        .buffer(wb, w.offset).arg(cl_ulong(quant ? d->k : w.ld)).arg(cl_ulong(d->w_group_stride_bytes))
        .buffer(sb, w.scales_offset).arg(cl_ulong(d->scales_group_stride_bytes))
        .arg(cl_uint(quant ? w.block_n : 1)).arg(cl_uint(quant ? w.block_k : 1))
        .buffer(d->offsets).arg(cl_ulong(d->groups))
        .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld))
        .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).status()
        .run({ceil_div(d->n, 4), ceil_div(d->m, 4)}, {1, 1});
  });
}

}  // namespace

void fill_grouped_gemm_slots(dshal_adapter_table* t) { t->grouped_gemm = grouped_gemm; }

}  // namespace dshal::opencl
