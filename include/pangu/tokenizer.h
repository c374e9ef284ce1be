// Tokenizers: SentencePiece tokenizer.model and Hugging Face tokenizer.json (BPE: byte-level,
// character-level, byte-fallback + Metaspace). Added and special tokens are matched in text before the model
// sees it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pangu {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = true;
  bool lstrip = false;  // swallow whitespace on the left when matched
  bool rstrip = false;  // swallow whitespace on the right when matched
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // add_special: add BOS (and whatever the tokenizer's template adds) as the tokenizer's files say.
  std::vector<int32_t> encode(std::string_view text, bool add_special = true) const;
  // Whole-sequence decode, as Hugging Face does it (special tokens kept unless skip_special).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  // The bytes token `id` contributes in the middle of a sequence (may be part of a UTF-8 character).
  virtual std::string token_bytes(int32_t id) const = 0;
  // The string the vocabulary stores for `id` ("▁the", "Ġthe", "<0x0A>").
  virtual std::string id_to_piece(int32_t id) const = 0;
  virtual std::optional<int32_t> piece_to_id(std::string_view piece) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Whether decoding drops one leading space at the start of a sequence (SentencePiece dummy prefix).
  virtual bool strips_leading_space() const = 0;

  bool is_special(int32_t id) const;
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::optional<int32_t> pad_id() const { return pad_id_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  const std::string& chat_template() const {
    return chat_template_;
  }  // from tokenizer_config.json, may be empty
  const std::string& origin() const { return origin_; }

  // Special ids, BOS/EOS insertion and the chat template from a source other than tokenizer_config.json
  // (a GGUF file's metadata). Unset fields keep their value.
  struct Specials {
    std::optional<int32_t> bos, eos, pad;
    std::optional<bool> add_bos, add_eos;
    std::optional<std::string> chat_template;
  };
  void set_specials(const Specials& specials);

 protected:
  // Encodes text containing no added tokens. at_start: the piece begins the text.
  virtual void encode_plain(std::string_view text, bool at_start, std::vector<int32_t>& out) const = 0;
  virtual std::vector<int32_t> special_prefix() const;  // added when add_special (default: BOS if add_bos_)
  virtual std::vector<int32_t> special_suffix() const;  // (default: EOS if add_eos_)

  void add_token(AddedToken token);                    // registers a token matched in text
  void read_tokenizer_config(const std::string& dir);  // bos/eos/pad, add_bos, added tokens, chat template

  std::string origin_;
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;
  std::optional<int32_t> bos_id_, eos_id_, pad_id_;
  bool add_bos_ = false;
  bool add_eos_ = false;
  std::string chat_template_;
};

// Loads tokenizer.json (preferred when both exist) or tokenizer.model from a model directory, or the
// tokenizer stored in a GGUF file's metadata. Returns nullptr when there is none.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path);  // dir of path is read for config
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path);
// Parses tokenizer.json text only (for fuzzing and tests); origin names it in errors.
std::unique_ptr<Tokenizer> parse_tokenizer_json(const std::string& text, const std::string& origin);

// Streaming decode: returns only complete UTF-8 characters, holding back a partial sequence until the
// bytes that finish it arrive. Invalid sequences come out as U+FFFD, never as broken bytes.
class StreamDecoder {
 public:
  // at_sequence_start: apply the tokenizer's leading-space rule to the first text emitted.
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true, bool at_sequence_start = false);
  std::string push(int32_t id);
  std::string flush();  // whatever is held back, invalid tails as U+FFFD

 private:
  std::string take_complete();
  const Tokenizer& tokenizer_;
  bool skip_special_;
  bool strip_pending_;
  std::string pending_;
};

// Length of the longest prefix of s made of complete, valid UTF-8 characters (an incomplete tail is held).
size_t utf8_complete_prefix(std::string_view s);
// Replaces invalid UTF-8 sequences with U+FFFD.
std::string utf8_sanitize(std::string_view s);

}  // namespace pangu
