// Loads a checkpoint's weights onto a device. Two passes over the same code: the first only checks
// every tensor against the config, the second places them, so a bad checkpoint uploads nothing.
#include "model/weights.hpp"

#include "host/dtype.hpp"  // header-only element conversions, no device access

#include <fmt/format.h>

#include <cstring>
#include <map>

namespace dshal::model {
namespace {

constexpr uint32_t kPlain = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) |
                            DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
constexpr uint32_t kLinear = kPlain | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3);
constexpr uint64_t kSyncEvery = 512ull << 20;  // bound the mapped pages held by in-flight copies

std::string layer_name(int64_t l, const std::string& rest) { return fmt::format("model.layers.{}.{}", l, rest); }

}  // namespace

class WeightLoader {
 public:
  WeightLoader(const Checkpoint& ckpt, const Device& device, const Stream& stream, dshal_dtype act,
               bool dry, const WeightPart& part, ModelWeights* out)
      : ckpt_(ckpt), c_(ckpt.config()), device_(device), stream_(stream), act_(act), dry_(dry), part_(part), out_(out) {
    if (part_.expert_count < 0) part_.expert_count = c_.n_routed_experts - part_.first_expert;
    shared_ = (device.properties().flags & DSHAL_DEVICE_HOST_SHARED_MEMORY) != 0;
  }

