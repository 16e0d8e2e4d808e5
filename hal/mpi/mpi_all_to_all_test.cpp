// MpiCommunicator under mpirun (-np 2, -np 4): uneven and zero counts through device buffers
// (staged) and through imported host memory (in place); received ranges hold what each peer sent,
// the rest of recv keeps its contents; bad counts are refused on every rank without an MPI call.
// Every rank runs every check; the ranks agree on the verdict (exit 0 when all passed).
#include <dshal/mpi.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using dshal::Status;

constexpr int32_t kUntouched = -7;

// Elements rank `from` sends to rank `to`: uneven, and none from odd ranks to themselves.
uint64_t count(int from, int to) { return (from % 2 == 1 && from == to) ? 0 : uint64_t(3 * from + 2 * to + 1); }
int32_t value(int from, int to, uint64_t i) { return int32_t(from * 1000000 + to * 10000 + int32_t(i)); }

struct Plan {
  std::vector<uint64_t> sc, sd, rc, rd;
  std::vector<int32_t> send;
  uint64_t recv_elems = 0;
};

// Send chunks packed in rank order; recv chunks one element apart, so gaps show stray writes.
Plan plan_for(int me, int n) {
  Plan p;
  uint64_t at = 0, rat = 0;
  for (int q = 0; q < n; ++q) {
    p.sc.push_back(count(me, q));
    p.sd.push_back(at);
    for (uint64_t i = 0; i < count(me, q); ++i) p.send.push_back(value(me, q, i));
    at += count(me, q);
    p.rc.push_back(count(q, me));
    p.rd.push_back(rat);
    rat += count(q, me) + 1;
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

std::string device_buffers(const dshal::MpiCommunicator& comm, const dshal::Device& dev, const dshal::Stream& s) {
  const Plan p = plan_for(comm.rank(), comm.size());
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
  else if (Status st2 = dshal::open_device("cpu:0", &dev); !st2.ok()) report("open cpu:0", st2.to_string());
  else if (Status st3 = dev.create_stream(&s); !st3.ok()) report("stream", st3.to_string());
  else {
    report("device buffers", device_buffers(comm, dev, s));
    report("host memory", host_memory(comm, dev, s));
    report("bad counts", bad_counts(comm, s));
  }
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (comm.rank() == 0) std::printf("mpi all_to_all on %d ranks: %s\n", comm.size(), any_failed ? "FAILED" : "passed");
  MPI_Finalize();
  return any_failed;
}
