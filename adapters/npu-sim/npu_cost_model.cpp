// adapters/npu-sim/npu_cost_model.cpp: simulated device time per op, from the spec. A roofline:
// an op takes as long as its slowest resource (matrix-unit FLOPs at the peak for its input type,
// or card-memory bytes at HBM bandwidth), plus a fixed launch overhead per queued kernel or DMA.
// Copies are charged to the link they cross: PCIe for host <-> card, HBM (read + write) within a
// card, the interconnect between cards. Streams add these up (stream_device_time), so `dshal bench`
// and the porting report can show throughput projected for the spec'd part. The model ignores
// overlap between streams, caches, tiling efficiency and clock throttling: it is an upper bound
// on throughput, which is what a peak-based spec can honestly give.
#include <algorithm>
#include <cmath>

#include "npu_sim.hpp"

namespace npu_sim::cost {
namespace {

uint64_t to_ns(double seconds) { return uint64_t(std::llround(seconds * 1e9)); }
double launch_s(const Spec& s) { return s.launch_overhead_us * 1e-6; }
double gb(double bytes) { return bytes / 1e9; }

// The matrix unit's peak for a pair of input types: an f32 operand runs at the f32 rate, else the
// rate of the 16-bit type (f16 when either input is f16 and the other is not bf16, and so on).
double peak_tflops(const Spec& s, dshal_dtype a, dshal_dtype b) {
  if (a == DSHAL_DTYPE_F32 || b == DSHAL_DTYPE_F32) return s.tflops_f32;
  if (a == DSHAL_DTYPE_BF16 || b == DSHAL_DTYPE_BF16) return s.tflops_bf16;
  return s.tflops_f16;
}

}  // namespace

uint64_t gemm_ns(const Spec& s, dshal_dtype a, dshal_dtype b, double flops, double hbm_bytes) {
  const double compute = flops / (peak_tflops(s, a, b) * 1e12);
  const double memory = gb(hbm_bytes) / s.hbm_gbps;
  return to_ns(std::max(compute, memory) + launch_s(s));
}

uint64_t host_copy_ns(const Spec& s, uint64_t bytes) { return to_ns(gb(double(bytes)) / s.pcie_gbps + launch_s(s)); }

uint64_t card_copy_ns(const Spec& s, uint64_t bytes, bool same_card) {
  // Within a card the bytes are read and written through HBM; across cards the link is the limit.
  const double t = same_card ? 2 * gb(double(bytes)) / s.hbm_gbps : gb(double(bytes)) / s.interconnect_gbps;
  return to_ns(t + launch_s(s));
}

uint64_t fill_ns(const Spec& s, uint64_t bytes) { return to_ns(gb(double(bytes)) / s.hbm_gbps + launch_s(s)); }

uint64_t all_to_all_ns(const Spec& s, uint64_t local_bytes, uint64_t remote_bytes) {
  // Bytes kept on the card are read and written through HBM; bytes pulled from peers are charged
  // as if they crossed one interconnect link in turn. A full mesh (HCCS within an 8-card server)
  // could overlap its peer links, so this is the conservative end of the estimate.
  const double t = 2 * gb(double(local_bytes)) / s.hbm_gbps + gb(double(remote_bytes)) / s.interconnect_gbps;
  return to_ns(t + launch_s(s));
}

}  // namespace npu_sim::cost
