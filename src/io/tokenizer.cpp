// What every tokenizer shares: added-token matching, BOS/EOS from the config files, decoding, streaming.
#include "pangu/tokenizer.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "io/gguf_tokenizer.h"
#include "io/json_file.h"
#include "pangu/error.h"

namespace pangu {

namespace fs = std::filesystem;

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Length of the valid UTF-8 character at s[i], 0 when invalid, -1 when valid so far but cut off.
int utf8_char_length(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  int len;
  uint32_t min;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    min = 0x10000;
  } else
    return 0;
  uint32_t cp = b0 & (0x7f >> len);
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Bytes of the maximal invalid subpart at s[i]: a lead byte and the continuation bytes that could still
// have completed it (Unicode's "maximal subpart" practice, which Python's decoder follows).
size_t utf8_invalid_length(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  const size_t need = (b0 & 0xe0) == 0xc0 ? 2 : (b0 & 0xf0) == 0xe0 ? 3 : (b0 & 0xf8) == 0xf0 ? 4 : 1;
  size_t n = 1;
  while (n < need && i + n < s.size()) {
    const auto b = static_cast<uint8_t>(s[i + n]);
    // The second byte's range is narrower for E0, ED, F0 and F4 (overlongs, surrogates, > U+10FFFF).
    const bool ok = n == 1 ? (b0 == 0xe0   ? b >= 0xa0 && b <= 0xbf
                              : b0 == 0xed ? b >= 0x80 && b <= 0x9f
                              : b0 == 0xf0 ? b >= 0x90 && b <= 0xbf
                              : b0 == 0xf4 ? b >= 0x80 && b <= 0x8f
                                           : b0 >= 0xc2 && b0 <= 0xf4 && (b & 0xc0) == 0x80)
                           : (b & 0xc0) == 0x80;
    if (!ok) break;
    ++n;
  }
  return n;
}

std::string special_token_content(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return {};
}

}  // namespace

size_t utf8_complete_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const int len = utf8_char_length(s, i);
    if (len < 0) return i;    // incomplete tail: hold it back
    i += len == 0 ? 1 : len;  // invalid bytes are released (and replaced by the caller)
  }
  return i;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const int len = utf8_char_length(s, i);
    if (len <= 0) {
      out += "\xEF\xBF\xBD";
      i += utf8_invalid_length(s, i);
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

void Tokenizer::add_token(AddedToken token) {
  if (token.content.empty()) return;
  auto it = added_by_id_.find(token.id);
  if (it != added_by_id_.end()) {
    added_[it->second] = std::move(token);
    return;
  }
  added_by_id_[token.id] = added_.size();
  added_.push_back(std::move(token));
}

bool Tokenizer::is_special(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && added_[it->second].special;
}

std::vector<int32_t> Tokenizer::special_prefix() const {
  if (add_bos_ && bos_id_) return {*bos_id_};
  return {};
}

std::vector<int32_t> Tokenizer::special_suffix() const {
  if (add_eos_ && eos_id_) return {*eos_id_};
  return {};
}

void Tokenizer::read_tokenizer_config(const std::string& dir) {
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    const fs::path path = fs::path(dir) / name;
    if (!fs::exists(path)) continue;
    const Json j = read_json_file(path.string());
    if (!j.is_object()) fail("{}: not a JSON object", path.string());
    if (auto it = j.find("added_tokens_decoder"); it != j.end() && it->is_object()) {
      for (const auto& [key, value] : it->items()) {
        AddedToken t;
        try {
          t.id = std::stoi(key);
        } catch (const std::exception&) {
          fail("{}: added_tokens_decoder key \"{}\" is not a token id", path.string(), key);
        }
        t.content = special_token_content(value);
        t.special = json_optional<bool>(value, "special", true, path.string());
        t.lstrip = json_optional<bool>(value, "lstrip", false, path.string());
        t.rstrip = json_optional<bool>(value, "rstrip", false, path.string());
        add_token(t);
      }
    }
    auto id_of = [&](const char* key) -> std::optional<int32_t> {
      auto it = j.find(key);
      if (it == j.end()) return std::nullopt;
      const std::string content = special_token_content(*it);
      if (content.empty()) return std::nullopt;
      for (const auto& t : added_)
        if (t.content == content) return t.id;
      return piece_to_id(content);
    };
    if (auto id = id_of("bos_token")) bos_id_ = id;
    if (auto id = id_of("eos_token")) eos_id_ = id;
    if (auto id = id_of("pad_token")) pad_id_ = id;
    if (j.contains("add_bos_token") && j["add_bos_token"].is_boolean())
      add_bos_ = j["add_bos_token"].get<bool>();
    if (j.contains("add_eos_token") && j["add_eos_token"].is_boolean())
      add_eos_ = j["add_eos_token"].get<bool>();
    if (auto it = j.find("chat_template"); it != j.end() && it->is_string())
      chat_template_ = it->get<std::string>();
  }
}

