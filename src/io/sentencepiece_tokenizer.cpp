// SentencePiece tokenizer.model through Debian's libsentencepiece. Control and user-defined pieces
// (<s>, [unused9] ...) are matched in text like Hugging Face's added tokens.
#include <sentencepiece_processor.h>

#include <cstring>
#include <filesystem>

#include <fstream>
#include <sstream>

#include "io/sentencepiece_vocab.h"
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
    index_pieces();
    add_bos_ = true;  // LlamaTokenizer's default; tokenizer_config.json may say otherwise
    read_tokenizer_config(std::filesystem::path(path).parent_path().string());
  }

  // From a serialized ModelProto (a GGUF file's vocabulary); the caller sets the specials.
  SentencePieceTokenizer(const std::string& serialized, const std::string& origin) {
    origin_ = origin;
    const auto status = sp_.LoadFromSerializedProto(serialized);
    if (!status.ok()) fail("{}: the stored SentencePiece vocabulary does not load: {}", origin, status.ToString());
    index_pieces();
    add_bos_ = true;
  }

  void index_pieces() {
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

namespace {

// Protobuf wire format, only what ModelProto needs.
class ProtoReader {
 public:
  ProtoReader(std::string_view data, const std::string& origin) : data_(data), origin_(origin) {}
  bool done() const { return pos_ >= data_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail("{}: truncated protobuf varint", origin_);
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("{}: protobuf varint longer than 10 bytes", origin_);
  }
  std::string_view bytes(size_t n) {
    if (n > data_.size() - pos_) fail("{}: truncated protobuf field", origin_);
    const std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // Reads a field key; the value is then read by the caller or skipped.
  std::pair<uint32_t, uint32_t> key() {
    const uint64_t k = varint();
    return {static_cast<uint32_t>(k >> 3), static_cast<uint32_t>(k & 7)};
  }
  std::string_view length_delimited() { return bytes(static_cast<size_t>(varint())); }
  float fixed32() {
    const std::string_view b = bytes(4);
    float f;
    std::memcpy(&f, b.data(), 4);
    return f;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: bytes(8); break;
      case 2: length_delimited(); break;
      case 5: bytes(4); break;
      default: fail("{}: protobuf wire type {} is not supported", origin_, wire);
    }
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  const std::string& origin_;
};

class ProtoWriter {
 public:
  void varint_field(uint32_t field, int64_t v) {
    key(field, 0);
    varint(static_cast<uint64_t>(v));  // negative int32 values take ten bytes, as protobuf encodes them
  }
  void bytes_field(uint32_t field, std::string_view s) {
    key(field, 2);
    varint(s.size());
    out_.append(s);
  }
  void float_field(uint32_t field, float f) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &f, 4);
    out_.append(b, 4);
  }
  const std::string& str() const { return out_; }

 private:
  void key(uint32_t field, uint32_t wire) { varint((static_cast<uint64_t>(field) << 3) | wire); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

}  // namespace

SpmVocab read_sentencepiece_vocab(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  SpmVocab v;
  ProtoReader model(data, path);
  while (!model.done()) {
    const auto [field, wire] = model.key();
    if (field == 1 && wire == 2) {  // SentencePiece
      ProtoReader piece(model.length_delimited(), path);
      std::string text;
      float score = 0.0f;
      int32_t type = static_cast<int32_t>(PieceType::kNormal);
      while (!piece.done()) {
        const auto [f, w] = piece.key();
        if (f == 1 && w == 2) text = std::string(piece.length_delimited());
        else if (f == 2 && w == 5) score = piece.fixed32();
        else if (f == 3 && w == 0) type = static_cast<int32_t>(piece.varint());
        else piece.skip(w);
      }
      v.pieces.push_back(std::move(text));
      v.scores.push_back(score);
      v.types.push_back(type);
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader spec(model.length_delimited(), path);
      while (!spec.done()) {
        const auto [f, w] = spec.key();
        if (f == 24 && w == 0) v.treat_whitespace_as_suffix = spec.varint() != 0;
        else if (f == 25 && w == 0) v.split_digits = spec.varint() != 0;
        else if (f == 26 && w == 0) v.allow_whitespace_only_pieces = spec.varint() != 0;
        else spec.skip(w);
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader spec(model.length_delimited(), path);
      while (!spec.done()) {
        const auto [f, w] = spec.key();
        if (f == 3 && w == 0) v.add_dummy_prefix = spec.varint() != 0;
        else if (f == 4 && w == 0) v.remove_extra_whitespaces = spec.varint() != 0;
        else spec.skip(w);
      }
    } else {
      model.skip(wire);
    }
  }
  if (v.pieces.empty()) fail("{}: no pieces in this SentencePiece model", path);
  return v;
}

std::unique_ptr<Tokenizer> sentencepiece_from_vocab(const SpmVocab& v, const SpmSpecialIds& ids,
                                                    const std::string& origin) {
  const size_t n = v.pieces.size();
  if (v.scores.size() != n || v.types.size() != n)
    fail("{}: {} tokens but {} scores and {} token types", origin, n, v.scores.size(), v.types.size());
  ProtoWriter model;
  bool has_bytes = false;
  for (size_t i = 0; i < n; ++i) {
    const int32_t type = v.types[i];
    if (type < 1 || type > 6) fail("{}: token {} has type {}, expected 1 to 6", origin, i, type);
    if (v.pieces[i].empty()) fail("{}: token {} is empty", origin, i);
    if (type == static_cast<int32_t>(PieceType::kByte)) has_bytes = true;
    ProtoWriter piece;
    piece.bytes_field(1, v.pieces[i]);
    piece.float_field(2, v.scores[i]);
    piece.varint_field(3, type);
    model.bytes_field(1, piece.str());
  }
  auto piece_at = [&](std::optional<int32_t> id) -> std::string {
    return id && *id >= 0 && static_cast<size_t>(*id) < n ? v.pieces[static_cast<size_t>(*id)] : std::string();
  };
  ProtoWriter trainer;
  trainer.varint_field(3, 2);  // model_type BPE
  trainer.varint_field(4, static_cast<int64_t>(n));
  trainer.varint_field(24, v.treat_whitespace_as_suffix ? 1 : 0);
  trainer.varint_field(25, v.split_digits ? 1 : 0);
  trainer.varint_field(26, v.allow_whitespace_only_pieces ? 1 : 0);
  trainer.varint_field(35, has_bytes ? 1 : 0);  // byte_fallback
  trainer.varint_field(40, ids.unk.value_or(0));
  trainer.varint_field(41, ids.bos.value_or(-1));
  trainer.varint_field(42, ids.eos.value_or(-1));
  trainer.varint_field(43, ids.pad.value_or(-1));
  for (const auto& [field, id] : {std::pair{45u, ids.unk}, {46u, ids.bos}, {47u, ids.eos}, {48u, ids.pad}})
    if (const std::string p = piece_at(id); !p.empty()) trainer.bytes_field(field, p);
  model.bytes_field(2, trainer.str());
  ProtoWriter normalizer;
  normalizer.bytes_field(1, "identity");
  normalizer.varint_field(3, v.add_dummy_prefix ? 1 : 0);
  normalizer.varint_field(4, v.remove_extra_whitespaces ? 1 : 0);
  normalizer.varint_field(5, 1);  // escape_whitespaces
  model.bytes_field(3, normalizer.str());
  return std::make_unique<SentencePieceTokenizer>(model.str(), origin);
}

}  // namespace pangu
