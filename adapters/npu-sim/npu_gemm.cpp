// adapters/npu-sim/npu_gemm.cpp: the matrix unit ("cube"): gemm and grouped_gemm.
//
// Ascend's cube multiplies 16x16 fractals of f16 / bf16 with f32 accumulation; the simulator does the
// same arithmetic (f32 products of 16-bit inputs are exact, sums are f32) on host scratch. Operands
// are staged in from card memory by the DMA engine and results staged out row by row (never the gaps
// between rows, which other work may own). B / W may be plain row-major or NZ-packed by
// prepack_weight; the kernel indexes either.
//
// Which descriptors run here is decided in npu_query.cpp: gemm with f16 / bf16 inputs (hal sends f32
// GEMMs to the host), grouped_gemm whose weights are f16 / bf16. grouped_gemm accepts f32
// activations too, because MoE experts prepacked for the cube should run on it whatever the
// activation type (the host fallback could read them only unpacked byte by byte through copy_d2h);
// the simulator computes that product in f32 and the cost model charges it at the spec's f32 rate
// (a real cube would split the f32 operand into bf16 pieces).
#include <algorithm>
#include <cstring>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

using Outcome = dshal_stream_s::Outcome;

// Columns of C computed together: op(B)'s K x kColumnBlock slice stays in cache across rows.
constexpr uint64_t kColumnBlock = 256;

// C[i][j] (row-major, ldc) = alpha * sum_p a[i][p] * bt[p][j] + beta * C, with a m x k and bt k x n
// widened to f32. read_c: beta != 0. C lives in raw scratch in its own type.
void multiply(uint64_t m, uint64_t n, uint64_t k, float alpha, float beta, const std::vector<float>& a,
              const std::vector<float>& bt, dshal_dtype ct, std::byte* c, uint64_t c0, uint64_t ldc) {
  const bool reads_ab = alpha != 0 && k > 0;
  std::vector<float> acc(std::min(n, kColumnBlock));
  for (uint64_t j0 = 0; j0 < n; j0 += kColumnBlock) {
    const uint64_t width = std::min(kColumnBlock, n - j0);
    for (uint64_t i = 0; i < m; ++i) {
      std::fill(acc.begin(), acc.begin() + width, 0.0f);
      if (reads_ab)
        for (uint64_t p = 0; p < k; ++p) {
          const float aip = a[i * k + p];
          const float* row = &bt[p * n + j0];
          for (uint64_t j = 0; j < width; ++j) acc[j] += aip * row[j];
        }
      for (uint64_t j = 0; j < width; ++j) {
        const uint64_t ci = c0 + i * ldc + j0 + j;
        float value = reads_ab ? alpha * acc[j] : 0.0f;
        if (beta != 0) value += beta * load_element(ct, c, ci);  // beta == 0: C is not read (may be NaN)
        store_element(ct, c, ci, value);
      }
    }
  }
}

// Elements a matrix operand spans in its buffer over the whole batch (from element [0][0] of batch 0).
uint64_t span_elems(uint64_t batch, uint64_t batch_stride, uint64_t rows, uint64_t ld, uint64_t cols) {
  return (batch - 1) * batch_stride + (rows - 1) * ld + cols;
}

// The stored weight element W[g][row][col] of a plain or NZ-packed weight in raw scratch.
struct WeightView {
  const std::byte* raw;
  dshal_dtype dtype;
  const NpuNzInfo* nz;  // null: plain
  uint64_t group_stride_elems, ld;
  float at(uint64_t g, uint64_t row, uint64_t col) const {
    return nz ? load_element(dtype, raw, nz_index(*nz, g, row, col))
              : load_element(dtype, raw, g * group_stride_elems + row * ld + col);
  }
};

WorkResult check_packed(const dshal_buffer_s& b, dshal_dtype dtype, uint64_t n, uint64_t k, const char* op) {
  if (b.nz.dtype != dtype || b.nz.n != n || b.nz.k != k)
    return {DSHAL_ERROR_INVALID_ARGUMENT, std::string(op) + ": the prepacked weight holds " + std::to_string(b.nz.n) + " x " +
                                              std::to_string(b.nz.k) + " elements of another shape or type than the op's n = " +
                                              std::to_string(n) + ", k = " + std::to_string(k)};
  return {};
}

