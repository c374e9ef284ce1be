// Hugging Face tokenizer.json with a BPE model: byte-level (GPT-2 / Qwen), character-level with no merges,
// and byte_fallback + Metaspace (Llama style).
#include <filesystem>
#include <queue>
#include <unordered_map>

#include "io/json_file.h"
#include "io/text_pipeline.h"
#include "pangu/error.h"
#include "pangu/tokenizer.h"

namespace pangu {

namespace {

enum class DecodeRule { kConcat, kByteLevel, kMetaspace };

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(const Json& j, const std::string& origin)
      : normalizer_(j.value("normalizer", Json()), origin),
        pre_tokenizer_(j.value("pre_tokenizer", Json()), origin) {
    origin_ = origin;
    const Json& model = json_required<Json>(j, "model", origin);
    const std::string where = origin + " model";
    const std::string type = json_optional<std::string>(model, "type", "BPE", where);
    if (type != "BPE") fail("{}: model type \"{}\" is not supported (expected BPE)", where, type);
    byte_fallback_ = json_optional<bool>(model, "byte_fallback", false, where);
    ignore_merges_ = json_optional<bool>(model, "ignore_merges", false, where);
    const Json& vocab = json_required<Json>(model, "vocab", where);
    if (!vocab.is_object()) fail("{}: \"vocab\" must be an object", where);
    for (const auto& [piece, id] : vocab.items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 24))
        fail("{}: vocab entry \"{}\" has an invalid id", where, piece);
      set_piece(piece, id.get<int32_t>());
    }
    if (auto unk = model.find("unk_token"); unk != model.end() && unk->is_string()) {
      auto it = vocab_.find(unk->get<std::string>());
      if (it != vocab_.end()) unk_id_ = it->second;
    }
    if (auto merges = model.find("merges"); merges != model.end() && !merges->is_null()) {
      if (!merges->is_array()) fail("{}: \"merges\" must be a list", where);
      int32_t rank = 0;
      for (const auto& m : *merges) {
        std::string a, b;
        if (m.is_string()) {
          const std::string s = m.get<std::string>();
          const size_t space = s.find(' ', 1);
          if (space == std::string::npos) fail("{}: merge {} \"{}\" is not two pieces", where, rank, s);
          a = s.substr(0, space);
          b = s.substr(space + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
          a = m[0].get<std::string>();
          b = m[1].get<std::string>();
        } else {
          fail("{}: merge {} is neither \"a b\" nor [\"a\", \"b\"]", where, rank);
        }
        auto ia = vocab_.find(a), ib = vocab_.find(b), im = vocab_.find(a + b);
        if (ia == vocab_.end() || ib == vocab_.end() || im == vocab_.end())
          fail("{}: merge {} (\"{}\" + \"{}\") uses a piece missing from the vocabulary", where, rank, a, b);
        merges_.emplace(pair_key(ia->second, ib->second), Merge{rank, im->second});
        ++rank;
      }
    }
    if (auto added = j.find("added_tokens"); added != j.end() && added->is_array()) {
      for (const auto& t : *added) {
        AddedToken token;
        token.id = json_required<int32_t>(t, "id", origin + " added_tokens");
        token.content = json_required<std::string>(t, "content", origin + " added_tokens");
        token.special = json_optional<bool>(t, "special", false, origin);
        token.lstrip = json_optional<bool>(t, "lstrip", false, origin);
        token.rstrip = json_optional<bool>(t, "rstrip", false, origin);
        if (token.id < 0 || token.id > (1 << 24))
          fail("{}: added token \"{}\" has an invalid id", origin, token.content);
        set_piece(token.content, token.id);
        add_token(token);
      }
    }
    parse_decoder(j.value("decoder", Json()), origin + " decoder");
    parse_post_processor(j.value("post_processor", Json()), origin + " post_processor");
  }

  void read_config(const std::string& dir) {
    const bool template_adds = has_template_;
    read_tokenizer_config(dir);
    if (template_adds) add_bos_ = add_eos_ = false;  // the post-processor template decides
  }

