// The default intent recognizer: a linear classifier (multinomial logistic regression) over hashed
// features (adapt/intent_features.h), trained in C++ by `pangu adapt train-intent`, stored as int8 weights
// with a scale per category. The trained default is compiled into the binary (data/intent/lexical.pgi).
//
// File format (little-endian), checked on load: magic "PGINTENT", u32 version (1), u32 categories (8, in
// Intent order), u32 bucket_bits (8..22), f32 threshold, f32 bias[8], f32 scale[8],
// i8 weights[2^bucket_bits][8], u32 FNV-1a checksum of every byte before it. docs/formats.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapt/intent.h"

namespace pangu {

struct IntentSample {
  std::string text;
  Intent label;
  std::string lang;    // "en" | "zh" (for per-language recall)
  std::string source;  // where it came from
};

// Reads a corpus JSONL ({"text", "label", "lang"?, "source"?} per line); errors name file:line and field.
std::vector<IntentSample> load_intent_samples(const std::string& path);

class LexicalIntentModel : public IntentRecognizer {
 public:
  static LexicalIntentModel from_bytes(std::string_view bytes, const std::string& origin);
  static LexicalIntentModel load(const std::string& path);
  // The default model compiled into the binary.
  static const LexicalIntentModel& builtin();

  std::string to_bytes() const;
  void save(const std::string& path) const;  // atomically

  IntentResult classify(std::string_view text) const override;
  std::string name() const override { return "lexical"; }

  int bucket_bits = 16;
  float threshold = 0.5f;
  std::array<float, kIntentCount> bias{};
  std::array<float, kIntentCount> scale{};
  std::vector<int8_t> weights;  // [2^bucket_bits][kIntentCount]
};

struct LexicalTrainOptions {
  int bucket_bits = 16;
  int epochs = 12;
  double learning_rate = 0.5;
  double l2 = 1e-6;
  uint64_t seed = 1;
  // Smallest confidence kept as certain: the lowest threshold at which predictions at or above it are right
  // at least this often on the dev split.
  double certain_precision = 0.98;
};

struct LexicalTrainReport {
  double train_accuracy = 0;
  double dev_accuracy = 0;
  float threshold = 0;
};

// Deterministic: the same samples and options give the same bytes.
LexicalIntentModel train_lexical_intent(const std::vector<IntentSample>& train, const std::vector<IntentSample>& dev,
                                        const LexicalTrainOptions& options, LexicalTrainReport* report = nullptr);

}  // namespace pangu
