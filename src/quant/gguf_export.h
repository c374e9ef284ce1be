// `pangu export`: a model (directory or GGUF file) written as a GGUF v3 file llama.cpp reads. The
// architecture is chosen from the config: `pangu-embedded` for openPangu-Embedded (q/k/v/o biases), `qwen2`
// for q/k/v biases only, `llama` otherwise, and `deci` whenever layers have different MLP widths (a pruned
// model), the llama.cpp architecture that reads per-layer widths. llama and deci rotate interleaved pairs,
// so their q/k rows (and biases) are stored permuted as llama.cpp's converter stores them.
#pragma once

#include <cstdint>
#include <string>

namespace pangu {

class Model;
class ThreadPool;

enum class GgufExportType { kF32, kF16, kBF16, kQ8_0 };
GgufExportType parse_gguf_export_type(const std::string& name);  // f32 | f16 | bf16 | q8_0

struct GgufExportReport {
  std::string architecture;
  size_t n_tensors = 0;
  size_t bytes = 0;
  // Re-quantization of an already quantized model (W8A16 -> Q8_0): RMS of the change relative to the RMS
  // of the weights, and the largest absolute change; zero when nothing was re-quantized.
  size_t n_requantized = 0;
  double requant_relative_rms = 0;
  double requant_max_abs = 0;
};

// The model must have been loaded without packing (its matrices' row-major data is read). `source_dir`
// supplies the tokenizer: a directory with tokenizer.model / tokenizer.json, or a GGUF file.
GgufExportReport export_gguf(const Model& model, const std::string& source, const std::string& out,
                             GgufExportType type, ThreadPool& pool);

}  // namespace pangu
