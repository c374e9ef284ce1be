#include "adapt/intent.h"

#include <algorithm>
#include <cmath>

namespace pangu {

namespace {
constexpr std::string_view kNames[kIntentCount] = {"chat", "translation", "summarization", "qa",
                                                   "rag",  "math",        "code",          "exam"};
}  // namespace

std::string_view intent_name(Intent intent) { return kNames[static_cast<int>(intent)]; }

std::optional<Intent> intent_from_name(std::string_view name) {
  for (int i = 0; i < kIntentCount; ++i)
    if (kNames[i] == name) return static_cast<Intent>(i);
  return std::nullopt;
}

bool is_blank_request(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

IntentResult blank_request_result() {
  IntentResult r;
  r.label = kFallbackIntent;
  r.uncertain = true;
  return r;
}

IntentResult intent_result_from_logits(const std::array<float, kIntentCount>& logits, float threshold) {
  IntentResult r;
  const float top = *std::max_element(logits.begin(), logits.end());
  double total = 0.0;
  for (int i = 0; i < kIntentCount; ++i) {
    r.scores[i] = std::exp(logits[i] - top);
    total += r.scores[i];
  }
  int best = 0;
  for (int i = 0; i < kIntentCount; ++i) {
    r.scores[i] = static_cast<float>(r.scores[i] / total);
    if (r.scores[i] > r.scores[best]) best = i;
  }
  r.label = static_cast<Intent>(best);
  r.confidence = r.scores[best];
  r.uncertain = !(r.confidence >= threshold);
  return r;
}

}  // namespace pangu