  std::string token_bytes(int32_t id) const override {
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
    if (id < 0 || id >= static_cast<int32_t>(pieces_.size())) return {};
    const std::string& piece = pieces_[id];
    switch (decode_rule_) {
      case DecodeRule::kByteLevel: {
        std::string out;
        for (size_t i = 0; i < piece.size();) {
          size_t len = 1;
          while (i + len < piece.size() && (static_cast<uint8_t>(piece[i + len]) & 0xc0) == 0x80) ++len;
          const int b = unicode_to_byte(std::string_view(piece).substr(i, len));
          if (b >= 0)
            out.push_back(static_cast<char>(b));
          else
            out.append(piece, i, len);
          i += len;
        }
        return out;
      }
      case DecodeRule::kMetaspace: {
        if (byte_fallback_ && piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
          return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
        }
        std::string out;
        for (size_t i = 0; i < piece.size();) {
          if (piece.compare(i, metaspace_.size(), metaspace_) == 0) {
            out.push_back(' ');
            i += metaspace_.size();
          } else {
            out.push_back(piece[i++]);
          }
        }
        return out;
      }
      case DecodeRule::kConcat:
        return piece;
    }
    return piece;
  }

  std::string id_to_piece(int32_t id) const override {
    return id >= 0 && id < static_cast<int32_t>(pieces_.size()) ? pieces_[id] : std::string{};
  }

  std::optional<int32_t> piece_to_id(std::string_view piece) const override {
    auto it = vocab_.find(std::string(piece));
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  bool strips_leading_space() const override { return strip_leading_space_; }

 protected:
  std::vector<int32_t> special_prefix() const override {
    return has_template_ ? prefix_ : Tokenizer::special_prefix();
  }
  std::vector<int32_t> special_suffix() const override {
    return has_template_ ? suffix_ : Tokenizer::special_suffix();
  }

  void encode_plain(std::string_view text, bool at_start, std::vector<int32_t>& out) const override {
    const std::string normalized = normalizer_.apply(utf8_sanitize(text));
    for (const std::string& word : pre_tokenizer_.apply(normalized, at_start)) encode_word(word, out);
  }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void set_piece(const std::string& piece, int32_t id) {
    vocab_.emplace(piece, id);
    if (id >= static_cast<int32_t>(pieces_.size())) pieces_.resize(id + 1);
    pieces_[id] = piece;
  }

  void parse_decoder(const Json& spec, const std::string& origin) {
    if (spec.is_null()) return;
    const std::string type = json_required<std::string>(spec, "type", origin);
    if (type == "ByteLevel") {
      decode_rule_ = DecodeRule::kByteLevel;
    } else if (type == "Metaspace") {
      decode_rule_ = DecodeRule::kMetaspace;
      metaspace_ = json_optional<std::string>(spec, "replacement", metaspace_, origin);
      const std::string scheme = json_optional<std::string>(spec, "prepend_scheme", "always", origin);
      strip_leading_space_ = scheme != "never" && json_optional<bool>(spec, "add_prefix_space", true, origin);
    } else if (type == "Sequence") {
      // Llama style: Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0).
      for (const auto& d : json_required<Json>(spec, "decoders", origin)) {
        const std::string t = json_required<std::string>(d, "type", origin);
        if (t == "Replace") {
          decode_rule_ = DecodeRule::kMetaspace;
          const Json& pattern = json_required<Json>(d, "pattern", origin);
          metaspace_ = json_optional<std::string>(pattern, "String", metaspace_, origin);
        } else if (t == "Strip") {
          strip_leading_space_ = json_optional<int>(d, "start", 0, origin) > 0;
        } else if (t == "ByteLevel") {
          decode_rule_ = DecodeRule::kByteLevel;
        } else if (t != "ByteFallback" && t != "Fuse") {
          fail("{}: decoder step \"{}\" is not supported", origin, t);
        }
      }
    } else if (type != "Fuse" && type != "ByteFallback") {
      fail("{}: decoder type \"{}\" is not supported", origin, type);
    }
  }

  void parse_post_processor(const Json& spec, const std::string& origin) {
    if (spec.is_null() || json_optional<std::string>(spec, "type", "", origin) != "TemplateProcessing")
      return;
    has_template_ = true;
    bool after_sequence = false;
    for (const auto& item : json_required<Json>(spec, "single", origin)) {
      if (item.contains("Sequence")) {
        after_sequence = true;
        continue;
      }
      if (!item.contains("SpecialToken")) continue;
      const std::string name = json_required<std::string>(item["SpecialToken"], "id", origin);
      const Json& specials = json_required<Json>(spec, "special_tokens", origin);
      if (!specials.contains(name))
        fail("{}: template names \"{}\", absent from special_tokens", origin, name);
      for (const auto& id : json_required<std::vector<int32_t>>(specials[name], "ids", origin))
        (after_sequence ? suffix_ : prefix_).push_back(id);
    }
  }

  // Symbols of one word: its characters looked up, with byte fallback or <unk> for the unknown.
  void initial_symbols(const std::string& word, std::vector<int32_t>& symbols) const {
    for (size_t i = 0; i < word.size();) {
      size_t len = 1;
      while (i + len < word.size() && (static_cast<uint8_t>(word[i + len]) & 0xc0) == 0x80) ++len;
      auto it = vocab_.find(word.substr(i, len));
      if (it != vocab_.end()) {
        symbols.push_back(it->second);
      } else if (byte_fallback_) {
        for (size_t k = 0; k < len; ++k) {
          char name[8];
          std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<uint8_t>(word[i + k]));
          auto b = vocab_.find(name);
          if (b != vocab_.end())
            symbols.push_back(b->second);
          else if (unk_id_)
            symbols.push_back(*unk_id_);
        }
      } else if (unk_id_) {
        symbols.push_back(*unk_id_);
      }
      i += len;
    }
  }

