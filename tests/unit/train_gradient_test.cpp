// The training backward pass: every parameter's analytic gradient against central finite differences in
// double precision, the f32 path against the f64 one, the training forward against the inference engine,
// and the identity KL(p || p) = 0 with zero gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/log.h"
#include "core/thread_pool.h"
#include "pangu/model.h"
#include "quant/quantize_model.h"
#include "test_util.h"
#include "train/backprop.h"

namespace pangu {
namespace {

ModelConfig tiny_config(bool tied) {
  ModelConfig c;
  c.hidden_size = 8;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_heads_kv = 2;  // grouped-query: two query heads per kv head
  c.head_dim = 4;    // q_dim 16 != hidden 8
  c.intermediate_size = {12, 10};
  c.vocab_size = 13;
  c.rms_norm_eps = 1e-6;
  c.rope.theta = 10000.0;
  c.tie_word_embeddings = tied;
  c.q_bias = c.k_bias = c.v_bias = c.o_bias = true;
  return c;
}

Params<double> random_params(const ModelConfig& c, uint64_t seed) {
  Params<double> p = zero_params<double>(c);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  p.for_each_tensor([&](const std::string& name, std::vector<double>& v) {
    const bool norm = name.find("norm") != std::string::npos;
    for (auto& x : v) x = norm ? 1.0 + 0.2 * normal(rng) : 0.4 * normal(rng);
  });
  return p;
}

const std::vector<int32_t> kTokens = {3, 7, 1, 12, 7, 0, 5};

std::vector<float> random_teacher(int64_t n, int64_t vocab) {
  return test::random_vector(n * vocab, 99, 2.0f);
}

void check_gradients(bool tied) {
  const ModelConfig c = tiny_config(tied);
  Params<double> p = random_params(c, tied ? 1 : 2);
  const int64_t n = static_cast<int64_t>(kTokens.size());
  const std::vector<float> teacher = random_teacher(n, c.vocab_size);
  LossSpec loss;
  loss.ce_weight = 1.0;
  loss.kl_weight = 0.7;
  loss.temperature = 2.0;

  Params<double> analytic = zero_params<double>(c);
  forward_backward(p, kTokens.data(), n, teacher.data(), loss, &analytic, nullptr);
  auto total = [&] { return forward_backward<double>(p, kTokens.data(), n, teacher.data(), loss, nullptr, nullptr).total; };

  std::vector<std::vector<double>*> grads;
  analytic.for_each_tensor([&](const std::string&, std::vector<double>& v) { grads.push_back(&v); });
  size_t tensor = 0, checked = 0;
  double worst = 0;
  p.for_each_tensor([&](const std::string& name, std::vector<double>& v) {
    const std::vector<double>& g = *grads[tensor++];
    for (size_t i = 0; i < v.size(); ++i) {
      const double saved = v[i], h = 1e-5;
      v[i] = saved + h;
      const double up = total();
      v[i] = saved - h;
      const double down = total();
      v[i] = saved;
      const double numeric = (up - down) / (2 * h);
      const double err = std::fabs(numeric - g[i]) / std::max({std::fabs(numeric), std::fabs(g[i]), 1e-4});
      worst = std::max(worst, err);
      EXPECT_LE(err, 1e-5) << name << "[" << i << "]: analytic " << g[i] << " numeric " << numeric;
      ++checked;
    }
  });
  EXPECT_EQ(checked, static_cast<size_t>(count_parameters(p)));
  std::printf("checked %zu parameters (tied=%d), worst relative error %.2e\n", checked, tied, worst);

  // The f32 path (SIMD kernels, two threads) against the f64 gradients.
  Params<float> pf = zero_params<float>(c), gf = zero_params<float>(c);
  std::vector<const std::vector<double>*> src;
  p.for_each_tensor([&](const std::string&, std::vector<double>& v) { src.push_back(&v); });
  size_t k = 0;
  pf.for_each_tensor([&](const std::string&, std::vector<float>& v) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((*src[k])[i]);
    ++k;
  });
  ThreadPool pool(2);
  const LossValue lf = forward_backward(pf, kTokens.data(), n, teacher.data(), loss, &gf, &pool);
  EXPECT_NEAR(lf.total, total(), 1e-4 * std::fabs(total()));
  k = 0;
  gf.for_each_tensor([&](const std::string& name, std::vector<float>& v) {
    const std::vector<double>& g = *grads[k++];
    double max_abs = 0, max_err = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      max_abs = std::max(max_abs, std::fabs(g[i]));
      max_err = std::max(max_err, std::fabs(v[i] - g[i]));
    }
    EXPECT_LE(max_err, 1e-3 * std::max(max_abs, 1e-6)) << name;
  });
}

