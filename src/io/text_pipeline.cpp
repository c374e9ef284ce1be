#define PCRE2_CODE_UNIT_WIDTH 8
#include "io/text_pipeline.h"

#include <pcre2.h>
#include <utf8proc.h>

#include <map>

#include "pangu/error.h"

namespace pangu {

// ---- Regex ----

Regex::Regex(const std::string& pattern, bool literal, const std::string& origin) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options |= PCRE2_LITERAL;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error_code,
                        &error_offset, nullptr);
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    fail("{}: cannot compile regex at offset {}: {}", origin, error_offset, reinterpret_cast<char*>(message));
  }
  pcre2_jit_compile(static_cast<pcre2_code*>(code_), PCRE2_JIT_COMPLETE);  // falls back to the interpreter
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  size_t offset = 0;
  while (offset <= text.size()) {
    const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), offset,
                               PCRE2_NO_UTF_CHECK, data, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
    size_t begin = ov[0], end = ov[1];
    if (end == begin) {  // empty match: step one character to make progress
      if (begin >= text.size()) break;
      offset = begin + 1;
      while (offset < text.size() && (static_cast<uint8_t>(text[offset]) & 0xc0) == 0x80) ++offset;
      continue;
    }
    matches.emplace_back(begin, end);
    offset = end;
  }
  pcre2_match_data_free(data);
  return matches;
}

// ---- byte-level map ----

const std::vector<std::string>& byte_to_unicode() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const int cp = printable ? b : 256 + extra++;
      utf8proc_uint8_t buf[4];
      const auto n = utf8proc_encode_char(cp, buf);
      t[b] = std::string(reinterpret_cast<char*>(buf), n);
    }
    return t;
  }();
  return table;
}

int unicode_to_byte(std::string_view ch) {
  static const std::map<std::string, int, std::less<>> inverse = [] {
    std::map<std::string, int, std::less<>> m;
    const auto& t = byte_to_unicode();
    for (int b = 0; b < 256; ++b) m[t[b]] = b;
    return m;
  }();
  auto it = inverse.find(ch);
  return it == inverse.end() ? -1 : it->second;
}

namespace {

const char* kMetaspace = "\xE2\x96\x81";  // U+2581
const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  size_t i = 0;
  while (true) {
    const size_t j = s.find(from, i);
    if (j == std::string_view::npos) break;
    out.append(s.substr(i, j - i));
    out.append(to);
    i = j + from.size();
  }
  out.append(s.substr(i));
  return out;
}

std::string unicode_normalize(std::string_view s, int options) {
  utf8proc_uint8_t* result = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                              static_cast<utf8proc_ssize_t>(s.size()), &result,
                              static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
  if (n < 0) return std::string(s);  // invalid UTF-8 was sanitised before; keep text unchanged otherwise
  std::string out(reinterpret_cast<char*>(result), static_cast<size_t>(n));
  std::free(result);
  return out;
}

std::string pattern_of(const Json& spec, bool& literal, const std::string& origin) {
  const auto it = spec.find("pattern");
  if (it == spec.end() || !it->is_object()) fail("{}: \"pattern\" must be an object", origin);
  if (it->contains("Regex")) {
    literal = false;
    return json_required<std::string>(*it, "Regex", origin);
  }
  literal = true;
  return json_required<std::string>(*it, "String", origin);
}

}  // namespace

// ---- Normalizer ----

struct Normalizer::Step {
  enum class Kind { kUnicode, kPrepend, kReplace, kLowercase, kStrip } kind;
  int unicode_options = 0;
  std::string text, replacement;
  std::shared_ptr<Regex> regex;
  bool strip_left = false, strip_right = false;
};

Normalizer::Normalizer(const Json& spec, const std::string& origin) {
  if (!spec.is_null()) add(spec, origin + " normalizer");
}

