// The DeepSeek forward graph as model/ executes it, step by step, with the HAL ops each step calls:
// the porting report's fallback map.
#pragma once

#include <vector>

#include "report.hpp"

namespace dshal::conformance {

// Every step in execution order with each op's calls summed over the model-tier cases (hal counts
// per op, not per step: an op used by several steps shows the same totals in each). Empty when no
// model-tier case ran.
std::vector<GraphStep> deepseek_graph(const std::vector<CaseResult>& cases);

}  // namespace dshal::conformance
