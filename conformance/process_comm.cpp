// The exchange of core/ProcessComm and its peer process (process_comm.hpp).
#include "process_comm.hpp"

#include <cstdio>
#include <vector>

#include <fmt/format.h>

namespace dshal::conformance {
namespace {

// Elements rank `from` sends to rank `to`: uneven, rank 0 to rank 1 over a MiB of int32.
uint64_t count(uint32_t from, uint32_t to) { return from == 0 && to == 1 ? 300007 : 5 + 3 * from + 7 * to; }
int32_t value(uint32_t from, uint32_t to, uint64_t i) { return int32_t((uint64_t(from * 8 + to) << 24) | i); }

}  // namespace

std::string exchange_across_processes(const Device& dev, const Stream& s, const Communicator& comm, uint32_t rank) {
  const uint32_t n = comm.size();
  std::vector<uint64_t> sc(n), sd(n), rc(n), rd(n);
  std::vector<int32_t> send;
  uint64_t recv_elems = 1;  // one untouched element in front: a write before a block shows
  for (uint32_t p = 0; p < n; ++p) {
    sc[p] = count(rank, p);
    sd[p] = send.size();
    for (uint64_t i = 0; i < sc[p]; ++i) send.push_back(value(rank, p, i));
    rc[p] = count(p, rank);
    rd[p] = recv_elems;
    recv_elems += rc[p] + 1;  // and one after every block
  }
  constexpr int32_t kUntouched = -7;
  std::vector<int32_t> recv(recv_elems, kUntouched);
  Buffer send_buf, recv_buf;
  const auto failed = [](const char* what, const Status& st) { return fmt::format("{}: {}", what, st.to_string()); };
  if (Status st = dev.alloc(send.size() * 4, &send_buf); !st.ok()) return failed("alloc", st);
  if (Status st = dev.alloc(recv.size() * 4, &recv_buf); !st.ok()) return failed("alloc", st);
  if (Status st = s.copy_h2d(send.data(), send_buf, 0, send.size() * 4); !st.ok()) return failed("copy_h2d", st);
  if (Status st = s.copy_h2d(recv.data(), recv_buf, 0, recv.size() * 4); !st.ok()) return failed("copy_h2d", st);
  const dshal_all_to_all_rank mine{stream_handle(s), ref(send_buf), sc.data(), sd.data(), ref(recv_buf), rc.data(), rd.data()};
  auto d = desc<dshal_all_to_all_desc>();
  d.elem_bytes = 4;
  d.rank_count = 1;
  d.ranks = &mine;
  if (Status st = comm.all_to_all(d); !st.ok()) return failed("all_to_all", st);
  if (Status st = s.copy_d2h(recv_buf, 0, recv.data(), recv.size() * 4); !st.ok()) return failed("copy_d2h", st);
  if (Status st = s.synchronize(); !st.ok()) return failed("synchronize", st);
  std::vector<bool> covered(recv.size(), false);
  for (uint32_t p = 0; p < n; ++p)
    for (uint64_t i = 0; i < rc[p]; ++i) {
      covered[rd[p] + i] = true;
      if (recv[rd[p] + i] != value(p, rank, i))
        return fmt::format("rank {}: element {} of the block from rank {} is {:#x}, not {:#x}", rank, i, p,
                           recv[rd[p] + i], value(p, rank, i));
    }
  for (size_t i = 0; i < recv.size(); ++i)
    if (!covered[i] && recv[i] != kUntouched) return fmt::format("rank {}: element {} outside every block was written", rank, i);
  return "";
}

std::string comm_id_to_hex(const dshal_comm_id& id) {
  size_t used = sizeof id.bytes;
  while (used > 0 && id.bytes[used - 1] == 0) --used;
  std::string hex;
  for (size_t i = 0; i < used; ++i) hex += fmt::format("{:02x}", id.bytes[i]);
  return hex;
}

bool comm_id_from_hex(const std::string& hex, dshal_comm_id* id) {
  *id = dshal_comm_id{};
  if (hex.size() % 2 != 0 || hex.size() / 2 > sizeof id->bytes) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + i, "%2x", &v) != 1) return false;
    id->bytes[i / 2] = uint8_t(v);
  }
  return true;
}

int run_comm_peer(const std::string& device_id, const std::string& id_hex, uint32_t rank, uint32_t size) {
  const auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "dshal comm-peer (rank %u of %u on %s): %s\n", rank, size, device_id.c_str(), what.c_str());
    return 1;
  };
  dshal_comm_id id;
  if (!comm_id_from_hex(id_hex, &id)) return fail("--id is not the hex of a communicator id");
  Device dev;
  Stream s;
  Communicator comm;
  if (Status st = open_device(device_id, &dev); !st.ok()) return fail(st.to_string());
  if (Status st = dev.create_stream(&s); !st.ok()) return fail(st.to_string());
  if (Status st = Communicator::join(dev, id, rank, size, &comm); !st.ok()) return fail(st.to_string());
  if (std::string problem = exchange_across_processes(dev, s, comm, rank); !problem.empty()) return fail(problem);
  return 0;
}

}  // namespace dshal::conformance
