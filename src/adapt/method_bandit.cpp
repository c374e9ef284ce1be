#include "adapt/method_bandit.h"

#include <algorithm>
#include <cmath>

namespace pangu {

void MethodBandit::add_arm(const std::string& key, const std::string& method, double prior_tps) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& arms = arms_[key];
  for (const Arm& a : arms)
    if (a.method == method) return;
  Arm arm;
  arm.method = method;
  if (prior_tps > 0) {
    arm.weight = options_.prior_weight;
    arm.sum = options_.prior_weight * prior_tps;
  }
  arms.push_back(std::move(arm));
}

std::string MethodBandit::choose(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = arms_.find(key);
  if (found == arms_.end() || found->second.empty()) return "plain";
  const auto& arms = found->second;
  // An arm never measured is tried first.
  for (const Arm& a : arms)
    if (a.weight <= 0) return a.method;
  double total = 0, scale = 0;
  for (const Arm& a : arms) {
    total += a.weight;
    scale += a.mean();
  }
  scale /= static_cast<double>(arms.size());  // speeds are in tokens/s: the bonus is relative to them
  const Arm* best = nullptr;
  double best_value = -1;
  for (const Arm& a : arms) {
    const double bonus = options_.exploration * scale * std::sqrt(std::log(std::max(total, 1.0 + 1e-9)) / a.weight);
    const double value = a.mean() + bonus;
    if (value > best_value) {
      best_value = value;
      best = &a;
    }
  }
  return best->method;
}

void MethodBandit::observe(const std::string& key, const std::string& method, double tps) {
  if (!(tps > 0) || !std::isfinite(tps)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto& arms = arms_[key];
  for (Arm& a : arms) {
    a.weight *= options_.discount;
    a.sum *= options_.discount;
  }
  for (Arm& a : arms)
    if (a.method == method) {
      a.weight += 1.0;
      a.sum += tps;
      return;
    }
  Arm arm;
  arm.method = method;
  arm.weight = 1.0;
  arm.sum = tps;
  arms.push_back(std::move(arm));
}

std::vector<MethodBandit::Arm> MethodBandit::arms(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = arms_.find(key);
  return it == arms_.end() ? std::vector<Arm>{} : it->second;
}

std::map<std::string, std::vector<MethodBandit::Arm>> MethodBandit::all_arms() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return arms_;
}

void MethodBandit::restore(const std::string& key, std::vector<Arm> arms) {
  std::lock_guard<std::mutex> lock(mutex_);
  arms_[key] = std::move(arms);
}

}  // namespace pangu
