// A GGUF model file read as what a Hugging Face directory gives: the config, the generation settings and a
// checkpoint with Hugging Face tensor names, for the architectures `llama`, `deci` (per-layer widths),
// `qwen2` and `pangu-embedded`. What llama.cpp's converters change is undone here: q/k rows permuted for
// interleaved rotary pairs (llama, deci) go back to rotate-half order, dimensions are reversed, and
// block-quantized matrices become codes and scales: Q8_0 / Q4_0 exactly as int8 / int4 codes with a scale
// per 32 columns; every other quantized type is dequantized to bf16 at load.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "pangu/config.h"

namespace pangu {

class ThreadPool;

struct GgufModel {
  std::string path;
  std::string architecture;  // general.architecture
  GgufFile file;             // its tensor data points into the checkpoint's mapping
  ModelConfig config;
  GenerationConfig generation;
  std::unique_ptr<Checkpoint> checkpoint;
  // Hugging Face name -> "W8A16" | "W4A16" for matrices held as codes with a scale per kGgufGroup columns.
  std::map<std::string, std::string> tensor_types;
  std::vector<std::string> dequantized;  // "blk.0.ffn_down.weight (Q6_K)": converted to bf16 at load
};

inline constexpr int64_t kGgufGroup = 32;

GgufModel open_gguf_model(const std::string& path, ThreadPool& pool);
// The same from bytes in memory (fuzzing); `mapping`, when given, owns them and is kept by the checkpoint.
GgufModel gguf_model_from_memory(const uint8_t* data, size_t size, const std::string& origin, ThreadPool& pool,
                                 std::unique_ptr<MappedFile> mapping = nullptr);

// The config a GGUF file's metadata and tensor shapes describe (exposed for fuzzing and tests).
ModelConfig gguf_model_config(const GgufFile& file);
GenerationConfig gguf_generation_config(const GgufFile& file);

// Hugging Face <-> GGUF tensor names ("model.layers.3.mlp.up_proj.weight" <-> "blk.3.ffn_up.weight");
// empty when the name has no counterpart.
std::string hf_name_from_gguf(const std::string& gguf_name);
std::string gguf_name_from_hf(const std::string& hf_name);

// llama.cpp's q/k row order for interleaved rotary pairs (convert_hf_to_gguf's permute): within each of
// n_heads heads, rotate-half row (half s, index j) is stored at 2 j + s. Returns the stored row of
// Hugging Face row `row`.
int64_t interleaved_rotary_row(int64_t row, int64_t rows, int64_t n_heads);

}  // namespace pangu