void Normalizer::add(const Json& spec, const std::string& origin) {
  const std::string type = json_required<std::string>(spec, "type", origin);
  auto step = std::make_shared<Step>();
  if (type == "Sequence") {
    for (const auto& s : json_required<Json>(spec, "normalizers", origin)) add(s, origin);
    return;
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step->kind = Step::Kind::kUnicode;
    step->unicode_options = (type[type.size() - 1] == 'C' ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
                            (type.size() == 4 ? UTF8PROC_COMPAT : 0);
  } else if (type == "Prepend") {
    step->kind = Step::Kind::kPrepend;
    step->text = json_required<std::string>(spec, "prepend", origin);
  } else if (type == "Replace") {
    step->kind = Step::Kind::kReplace;
    bool literal = true;
    step->text = pattern_of(spec, literal, origin);
    step->replacement = json_required<std::string>(spec, "content", origin);
    if (!literal) step->regex = std::make_shared<Regex>(step->text, false, origin);
  } else if (type == "Lowercase") {
    step->kind = Step::Kind::kLowercase;
  } else if (type == "Strip") {
    step->kind = Step::Kind::kStrip;
    step->strip_left = json_optional<bool>(spec, "strip_left", true, origin);
    step->strip_right = json_optional<bool>(spec, "strip_right", true, origin);
  } else {
    fail("{}: normalizer type \"{}\" is not supported", origin, type);
  }
  steps_.push_back(step);
}

std::string Normalizer::apply(std::string_view text) const {
  std::string s(text);
  for (const auto& step : steps_) {
    switch (step->kind) {
      case Step::Kind::kUnicode:
        s = unicode_normalize(s, step->unicode_options);
        break;
      case Step::Kind::kPrepend:
        if (!s.empty()) s = step->text + s;
        break;
      case Step::Kind::kReplace:
        if (step->regex) {
          std::string out;
          size_t last = 0;
          for (auto [b, e] : step->regex->find_all(s)) {
            out.append(s, last, b - last);
            out += step->replacement;
            last = e;
          }
          out.append(s, last);
          s = out;
        } else {
          s = replace_all(s, step->text, step->replacement);
        }
        break;
      case Step::Kind::kLowercase:
        s = unicode_normalize(s, UTF8PROC_CASEFOLD);
        break;
      case Step::Kind::kStrip: {
        size_t b = 0, e = s.size();
        if (step->strip_left)
          while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
        if (step->strip_right)
          while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
        s = s.substr(b, e - b);
        break;
      }
    }
  }
  return s;
}

// ---- PreTokenizer ----

struct PreTokenizer::Step {
  enum class Kind { kSplit, kByteLevel, kMetaspace, kDigits } kind;
  std::shared_ptr<Regex> regex;
  enum class Behavior {
    kIsolated,
    kRemoved,
    kMergedWithPrevious,
    kMergedWithNext
  } behavior = Behavior::kIsolated;
  bool add_prefix_space = false;
  bool use_regex = false;
  std::string replacement = kMetaspace;
  std::string prepend_scheme = "always";
  bool split = true;
  bool individual_digits = false;
};

PreTokenizer::PreTokenizer(const Json& spec, const std::string& origin) {
  if (!spec.is_null()) add(spec, origin + " pre_tokenizer");
}

void PreTokenizer::add(const Json& spec, const std::string& origin) {
  const std::string type = json_required<std::string>(spec, "type", origin);
  auto step = std::make_shared<Step>();
  if (type == "Sequence") {
    for (const auto& s : json_required<Json>(spec, "pretokenizers", origin)) add(s, origin);
    return;
  } else if (type == "Split") {
    step->kind = Step::Kind::kSplit;
    bool literal = false;
    const std::string pattern = pattern_of(spec, literal, origin);
    step->regex = std::make_shared<Regex>(pattern, literal, origin);
    const std::string behavior = json_optional<std::string>(spec, "behavior", "Isolated", origin);
    if (behavior == "Isolated")
      step->behavior = Step::Behavior::kIsolated;
    else if (behavior == "Removed")
      step->behavior = Step::Behavior::kRemoved;
    else if (behavior == "MergedWithPrevious")
      step->behavior = Step::Behavior::kMergedWithPrevious;
    else if (behavior == "MergedWithNext")
      step->behavior = Step::Behavior::kMergedWithNext;
    else
      fail("{}: Split behavior \"{}\" is not supported", origin, behavior);
    if (json_optional<bool>(spec, "invert", false, origin))
      fail("{}: Split with invert is not supported", origin);
  } else if (type == "ByteLevel") {
    step->kind = Step::Kind::kByteLevel;
    step->add_prefix_space = json_optional<bool>(spec, "add_prefix_space", false, origin);
    step->use_regex = json_optional<bool>(spec, "use_regex", true, origin);
    if (step->use_regex) step->regex = std::make_shared<Regex>(kGpt2Pattern, false, origin);
    byte_level_ = true;
  } else if (type == "Metaspace") {
    step->kind = Step::Kind::kMetaspace;
    step->replacement = json_optional<std::string>(spec, "replacement", kMetaspace, origin);
    if (spec.contains("prepend_scheme")) {
      step->prepend_scheme = json_required<std::string>(spec, "prepend_scheme", origin);
    } else {
      step->prepend_scheme = json_optional<bool>(spec, "add_prefix_space", true, origin) ? "always" : "never";
    }
    step->split = json_optional<bool>(spec, "split", true, origin);
  } else if (type == "Digits") {
    step->kind = Step::Kind::kDigits;
    step->individual_digits = json_optional<bool>(spec, "individual_digits", false, origin);
  } else {
    fail("{}: pre_tokenizer type \"{}\" is not supported", origin, type);
  }
  steps_.push_back(step);
}

namespace {

std::vector<std::string> split_by(const std::string& s, const std::vector<std::pair<size_t, size_t>>& matches,
                                  int behavior /* 0 isolated 1 removed 2 merged-prev 3 merged-next */) {
  std::vector<std::string> out;
  size_t last = 0;
  std::string carry;
  for (auto [b, e] : matches) {
    std::string gap = s.substr(last, b - last);
    std::string match = s.substr(b, e - b);
    switch (behavior) {
      case 0:
        if (!gap.empty()) out.push_back(gap);
        out.push_back(match);
        break;
      case 1:
        if (!gap.empty()) out.push_back(gap);
        break;
      case 2:
        out.push_back(gap + match);
        break;
      case 3:
        if (!gap.empty() || !carry.empty()) out.push_back(carry + gap);
        carry = match;
        break;
    }
    last = e;
  }
  std::string tail = carry + s.substr(last);
  if (!tail.empty()) out.push_back(tail);
  return out;
}

}  // namespace

std::vector<std::string> PreTokenizer::apply(std::string_view text, bool at_start) const {
  std::vector<std::string> words{std::string(text)};
  for (const auto& step : steps_) {
    std::vector<std::string> next;
    for (size_t w = 0; w < words.size(); ++w) {
      std::string word = words[w];
      switch (step->kind) {
        case Step::Kind::kSplit: {
          auto parts = split_by(word, step->regex->find_all(word), static_cast<int>(step->behavior));
          next.insert(next.end(), parts.begin(), parts.end());
          break;
        }
        case Step::Kind::kByteLevel: {
          if (step->add_prefix_space && w == 0 && at_start && !word.empty() && word[0] != ' ')
            word = " " + word;
          std::vector<std::string> parts{word};
          if (step->use_regex) parts = split_by(word, step->regex->find_all(word), 0);
          const auto& table = byte_to_unicode();
          for (const auto& part : parts) {
            std::string mapped;
            for (unsigned char b : part) mapped += table[b];
            next.push_back(mapped);
          }
          break;
        }
        case Step::Kind::kMetaspace: {
          std::string replaced = replace_all(word, " ", step->replacement);
          const bool prepend =
              step->prepend_scheme == "always" || (step->prepend_scheme == "first" && at_start && w == 0);
          if (prepend && replaced.compare(0, step->replacement.size(), step->replacement) != 0)
            replaced = step->replacement + replaced;
          if (!step->split) {
            next.push_back(replaced);
            break;
          }
          std::vector<std::pair<size_t, size_t>> marks;
          for (size_t i = replaced.find(step->replacement); i != std::string::npos;
               i = replaced.find(step->replacement, i + step->replacement.size()))
            marks.emplace_back(i, i + step->replacement.size());
          auto parts = split_by(replaced, marks, 3);
          next.insert(next.end(), parts.begin(), parts.end());
          break;
        }
        case Step::Kind::kDigits: {
          std::vector<std::pair<size_t, size_t>> runs;
          for (size_t i = 0; i < word.size();) {
            if (std::isdigit(static_cast<unsigned char>(word[i]))) {
              size_t j = i + 1;
              if (!step->individual_digits)
                while (j < word.size() && std::isdigit(static_cast<unsigned char>(word[j]))) ++j;
              runs.emplace_back(i, j);
              i = j;
            } else {
              ++i;
            }
          }
          auto parts = split_by(word, runs, 0);
          next.insert(next.end(), parts.begin(), parts.end());
          break;
        }
      }
    }
    words = std::move(next);
  }
  return words;
}

}  // namespace pangu
