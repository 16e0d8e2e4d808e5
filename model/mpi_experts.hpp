// Expert parallelism across processes, one rank per process over MPI (dshal/mpi.hpp). Rank 0 is
// the home rank: it runs the whole model and holds routed experts [0, E/P); rank r holds only
// experts [r * E/P, (r + 1) * E/P) and serves the MoE layers. Per MoE layer, DeepEP-style: rank 0
// broadcasts the layer and its expert offsets (the notify step: every rank computes the same
// layout from them), dispatches each rank's contiguous range of permuted rows with all_to_all,
// computes its own experts' rows in place in its arena, and the combine all_to_all brings every
// other rank's rows back into the same rows of arena.ey, so the weighted sum that follows sees
// exactly the rows one process would have computed.
#pragma once

#include <dshal/dshal.hpp>
#include <dshal/mpi.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "model/expert_part.hpp"
#include "model/routed_experts.hpp"

namespace dshal::model {

// INVALID_ARGUMENT, the same on every rank, when the experts do not divide among the ranks.
Status check_experts_divide(const ModelConfig& c, int ranks);

// Rank 0's side: the Model's RoutedExperts.
class MpiExperts final : public RoutedExperts {
 public:
  // comm must outlive this; every rank must be constructing its MpiExpertServer meanwhile.
  static Status create(const Checkpoint& ckpt, const Device& device, const MpiCommunicator& comm, dshal_dtype act,
                       std::unique_ptr<MpiExperts>* out);

  // The layout, the notify broadcast and the dispatch are blocking; this rank's experts are
  // enqueued on `home`, the combine runs in wait_for_combine.
  Status run(int64_t l, const Stream& home, const Buffer& arena_buffer, const Arena& arena) override;
  // Work enqueued on home from now on sees the other ranks' rows in arena.ey.
  Status wait_for_combine(const Stream& home) override;
  std::vector<DeviceWeightStats> device_weights() const override { return {own_.stats}; }
  uint64_t routed_bytes_per_token() const override { return own_.weights.routed_bytes_per_token(*config_); }

  // Tells every other rank that the run is over; their serve() returns.
  Status stop();

 private:
  MpiExperts() = default;

  const ModelConfig* config_ = nullptr;
  const MpiCommunicator* comm_ = nullptr;
  Stream comm_stream_;  // runs the exchanges, beside the home stream's compute
  Event combined_;      // on comm_stream_: the combine's rows are in arena.ey
  ExpertWeights own_;
  dshal_dtype act_ = DSHAL_DTYPE_F32;
  std::vector<int32_t> notice_;  // [layer, offsets[0..E]]; layer -1: stop
  ExpertLayout layout_;
  const Buffer* arena_buffer_ = nullptr;  // of the layer in flight, for its combine
  const Arena* arena_ = nullptr;
};

// Rank r > 0: its experts, and room for every row rank 0 may send.
class MpiExpertServer {
 public:
  static Status create(const Checkpoint& ckpt, const Device& device, const MpiCommunicator& comm, dshal_dtype act,
                       int64_t max_tokens, std::unique_ptr<MpiExpertServer>* out);
  // Serves MoE layers until rank 0 calls stop().
  Status serve();
  const DeviceWeightStats& weights() const { return own_.stats; }

 private:
  MpiExpertServer() = default;

  const ModelConfig* config_ = nullptr;
  const MpiCommunicator* comm_ = nullptr;
  Stream stream_;
  ExpertWeights own_;
  ExpertWorkspace workspace_;
  dshal_dtype act_ = DSHAL_DTYPE_F32;
  uint64_t max_rows_ = 0;
  std::vector<int32_t> notice_;
  ExpertLayout layout_;
};

}  // namespace dshal::model
