// The tokenizer of a GGUF file's metadata, and the metadata that stores a model directory's tokenizer.
// tokenizer.ggml.model "llama" is a SentencePiece vocabulary (tokens, scores, token types), "gpt2" a
// byte-level BPE (tokens, merges, token types, and a pre-tokenizer named by tokenizer.ggml.pre).
// tokenizer.huggingface.json, where present, is the whole tokenizer.json and is preferred: pangu writes it
// for tokenizer.json models, whose normalizers and pre-tokenizers GGUF's fields cannot all express.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"

namespace pangu {

class Tokenizer;

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);  // nullptr: none stored
std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& file);

struct GgufTokenizerOptions {
  int64_t vocab_size = 0;     // the embedding's rows: the token list is padded to it, as llama.cpp requires
  bool embed_hf_json = true;  // also store tokenizer.json whole (tokenizer.json models)
};
// The tokenizer.* metadata for the tokenizer of model directory `dir` (tokenizer.model preferred, as
// llama.cpp's converter does); empty when the directory has no tokenizer.
std::vector<std::pair<std::string, GgufValue>> gguf_tokenizer_metadata(const std::string& dir,
                                                                       const GgufTokenizerOptions& options);

}  // namespace pangu
