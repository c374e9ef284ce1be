// The two proposers: prompt lookup (free n-gram matches in the context) and a draft model.
#include <algorithm>
#include <chrono>

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
  DraftProposer(const Model& draft, int64_t n_ctx, ThreadPool& pool, SamplingParams sampling)
      : session_(draft, n_ctx, pool), sampling_(std::move(sampling)) {
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
    for (int i = 0; i < k; ++i) {
      int32_t id;
      if (greedy) {
        id = sampler_->sample(logits, history_);
      } else {
        out.q.emplace_back();
        sampler_->distribution(logits, history_, out.q.back());
        id = sampler_->draw(out.q.back());
      }
      out.tokens.push_back(id);
      history_.push_back(id);
      if (i + 1 == k) break;  // the last draft token needs no forward
      logits = session_.forward(&id, 1);
      cached_.push_back(id);
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n_proposed_ += static_cast<int64_t>(out.tokens.size());
  }

 private:
  Session session_;
  SamplingParams sampling_;
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
                                              const SamplingParams& sampling) {
  return std::make_unique<DraftProposer>(draft, n_ctx, pool, sampling);
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
