#include "pangu/generate.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"
#include "spec/draft_length.h"

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

namespace {

// Decides, token by token, which proposed tokens the target keeps. Greedy: a proposal stays while it is
// the token plain greedy decoding would pick. Sampling: speculative sampling, accept d with probability
// min(1, p(d) / q(d)) and on rejection draw from max(0, p - q) normalized; a deterministic proposal has
// q = one-hot(d). Either way the kept tokens have exactly the target's distribution.
class Verifier {
 public:
  Verifier(Sampler& sampler, int64_t vocab) : sampler_(sampler), vocab_(vocab) {}

  // Returns true when `proposed` is kept; otherwise sets `replacement` to the target's token instead.
  bool check(const float* logits, const std::vector<int32_t>& context, int32_t proposed, const std::vector<float>* q,
             int32_t& replacement) {
    if (sampler_.params().is_greedy()) {
      replacement = sampler_.sample(logits, context);
      return replacement == proposed;
    }
    sampler_.distribution(logits, context, p_);
    const double q_d = q ? (*q)[proposed] : 1.0;
    const double p_d = p_[proposed];
    if (q_d > 0.0 && sampler_.uniform() * q_d < p_d) return true;  // u < p/q without dividing
    double total = 0.0;
    for (int64_t v = 0; v < vocab_; ++v) {
      const double residual = p_[v] - (q ? (*q)[v] : (v == proposed ? 1.0 : 0.0));
      p_[v] = residual > 0.0 ? static_cast<float>(residual) : 0.0f;
      total += p_[v];
    }
    if (total <= 0.0) {
      sampler_.distribution(logits, context, p_);  // p == q: any draw from p is exact
    } else {
      for (float& v : p_) v = static_cast<float>(v / total);
    }
    replacement = sampler_.draw(p_);
    return false;
  }

  int32_t sample(const float* logits, const std::vector<int32_t>& context) { return sampler_.sample(logits, context); }

 private:
  Sampler& sampler_;
  int64_t vocab_;
  std::vector<float> p_;
};

}  // namespace

struct Generation::State {
  using Clock = std::chrono::steady_clock;

  State(Session& session_in, const Tokenizer* tokenizer, std::vector<int32_t> prompt_in, const GenerateOptions& options_in,
        TokenCallback on_token_in, const std::vector<int32_t>& history)
      : session(session_in),
        options(options_in),
        on_token(std::move(on_token_in)),
        prompt(std::move(prompt_in)),
        vocab(session_in.vocab_size()),
        sampler(options.sampling, vocab),
        verifier(sampler, vocab),
        stops(options.stop_strings),
        draft_length(options.speculation) {
    PANGU_CHECK(!prompt.empty(), "the prompt is empty: nothing to continue from");
    PANGU_CHECK(session.n_past() + static_cast<int64_t>(prompt.size()) <= session.n_ctx(),
                "the prompt ({} tokens) does not fit the context ({} of {} positions free); raise --ctx",
                prompt.size(), session.n_ctx() - session.n_past(), session.n_ctx());
    result.n_prompt = static_cast<int64_t>(prompt.size());
    // A negative limit means until end-of-sequence or a full context; the context bounds the output either
    // way (the last token is never fed, so one more than the free positions can come out).
    const int64_t free_after_prompt = session.n_ctx() - session.n_past() - static_cast<int64_t>(prompt.size());
    max_new_tokens = options.max_new_tokens < 0 ? std::numeric_limits<int64_t>::max() : options.max_new_tokens;
    const size_t expected_tokens = static_cast<size_t>(
        std::clamp<int64_t>(std::min(max_new_tokens, free_after_prompt + 1), 0, session.n_ctx()));
    context = history;
    context.insert(context.end(), prompt.begin(), prompt.end());
    context.reserve(context.size() + expected_tokens);
    result.tokens.reserve(expected_tokens);
    if (tokenizer) stream.emplace(*tokenizer, options.skip_special, false);
    result.stop_reason = StopReason::kMaxTokens;
    SpeculationStats& stats = result.speculation;
    stats.accepted_histogram.assign(std::max(options.speculation.k_max, options.speculation.k) + 1, 0);
    stats.proposed_histogram.assign(stats.accepted_histogram.size(), 0);
  }