  // Applies merges lowest rank first: a doubly linked list of symbols and a heap of candidate pairs.
  void encode_word(const std::string& word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
      if (auto it = vocab_.find(word); it != vocab_.end()) {
        out.push_back(it->second);
        return;
      }
    }
    std::vector<int32_t> sym;
    initial_symbols(word, sym);
    const int n = static_cast<int>(sym.size());
    if (n <= 1 || merges_.empty()) {
      out.insert(out.end(), sym.begin(), sym.end());
      return;
    }
    std::vector<int> prev(n), next(n);
    for (int i = 0; i < n; ++i) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Candidate {
      int32_t rank;
      int left;
      int32_t left_id, right_id;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto consider = [&](int left) {
      const int right = left >= 0 ? next[left] : -1;
      if (left < 0 || right < 0) return;
      auto it = merges_.find(pair_key(sym[left], sym[right]));
      if (it != merges_.end()) heap.push({it->second.rank, left, sym[left], sym[right]});
    };
    for (int i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      const int right = next[c.left];
      // Stale entries: the pair changed since it was pushed.
      if (sym[c.left] != c.left_id || right < 0 || sym[right] != c.right_id || sym[c.left] < 0) continue;
      sym[c.left] = merges_.at(pair_key(c.left_id, c.right_id)).merged;
      sym[right] = -1;
      next[c.left] = next[right];
      if (next[right] >= 0) prev[next[right]] = c.left;
      consider(prev[c.left]);
      consider(c.left);
    }
    for (int i = 0; i >= 0; i = next[i]) out.push_back(sym[i]);
  }

  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> pieces_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  DecodeRule decode_rule_ = DecodeRule::kConcat;
  std::string metaspace_ = "\xE2\x96\x81";
  bool strip_leading_space_ = false;
  bool has_template_ = false;
  std::vector<int32_t> prefix_, suffix_;
};

}  // namespace

std::unique_ptr<Tokenizer> parse_tokenizer_json(const std::string& text, const std::string& origin) {
  const Json j = parse_json_text(text, origin);
  if (!j.is_object()) fail("{}: not a JSON object", origin);
  try {
    return std::make_unique<BpeTokenizer>(j, origin);
  } catch (const nlohmann::json::exception& e) {  // a field of an unexpected type that no check named
    fail("{}: unexpected structure: {}", origin, e.what());
  }
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) {
  const Json j = read_json_file(path);
  if (!j.is_object()) fail("{}: not a JSON object", path);
  try {
    auto tokenizer = std::make_unique<BpeTokenizer>(j, path);
    tokenizer->read_config(std::filesystem::path(path).parent_path().string());
    return tokenizer;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: unexpected structure: {}", path, e.what());
  }
}

}  // namespace pangu
