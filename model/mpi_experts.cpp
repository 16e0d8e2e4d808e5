// MpiExperts (rank 0) and MpiExpertServer (ranks 1..P-1), mpi_experts.hpp. Both sides build the
// same exchanges from the same layout: rank 0 is the only sender on dispatch and the only
// receiver on combine; rank r moves rows[r] rows of hidden_size elements.
#include "model/mpi_experts.hpp"
#include "model/expert_ffn.hpp"

#include "host/dtype.hpp"  // header-only element sizes, no device access

#include <fmt/format.h>

namespace dshal::model {
namespace {

// Counts and displacements (elements) of one side of one exchange, one entry per rank.
struct Exchange {
  explicit Exchange(size_t ranks) : send_counts(ranks), send_displs(ranks), recv_counts(ranks), recv_displs(ranks) {}
  MpiExchange view(dshal_dtype t) const {
    return {uint32_t(dtype_bytes(t)), send_counts, send_displs, recv_counts, recv_displs};
  }
  std::vector<uint64_t> send_counts, send_displs, recv_counts, recv_displs;
};

// Rank 0's side: dispatch sends rank p its rows; combine receives them back into the same rows.
// Displacements count from rows[0], the first row another rank holds: rank 0's own rows (in front)
// are neither staged nor exchanged, so the buffers are given from that row on.
Exchange home_exchange(const ExpertLayout& layout, uint64_t H, bool dispatch) {
  const size_t P = layout.rows.size();
  Exchange x(P);
  for (size_t p = 1; p < P; ++p) {
    (dispatch ? x.send_counts : x.recv_counts)[p] = layout.rows[p] * H;
    (dispatch ? x.send_displs : x.recv_displs)[p] = (layout.first_row[p] - layout.rows[0]) * H;
  }
  return x;
}

// Rank r's side: dispatch receives its rows from rank 0 at row 0; combine sends them back.
Exchange peer_exchange(const ExpertLayout& layout, size_t r, uint64_t H, bool dispatch) {
  Exchange x(layout.rows.size());
  (dispatch ? x.recv_counts : x.send_counts)[0] = layout.rows[r] * H;
  return x;
}

}  // namespace

Status check_experts_divide(const ModelConfig& c, int ranks) {
  if (ranks < 1 || c.n_routed_experts % ranks != 0)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("n_routed_experts = {} is not divisible by the {} MPI ranks; run a number of ranks "
                              "that divides {}",
                              c.n_routed_experts, ranks, c.n_routed_experts));
  return Status();
}

Status MpiExperts::create(const Checkpoint& ckpt, const Device& device, const MpiCommunicator& comm, dshal_dtype act,
                          std::unique_ptr<MpiExperts>* out) {
  const ModelConfig& c = ckpt.config();
  DSHAL_RETURN_IF_ERROR(check_experts_divide(c, comm.size()));
  std::unique_ptr<MpiExperts> m(new MpiExperts());
  m->config_ = &c;
  m->comm_ = &comm;
  m->act_ = act;
  DSHAL_RETURN_IF_ERROR(device.create_stream(&m->comm_stream_));
  DSHAL_RETURN_IF_ERROR(device.create_event(&m->combined_));
  const int64_t Ed = c.n_routed_experts / comm.size();
  DSHAL_RETURN_IF_ERROR(ExpertWeights::load(ckpt, device, m->comm_stream_, act, 0, Ed, &m->own_));
  m->own_.stats.device = fmt::format("rank 0 {}", device.id());
  m->notice_.resize(size_t(c.n_routed_experts + 2));
  *out = std::move(m);
  return Status();
}

Status MpiExperts::run(int64_t l, const Stream& home, const Buffer& ab, const Arena& a) {
  const size_t P = size_t(comm_->size());
  const uint64_t H = uint64_t(config_->hidden_size), Ed = uint64_t(config_->n_routed_experts) / P;
  // The layout: the expert offsets back to the host (one synchronize of the home stream per MoE
  // layer, which also makes arena.xp readable by the staging copy), then to every rank.
  notice_[0] = int32_t(l);
  DSHAL_RETURN_IF_ERROR(home.copy_d2h(ab, a.offsets.offset, notice_.data() + 1, (notice_.size() - 1) * 4));
  DSHAL_RETURN_IF_ERROR(home.synchronize());
  DSHAL_RETURN_IF_ERROR(layout_.update(std::span<const int32_t>(notice_).subspan(1), P));
  DSHAL_RETURN_IF_ERROR(comm_->broadcast_host(notice_.data(), notice_.size() * 4, 0));

  const Exchange dispatch = home_exchange(layout_, H, /*dispatch=*/true);
  const uint64_t xp_others = a.xp.byte_at(layout_.rows[0]);
  DSHAL_RETURN_IF_ERROR(comm_->all_to_all(comm_stream_, dispatch.view(act_), ab, xp_others, ab, xp_others));
  // This rank's experts are 0..Ed-1, whose rows start at row 0: their offsets are the first Ed + 1
  // of arena.offsets, and they run in place in the arena, as on one device.
  if (layout_.rows[0] > 0)
    DSHAL_RETURN_IF_ERROR(expert_ffn(home, ab, own_.weights.layers[size_t(l)], Ed, layout_.rows[0],
                                     uint64_t(config_->moe_intermediate_size), ref(ab, a.offsets.offset),
                                     {a.xp, a.eg, a.eu, a.eh, a.ey}));
  arena_buffer_ = &ab;
  arena_ = &a;
  return Status();
}

