// Forward pass and greedy decoding against ../shared goldens (float64 reference implementation).
#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

using test::read_json;
using test::shared;

float max_abs_diff(const float* a, const std::vector<double>& b) {
  float m = 0;
  for (size_t i = 0; i < b.size(); ++i) m = std::max(m, static_cast<float>(std::fabs(a[i] - b[i])));
  return m;
}

void check_model_golden(const std::string& name, int threads) {
  const std::string dir = shared("models/" + name);
  auto model = Model::load(dir);
  auto tokenizer = load_tokenizer(dir);
  ASSERT_TRUE(tokenizer);
  ThreadPool pool(threads);
  const auto golden = read_json(dir + "/golden.json");
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(c["prompt"].get<std::string>());
    const auto prompt_ids = c["prompt_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tokenizer->encode(c["prompt"].get<std::string>()), prompt_ids);
    const auto want_ids = c["greedy_ids"].get<std::vector<int32_t>>();
    Session session(*model, 512, pool);
    GenerateOptions g;
    g.sampling.greedy = true;
    g.max_new_tokens = static_cast<int64_t>(want_ids.size());
    g.eos_token_ids = model->eos_token_ids();
    g.sampling.suppress_tokens.assign(model->generation_config().suppress_tokens.begin(),
                                      model->generation_config().suppress_tokens.end());
    std::vector<float> first_logits;
    auto on_token = [&](int32_t, std::string_view, const float* logits) {
      if (first_logits.empty() && logits) first_logits.assign(logits, logits + model->config().vocab_size);
      return true;
    };
    const GenerateResult r = generate(session, tokenizer.get(), prompt_ids, g, on_token);
    EXPECT_EQ(r.tokens, want_ids);
    EXPECT_LT(max_abs_diff(first_logits.data(), c["first_step_logits"].get<std::vector<double>>()), 1e-3f);
    EXPECT_EQ(tokenizer->decode(want_ids, /*skip_special=*/true), c["greedy_text"].get<std::string>());
  }
}

class GoldenAllSimd : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_simd()) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
    set_active_simd(GetParam());
  }
  void TearDown() override { set_active_simd(detected_simd()); }
};

TEST_P(GoldenAllSimd, Stories260KGreedyAndLogits) {
  check_model_golden("stories260K", 2);
}
TEST_P(GoldenAllSimd, ZhPoemGreedyWithSuppressTokens) {
  check_model_golden("zh-poem-750K", 1);
}

TEST_P(GoldenAllSimd, TinyPanguRandomLogitsAtEveryPosition) {
  const std::string dir = shared("models/tiny-pangu-random");
  auto model = Model::load(dir);
  ThreadPool pool(2);
  Session session(*model, 64, pool);
  const auto golden = read_json(dir + "/golden.json");
  const auto ids = golden["input_ids"].get<std::vector<int32_t>>();
  const float* logits = session.forward(ids, /*all_logits=*/true);
  const auto& want = golden["logits"];
  ASSERT_EQ(want.size(), ids.size());
  const int64_t vocab = model->config().vocab_size;
  for (size_t t = 0; t < ids.size(); ++t) {
    SCOPED_TRACE("position " + std::to_string(t));
    EXPECT_LT(max_abs_diff(logits + t * vocab, want[t].get<std::vector<double>>()), 2e-3f);
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, GoldenAllSimd,
                         ::testing::Values(SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

}  // namespace
}  // namespace pangu
