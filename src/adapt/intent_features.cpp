#include "adapt/intent_features.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace pangu {

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnv(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) h = (h ^ c) * kFnvPrime;
  return h;
}
uint64_t fnv_u32(uint64_t h, uint32_t v) {
  for (int i = 0; i < 4; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * kFnvPrime;
  return h;
}
// Spreads the bits of an FNV hash, whose low bits are weak for short keys.
uint64_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x20000 && cp <= 0x2FA1F);
}

// Decodes one UTF-8 sequence at s[i]; returns its code point and advances i. Bytes that do not start a
// valid sequence give 0xFFFD and advance by one, so any byte string decodes.
uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return s[i++];
  int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  i += len;
  return cp;
}

// "A. ", "(B) ", "C) ", "D、", "（A）", "A：": the start of a lettered option.
bool is_option_head(std::string_view h) {
  size_t k = 0;
  if (h.substr(0, 1) == "(") k = 1;
  if (h.substr(0, 3) == "\xEF\xBC\x88") k = 3;
  if (k >= h.size() || h[k] < 'A' || h[k] > 'H') return false;
  const std::string_view rest = h.substr(k + 1);
  for (std::string_view sep : {".", ")", ":", " ", "\xE3\x80\x81", "\xEF\xBC\x8E", "\xEF\xBC\x89", "\xEF\xBC\x9A"})
    if (rest.substr(0, sep.size()) == sep) return true;
  return false;
}

enum class TokenKind : uint8_t { kWord, kCjk, kSymbol };

struct Token {
  TokenKind kind;
  uint64_t hash;  // of the token's text
};

class Builder {
 public:
  Builder(int bits, IntentFeatures& out, std::vector<std::string>* flag_names = nullptr)
      : mask_((1u << bits) - 1), out_(out), flag_names_(flag_names) {}
  void add(uint64_t h, float weight = 1.0f) {
    h = finish(h);
    out_.index.push_back(static_cast<uint32_t>(h) & mask_);
    out_.value.push_back((h >> 63) ? -weight : weight);
  }
  void add_flag(std::string_view name, float weight = 1.0f) {
    if (flag_names_) flag_names_->emplace_back(name);
    add(fnv(fnv(kFnvOffset, "f:"), name), weight);
  }

 private:
  uint32_t mask_;
  IntentFeatures& out_;
  std::vector<std::string>* flag_names_;
};

uint64_t ns(std::string_view prefix, uint64_t token_hash) { return fnv_u32(fnv(kFnvOffset, prefix), static_cast<uint32_t>(token_hash)) ^ (token_hash >> 32); }

// The tokens of a piece of text and the shape statistics the flags are made of.
struct Scan {
  std::vector<Token> tokens;
  size_t cjk = 0, latin_words = 0, digits = 0, lines = 1, option_lines = 0, max_line = 0, last_line = 0;
  size_t code_lines = 0;
  size_t inline_options = 0;  // distinct letters A-D seen as "(A)", " A. ", " B) ", "C、" inside lines
  bool fence = false;
};

// Lettered options written inside a line ("... (A) red (B) blue", "A. 21 B. 27", "A、太湖 B、洞庭湖"): which of
// A, B, C, D appear in such a form, as a bit set.
unsigned inline_option_letters(std::string_view text) {
  unsigned seen = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c < 'A' || c > 'D') continue;
    const bool open_paren = i > 0 && text[i - 1] == '(' && text[i + 1] == ')';
    const bool after_space = i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '\t';
    const std::string_view rest = text.substr(i + 1);
    const bool marker = rest.substr(0, 2) == ". " || rest.substr(0, 2) == ") " || rest.substr(0, 1) == "." ||
                        rest.substr(0, 3) == "\xE3\x80\x81" || rest.substr(0, 3) == "\xEF\xBC\x8E";
    if (open_paren || (after_space && marker)) seen |= 1u << (c - 'A');
  }
  return seen;
}

void scan(std::string_view text, Scan& sc) {
  std::string word;
  size_t line_start_chars = 0, chars = 0;
  bool line_start = true;  // only spaces so far on this line
  std::string line_head;   // the first few non-space characters of the line
  auto end_word = [&] {
    if (word.empty()) return;
    sc.tokens.push_back({TokenKind::kWord, fnv(kFnvOffset, word)});
    ++sc.latin_words;
    word.clear();
  };
  auto end_line = [&] {
    const size_t len = chars - line_start_chars;
    sc.max_line = std::max(sc.max_line, len);
    if (len > 0) sc.last_line = len;
    if (is_option_head(line_head)) ++sc.option_lines;
    if (line_head.rfind("def ", 0) == 0 || line_head.rfind("return", 0) == 0 || line_head.rfind("for ", 0) == 0 ||
        line_head.rfind("import ", 0) == 0 || line_head.rfind("assert ", 0) == 0)
      ++sc.code_lines;
    if (line_head.rfind("```", 0) == 0) sc.fence = true;
    line_start_chars = chars;
    line_start = true;
    line_head.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const uint32_t cp = next_code_point(text, i);
    ++chars;
    if (cp == '\n') {
      end_word();
      end_line();
      ++sc.lines;
      continue;
    }
    if (!(cp == ' ' || cp == '\t' || cp == '\r') || !line_start) {
      line_start = false;
      if (line_head.size() < 8) line_head.append(text.substr(at, i - at));
    }
    if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_' || (cp >= 'A' && cp <= 'Z')) {
      if (cp >= '0' && cp <= '9') ++sc.digits;
      if (word.size() < 24) word.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
      continue;
    }
    end_word();
    if (is_cjk(cp)) {
      sc.tokens.push_back({TokenKind::kCjk, fnv_u32(kFnvOffset ^ 0x9e37, cp)});
      ++sc.cjk;
    } else if (cp > ' ' && cp != 0xFFFD && !(cp >= 0x80 && cp < 0xA0)) {
      // Punctuation and symbols, full-width forms folded to ASCII (？ -> ?).
      uint32_t folded = cp >= 0xFF01 && cp <= 0xFF5E ? cp - 0xFEE0 : cp;
      if (folded == 0x3002) folded = '.';
      if (folded == 0x3001) folded = ',';
      sc.tokens.push_back({TokenKind::kSymbol, fnv_u32(kFnvOffset ^ 0x5bd1, folded)});
    }
  }
  end_word();
  end_line();
  sc.inline_options = static_cast<size_t>(__builtin_popcount(inline_option_letters(text)));
}

