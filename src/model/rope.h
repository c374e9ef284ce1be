// Rotary position embedding, rotate-half layout (Hugging Face): x[i] pairs with x[i + head_dim/2].
#pragma once

#include <cstdint>
#include <vector>

#include "pangu/config.h"

namespace pangu {

class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(int64_t head_dim, const RopeConfig& config);
  // cos_out, sin_out: [head_dim / 2] for position pos (computed once per token, shared by heads and layers).
  void angles(int64_t pos, float* cos_out, float* sin_out) const;
  // x: [head_dim], rotated in place by the angles of one position.
  void rotate(float* x, const float* cos_a, const float* sin_a) const;
  int64_t half() const { return head_dim_ / 2; }
  double inv_freq(int64_t i) const { return inv_freq_[static_cast<size_t>(i)]; }  // i < half()

 private:
  int64_t head_dim_ = 0;
  std::vector<double> inv_freq_;  // [head_dim / 2]
};

}  // namespace pangu
