// MpiCommunicator under mpirun (-np 2, -np 4) on the device named by argv[1] (default cpu:0):
// uneven and zero counts through device buffers (staged through MPI) and through imported host
// memory (in place); then, where the device's adapter has its own transport across processes
// (npu-sim's shared-memory links; NCCL on cuda), the same exchange through it, with messages larger
// than its chunks, and a count mismatch it must report. Received ranges hold what each peer sent,
// the rest of recv keeps its contents; bad counts are refused on every rank without an MPI call.
// Every rank runs every check; the ranks agree on the verdict (exit 0 when all passed).
#include <dshal/mpi.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using dshal::Status;

constexpr int32_t kUntouched = -7;

// Elements rank `from` sends to rank `to`, times scale: uneven, and none from odd ranks to themselves.
uint64_t count(int from, int to, uint64_t scale) {
  return (from % 2 == 1 && from == to) ? 0 : uint64_t(3 * from + 2 * to + 1) * scale;
}
// Distinct for every (from, to, i) this test uses, so a misplaced element shows.
int32_t value(int from, int to, uint64_t i) { return int32_t((uint64_t(from * 8 + to) << 24) | i); }

struct Plan {
  std::vector<uint64_t> sc, sd, rc, rd;
  std::vector<int32_t> send;
  uint64_t recv_elems = 0;
};

// Send chunks packed in rank order; recv chunks one element apart, so gaps show stray writes.
Plan plan_for(int me, int n, uint64_t scale = 1) {
  Plan p;
  uint64_t at = 0, rat = 0;
  for (int q = 0; q < n; ++q) {
    p.sc.push_back(count(me, q, scale));
    p.sd.push_back(at);
    for (uint64_t i = 0; i < count(me, q, scale); ++i) p.send.push_back(value(me, q, i));
    at += count(me, q, scale);
    p.rc.push_back(count(q, me, scale));
    p.rd.push_back(rat);
    rat += count(q, me, scale) + 1;
  }
  p.recv_elems = rat;
  return p;
}

std::string check_received(int me, int n, const Plan& p, const std::vector<int32_t>& recv) {
  std::vector<bool> covered(recv.size(), false);
  for (int q = 0; q < n; ++q)
    for (uint64_t i = 0; i < p.rc[q]; ++i) {
      covered[p.rd[q] + i] = true;
      if (recv[p.rd[q] + i] != value(q, me, i))
        return "element " + std::to_string(i) + " from rank " + std::to_string(q) + " is wrong";
    }
  for (size_t i = 0; i < recv.size(); ++i)
    if (!covered[i] && recv[i] != kUntouched) return "a gap at element " + std::to_string(i) + " was written";
  return "";
}

dshal::MpiExchange exchange(const Plan& p) {
  return dshal::MpiExchange{sizeof(int32_t), p.sc, p.sd, p.rc, p.rd};
}

std::string device_buffers(const dshal::MpiCommunicator& comm, const dshal::Device& dev, const dshal::Stream& s,
                           uint64_t scale = 1) {
  const Plan p = plan_for(comm.rank(), comm.size(), scale);
  dshal::Buffer send, recv;
  const uint64_t offset = 64;  // exchanges address buffers at an offset
  if (Status st = dev.alloc(offset + p.send.size() * 4 + 4, &send); !st.ok()) return st.to_string();
  if (Status st = dev.alloc(offset + p.recv_elems * 4, &recv); !st.ok()) return st.to_string();
  std::vector<int32_t> recv_host(p.recv_elems, kUntouched);
  if (!p.send.empty())
    if (Status st = s.copy_h2d(p.send.data(), send, offset, p.send.size() * 4); !st.ok()) return st.to_string();
  if (Status st = s.copy_h2d(recv_host.data(), recv, offset, recv_host.size() * 4); !st.ok()) return st.to_string();
  if (Status st = comm.all_to_all(s, exchange(p), send, offset, recv, offset); !st.ok()) return st.to_string();
  if (Status st = s.copy_d2h(recv, offset, recv_host.data(), recv_host.size() * 4); !st.ok()) return st.to_string();
  if (Status st = s.synchronize(); !st.ok()) return st.to_string();
  return check_received(comm.rank(), comm.size(), p, recv_host);
}

std::string host_memory(const dshal::MpiCommunicator& comm, const dshal::Device& dev, const dshal::Stream& s) {
  if (!(dev.properties().flags & DSHAL_DEVICE_HOST_SHARED_MEMORY)) return "";  // nothing to import into
  const Plan p = plan_for(comm.rank(), comm.size());
  std::vector<int32_t> send = p.send, recv(p.recv_elems, kUntouched);
  send.push_back(0);  // never empty: import needs bytes
  dshal::Buffer send_buf;
  if (Status st = dev.import_host_memory(send.data(), send.size() * 4, &send_buf); !st.ok()) return st.to_string();
  // Device work before the exchange, ordered by the stream: it rewrites the send buffer's first
  // element with the value it already has, so a missing wait would show only as a race.
  if (!p.send.empty())
    if (Status st = s.copy_h2d(p.send.data(), send_buf, 0, 4); !st.ok()) return st.to_string();
  if (Status st = comm.all_to_all_host(s, exchange(p), send.data(), recv.data()); !st.ok()) return st.to_string();
  return check_received(comm.rank(), comm.size(), p, recv);
}

