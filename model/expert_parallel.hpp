// Expert parallelism in one process: the routed experts of every MoE layer spread evenly over
// several devices (expert e on device e / (E / D)); everything else stays on the
// home device (devices[0]), where the sequence lives. Per MoE layer, DeepEP-style: a layout pass
// over the permuted rows (rows per device and per expert), dispatch of each device's contiguous
// range of rows with all_to_all, the grouped GEMMs of each device's own experts, and a combine
// all_to_all back into the home arena in the same expert order, so the weighted sum that follows
// sees exactly the rows a single device would have computed. Devices of different adapters exchange
// through host memory (hal stages the all_to_all, blocking).
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/expert_part.hpp"
#include "model/routed_experts.hpp"

namespace dshal::model {

class ExpertParallel final : public RoutedExperts {
 public:
  // Places each device's experts (devices[0] is the home device) and sizes per-device workspaces
  // for max_tokens * top_k rows. INVALID_ARGUMENT when n_routed_experts is not divisible by the
  // number of devices.
  static Status create(const Checkpoint& ckpt, std::span<const Device* const> devices, dshal_dtype act,
                       int64_t max_tokens, std::unique_ptr<RoutedExperts>* out);
  // For ModelOptions::routed_experts: create over devices (they must outlive the load) with the
  // options' activations and chunk length.
  static RoutedExpertsFactory factory(std::span<const Device> devices, dshal_dtype act, int64_t max_tokens);

  // Waits for the layout on the host, then enqueues on the per-device streams only.
  Status run(int64_t l, const Stream& home, const Buffer& arena_buffer, const Arena& arena) override;
  Status wait_for_combine(const Stream& home) override { return home.wait(combined_); }

  std::vector<DeviceWeightStats> device_weights() const override;
  uint64_t routed_bytes_per_token() const override { return parts_[0].weights.routed_bytes_per_token(*config_); }

 private:
  ExpertParallel() = default;
  Status exchange(dshal_dtype t, bool dispatch, const Buffer& arena_buffer, const Arena& arena);

  const ModelConfig* config_ = nullptr;
  std::vector<Stream> streams_;  // per device; they carry the all_to_all and that device's experts
  std::vector<ExpertWeights> parts_;
  std::vector<ExpertWorkspace> workspaces_;
  Communicator comm_;
  Event permuted_, combined_;
  dshal_dtype act_ = DSHAL_DTYPE_F32;
  uint64_t experts_per_device_ = 0;
  std::vector<int32_t> offsets_;  // the current layer's expert offsets, as moe_permute wrote them
  ExpertLayout layout_;
};

}  // namespace dshal::model
