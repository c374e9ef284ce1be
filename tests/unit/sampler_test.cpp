#include "pangu/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "pangu/error.h"

namespace pangu {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 0.5f, -1.0f, 2.9f};

TEST(Sampler, GreedyTakesArgmax) {
  SamplingParams p;
  p.greedy = true;
  Sampler s(p, 6);
  EXPECT_EQ(s.sample(kLogits.data(), {}), 1);
}

TEST(Sampler, SuppressAndBiasApplyBeforeGreedy) {
  SamplingParams p;
  p.greedy = true;
  p.suppress_tokens = {1};
  Sampler s(p, 6);
  EXPECT_EQ(s.sample(kLogits.data(), {}), 5);
  p.logit_bias = {{4, 10.0f}};
  Sampler biased(p, 6);
  EXPECT_EQ(biased.sample(kLogits.data(), {}), 4);
}

TEST(Sampler, RepetitionPenaltyFollowsHuggingFaceRule) {
  SamplingParams p;
  p.greedy = true;
  p.repetition_penalty = 2.0f;
  Sampler s(p, 6);
  // token 1: 3.0 / 2 = 1.5 < 2.9, so token 5 wins; repeats in history are penalised once.
  EXPECT_EQ(s.sample(kLogits.data(), {1, 1, 1}), 5);
  std::vector<float> negative = {-1.0f, -1.5f};
  Sampler n(p, 2);
  EXPECT_EQ(n.sample(negative.data(), {0}), 1);  // -1 * 2 = -2 < -1.5
}

TEST(Sampler, PresenceAndFrequencyPenalties) {
  SamplingParams p;
  p.greedy = true;
  p.frequency_penalty = 0.1f;
  Sampler s(p, 6);
  EXPECT_EQ(s.sample(kLogits.data(), {1}), 1);     // 3.0 - 0.1 > 2.9
  EXPECT_EQ(s.sample(kLogits.data(), {1, 1}), 5);  // 3.0 - 0.2 < 2.9
}

TEST(Sampler, TopKKeepsKMostLikelyAndSumsToOne) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p, 6);
  std::vector<float> probs;
  s.distribution(kLogits.data(), {}, probs);
  EXPECT_NEAR(std::accumulate(probs.begin(), probs.end(), 0.0), 1.0, 1e-6);
  for (int i : {0, 2, 3, 4}) EXPECT_EQ(probs[i], 0.0f);
  EXPECT_NEAR(probs[1], 1.0 / (1.0 + std::exp(-0.1)), 1e-5);
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.5f;
  p.min_p = 0.0f;
  Sampler s(p, 6);
  std::vector<float> probs;
  s.distribution(kLogits.data(), {}, probs);
  EXPECT_GT(probs[1], 0.0f);
  EXPECT_GT(probs[5], 0.0f);  // token 1 alone is below half the mass
  EXPECT_EQ(probs[2], 0.0f);
  p.top_p = 1.0f;
  p.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p_max: logits >= 3 - ln 2 = 2.31
  Sampler m(p, 6);
  m.distribution(kLogits.data(), {}, probs);
  EXPECT_GT(probs[5], 0.0f);
  EXPECT_EQ(probs[2], 0.0f);
  p.min_p = 0.2f;  // threshold 3 - ln 5 = 1.39: token 2 (logit 2) now stays, token 0 (logit 1) does not
  Sampler m2(p, 6);
  m2.distribution(kLogits.data(), {}, probs);
  EXPECT_GT(probs[2], 0.0f);
  EXPECT_EQ(probs[0], 0.0f);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  Sampler s(p, 6);
  std::vector<float> probs;
  s.distribution(kLogits.data(), {}, probs);
  std::vector<int> counts(6);
  const int n = 60000;
  for (int i = 0; i < n; ++i) counts[s.sample(kLogits.data(), {})]++;
  // Chi-square with 5 degrees of freedom; 20.5 is the 0.999 quantile.
  double chi2 = 0;
  for (int i = 0; i < 6; ++i) chi2 += std::pow(counts[i] - n * probs[i], 2) / (n * probs[i]);
  EXPECT_LT(chi2, 20.5);
}

TEST(Sampler, SameSeedSameSequence) {
  SamplingParams p;
  p.seed = 7;
  p.top_k = 0;
  Sampler a(p, 6), b(p, 6);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.sample(kLogits.data(), {}), b.sample(kLogits.data(), {}));
}

TEST(Sampler, InvalidParametersAreErrors) {
  SamplingParams p;
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler(p, 6), Error);
  p = {};
  p.logit_bias = {{6, 1.0f}};
  EXPECT_THROW(Sampler(p, 6), Error);
}

}  // namespace
}  // namespace pangu