  // Appends one token to the output; false when generation ends with it.
  bool emit(int32_t id, const float* logits) {
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
    } else if (is_eos) {
      result.stop_reason = StopReason::kEos;
    } else if (stopped) {
      result.stop_reason = StopReason::kStopString;
    } else if (static_cast<int64_t>(result.tokens.size()) >= max_new_tokens) {
      result.stop_reason = StopReason::kMaxTokens;
    } else {
      return true;
    }
    done = true;
    return false;
  }

  // Plans the next decoding step into `batch`: the pending token and the proposals. A step with nothing to
  // forward (the first, without proposals: it samples from the prompt's logits) runs here at once.
  void plan() {
    while (!done) {
      if (max_new_tokens <= 0) {
        done = true;
        return;
      }
      // Room: the pending token and k proposals must fit the context, and at most the remaining tokens
      // minus the one the target adds are worth proposing.
      const int64_t remaining = max_new_tokens - static_cast<int64_t>(result.tokens.size());
      const int64_t free_positions = session.n_ctx() - session.n_past() - (have_pending ? 1 : 0);
      if (have_pending && free_positions < 0) {
        result.stop_reason = StopReason::kContextFull;
        done = true;
        return;
      }
      Proposer* proposer = options.proposer;
      int k = 0;
      proposal.clear();
      if (proposer) {
        k = static_cast<int>(std::min<int64_t>({draft_length.next_k(), remaining - 1, free_positions}));
        if (k > 0) proposer->propose(context, k, proposal);
        if (static_cast<int>(proposal.tokens.size()) > k) proposal.tokens.resize(k);
      }
      n_proposed = static_cast<int>(proposal.tokens.size());
      batch.clear();
      if (have_pending) batch.push_back(pending);
      batch.insert(batch.end(), proposal.tokens.begin(), proposal.tokens.end());
      n_before = session.n_past();
      if (!batch.empty()) return;
      verify(nullptr, 0.0);
    }
  }

  // After the planned batch ran (logits: [batch, vocab]): keeps the accepted proposals, adds the target's
  // own token, and rolls the session back to what was kept.
  void verify(const float* logits, double seconds) {
    rows.clear();  // rows[i]: the target's logits for the token after batch position i - 1
    if (!have_pending) rows.push_back(first_logits.data());
    if (!batch.empty()) {
      // Online cost model for the adaptive draft length: the time of a one-token step, and what each
      // extra verified token adds to it (relative), from the steps actually run.
      if (seconds > 0 && batch.size() == 1) {
        one_token_seconds = one_token_seconds > 0 ? 0.8 * one_token_seconds + 0.2 * seconds : seconds;
      } else if (seconds > 0 && one_token_seconds > 0) {
        const double extra =
            std::max(0.0, (seconds - one_token_seconds) / static_cast<double>(batch.size() - 1) / one_token_seconds);
        extra_token_cost = extra_token_cost >= 0 ? 0.8 * extra_token_cost + 0.2 * extra : extra;
      }
      for (size_t i = 0; i < batch.size(); ++i) rows.push_back(logits + i * vocab);
    }
    // rows[j] is the distribution for proposal j (and rows[n_proposed] for the token after them all).
    int accepted = 0;
    int32_t next = 0;
    bool all_kept = true;
    for (int j = 0; j < n_proposed; ++j) {
      const std::vector<float>* q = proposal.q.empty() ? nullptr : &proposal.q[j];
      if (!verifier.check(rows[j], context, proposal.tokens[j], q, next)) {
        all_kept = false;
        break;
      }
      ++accepted;
      if (!emit(proposal.tokens[j], rows[j])) break;
    }
    if (!done) {
      const float* row = rows[accepted];
      if (all_kept) next = verifier.sample(row, context);
      emit(next, row);
    }
    // The cache keeps the pending token and the accepted proposals; the new token is pending.
    session.truncate(n_before + (have_pending ? 1 : 0) + accepted);
    pending = context.back();
    have_pending = true;
    SpeculationStats& stats = result.speculation;
    ++stats.proposed_histogram[std::min<size_t>(n_proposed, stats.proposed_histogram.size() - 1)];
    if (n_proposed > 0) {
      ++stats.steps;
      stats.proposed += n_proposed;
      stats.accepted += accepted;
      ++stats.accepted_histogram[std::min<size_t>(accepted, stats.accepted_histogram.size() - 1)];
      const double draft_cost =
          one_token_seconds > 0 ? options.proposer->seconds_per_token() / one_token_seconds : 0.0;
      const double verify_cost = extra_token_cost >= 0 ? extra_token_cost : options.speculation.verify_cost;
      draft_length.update(n_proposed, accepted, verify_cost + draft_cost);
    } else {
      ++stats.plain_steps;
      draft_length.plain_step();
    }
  }

  Session& session;
  GenerateOptions options;
  TokenCallback on_token;
  std::vector<int32_t> prompt;
  size_t prompt_fed = 0;
  int64_t vocab;
  Sampler sampler;
  Verifier verifier;
  StopMatcher stops;
  DraftLength draft_length;
  std::optional<StreamDecoder> stream;
  GenerateResult result;
  std::vector<int32_t> context;
  int64_t max_new_tokens = 0;
  bool done = false;
  bool finished = false;
  bool prefilled = false;
  bool started = false;
  Clock::time_point t_start, t_prefilled;
  // The prompt's last logits are kept: the first step's proposals overwrite the session's buffer.
  std::vector<float> first_logits;
  Proposal proposal;
  int n_proposed = 0;
  std::vector<int32_t> batch;
  std::vector<const float*> rows;
  int64_t n_before = 0;
  double one_token_seconds = 0.0;
  double extra_token_cost = -1.0;  // unknown until a plain and a batched step were timed
  bool have_pending = false;       // the last emitted token, not yet in the cache
  int32_t pending = 0;
};

