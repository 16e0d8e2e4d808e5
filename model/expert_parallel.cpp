// Expert parallelism in one process: placement of the routed experts over the devices, dispatch and
// combine with Communicator::all_to_all, and each device's grouped GEMMs.
#include "model/expert_parallel.hpp"

#include "host/dtype.hpp"  // header-only element sizes, no device access

#include <fmt/format.h>

namespace dshal::model {

Status ExpertParallel::create(const Checkpoint& ckpt, std::span<const Device* const> devices, dshal_dtype act,
                              int64_t max_tokens, std::unique_ptr<RoutedExperts>* out) {
  const ModelConfig& c = ckpt.config();
  const int64_t D = int64_t(devices.size()), E = c.n_routed_experts;
  if (D < 2) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "expert parallelism needs at least 2 devices");
  if (E % D != 0)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("n_routed_experts = {} is not divisible by the {} devices listed; list a number of "
                              "devices that divides {}",
                              E, D, E));
  std::unique_ptr<ExpertParallel> ep(new ExpertParallel());
  ep->config_ = &c;
  ep->act_ = act;
  ep->experts_per_device_ = uint64_t(E / D);
  DSHAL_RETURN_IF_ERROR(Communicator::create(devices, &ep->comm_));
  DSHAL_RETURN_IF_ERROR(devices[0]->create_event(&ep->permuted_));
  DSHAL_RETURN_IF_ERROR(devices[0]->create_event(&ep->combined_));
  const uint64_t max_rows = uint64_t(max_tokens * c.num_experts_per_tok), Ed = ep->experts_per_device_;
  ep->streams_.resize(size_t(D));
  ep->parts_.resize(size_t(D));
  ep->workspaces_.resize(size_t(D));
  for (size_t d = 0; d < size_t(D); ++d) {
    const Device& dev = *devices[d];
    DSHAL_RETURN_IF_ERROR(dev.create_stream(&ep->streams_[d]));
    DSHAL_RETURN_IF_ERROR(ExpertWeights::load(ckpt, dev, ep->streams_[d], act, int64_t(d * Ed), int64_t(Ed), &ep->parts_[d]));
    DSHAL_RETURN_IF_ERROR(ExpertWorkspace::create(dev, c, act, max_rows, Ed, &ep->workspaces_[d]));
  }
  ep->offsets_.resize(size_t(E + 1));
  *out = std::move(ep);
  return Status();
}

RoutedExpertsFactory ExpertParallel::factory(std::span<const Device> devices, dshal_dtype act, int64_t max_tokens) {
  std::vector<const Device*> list;
  for (const Device& d : devices) list.push_back(&d);
  return [list, act, max_tokens](const Checkpoint& ckpt, std::unique_ptr<RoutedExperts>* out) {
    return create(ckpt, list, act, max_tokens, out);
  };
}

std::vector<DeviceWeightStats> ExpertParallel::device_weights() const {
  std::vector<DeviceWeightStats> out;
  for (const ExpertWeights& p : parts_) out.push_back(p.stats);
  return out;
}

// One all_to_all over every device, counts and displacements in elements in communicator order.
// The home device (rank 0) is the only sender on dispatch and the only receiver on combine.
Status ExpertParallel::exchange(dshal_dtype t, bool dispatch, const Buffer& ab, const Arena& a) {
  const size_t D = streams_.size();
  const uint64_t H = uint64_t(config_->hidden_size);
  const std::vector<uint64_t> zeros(D, 0);
  std::vector<uint64_t> home_counts(D), home_displs(D);
  std::vector<std::vector<uint64_t>> peer_counts(D, zeros);
  for (size_t d = 0; d < D; ++d) {
    home_counts[d] = layout_.rows[d] * H;
    home_displs[d] = layout_.first_row[d] * H;
    peer_counts[d][0] = layout_.rows[d] * H;
  }
  std::vector<dshal_all_to_all_rank> ranks(D);
  for (size_t d = 0; d < D; ++d) {
    const ExpertWorkspace& ws = workspaces_[d];
    dshal_all_to_all_rank& r = ranks[d];
    r.stream = stream_handle(streams_[d]);
    const bool home_rank = d == 0;
    // dispatch: home sends [first_row, +rows) of arena.xp to each device's xp; combine: each
    // device sends its ey rows to the same rows of the home arena.ey. A rank that sends or
    // receives nothing names a slot of its own workspace that does not overlap the other one.
    if (dispatch) {
      r.send = home_rank ? ref(ab, a.xp.offset) : ref(ws.buffer, ws.ey.offset);
      r.recv = ref(ws.buffer, ws.xp.offset);
    } else {
      r.send = ref(ws.buffer, ws.ey.offset);
      r.recv = home_rank ? ref(ab, a.ey.offset) : ref(ws.buffer, ws.xp.offset);
    }
    const bool sends = dispatch ? home_rank : true, receives = dispatch ? true : home_rank;
    r.send_counts = sends ? (dispatch ? home_counts.data() : peer_counts[d].data()) : zeros.data();
    r.send_displs = dispatch && home_rank ? home_displs.data() : zeros.data();
    r.recv_counts = receives ? (dispatch ? peer_counts[d].data() : home_counts.data()) : zeros.data();
    r.recv_displs = !dispatch && home_rank ? home_displs.data() : zeros.data();
  }
  auto x = desc<dshal_all_to_all_desc>();
  x.elem_bytes = uint32_t(dtype_bytes(t));
  x.rank_count = uint32_t(D);
  x.ranks = ranks.data();
  return comm_.all_to_all(x);
}

Status ExpertParallel::run(int64_t l, const Stream& home, const Buffer& ab, const Arena& a) {
  // The layout: expert offsets back to the host, which waits for the home stream here (one
  // synchronize per MoE layer) because the all_to_all counts are host arrays.
  DSHAL_RETURN_IF_ERROR(home.copy_d2h(ab, a.offsets.offset, offsets_.data(), offsets_.size() * 4));
  DSHAL_RETURN_IF_ERROR(home.synchronize());
  DSHAL_RETURN_IF_ERROR(layout_.update(offsets_, streams_.size()));

  // The permuted rows are ready on `home`; the exchange runs on the per-device streams.
  DSHAL_RETURN_IF_ERROR(home.record(permuted_));
  DSHAL_RETURN_IF_ERROR(streams_[0].wait(permuted_));
  DSHAL_RETURN_IF_ERROR(exchange(act_, /*dispatch=*/true, ab, a));
  // The local offsets are host memory read when each copy runs: rewritten only by the next
  // layout pass, which follows this layer's combine on every device.
  for (size_t d = 0; d < streams_.size(); ++d)
    if (layout_.rows[d] > 0)
      DSHAL_RETURN_IF_ERROR(workspaces_[d].run(streams_[d], *config_, parts_[d].weights.layers[size_t(l)],
                                               experts_per_device_, layout_.rows[d], layout_.local_offsets[d].data()));
  DSHAL_RETURN_IF_ERROR(exchange(DSHAL_DTYPE_F32, /*dispatch=*/false, ab, a));
  return streams_[0].record(combined_);
}

}  // namespace dshal::model
