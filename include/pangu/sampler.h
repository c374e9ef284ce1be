// The sampler chain: penalties -> logit bias -> suppression -> greedy | (temperature -> top-k -> top-p ->
// min-p
// -> draw). distribution() exposes the final probabilities so speculative decoding applies the same chain
// to target and draft alike.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace pangu {

struct SamplingParams {
  bool greedy = false;
  float temperature = 0.8f;         // <= 0 means greedy
  int top_k = 40;                   // 0 disables
  float top_p = 0.95f;              // 1 disables
  float min_p = 0.05f;              // 0 disables
  float repetition_penalty = 1.0f;  // Hugging Face rule: positive logits divided, negative multiplied
  int penalty_last_n = 64;          // -1: whole history
  float presence_penalty = 0.0f;    // OpenAI rule: minus this once for every token already present
  float frequency_penalty = 0.0f;   // minus this times the count
  uint64_t seed = 0;
  std::vector<std::pair<int32_t, float>> logit_bias;
  std::vector<int32_t> suppress_tokens;

  bool is_greedy() const { return greedy || temperature <= 0.0f; }
};

struct GenerationConfig;

// generation_config.json's sampling defaults (Hugging Face semantics: do_sample false is greedy) over the
// library's, suppress_tokens included. Callers then apply what their user set explicitly.
SamplingParams sampling_defaults(const GenerationConfig& generation_config);

// How the caller's user spells each field (CLI flags, Python keywords), so range errors name what was typed.
struct SamplingFieldNames {
  const char* temperature = "temperature";
  const char* top_k = "top_k";
  const char* top_p = "top_p";
  const char* min_p = "min_p";
  const char* repetition_penalty = "repetition_penalty";
  const char* penalty_last_n = "penalty_last_n";
  const char* presence_penalty = "presence_penalty";
  const char* frequency_penalty = "frequency_penalty";
};
// Throws Error naming the field for a value out of range (NaN included).
void validate_sampling(const SamplingParams& params, const SamplingFieldNames& names = {});

class Sampler {
 public:
  Sampler(SamplingParams params, int64_t vocab_size);

  // probs: [vocab], the distribution the next token is drawn from (one-hot when greedy).
  void distribution(const float* logits, const std::vector<int32_t>& history, std::vector<float>& probs);
  int32_t sample(const float* logits, const std::vector<int32_t>& history);
  // Draws from an explicit distribution with this sampler's generator.
  int32_t draw(const std::vector<float>& probs);
  // A uniform number in [0, 1) from this sampler's generator (speculative acceptance tests).
  double uniform();
  const SamplingParams& params() const { return params_; }

 private:
  void adjusted_logits(const float* logits, const std::vector<int32_t>& history);  // fills work_
  SamplingParams params_;
  int64_t vocab_size_;
  std::mt19937_64 rng_;
  std::vector<float> work_;                      // [vocab]
  std::vector<std::pair<float, int32_t>> cand_;  // (logit, id)
  std::vector<int32_t> counts_;                  // [vocab] penalty window counts
  std::vector<double> cand_probs_;               // [candidates]
  std::vector<float> probs_;                     // [vocab]
};

}  // namespace pangu
