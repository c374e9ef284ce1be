#include "pangu/generate.h"

#include <algorithm>
#include <chrono>

#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"

namespace pangu {

std::string stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kEos:
      return "eos";
    case StopReason::kStopString:
      return "stop";
    case StopReason::kMaxTokens:
      return "length";
    case StopReason::kContextFull:
      return "context";
    case StopReason::kCallback:
      return "callback";
  }
  return "?";
}

namespace {

// Holds back text that could be the start of a stop string, so a stop string is never printed.
class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops) : stops_(stops) {}

  // Appends text; returns what is safe to emit. Sets `stopped` when a stop string appeared.
  std::string push(std::string_view text, bool& stopped) {
    pending_ += text;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      const size_t at = pending_.find(s);
      if (at != std::string::npos) {
        stopped = true;
        std::string out = pending_.substr(0, at);
        pending_.clear();
        return out;
      }
    }
    size_t hold = 0;
    for (const auto& s : stops_)
      for (size_t len = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); len > hold; --len)
        if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
          hold = len;
          break;
        }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
  }
  std::string flush() {
    std::string out;
    out.swap(pending_);
    return out;
  }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
};

}  // namespace

GenerateResult generate(Session& session, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options, const TokenCallback& on_token,
                        const std::vector<int32_t>& history) {
  using Clock = std::chrono::steady_clock;
  PANGU_CHECK(!prompt.empty(), "the prompt is empty: nothing to continue from");
  GenerateResult result;
  result.n_prompt = static_cast<int64_t>(prompt.size());
  Sampler sampler(options.sampling, session.vocab_size());
  std::vector<int32_t> context = history;
  context.insert(context.end(), prompt.begin(), prompt.end());
  context.reserve(context.size() + options.max_new_tokens);
  result.tokens.reserve(options.max_new_tokens);

  PANGU_CHECK(session.n_past() + static_cast<int64_t>(prompt.size()) <= session.n_ctx(),
              "the prompt ({} tokens) does not fit the context ({} of {} positions free); raise --ctx",
              prompt.size(), session.n_ctx() - session.n_past(), session.n_ctx());
  const auto t0 = Clock::now();
  const float* logits = session.forward(prompt);
  const auto t1 = Clock::now();
  result.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

  std::optional<StreamDecoder> stream;
  if (tokenizer) stream.emplace(*tokenizer, options.skip_special, false);
  StopMatcher stops(options.stop_strings);
  result.stop_reason = StopReason::kMaxTokens;
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    const int32_t id = sampler.sample(logits, context);
    result.tokens.push_back(id);
    context.push_back(id);
    const bool is_eos =
        !options.ignore_eos && std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) !=
                                   options.eos_token_ids.end();
    std::string text;
    bool stopped = false;
    if (stream && !is_eos) text = stops.push(stream->push(id), stopped);
    result.text += text;
    if (on_token && !on_token(id, text, logits)) {
      result.stop_reason = StopReason::kCallback;
      break;
    }
    if (is_eos) {
      result.stop_reason = StopReason::kEos;
      break;
    }
    if (stopped) {
      result.stop_reason = StopReason::kStopString;
      break;
    }
    if (i + 1 == options.max_new_tokens) break;
    if (session.n_past() >= session.n_ctx()) {
      result.stop_reason = StopReason::kContextFull;
      break;
    }
    logits = session.forward(&id, 1);
  }
  if (stream && result.stop_reason != StopReason::kStopString) {
    bool stopped = false;
    std::string tail = stops.push(stream->flush(), stopped);
    if (!stopped) tail += stops.flush();
    result.text += tail;
    if (on_token && !tail.empty()) on_token(-1, tail, nullptr);
  }
  result.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return result;
}

}  // namespace pangu