  Status load_all(const std::function<void(uint64_t, uint64_t)>& progress, uint64_t total) {
    progress_ = progress;
    total_ = total;
    const int64_t H = c_.hidden_size, V = c_.vocab_size;
    if (!part_.dense) {  // routed experts only
      out_->layers.resize(size_t(c_.num_hidden_layers));
      for (int64_t l = 0; l < c_.num_hidden_layers; ++l) DSHAL_RETURN_IF_ERROR(routed_experts(l, &out_->layers[size_t(l)]));
      return finish();
    }
    DSHAL_RETURN_IF_ERROR(vector("model.embed_tokens.weight", {V, H}, "vocab_size, hidden_size", &out_->embed));
    out_->layers.resize(size_t(c_.num_hidden_layers));
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) DSHAL_RETURN_IF_ERROR(layer(l, &out_->layers[size_t(l)]));
    DSHAL_RETURN_IF_ERROR(vector("model.norm.weight", {H}, "hidden_size", &out_->final_norm));
    if (c_.tie_word_embeddings) {
      const TensorView* t = nullptr;
      DSHAL_RETURN_IF_ERROR(ckpt_.require("model.embed_tokens.weight", {V, H}, kPlain, "tie_word_embeddings", &t));
      out_->lm_head.w = dshal_weight{out_->embed.buffer, out_->embed.offset, out_->embed.dtype, uint64_t(H), nullptr, 0, 0, 0};
      out_->lm_head.n = V;
      out_->lm_head.k = H;
    } else {
      DSHAL_RETURN_IF_ERROR(linear("lm_head.weight", V, H, "vocab_size, hidden_size", &out_->lm_head));
    }
    return finish();
  }

 private:
  Status layer(int64_t l, LayerWeights* w) {
    const int64_t H = c_.hidden_size, heads = c_.num_attention_heads, qk = c_.qk_head_dim();
    const int64_t L = c_.kv_lora_rank, R = c_.qk_rope_head_dim, Vd = c_.v_head_dim, nope = c_.qk_nope_head_dim;
    auto name = [&](const std::string& rest) { return layer_name(l, rest); };
    DSHAL_RETURN_IF_ERROR(vector(name("input_layernorm.weight"), {H}, "hidden_size", &w->attn_norm));
    if (c_.q_lora_rank == 0) {
      DSHAL_RETURN_IF_ERROR(linear(name("self_attn.q_proj.weight"), heads * qk, H,
                                   "num_attention_heads, qk_nope_head_dim + qk_rope_head_dim, hidden_size", &w->q_proj));
    } else {
      const int64_t Q = c_.q_lora_rank;
      DSHAL_RETURN_IF_ERROR(linear(name("self_attn.q_a_proj.weight"), Q, H, "q_lora_rank, hidden_size", &w->q_a));
      DSHAL_RETURN_IF_ERROR(vector(name("self_attn.q_a_layernorm.weight"), {Q}, "q_lora_rank", &w->q_a_norm));
      DSHAL_RETURN_IF_ERROR(linear(name("self_attn.q_b_proj.weight"), heads * qk, Q,
                                   "num_attention_heads, qk_nope_head_dim + qk_rope_head_dim, q_lora_rank", &w->q_b));
    }
    DSHAL_RETURN_IF_ERROR(linear(name("self_attn.kv_a_proj_with_mqa.weight"), L + R, H,
                                 "kv_lora_rank + qk_rope_head_dim, hidden_size", &w->kv_a));
    DSHAL_RETURN_IF_ERROR(vector(name("self_attn.kv_a_layernorm.weight"), {L}, "kv_lora_rank", &w->kv_a_norm));
    DSHAL_RETURN_IF_ERROR(unquantized_matrix(name("self_attn.kv_b_proj.weight"), heads * (nope + Vd), L,
                                             "num_attention_heads, qk_nope_head_dim + v_head_dim, kv_lora_rank", &w->kv_b));
    DSHAL_RETURN_IF_ERROR(linear(name("self_attn.o_proj.weight"), H, heads * Vd,
                                 "hidden_size, num_attention_heads * v_head_dim", &w->o));
    DSHAL_RETURN_IF_ERROR(vector(name("post_attention_layernorm.weight"), {H}, "hidden_size", &w->ffn_norm));
    w->moe = c_.is_moe_layer(l);
    if (!w->moe) return mlp(name("mlp."), c_.intermediate_size, "intermediate_size", w);
    const int64_t E = c_.n_routed_experts, I = c_.moe_intermediate_size;
    DSHAL_RETURN_IF_ERROR(linear(name("mlp.gate.weight"), E, H, "n_routed_experts, hidden_size", &w->router));
    if (c_.topk_method == TopkMethod::kNoauxTc) {
      dshal_tensor bias{};
      DSHAL_RETURN_IF_ERROR(vector(name("mlp.gate.e_score_correction_bias"), {E}, "n_routed_experts, topk_method noaux_tc",
                                   &bias, DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32)));
      w->router_bias = dshal_buffer_ref{bias.buffer, bias.offset};
    }
    DSHAL_RETURN_IF_ERROR(routed_experts(l, w));
    if (c_.n_shared_experts == 0) return Status();
    return mlp(name("mlp.shared_experts."), I * c_.n_shared_experts, "moe_intermediate_size * n_shared_experts", w);
  }

  // The part's routed experts of a MoE layer (none when its range is empty).
  Status routed_experts(int64_t l, LayerWeights* w) {
    w->moe = c_.is_moe_layer(l);
    if (!w->moe || part_.expert_count == 0) return Status();
    const int64_t H = c_.hidden_size, I = c_.moe_intermediate_size;
    DSHAL_RETURN_IF_ERROR(experts(l, "gate_proj", I, H, &w->e_gate));
    DSHAL_RETURN_IF_ERROR(experts(l, "up_proj", I, H, &w->e_up));
    return experts(l, "down_proj", H, I, &w->e_down);
  }

  Status mlp(const std::string& prefix, int64_t I, const char* why_i, LayerWeights* w) {
    const std::string why_in = fmt::format("{}, hidden_size", why_i), why_out = fmt::format("hidden_size, {}", why_i);
    DSHAL_RETURN_IF_ERROR(linear(prefix + "gate_proj.weight", I, c_.hidden_size, why_in, &w->gate));
    DSHAL_RETURN_IF_ERROR(linear(prefix + "up_proj.weight", I, c_.hidden_size, why_in, &w->up));
    return linear(prefix + "down_proj.weight", c_.hidden_size, I, why_out, &w->down);
  }

  // A 1-D (or embedding) float tensor.
  Status vector(const std::string& name, const std::vector<int64_t>& shape, const std::string& why, dshal_tensor* out,
                uint32_t allowed = kPlain) {
    const TensorView* t = nullptr;
    DSHAL_RETURN_IF_ERROR(ckpt_.require(name, shape, allowed, why, &t));
    out->dtype = t->dtype;
    out->ld = uint64_t(shape.back());
    return place(*t, &out->buffer, &out->offset);
  }

  Status scales_of(const TensorView& t, int64_t n, int64_t k, const TensorView** s) {
    if (t.dtype != DSHAL_DTYPE_FP8_E4M3) return Status();
    const int64_t bn = c_.fp8_block_n ? c_.fp8_block_n : 128, bk = c_.fp8_block_k ? c_.fp8_block_k : 128;
    return ckpt_.require(t.name + "_scale_inv", {(n + bn - 1) / bn, (k + bk - 1) / bk},
                         DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32),
                         fmt::format("the 128x128 block scales of FP8 weight '{}' [{}, {}]", t.name, n, k), s);
  }

  Status linear(const std::string& name, int64_t n, int64_t k, const std::string& why, Linear* out) {
    const TensorView* t = nullptr;
    const TensorView* s = nullptr;
    DSHAL_RETURN_IF_ERROR(ckpt_.require(name, {n, k}, kLinear, why, &t));
    DSHAL_RETURN_IF_ERROR(scales_of(*t, n, k, &s));
    out->n = n;
    out->k = k;
    out->w.dtype = t->dtype;
    out->w.ld = uint64_t(k);
    DSHAL_RETURN_IF_ERROR(place(*t, &out->w.buffer, &out->w.offset));
    if (s) {
      out->w.block_n = uint32_t(c_.fp8_block_n ? c_.fp8_block_n : 128);
      out->w.block_k = uint32_t(c_.fp8_block_k ? c_.fp8_block_k : 128);
      DSHAL_RETURN_IF_ERROR(place(*s, &out->w.scales, &out->w.scales_offset));
    }
    return Status();
  }

  // kv_b_proj as a plain matrix: FP8 is dequantized on the host into a new buffer.
  Status unquantized_matrix(const std::string& name, int64_t n, int64_t k, const std::string& why, dshal_matrix* out) {
    const TensorView* t = nullptr;
    const TensorView* s = nullptr;
    DSHAL_RETURN_IF_ERROR(ckpt_.require(name, {n, k}, kLinear, why, &t));
    DSHAL_RETURN_IF_ERROR(scales_of(*t, n, k, &s));
    out->ld = uint64_t(k);
    if (!s) {
      out->dtype = t->dtype;
      return place(*t, &out->buffer, &out->offset);
    }
    out->dtype = act_;
    out->offset = 0;
    if (dry_) return advance(t->bytes + s->bytes);
    const int64_t bn = c_.fp8_block_n ? c_.fp8_block_n : 128, bk = c_.fp8_block_k ? c_.fp8_block_k : 128;
    const int64_t sk = (k + bk - 1) / bk;
    const auto* q = reinterpret_cast<const uint8_t*>(t->data);
    const auto* scale = reinterpret_cast<const float*>(s->data);  // safetensors data is at least 4-aligned here
    std::vector<float> f32(size_t(n * k));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        f32[size_t(i * k + j)] = fp8_e4m3_to_f32(q[i * k + j]) * scale[(i / bn) * sk + j / bk];
    std::vector<uint16_t> bf16;
    const void* src = f32.data();
    uint64_t bytes = f32.size() * 4;
    if (act_ == DSHAL_DTYPE_BF16) {
      bf16.resize(f32.size());
      for (size_t i = 0; i < f32.size(); ++i) bf16[i] = f32_to_bf16(f32[i]);
      src = bf16.data();
      bytes = bf16.size() * 2;
    }
    Buffer b;
    DSHAL_RETURN_IF_ERROR(device_.alloc(bytes, &b));
    DSHAL_RETURN_IF_ERROR(stream_.copy_h2d(src, b, 0, bytes));
    DSHAL_RETURN_IF_ERROR(stream_.synchronize());  // src is a local
    out->buffer = b.handle();
    out_->buffers_.push_back(std::move(b));
    out_->stats.dequantized_bytes += bytes;
    return advance(t->bytes + s->bytes);
  }

  // Routed experts: in place when the checkpoint stores them at one stride (make-model does),
  // else gathered into one buffer.
  Status experts(int64_t l, const char* proj, int64_t n, int64_t k, Experts* out) {
    const int64_t first = part_.first_expert, count = part_.expert_count;
    const size_t slots = size_t(count);
    std::vector<const TensorView*> w(slots), s(slots);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t e = first + i;
      const std::string nm = layer_name(l, fmt::format("mlp.experts.{}.{}.weight", e, proj));
      DSHAL_RETURN_IF_ERROR(ckpt_.require(nm, {n, k}, kLinear, "n_routed_experts, moe_intermediate_size, hidden_size",
                                          &w[size_t(i)]));
      if (w[size_t(i)]->dtype != w[0]->dtype)
        return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                      fmt::format("{}: tensor '{}' is {} but expert {} of the layer is {}; experts must share a dtype",
                                  w[size_t(i)]->file, nm, w[size_t(i)]->dtype_name, first, w[0]->dtype_name));
      DSHAL_RETURN_IF_ERROR(scales_of(*w[size_t(i)], n, k, &s[size_t(i)]));
    }
    out->n = n;
    out->k = k;
    out->w.dtype = w[0]->dtype;
    out->w.ld = uint64_t(k);
    if (s[0]) {
      out->w.block_n = uint32_t(c_.fp8_block_n ? c_.fp8_block_n : 128);
      out->w.block_k = uint32_t(c_.fp8_block_k ? c_.fp8_block_k : 128);
    }
    DSHAL_RETURN_IF_ERROR(stacked(w, &out->w.buffer, &out->w.offset, &out->w_stride));
    if (s[0]) DSHAL_RETURN_IF_ERROR(stacked(s, &out->w.scales, &out->w.scales_offset, &out->scales_stride));
    return Status();
  }

  Status stacked(const std::vector<const TensorView*>& parts, dshal_buffer* buf, uint64_t* offset, uint64_t* stride) {
    const TensorView& first = *parts[0];
    uint64_t step = 0;
    const bool uniform = uniform_stride(parts, &step);
    if (uniform && in_place_ok(first) && step % dtype_bytes(first.dtype) == 0) {
      *stride = step;
      return place(first, buf, offset, uint64_t(parts.size() - 1) * step + first.bytes, first.bytes * parts.size());
    }
    *stride = first.bytes;
    *offset = 0;
    if (dry_) return advance(first.bytes * parts.size());
    Buffer b;
    DSHAL_RETURN_IF_ERROR(device_.alloc(first.bytes * parts.size(), &b));
    for (size_t e = 0; e < parts.size(); ++e) DSHAL_RETURN_IF_ERROR(copy(*parts[e], b, e * first.bytes));
    *buf = b.handle();
    out_->buffers_.push_back(std::move(b));
    return Status();
  }

  bool in_place_ok(const TensorView& t) const { return shared_ && t.file_offset % dtype_bytes(t.dtype) == 0; }

  // One tensor (or `span` bytes from it): a view of its file's imported mapping, or a copy.
  // tensor_bytes: the bytes of the tensors in the span, which may interleave others (other
  // projections' experts); a view counts only those, so stats tell what the device reads.
  Status place(const TensorView& t, dshal_buffer* buf, uint64_t* offset, uint64_t span = 0, uint64_t tensor_bytes = 0) {
    if (span == 0) span = t.bytes;
    if (tensor_bytes == 0) tensor_bytes = span;
    if (dry_) return advance(tensor_bytes);
    if (in_place_ok(t)) {
      Buffer* file = nullptr;
      DSHAL_RETURN_IF_ERROR(imported(t.owner, &file));
      if (file) {
        *buf = file->handle();
        *offset = t.file_offset;
        out_->stats.in_place_bytes += tensor_bytes;
        return advance(tensor_bytes);
      }
    }
    Buffer b;
    DSHAL_RETURN_IF_ERROR(device_.alloc(span, &b));
    DSHAL_RETURN_IF_ERROR(copy_range(*t.owner, t.file_offset, span, b, 0));
    *buf = b.handle();
    *offset = 0;
    out_->buffers_.push_back(std::move(b));
    return Status();
  }

  // The whole file as one buffer; nullptr (and copies from then on) when the adapter cannot import.
  Status imported(const SafetensorsFile* f, Buffer** out) {
    auto it = imports_.find(f);
    if (it == imports_.end()) {
      Buffer b;
      const Status st = device_.import_host_memory(const_cast<std::byte*>(f->base()), f->size(), &b);
      if (st.code() == DSHAL_ERROR_UNSUPPORTED) {
        shared_ = false;
        *out = nullptr;
        return Status();
      }
      DSHAL_RETURN_IF_ERROR(st);
      out_->buffers_.push_back(std::move(b));
      it = imports_.emplace(f, out_->buffers_.size() - 1).first;
    }
    *out = &out_->buffers_[it->second];
    return Status();
  }

  Status copy(const TensorView& t, const Buffer& dst, uint64_t dst_offset) {
    return copy_range(*t.owner, t.file_offset, t.bytes, dst, dst_offset);
  }

  // Copies straight from the mapping (no second host copy); the copied pages are dropped from
  // the resident set once the copy has run.
  Status copy_range(const SafetensorsFile& f, uint64_t offset, uint64_t bytes, const Buffer& dst, uint64_t dst_offset) {
    DSHAL_RETURN_IF_ERROR(stream_.copy_h2d(f.base() + offset, dst, dst_offset, bytes));
    pending_.push_back({&f, offset, bytes});
    pending_bytes_ += bytes;
    out_->stats.copied_bytes += bytes;
    if (pending_bytes_ >= kSyncEvery) DSHAL_RETURN_IF_ERROR(drain());
    return advance(bytes);
  }

  Status drain() {
    DSHAL_RETURN_IF_ERROR(stream_.synchronize());
    for (const Pending& p : pending_) p.file->release_pages(p.offset, p.bytes);
    pending_.clear();
    pending_bytes_ = 0;
    return Status();
  }

  Status advance(uint64_t bytes) {
    done_ += bytes;
    out_->stats.checkpoint_bytes += bytes;
    if (progress_) progress_(done_, total_);
    return Status();
  }

  Status finish() { return dry_ ? Status() : drain(); }

  struct Pending {
    const SafetensorsFile* file;
    uint64_t offset, bytes;
  };
  const Checkpoint& ckpt_;
  const ModelConfig& c_;
  const Device& device_;
  const Stream& stream_;
  dshal_dtype act_;
  bool dry_;
  WeightPart part_;
  bool shared_ = false;
  ModelWeights* out_;
  std::map<const SafetensorsFile*, size_t> imports_;
  std::vector<Pending> pending_;
  uint64_t pending_bytes_ = 0, done_ = 0, total_ = 0;
  std::function<void(uint64_t, uint64_t)> progress_;
};

