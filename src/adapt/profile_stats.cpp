#include "adapt/profile_stats.h"

#include <algorithm>
#include <cmath>

#include "core/splitmix.h"
#include "pangu/error.h"

namespace pangu {

namespace {

double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

MeanEstimate bootstrap(const std::vector<double>& d, int resamples, uint64_t seed) {
  PANGU_CHECK(!d.empty(), "bootstrap: no measurements");
  PANGU_CHECK(resamples >= 1, "bootstrap: {} resamples", resamples);
  MeanEstimate e;
  e.n = static_cast<int64_t>(d.size());
  double sum = 0;
  for (double v : d) sum += v;
  e.mean = sum / static_cast<double>(d.size());
  if (d.size() == 1) {
    e.ci = {e.mean, e.mean};
    return e;
  }
  SplitMix64 rng{seed};
  std::vector<double> means(static_cast<size_t>(resamples));
  for (double& m : means) {
    double s = 0;
    for (size_t i = 0; i < d.size(); ++i) s += d[rng.below(d.size())];
    m = s / static_cast<double>(d.size());
  }
  std::sort(means.begin(), means.end());
  // The percentile interval can miss the mean itself by rounding when every resample agrees; keep it inside.
  e.ci = {std::min(quantile_sorted(means, 0.025), e.mean), std::max(quantile_sorted(means, 0.975), e.mean)};
  return e;
}

}  // namespace

MeanEstimate bootstrap_mean(const std::vector<double>& values, int resamples, uint64_t seed) {
  return bootstrap(values, resamples, seed);
}

MeanEstimate paired_bootstrap_difference(const std::vector<double>& a, const std::vector<double>& b, int resamples,
                                         uint64_t seed) {
  PANGU_CHECK(a.size() == b.size(), "paired bootstrap: {} against {} measurements (expected the same requests)",
              a.size(), b.size());
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return bootstrap(d, resamples, seed);
}

double kl_divergence_logits(const float* p_logits, const float* q_logits, int64_t n) {
  double p_max = -INFINITY, q_max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    p_max = std::max(p_max, static_cast<double>(p_logits[i]));
    q_max = std::max(q_max, static_cast<double>(q_logits[i]));
  }
  double p_sum = 0, q_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    p_sum += std::exp(p_logits[i] - p_max);
    q_sum += std::exp(q_logits[i] - q_max);
  }
  const double p_log_z = p_max + std::log(p_sum), q_log_z = q_max + std::log(q_sum);
  double kl = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(p_logits[i])) continue;  // a suppressed token: probability 0 under p contributes nothing
    const double log_p = p_logits[i] - p_log_z;
    const double log_q = q_logits[i] - q_log_z;
    kl += std::exp(log_p) * (log_p - log_q);
  }
  return std::max(kl, 0.0);  // rounding can leave a tiny negative for equal distributions
}

double rouge_l(const std::vector<int32_t>& candidate, const std::vector<int32_t>& reference) {
  if (candidate.empty() && reference.empty()) return 1.0;
  if (candidate.empty() || reference.empty()) return 0.0;
  // LCS by dynamic programming over one row.
  std::vector<int32_t> row(reference.size() + 1, 0);
  for (int32_t c : candidate) {
    int32_t diagonal = 0;
    for (size_t j = 1; j <= reference.size(); ++j) {
      const int32_t above = row[j];
      row[j] = c == reference[j - 1] ? diagonal + 1 : std::max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  const double lcs = row.back();
  if (lcs == 0) return 0.0;
  const double precision = lcs / static_cast<double>(candidate.size());
  const double recall = lcs / static_cast<double>(reference.size());
  return 2 * precision * recall / (precision + recall);
}

}  // namespace pangu
