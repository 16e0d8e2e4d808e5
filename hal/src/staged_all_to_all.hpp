// all_to_all through host memory, for a communicator whose devices belong to different adapters.
#pragma once

#include <dshal/dshal.hpp>

#include "objects.hpp"

namespace dshal::detail {

// d is checked and its ranks' streams and buffers are the adapters' handles (as
// Communicator::all_to_all passes them on); each rank's recv_counts match its senders' send_counts.
Status staged_all_to_all(const CommObj& c, const dshal_all_to_all_desc& d);

}  // namespace dshal::detail
