// adapters/faults/gemm_tail_tile.cpp: fault-gemm-tail-tile, a tiled GEMM whose launch covers n / 16
// column tiles (rounded down), so the last, partial tile of C is never written. Caught by the GEMM
// cases whose N is not a multiple of 16 (f32_edges: N = 45 leaves columns 32..44 stale).
#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

constexpr uint64_t kTileColumns = 16;

dshal_status gemm_without_tail_tile(dshal_stream stream, const dshal_gemm_desc* desc) {
  dshal_gemm_desc d = *desc;
  d.n -= d.n % kTileColumns;  // the fault: floor instead of ceil when counting tiles
  return dshal_template::table().gemm(stream, &d);
}

dshal_adapter_table make_table() {
  dshal_adapter_table t =
      derived_table("fault-gemm-tail-tile", "fault plugin: the template with a GEMM that skips the last partial column tile");
  t.gemm = gemm_without_tail_tile;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
