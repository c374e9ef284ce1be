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
