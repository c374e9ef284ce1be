// Intent recognizers that use the language model itself (docs/adapt.md):
//   probe  - a linear head on the mean of the final-norm states of the request's prefill, which serving
//            computes anyway; trained per model, stored as JSON beside the model or where the user says;
//   prompt - zero-shot: the model is asked in its chat template which category the request belongs to, and
//            the category whose name has the highest log-likelihood wins.
// Both read at most kModelIntentTokens tokens of the request (its head), so a long request costs a bounded
// prefill.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapt/intent.h"
#include "adapt/lexical_intent.h"

namespace pangu {

class Model;
class Tokenizer;
class ThreadPool;

inline constexpr int64_t kModelIntentTokens = 96;

// The mean over positions of the final-norm output for `text` (BOS added when the tokenizer has one):
// [hidden]. Empty text gives zeros.
std::vector<float> pooled_final_norm(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                     std::string_view text);

struct ProbeHead {
  std::string model;  // the model directory it was trained on, for the record
  int64_t hidden = 0;
  float threshold = 0.5f;
  std::vector<float> mean, inv_std;  // feature standardization, [hidden]
  std::vector<float> weights;        // [kIntentCount][hidden]
  std::array<float, kIntentCount> bias{};

  std::string to_json() const;
  static ProbeHead from_json(const std::string& text, const std::string& origin);
  static ProbeHead load(const std::string& path);
  std::array<float, kIntentCount> logits(const std::vector<float>& pooled) const;
};

struct ProbeTrainOptions {
  int epochs = 200;
  double learning_rate = 0.5;
  double l2 = 1e-4;
  int64_t per_category = 150;  // training requests per category (the prefill of each is the cost)
};

// Full-batch gradient descent on standardized pooled states: deterministic for a given sample order.
ProbeHead train_probe(const std::vector<std::vector<float>>& pooled, const std::vector<Intent>& labels,
                      const ProbeTrainOptions& options);

class ProbeIntentRecognizer : public IntentRecognizer {
 public:
  ProbeIntentRecognizer(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, ProbeHead head);
  IntentResult classify(std::string_view text) const override;
  std::string name() const override { return "probe"; }

 private:
  const Model& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
  ProbeHead head_;
};

class PromptIntentRecognizer : public IntentRecognizer {
 public:
  PromptIntentRecognizer(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool);
  IntentResult classify(std::string_view text) const override;
  std::string name() const override { return "prompt"; }
  // The exact text the model is asked (Chinese instruction for a mostly-CJK request, else English).
  std::string question(std::string_view request) const;
  // log P(name | question) summed over the name's tokens, per category in enum order.
  std::array<float, kIntentCount> name_log_likelihoods(std::string_view request) const;

 private:
  const Model& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
  int chat_template_;  // ChatTemplate, kept as int to keep chat.h out of this header
};

}  // namespace pangu