Outcome run_gemm(const dshal_gemm_desc& d) {
  const Spec& spec = *d.c.buffer->device->spec;
  const uint64_t ea = dtype_bytes(d.a.dtype), eb = dtype_bytes(d.b.dtype), ec = dtype_bytes(d.c.dtype);
  const bool reads_ab = d.alpha != 0 && d.k > 0;
  const bool packed = d.b.buffer->layout == NpuLayout::nz;
  WorkResult r;

  // Stage in: A and B only when read, C only when beta needs it (C may hold NaN otherwise).
  std::vector<std::byte> a_raw, b_raw, c_raw;
  std::vector<uint64_t> b_group(packed ? d.batch : 0);  // a packed B: the weight group of each batch
  const uint64_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
  const uint64_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;
  if (reads_ab) {
    if ((r = stage_in(d.a.buffer->data + d.a.offset, span_elems(d.batch, d.a.batch_stride, a_rows, d.a.ld, a_cols) * ea, &a_raw)).status)
      return {r, 0};
    if (packed) {
      if ((r = check_packed(*d.b.buffer, d.b.dtype, d.n, d.k, "gemm")).status) return {r, 0};
      bool at_groups = true;
      for (uint64_t b = 0; b < d.batch && at_groups; ++b) at_groups = nz_group_at(d.b.buffer->nz, b * d.b.batch_stride * eb, &b_group[b]);
      if (!d.trans_b || d.b.offset != 0 || d.b.ld != d.k || !at_groups)
        return {{DSHAL_ERROR_INVALID_ARGUMENT, "gemm: a prepacked B must be given with trans_b = 1, offset 0, ld = k, and each "
                                               "matrix of a batch must start at one of its groups"}, 0};
      r = stage_in(d.b.buffer->data, nz_storage_bytes(d.b.buffer->nz), &b_raw);
    } else {
      r = stage_in(d.b.buffer->data + d.b.offset, span_elems(d.batch, d.b.batch_stride, b_rows, d.b.ld, b_cols) * eb, &b_raw);
    }
    if (r.status) return {r, 0};
  }
  const uint64_t c_span = span_elems(d.batch, d.c.batch_stride, d.m, d.c.ld, d.n);
  if (d.beta != 0) {
    if ((r = stage_in(d.c.buffer->data + d.c.offset, c_span * ec, &c_raw)).status) return {r, 0};
  } else {
    c_raw.assign(c_span * ec, std::byte{0});
  }

  std::vector<float> a, bt;
  for (uint64_t b = 0; b < d.batch; ++b) {
    if (reads_ab) {
      a.resize(d.m * d.k);
      bt.resize(d.k * d.n);
      const uint64_t a0 = b * d.a.batch_stride, b0 = b * d.b.batch_stride;
      for (uint64_t i = 0; i < d.m; ++i)
        for (uint64_t p = 0; p < d.k; ++p)
          a[i * d.k + p] = load_element(d.a.dtype, a_raw.data(), a0 + (d.trans_a ? p * d.a.ld + i : i * d.a.ld + p));
      if (packed) {
        const WeightView w{b_raw.data(), d.b.dtype, &d.b.buffer->nz, 0, d.k};
        for (uint64_t p = 0; p < d.k; ++p)
          for (uint64_t j = 0; j < d.n; ++j) bt[p * d.n + j] = w.at(b_group[b], j, p);
      } else {
        for (uint64_t p = 0; p < d.k; ++p)
          for (uint64_t j = 0; j < d.n; ++j)
            bt[p * d.n + j] = load_element(d.b.dtype, b_raw.data(), b0 + (d.trans_b ? j * d.b.ld + p : p * d.b.ld + j));
      }
    }
    multiply(d.m, d.n, d.k, d.alpha, d.beta, a, bt, d.c.dtype, c_raw.data(), b * d.c.batch_stride, d.c.ld);
  }

  // Stage out: each matrix's m rows of n elements.
  for (uint64_t b = 0; b < d.batch; ++b) {
    const uint64_t c0 = b * d.c.batch_stride * ec;
    if ((r = stage_out_rows(d.c.buffer->data + d.c.offset + c0, c_raw.data() + c0, d.m, d.c.ld * ec, d.n * ec, nullptr)).status)
      return {r, 0};
  }

  const double flops = reads_ab ? 2.0 * double(d.m) * double(d.n) * double(d.k) * double(d.batch) : 0.0;
  const double a_batches = d.a.batch_stride ? double(d.batch) : 1.0, b_batches = d.b.batch_stride ? double(d.batch) : 1.0;
  const double bytes = (reads_ab ? a_batches * double(d.m * d.k * ea) + b_batches * double(d.n * d.k * eb) : 0.0) +
                       double(d.batch) * double(d.m * d.n * ec) * (d.beta != 0 ? 2.0 : 1.0);
  return {{}, cost::gemm_ns(spec, d.a.dtype, d.b.dtype, flops, bytes)};
}