Generation::Generation(Session& session, const Tokenizer* tokenizer, std::vector<int32_t> prompt,
                       const GenerateOptions& options, TokenCallback on_token, const std::vector<int32_t>& history)
    : s_(std::make_unique<State>(session, tokenizer, std::move(prompt), options, std::move(on_token), history)) {}

Generation::~Generation() = default;

bool Generation::done() const { return s_->done; }
bool Generation::prefilling() const { return !s_->prefilled; }
bool Generation::wants_all_logits() const { return s_->prefilled; }

const std::vector<int32_t>& Generation::next_tokens(int64_t max_prompt_chunk) {
  State& s = *s_;
  if (!s.started) {
    s.started = true;
    s.t_start = State::Clock::now();
  }
  if (s.done) {
    s.batch.clear();
  } else if (!s.prefilled) {
    size_t n = s.prompt.size() - s.prompt_fed;
    if (max_prompt_chunk > 0) n = std::min<size_t>(n, static_cast<size_t>(max_prompt_chunk));
    s.batch.assign(s.prompt.begin() + static_cast<std::ptrdiff_t>(s.prompt_fed),
                   s.prompt.begin() + static_cast<std::ptrdiff_t>(s.prompt_fed + n));
  }
  return s.batch;
}

void Generation::advance(const float* logits, double forward_seconds) {
  State& s = *s_;
  PANGU_CHECK(!s.done && !s.batch.empty(), "Generation::advance: nothing was planned");
  if (!s.prefilled) {
    s.prompt_fed += s.batch.size();
    if (s.prompt_fed < s.prompt.size()) return;
    s.first_logits.assign(logits, logits + s.vocab);
    s.prefilled = true;
    s.t_prefilled = State::Clock::now();
    s.result.prefill_seconds = std::chrono::duration<double>(s.t_prefilled - s.t_start).count();
  } else {
    s.verify(logits, forward_seconds);
  }
  s.plan();
}

GenerateResult Generation::finish() {
  State& s = *s_;
  if (!s.finished) {
    s.finished = true;
    if (!s.done) {
      s.done = true;
      s.result.stop_reason = StopReason::kCallback;
    }
    if (s.stream && s.result.stop_reason != StopReason::kStopString) {
      bool stopped = false;
      std::string tail = s.stops.push(s.stream->flush(), stopped);
      if (!stopped) tail += s.stops.flush();
      s.result.text += tail;
      if (s.on_token && !tail.empty()) s.on_token(-1, tail, nullptr);
    }
    if (s.prefilled) s.result.decode_seconds = std::chrono::duration<double>(State::Clock::now() - s.t_prefilled).count();
  }
  return std::move(s.result);
}

GenerateResult generate(Session& session, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options, const TokenCallback& on_token,
                        const std::vector<int32_t>& history) {
  Generation generation(session, tokenizer, prompt, options, on_token, history);
  while (!generation.done()) {
    const std::vector<int32_t>& tokens = generation.next_tokens();
    const auto t0 = std::chrono::steady_clock::now();
    const float* logits =
        session.forward(tokens.data(), static_cast<int64_t>(tokens.size()), generation.wants_all_logits());
    generation.advance(logits, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return generation.finish();
}

}  // namespace pangu
