// adapters/faults/copy_tail.cpp: fault-copy-tail, a device-to-device copy that moves whole 16-byte
// vectors and forgets the remainder loop, so the last bytes % 16 bytes are never copied. Caught by
// core/Copies.EveryDirectionWithOffsets (10007-byte copies, odd on purpose).
#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

constexpr uint64_t kVectorBytes = 16;

dshal_status copy_d2d_dropping_tail(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst,
                                    uint64_t dst_offset, uint64_t bytes) {
  // The fault: only whole vectors are copied.
  return dshal_template::table().copy_d2d(stream, src, src_offset, dst, dst_offset, bytes - bytes % kVectorBytes);
}

dshal_adapter_table make_table() {
  dshal_adapter_table t =
      derived_table("fault-copy-tail", "fault plugin: the template with device-to-device copies that drop the tail");
  t.copy_d2d = copy_d2d_dropping_tail;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
