// The two proposers: prompt lookup (free n-gram matches in the context) and a draft model.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/log.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include "pangu/tokenizer.h"
#include "spec/ngram_index.h"

namespace pangu {

namespace {

class PldProposer final : public Proposer {
 public:
  PldProposer(int n_min, int n_max) : index_(n_min, n_max) {}
  std::string_view name() const override { return "pld"; }

  void propose(const std::vector<int32_t>& context, int k, Proposal& out) override {
    out.clear();
    const int64_t start = index_.find_continuation(context);
    if (start < 0) return;
    const int64_t end = std::min<int64_t>(start + k, static_cast<int64_t>(context.size()));
    out.tokens.assign(context.begin() + start, context.begin() + end);
  }

 private:
  NgramIndex index_;
};

class DraftProposer final : public Proposer {
 public:
  DraftProposer(const Model& draft, int64_t n_ctx, ThreadPool& pool, SamplingParams sampling, float min_probability)
      : session_(draft, n_ctx, pool), sampling_(std::move(sampling)), min_probability_(min_probability) {
    sampling_.seed = sampling_.seed * 0x9E3779B97F4A7C15ULL + 1;  // the draft's own random stream
    sampler_ = std::make_unique<Sampler>(sampling_, session_.vocab_size());
  }
  std::string_view name() const override { return "draft"; }
  double seconds_per_token() const override { return n_proposed_ ? seconds_ / n_proposed_ : 0.0; }

  void propose(const std::vector<int32_t>& context, int k, Proposal& out) override {
    out.clear();
    if (k <= 0 || context.empty()) return;
    const auto t0 = std::chrono::steady_clock::now();
    // Keep the cached prefix the draft shares with the context; feed the rest (at least one token, for
    // the logits of the next position).
    size_t common = std::mismatch(cached_.begin(), cached_.end(), context.begin(), context.end()).first -
                    cached_.begin();
    common = std::min(common, context.size() - 1);
    const int64_t room = session_.n_ctx() - static_cast<int64_t>(context.size());
    if (room <= 0) return;
    k = static_cast<int>(std::min<int64_t>(k, room + 1));
    session_.truncate(static_cast<int64_t>(common));
    cached_.resize(common);
    const float* logits = session_.forward(context.data() + common, static_cast<int64_t>(context.size() - common));
    cached_.assign(context.begin(), context.end());
    history_.assign(context.begin(), context.end());
    const bool greedy = sampling_.is_greedy();
    const int64_t vocab = session_.vocab_size();
    for (int i = 0; i < k; ++i) {
      int32_t id;
      float probability;
      if (greedy) {
        id = sampler_->sample(logits, history_);
        probability = min_probability_ > 0 ? softmax_probability(logits, vocab, id) : 1.0f;
      } else {
        out.q.emplace_back();
        sampler_->distribution(logits, history_, out.q.back());
        id = sampler_->draw(out.q.back());
        probability = out.q.back()[id];
      }
      out.tokens.push_back(id);
      history_.push_back(id);
      // The last draft token needs no forward. A token the draft is unsure of is still proposed (checking
      // one more token costs the target little) but is the last: the tokens after it would mostly be
      // drafted, at the cost of a draft forward each, only to be rejected.
      if (i + 1 == k || probability < min_probability_) break;
      logits = session_.forward(&id, 1);
      cached_.push_back(id);
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n_proposed_ += static_cast<int64_t>(out.tokens.size());
  }

 private:
  // Softmax probability of token `id` under raw logits: the draft's confidence in a greedy pick.
  static float softmax_probability(const float* logits, int64_t vocab, int32_t id) {
    float max_logit = logits[0];
    for (int64_t v = 1; v < vocab; ++v) max_logit = std::max(max_logit, logits[v]);
    double total = 0.0;
    for (int64_t v = 0; v < vocab; ++v) total += std::exp(static_cast<double>(logits[v] - max_logit));
    return static_cast<float>(std::exp(static_cast<double>(logits[id] - max_logit)) / total);
  }

  Session session_;
  SamplingParams sampling_;
  float min_probability_;
  std::unique_ptr<Sampler> sampler_;
  std::vector<int32_t> cached_;   // the tokens in the draft's KV cache
  std::vector<int32_t> history_;  // context + drafted tokens, for the sampler's penalties
  double seconds_ = 0.0;
  int64_t n_proposed_ = 0;
};

}  // namespace

std::unique_ptr<Proposer> make_pld_proposer(int n_min, int n_max) {
  return std::make_unique<PldProposer>(n_min, n_max);
}

std::unique_ptr<Proposer> make_draft_proposer(const Model& draft, int64_t n_ctx, ThreadPool& pool,
                                              const SamplingParams& sampling, float min_probability) {
  PANGU_CHECK(min_probability >= 0.0f && min_probability < 1.0f,
              "draft minimum probability {}: expected a value in [0, 1) (0: always propose k tokens)", min_probability);
  return std::make_unique<DraftProposer>(draft, n_ctx, pool, sampling, min_probability);
}

LoadOptions draft_load_options() {
  LoadOptions options;
  options.int8_head = true;
  return options;
}

std::unique_ptr<Model> load_draft_model(const std::string& dir) {
  auto draft = Model::load(dir, draft_load_options());
  log_verbose("loaded draft {} ({}); its output head is read as int8 (a draft's head cannot change the output)", dir,
              draft->config().architecture);
  return draft;
}

void check_draft_compatible(const Model& target, const Tokenizer* target_tok, const Model& draft,
                            const Tokenizer* draft_tok) {
  const int64_t tv = target.config().vocab_size, dv = draft.config().vocab_size;
  if (tv != dv)
    fail("draft {} has a vocabulary of {} tokens, the target {} has {}; the draft must share the target's tokenizer",
         draft.dir(), dv, target.dir(), tv);
  if (!target_tok || !draft_tok) return;  // ids only: the sizes are all that can be checked
  const int64_t n = std::min<int64_t>(target_tok->vocab_size(), draft_tok->vocab_size());
  if (target_tok->vocab_size() != draft_tok->vocab_size())
    fail("draft {} has a tokenizer of {} tokens, the target {} has {}", draft.dir(), draft_tok->vocab_size(),
         target.dir(), target_tok->vocab_size());
  // The first and last 64 ids (special and added tokens live there) and an even sample in between.
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < std::min<int64_t>(n, 64); ++i) ids.push_back(i);
  for (int64_t i = 64; i < n - 64; i += std::max<int64_t>(1, n / 512)) ids.push_back(i);
  for (int64_t i = std::max<int64_t>(64, n - 64); i < n; ++i) ids.push_back(i);
  for (int64_t id : ids) {
    const auto a = target_tok->token_bytes(static_cast<int32_t>(id));
    const auto b = draft_tok->token_bytes(static_cast<int32_t>(id));
    if (a != b)
      fail("draft {} and target {} tokenize differently: token {} is \"{}\" in the target and \"{}\" in the draft",
           draft.dir(), target.dir(), id, utf8_sanitize(a), utf8_sanitize(b));
  }
}

}  // namespace pangu
