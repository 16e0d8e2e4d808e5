// mpi_all_to_all_bench: dshal's all_to_all across processes (MpiCommunicator) against its peer, a
// raw MPI_Alltoallv on the same buffers, in the same run. Every rank sends --bytes-per-peer
// (default 8 MiB) to every rank. Each way that the device offers, interleaved repetition by
// repetition so all see the same machine state: raw MPI_Alltoallv; dshal on device buffers
// imported from that host memory (in place, the path a host-memory device takes); dshal on ordinary
// device buffers staged through host memory; and dshal through the device's own transport across
// processes where its adapter has one (npu-sim, NCCL on cuda). Each timing is the slowest rank's,
// the median over --reps. Rank 0 prints the table and the dshal / MPI ratio.
//
//   mpirun -np 4 mpi_all_to_all_bench [--device cpu:0] [--bytes-per-peer N] [--reps 15]
#include <dshal/mpi.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string device = "cpu:0";
  uint64_t bytes_per_peer = 8ull << 20;
  int reps = 15;
};

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "mpi_all_to_all_bench: '%s' needs a value\n", a.c_str());
      return false;
    }
    const std::string v = argv[++i];
    char* end = nullptr;
    if (a == "--device") {
      o->device = v;
    } else if (a == "--bytes-per-peer") {
      o->bytes_per_peer = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || o->bytes_per_peer == 0 || o->bytes_per_peer > (1ull << 30)) {
        std::fprintf(stderr, "mpi_all_to_all_bench: --bytes-per-peer '%s' is not in 1 .. 2^30\n", v.c_str());
        return false;
      }
    } else if (a == "--reps") {
      o->reps = int(std::strtol(v.c_str(), &end, 10));
      if (v.empty() || *end || o->reps < 1) {
        std::fprintf(stderr, "mpi_all_to_all_bench: --reps '%s' is not a positive count\n", v.c_str());
        return false;
      }
    } else {
      std::fprintf(stderr, "mpi_all_to_all_bench: unknown option '%s'\n", a.c_str());
      return false;
    }
  }
  return true;
}

