// Greedy and temperature / top-p sampling.
#include "model/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace dshal::model {

int32_t Sampler::next(std::span<const float> logits) {
  if (options_.temperature <= 0.0f) return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  // Probabilities at this temperature, sorted descending (ties by id, so the order is total).
  const float top = *std::max_element(logits.begin(), logits.end());
  candidates_.clear();
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float p = std::exp((logits[i] - top) / options_.temperature);
    candidates_.emplace_back(p, int32_t(i));
    total += p;
  }
  std::sort(candidates_.begin(), candidates_.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  // The smallest prefix whose mass reaches top_p.
  size_t keep = 0;
  double mass = 0.0;
  while (keep < candidates_.size() && (keep == 0 || mass < options_.top_p * total)) mass += candidates_[keep++].first;
  // A uniform draw from 53 random bits (independent of the standard library's distributions).
  const double u = double(rng_() >> 11) * 0x1.0p-53 * mass;
  double acc = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    acc += candidates_[i].first;
    if (u < acc) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace dshal::model
