#include "pangu/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pangu/config.h"
#include "pangu/error.h"

namespace pangu {

SamplingParams sampling_defaults(const GenerationConfig& gc) {
  SamplingParams p;
  p.greedy = gc.do_sample == false;
  if (gc.temperature) p.temperature = static_cast<float>(*gc.temperature);
  if (gc.top_k) p.top_k = static_cast<int>(*gc.top_k);
  if (gc.top_p) p.top_p = static_cast<float>(*gc.top_p);
  if (gc.repetition_penalty) p.repetition_penalty = static_cast<float>(*gc.repetition_penalty);
  p.suppress_tokens.assign(gc.suppress_tokens.begin(), gc.suppress_tokens.end());
  return p;
}

void validate_sampling(const SamplingParams& p, const SamplingFieldNames& names) {
  PANGU_CHECK(std::isfinite(p.temperature) && p.temperature >= 0.0f, "{} {}: expected 0 (greedy) or more",
              names.temperature, p.temperature);
  PANGU_CHECK(p.top_k >= 0, "{} {}: expected 0 (off) or more", names.top_k, p.top_k);
  PANGU_CHECK(p.top_p > 0.0f && p.top_p <= 1.0f, "{} {}: expected a value in (0, 1]; 1 turns it off", names.top_p,
              p.top_p);
  PANGU_CHECK(p.min_p >= 0.0f && p.min_p < 1.0f, "{} {}: expected a value in [0, 1); 0 turns it off", names.min_p,
              p.min_p);
  PANGU_CHECK(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0.0f,
              "{} {}: expected a positive value; 1 turns it off", names.repetition_penalty, p.repetition_penalty);
  PANGU_CHECK(p.penalty_last_n >= -1, "{} {}: expected -1 (all), 0 (off) or more", names.penalty_last_n,
              p.penalty_last_n);
  PANGU_CHECK(std::isfinite(p.presence_penalty) && std::fabs(p.presence_penalty) <= 2.0f,
              "{} {}: expected a value in [-2, 2] (OpenAI's range)", names.presence_penalty, p.presence_penalty);
  PANGU_CHECK(std::isfinite(p.frequency_penalty) && std::fabs(p.frequency_penalty) <= 2.0f,
              "{} {}: expected a value in [-2, 2] (OpenAI's range)", names.frequency_penalty, p.frequency_penalty);
}

Sampler::Sampler(SamplingParams params, int64_t vocab_size)
    : params_(std::move(params)),
      vocab_size_(vocab_size),
      rng_(params_.seed),
      work_(vocab_size),
      counts_(vocab_size) {
  PANGU_CHECK(params_.top_p > 0.0f && params_.top_p <= 1.0f, "top_p must be in (0, 1] (found {})",
              params_.top_p);
  PANGU_CHECK(params_.min_p >= 0.0f && params_.min_p < 1.0f, "min_p must be in [0, 1) (found {})",
              params_.min_p);
  PANGU_CHECK(params_.top_k >= 0, "top_k must be >= 0 (found {})", params_.top_k);
  PANGU_CHECK(params_.repetition_penalty > 0.0f, "repetition penalty must be positive (found {})",
              params_.repetition_penalty);
  for (auto [id, bias] : params_.logit_bias)
    PANGU_CHECK(id >= 0 && id < vocab_size, "logit bias names token {}, vocabulary has {}", id, vocab_size);
}

void Sampler::adjusted_logits(const float* logits, const std::vector<int32_t>& history) {
  std::copy(logits, logits + vocab_size_, work_.begin());
  const bool penalize = params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  if (penalize && !history.empty()) {
    const size_t n = params_.penalty_last_n < 0
                         ? history.size()
                         : std::min(history.size(), static_cast<size_t>(params_.penalty_last_n));
    const size_t first = history.size() - n;
    for (size_t i = first; i < history.size(); ++i)
      if (history[i] >= 0 && history[i] < vocab_size_) ++counts_[history[i]];
    for (size_t i = first; i < history.size(); ++i) {
      const int32_t id = history[i];
      if (id < 0 || id >= vocab_size_ || counts_[id] == 0) continue;
      float& l = work_[id];
      if (l > 0)
        l /= params_.repetition_penalty;
      else
        l *= params_.repetition_penalty;
      l -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(counts_[id]);
      counts_[id] = 0;  // each distinct token once
    }
  }
  for (auto [id, bias] : params_.logit_bias) work_[id] += bias;
  for (int32_t id : params_.suppress_tokens)
    if (id >= 0 && id < vocab_size_) work_[id] = -std::numeric_limits<float>::infinity();
}

void Sampler::distribution(const float* logits, const std::vector<int32_t>& history,
                           std::vector<float>& probs) {
  adjusted_logits(logits, history);
  probs.assign(vocab_size_, 0.0f);
  if (params_.is_greedy()) {
    probs[std::max_element(work_.begin(), work_.end()) - work_.begin()] = 1.0f;
    return;
  }
  cand_.clear();
  cand_.reserve(vocab_size_);
  for (int64_t i = 0; i < vocab_size_; ++i)
    if (std::isfinite(work_[i])) cand_.emplace_back(work_[i] / params_.temperature, static_cast<int32_t>(i));
  PANGU_CHECK(!cand_.empty(), "every token is suppressed: nothing to sample");
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < cand_.size()) {
    std::nth_element(cand_.begin(), cand_.begin() + params_.top_k, cand_.end(), by_logit);
    cand_.resize(params_.top_k);
  }
  std::sort(cand_.begin(), cand_.end(), by_logit);
  const float max_logit = cand_.front().first;
  double sum = 0.0;
  std::vector<double>& p = cand_probs_;
  p.resize(cand_.size());
  for (size_t i = 0; i < cand_.size(); ++i)
    sum += p[i] = std::exp(static_cast<double>(cand_[i].first - max_logit));
  size_t keep = cand_.size();
  if (params_.top_p < 1.0f) {
    double cumulative = 0.0;
    for (size_t i = 0; i < cand_.size(); ++i) {
      cumulative += p[i] / sum;
      if (cumulative >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double threshold = params_.min_p * p[0];
    size_t k = 1;
    while (k < keep && p[k] >= threshold) ++k;
    keep = k;
  }
  double kept_sum = 0.0;
  for (size_t i = 0; i < keep; ++i) kept_sum += p[i];
  for (size_t i = 0; i < keep; ++i) probs[cand_[i].second] = static_cast<float>(p[i] / kept_sum);
}

int32_t Sampler::draw(const std::vector<float>& probs) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double u = uniform(rng_);
  double cumulative = 0.0;
  int32_t last_nonzero = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0f) continue;
    cumulative += probs[i];
    last_nonzero = static_cast<int32_t>(i);
    if (u < cumulative) return last_nonzero;
  }
  return last_nonzero;  // rounding left u above the total
}

double Sampler::uniform() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

int32_t Sampler::sample(const float* logits, const std::vector<int32_t>& history) {
  if (params_.is_greedy()) {
    adjusted_logits(logits, history);
    return static_cast<int32_t>(std::max_element(work_.begin(), work_.end()) - work_.begin());
  }
  distribution(logits, history, probs_);
  return draw(probs_);
}

}  // namespace pangu
