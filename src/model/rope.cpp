#include "model/rope.h"

#include <cmath>

namespace pangu {

RopeTable::RopeTable(int64_t head_dim, const RopeConfig& config) : head_dim_(head_dim) {
  const int64_t half = head_dim / 2;
  inv_freq_.resize(half);
  for (int64_t i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(config.theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
    if (config.scaling == RopeScaling::kLinear) {
      f /= config.factor;
    } else if (config.scaling == RopeScaling::kFactors) {
      f /= config.freq_factors.at(static_cast<size_t>(i));
    } else if (config.scaling == RopeScaling::kLlama3) {
      // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between blended.
      const double low_wavelen = config.original_max_position / config.low_freq_factor;
      const double high_wavelen = config.original_max_position / config.high_freq_factor;
      const double wavelen = 2 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= config.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (config.original_max_position / wavelen - config.low_freq_factor) /
                              (config.high_freq_factor - config.low_freq_factor);
        f = (1 - smooth) * f / config.factor + smooth * f;
      }
    }
    inv_freq_[i] = f;
  }
}

void RopeTable::angles(int64_t pos, float* cos_out, float* sin_out) const {
  for (int64_t i = 0; i < half(); ++i) {
    // The angle in double: pos * inv_freq in f32 loses precision at long positions with large rope_theta.
    const double angle = static_cast<double>(pos) * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(angle));
    sin_out[i] = static_cast<float>(std::sin(angle));
  }
}

void RopeTable::rotate(float* x, const float* cos_a, const float* sin_a) const {
  const int64_t h = half();
  for (int64_t i = 0; i < h; ++i) {
    const float x1 = x[i];
    const float x2 = x[i + h];
    x[i] = x1 * cos_a[i] - x2 * sin_a[i];
    x[i + h] = x2 * cos_a[i] + x1 * sin_a[i];
  }
}

}  // namespace pangu