namespace {

uint64_t matrix_bytes(dshal_dtype t, int64_t n, int64_t k, uint32_t block_n, uint32_t block_k) {
  uint64_t bytes = uint64_t(n * k) * dtype_bytes(t);
  if (t == DSHAL_DTYPE_FP8_E4M3) bytes += uint64_t((n + block_n - 1) / block_n * ((k + block_k - 1) / block_k)) * 4;
  return bytes;
}
uint64_t bytes_of(const Linear& l) {
  return l.present() ? matrix_bytes(l.w.dtype, l.n, l.k, l.w.block_n, l.w.block_k) : 0;
}
uint64_t bytes_of(const Experts& e) { return matrix_bytes(e.w.dtype, e.n, e.k, e.w.block_n, e.w.block_k); }
uint64_t bytes_of(const dshal_tensor& t, uint64_t elements) { return elements * dtype_bytes(t.dtype); }

}  // namespace

uint64_t ModelWeights::bytes_per_token(const ModelConfig& c) const {
  const uint64_t H = uint64_t(c.hidden_size);
  uint64_t total = bytes_of(embed, H) + bytes_of(final_norm, H) + bytes_of(lm_head);
  for (const LayerWeights& w : layers) {
    total += bytes_of(w.attn_norm, H) + bytes_of(w.ffn_norm, H) + bytes_of(w.q_a_norm, uint64_t(c.q_lora_rank)) +
             bytes_of(w.kv_a_norm, uint64_t(c.kv_lora_rank));
    total += bytes_of(w.q_proj) + bytes_of(w.q_a) + bytes_of(w.q_b) + bytes_of(w.kv_a) + bytes_of(w.o);
    total += uint64_t(c.num_attention_heads * (c.qk_nope_head_dim + c.v_head_dim) * c.kv_lora_rank) * dtype_bytes(w.kv_b.dtype);
    total += bytes_of(w.gate) + bytes_of(w.up) + bytes_of(w.down) + bytes_of(w.router);
  }
  return total + routed_bytes_per_token(c);
}

