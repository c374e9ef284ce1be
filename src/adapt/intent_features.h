// Hashed sparse features of a request for the lexical intent recognizer: words and word pairs (Latin
// script, lower-cased), CJK characters and character pairs, the words at the start and at the end of the
// request (where instructions sit), symbols of code and math, and the request's shape (lettered options, a
// long passage followed by a short question, fenced code, length, lines, script). Each feature name is hashed
// to one of 2^bits buckets with a sign, and the vector is L2-normalized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pangu {

struct IntentFeatures {
  std::vector<uint32_t> index;  // bucket of each feature occurrence (may repeat)
  std::vector<float> value;     // its signed, normalized weight
};

// Long requests are read by their first kIntentHeadBytes and last kIntentTailBytes (their length still
// counts): a 1 MB request costs what a 5 KB one does.
inline constexpr size_t kIntentHeadBytes = 4096;
inline constexpr size_t kIntentTailBytes = 1024;

void extract_intent_features(std::string_view text, int bucket_bits, IntentFeatures& out);

// The shape flags a request sets ("options", "passage_then_line", "fence", "code_lines", "script_cjk", ...),
// by name: what extract_intent_features hashes besides the words, for tests and `classify -v`.
std::vector<std::string> intent_shape_flags(std::string_view text);

}  // namespace pangu
