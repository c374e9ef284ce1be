// Pruning arithmetic and exactness: aligned widths at the seed's ratios, global ranking, and removing
// channels that contribute nothing leaves every logit unchanged.
#include <gtest/gtest.h>

#include <random>

#include "train/backprop.h"
#include "pangu/error.h"
#include "train/prune.h"

namespace pangu {
namespace {

TEST(PruneWidths, SeedRatiosAtThePanguShape) {
  // k * 256 / 6144 for k = 1..5: the seed's 4.17% .. 20.83%.
  const std::vector<int64_t> expected = {5888, 5632, 5376, 5120, 4864};
  for (int k = 1; k <= 5; ++k)
    EXPECT_EQ(uniform_widths({6144, 6144}, k * 256.0 / 6144.0, 256), (std::vector<int64_t>{expected[k - 1], expected[k - 1]}));
  EXPECT_EQ(uniform_widths({172}, 1.0 / 24, 4), std::vector<int64_t>{164});
  EXPECT_EQ(uniform_widths({172}, 5.0 / 24, 4), std::vector<int64_t>{136});
  EXPECT_EQ(uniform_widths({172}, 0.999, 4), std::vector<int64_t>{4});  // never below one aligned block
  EXPECT_THROW(uniform_widths({172}, 1.0, 4), Error);
}

TEST(PruneWidths, GlobalRankingRemovesTheLowestAcrossLayers) {
  // Layer 0's channels all score below layer 1's: a global 25% cut comes entirely from layer 0.
  ChannelScores scores = {{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, {5, 6, 7, 8, 9, 10, 11, 12}};
  EXPECT_EQ(global_widths(scores, 0.25, 2, 16), (std::vector<int64_t>{4, 8}));
  // Relative to the original total: a model already at 12 of 16 channels loses nothing more at 25%.
  ChannelScores pruned = {{0.5, 0.6, 0.7, 0.8}, {5, 6, 7, 8, 9, 10, 11, 12}};
  EXPECT_EQ(global_widths(pruned, 0.25, 2, 16), (std::vector<int64_t>{4, 8}));
}

TEST(PruneChannels, RemovingDeadChannelsKeepsEveryLogit) {
  ModelConfig c;
  c.hidden_size = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_heads_kv = 1;
  c.head_dim = 8;
  c.intermediate_size = {24, 20};
  c.vocab_size = 30;
  c.tie_word_embeddings = true;
  c.q_bias = c.k_bias = c.v_bias = true;
  Params<float> p = zero_params<float>(c);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  p.for_each_tensor([&](const std::string& name, std::vector<float>& v) {
    for (auto& x : v) x = name.find("norm") != std::string::npos ? 1.0f : normal(rng);
  });
  // Channels 3, 7, 11 (layer 0) and 0, 19 (layer 1) write nothing: their down_proj columns are zero.
  const std::vector<std::vector<int64_t>> dead = {{3, 7, 11}, {0, 19}};
  ChannelScores scores(2);
  for (size_t l = 0; l < 2; ++l) {
    const int64_t I = c.intermediate_size[l];
    scores[l].assign(static_cast<size_t>(I), 1.0);
    for (int64_t j : dead[l]) {
      for (int64_t h = 0; h < c.hidden_size; ++h) p.layers[l].w_down[static_cast<size_t>(h * I + j)] = 0.0f;
      scores[l][static_cast<size_t>(j)] = 0.0;
    }
  }
  const Params<float> pruned = prune_mlp_channels(p, scores, {21, 18});
  EXPECT_EQ(pruned.config.intermediate_size, (std::vector<int64_t>{21, 18}));
  EXPECT_EQ(pruned.layers[0].w_gate.size(), 21u * 16);
  EXPECT_EQ(pruned.layers[1].w_down.size(), 16u * 18);
  const std::vector<int32_t> tokens = {1, 4, 9, 29, 0, 13};
  std::vector<float> before(6 * 30), after(6 * 30);
  training_logits(p, tokens.data(), 6, before.data(), nullptr);
  training_logits(pruned, tokens.data(), 6, after.data(), nullptr);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(after[i], before[i], 1e-5) << i;
  // Removing a live channel instead does change them.
  scores[0][3] = 1.0;
  scores[0][4] = 0.0;
  const Params<float> wrong = prune_mlp_channels(p, scores, {21, 18});
  training_logits(wrong, tokens.data(), 6, after.data(), nullptr);
  double diff = 0;
  for (size_t i = 0; i < before.size(); ++i) diff = std::max(diff, double(std::fabs(after[i] - before[i])));
  EXPECT_GT(diff, 1e-3);
}

}  // namespace
}  // namespace pangu
