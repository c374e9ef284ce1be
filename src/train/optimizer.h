// AdamW with decoupled weight decay, a learning-rate schedule (warmup, then linear or cosine decay) and
// global gradient-norm clipping. Moments exist only for the tensors being trained.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/params.h"

namespace pangu {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // applied to matrices only, not to norms or biases
};

enum class LrDecay { kConstant, kLinear, kCosine };

struct LrSchedule {
  double peak = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  LrDecay decay = LrDecay::kLinear;
  double final_ratio = 0.0;  // lr at the last step, as a fraction of peak
  // The learning rate of optimizer step `step` (0-based).
  double at(int64_t step) const;
};
LrDecay parse_lr_decay(const std::string& name);  // constant | linear | cosine

// sqrt(sum of squares) over every non-empty gradient tensor; scales them to max_norm when above it (and
// max_norm > 0). Returns the norm before clipping.
double clip_grad_norm(Params<float>& grads, double max_norm);

class AdamW {
 public:
  // Trains the tensors whose gradient vectors in `grads_layout` are non-empty.
  AdamW(const Params<float>& grads_layout, AdamWOptions options);
  // One update of params from grads at learning rate lr.
  void step(Params<float>& params, const Params<float>& grads, double lr);
  int64_t steps() const { return t_; }
  // Moments and step count, for checkpoints: name -> m, v.
  const std::vector<std::string>& tensor_names() const { return names_; }
  std::vector<float>& first_moment(size_t i) { return m_[i]; }
  std::vector<float>& second_moment(size_t i) { return v_[i]; }
  const std::vector<float>& first_moment(size_t i) const { return m_[i]; }
  const std::vector<float>& second_moment(size_t i) const { return v_[i]; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  AdamWOptions options_;
  std::vector<std::string> names_;
  std::vector<std::vector<float>> m_, v_;
  int64_t t_ = 0;
};

}  // namespace pangu