TEST(TrainGradient, MatchesFiniteDifferencesTied) { check_gradients(true); }
TEST(TrainGradient, MatchesFiniteDifferencesUntied) { check_gradients(false); }

TEST(TrainGradient, KlOfAModelWithItselfIsZeroWithZeroGradient) {
  const ModelConfig c = tiny_config(true);
  const Params<double> p = random_params(c, 3);
  const int64_t n = static_cast<int64_t>(kTokens.size());
  std::vector<double> logits(static_cast<size_t>(n * c.vocab_size));
  training_logits(p, kTokens.data(), n, logits.data(), nullptr);
  const std::vector<float> teacher(logits.begin(), logits.end());
  LossSpec loss;
  loss.ce_weight = 0;
  loss.kl_weight = 1;
  loss.temperature = 1.5;
  // Teacher logits rounded to f32 leave a KL of order 1e-14; the gradient is as small.
  Params<double> g = zero_params<double>(c);
  const LossValue v = forward_backward(p, kTokens.data(), n, teacher.data(), loss, &g, nullptr);
  EXPECT_LT(std::fabs(v.kl), 1e-10);
  double max_grad = 0;
  g.for_each_tensor([&](const std::string&, std::vector<double>& t) {
    for (double x : t) max_grad = std::max(max_grad, std::fabs(x));
  });
  EXPECT_LT(max_grad, 1e-6);
}

// The training forward (f32 master weights widened from the stored dtype) against the engine's own forward.
void expect_training_forward_matches_engine(const std::string& dir, double tolerance = 1e-3) {
  const auto model = Model::load(dir);
  const Params<float> p = params_from_model(*model);
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378, 1150 % 512, 290, 259, 1, 77};
  const int64_t n = static_cast<int64_t>(tokens.size()), V = model->config().vocab_size;
  ThreadPool pool(2);
  std::vector<float> train_logits(static_cast<size_t>(n * V));
  training_logits(p, tokens.data(), n, train_logits.data(), &pool);
  Session session(*model, 64, pool);
  const float* infer = session.forward(tokens, true);
  double max_err = 0;
  for (int64_t i = 0; i < n * V; ++i) max_err = std::max(max_err, std::fabs(double(train_logits[i]) - infer[i]));
  EXPECT_LT(max_err, tolerance) << dir;
}

TEST(TrainGradient, TrainingForwardMatchesTheInferenceEngine) {
  expect_training_forward_matches_engine(test::shared("models/stories260K"));
}

TEST(TrainGradient, QuantizedWeightsWidenToWhatTheEngineComputes) {
  set_log_level(LogLevel::kQuiet);  // no progress lines from quantize_model
  for (const char* scheme : {"w8a16", "w4a16-g128"}) {
    test::TempDir tmp;
    QuantizeOptions options;
    options.scheme = parse_quant_scheme(scheme);
    ThreadPool pool(1);
    quantize_model(test::shared("models/stories260K"), tmp / "q", options, pool);
    // Training keeps f32 activations; the engine's int8 products round them to int16 per 128 values
    // (kernels/packed.h), worth ~1e-3 on these logits. int4 products take f32 activations.
    expect_training_forward_matches_engine(tmp / "q", options.scheme.bits() == 8 ? 3e-3 : 1e-3);
  }
}

}  // namespace
}  // namespace pangu
