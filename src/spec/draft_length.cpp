#include "spec/draft_length.h"

#include <algorithm>
#include <cmath>

#include "pangu/error.h"

namespace pangu {

namespace {

constexpr double kDecay = 0.8;       // weight of the past per step: about the last 5 steps count
constexpr double kPriorTrials = 2.0;  // the estimate starts from alpha = 0.5 worth two tokens
constexpr int kMaxPause = 256;

double expected_yield(double alpha, int k) {
  if (alpha >= 1.0) return k + 1.0;
  return (1.0 - std::pow(alpha, k + 1)) / (1.0 - alpha);
}

}  // namespace

DraftLength::DraftLength(const SpeculationOptions& o)
    : o_(o), k_(o.k), successes_(kPriorTrials * 0.5), trials_(kPriorTrials) {
  PANGU_CHECK(o.k_min >= 1 && o.k_min <= o.k_max, "--spec-k-min {} / --spec-k-max {}: expected 1 <= min <= max",
              o.k_min, o.k_max);
  PANGU_CHECK(o.k >= 1, "--spec-k {}: expected at least 1", o.k);
  if (o.adaptive) k_ = std::clamp(o.k, o.k_min, o.k_max);
}

int DraftLength::next_k() {
  if (!o_.adaptive) return k_;
  return pause_left_ > 0 ? 0 : k_;
}

void DraftLength::plain_step() {
  if (pause_left_ > 0) --pause_left_;
}

void DraftLength::update(int k, int accepted, double cost) {
  if (!o_.adaptive || k <= 0) return;
  const bool rejected = accepted < k;
  successes_ = kDecay * successes_ + accepted;
  trials_ = kDecay * trials_ + accepted + (rejected ? 1 : 0);
  const double alpha = std::clamp(successes_ / trials_, 0.0, 1.0);
  double best_gain = 0.0;
  int best_k = o_.k_min;
  for (int kk = o_.k_min; kk <= o_.k_max; ++kk) {
    const double gain = expected_yield(alpha, kk) / (1.0 + cost * kk);
    if (gain > best_gain + 1e-12) {
      best_gain = gain;
      best_k = kk;
    }
  }
  k_ = best_k;
  if (best_gain < 1.0) {
    // Speculation is expected to be slower than plain decoding: stop for a while, longer each time.
    pause_left_ = next_pause_;
    next_pause_ = std::min(next_pause_ * 2, kMaxPause);
    successes_ = kPriorTrials * 0.5;  // probe afresh after the pause
    trials_ = kPriorTrials;
    k_ = o_.k_min;
  } else if (!rejected) {
    next_pause_ = 16;
  }
}

}  // namespace pangu
