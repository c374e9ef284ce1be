// The decoding loop: prefill the prompt, then produce tokens until EOS, a stop string, the token limit or
// the callback says stop. Each step forwards the pending token together with whatever a proposer (if any)
// guesses to follow it, keeps the longest prefix of the guesses the target accepts, and adds one token of
// the target's own; with no proposer it is plain decoding, one token per step.
#pragma once

#include <functional>
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

// `prompt` is fed after whatever the session holds; history for penalties is `history` + prompt + output.
GenerateResult generate(Session& session, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options, const TokenCallback& on_token = {},
                        const std::vector<int32_t>& history = {});

}  // namespace pangu