void Tokenizer::set_specials(const Specials& s) {
  if (s.bos) bos_id_ = s.bos;
  if (s.eos) eos_id_ = s.eos;
  if (s.pad) pad_id_ = s.pad;
  if (s.add_bos) add_bos_ = *s.add_bos;
  if (s.add_eos) add_eos_ = *s.add_eos;
  if (s.chat_template) chat_template_ = *s.chat_template;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special) out = special_prefix();
  // Added tokens first, longest match at each position, then the model on the text between them.
  // Candidates are bucketed by first byte so a position costs only the tokens that could start there.
  std::array<std::vector<const AddedToken*>, 256> by_first_byte;
  for (const auto& t : added_) by_first_byte[static_cast<uint8_t>(t.content[0])].push_back(&t);
  for (auto& bucket : by_first_byte)
    std::sort(bucket.begin(), bucket.end(),
              [](auto* a, auto* b) { return a->content.size() > b->content.size(); });
  size_t segment_start = 0;
  size_t i = 0;
  bool at_start = true;
  auto flush_segment = [&](size_t end) {
    if (end > segment_start) {
      encode_plain(text.substr(segment_start, end - segment_start), at_start, out);
      at_start = false;
    }
  };
  while (i < text.size()) {
    const AddedToken* match = nullptr;
    for (const AddedToken* t : by_first_byte[static_cast<uint8_t>(text[i])]) {
      if (text.compare(i, t->content.size(), t->content) == 0) {
        match = t;
        break;
      }
    }
    if (!match) {
      ++i;
      continue;
    }
    size_t end = i;
    if (match->lstrip)
      while (end > segment_start && is_space(text[end - 1])) --end;
    flush_segment(end);
    out.push_back(match->id);
    at_start = false;
    i += match->content.size();
    if (match->rstrip)
      while (i < text.size() && is_space(text[i])) ++i;
    segment_start = i;
  }
  flush_segment(text.size());
  if (add_special) {
    const auto suffix = special_suffix();
    out.insert(out.end(), suffix.begin(), suffix.end());
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  bool first_text = true;
  for (int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    std::string piece = token_bytes(id);
    if (first_text && !is_special(id)) {
      if (strips_leading_space() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      first_text = false;
    }
    bytes += piece;
  }
  return utf8_sanitize(bytes);
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special, bool at_sequence_start)
    : tokenizer_(tokenizer), skip_special_(skip_special), strip_pending_(at_sequence_start) {}

std::string StreamDecoder::take_complete() {
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = utf8_sanitize(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  if (skip_special_ && tokenizer_.is_special(id)) return {};
  std::string piece = tokenizer_.token_bytes(id);
  if (strip_pending_ && !tokenizer_.is_special(id)) {
    if (tokenizer_.strips_leading_space() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip_pending_ = false;
  }
  pending_ += piece;
  return take_complete();
}

std::string StreamDecoder::flush() {
  std::string out = utf8_sanitize(pending_);
  pending_.clear();
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  if (fs::is_regular_file(dir) && is_gguf_file(dir)) return load_gguf_tokenizer(dir);
  const fs::path json = fs::path(dir) / "tokenizer.json";
  const fs::path model = fs::path(dir) / "tokenizer.model";
  if (fs::exists(json)) return load_tokenizer_json(json.string());
  if (fs::exists(model)) return load_sentencepiece(model.string());
  return nullptr;
}

}  // namespace pangu