Outcome run_grouped(const dshal_grouped_gemm_desc& d) {
  const Spec& spec = *d.c.buffer->device->spec;
  const uint64_t ea = dtype_bytes(d.a.dtype), ew = dtype_bytes(d.w.dtype), ec = dtype_bytes(d.c.dtype);
  const bool packed = d.w.buffer->layout == NpuLayout::nz;
  WorkResult r;

  // The offsets live in card memory: stage them in and check them now (adapter.h: reported at run).
  std::vector<std::byte> off_raw;
  if ((r = stage_in(d.offsets.buffer->data + d.offsets.offset, (d.groups + 1) * 4, &off_raw)).status) return {r, 0};
  std::vector<int32_t> offsets(d.groups + 1);
  std::memcpy(offsets.data(), off_raw.data(), off_raw.size());
  for (uint64_t g = 0; g <= d.groups; ++g) {
    const bool bad = (g == 0 && offsets[0] < 0) || (g > 0 && offsets[g] < offsets[g - 1]) ||
                     (g == d.groups && uint64_t(offsets[g]) > d.m);
    if (bad)
      return {{DSHAL_ERROR_INVALID_ARGUMENT, "grouped_gemm: offsets[" + std::to_string(g) + "] = " + std::to_string(offsets[g]) +
                                                 " breaks 0 <= offsets[0] <= ... <= offsets[groups] <= m = " + std::to_string(d.m)}, 0};
  }
  const uint64_t row0 = uint64_t(offsets[0]), row1 = uint64_t(offsets[d.groups]), rows = row1 - row0;
  if (rows == 0 || d.n == 0) return {{}, cost::gemm_ns(spec, d.a.dtype, d.w.dtype, 0, 0)};

  // Stage in the rows used, and the weights (plain: every group's range; packed: the whole buffer).
  std::vector<std::byte> a_raw, w_raw, c_raw;
  if ((r = stage_in(d.a.buffer->data + d.a.offset + row0 * d.a.ld * ea, ((rows - 1) * d.a.ld + d.k) * ea, &a_raw)).status)
    return {r, 0};
  if (packed) {
    if ((r = check_packed(*d.w.buffer, d.w.dtype, d.n, d.k, "grouped_gemm")).status) return {r, 0};
    if (d.w.buffer->nz.groups < d.groups)
      return {{DSHAL_ERROR_INVALID_ARGUMENT, "grouped_gemm: the prepacked weight holds " + std::to_string(d.w.buffer->nz.groups) +
                                                 " groups, the op uses " + std::to_string(d.groups)}, 0};
    r = stage_in(d.w.buffer->data, nz_storage_bytes(d.w.buffer->nz), &w_raw);
  } else {
    r = stage_in(d.w.buffer->data + d.w.offset, (d.groups - 1) * d.w_group_stride_bytes + ((d.n - 1) * d.w.ld + d.k) * ew, &w_raw);
  }
  if (r.status) return {r, 0};
  c_raw.assign(((rows - 1) * d.c.ld + d.n) * ec, std::byte{0});

  const WeightView w{w_raw.data(), d.w.dtype, packed ? &d.w.buffer->nz : nullptr, d.w_group_stride_bytes / ew, d.w.ld};
  std::vector<float> a, bt;
  double weight_bytes = 0;
  for (uint64_t g = 0; g < d.groups; ++g) {
    const uint64_t first = uint64_t(offsets[g]) - row0, count = uint64_t(offsets[g + 1] - offsets[g]);
    if (count == 0) continue;
    a.resize(count * d.k);
    bt.resize(d.k * d.n);
    for (uint64_t i = 0; i < count; ++i)
      for (uint64_t p = 0; p < d.k; ++p) a[i * d.k + p] = load_element(d.a.dtype, a_raw.data(), (first + i) * d.a.ld + p);
    for (uint64_t p = 0; p < d.k; ++p)
      for (uint64_t j = 0; j < d.n; ++j) bt[p * d.n + j] = w.at(g, j, p);
    multiply(count, d.n, d.k, 1.0f, 0.0f, a, bt, d.c.dtype, c_raw.data(), first * d.c.ld, d.c.ld);
    weight_bytes += double(d.n * d.k * ew);
  }
  if ((r = stage_out_rows(d.c.buffer->data + d.c.offset + row0 * d.c.ld * ec, c_raw.data(), rows, d.c.ld * ec, d.n * ec, nullptr)).status)
    return {r, 0};

  const double flops = 2.0 * double(rows) * double(d.n) * double(d.k);
  const double bytes = double(rows * d.k * ea) + weight_bytes + double(rows * d.n * ec);
  return {{}, cost::gemm_ns(spec, d.a.dtype, d.w.dtype, flops, bytes)};
}

}  // namespace

// Async on stream. hal has checked shapes, leading dimensions, dtypes and bounds, and sent only
// descriptors query_op accepted (f16 / bf16 inputs). The rules the conformance suite checks: f32
// accumulation; RNE for 16-bit outputs; beta == 0 never reads C, alpha == 0 never reads A or B;
// K == 0 gives beta * C; batch_stride 0 broadcasts; Cs of a batch may sit side by side in one row.
dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* desc) {
  return guarded("gemm", [&] {
    const dshal_gemm_desc d = *desc;
    if (d.m == 0 || d.n == 0 || d.batch == 0) return DSHAL_OK;
    stream->enqueue([d] { return run_gemm(d); });
    return DSHAL_OK;
  });
}

// Async on stream: the MoE "contiguous" layout; rows outside [offsets[0], offsets[groups]) are not
// written, offsets that break the rules are DSHAL_ERROR_INVALID_ARGUMENT at synchronize.
dshal_status grouped_gemm(dshal_stream stream, const dshal_grouped_gemm_desc* desc) {
  return guarded("grouped_gemm", [&] {
    const dshal_grouped_gemm_desc d = *desc;
    if (d.groups == 0) return DSHAL_OK;
    stream->enqueue([d] { return run_grouped(d); });
    return DSHAL_OK;
  });
}

}  // namespace npu_sim
