// A Hugging Face DeepSeek checkpoint folder: config.json plus model.safetensors or the shards named
// by model.safetensors.index.json, all memory-mapped.
#pragma once

#include <dshal/dshal.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "safetensors.hpp"

namespace dshal::model {

class Checkpoint {
 public:
  // Reads and checks config.json, the index (if any) and every shard it names. Errors name the
  // file and the field or tensor.
  static Status open(const std::filesystem::path& dir, std::unique_ptr<Checkpoint>* out);

  const std::filesystem::path& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // The tensor `name` with exactly this shape and one of the allowed dtypes. A missing tensor,
  // another shape or another dtype is INVALID_ARGUMENT: "<file>: tensor '<name>' has shape [8, 64];
  // config.json (hidden_size = 64, n_routed_experts = 16) implies [16, 64]". `why` names the
  // config fields the shape comes from.
  Status require(const std::string& name, const std::vector<int64_t>& shape, uint32_t allowed_dtypes,
                 const std::string& why, const TensorView** out) const;
  // nullptr when absent.
  const TensorView* find(const std::string& name) const;

 private:
  std::filesystem::path dir_;
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> by_name_;
};

// True when every view lies in the same file at views[0]->file_offset + i * stride, with equal
// shapes and dtypes (make-model writes each projection of a layer's routed experts this way, so
// they can be used in place as one [E][N][K] array). Published checkpoints need not be so ordered.
bool uniform_stride(const std::vector<const TensorView*>& views, uint64_t* stride);

}  // namespace dshal::model
