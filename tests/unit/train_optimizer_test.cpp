// AdamW, the learning-rate schedule and clipping; a few hundred cross-entropy steps overfit a short text;
// frozen tensors keep their values and hold no optimizer state.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/thread_pool.h"
#include "train/backprop.h"
#include "train/optimizer.h"

namespace pangu {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.hidden_size = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_heads_kv = 2;
  c.head_dim = 8;
  c.intermediate_size = {48, 48};
  c.vocab_size = 20;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = true;
  c.q_bias = c.k_bias = c.v_bias = c.o_bias = true;
  return c;
}

Params<float> random_params(const ModelConfig& c) {
  Params<float> p = zero_params<float>(c);
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  p.for_each_tensor([&](const std::string& name, std::vector<float>& v) {
    const bool norm = name.find("norm") != std::string::npos;
    for (auto& x : v) x = norm ? 1.0f : 0.1f * normal(rng);
  });
  return p;
}

void zero(Params<float>& g) {
  g.for_each_tensor([](const std::string&, std::vector<float>& v) { std::fill(v.begin(), v.end(), 0.0f); });
}

TEST(TrainOptimizer, CrossEntropyTrainingOverfitsAShortText) {
  const ModelConfig c = small_config();
  Params<float> p = random_params(c);
  Params<float> g = zero_params<float>(c);
  const std::vector<int32_t> text = {1, 5, 9, 2, 14, 5, 9, 3, 17, 11, 6, 5, 9, 2, 19, 8, 4, 12, 0, 7, 13, 5, 9, 16};
  const int64_t n = static_cast<int64_t>(text.size());
  AdamW adam(g, {});
  LrSchedule schedule{1e-2, 20, 300, LrDecay::kCosine, 0.1};
  ThreadPool pool(2);
  LossSpec ce;
  double first = 0, last = 0;
  for (int64_t step = 0; step < 300; ++step) {
    zero(g);
    const LossValue v = forward_backward(p, text.data(), n, nullptr, ce, &g, &pool);
    if (step == 0) first = v.ce;
    last = v.ce;
    clip_grad_norm(g, 1.0);
    adam.step(p, g, schedule.at(step));
  }
  EXPECT_NEAR(first, std::log(20.0), 0.5);  // a random model is near uniform
  EXPECT_LT(last, 0.05) << "from " << first;
}

TEST(TrainOptimizer, FrozenTensorsStayPutAndHoldNoState) {
  const ModelConfig c = small_config();
  Params<float> p = random_params(c);
  const Params<float> before = p;
  Params<float> g = zero_params<float>(c);
  // Train only the MLP: every other gradient vector is emptied.
  g.for_each_tensor([](const std::string& name, std::vector<float>& v) {
    if (name.find(".mlp.") == std::string::npos) v.clear();
  });
  AdamW adam(g, {});
  EXPECT_EQ(adam.tensor_names().size(), 6u);  // gate, up, down of two layers
  const std::vector<int32_t> text = {1, 2, 3, 4, 5, 6, 7, 8};
  for (int step = 0; step < 3; ++step) {
    zero(g);
    forward_backward(p, text.data(), 8, nullptr, LossSpec{}, &g, nullptr);
    adam.step(p, g, 1e-2);
  }
  EXPECT_EQ(p.embed, before.embed);
  EXPECT_EQ(p.layers[0].wq, before.layers[0].wq);
  EXPECT_EQ(p.layers[1].bo, before.layers[1].bo);
  EXPECT_EQ(p.final_norm, before.final_norm);
  EXPECT_NE(p.layers[0].w_gate, before.layers[0].w_gate);
  EXPECT_NE(p.layers[1].w_down, before.layers[1].w_down);
}

TEST(TrainOptimizer, ScheduleWarmsUpThenDecays) {
  LrSchedule linear{1.0, 10, 110, LrDecay::kLinear, 0.0};
  EXPECT_DOUBLE_EQ(linear.at(0), 0.1);
  EXPECT_DOUBLE_EQ(linear.at(9), 1.0);
  EXPECT_DOUBLE_EQ(linear.at(10), 1.0);
  EXPECT_NEAR(linear.at(60), 0.5, 0.01);
  EXPECT_NEAR(linear.at(109), 0.0, 1e-12);
  LrSchedule cosine{2.0, 0, 101, LrDecay::kCosine, 0.1};
  EXPECT_DOUBLE_EQ(cosine.at(0), 2.0);
  EXPECT_NEAR(cosine.at(50), 0.2 + 1.8 * 0.5, 1e-9);
  EXPECT_NEAR(cosine.at(100), 0.2, 1e-9);
  EXPECT_DOUBLE_EQ((LrSchedule{3.0, 0, 10, LrDecay::kConstant, 0}).at(7), 3.0);
}

TEST(TrainOptimizer, ClippingScalesToTheMaximumNorm) {
  ModelConfig c = small_config();
  Params<float> g = zero_params<float>(c);
  g.final_norm[0] = 3.0f;
  g.final_norm[1] = 4.0f;
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 10.0), 5.0);
  EXPECT_FLOAT_EQ(g.final_norm[0], 3.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 1.0), 5.0);
  EXPECT_FLOAT_EQ(g.final_norm[0], 0.6f);
  EXPECT_FLOAT_EQ(g.final_norm[1], 0.8f);
}

}  // namespace
}  // namespace pangu
