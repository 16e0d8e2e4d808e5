// Expert parallelism in one process: the routed experts of every MoE layer spread evenly over
// several devices of one adapter (expert e on device e / (E / D)); everything else stays on the
// home device (devices[0]), where the sequence lives. Per MoE layer, DeepEP-style: a layout pass
// over the permuted rows (rows per device and per expert), dispatch of each device's contiguous
// range of rows with all_to_all, the grouped GEMMs of each device's own experts, and a combine
// all_to_all back into the home arena in the same expert order, so the weighted sum that follows
// sees exactly the rows a single device would have computed.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/arena.hpp"
#include "model/checkpoint.hpp"
#include "model/weights.hpp"

namespace dshal::model {

// The routed-expert weights one device holds.
struct DeviceWeightStats {
  std::string device;
  int64_t first_expert = 0, expert_count = 0;
  WeightStats stats;  // the routed experts it holds (the home device's dense part is not in it)
};

class ExpertParallel {
 public:
  // Places each device's experts (devices[0] is the home device) and sizes per-device workspaces
  // for max_tokens * top_k rows. INVALID_ARGUMENT when n_routed_experts is not divisible by the
  // number of devices, or the devices are of different adapters.
  static Status create(const Checkpoint& ckpt, std::span<const Device* const> devices,
                       dshal_dtype act, int64_t max_tokens, std::unique_ptr<ExpertParallel>* out);

  // The experts of MoE layer l for the rows moe_permute wrote into arena.xp / arena.offsets (on
  // `home`); writes every kept row's expert output into arena.ey. Waits for the layout on the
  // host, then enqueues on the per-device streams only: `home` may run other work meanwhile, and
  // must call wait_for_combine before it reads arena.ey.
  Status run(int64_t l, const Stream& home, const Buffer& arena_buffer, const Arena& arena);
  // Work enqueued on `home` after this waits for the combine of the last run.
  Status wait_for_combine(const Stream& home) const { return home.wait(combined_); }

  const std::vector<DeviceWeightStats>& device_weights() const { return device_weights_; }
  // Routed-expert weight bytes one token reads (every expert has the same shape and dtype).
  uint64_t routed_bytes_per_token() const { return weights_[0].routed_bytes_per_token(*config_); }

 private:
  struct Workspace {  // on one device, for up to max_tokens * top_k rows
    Buffer buffer;
    Slot xp, eg, eu, eh, ey, offsets;
  };
  ExpertParallel() = default;
  Status layout(const Stream& home, const Buffer& arena_buffer, const Arena& arena);
  Status experts(size_t d, int64_t l);

  const ModelConfig* config_ = nullptr;
  std::vector<const Device*> devices_;
  std::vector<Stream> streams_;  // per device; they carry the all_to_all and that device's experts
  std::vector<ModelWeights> weights_;
  std::vector<Workspace> workspaces_;
  std::vector<DeviceWeightStats> device_weights_;
  Communicator comm_;
  Event permuted_, combined_;
  dshal_dtype act_ = DSHAL_DTYPE_F32;
  int64_t experts_per_device_ = 0;
  // The layout of the current layer, host side: expert offsets as moe_permute wrote them, each
  // device's first row and row count, and each device's offsets rebased to its first row.
  std::vector<int32_t> offsets_;
  std::vector<uint64_t> first_row_, rows_;
  std::vector<std::vector<int32_t>> local_offsets_;
};

}  // namespace dshal::model
