// The host fallback: runs an optional op on host copies of its operands, in stream order.
#pragma once

#include <functional>
#include <string>

#include "objects.hpp"
#include "operands.hpp"

namespace dshal::detail {

// ops has adapter handles (after check_and_translate) pointing into desc. Stages every buffer range
// the op touches to the host (after the stream's earlier work), repoints desc at the staging,
// runs kernel, and copies written ranges back; returns when the results are on the device.
template <typename D>
using HostKernel = dshal_status (*)(const D&, std::string*);

Status stage_and_run(const StreamObj& stream, OperandList& ops, const std::function<dshal_status(std::string*)>& kernel);

template <typename D>
Status run_on_host(const StreamObj& stream, OperandList& ops, D& desc, HostKernel<D> kernel) {
  return stage_and_run(stream, ops, [&](std::string* error) { return kernel(desc, error); });
}

}  // namespace dshal::detail
