// Expert parallelism in one process: placement of the routed experts over the devices, the layout
// pass, dispatch and combine with Communicator::all_to_all, and each device's grouped GEMMs.
#include "model/expert_parallel.hpp"
#include "model/expert_ffn.hpp"

#include "host/dtype.hpp"  // header-only element sizes, no device access

#include <fmt/format.h>

namespace dshal::model {
namespace {

constexpr uint64_t kAlign = 256;

// Appends a [rows][cols] slot of dtype t to a workspace of *bytes bytes.
Slot append(uint64_t* bytes, dshal_dtype t, uint64_t rows, uint64_t cols) {
  Slot s{(*bytes + kAlign - 1) / kAlign * kAlign, t, cols};
  *bytes = s.offset + rows * cols * dtype_bytes(t);
  return s;
}

}  // namespace

Status ExpertParallel::create(const Checkpoint& ckpt, std::span<const Device* const> devices,
                              dshal_dtype act, int64_t max_tokens, std::unique_ptr<ExpertParallel>* out) {
  const ModelConfig& c = ckpt.config();
  const int64_t D = int64_t(devices.size()), E = c.n_routed_experts;
  if (D < 2) return Status(DSHAL_ERROR_INVALID_ARGUMENT, "expert parallelism needs at least 2 devices");
  if (E % D != 0)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("n_routed_experts = {} is not divisible by the {} devices listed; list a number of "
                              "devices that divides {}",
                              E, D, E));
  for (const Device* d : devices)
    if (d->backend() != devices[0]->backend())
      return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                    fmt::format("devices {} and {} are of different adapters; mixing adapters for expert parallelism "
                                "is not supported yet",
                                devices[0]->id(), d->id()));
  std::unique_ptr<ExpertParallel> ep(new ExpertParallel());
  ep->config_ = &c;
  ep->devices_.assign(devices.begin(), devices.end());
  ep->act_ = act;
  ep->experts_per_device_ = E / D;
  DSHAL_RETURN_IF_ERROR(Communicator::create(devices, &ep->comm_));
  DSHAL_RETURN_IF_ERROR(devices[0]->create_event(&ep->permuted_));
  DSHAL_RETURN_IF_ERROR(devices[0]->create_event(&ep->combined_));

  const uint64_t R = uint64_t(max_tokens * c.num_experts_per_tok), H = uint64_t(c.hidden_size);
  const uint64_t MI = uint64_t(c.moe_intermediate_size), Ed = uint64_t(ep->experts_per_device_);
  ep->streams_.resize(size_t(D));
  ep->weights_.resize(size_t(D));
  ep->workspaces_.resize(size_t(D));
  for (int64_t d = 0; d < D; ++d) {
    const Device& dev = *devices[size_t(d)];
    DSHAL_RETURN_IF_ERROR(dev.create_stream(&ep->streams_[size_t(d)]));
    WeightPart part;
    part.dense = false;
    part.first_expert = d * ep->experts_per_device_;
    part.expert_count = ep->experts_per_device_;
    DSHAL_RETURN_IF_ERROR(ModelWeights::load(ckpt, dev, ep->streams_[size_t(d)], act, nullptr, &ep->weights_[size_t(d)], part));
    ep->device_weights_.push_back({dev.id(), part.first_expert, part.expert_count, ep->weights_[size_t(d)].stats});

    Workspace& w = ep->workspaces_[size_t(d)];
    uint64_t bytes = 0;
    w.xp = append(&bytes, act, R, H);
    w.eg = append(&bytes, act, R, MI);
    w.eu = append(&bytes, act, R, MI);
    w.eh = append(&bytes, act, R, MI);
    w.ey = append(&bytes, DSHAL_DTYPE_F32, R, H);
    w.offsets = append(&bytes, DSHAL_DTYPE_I32, 1, Ed + 1);
    DSHAL_RETURN_IF_ERROR(dev.alloc(bytes, &w.buffer));
  }
  ep->offsets_.resize(size_t(E + 1));
  ep->first_row_.resize(size_t(D));
  ep->rows_.resize(size_t(D));
  ep->local_offsets_.assign(size_t(D), std::vector<int32_t>(size_t(Ed + 1)));
  *out = std::move(ep);
  return Status();
}

