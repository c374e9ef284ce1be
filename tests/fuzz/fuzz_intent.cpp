// libFuzzer target: the intent model file parser (a file a user names with --intent-model) and the lexical
// recognizer on arbitrary request bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapt/lexical_intent.h"
#include "pangu/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto m = pangu::LexicalIntentModel::from_bytes(bytes, "fuzz.pgi");
    (void)m.classify(bytes);
  } catch (const pangu::Error&) {
  }
  const auto r = pangu::LexicalIntentModel::builtin().classify(bytes);
  if (!(r.confidence >= 0.0f && r.confidence <= 1.0f)) __builtin_trap();
  return 0;
}
