// Properties of the decoder that hold for any model: cached decoding equals full recompute, a batch of k
// tokens equals k single steps, truncating and decoding again equals decoding fresh.
#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "test_util.h"

namespace pangu {
namespace {

float max_diff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

class SessionProperty : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    model_ = Model::load(test::shared("models/" + GetParam()));
    vocab_ = model_->config().vocab_size;
    for (int i = 0; i < 20; ++i) tokens_.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab_));
  }
  std::unique_ptr<Model> model_;
  int64_t vocab_ = 0;
  std::vector<int32_t> tokens_;
  ThreadPool pool_{2};
};

TEST_P(SessionProperty, CachedDecodingEqualsFullRecompute) {
  Session full(*model_, 64, pool_);
  const float* all = full.forward(tokens_, true);
  std::vector<float> reference(all, all + tokens_.size() * vocab_);
  Session step(*model_, 64, pool_);
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const float* logits = step.forward(&tokens_[t], 1);
    EXPECT_LT(max_diff(logits, reference.data() + t * vocab_, vocab_), 1e-4f) << "position " << t;
  }
}

TEST_P(SessionProperty, BatchOfKEqualsKSingleSteps) {
  const int64_t prefix = 6;
  for (int64_t k : {1, 2, 5}) {
    Session batched(*model_, 64, pool_);
    batched.forward(tokens_.data(), prefix);
    const float* b = batched.forward(tokens_.data() + prefix, k, true);
    std::vector<float> batch(b, b + k * vocab_);
    Session single(*model_, 64, pool_);
    single.forward(tokens_.data(), prefix);
    for (int64_t i = 0; i < k; ++i) {
      const float* s = single.forward(&tokens_[prefix + i], 1);
      EXPECT_LT(max_diff(s, batch.data() + i * vocab_, vocab_), 1e-4f) << "k=" << k << " i=" << i;
    }
  }
}

TEST_P(SessionProperty, TruncateThenDecodeEqualsFresh) {
  Session session(*model_, 64, pool_);
  session.forward(tokens_.data(), 12);
  session.truncate(5);
  EXPECT_EQ(session.n_past(), 5);
  std::vector<int32_t> other = {3, 1, 4, 1, 5};
  const float* a = session.forward(other, true);
  std::vector<float> after_truncate(a, a + other.size() * vocab_);
  Session fresh(*model_, 64, pool_);
  fresh.forward(tokens_.data(), 5);
  const float* f = fresh.forward(other, true);
  EXPECT_LT(max_diff(f, after_truncate.data(), other.size() * vocab_), 1e-5f);
}

TEST_P(SessionProperty, ContextOverflowAndBadTokenAreErrors) {
  Session session(*model_, 4, pool_);
  EXPECT_THROW(session.forward(tokens_.data(), 5), Error);
  const int32_t bad = static_cast<int32_t>(vocab_);
  EXPECT_THROW(session.forward(&bad, 1), Error);
  EXPECT_THROW(session.truncate(1), Error);
}

TEST_P(SessionProperty, HookNamesEveryLayerIntermediate) {
  Session session(*model_, 16, pool_);
  std::vector<std::string> names;
  session.set_hook([&](std::string_view name, const float*, int64_t n, int64_t) {
    names.emplace_back(name);
    EXPECT_EQ(n, 3);
  });
  session.forward(tokens_.data(), 3, true);
  EXPECT_NE(std::find(names.begin(), names.end(), "layer.0.attn_out"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "logits"), names.end());
}

INSTANTIATE_TEST_SUITE_P(Models, SessionProperty, ::testing::Values("stories260K", "tiny-pangu-random"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace pangu
