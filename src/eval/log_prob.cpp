#include "eval/log_prob.h"

#include <algorithm>
#include <cmath>

namespace pangu {

double log_normalizer(const float* logits, int64_t vocab) {
  const double max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  return max + std::log(sum);
}

}  // namespace pangu
