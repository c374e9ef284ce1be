// Log-probabilities from one position's logits, in double over the whole vocabulary: perplexity, KL and
// the multiple-choice scores all read them this way.
#pragma once

#include <cstdint>

namespace pangu {

// log sum exp(logits): the log-softmax normalizer.
double log_normalizer(const float* logits, int64_t vocab);

// log softmax(logits)[id].
inline double token_logprob(const float* logits, int64_t vocab, int32_t id) {
  return static_cast<double>(logits[id]) - log_normalizer(logits, vocab);
}

}  // namespace pangu
