// Adaptive draft length. The per-token acceptance probability alpha is estimated from recent steps
// (exponentially decayed counts of accepted and rejected proposals). With acceptance independent per
// token, a step of K proposals yields (1 - alpha^(K+1)) / (1 - alpha) tokens and costs 1 + c*K forwards,
// c being the cost of one more verified (and drafted) token relative to a plain step. K is the value in
// [k_min, k_max] that maximizes yield / cost: it grows while proposals are accepted and shrinks when they
// are rejected. When even the best K is expected to lose to plain decoding, speculation pauses for a
// stretch of tokens (doubling while it keeps failing), then probes again.
#pragma once

#include "pangu/speculative.h"

namespace pangu {

class DraftLength {
 public:
  explicit DraftLength(const SpeculationOptions& options);

  // Tokens to propose for the next step; 0 while paused.
  int next_k();
  // After a verification step: k proposed, a accepted; cost_per_token as above.
  void update(int k, int accepted, double cost_per_token);
  // A plain step (nothing proposed) passed: counts down a pause.
  void plain_step();
  double alpha() const { return successes_ / trials_; }

 private:
  SpeculationOptions o_;
  int k_;
  double successes_, trials_;
  int pause_left_ = 0;
  int next_pause_ = 16;
};

}  // namespace pangu
