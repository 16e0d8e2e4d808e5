// adapters/npu-sim/npu_nz_pack.cpp: prepack_weight into Ascend's FRACTAL_NZ layout.
//
// FRACTAL_NZ (Ascend CANN's format for the cube's operands; torch_npu / ATB call the conversion
// "TransData ND_TO_FRACTAL_NZ"): an ND matrix of R rows x C columns is cut into 16 x 16 fractals
// (for 16-bit types: 16 elements = 32 bytes per fractal row, one cube load). Rows are padded with
// zeros to R1 = ceil(R / 16) fractals and columns to C1 = ceil(C / 16); the 4-D shape is
//   [C1][R1 * 16][16]        i.e. (C1, R1, R0 = 16, C0 = 16)
// so the fractals of one 16-column strip follow each other down the rows ("N": the big order runs
// down the columns of fractals), and inside each fractal the 16 x 16 elements are row-major ("Z").
// Element (r, c) lives at
//   ((c / 16) * R1 * 16 + r) * 16 + c % 16.
// For a weight W[n][k] (n output features x k inputs, the layout adapter.h uses) R = n and C = k:
// each 32-byte fractal row holds 16 consecutive k of one output feature, and a strip of k holds
// every n — what the cube reads for C = A * W^T, one 16 x 16 tile of W^T per load.
//
// Only f16 and bf16 weights are packed (the cube's input types). query_op declines prepack for the
// other types, so hal makes a plain copy that its host fallbacks (gemm_quant for fp8 / int4, f32
// grouped_gemm) can read. grouped_gemm takes every packed W natively; gemm takes a packed B natively
// unless A is f32, which the cube declines: hal's host fallback then stages B through copy_d2h,
// which unpacks (nz_to_plain), so the fallback reads the layout it expects. gemm_quant never sees
// NZ: its weights are fp8 / int4.
#include <algorithm>
#include <cstring>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

constexpr uint64_t kFractal = 16;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

uint64_t nz_group_elems(uint64_t n, uint64_t k) { return ceil_div(k, kFractal) * ceil_div(n, kFractal) * kFractal * kFractal; }

}  // namespace

bool nz_group_at(const NpuNzInfo& nz, uint64_t plain_offset, uint64_t* group) {
  const uint64_t stride = nz.groups > 1 ? nz.plain_group_stride_bytes : 0;
  *group = stride ? plain_offset / stride : 0;
  return *group < nz.groups && plain_offset == *group * stride;
}

uint64_t nz_storage_bytes(const NpuNzInfo& nz) { return nz.groups * nz.group_elems * dtype_bytes(nz.dtype); }

// Byte by byte, because a copy may start or end inside an element. Only host fallbacks and copies
// out of a packed weight come here, never the cube's own reads.
void nz_to_plain(const NpuNzInfo& nz, const std::byte* packed, uint64_t offset, uint64_t bytes, std::byte* out) {
  const uint64_t e = dtype_bytes(nz.dtype);
  for (uint64_t i = 0; i < bytes; ++i) {
    const uint64_t at = offset + i;
    const uint64_t stride = nz.groups > 1 ? nz.plain_group_stride_bytes : 0;
    const uint64_t g = stride ? at / stride : 0, in_group = at - g * stride;
    const uint64_t element = in_group / e, row = element / nz.plain_ld, col = element % nz.plain_ld;
    out[i] = g < nz.groups && row < nz.n && col < nz.k ? packed[nz_index(nz, g, row, col) * e + in_group % e] : std::byte{0};
  }
}

uint64_t nz_index(const NpuNzInfo& nz, uint64_t group, uint64_t row, uint64_t col) {
  const uint64_t padded_rows = ceil_div(nz.n, kFractal) * kFractal;
  return group * nz.group_elems + ((col / kFractal) * padded_rows + row) * kFractal + col % kFractal;
}

// Async on stream: *out is valid on return; the source is read when the work runs (the caller may
// overwrite it afterwards). The packed buffer reports the plain weight range as its size (hal
// checks later ops against that), and holds at least that much storage.
dshal_status prepack_weight(dshal_stream stream, const dshal_prepack_desc* desc, dshal_buffer* out) {
  return guarded("prepack_weight", [&] {
    *out = nullptr;
    const dshal_prepack_desc d = *desc;
    if (d.w.dtype != DSHAL_DTYPE_F16 && d.w.dtype != DSHAL_DTYPE_BF16)
      return fail(DSHAL_ERROR_UNSUPPORTED, "prepack_weight: npu-sim packs only f16 / bf16 weights (query_op declines the rest)");
    const uint64_t e = dtype_bytes(d.w.dtype);
    const uint64_t plain_bytes = (d.groups - 1) * d.w_group_stride_bytes + ((d.n - 1) * d.w.ld + d.k) * e;
    const NpuNzInfo nz{d.w.dtype, d.groups, d.n, d.k, nz_group_elems(d.n, d.k), d.w.ld, d.w_group_stride_bytes};
    const uint64_t packed_bytes = nz_storage_bytes(nz);
    dshal_buffer packed = nullptr;
    if (dshal_status st = allocate(stream->device, plain_bytes, std::max(plain_bytes, packed_bytes), &packed); st != DSHAL_OK)
      return st;
    packed->layout = NpuLayout::nz;
    packed->nz = nz;
    const dshal_buffer src = d.w.buffer;
    stream->enqueue([=] {
      std::vector<std::byte> plain, out_raw(packed_bytes, std::byte{0});  // zero padding in partial fractals
      WorkResult r = stage_in(src->data + d.w.offset, plain_bytes, &plain);
      if (r.status) return dshal_stream_s::Outcome{r, 0};
      for (uint64_t g = 0; g < d.groups; ++g)
        for (uint64_t row = 0; row < d.n; ++row)
          for (uint64_t col = 0; col < d.k; ++col)
            std::memcpy(out_raw.data() + nz_index(nz, g, row, col) * e,
                        plain.data() + g * d.w_group_stride_bytes + (row * d.w.ld + col) * e, e);
      r = stage_out_rows(packed->data, out_raw.data(), 1, packed_bytes, packed_bytes, nullptr);
      return dshal_stream_s::Outcome{r, cost::card_copy_ns(*stream->device->spec, packed_bytes, true)};
    });
    *out = packed;
    return DSHAL_OK;
  });
}

}  // namespace npu_sim
