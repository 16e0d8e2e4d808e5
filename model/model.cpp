// Model::load: checkpoint -> weights on the device -> arena, KV cache, RoPE tables.
#include "model/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "model/rope_yarn.hpp"

namespace dshal::model {
namespace {

std::vector<std::byte> identity_matrix(int64_t n, dshal_dtype t) {
  const size_t es = t == DSHAL_DTYPE_F32 ? 4 : 2;
  std::vector<std::byte> m(size_t(n * n) * es, std::byte{0});
  const uint32_t one_f32 = 0x3f800000u;
  const uint16_t one_bf16 = 0x3f80u;
  for (int64_t i = 0; i < n; ++i) {
    std::byte* p = m.data() + size_t(i * n + i) * es;
    if (es == 4) std::memcpy(p, &one_f32, 4);
    else std::memcpy(p, &one_bf16, 2);
  }
  return m;
}

}  // namespace

Status Model::load(const std::filesystem::path& dir, const Device& device, const ModelOptions& options,
                   std::unique_ptr<Model>* out) {
  if (options.activations != DSHAL_DTYPE_F32 && options.activations != DSHAL_DTYPE_BF16)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, "activations must be f32 or bf16");
  if (options.max_batch_tokens < 1)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("max_batch_tokens = {} must be >= 1", options.max_batch_tokens));
  std::unique_ptr<Model> m(new Model());
  m->options_ = options;
  m->device_ = &device;
  DSHAL_RETURN_IF_ERROR(Checkpoint::open(dir, &m->ckpt_));
  const ModelConfig& c = m->ckpt_->config();
  m->max_seq_ = options.max_seq > 0 ? options.max_seq : c.max_position_embeddings;
  if (m->max_seq_ > c.max_position_embeddings)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("a sequence of {} tokens exceeds max_position_embeddings = {} in {}", m->max_seq_,
                              c.max_position_embeddings, (dir / "config.json").string()));
  DSHAL_RETURN_IF_ERROR(device.create_stream(&m->stream_));
  WeightPart home_part;  // everything, or under expert parallelism everything but the routed experts
  if (options.routed_experts) {
    DSHAL_RETURN_IF_ERROR(options.routed_experts(*m->ckpt_, &m->ep_));
    home_part.expert_count = 0;
  }
  DSHAL_RETURN_IF_ERROR(ModelWeights::load(*m->ckpt_, device, m->stream_, options.activations, options.load_progress,
                                           &m->weights_, home_part));

  const dshal_dtype act = options.activations;
  m->arena_ = Arena::plan(c, act, options.max_batch_tokens);
  m->cache_ = CacheLayout::plan(c, act, options.attention, m->max_seq_);
  DSHAL_RETURN_IF_ERROR(device.alloc(m->arena_.bytes, &m->arena_buffer_));
  DSHAL_RETURN_IF_ERROR(device.alloc(m->cache_.layer_bytes * uint64_t(c.num_hidden_layers), &m->cache_buffer_));

  const RopeTables rope = make_rope_tables(c, m->max_seq_);
  const uint64_t table_bytes = rope.cos.size() * sizeof(float);
  m->rope_sin_offset_ = (table_bytes + 255) / 256 * 256;
  DSHAL_RETURN_IF_ERROR(device.alloc(m->rope_sin_offset_ + table_bytes, &m->rope_buffer_));
  DSHAL_RETURN_IF_ERROR(m->stream_.copy_h2d(rope.cos.data(), m->rope_buffer_, 0, table_bytes));
  DSHAL_RETURN_IF_ERROR(m->stream_.copy_h2d(rope.sin.data(), m->rope_buffer_, m->rope_sin_offset_, table_bytes));
  const std::vector<std::byte> identity = identity_matrix(c.qk_rope_head_dim, act);
  DSHAL_RETURN_IF_ERROR(device.alloc(identity.size(), &m->identity_buffer_));
  DSHAL_RETURN_IF_ERROR(m->stream_.copy_h2d(identity.data(), m->identity_buffer_, 0, identity.size()));
  DSHAL_RETURN_IF_ERROR(m->stream_.synchronize());  // the host tables above are locals

  m->softmax_scale_ = attention_softmax_scale(c);
  m->chunk_ids_.resize(size_t(options.max_batch_tokens));
  m->chunk_positions_.resize(size_t(options.max_batch_tokens));
  *out = std::move(m);
  return Status();
}

}  // namespace dshal::model
