// Turns a float model directory into a quantized one in the MindIE W8A16 layout (docs/formats.md).
#pragma once

#include <cstddef>
#include <string>

#include "quant/quantize.h"

namespace pangu {

class ThreadPool;

struct QuantizeOptions {
  QuantScheme scheme;
  bool lm_head = false;  // also quantize an untied output head
  std::string exclude;   // PCRE2 pattern: matching tensors stay in float
  bool force = false;    // replace an existing output directory
  // Tensors kept in float from an f32 source are written in this dtype (kBF16 or kF16): the Ascend stacks
  // run 16-bit activations only and MindIE refuses torch_dtype float32. 16-bit sources keep their dtype.
  DType float_dtype = DType::kBF16;
};

struct QuantizeReport {
  size_t n_quantized = 0;  // matrices
  size_t n_float = 0;      // tensors kept in float
  size_t bytes_in = 0;
  size_t bytes_out = 0;
};

QuantizeReport quantize_model(const std::string& in_dir, const std::string& out_dir, const QuantizeOptions& options,
                              ThreadPool& pool);

}  // namespace pangu
