// Random DeepSeek checkpoints of any shape, in the Hugging Face layout (config.json + safetensors),
// for tests and benchmarks.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "config.hpp"

namespace dshal::model {

struct MakeModelOptions {
  dshal_dtype weight_dtype = DSHAL_DTYPE_BF16;  // F32, BF16 or FP8_E4M3 (+ weight_scale_inv)
  uint64_t seed = 0;
  uint64_t max_shard_bytes = 4ull << 30;  // more than one shard gets model.safetensors.index.json
  // Called now and then with bytes written so far and the total, for progress output.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Writes config.json (published layout, with quantization_config for FP8) and the weights.
// Each layer's routed experts are written projection by projection in expert order (all
// gate_proj weights, then for FP8 all gate_proj scales, then up_proj, then down_proj), so they sit
// at one stride in the file (see uniform_stride in checkpoint.hpp) and the executor can use them
// in place; such a block never straddles shards (a block larger than max_shard_bytes gets a
// shard of its own). Values: linear weights uniform with variance 1/fan_in, embeddings variance 1,
// norm weights 1 ± 0.1, e_score_correction_bias ± 0.1; FP8 weights quantized per 128×128 block
// with weight_scale_inv = block max / 448. Each element is a hash of (seed, tensor name, index):
// the same seed gives the same tensors whatever the sharding or thread count.
// Streams tensor by tensor (memory: about the largest tensor) into a hidden temp folder next to
// out_dir and renames it into place, so a failed run leaves nothing at out_dir. Errors: bad
// config, dtype, or out_dir existing and not empty: INVALID_ARGUMENT; disk failures: DEVICE.
Status make_model(const ModelConfig& config, const std::filesystem::path& out_dir, const MakeModelOptions& options);

}  // namespace dshal::model
