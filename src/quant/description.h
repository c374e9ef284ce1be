// The quantization description file of the Ascend layout (msModelSlim's ascendV1 saver, read by vllm-ascend
// and MindIE): quant_model_description.json with "version" and "model_quant_type", then every tensor's type,
// "W8A16" for an int8 weight with its weight_scale / weight_offset, "FLOAT" for tensors kept in float.
// pangu extends it with "group_size" and the "W4A16" type (packed int4); see docs/formats.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"

namespace pangu {

// The name written, and the one vllm-ascend looks for (it refuses suffixed names).
inline constexpr const char* kQuantDescriptionFile = "quant_model_description.json";

struct QuantDescription {
  std::string origin;            // the file, for errors
  std::string version;           // "1.0.0" in what we write; absent in older msModelSlim output
  std::string model_quant_type;  // "W8A16" | "W4A16"
  int64_t group_size = 0;        // 0: per output channel
  std::map<std::string, std::string> tensor_types;

  std::string type_of(const std::string& tensor) const;  // "FLOAT" when not listed
  Json to_json() const;
};

// "quant_model_description_w8a16.json" for config.json's "quantize": "w8a16" (older msModelSlim output,
// read by MindIE through a deprecated fallback).
std::string quant_description_filename(const std::string& quantize);
// Reads quant_model_description.json, else the suffixed name.
QuantDescription load_quant_description(const std::string& dir, const std::string& quantize);

// Binds `<base>.weight` of shape [rows, cols] as the description says: a float view, or int8 / packed int4
// codes with `<base>.weight_scale` and optional `<base>.weight_offset` (float32 [rows, groups] or [rows]).
// `used` collects the names of the tensors it consumed. Errors name the file, the tensor, what was expected
// and what was found.
WeightMatrix bind_weight_matrix(const Checkpoint& ckpt, const std::string& weight_name, int64_t rows, int64_t cols,
                                const QuantDescription* description, std::map<std::string, bool>& used);

}  // namespace pangu
