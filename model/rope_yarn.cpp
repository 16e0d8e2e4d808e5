// YaRN RoPE tables, following transformers' _compute_yarn_parameters: per-frequency blend of
// interpolated and extrapolated inverse frequencies, and an attention factor applied to cos/sin.
#include "model/rope_yarn.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dshal::model {
namespace {

double yarn_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

double correction_dim(double rotations, double dim, double base, double max_pos) {
  return dim * std::log(max_pos / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

// Inverse frequencies as float32, the precision transformers computes them in.
std::vector<float> inverse_frequencies(const ModelConfig& c) {
  const int64_t dim = c.qk_rope_head_dim, half = dim / 2;
  const double base = c.rope_theta;
  std::vector<float> inv(half);
  for (int64_t i = 0; i < half; ++i) {
    const float pos_freq = float(std::pow(base, double(2 * i) / double(dim)));
    inv[i] = 1.0f / pos_freq;
  }
  const RopeScaling& y = c.rope_scaling;
  if (!y.yarn) return inv;
  // Frequencies below `low` are extrapolated (kept), above `high` interpolated (divided by the
  // factor), with a linear ramp between; the range is truncated to whole dims as transformers does.
  const double orig = double(y.original_max_position_embeddings);
  double low = std::floor(correction_dim(y.beta_fast, double(dim), base, orig));
  double high = std::ceil(correction_dim(y.beta_slow, double(dim), base, orig));
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;
  for (int64_t i = 0; i < half; ++i) {
    const float ramp = std::clamp(float((double(i) - low) / (high - low)), 0.0f, 1.0f);
    const float extrapolation = 1.0f - ramp;
    const float pos_freq = 1.0f / inv[i];
    const float interpolated = 1.0f / (float(y.factor) * pos_freq);
    inv[i] = interpolated * (1.0f - extrapolation) + inv[i] * extrapolation;
  }
  return inv;
}

// transformers: mscale(factor, mscale) / mscale(factor, mscale_all_dim) when both are given and
// non-zero, else mscale(factor, 1). DeepSeek's own code divides by mscale(factor, mscale_all_dim)
// with absent fields as 1 and 0, which gives the same value for the published configs.
double attention_factor(const RopeScaling& y) {
  if (!y.yarn) return 1.0;
  if (y.mscale != 0.0 && y.mscale_all_dim != 0.0)
    return yarn_mscale(y.factor, y.mscale) / yarn_mscale(y.factor, y.mscale_all_dim);
  return yarn_mscale(y.factor, 1.0);
}

}  // namespace

RopeTables make_rope_tables(const ModelConfig& c, int64_t max_position) {
  RopeTables t;
  t.max_position = max_position;
  t.half = c.qk_rope_head_dim / 2;
  const std::vector<float> inv = inverse_frequencies(c);
  const float factor = float(attention_factor(c.rope_scaling));
  t.cos.resize(size_t(max_position * t.half));
  t.sin.resize(t.cos.size());
  for (int64_t p = 0; p < max_position; ++p)
    for (int64_t i = 0; i < t.half; ++i) {
      const float angle = float(p) * inv[i];  // an f32 product, as in transformers
      t.cos[size_t(p * t.half + i)] = float(std::cos(double(angle))) * factor;
      t.sin[size_t(p * t.half + i)] = float(std::sin(double(angle))) * factor;
    }
  return t;
}

float attention_softmax_scale(const ModelConfig& c) {
  double scale = 1.0 / std::sqrt(double(c.qk_head_dim()));
  const RopeScaling& y = c.rope_scaling;
  if (y.yarn && y.mscale_all_dim != 0.0) {
    const double m = yarn_mscale(y.factor, y.mscale_all_dim);
    scale *= m * m;
  }
  return float(scale);
}

}  // namespace dshal::model
