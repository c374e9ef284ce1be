#include "train/optimizer.h"

#include <cmath>

#include "pangu/error.h"

namespace pangu {

double LrSchedule::at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) return peak * static_cast<double>(step + 1) / warmup_steps;
  const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(span));
  const double floor = peak * final_ratio;
  switch (decay) {
    case LrDecay::kConstant:
      return peak;
    case LrDecay::kLinear:
      return floor + (peak - floor) * (1.0 - progress);
    case LrDecay::kCosine:
      return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
  }
  return peak;
}

LrDecay parse_lr_decay(const std::string& name) {
  if (name == "constant") return LrDecay::kConstant;
  if (name == "linear") return LrDecay::kLinear;
  if (name == "cosine") return LrDecay::kCosine;
  fail("--lr-schedule \"{}\": expected constant, linear or cosine", name);
}

double clip_grad_norm(Params<float>& grads, double max_norm) {
  double ss = 0;
  grads.for_each_tensor([&ss](const std::string&, std::vector<float>& g) {
    for (float x : g) ss += static_cast<double>(x) * x;
  });
  const double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / norm);
    grads.for_each_tensor([scale](const std::string&, std::vector<float>& g) {
      for (float& x : g) x *= scale;
    });
  }
  return norm;
}

AdamW::AdamW(const Params<float>& grads_layout, AdamWOptions options) : options_(options) {
  grads_layout.for_each_tensor([this](const std::string& name, const std::vector<float>& g) {
    names_.push_back(name);
    m_.emplace_back(g.size(), 0.0f);
    v_.emplace_back(g.size(), 0.0f);
  });
}

void AdamW::step(Params<float>& params, const Params<float>& grads, double lr) {
  ++t_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double correction1 = 1.0 - std::pow(b1, static_cast<double>(t_));
  const double correction2 = 1.0 - std::pow(b2, static_cast<double>(t_));
  std::vector<const std::vector<float>*> g_by_index;
  grads.for_each_tensor([&g_by_index](const std::string&, const std::vector<float>& g) { g_by_index.push_back(&g); });
  size_t i = 0;
  params.for_each_tensor([&](const std::string& name, std::vector<float>& w) {
    if (i >= names_.size() || names_[i] != name) return;  // frozen
    const std::vector<float>& g = *g_by_index[i];
    PANGU_CHECK(g.size() == w.size(), "AdamW: gradient of {} has {} values, the tensor {}", name, g.size(), w.size());
    std::vector<float>& m = m_[i];
    std::vector<float>& v = v_[i];
    // Decay matrices only: norms and biases are vectors.
    const bool decay = options_.weight_decay > 0 && name.find("norm") == std::string::npos &&
                       name.find(".bias") == std::string::npos;
    const auto decay_factor = static_cast<float>(1.0 - lr * options_.weight_decay);
    for (size_t k = 0; k < w.size(); ++k) {
      m[k] = static_cast<float>(b1 * m[k] + (1 - b1) * g[k]);
      v[k] = static_cast<float>(b2 * v[k] + (1 - b2) * static_cast<double>(g[k]) * g[k]);
      const double update = (m[k] / correction1) / (std::sqrt(v[k] / correction2) + options_.eps);
      if (decay) w[k] *= decay_factor;
      w[k] -= static_cast<float>(lr * update);
    }
    ++i;
  });
}

}  // namespace pangu
