// Speculative decoding: a proposer guesses the next tokens, one batched forward of the target model checks
// them all, and the longest acceptable prefix is kept. The decoding loop (generate.h) owns verification,
// so every proposer is lossless: greedy output is token-for-token that of plain greedy decoding, and
// sampled output has the target's distribution.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pangu/sampler.h"

namespace pangu {

class Model;
struct LoadOptions;
class Session;
class ThreadPool;
class Tokenizer;

struct Proposal {
  std::vector<int32_t> tokens;
  // The draft's distribution for each proposed token ([vocab] each), after the same sampler chain as the
  // target. Empty for deterministic proposers (PLD): those are verified by the one-hot rule.
  std::vector<std::vector<float>> q;
  void clear() {
    tokens.clear();
    q.clear();
  }
};

class Proposer {
 public:
  virtual ~Proposer() = default;
  virtual std::string_view name() const = 0;
  // Proposes up to k tokens to follow `context` (everything accepted so far: history, prompt, output).
  virtual void propose(const std::vector<int32_t>& context, int k, Proposal& out) = 0;
  // Seconds spent proposing, per proposed token (0 for proposers that cost nothing, like PLD).
  virtual double seconds_per_token() const { return 0.0; }
};

// Prompt lookup decoding: the last n tokens (n from n_max down to n_min) are looked up among all earlier
// positions of the context, and the k tokens that followed the most recent match are proposed. An index
// of n-grams is updated as tokens arrive, so a lookup costs O(n_max), not O(context).
std::unique_ptr<Proposer> make_pld_proposer(int n_min, int n_max);

// A draft model with the target's tokenizer drafts k tokens greedily (or by sampling with `sampling`
// when it is not greedy). Its own KV cache follows the accepted tokens. With min_probability > 0 (llama.cpp's
// --draft-p-min) drafting stops after a token the draft gives less than that probability (softmax of its
// logits when greedy, its sampling distribution otherwise): k is then the most proposed per step.
std::unique_ptr<Proposer> make_draft_proposer(const Model& draft, int64_t n_ctx, ThreadPool& pool,
                                              const SamplingParams& sampling, float min_probability = 0.0f);

// Loads a model to draft with. A float output head is quantized to int8 at load (LoadOptions::int8_head):
// the draft's head precision cannot change what is generated (the target checks every token), and a tied
// bf16 head is a third of what each draft step of a W8A16 1B reads (0.44 of 1.30 GiB), so drafting runs
// about 20% faster at an acceptance rate that moves by a token in a hundred, if at all.
std::unique_ptr<Model> load_draft_model(const std::string& dir);
LoadOptions draft_load_options();

// Refuses a draft whose vocabulary differs from the target's: vocab sizes, then a sample of token strings.
// Errors name both model directories and the first differing token.
void check_draft_compatible(const Model& target, const Tokenizer* target_tokenizer, const Model& draft,
                            const Tokenizer* draft_tokenizer);

struct SpeculationOptions {
  int k = 4;             // proposed tokens per step (the start value when adaptive)
  int k_min = 1;
  int k_max = 8;
  bool adaptive = false;  // K from the acceptance rate; pauses speculation when it cannot pay
  // Cost of verifying one more token, as a fraction of a one-token forward (what pays for speculation).
  // The starting estimate: the decoding loop measures it from its own steps and uses that once known.
  double verify_cost = 0.08;
};

struct SpeculationStats {
  int64_t steps = 0;        // verification steps that checked at least one proposed token
  int64_t plain_steps = 0;  // steps with nothing proposed (no match, paused)
  int64_t proposed = 0;
  int64_t accepted = 0;
  std::vector<int64_t> accepted_histogram;  // [accepted length] -> steps, lengths 0..k_max
  std::vector<int64_t> proposed_histogram;  // [tokens proposed] -> steps (0: plain steps), 0..k_max
  double acceptance_rate() const { return proposed ? static_cast<double>(accepted) / proposed : 0.0; }
  double mean_accepted() const { return steps ? static_cast<double>(accepted) / steps : 0.0; }
};

}  // namespace pangu
