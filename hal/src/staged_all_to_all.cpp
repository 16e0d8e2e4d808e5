// all_to_all between devices of different adapters, which share no memory and no transport: every
// sender's outgoing ranges are copied to the host, then out to their receivers. Blocking: each
// sender's stream is synchronized before its ranges are read (so work enqueued before the call is
// in them), each receiver's before the staging is freed (so the received ranges are complete when
// this returns). Ranges a rank does not receive keep their contents, as in an adapter's exchange.
#include "staged_all_to_all.hpp"

#include <memory>

namespace dshal::detail {

Status staged_all_to_all(const CommObj& c, const dshal_all_to_all_desc& d) {
  const uint32_t n = d.rank_count;
  const uint64_t eb = d.elem_bytes;
  // staging[r][p]: what rank r sends rank p.
  std::vector<std::vector<std::unique_ptr<std::byte[]>>> staging(n);
  for (uint32_t r = 0; r < n; ++r) {
    const dshal_all_to_all_rank& k = d.ranks[r];
    const dshal_adapter_table* t = c.devices[r]->table;
    staging[r].resize(n);
    for (uint32_t p = 0; p < n; ++p) {
      if (k.send_counts[p] == 0) continue;
      const uint64_t bytes = k.send_counts[p] * eb;
      staging[r][p] = std::make_unique<std::byte[]>(bytes);
      DSHAL_RETURN_IF_ERROR(adapter_status(
          t, t->copy_d2h(k.stream, k.send.buffer, k.send.offset + k.send_displs[p] * eb, staging[r][p].get(), bytes),
          "all_to_all (staged): copy_d2h"));
    }
    DSHAL_RETURN_IF_ERROR(adapter_status(t, t->stream_synchronize(k.stream), "all_to_all (staged): stream_synchronize"));
  }
  for (uint32_t p = 0; p < n; ++p) {
    const dshal_all_to_all_rank& k = d.ranks[p];
    const dshal_adapter_table* t = c.devices[p]->table;
    for (uint32_t r = 0; r < n; ++r) {
      if (k.recv_counts[r] == 0) continue;
      DSHAL_RETURN_IF_ERROR(adapter_status(t,
                                           t->copy_h2d(k.stream, staging[r][p].get(), k.recv.buffer,
                                                       k.recv.offset + k.recv_displs[r] * eb, k.recv_counts[r] * eb),
                                           "all_to_all (staged): copy_h2d"));
    }
    DSHAL_RETURN_IF_ERROR(adapter_status(t, t->stream_synchronize(k.stream), "all_to_all (staged): stream_synchronize"));
  }
  return Status();
}

}  // namespace dshal::detail
