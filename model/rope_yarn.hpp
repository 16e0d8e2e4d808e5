// RoPE tables with YaRN scaling, and the attention softmax scale, as transformers' DeepseekV2/V3
// compute them (see model/golden/SEMANTICS.md).
#pragma once

#include <cstdint>
#include <vector>

#include "config.hpp"

namespace dshal::model {

struct RopeTables {
  int64_t max_position = 0;
  int64_t half = 0;        // qk_rope_head_dim / 2
  std::vector<float> cos;  // [max_position][half], already multiplied by the YaRN attention factor
  std::vector<float> sin;
};

RopeTables make_rope_tables(const ModelConfig& c, int64_t max_position);
// 1 / sqrt(qk_head_dim), times mscale(factor, mscale_all_dim)^2 under YaRN.
float attention_softmax_scale(const ModelConfig& c);

}  // namespace dshal::model