// Seconds of one call on the slowest rank (the exchange ends when the last rank is done).
double timed(const std::function<bool()>& call, bool* ok) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  *ok = call() && *ok;
  double mine = MPI_Wtime() - t0, slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Options o;
  int usable = parse(argc, argv, &o) ? 1 : 0;
  dshal::MpiCommunicator comm;
  dshal::Device dev;
  dshal::Stream s;
  auto fail = [&](const dshal::Status& st) {
    std::fprintf(stderr, "mpi_all_to_all_bench: rank %d: %s\n", rank, st.to_string().c_str());
    usable = 0;
  };
  if (usable) {
    if (dshal::Status st = dshal::MpiCommunicator::create(MPI_COMM_WORLD, &comm); !st.ok()) fail(st);
    else if (dshal::Status st2 = dshal::open_device(o.device, &dev); !st2.ok()) fail(st2);
    else if (dshal::Status st3 = dev.create_stream(&s); !st3.ok()) fail(st3);
  }
  int all_usable = 0;
  MPI_Allreduce(&usable, &all_usable, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_usable) {
    MPI_Finalize();
    return 2;
  }

  const uint64_t bpp = o.bytes_per_peer, total = bpp * uint64_t(size);
  if (total > uint64_t(INT_MAX)) {  // the raw MPI_Alltoallv peer counts bytes in int
    if (rank == 0)
      std::fprintf(stderr, "mpi_all_to_all_bench: --bytes-per-peer x %d ranks is more than MPI's int counts hold\n", size);
    MPI_Finalize();
    return 2;
  }
  std::vector<uint8_t> send(total), recv(total);
  for (uint64_t i = 0; i < total; ++i) send[i] = uint8_t(rank * 37 + i * 11);
  const bool host_shared = dev.properties().flags & DSHAL_DEVICE_HOST_SHARED_MEMORY;
  dshal::Buffer send_in_place, recv_in_place, send_dev, recv_dev, recv_native;
  bool ok = (!host_shared || (dev.import_host_memory(send.data(), total, &send_in_place).ok() &&
                              dev.import_host_memory(recv.data(), total, &recv_in_place).ok())) &&
            dev.alloc(total, &send_dev).ok() && dev.alloc(total, &recv_dev).ok() && dev.alloc(total, &recv_native).ok() &&
            s.copy_h2d(send.data(), send_dev, 0, total).ok() && s.synchronize().ok();
  // A second communicator on the same ranks for the device's transport (collective: every rank).
  dshal::MpiCommunicator native;
  bool has_native = false;
  ok = dshal::MpiCommunicator::create(MPI_COMM_WORLD, &native).ok() && native.use_device_transport(dev, &has_native).ok() && ok;
  std::vector<uint64_t> counts(size_t(size), bpp), displs;
  std::vector<int> icounts(static_cast<size_t>(size), static_cast<int>(bpp)), idispls;
  for (int p = 0; p < size; ++p) {
    displs.push_back(uint64_t(p) * bpp);
    idispls.push_back(int(uint64_t(p) * bpp));
  }
  const dshal::MpiExchange x{1, counts, displs, counts, displs};
  const std::function<bool()> raw = [&] {
    return MPI_Alltoallv(send.data(), icounts.data(), idispls.data(), MPI_BYTE, recv.data(), icounts.data(),
                         idispls.data(), MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS;
  };
  struct Way {
    const char* name;
    std::function<bool()> call;
    std::vector<double> t;
  };
  std::vector<Way> ways;
  ways.push_back({"MPI_Alltoallv (peer)", raw, {}});
  if (host_shared)
    ways.push_back({"dshal in place (imported host memory)",
                    [&] { return comm.all_to_all_host(s, x, send.data(), recv.data()).ok(); }, {}});
  ways.push_back({"dshal staged (device buffers)", [&] { return comm.all_to_all(s, x, send_dev, 0, recv_dev, 0).ok(); }, {}});
  if (has_native)  // async on the stream: the exchange ends when the stream has run it
    ways.push_back({"dshal device transport", [&] {
                      return native.all_to_all(s, x, send_dev, 0, recv_native, 0).ok() && s.synchronize().ok();
                    }, {}});
  for (int rep = -2; rep < o.reps; ++rep)  // two warm-up rounds
    for (Way& w : ways) {
      const double t = timed(w.call, &ok);
      if (rep >= 0) w.t.push_back(t);
    }
  // What arrived from each peer is what it sent, through each dshal way that wrote a device buffer.
  std::vector<uint8_t> got(total);
  for (const dshal::Buffer* b : {&recv_dev, &recv_native}) {
    if (b == &recv_native && !has_native) continue;
    ok = ok && s.copy_d2h(*b, 0, got.data(), total).ok() && s.synchronize().ok();
    for (int p = 0; ok && p < size; ++p)
      for (uint64_t i = 0; i < bpp; ++i)
        if (got[uint64_t(p) * bpp + i] != uint8_t(p * 37 + (uint64_t(rank) * bpp + i) * 11)) {
          std::fprintf(stderr, "mpi_all_to_all_bench: rank %d: wrong byte %llu from rank %d\n", rank,
                       (unsigned long long)i, p);
          ok = false;
          break;
        }
  }
  int mine = ok ? 1 : 0, all_ok = 0;
  MPI_Allreduce(&mine, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0 && all_ok) {
    const double bytes = double(total) * size;  // received by all ranks together
    const double raw_gbps = bytes / median(ways[0].t) * 1e-9;
    std::printf("%d ranks of %s, %llu bytes per peer, %d reps (median of the slowest rank), GB/s received (all ranks)\n",
                size, o.device.c_str(), (unsigned long long)bpp, o.reps);
    std::printf("  %-38s %10.2f\n", ways[0].name, raw_gbps);
    for (size_t w = 1; w < ways.size(); ++w) {
      const double g = bytes / median(ways[w].t) * 1e-9;
      std::printf("  %-38s %10.2f   %.2fx MPI_Alltoallv\n", ways[w].name, g, g / raw_gbps);
    }
  }
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