// UTF-8-safe cut points: never inside a multi-byte sequence.
size_t back_to_boundary(std::string_view s, size_t at) {
  while (at > 0 && at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  return at;
}

}  // namespace

namespace {

void extract(std::string_view text, int bucket_bits, IntentFeatures& out, std::vector<std::string>* flag_names) {
  out.index.clear();
  out.value.clear();
  Builder b(bucket_bits, out, flag_names);
  Scan sc;
  if (text.size() > kIntentHeadBytes + kIntentTailBytes) {
    const size_t head_end = back_to_boundary(text, kIntentHeadBytes);
    const size_t tail_start = back_to_boundary(text, text.size() - kIntentTailBytes);
    scan(text.substr(0, head_end), sc);
    Scan tail;
    scan(text.substr(tail_start), tail);
    sc.tokens.insert(sc.tokens.end(), tail.tokens.begin(), tail.tokens.end());
    sc.cjk += tail.cjk;
    sc.latin_words += tail.latin_words;
    sc.digits += tail.digits;
    sc.lines += tail.lines;
    sc.option_lines += tail.option_lines;
    sc.code_lines += tail.code_lines;
    sc.inline_options = std::max(sc.inline_options, tail.inline_options);
    sc.fence = sc.fence || tail.fence;
    sc.max_line = std::max(sc.max_line, tail.max_line);
    sc.last_line = tail.last_line;
  } else {
    scan(text, sc);
  }

  const auto& t = sc.tokens;
  constexpr size_t kEdge = 12;  // tokens counted as the start or the end of the request
  for (size_t i = 0; i < t.size(); ++i) {
    const uint64_t h = t[i].hash;
    const char* kind = t[i].kind == TokenKind::kWord ? "w" : t[i].kind == TokenKind::kCjk ? "c" : "s";
    b.add(ns(kind, h));
    if (i + 1 < t.size() && t[i + 1].kind == t[i].kind && t[i].kind != TokenKind::kSymbol)
      b.add(ns(kind, h * 31 + t[i + 1].hash));  // word pair or character pair
    if (i + 1 < t.size() && t[i].kind != t[i + 1].kind) b.add(ns("x", h * 131 + t[i + 1].hash));
    if (i < kEdge) {
      b.add(ns("h", h));
      if (i + 1 < t.size()) b.add(ns("hp", h * 31 + t[i + 1].hash));
    }
    if (i + kEdge >= t.size()) {
      b.add(ns("t", h));
      if (i + 1 < t.size()) b.add(ns("tp", h * 31 + t[i + 1].hash));
    }
  }

  // Shape flags, each once.
  const size_t n_bytes = text.size();
  int len_bucket = 0;
  for (size_t v = n_bytes / 32; v > 0 && len_bucket < 12; v >>= 1) ++len_bucket;
  b.add_flag("len" + std::to_string(len_bucket), 2.0f);
  b.add_flag("lines" + std::to_string(std::min<size_t>(sc.lines, 8)));
  if (sc.option_lines >= 3) b.add_flag("options", 3.0f);
  if (sc.option_lines >= 2) b.add_flag("options2");
  if (sc.inline_options >= 3) b.add_flag("options_inline", 2.0f);
  if (sc.max_line > 400 && sc.last_line < 250 && sc.lines > 1) b.add_flag("passage_then_line", 2.0f);
  if (n_bytes > 1200) b.add_flag("long", 1.5f);
  if (sc.fence) b.add_flag("fence", 2.0f);
  if (sc.code_lines > 0) b.add_flag("code_lines", 2.0f);
  const size_t letters = sc.cjk + sc.latin_words;
  if (letters > 0) {
    const double cjk_share = static_cast<double>(sc.cjk) / static_cast<double>(sc.cjk + sc.latin_words * 4);
    b.add_flag(cjk_share > 0.6 ? "script_cjk" : cjk_share > 0.05 ? "script_mixed" : "script_latin");
  }
  const double digit_share = static_cast<double>(sc.digits) / static_cast<double>(std::max<size_t>(n_bytes, 1));
  b.add_flag(digit_share > 0.05 ? "digits_many" : sc.digits > 0 ? "digits_some" : "digits_none");
  if (t.empty()) b.add_flag("empty");

  // L2 normalization over occurrences: long and short requests weigh alike.
  double norm = 0.0;
  for (float v : out.value) norm += static_cast<double>(v) * v;
  const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
  for (float& v : out.value) v *= inv;
}

}  // namespace

void extract_intent_features(std::string_view text, int bucket_bits, IntentFeatures& out) {
  extract(text, bucket_bits, out, nullptr);
}

std::vector<std::string> intent_shape_flags(std::string_view text) {
  IntentFeatures f;
  std::vector<std::string> names;
  extract(text, 8, f, &names);
  return names;
}

}  // namespace pangu