// The device's own transport: joined on every rank or none; then exchanges of a few elements and
// of several MiB per peer (more than one chunk of npu-sim's links).
std::string device_transport(dshal::MpiCommunicator& comm, const dshal::Device& dev, const dshal::Stream& s) {
  bool used = false;
  if (Status st = comm.use_device_transport(dev, &used); !st.ok()) return st.to_string();
  if (used != dshal::Communicator::spans_processes(dev))
    return used ? "joined a transport the adapter does not have" : "did not join the adapter's transport";
  if (!used) return "";
  if (std::string e = device_buffers(comm, dev, s); !e.empty()) return "small: " + e;
  return device_buffers(comm, dev, s, /*scale=*/200000);
}

// Rank 0 sends rank 1 one element more than rank 1 expects: rank 1's stream reports it, naming
// rank 0; the other ranks' exchanges complete, and the next exchange works on every rank.
std::string count_mismatch(const dshal::MpiCommunicator& comm, const dshal::Device& dev, const dshal::Stream& s) {
  const int me = comm.rank(), n = comm.size();
  std::vector<uint64_t> sc(size_t(n), 1), sd(size_t(n), 0), rc(size_t(n), 1), rd(size_t(n), 0);
  for (int q = 0; q < n; ++q) sd[size_t(q)] = rd[size_t(q)] = uint64_t(q) * 2;
  if (me == 0) sc[1] = 2;
  dshal::Buffer send, recv;
  if (Status st = dev.alloc(uint64_t(n) * 8, &send); !st.ok()) return st.to_string();
  if (Status st = dev.alloc(uint64_t(n) * 8, &recv); !st.ok()) return st.to_string();
  Status st = comm.all_to_all(s, dshal::MpiExchange{4, sc, sd, rc, rd}, send, 0, recv, 0);
  if (st.ok()) st = s.synchronize();
  if (me != 1 && !st.ok()) return "an exchange not involving the mismatch failed: " + st.to_string();
  if (me == 1 && (st.code() != DSHAL_ERROR_INVALID_ARGUMENT || st.message().find("rank 0 sends 8 bytes") == std::string::npos))
    return "the mismatch gave '" + st.to_string() + "', not INVALID_ARGUMENT naming rank 0's 8 bytes";
  if (std::string e = device_buffers(comm, dev, s); !e.empty()) return "the exchange after it: " + e;
  return "";
}

std::string bad_counts(const dshal::MpiCommunicator& comm, const dshal::Stream& s) {
  const std::vector<uint64_t> short_list(size_t(comm.size()) - 1, 0), full(size_t(comm.size()), 0);
  int32_t dummy = 0;
  const Status st = comm.all_to_all_host(s, dshal::MpiExchange{4, short_list, full, full, full}, &dummy, &dummy);
  if (st.code() != DSHAL_ERROR_INVALID_ARGUMENT || st.message().find("send_counts") == std::string::npos)
    return "a short send_counts gave '" + st.to_string() + "', not INVALID_ARGUMENT naming send_counts";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const char* device_id = argc > 1 ? argv[1] : "cpu:0";
  dshal::MpiCommunicator comm;
  int failed = 0;
  auto report = [&](const char* name, const std::string& problem) {
    if (problem.empty()) return;
    std::fprintf(stderr, "rank %d: %s: %s\n", comm.rank(), name, problem.c_str());
    failed = 1;
  };
  dshal::Device dev;
  dshal::Stream s;
  if (Status st = dshal::MpiCommunicator::create(MPI_COMM_WORLD, &comm); !st.ok()) report("create", st.to_string());
  else if (Status st2 = dshal::open_device(device_id, &dev); !st2.ok()) report(device_id, st2.to_string());
  else if (Status st3 = dev.create_stream(&s); !st3.ok()) report("stream", st3.to_string());
  else {
    report("device buffers", device_buffers(comm, dev, s));
    report("host memory", host_memory(comm, dev, s));
    report("bad counts", bad_counts(comm, s));
    report("device transport", device_transport(comm, dev, s));
    if (comm.device_transport() && comm.size() > 1) report("count mismatch", count_mismatch(comm, dev, s));
  }
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (comm.rank() == 0)
    std::printf("mpi all_to_all on %d ranks of %s (%s): %s\n", comm.size(), device_id,
                comm.device_transport() ? "device transport" : "staged", any_failed ? "FAILED" : "passed");
  MPI_Finalize();
  return any_failed;
}
