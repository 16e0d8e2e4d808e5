// The DeepSeek forward graph's steps and the HAL ops each calls. Keep in step with the executor:
// model/weights.cpp (loading), model/forward.cpp (embedding, linear, dense MLP, final norm and
// lm_head), model/mla.cpp (the attention block) and model/moe.cpp (routed experts). linear() is a
// gemm, or a gemm_quant for FP8 / INT4 weights.
#include "graph.hpp"

#include <map>

namespace dshal::conformance {
namespace {

struct Step {
  const char* name;
  std::vector<const char*> ops;
};

const std::vector<Step>& steps() {
  static const std::vector<Step> s = {
      {"weights (load)", {"import_host_memory"}},                               // weights.cpp
      {"embedding", {"embedding"}},                                             // forward.cpp
      {"attention norm", {"rms_norm"}},                                         // mla.cpp
      {"q projection (q_a, q_a_layernorm, q_b / q_proj)", {"gemm", "gemm_quant", "rms_norm"}},
      {"q rope", {"rope"}},
      {"kv_a projection, kv_a_layernorm, k rope", {"gemm", "gemm_quant", "rms_norm", "rope"}},
      {"attention (MLA: per-head W_UK / W_UV, rope columns, attention)", {"gemm", "attention"}},
      {"o_proj + residual", {"gemm", "gemm_quant"}},
      {"ffn norm", {"rms_norm"}},                                               // forward.cpp ffn_block
      {"MoE router logits", {"gemm", "gemm_quant"}},                            // moe.cpp
      {"MoE route (top-k)", {"moe_route"}},
      {"MoE dispatch (permute)", {"moe_permute"}},
      {"MoE experts (grouped GEMM, SiLU * up)", {"grouped_gemm", "silu_mul"}},
      {"MoE combine (unpermute + residual)", {"moe_unpermute"}},
      {"dense / shared-expert MLP + residual", {"gemm", "gemm_quant", "silu_mul"}},  // forward.cpp mlp
      {"final norm", {"rms_norm"}},
      {"lm_head", {"gemm", "gemm_quant"}},
  };
  return s;
}

}  // namespace

std::vector<GraphStep> deepseek_graph(const std::vector<CaseResult>& cases) {
  OpCounts native, fallback;
  bool model_ran = false;
  for (const CaseResult& c : cases) {
    if (c.tier != "model" || c.status == "unsupported") continue;
    model_ran = true;
    for (const auto& [op, n] : c.native) native[op] += n;
    for (const auto& [op, n] : c.fallback) fallback[op] += n;
  }
  std::vector<GraphStep> out;
  if (!model_ran) return out;
  for (const Step& s : steps()) {
    GraphStep g{s.name, {}};
    for (const char* op : s.ops) g.ops.push_back({op, native[op], fallback[op]});
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace dshal::conformance