// Rows per device and per expert. The expert offsets come back to the host, which waits for the
// home stream here (one synchronize per MoE layer): the all_to_all counts are host arrays.
Status ExpertParallel::layout(const Stream& home, const Buffer& ab, const Arena& a) {
  const size_t D = devices_.size(), Ed = size_t(experts_per_device_);
  DSHAL_RETURN_IF_ERROR(home.copy_d2h(ab, a.offsets.offset, offsets_.data(), offsets_.size() * 4));
  DSHAL_RETURN_IF_ERROR(home.synchronize());
  for (size_t d = 0; d < D; ++d) {
    const int32_t first = offsets_[d * Ed], end = offsets_[(d + 1) * Ed];
    if (first < 0 || end < first)
      return Status(DSHAL_ERROR_INTERNAL, fmt::format("moe_permute wrote decreasing expert offsets ({} then {})", first, end));
    first_row_[d] = uint64_t(first);
    rows_[d] = uint64_t(end - first);
    for (size_t g = 0; g <= Ed; ++g) local_offsets_[d][g] = offsets_[d * Ed + g] - first;
  }
  return Status();
}

// silu(xp * Wg^T) * (xp * Wu^T) * Wd^T over device d's rows, its experts as groups 0..Ed-1.
Status ExpertParallel::experts(size_t d, int64_t l) {
  const Stream& s = streams_[d];
  const Workspace& ws = workspaces_[d];
  const Buffer& b = ws.buffer;
  const LayerWeights& w = weights_[d].layers[size_t(l)];
  // Host memory read when the copy runs: rewritten only after the next layout pass, which follows
  // this layer's combine on every device.
  DSHAL_RETURN_IF_ERROR(s.copy_h2d(local_offsets_[d].data(), b, ws.offsets.offset, local_offsets_[d].size() * 4));
  return expert_ffn(s, b, w, uint64_t(experts_per_device_), rows_[d], uint64_t(config_->moe_intermediate_size),
                    ref(b, ws.offsets.offset), {ws.xp, ws.eg, ws.eu, ws.eh, ws.ey});
}

Status ExpertParallel::run(int64_t l, const Stream& home, const Buffer& ab, const Arena& a) {
  const size_t D = devices_.size();
  const uint64_t H = uint64_t(config_->hidden_size);
  DSHAL_RETURN_IF_ERROR(layout(home, ab, a));

  // Count and displacement arrays (elements) of every rank, in communicator order; the home
  // device (rank 0) is the only sender on dispatch and the only receiver on combine.
  const std::vector<uint64_t> zeros(D, 0);
  std::vector<uint64_t> home_counts(D), home_displs(D);
  std::vector<std::vector<uint64_t>> peer_counts(D, zeros);
  for (size_t d = 0; d < D; ++d) {
    home_counts[d] = rows_[d] * H;
    home_displs[d] = first_row_[d] * H;
    peer_counts[d][0] = rows_[d] * H;
  }
  std::vector<dshal_all_to_all_rank> ranks(D);
  auto exchange = [&](dshal_dtype t, bool dispatch) {
    for (size_t d = 0; d < D; ++d) {
      const Workspace& ws = workspaces_[d];
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
  };

  // The permuted rows are ready on `home`; the exchange runs on the per-device streams.
  DSHAL_RETURN_IF_ERROR(home.record(permuted_));
  DSHAL_RETURN_IF_ERROR(streams_[0].wait(permuted_));
  DSHAL_RETURN_IF_ERROR(exchange(act_, /*dispatch=*/true));
  for (size_t d = 0; d < D; ++d)
    if (rows_[d] > 0) DSHAL_RETURN_IF_ERROR(experts(d, l));
  DSHAL_RETURN_IF_ERROR(exchange(DSHAL_DTYPE_F32, /*dispatch=*/false));
  return streams_[0].record(combined_);
}

}  // namespace dshal::model
