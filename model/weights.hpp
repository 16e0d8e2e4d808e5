// A checkpoint's weights on a device: used in place from the memory-mapped files where the device
// shares host memory, copied to device buffers elsewhere. Every weight is described by the ABI's
// descriptor pieces (dshal_weight, dshal_tensor), ready to put into op descriptors.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <functional>
#include <vector>

#include "model/checkpoint.hpp"

namespace dshal::model {

// W[N][K], the Linear layout; FP8_E4M3 with block scales, or F32 / F16 / BF16.
struct Linear {
  dshal_weight w{};
  int64_t n = 0, k = 0;
  bool present() const { return n > 0; }
  bool quantized() const { return w.dtype == DSHAL_DTYPE_FP8_E4M3; }
};

// Routed experts of one projection: E matrices [N][K] at a fixed stride (grouped GEMM operand).
struct Experts {
  dshal_weight w{};
  uint64_t w_stride = 0, scales_stride = 0;  // bytes between consecutive experts
  int64_t n = 0, k = 0;
};

struct LayerWeights {
  dshal_tensor attn_norm{};  // [H]
  Linear q_proj;             // [heads * qk_head][H] (q_lora_rank == 0)
  Linear q_a;                // [q_lora][H]
  dshal_tensor q_a_norm{};   // [q_lora]
  Linear q_b;                // [heads * qk_head][q_lora]
  Linear kv_a;               // [kv_lora + rope][H] (kv_a_proj_with_mqa)
  dshal_tensor kv_a_norm{};  // [kv_lora]
  dshal_matrix kv_b{};       // [heads * (nope + v)][kv_lora], unquantized: read per head by batched GEMMs
  Linear o;                  // [H][heads * v]
  dshal_tensor ffn_norm{};   // [H]
  bool moe = false;
  Linear gate, up, down;     // dense MLP, or the shared experts of a MoE layer (absent when none)
  Linear router;             // [E][H] (mlp.gate)
  dshal_buffer_ref router_bias{};  // f32 [E] e_score_correction_bias, buffer NULL when none
  Experts e_gate, e_up, e_down;    // [E][moe_I][H], [E][moe_I][H], [E][H][moe_I]: the WeightPart's
                                   // experts, its first expert as group 0 (n == 0 when it has none)
};

struct WeightStats {
  uint64_t checkpoint_bytes = 0;  // every tensor the model reads
  uint64_t in_place_bytes = 0;    // used from the mapping without a copy
  uint64_t copied_bytes = 0;      // copied into device buffers
  uint64_t dequantized_bytes = 0; // FP8 kv_b_proj expanded for the per-head GEMMs (not counted above)
};

// Which weights one device holds: the dense part (everything but the routed experts) and a
// contiguous range of routed experts. Expert parallelism gives the home device the dense part and
// every device its own experts.
struct WeightPart {
  bool dense = true;
  int64_t first_expert = 0;
  int64_t expert_count = -1;  // -1: every expert from first_expert on; 0: none
};

class ModelWeights {
 public:
  // Checks every tensor against the config (name, shape, dtype) before uploading anything; errors
  // name the file and the tensor. kv_b_proj is dequantized on the host when it is FP8 (per-head
  // batched GEMMs take unquantized operands), to `act` precision. progress(done, total) in bytes.
  static Status load(const Checkpoint& ckpt, const Device& device, const Stream& stream, dshal_dtype act,
                     const std::function<void(uint64_t, uint64_t)>& progress, ModelWeights* out,
                     const WeightPart& part = WeightPart());

  // Weight bytes one decoded token reads: every attention and dense weight, the router, top_k
  // routed and all shared experts of each MoE layer, lm_head and one embedding row. The
  // denominator of "decode speed against the memory-bandwidth bound".
  uint64_t bytes_per_token(const ModelConfig& c) const;
  // The routed experts' share of it (0 when this part holds no experts).
  uint64_t routed_bytes_per_token(const ModelConfig& c) const;

  dshal_tensor embed{};       // [V][H]
  std::vector<LayerWeights> layers;
  dshal_tensor final_norm{};  // [H]
  Linear lm_head;             // [V][H]
  WeightStats stats;

 private:
  friend class WeightLoader;
  std::vector<Buffer> buffers_;  // every imported mapping and copy the descriptors point into
};

}  // namespace dshal::model
