// Communicators across processes (adapter.h: comm_id_create / comm_create_rank), as the conformance
// case core/ProcessComm checks them: the exchange both processes run, and the peer process's side,
// which `dshal comm-peer` (a hidden subcommand the case starts) runs.
#pragma once

#include <cstdint>
#include <string>

#include <dshal/dshal.hpp>

namespace dshal::conformance {

// This rank's side of a fixed exchange with uneven counts (one of them larger than a MiB, so
// transports that move data in chunks take several): sends, receives, and checks every element
// that arrived. Returns "" or what was wrong.
std::string exchange_across_processes(const Device& dev, const Stream& s, const Communicator& comm, uint32_t rank);

// The id as text for a command line (hex, trailing zero bytes left out) and back.
std::string comm_id_to_hex(const dshal_comm_id& id);
bool comm_id_from_hex(const std::string& hex, dshal_comm_id* id);

// The peer: opens device_id, joins as rank of size with the id, runs the exchange. Exit code: 0
// when it passed; 1 with the problem on stderr otherwise.
int run_comm_peer(const std::string& device_id, const std::string& id_hex, uint32_t rank, uint32_t size);

}  // namespace dshal::conformance
