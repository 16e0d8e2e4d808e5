// all_to_all_bench: the HAL's in-process all_to_all against its peer, plain memcpy doing the same
// data movement in the same run. Every rank sends --bytes-per-peer (default 8 MiB) to every rank,
// itself included; the peer is one thread per rank copying the same chunks between host buffers of
// the same sizes (what an ideal shared-memory all_to_all does). The exchange is checked once
// against the expected bytes before timing. Ends with a table of GB/s (bytes received per second,
// all ranks together) and the all_to_all / memcpy ratio.
//
//   DSHAL_CPU_DEVICES=4 all_to_all_bench [--devices cpu:0,cpu:1,cpu:2,cpu:3] [--bytes-per-peer N]
//                                        [--benchmark_filter=...]   (Google Benchmark flags)
#include <benchmark/benchmark.h>
#include <dshal/dshal.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::vector<std::string> g_devices = {"cpu:0", "cpu:1", "cpu:2", "cpu:3"};
uint64_t g_bytes_per_peer = 8ull << 20;
std::map<uint32_t, std::map<std::string, double>> g_gbps;  // [ranks]["all_to_all" | "memcpy"]

#define BENCH_CHECK(cond, msg)          \
  if (!(cond)) {                        \
    state.SkipWithError((msg).c_str()); \
    return;                             \
  }

// Byte i of what rank `from` sends to rank `to`: distinct per pair and position.
uint8_t pattern(uint32_t from, uint32_t to, uint64_t i) { return uint8_t(from * 31 + to * 7 + i * 13 + (i >> 12)); }

// ranks devices, each with a stream and send / recv buffers of ranks x bytes_per_peer, in one
// communicator; exchange() runs one all_to_all and waits for it.
struct Exchange {
  std::vector<dshal::Device> devices;
  std::vector<dshal::Stream> streams;
  std::vector<dshal::Buffer> send, recv;
  dshal::Communicator comm;
  std::vector<uint64_t> counts, displs;
  std::vector<dshal_all_to_all_rank> ranks;

  std::string prepare(uint32_t n, uint64_t bpp) {
    devices.resize(n);
    streams.resize(n);
    send.resize(n);
    recv.resize(n);
    std::vector<const dshal::Device*> members;
    for (uint32_t r = 0; r < n; ++r) {
      if (dshal::Status st = dshal::open_device(g_devices[r], &devices[r]); !st.ok()) return st.to_string();
      if (dshal::Status st = devices[r].create_stream(&streams[r]); !st.ok()) return st.to_string();
      if (dshal::Status st = devices[r].alloc(n * bpp, &send[r]); !st.ok()) return st.to_string();
      if (dshal::Status st = devices[r].alloc(n * bpp, &recv[r]); !st.ok()) return st.to_string();
      std::vector<uint8_t> bytes(n * bpp);
      for (uint32_t to = 0; to < n; ++to)
        for (uint64_t i = 0; i < bpp; ++i) bytes[to * bpp + i] = pattern(r, to, i);
      if (dshal::Status st = streams[r].copy_h2d(bytes.data(), send[r], 0, bytes.size()); !st.ok()) return st.to_string();
      if (dshal::Status st = streams[r].synchronize(); !st.ok()) return st.to_string();  // bytes is freed next
      members.push_back(&devices[r]);
    }
    if (dshal::Status st = dshal::Communicator::create(members, &comm); !st.ok()) return st.to_string();
    for (uint32_t p = 0; p < n; ++p) {
      counts.push_back(bpp);
      displs.push_back(p * bpp);
    }
    for (uint32_t r = 0; r < n; ++r) {
      dshal_all_to_all_rank k{};
      k.stream = dshal::stream_handle(streams[r]);
      k.send = dshal::ref(send[r]);
      k.recv = dshal::ref(recv[r]);
      k.send_counts = k.recv_counts = counts.data();
      k.send_displs = k.recv_displs = displs.data();
      ranks.push_back(k);
    }
    if (std::string why = exchange(); !why.empty()) return why;
    return check(n, bpp);
  }

  std::string exchange() {
    dshal_all_to_all_desc d{};
    d.struct_size = sizeof(d);
    d.elem_bytes = 1;
    d.rank_count = uint32_t(ranks.size());
    d.ranks = ranks.data();
    if (dshal::Status st = comm.all_to_all(d); !st.ok()) return st.to_string();
    for (const dshal::Stream& s : streams)
      if (dshal::Status st = s.synchronize(); !st.ok()) return st.to_string();
    return "";
  }

