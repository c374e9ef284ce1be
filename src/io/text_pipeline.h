// The stages of a Hugging Face tokenizer.json before the model: normalizer and pre-tokenizer, parsed from
// their JSON into a flat list of steps.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_file.h"

namespace pangu {

// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available).
class Regex {
 public:
  Regex(const std::string& pattern, bool literal, const std::string& origin);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Byte ranges [begin, end) of successive non-overlapping matches in valid UTF-8 text.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

class Normalizer {
 public:
  Normalizer(const Json& spec, const std::string& origin);  // spec may be null
  std::string apply(std::string_view text) const;

 private:
  struct Step;
  void add(const Json& spec, const std::string& origin);
  std::vector<std::shared_ptr<Step>> steps_;
};

class PreTokenizer {
 public:
  PreTokenizer(const Json& spec, const std::string& origin);  // spec may be null
  // Splits text into words for the model; byte-level steps map bytes to their printable stand-ins.
  std::vector<std::string> apply(std::string_view text, bool at_start) const;
  bool byte_level() const { return byte_level_; }

 private:
  struct Step;
  void add(const Json& spec, const std::string& origin);
  std::vector<std::shared_ptr<Step>> steps_;
  bool byte_level_ = false;
};

// GPT-2's reversible map from bytes to printable code points, as UTF-8 strings, and its inverse.
const std::vector<std::string>& byte_to_unicode();
int unicode_to_byte(std::string_view utf8_char);  // -1 when not in the map

}  // namespace pangu
