// adapters/faults/gemm_transpose.cpp: fault-gemm-transpose, a GEMM that applies trans_a to B and
// trans_b to A: the classic slip of a row-major port over a column-major BLAS, which computes
// C^T = op(B)^T op(A)^T and must pass the flags in swapped order (here they are not swapped back).
#include <utility>

#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

// Whether reading a matrix stored rows x cols as stored_rows x stored_cols (same ld) stays inside
// what hal checked: every row within ld, the last element no later than the checked last one.
bool reading_fits(uint64_t rows, uint64_t cols, uint64_t stored_rows, uint64_t stored_cols, uint64_t ld) {
  return cols <= ld && (rows - 1) * ld + cols <= (stored_rows - 1) * ld + stored_cols;
}

dshal_status gemm_transposes_swapped(dshal_stream stream, const dshal_gemm_desc* desc) {
  dshal_gemm_desc d = *desc;
  std::swap(d.trans_a, d.trans_b);
  // A real port with this bug reads outside A and B whenever the shapes are not square; the wrapper
  // injects the fault only where the swapped reading stays inside the matrices hal checked, so it
  // is deterministic and never touches memory outside the buffers (square GEMMs, e.g. f32_256).
  const auto rows = [](uint32_t t, uint64_t r, uint64_t c) { return t ? c : r; };
  const auto cols = [](uint32_t t, uint64_t r, uint64_t c) { return t ? r : c; };
  const uint64_t m = d.m, n = d.n, k = d.k;
  const bool fits = k > 0 &&
                    reading_fits(rows(d.trans_a, m, k), cols(d.trans_a, m, k), rows(desc->trans_a, m, k),
                                 cols(desc->trans_a, m, k), d.a.ld) &&
                    reading_fits(rows(d.trans_b, k, n), cols(d.trans_b, k, n), rows(desc->trans_b, k, n),
                                 cols(desc->trans_b, k, n), d.b.ld);
  return dshal_template::table().gemm(stream, fits ? &d : desc);
}

dshal_adapter_table make_table() {
  dshal_adapter_table t =
      derived_table("fault-gemm-transpose", "fault plugin: the template with GEMM transpose flags swapped between A and B");
  t.gemm = gemm_transposes_swapped;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
