// The statistics behind profile figures: bootstrap intervals cover the true mean about 95% of the time and
// narrow with more data, a paired difference removes what the pair shares, KL and ROUGE-L agree with values
// worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "adapt/profile_stats.h"
#include "pangu/error.h"

namespace pangu {
namespace {

TEST(ProfileStats, BootstrapIntervalHoldsTheMeanAndIsDeterministic) {
  const std::vector<double> v = {10, 12, 9, 11, 13, 10, 12};
  const MeanEstimate a = bootstrap_mean(v);
  EXPECT_NEAR(a.mean, 11.0, 1e-12);
  EXPECT_EQ(a.n, 7);
  EXPECT_LT(a.ci.low, a.mean);
  EXPECT_GT(a.ci.high, a.mean);
  EXPECT_GE(a.ci.low, 9.0);  // a mean of resamples cannot leave the data's range
  EXPECT_LE(a.ci.high, 13.0);
  const MeanEstimate b = bootstrap_mean(v);
  EXPECT_EQ(a.ci.low, b.ci.low);
  EXPECT_EQ(a.ci.high, b.ci.high);
  const MeanEstimate one = bootstrap_mean({5.0});
  EXPECT_EQ(one.ci.low, 5.0);
  EXPECT_EQ(one.ci.high, 5.0);
  EXPECT_THROW(bootstrap_mean({}), Error);
}

// Property: over many samples from a known distribution, the 95% interval covers the true mean in roughly
// 95% of them (the percentile bootstrap undercovers a little at n = 30), and it narrows as n grows.
TEST(ProfileStats, BootstrapCoverageAndWidth) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(20.0, 4.0);
  int covered = 0;
  const int trials = 300;
  double width30 = 0, width120 = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> small(30), large(120);
    for (double& x : small) x = normal(rng);
    for (double& x : large) x = normal(rng);
    const MeanEstimate e = bootstrap_mean(small, 1000, static_cast<uint64_t>(t));
    covered += e.ci.low <= 20.0 && 20.0 <= e.ci.high;
    width30 += e.ci.high - e.ci.low;
    width120 += bootstrap_mean(large, 1000, static_cast<uint64_t>(t)).ci.high -
                bootstrap_mean(large, 1000, static_cast<uint64_t>(t)).ci.low;
  }
  const double coverage = static_cast<double>(covered) / trials;
  EXPECT_GT(coverage, 0.88);
  EXPECT_LT(coverage, 0.99);
  // Width goes as 1/sqrt(n): a quarter of the data, twice the width (+-15%).
  EXPECT_NEAR(width30 / width120, 2.0, 0.3);
  // The normal-theory width at n = 30: 2 * 1.96 * 4 / sqrt(30) = 2.86.
  EXPECT_NEAR(width30 / trials, 2.86, 0.35);
}

TEST(ProfileStats, PairedDifferenceRemovesWhatThePairShares) {
  // Requests vary a lot (difficulty), the variant loses exactly 1 point on each: the paired interval is
  // tight around 1, where an unpaired one would span the spread of the requests.
  std::vector<double> base, variant;
  for (int i = 0; i < 40; ++i) {
    base.push_back(10.0 * (i % 7));
    variant.push_back(10.0 * (i % 7) - 1.0);
  }
  const MeanEstimate d = paired_bootstrap_difference(base, variant);
  EXPECT_NEAR(d.mean, 1.0, 1e-12);
  EXPECT_NEAR(d.ci.low, 1.0, 1e-9);
  EXPECT_NEAR(d.ci.high, 1.0, 1e-9);
  EXPECT_THROW(paired_bootstrap_difference({1, 2}, {1}), Error);
}

TEST(ProfileStats, KlDivergenceAgainstHandValues) {
  // p = softmax(0, ln 3) = (1/4, 3/4), q = (1/2, 1/2): KL = 1/4 ln(1/2) + 3/4 ln(3/2).
  const float p[] = {0.0f, static_cast<float>(std::log(3.0))};
  const float q[] = {5.0f, 5.0f};  // a shift changes nothing
  EXPECT_NEAR(kl_divergence_logits(p, q, 2), 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-6);
  EXPECT_NEAR(kl_divergence_logits(p, p, 2), 0.0, 1e-9);
  // A token suppressed in both (-inf) carries no probability.
  const float ps[] = {0.0f, static_cast<float>(std::log(3.0)), -INFINITY};
  const float qs[] = {5.0f, 5.0f, -INFINITY};
  EXPECT_NEAR(kl_divergence_logits(ps, qs, 3), 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-6);
}

TEST(ProfileStats, RougeLAgainstHandValues) {
  EXPECT_DOUBLE_EQ(rouge_l({1, 2, 3, 4}, {1, 2, 3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(rouge_l({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(rouge_l({1}, {}), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l({5, 6}, {1, 2}), 0.0);
  // LCS of (1 2 3 4 5) and (1 3 5 7) is (1 3 5): P = 3/5, R = 3/4, F = 2PR/(P+R) = 2/3.
  EXPECT_NEAR(rouge_l({1, 2, 3, 4, 5}, {1, 3, 5, 7}), 2.0 / 3.0, 1e-12);
  // Symmetric in its arguments (F1).
  EXPECT_NEAR(rouge_l({1, 3, 5, 7}, {1, 2, 3, 4, 5}), 2.0 / 3.0, 1e-12);
}

}  // namespace
}  // namespace pangu