Status MpiExperts::wait_for_combine(const Stream& home) {
  if (arena_ == nullptr) return Status();
  const Exchange combine = home_exchange(layout_, uint64_t(config_->hidden_size), /*dispatch=*/false);
  // The other ranks' rows land in rows of arena.ey the home stream does not write meanwhile.
  const uint64_t ey_others = arena_->ey.byte_at(layout_.rows[0]);
  const Buffer& ab = *arena_buffer_;
  arena_buffer_ = nullptr;
  arena_ = nullptr;
  DSHAL_RETURN_IF_ERROR(comm_->all_to_all(comm_stream_, combine.view(DSHAL_DTYPE_F32), ab, ey_others, ab, ey_others));
  // The device's own transport is async on comm_stream_ (the staged one has finished already).
  DSHAL_RETURN_IF_ERROR(comm_stream_.record(combined_));
  return home.wait(combined_);
}

Status MpiExperts::stop() {
  notice_[0] = -1;
  return comm_->broadcast_host(notice_.data(), notice_.size() * 4, 0);
}

Status MpiExpertServer::create(const Checkpoint& ckpt, const Device& device, const MpiCommunicator& comm,
                               dshal_dtype act, int64_t max_tokens, std::unique_ptr<MpiExpertServer>* out) {
  const ModelConfig& c = ckpt.config();
  DSHAL_RETURN_IF_ERROR(check_experts_divide(c, comm.size()));
  std::unique_ptr<MpiExpertServer> s(new MpiExpertServer());
  s->config_ = &c;
  s->comm_ = &comm;
  s->act_ = act;
  s->max_rows_ = uint64_t(max_tokens * c.num_experts_per_tok);
  DSHAL_RETURN_IF_ERROR(device.create_stream(&s->stream_));
  const int64_t Ed = c.n_routed_experts / comm.size();
  DSHAL_RETURN_IF_ERROR(ExpertWeights::load(ckpt, device, s->stream_, act, comm.rank() * Ed, Ed, &s->own_));
  s->own_.stats.device = fmt::format("rank {} {}", comm.rank(), device.id());
  DSHAL_RETURN_IF_ERROR(ExpertWorkspace::create(device, c, act, s->max_rows_, uint64_t(Ed), &s->workspace_));
  s->notice_.resize(size_t(c.n_routed_experts + 2));
  *out = std::move(s);
  return Status();
}

Status MpiExpertServer::serve() {
  const size_t P = size_t(comm_->size()), r = size_t(comm_->rank());
  const uint64_t H = uint64_t(config_->hidden_size), Ed = uint64_t(config_->n_routed_experts) / P;
  const ExpertWorkspace& ws = workspace_;
  for (;;) {
    DSHAL_RETURN_IF_ERROR(comm_->broadcast_host(notice_.data(), notice_.size() * 4, 0));
    // The previous layer's work, queued when the exchanges are async, has read layout_'s host
    // offsets before they change (and reports its errors here).
    DSHAL_RETURN_IF_ERROR(stream_.synchronize());
    const int32_t l = notice_[0];
    if (l == -1) return Status();
    if (l < 0 || l >= config_->num_hidden_layers || !own_.weights.layers[size_t(l)].moe)
      return Status(DSHAL_ERROR_INTERNAL, fmt::format("rank 0 sent layer {}, which is not a MoE layer", l));
    DSHAL_RETURN_IF_ERROR(layout_.update(std::span<const int32_t>(notice_).subspan(1), P));
    const uint64_t rows = layout_.rows[r];
    if (rows > max_rows_)
      return Status(DSHAL_ERROR_INTERNAL,
                    fmt::format("rank 0 sent {} rows for layer {}, more than the {} this rank has room for (is "
                                "--max-batch-tokens the same on every rank?)",
                                rows, l, max_rows_));
    const Exchange dispatch = peer_exchange(layout_, r, H, /*dispatch=*/true);
    DSHAL_RETURN_IF_ERROR(comm_->all_to_all(stream_, dispatch.view(act_), ws.buffer, ws.ey.offset, ws.buffer, ws.xp.offset));
    if (rows > 0)
      DSHAL_RETURN_IF_ERROR(ws.run(stream_, *config_, own_.weights.layers[size_t(l)], Ed, rows, layout_.local_offsets[r].data()));
    const Exchange combine = peer_exchange(layout_, r, H, /*dispatch=*/false);
    DSHAL_RETURN_IF_ERROR(comm_->all_to_all(stream_, combine.view(DSHAL_DTYPE_F32), ws.buffer, ws.ey.offset, ws.buffer, ws.xp.offset));
  }
}

}  // namespace dshal::model
