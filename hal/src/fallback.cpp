// Host fallback: stage, run the host kernel, write back — one staging copy per distinct buffer so
// aliased operands (out == x, V inside K) stay aliased on the host.
#include "fallback.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "host/kernels.hpp"

namespace dshal::detail {
namespace {

struct Staging {
  uint64_t lo = UINT64_MAX, hi = 0;
  bool written = false;
  std::unique_ptr<std::byte[]> data;
  host::HostBuffer host;
};

}  // namespace

Status stage_and_run(const StreamObj& stream, OperandList& ops, const std::function<dshal_status(std::string*)>& kernel) {
  const dshal_adapter_table* t = stream.device->table;
  std::map<dshal_buffer, Staging> staged;
  for (const Operand& o : ops.items) {
    if (o.bytes == 0 || *o.buffer == nullptr) continue;
    Staging& s = staged[*o.buffer];
    s.lo = std::min(s.lo, *o.offset);
    s.hi = std::max(s.hi, *o.offset + o.bytes);
    s.written |= o.write;
  }
  for (auto& [buffer, s] : staged) {
    s.data.reset(new (std::nothrow) std::byte[s.hi - s.lo]);
    if (!s.data)
      return Status(DSHAL_ERROR_OUT_OF_MEMORY, fmt::format("{} fallback: cannot stage {} bytes on the host", ops.op, s.hi - s.lo));
    s.host = host::HostBuffer{s.data.get(), s.hi - s.lo, false};
    DSHAL_RETURN_IF_ERROR(adapter_status(t, t->copy_d2h(stream.handle, buffer, s.lo, s.data.get(), s.hi - s.lo), "fallback staging"));
  }
  DSHAL_RETURN_IF_ERROR(adapter_status(t, t->stream_synchronize(stream.handle), "fallback staging"));
  for (Operand& o : ops.items) {
    if (o.bytes == 0 || *o.buffer == nullptr) continue;
    Staging& s = staged[*o.buffer];
    *o.offset -= s.lo;
    *o.buffer = host::as_handle(&s.host);
  }
  std::string error;
  if (dshal_status st = kernel(&error); st != DSHAL_OK) return Status(st, fmt::format("{} (host fallback): {}", ops.op, error));
  for (auto& [buffer, s] : staged)
    if (s.written)
      DSHAL_RETURN_IF_ERROR(adapter_status(t, t->copy_h2d(stream.handle, s.data.get(), buffer, s.lo, s.hi - s.lo), "fallback write-back"));
  return adapter_status(t, t->stream_synchronize(stream.handle), "fallback write-back");
}

}  // namespace dshal::detail
