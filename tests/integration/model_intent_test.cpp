// The recognizers that use the language model: the probe reads a label that is linearly present in the hidden
// states; the prompt recognizer picks the category name of highest log-likelihood, as the engine computes it
// for each whole sequence independently.
#include <gtest/gtest.h>

#include <cmath>

#include "adapt/model_intent.h"
#include "core/thread_pool.h"
#include "eval/log_prob.h"
#include "pangu/chat.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  ThreadPool pool{1};
  explicit Loaded(const std::string& name)
      : model(Model::load(test::shared("models/" + name))), tokenizer(load_tokenizer(model->dir())) {}
};

// Two kinds of story openings: which kind a text is can be read off the mean of its final-norm states.
TEST(ProbeIntent, LearnsALabelThatIsLinearlyPresentInTheStates) {
  Loaded m("stories260K");
  const std::vector<std::string> subjects = {"Tom", "Lily", "the cat", "a bird", "Sue", "the old man", "Ben",
                                             "a little girl", "the dog", "Mia", "the king", "a frog"};
  auto text = [&](int kind, size_t i) {
    return kind == 0 ? "Once upon a time, " + subjects[i] + " went to the park and played all day."
                     : subjects[i] + " was very sad. " + subjects[i] + " cried and cried because it was raining.";
  };
  std::vector<std::vector<float>> pooled;
  std::vector<Intent> labels;
  for (size_t i = 0; i < 8; ++i)
    for (int kind = 0; kind < 2; ++kind) {
      pooled.push_back(pooled_final_norm(*m.model, *m.tokenizer, m.pool, text(kind, i)));
      labels.push_back(kind == 0 ? Intent::kChat : Intent::kMath);
    }
  ProbeHead head = train_probe(pooled, labels, {});
  head.threshold = 0.0f;
  ProbeIntentRecognizer probe(*m.model, *m.tokenizer, m.pool, head);
  int right = 0;
  for (size_t i = 8; i < subjects.size(); ++i) {
    right += probe.classify(text(0, i)).label == Intent::kChat;
    right += probe.classify(text(1, i)).label == Intent::kMath;
  }
  EXPECT_GE(right, 7) << "of 8 held-out texts";
  // The head survives its file.
  const ProbeHead again = ProbeHead::from_json(head.to_json(), "probe.json");
  EXPECT_EQ(again.logits(pooled[3]), head.logits(pooled[3]));
}

TEST(ProbeIntent, BadHeadsAreRefusedWithTheReason) {
  Loaded m("stories260K");
  ProbeHead head = train_probe({std::vector<float>(64, 1.0f), std::vector<float>(64, 0.0f)}, {Intent::kChat, Intent::kQa},
                               {});
  const std::string good = head.to_json();
  auto expect_error = [](const std::string& text, const std::string& what) {
    try {
      ProbeHead::from_json(text, "probe.json");
      ADD_FAILURE() << "accepted; expected " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error("[]", "expected a JSON object");
  expect_error("{\"format\": \"other\"}", "not an intent probe");
  auto j = nlohmann::json::parse(good);
  j["weights"].erase(0);
  expect_error(j.dump(), "array sizes");
  j = nlohmann::json::parse(good);
  j["hidden"] = 0;
  expect_error(j.dump(), "\"hidden\" is 0");
  ProbeHead wrong = head;
  wrong.hidden = 96;
  wrong.mean.assign(96, 0.0f);
  wrong.inv_std.assign(96, 0.0f);
  wrong.weights.assign(96 * kIntentCount, 0.0f);
  EXPECT_THROW(ProbeIntentRecognizer(*m.model, *m.tokenizer, m.pool, wrong), Error);
}

// log P(name | question) for each category from one full-sequence forward per name, independent of the
// recognizer's cache reuse.
std::array<double, kIntentCount> independent_log_likelihoods(Loaded& m, const PromptIntentRecognizer& r,
                                                             const std::string& request) {
  const ChatTemplate t = detect_chat_template(m.model->config(), m.tokenizer.get());
  const std::string q = r.question(request);
  const auto prompt = m.tokenizer->encode(q, !chat_template_has_bos(t));
  std::array<double, kIntentCount> out{};
  const int64_t vocab = m.model->config().vocab_size;
  for (int c = 0; c < kIntentCount; ++c) {
    std::string name = t == ChatTemplate::kRaw && q.back() == ':' ? " " : "";
    name += intent_name(static_cast<Intent>(c));
    const auto full = m.tokenizer->encode(q + name, !chat_template_has_bos(t));
    EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), full.begin())) << "the prompt is not a prefix";
    Session s(*m.model, static_cast<int64_t>(full.size()), m.pool);
    const float* logits = s.forward(full, /*all_logits=*/true);
    double total = 0;
    for (size_t k = prompt.size(); k < full.size(); ++k) total += token_logprob(logits + (k - 1) * vocab, vocab, full[k]);
    out[c] = total;
  }
  return out;
}

TEST(PromptIntent, PicksTheNameOfHighestLogLikelihood) {
  for (const std::string model : {"stories260K", "zh-poem-750K"}) {
    Loaded m(model);
    const PromptIntentRecognizer r(*m.model, *m.tokenizer, m.pool);
    for (const std::string request : {"Once upon a time there was a dog.", "What is 3 plus 4?", "春风又绿江南岸"}) {
      SCOPED_TRACE(model + ": " + request);
      const auto want = independent_log_likelihoods(m, r, request);
      const auto got = r.name_log_likelihoods(request);
      for (int c = 0; c < kIntentCount; ++c) EXPECT_NEAR(got[c], want[c], 1e-3);
      const int best = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
      EXPECT_EQ(static_cast<int>(r.classify(request).label), best);
    }
    EXPECT_TRUE(r.classify("").uncertain);
  }
}

}  // namespace
}  // namespace pangu
