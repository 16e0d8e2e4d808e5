// The routed experts of every MoE layer when other devices or processes hold them (expert
// parallelism). The Model keeps the sequence on its home device: it routes and permutes the rows,
// hands them to RoutedExperts, and reads each row's expert output back from the arena for the
// weighted sum, in the same fixed order as on one device.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/arena.hpp"
#include "model/checkpoint.hpp"
#include "model/weights.hpp"

namespace dshal::model {

// The routed experts one device (or rank) holds.
struct DeviceWeightStats {
  std::string device;
  int64_t first_expert = 0, expert_count = 0;
  WeightStats stats;  // its routed experts only (the home device's dense part is not in it)
};

class RoutedExperts {
 public:
  virtual ~RoutedExperts() = default;
  // The experts of MoE layer l for the rows moe_permute wrote into arena.xp / arena.offsets on
  // `home`; the output of every kept row lands in arena.ey. `home` may run other work meanwhile
  // and must call wait_for_combine before it reads arena.ey.
  virtual Status run(int64_t l, const Stream& home, const Buffer& arena_buffer, const Arena& arena) = 0;
  // Work enqueued on `home` after this sees the whole of arena.ey.
  virtual Status wait_for_combine(const Stream& home) = 0;
  // The experts held in this process, by device.
  virtual std::vector<DeviceWeightStats> device_weights() const = 0;
  // Routed-expert weight bytes one token reads (every expert has the same shape and dtype).
  virtual uint64_t routed_bytes_per_token() const = 0;
};

// Made by Model::load once the checkpoint is open and checked.
using RoutedExpertsFactory = std::function<Status(const Checkpoint&, std::unique_ptr<RoutedExperts>*)>;

}  // namespace dshal::model
