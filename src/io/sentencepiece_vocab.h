// A SentencePiece model as the vocabulary GGUF stores (tokenizer.ggml.model "llama"): pieces, scores and
// piece types, read from a tokenizer.model and turned back into a model the SentencePiece library loads.
// The ModelProto fields used are read and written with a few lines of protobuf wire format
// (sentencepiece_model.proto: pieces = 1 {piece = 1, score = 2, type = 3}, trainer_spec = 2,
// normalizer_spec = 3), since Debian's libsentencepiece-dev does not ship the generated proto classes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pangu {

class Tokenizer;

// SentencePiece's piece types, which GGUF's tokenizer.ggml.token_type reuses.
enum class PieceType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct SpmVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;  // PieceType values
  // NormalizerSpec and TrainerSpec switches that change encoding; the defaults are the proto's.
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool split_digits = false;
  bool allow_whitespace_only_pieces = false;
  bool treat_whitespace_as_suffix = false;
};

SpmVocab read_sentencepiece_vocab(const std::string& model_path);

struct SpmSpecialIds {
  std::optional<int32_t> unk, bos, eos, pad;
};
// A BPE SentencePiece model over these pieces (llama.cpp's SPM tokenizer merges by score, as BPE does).
std::unique_ptr<Tokenizer> sentencepiece_from_vocab(const SpmVocab& vocab, const SpmSpecialIds& ids,
                                                    const std::string& origin);

}  // namespace pangu
