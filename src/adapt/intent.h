// What a request is: the eight categories the adaptive policy chooses a strategy for, and the interface the
// recognizers (lexical, probe, prompt) share.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pangu {

// Fixed names, used in the CLI, JSON, the server and the docs (docs/adapt.md).
enum class Intent : uint8_t { kChat, kTranslation, kSummarization, kQa, kRag, kMath, kCode, kExam };
inline constexpr int kIntentCount = 8;

std::string_view intent_name(Intent intent);
std::optional<Intent> intent_from_name(std::string_view name);

struct IntentResult {
  Intent label = Intent::kChat;
  float confidence = 0.0f;                  // the winning probability
  std::array<float, kIntentCount> scores{};  // a probability per category, in enum order
  bool uncertain = false;                    // confidence below the recognizer's calibrated threshold
};

// The category a caller should assume when a result is uncertain: open conversation, for which the policy's
// category-independent strategy is the right one (docs/adapt.md).
inline constexpr Intent kFallbackIntent = Intent::kChat;

class IntentRecognizer {
 public:
  virtual ~IntentRecognizer() = default;
  // Never throws for any byte string: empty text gives an uncertain kFallbackIntent, invalid UTF-8 is read
  // with the bad bytes skipped, long text is read by its head and tail (see the implementations).
  virtual IntentResult classify(std::string_view text) const = 0;
  virtual std::string name() const = 0;
};

// Empty or blank text: nothing to recognize. Every recognizer answers it with blank_request_result().
bool is_blank_request(std::string_view text);
IntentResult blank_request_result();  // kFallbackIntent, confidence 0, uncertain

// Softmax of raw scores into a result, with `threshold` deciding `uncertain`.
IntentResult intent_result_from_logits(const std::array<float, kIntentCount>& logits, float threshold);

}  // namespace pangu
