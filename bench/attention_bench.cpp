// The host attention kernel on DeepSeek MLA shapes (decode and prefill, naive and absorbed), with the
// rate at which the K/V cache is read: `build/bin/attention_bench`.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "host/dtype.hpp"
#include "host/kernels.hpp"

namespace {

using namespace dshal;

void run_attention(benchmark::State& state, dshal_attention_mode mode, uint64_t q_len, uint64_t kv_len, uint64_t heads,
                   uint64_t D, uint64_t Dv, dshal_dtype kt) {
  const uint64_t kv_heads = mode == DSHAL_ATTENTION_ABSORBED ? 1 : heads;
  const uint64_t q_bytes = q_len * heads * D * 4, k_bytes = kv_len * kv_heads * D * dtype_bytes(kt);
  const uint64_t v_bytes = mode == DSHAL_ATTENTION_ABSORBED ? 0 : kv_len * kv_heads * Dv * dtype_bytes(kt);
  std::vector<std::byte> mem(q_bytes + k_bytes + v_bytes + q_len * heads * Dv * 4);
  host::HostBuffer buf{mem.data(), mem.size(), false};
  const uint64_t k_off = q_bytes, v_off = k_off + k_bytes, o_off = v_off + v_bytes;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (uint64_t i = 0; i < q_len * heads * D; ++i) store_f32(mem.data(), DSHAL_DTYPE_F32, i, dist(rng));
  for (uint64_t i = 0; i < (k_bytes + v_bytes) / dtype_bytes(kt); ++i) store_f32(mem.data() + k_off, kt, i, dist(rng));
  dshal_attention_desc d{};
  d.struct_size = sizeof d;
  d.mode = mode;
  d.q_len = q_len;
  d.kv_len = kv_len;
  d.heads = heads;
  d.kv_heads = kv_heads;
  d.qk_dim = D;
  d.v_dim = Dv;
  d.scale = 0.1f;
  d.causal = 1;
  d.q_offset = kv_len - q_len;
  const dshal_buffer h = host::as_handle(&buf);
  d.q = {h, 0, DSHAL_DTYPE_F32, heads * D, D};
  d.k = {h, k_off, kt, kv_heads * D, D};
  d.v = mode == DSHAL_ATTENTION_ABSORBED ? d.k : dshal_attention_view{h, v_off, kt, kv_heads * Dv, Dv};
  d.out = {h, o_off, DSHAL_DTYPE_F32, heads * Dv, Dv};
  std::string error;
  for (auto _ : state) {
    if (host::attention(d, &error) != DSHAL_OK) state.SkipWithError(error.c_str());
  }
  double pairs = 0;  // (query, key) pairs the causal mask leaves
  for (uint64_t t = 0; t < q_len; ++t) pairs += double(std::min(kv_len, t + d.q_offset + 1));
  const double flop = 2.0 * double(heads) * pairs * double(D + Dv);
  state.counters["GFLOPs"] = benchmark::Counter(flop * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["kv_GBps"] = benchmark::Counter(double(k_bytes + v_bytes) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void register_all() {
  for (dshal_dtype kt : {DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32}) {
    const std::string t = dtype_name(kt);
    benchmark::RegisterBenchmark(("absorbed_decode_128h_576_512_kv4096/" + t).c_str(), run_attention,
                                 DSHAL_ATTENTION_ABSORBED, 1, 4096, 128, 576, 512, kt)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("naive_decode_128h_192_128_kv4096/" + t).c_str(), run_attention,
                                 DSHAL_ATTENTION_NAIVE, 1, 4096, 128, 192, 128, kt)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("naive_prefill_16h_192_128_1024/" + t).c_str(), run_attention,
                                 DSHAL_ATTENTION_NAIVE, 1024, 1024, 16, 192, 128, kt)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("absorbed_prefill_16h_576_512_256/" + t).c_str(), run_attention,
                                 DSHAL_ATTENTION_ABSORBED, 256, 256, 16, 576, 512, kt)->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
