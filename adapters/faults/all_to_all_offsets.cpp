// adapters/faults/all_to_all_offsets.cpp: fault-all-to-all-offsets, an all_to_all that places each
// received block one element past its recv displacement (an off-by-one in the port's offset
// arithmetic, e.g. a 1-based index). Caught by core/AllToAll.UnevenCounts.
#include <vector>

#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status all_to_all_shifted(dshal_comm comm, const dshal_all_to_all_desc* desc) {
  // Copies of the ranks and of their recv displacements, shifted by one element. A real port with
  // this bug writes past the block's end, possibly past the buffer; the wrapper shifts a block only
  // while it stays inside the recv buffer, so the fault never corrupts memory outside it.
  std::vector<dshal_all_to_all_rank> ranks(desc->ranks, desc->ranks + desc->rank_count);
  std::vector<std::vector<uint64_t>> displs(desc->rank_count);
  for (uint32_t p = 0; p < desc->rank_count; ++p) {
    const dshal_all_to_all_rank& r = desc->ranks[p];
    displs[p].assign(r.recv_displs, r.recv_displs + desc->rank_count);
    for (uint32_t from = 0; from < desc->rank_count; ++from) {
      const uint64_t end = r.recv.offset + (displs[p][from] + 1 + r.recv_counts[from]) * desc->elem_bytes;
      if (r.recv_counts[from] > 0 && end <= r.recv.buffer->size_bytes) ++displs[p][from];
    }
    ranks[p].recv_displs = displs[p].data();
  }
  dshal_all_to_all_desc d = *desc;
  d.ranks = ranks.data();
  return dshal_template::table().all_to_all(comm, &d);
}

dshal_adapter_table make_table() {
  dshal_adapter_table t = derived_table("fault-all-to-all-offsets",
                                        "fault plugin: the template with all_to_all recv offsets shifted by one element");
  t.all_to_all = all_to_all_shifted;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
