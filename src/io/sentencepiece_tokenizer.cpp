// SentencePiece tokenizer.model through Debian's libsentencepiece. Control and user-defined pieces
// (<s>, [unused9] ...) are matched in text like Hugging Face's added tokens.
#include <sentencepiece_processor.h>

#include <filesystem>

#include "pangu/error.h"
#include "pangu/tokenizer.h"

namespace pangu {

namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) {
    origin_ = path;
    const auto status = sp_.Load(path);
    if (!status.ok()) fail("{}: cannot load SentencePiece model: {}", path, status.ToString());
    const int n = sp_.GetPieceSize();
    pieces_.resize(n);
    for (int id = 0; id < n; ++id) {
      pieces_[id] = sp_.IdToPiece(id);
      // Control pieces (<s>, </s>, and in openPangu's model [unused9] ...) are never produced by
      // SentencePiece's own encoder; matching them in text is what Hugging Face does. User-defined pieces
      // are already matched by the encoder.
      if (sp_.IsControl(id)) {
        AddedToken t;
        t.content = pieces_[id];
        t.id = id;
        add_token(t);
      }
    }
    if (sp_.bos_id() >= 0) bos_id_ = sp_.bos_id();
    if (sp_.eos_id() >= 0) eos_id_ = sp_.eos_id();
    if (sp_.pad_id() >= 0) pad_id_ = sp_.pad_id();
    add_bos_ = true;  // LlamaTokenizer's default; tokenizer_config.json may say otherwise
    read_tokenizer_config(std::filesystem::path(path).parent_path().string());
  }

  std::string token_bytes(int32_t id) const override {
    if (id < 0 || id >= static_cast<int32_t>(pieces_.size())) return {};
    if (sp_.IsByte(id)) {
      // "<0xAB>"
      return std::string(1, static_cast<char>(std::stoi(pieces_[id].substr(3, 2), nullptr, 16)));
    }
    if (sp_.IsUnknown(id)) return " \xE2\x81\x87 ";  // SentencePiece renders <unk> as " ⁇ "
    std::string out;
    const std::string& p = pieces_[id];
    for (size_t i = 0; i < p.size();) {
      if (p.compare(i, 3, "\xE2\x96\x81") == 0) {  // U+2581 "▁" is a space
        out.push_back(' ');
        i += 3;
      } else {
        out.push_back(p[i++]);
      }
    }
    return out;
  }

  std::string id_to_piece(int32_t id) const override {
    return id >= 0 && id < static_cast<int32_t>(pieces_.size()) ? pieces_[id] : std::string{};
  }

  std::optional<int32_t> piece_to_id(std::string_view piece) const override {
    const int id = sp_.PieceToId(piece);
    if (id == sp_.unk_id() && piece != id_to_piece(id)) return std::nullopt;
    return id;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  bool strips_leading_space() const override { return true; }

 protected:
  void encode_plain(std::string_view text, bool /*at_start*/, std::vector<int32_t>& out) const override {
    std::vector<int> ids;
    const auto status = sp_.Encode(text, &ids);
    if (!status.ok()) fail("{}: encode failed: {}", origin_, status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
  }

 private:
  sentencepiece::SentencePieceProcessor sp_;
  std::vector<std::string> pieces_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace pangu