uint64_t ModelWeights::routed_bytes_per_token(const ModelConfig& c) const {
  uint64_t total = 0;
  for (const LayerWeights& w : layers)
    if (w.moe && w.e_gate.n > 0)
      total += uint64_t(c.num_experts_per_tok) * (bytes_of(w.e_gate) + bytes_of(w.e_up) + bytes_of(w.e_down));
  return total;
}

Status ModelWeights::load(const Checkpoint& ckpt, const Device& device, const Stream& stream, dshal_dtype act,
                          const std::function<void(uint64_t, uint64_t)>& progress, ModelWeights* out,
                          const WeightPart& part) {
  const int64_t E = ckpt.config().n_routed_experts;
  if (part.first_expert < 0 || part.first_expert > E || (part.expert_count >= 0 && part.first_expert + part.expert_count > E))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("experts [{}, +{}) are outside the {} routed experts",
                                                            part.first_expert, part.expert_count, E));
  ModelWeights check;
  DSHAL_RETURN_IF_ERROR(WeightLoader(ckpt, device, stream, act, /*dry=*/true, part, &check).load_all(nullptr, 0));
  ModelWeights w;
  DSHAL_RETURN_IF_ERROR(WeightLoader(ckpt, device, stream, act, /*dry=*/false, part, &w)
                            .load_all(progress, check.stats.checkpoint_bytes));
  *out = std::move(w);
  return Status();
}

}  // namespace dshal::model
