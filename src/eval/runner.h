// Evaluates samples on one model: lays out and fits the prompt, reuses the KV cache of the prefix the
// previous prompt shared (the few-shot block repeats across a subject), generates or scores the choices,
// and returns the sample's record.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "eval/tasks.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"

namespace pangu {

struct EvalSettings {
  int shots = 0;
  int64_t max_new_tokens = 0;  // generation tasks
  bool chat = false;           // lay the prompt out as chat turns
  ChatTemplate chat_template = ChatTemplate::kRaw;
  SandboxLimits sandbox;
};

class Evaluator {
 public:
  // `generation` carries EOS ids and suppressed tokens; decoding is greedy whatever it says. `make_proposer`
  // (may be empty) gives a fresh proposer per sample for speculative decoding.
  Evaluator(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, int64_t n_ctx,
            GenerateOptions generation, std::function<std::unique_ptr<Proposer>()> make_proposer);
  ~Evaluator();

  // The record of one sample: id, subject, prompt, shots, output, extracted, reference, correct, tokens, time.
  Json evaluate(const EvalTask& task, const EvalSample& sample, const EvalSettings& settings);

 private:
  struct FittedPrompt {
    std::string text;
    std::vector<int32_t> tokens;
    int shots = 0;
    bool truncated = false;
    bool add_special = true;  // BOS added by the tokenizer (not already in the chat text)
  };
  FittedPrompt fit_prompt(const EvalTask& task, const EvalSample& sample, const EvalSettings& settings,
                          int64_t budget) const;
  std::string render(const FewShotPrompt& prompt, const EvalSettings& settings) const;
  // Truncates the session to the prefix `tokens` shares with what it holds (keeping at least one token to
  // run) and returns how many tokens it kept.
  int64_t reuse_prefix(const std::vector<int32_t>& tokens);
  void score_choices(const EvalTask& task, const EvalSample& sample, const FittedPrompt& prompt, Json& record);
  void generate_answer(const EvalTask& task, const EvalSample& sample, const FittedPrompt& prompt,
                       const EvalSettings& settings, Json& record);

  const Model& model_;
  const Tokenizer& tokenizer_;
  std::unique_ptr<Session> session_;
  GenerateOptions generation_;
  std::function<std::unique_ptr<Proposer>()> make_proposer_;
  std::vector<int32_t> held_;  // the prompt whose KV the session holds at its start
};

}  // namespace pangu
