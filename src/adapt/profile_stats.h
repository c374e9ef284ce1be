// The statistics behind a strategy profile's figures: 95% intervals of a mean (percentile bootstrap over the
// requests), paired differences (the same requests under two variants, resampled together), and the fidelity
// measures that compare a variant's output with the base's (KL divergence of the next-token distributions,
// ROUGE-L of token sequences).
#pragma once

#include <cstdint>
#include <vector>

#include "adapt/strategy_profile.h"

namespace pangu {

struct MeanEstimate {
  double mean = 0;
  Interval ci;  // 95%, percentile bootstrap; [mean, mean] for a single value
  int64_t n = 0;
};

// Percentile bootstrap of the mean of `values` (resamples with replacement, a fixed seed so that the same
// measurements give the same interval). Throws on an empty sample.
MeanEstimate bootstrap_mean(const std::vector<double>& values, int resamples = 2000, uint64_t seed = 20261207);

// Paired: the mean of a[i] - b[i], each resample drawing the same indices for both.
MeanEstimate paired_bootstrap_difference(const std::vector<double>& a, const std::vector<double>& b,
                                         int resamples = 2000, uint64_t seed = 20261207);

// KL(p || q) in nats between the softmax distributions of two logit rows of `n` entries.
double kl_divergence_logits(const float* p_logits, const float* q_logits, int64_t n);

// ROUGE-L F1 (beta = 1) of two token sequences: the longest common subsequence against both lengths.
// Two empty sequences score 1.
double rouge_l(const std::vector<int32_t>& candidate, const std::vector<int32_t>& reference);

}  // namespace pangu
