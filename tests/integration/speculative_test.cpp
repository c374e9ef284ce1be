// Speculative decoding is lossless. Greedy: with every proposer and setting, the output is token for token
// that of plain greedy decoding. Sampling: the distribution of the generated tokens equals plain sampling's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/thread_pool.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include "pangu/tokenizer.h"
#include "model/weights.h"
#include "quant/quantize_model.h"
#include "test_util.h"

namespace pangu {
namespace {

struct Fixture {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Model> perturbed;  // a W4A16 copy: a draft that is sometimes wrong
  std::vector<std::vector<int32_t>> prompts;
};

// Loaded once per model: the W4A16 copy is written to a temporary directory that lives with the process.
Fixture& fixture(const std::string& name) {
  static std::map<std::string, Fixture> cache;
  static test::TempDir tmp;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Fixture f;
  const std::string dir = test::shared("models/" + name);
  f.model = Model::load(dir);
  f.tokenizer = load_tokenizer(dir);
  ThreadPool pool(2);
  QuantizeOptions q;
  q.scheme = parse_quant_scheme("w4a16-g128");
  quantize_model(dir, tmp / name, q, pool);
  f.perturbed = Model::load(tmp / name);
  const std::vector<std::string> texts =
      name == "stories260K"
          ? std::vector<std::string>{"Once upon a time, there was a little dog. The dog liked to run. The dog",
                                     "Tom and Sue went to the park. Tom said, \"Let us play.\" Sue said,",
                                     "The sun was hot."}
          : std::vector<std::string>{"床前明月光，疑是地上霜。", "白日依山尽，黄河入海流。欲穷千里目，", "春"};
  for (const auto& t : texts) f.prompts.push_back(f.tokenizer->encode(t, true));
  return cache.emplace(name, std::move(f)).first->second;
}

std::vector<int32_t> run(const Model& model, const std::vector<int32_t>& prompt, const SamplingParams& sampling,
                         Proposer* proposer, SpeculationOptions spec, int n, SpeculationStats* stats = nullptr) {
  ThreadPool pool(1);
  Session session(model, 256, pool);
  GenerateOptions g;
  g.max_new_tokens = n;
  g.sampling = sampling;
  g.proposer = proposer;
  g.speculation = spec;
  g.ignore_eos = true;
  const GenerateResult r = generate(session, nullptr, prompt, g);
  if (stats) *stats = r.speculation;
  return r.tokens;
}

SamplingParams greedy() {
  SamplingParams s;
  s.greedy = true;
  return s;
}

class Speculative : public ::testing::TestWithParam<std::string> {};

TEST_P(Speculative, GreedyPldIsIdenticalToPlainForEveryNAndK) {
  Fixture& f = fixture(GetParam());
  int64_t accepted = 0;
  for (const auto& prompt : f.prompts) {
    const auto plain = run(*f.model, prompt, greedy(), nullptr, {}, 60);
    for (int n = 1; n <= 4; ++n)
      for (int k = 1; k <= 8; ++k)
        for (bool adaptive : {false, true}) {
          SpeculationOptions spec;
          spec.k = k;
          spec.k_max = 8;
          spec.adaptive = adaptive;
          auto pld = make_pld_proposer(1, n);
          SpeculationStats stats;
          EXPECT_EQ(run(*f.model, prompt, greedy(), pld.get(), spec, 60, &stats), plain)
              << "N=" << n << " K=" << k << (adaptive ? " adaptive" : "");
          accepted += stats.accepted;
        }
  }
  EXPECT_GT(accepted, 0) << "PLD never proposed an accepted token: the test would not test anything";
}

TEST_P(Speculative, GreedyDraftIsIdenticalToPlain) {
  Fixture& f = fixture(GetParam());
  int64_t perturbed_proposed = 0, perturbed_accepted = 0;
  for (const auto& prompt : f.prompts) {
    const auto plain = run(*f.model, prompt, greedy(), nullptr, {}, 60);
    for (int k : {1, 3, 4, 8}) {
      for (bool adaptive : {false, true}) {
        SpeculationOptions spec;
        spec.k = k;
        spec.adaptive = adaptive;
        SpeculationStats self_stats, perturbed_stats;
        ThreadPool pool(1);
        auto self = make_draft_proposer(*f.model, 256, pool, greedy());
        EXPECT_EQ(run(*f.model, prompt, greedy(), self.get(), spec, 60, &self_stats), plain) << "K=" << k;
        if (!adaptive) {  // an adaptive run may pause (a same-size draft cannot pay), which proves nothing
          EXPECT_GT(self_stats.proposed, 0);
          EXPECT_EQ(self_stats.accepted, self_stats.proposed) << "the model drafting for itself must be accepted";
        }
        auto perturbed = make_draft_proposer(*f.perturbed, 256, pool, greedy());
        EXPECT_EQ(run(*f.model, prompt, greedy(), perturbed.get(), spec, 60, &perturbed_stats), plain) << "K=" << k;
        perturbed_proposed += perturbed_stats.proposed;
        perturbed_accepted += perturbed_stats.accepted;
      }
    }
  }
  EXPECT_GT(perturbed_accepted, 0);
  EXPECT_LT(perturbed_accepted, perturbed_proposed) << "the W4A16 draft should sometimes be rejected";
}

// A draft loaded as drafts are (load_draft_model) reads an int8 head, not the stored float one; the
// output stays that of plain decoding, and the model drafting for itself through its int8 head is still
// accepted nearly always (a rounding of the head flips an argmax now and then, no more).
TEST_P(Speculative, DraftWithItsHeadQuantizedAtLoadIsLossless) {
  Fixture& f = fixture(GetParam());
  ASSERT_EQ(f.model->weights().lm_head.quant, QuantFormat::kNone) << "the shared model should have a float head";
  const auto draft = load_draft_model(test::shared("models/" + GetParam()));
  EXPECT_EQ(draft->weights().lm_head.quant, QuantFormat::kInt8);
  int64_t proposed = 0, accepted = 0;
  for (const auto& prompt : f.prompts) {
    const auto plain = run(*f.model, prompt, greedy(), nullptr, {}, 60);
    ThreadPool pool(1);
    auto proposer = make_draft_proposer(*draft, 256, pool, greedy());
    SpeculationOptions spec;
    spec.k = 4;
    SpeculationStats stats;
    EXPECT_EQ(run(*f.model, prompt, greedy(), proposer.get(), spec, 60, &stats), plain);
    proposed += stats.proposed;
    accepted += stats.accepted;
  }
  EXPECT_GT(proposed, 0);
  EXPECT_GE(accepted, proposed * 9 / 10) << "the same model with an int8 head should draft almost perfectly";
}

// With a minimum probability, the draft stops after the first token it gives less than that probability: every
// proposed token but the last clears the bar, and the last one either does not or is the K-th. The
// probabilities are recomputed here from the draft's own logits (softmax, independently of the proposer).
// The output stays that of plain decoding.
TEST_P(Speculative, DraftStopsAfterItsFirstUnsureTokenAndStaysLossless) {
  Fixture& f = fixture(GetParam());
  constexpr float kMinProbability = 0.6f;
  constexpr int kK = 8;
  int64_t short_proposals = 0;
  for (const auto& prompt : f.prompts) {
    ThreadPool pool(1);
    auto proposer = make_draft_proposer(*f.perturbed, 256, pool, greedy(), kMinProbability);
    Session reference(*f.perturbed, 256, pool);
    std::vector<int32_t> context = prompt;
    for (int step = 0; step < 6; ++step) {
      Proposal proposal;
      proposer->propose(context, kK, proposal);
      ASSERT_FALSE(proposal.tokens.empty());
      ASSERT_LE(proposal.tokens.size(), static_cast<size_t>(kK));
      reference.truncate(0);
      const float* logits = reference.forward(context.data(), static_cast<int64_t>(context.size()));
      for (size_t i = 0; i < proposal.tokens.size(); ++i) {
        const int64_t vocab = reference.vocab_size();
        const int32_t argmax = static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
        EXPECT_EQ(proposal.tokens[i], argmax) << "step " << step << " token " << i;
        double total = 0.0;
        for (int64_t v = 0; v < vocab; ++v) total += std::exp(static_cast<double>(logits[v] - logits[argmax]));
        const double p = 1.0 / total;
        const bool last = i + 1 == proposal.tokens.size();
        if (!last) {
          EXPECT_GE(p, kMinProbability) << "drafting went on after an unsure token, step " << step;
        } else if (proposal.tokens.size() < static_cast<size_t>(kK)) {
          EXPECT_LT(p, kMinProbability) << "drafting stopped after a sure token, step " << step;
        }
        if (!last) logits = reference.forward(&proposal.tokens[i], 1);
      }
      short_proposals += proposal.tokens.size() < static_cast<size_t>(kK) ? 1 : 0;
      context.insert(context.end(), proposal.tokens.begin(), proposal.tokens.end());  // as if all were accepted
    }
    const auto plain = run(*f.model, prompt, greedy(), nullptr, {}, 60);
    SpeculationOptions spec;
    spec.k = kK;
    auto fresh = make_draft_proposer(*f.perturbed, 256, pool, greedy(), kMinProbability);
    EXPECT_EQ(run(*f.model, prompt, greedy(), fresh.get(), spec, 60), plain);
  }
  EXPECT_GT(short_proposals, 0) << "the draft was always sure: the test would not test the stop";
}

INSTANTIATE_TEST_SUITE_P(Models, Speculative, ::testing::Values("stories260K", "zh-poem-750K"),
                         [](const auto& info) { return info.param == "stories260K" ? "stories" : "zh_poem"; });

// Marginal distributions of the first tokens from `runs` generations with different seeds.
std::vector<std::map<int32_t, int>> token_histograms(const Model& model, const std::vector<int32_t>& prompt,
                                                     SamplingParams sampling, const std::function<std::unique_ptr<Proposer>(const SamplingParams&)>& make,
                                                     int runs, int n_tokens, uint64_t seed0, int64_t* accepted) {
  std::vector<std::map<int32_t, int>> hist(n_tokens);
  SpeculationOptions spec;
  spec.k = 3;
  for (int r = 0; r < runs; ++r) {
    sampling.seed = seed0 + r;
    auto proposer = make ? make(sampling) : nullptr;  // the draft's random stream follows the run's seed
    SpeculationStats stats;
    const auto tokens = run(model, prompt, sampling, proposer.get(), spec, n_tokens, &stats);
    if (accepted) *accepted += stats.accepted;
    for (int i = 0; i < n_tokens; ++i) hist[i][tokens[i]]++;
  }
  return hist;
}

// Total variation distance, and the bound the sample size allows: under equal distributions the expected
// |P_i - S_i| is sqrt(4 p_i / (pi n)) for n samples each; the bound is twice the expected TVD plus 0.01.
void expect_same_distribution(const std::map<int32_t, int>& a, const std::map<int32_t, int>& b, int n,
                              const std::string& what) {
  std::map<int32_t, double> pa, pb;
  for (auto [t, c] : a) pa[t] = static_cast<double>(c) / n;
  for (auto [t, c] : b) pb[t] = static_cast<double>(c) / n;
  std::map<int32_t, double> pooled;
  for (auto [t, p] : pa) pooled[t] += p / 2;
  for (auto [t, p] : pb) pooled[t] += p / 2;
  double tvd = 0, expected = 0;
  for (auto [t, p] : pooled) {
    tvd += std::fabs(pa[t] - pb[t]) / 2;
    expected += std::sqrt(4 * p / (M_PI * n)) / 2;
  }
  EXPECT_LT(tvd, 2 * expected + 0.01) << what << ": TVD " << tvd << ", expected about " << expected;
}

TEST(SpeculativeSampling, DistributionOfGeneratedTokensEqualsPlainSampling) {
  Fixture& f = fixture("stories260K");
  // A prompt that repeats itself, so PLD proposes on the first steps.
  const auto prompt = f.tokenizer->encode("Tom said, \"I like the red ball.\" Tom said, \"I like the red ball.\" Tom said, \"I like the red ball.\" Tom said,", true);
  SamplingParams s;
  s.temperature = 1.0f;
  s.top_k = 0;
  s.top_p = 1.0f;
  s.min_p = 0.0f;
  const int runs = 3000, n_tokens = 3;
  const auto plain = token_histograms(*f.model, prompt, s, nullptr, runs, n_tokens, 1, nullptr);
  int64_t pld_accepted = 0, draft_accepted = 0;
  const auto pld = token_histograms(*f.model, prompt, s, [](const SamplingParams&) { return make_pld_proposer(1, 3); }, runs, n_tokens,
                                    100000, &pld_accepted);
  ThreadPool pool(1);
  const auto draft = token_histograms(
      *f.model, prompt, s, [&](const SamplingParams& run_sampling) { return make_draft_proposer(*f.perturbed, 256, pool, run_sampling); }, runs, n_tokens, 200000,
      &draft_accepted);
  EXPECT_GT(pld_accepted, runs / 10) << "PLD proposals were rarely accepted: the test would prove little";
  EXPECT_GT(draft_accepted, runs / 10);
  for (int i = 0; i < n_tokens; ++i) {
    expect_same_distribution(plain[i], pld[i], runs, "PLD token " + std::to_string(i));
    expect_same_distribution(plain[i], draft[i], runs, "draft token " + std::to_string(i));
  }
}

}  // namespace
}  // namespace pangu
