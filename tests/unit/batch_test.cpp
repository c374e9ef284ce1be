// Batching is invisible: sequences run together in one forward (pangu::Batch) get the logits and the
// tokens they get alone, bit for bit, whatever their lengths, positions and the batch's make-up.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "pangu/error.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

std::vector<int32_t> random_tokens(std::mt19937& rng, int64_t vocab, int64_t n) {
  std::uniform_int_distribution<int32_t> d(1, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = d(rng);
  return t;
}

class BatchAllSimd : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_simd()) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
    set_active_simd(GetParam());
  }
  void TearDown() override { set_active_simd(detected_simd()); }
};

// Random steps over 5 sequences: each step a random subset, each member a random number of tokens (a prefill
// chunk, a decode token, a verification of several); logits compared with a twin session run alone.
void check_random_batches(const std::string& model_name, int threads) {
  const auto model = Model::load(test::shared("models/" + model_name));
  ThreadPool pool(threads);
  const int64_t vocab = model->config().vocab_size;
  constexpr int kSequences = 5;
  std::vector<std::unique_ptr<Session>> batched, alone;
  for (int i = 0; i < kSequences; ++i) {
    const int64_t n_ctx = 48 + 16 * i;  // different cache sizes and element types in one batch
    const KvType kv = i % 2 ? KvType::kBF16 : KvType::kF32;
    batched.push_back(std::make_unique<Session>(*model, n_ctx, pool, kv));
    alone.push_back(std::make_unique<Session>(*model, n_ctx, pool, kv));
  }
  Batch batch(*model, pool);
  std::mt19937 rng(7);
  for (int step = 0; step < 30; ++step) {
    batch.clear();
    std::vector<int> members;
    std::vector<std::vector<int32_t>> tokens(kSequences);
    std::vector<bool> all(kSequences);
    for (int i = 0; i < kSequences; ++i) {
      const int64_t room = batched[i]->n_ctx() - batched[i]->n_past();
      if (room < 1 || rng() % 3 == 0) continue;
      tokens[i] = random_tokens(rng, vocab, std::min<int64_t>(room, 1 + rng() % 7));
      all[i] = rng() % 2 == 0;
      members.push_back(i);
    }
    if (members.empty()) continue;
    for (int i : members) batch.add(*batched[i], tokens[i].data(), static_cast<int64_t>(tokens[i].size()), all[i]);
    batch.run();
    for (size_t e = 0; e < members.size(); ++e) {
      const int i = members[e];
      SCOPED_TRACE("step " + std::to_string(step) + ", sequence " + std::to_string(i));
      const float* want = alone[i]->forward(tokens[i], all[i]);
      const size_t rows = all[i] ? tokens[i].size() : 1;
      ASSERT_EQ(batched[i]->n_past(), alone[i]->n_past());
      ASSERT_EQ(std::memcmp(batch.logits(e), want, rows * vocab * sizeof(float)), 0);
    }
    // Now and then a sequence rolls back, as speculative decoding and the prompt cache do.
    if (step % 5 == 4) {
      const int i = members.front();
      const int64_t keep = batched[i]->n_past() / 2;
      batched[i]->truncate(keep);
      alone[i]->truncate(keep);
    }
  }
}

TEST_P(BatchAllSimd, LogitsEqualEachSequenceAloneOnTinyPangu) {
  check_random_batches("tiny-pangu-random", 2);
}

TEST_P(BatchAllSimd, LogitsEqualEachSequenceAloneOnStories) {
  check_random_batches("stories260K", 1);
}

INSTANTIATE_TEST_SUITE_P(Simd, BatchAllSimd,
                         ::testing::Values(SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

TEST(Batch, InterleavedGenerationsEqualGenerateAlone) {
  const std::string dir = test::shared("models/stories260K");
  const auto model = Model::load(dir);
  const auto tokenizer = load_tokenizer(dir);
  ThreadPool pool(1);
  const std::vector<std::string> prompts = {"Once upon a time", "Tom and Sue went to the park to play",
                                            "The little dog", "Lily had a red ball. She"};
  struct Case {
    std::vector<int32_t> prompt;
    GenerateOptions options;
    std::unique_ptr<Proposer> proposer;
  };
  std::vector<Case> cases;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Case c;
    c.prompt = tokenizer->encode(prompts[i]);
    c.options.max_new_tokens = 40 + 10 * static_cast<int64_t>(i);
    c.options.eos_token_ids = model->eos_token_ids();
    c.options.sampling.greedy = i % 2 == 0;
    c.options.sampling.seed = 100 + i;
    if (i == 2) c.options.stop_strings = {"."};
    cases.push_back(std::move(c));
  }
  cases[1].proposer = make_pld_proposer(1, 3);  // speculative verification inside a batch, sampled

  std::vector<GenerateResult> want;
  for (auto& c : cases) {
    Session session(*model, 256, pool);
    GenerateOptions o = c.options;
    auto fresh = make_pld_proposer(1, 3);
    o.proposer = c.proposer ? fresh.get() : nullptr;
    want.push_back(generate(session, tokenizer.get(), c.prompt, o));
  }

  // Sequences join at different steps (continuous batching); prompts are prefilled in chunks of 3.
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<std::unique_ptr<Generation>> generations;
  for (auto& c : cases) {
    sessions.push_back(std::make_unique<Session>(*model, 256, pool));
    GenerateOptions o = c.options;
    o.proposer = c.proposer.get();
    generations.push_back(std::make_unique<Generation>(*sessions.back(), tokenizer.get(), c.prompt, o));
  }
  Batch batch(*model, pool);
  for (int step = 0; step < 1000; ++step) {
    batch.clear();
    std::vector<size_t> members;
    for (size_t i = 0; i < cases.size(); ++i) {
      if (static_cast<int>(i) * 4 > step || generations[i]->done()) continue;  // sequence i joins at step 4i
      const auto& tokens = generations[i]->next_tokens(3);
      batch.add(*sessions[i], tokens.data(), static_cast<int64_t>(tokens.size()), generations[i]->wants_all_logits());
      members.push_back(i);
    }
    if (members.empty()) break;
    batch.run();
    for (size_t e = 0; e < members.size(); ++e) generations[members[e]]->advance(batch.logits(e));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(prompts[i]);
    ASSERT_TRUE(generations[i]->done());
    const GenerateResult got = generations[i]->finish();
    EXPECT_EQ(got.tokens, want[i].tokens);
    EXPECT_EQ(got.text, want[i].text);
    EXPECT_EQ(got.stop_reason, want[i].stop_reason);
  }
}

TEST(Batch, RefusesTheSameSessionTwiceAndAnotherModel) {
  const auto a = Model::load(test::shared("models/stories260K"));
  const auto b = Model::load(test::shared("models/stories260K"));
  ThreadPool pool(1);
  Session s(*a, 16, pool), other(*b, 16, pool);
  Batch batch(*a, pool);
  const int32_t t[] = {1, 2};
  batch.add(s, t, 2);
  EXPECT_THROW(batch.add(s, t, 1), Error);
  EXPECT_THROW(batch.add(other, t, 1), Error);
  EXPECT_THROW(batch.logits(0), Error);  // not run yet
  Session full(*a, 2, pool);
  EXPECT_THROW(batch.add(full, t, 3, false), Error);  // past its context: refused before anything runs
}

}  // namespace
}  // namespace pangu
