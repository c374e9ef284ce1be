// The online choice of decoding method: with proposers of known acceptance on a real model, a workload whose
// mix changes halfway (speculation pays, then stops paying) sees the choice switch within 20 requests; and
// the bandit's arithmetic on its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "adapt/method_bandit.h"
#include "core/thread_pool.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

// Proposes the reference continuation's next tokens, each right with probability `acceptance` (a wrong
// proposal is another token): a proposer whose acceptance rate is known.
class KnownAcceptanceProposer final : public Proposer {
 public:
  KnownAcceptanceProposer(std::vector<int32_t> reference, double acceptance, uint64_t seed)
      : reference_(std::move(reference)), acceptance_(acceptance), rng_(seed) {}
  std::string_view name() const override { return "known"; }
  void propose(const std::vector<int32_t>& context, int k, Proposal& out) override {
    std::bernoulli_distribution right(acceptance_);
    for (int i = 0; i < k; ++i) {
      const size_t at = context.size() + static_cast<size_t>(i);
      if (at >= reference_.size()) return;
      out.tokens.push_back(right(rng_) ? reference_[at] : (reference_[at] + 1) % 512);
    }
  }

 private:
  std::vector<int32_t> reference_;  // prompt + greedy continuation
  double acceptance_;
  std::mt19937_64 rng_;
};

TEST(MethodBandit, SwitchesWithinTwentyRequestsWhenSpeculationStopsPaying) {
  const std::string dir = test::shared("models/stories260K");
  const auto model = Model::load(dir);
  const auto tokenizer = load_tokenizer(dir);
  ThreadPool pool(1);
  const std::vector<std::string> prompts = {"Once upon a time", "Tom and Sue", "The little dog", "Lily had a ball",
                                            "One day, a boy", "The sun was hot", "Mom said", "A cat and a dog"};
  // What a request reports: its decode speed under a fixed cost model (a step costs 1 + 0.08 per proposed
  // token, 20 steps a second), so the test measures acceptance, not this machine's timing.
  auto run = [&](const std::string& prompt, bool speculate, double acceptance, uint64_t seed) {
    const auto ids = tokenizer->encode(prompt);
    GenerateOptions g;
    g.max_new_tokens = 40;
    g.sampling.greedy = true;
    g.ignore_eos = true;
    Session plain_session(*model, 128, pool);
    const auto reference = generate(plain_session, nullptr, ids, g);
    std::vector<int32_t> full = ids;
    full.insert(full.end(), reference.tokens.begin(), reference.tokens.end());
    KnownAcceptanceProposer proposer(full, acceptance, seed);
    if (speculate) g.proposer = &proposer;
    Session session(*model, 128, pool);
    const auto r = generate(session, nullptr, ids, g);
    EXPECT_EQ(r.tokens, reference.tokens);  // lossless whatever the proposer
    const double steps = static_cast<double>(r.speculation.steps + r.speculation.plain_steps);
    return 20.0 * static_cast<double>(r.tokens.size()) / (steps + 0.08 * static_cast<double>(r.speculation.proposed));
  };

  MethodBandit bandit;
  bandit.add_arm("code", "plain", 0);
  bandit.add_arm("code", "spec", 0);
  std::vector<std::string> chosen;
  for (int i = 0; i < 80; ++i) {
    const double acceptance = i < 40 ? 0.9 : 0.0;  // the mix changes at request 40
    const std::string method = bandit.choose("code");
    chosen.push_back(method);
    bandit.observe("code", method, run(prompts[i % prompts.size()], method == "spec", acceptance, i));
  }
  auto share = [&](int from, int to, const std::string& m) {
    return static_cast<double>(std::count(chosen.begin() + from, chosen.begin() + to, m)) / (to - from);
  };
  EXPECT_GE(share(10, 40, "spec"), 0.8) << "speculation pays in the first half";
  // After the change: plain within 20 requests, and it stays.
  int first_plain_run = -1;
  for (int i = 40; i < 78; ++i)
    if (chosen[i] == "plain" && chosen[i + 1] == "plain" && chosen[i + 2] == "plain") {
      first_plain_run = i;
      break;
    }
  ASSERT_GE(first_plain_run, 40);
  std::printf("speculation chosen in %.0f%% of requests 10-39; plain from request %d on (%d after the change); "
              "plain in %.0f%% of requests 60-79\n",
              100 * share(10, 40, "spec"), first_plain_run, first_plain_run - 40, 100 * share(60, 80, "plain"));
  EXPECT_LE(first_plain_run - 40, 20) << "switched " << first_plain_run - 40 << " requests after the change";
  EXPECT_GE(share(60, 80, "plain"), 0.8);
}

TEST(MethodBandit, StartsFromThePriorTriesUnmeasuredArmsAndKeepsExploring) {
  MethodBandit bandit;
  bandit.add_arm("chat", "plain", 20.0);
  bandit.add_arm("chat", "pld:3:4", 30.0);
  EXPECT_EQ(bandit.choose("chat"), "pld:3:4");  // the profile's faster method
  bandit.add_arm("chat", "draft:d:4", 0);
  EXPECT_EQ(bandit.choose("chat"), "draft:d:4");  // never measured: tried first
  EXPECT_EQ(bandit.choose("math"), "plain");      // no arms: plain
  // The best arm is chosen most of the time, the others now and then.
  MethodBandit b;
  b.add_arm("qa", "a", 0);
  b.add_arm("qa", "b", 0);
  int b_count = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string m = b.choose("qa");
    b_count += m == "b";
    b.observe("qa", m, m == "a" ? 20.0 : 15.0);
  }
  EXPECT_GT(b_count, 2);
  EXPECT_LT(b_count, 60);
  const auto arms = b.arms("qa");
  ASSERT_EQ(arms.size(), 2u);
  EXPECT_NEAR(arms[0].mean(), 20.0, 1e-9);
}

}  // namespace
}  // namespace pangu