  // Rank r's recv chunk p must be what p sent to r.
  std::string check(uint32_t n, uint64_t bpp) {
    std::vector<uint8_t> bytes(n * bpp);
    for (uint32_t r = 0; r < n; ++r) {
      if (dshal::Status st = streams[r].copy_d2h(recv[r], 0, bytes.data(), bytes.size()); !st.ok()) return st.to_string();
      if (dshal::Status st = streams[r].synchronize(); !st.ok()) return st.to_string();
      for (uint32_t p = 0; p < n; ++p)
        for (uint64_t i = 0; i < bpp; ++i)
          if (bytes[p * bpp + i] != pattern(p, r, i))
            return "all_to_all delivered wrong bytes: rank " + std::to_string(r) + " from " + std::to_string(p) +
                   " at byte " + std::to_string(i);
    }
    return "";
  }
};

void BM_all_to_all(benchmark::State& state, uint32_t n) {
  Exchange ex;
  const std::string why = ex.prepare(n, g_bytes_per_peer);
  BENCH_CHECK(why.empty(), why);
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (const std::string e = ex.exchange(); !e.empty()) {
      state.SkipWithError(e.c_str());
      return;
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double bytes = double(n) * n * g_bytes_per_peer;
  g_gbps[n]["all_to_all"] = bytes * double(state.iterations()) / seconds * 1e-9;
  state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// The peer: one thread per rank pulls its n chunks from the n send buffers, as the exchange does.
void BM_memcpy(benchmark::State& state, uint32_t n) {
  const uint64_t bpp = g_bytes_per_peer;
  std::vector<std::unique_ptr<uint8_t[]>> send(n), recv(n);
  for (uint32_t r = 0; r < n; ++r) {
    send[r] = std::make_unique<uint8_t[]>(n * bpp);
    recv[r] = std::make_unique<uint8_t[]>(n * bpp);
    std::memset(send[r].get(), int(r + 1), n * bpp);  // touch every page before timing
    std::memset(recv[r].get(), 0, n * bpp);
  }
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::vector<std::jthread> threads;
      for (uint32_t r = 0; r < n; ++r)
        threads.emplace_back([&, r] {
          for (uint32_t p = 0; p < n; ++p) std::memcpy(recv[r].get() + p * bpp, send[p].get() + r * bpp, bpp);
        });
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(recv[0].get());
  }
  const double bytes = double(n) * n * bpp;
  g_gbps[n]["memcpy"] = bytes * double(state.iterations()) / seconds * 1e-9;
  state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// Takes "--name value" out of argv (Google Benchmark sees the rest); false when absent.
bool take_option(int* argc, char** argv, const char* name, std::string* value) {
  for (int i = 1; i + 1 < *argc; ++i)
    if (std::strcmp(argv[i], name) == 0) {
      *value = argv[i + 1];
      for (int j = i; j + 2 <= *argc; ++j) argv[j] = argv[j + 2];
      *argc -= 2;
      return true;
    }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string value;
  if (take_option(&argc, argv, "--devices", &value)) {
    g_devices.clear();
    std::stringstream list(value);
    for (std::string d; std::getline(list, d, ',');) g_devices.push_back(d);
  }
  if (take_option(&argc, argv, "--bytes-per-peer", &value)) {
    char* end = nullptr;
    g_bytes_per_peer = std::strtoull(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || g_bytes_per_peer == 0) {
      std::fprintf(stderr, "all_to_all_bench: --bytes-per-peer '%s' is not a positive number of bytes\n", value.c_str());
      return 2;
    }
  }
  if (g_devices.size() < 2) {
    std::fprintf(stderr, "all_to_all_bench: --devices needs at least two devices of one adapter\n");
    return 2;
  }
  std::vector<uint32_t> sizes = {2};
  if (g_devices.size() > 2) sizes.push_back(uint32_t(g_devices.size()));
  for (uint32_t n : sizes) {
    // Interleaved, so both see the same machine state.
    benchmark::RegisterBenchmark(("memcpy/" + std::to_string(n) + "ranks").c_str(), BM_memcpy, n)
        ->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
    benchmark::RegisterBenchmark(("all_to_all/" + std::to_string(n) + "ranks").c_str(), BM_all_to_all, n)
        ->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\n%llu bytes per peer, GB/s received (all ranks)\n  %-8s %12s %12s %10s\n",
              (unsigned long long)g_bytes_per_peer, "ranks", "all_to_all", "memcpy", "ratio");
  for (const auto& [n, by] : g_gbps) {
    const auto a = by.find("all_to_all"), m = by.find("memcpy");
    if (a == by.end() || m == by.end()) continue;
    std::printf("  %-8u %12.2f %12.2f %9.2fx\n", n, a->second, m->second, a->second / m->second);
  }
  return 0;
}
