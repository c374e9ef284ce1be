// The decoding loop: prefill the prompt, then produce tokens until EOS, a stop string, the token limit or
// the callback says stop. Each step forwards the pending token together with whatever a proposer (if any)
// guesses to follow it, keeps the longest prefix of the guesses the target accepts, and adds one token of
// the target's own; with no proposer it is plain decoding, one token per step.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pangu/sampler.h"
#include "pangu/speculative.h"

namespace pangu {

class Session;
class Tokenizer;

struct GenerateOptions {
  int64_t max_new_tokens = 256;  // negative: until end-of-sequence or the context is full
  SamplingParams sampling;
  std::vector<std::string> stop_strings;
  std::vector<int64_t> eos_token_ids;
  bool ignore_eos = false;
  bool skip_special = true;  // special tokens are not printed
  Proposer* proposer = nullptr;  // speculative decoding when set (not owned)
  SpeculationOptions speculation;
};

enum class StopReason { kEos, kStopString, kMaxTokens, kContextFull, kCallback };
std::string stop_reason_name(StopReason r);

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (the EOS id included when it ended the sequence)
  std::string text;             // generated text, stop string removed
  StopReason stop_reason = StopReason::kMaxTokens;
  int64_t n_prompt = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  SpeculationStats speculation;  // zeros without a proposer
};

// Called with each new id, the text it completes (may be empty: a partial UTF-8 character or held back
// for a possible stop string) and the logits it was chosen from ([vocab]). Return false to stop.
using TokenCallback = std::function<bool(int32_t id, std::string_view text, const float* logits)>;

// The decoding loop as a state machine, for callers that run several sequences in one forward (the server's
// continuous batching): next_tokens() says what to run through the session next, the caller runs it (alone
// with Session::forward or with others in a Batch) and hands the logits to advance(). generate() is this
// loop with one session, so a batched sequence gets exactly what it would alone.
class Generation {
 public:
  // `prompt` is fed after whatever the session holds; history for penalties is `history` + prompt + output.
  Generation(Session& session, const Tokenizer* tokenizer, std::vector<int32_t> prompt, const GenerateOptions& options,
             TokenCallback on_token = {}, const std::vector<int32_t>& history = {});
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  bool done() const;
  // The tokens to run at positions session.n_past() .. next: a chunk of at most `max_prompt_chunk` prompt
  // tokens (0: the whole prompt) while prefilling, then the last token with whatever the proposer guesses.
  // Empty once done. Valid until advance().
  const std::vector<int32_t>& next_tokens(int64_t max_prompt_chunk = 0);
  // Whether advance() needs the logits of every token of next_tokens() (decoding) or of the last (prefill).
  bool wants_all_logits() const;
  bool prefilling() const;
  // With the logits of what next_tokens() gave, after the session ran it; `forward_seconds` is how long that
  // took (the adaptive draft length's cost model).
  void advance(const float* logits, double forward_seconds = 0.0);
  // Ends the generation (stopping early if not done) and returns the result, the held-back text flushed.
  GenerateResult finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// `prompt` is fed after whatever the session holds; history for penalties is `history` + prompt + output.
GenerateResult generate(Session& session, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options, const TokenCallback& on_token = {},
                        const std::vector<int32_t>& history = {});

}  // namespace pangu
