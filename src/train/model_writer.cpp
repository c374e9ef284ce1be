#include "train/model_writer.h"

#include <cstring>
#include <filesystem>

#include "io/safetensors.h"
#include "io/staged_dir.h"
#include "pangu/error.h"

namespace pangu {

DType output_dtype_for(const ModelConfig& config) {
  if (!config.quantize.empty()) return DType::kF32;
  if (config.torch_dtype == "bfloat16") return DType::kBF16;
  if (config.torch_dtype == "float16") return DType::kF16;
  return DType::kF32;
}

void write_model_dir(const Params<float>& params, const std::string& source_dir, const std::string& out_dir,
                     DType dtype, bool force, const Json& extra_config) {
  PANGU_CHECK(dtype == DType::kF32 || dtype == DType::kBF16 || dtype == DType::kF16,
              "write_model_dir: {} is not a float dtype", dtype_name(dtype));
  const ModelConfig& c = params.config;
  const int64_t H = c.hidden_size, V = c.vocab_size;
  std::vector<TensorToWrite> tensors;
  params.for_each_tensor([&](const std::string& name, const std::vector<float>& v) {
    std::vector<int64_t> shape;
    if (name.find("norm") != std::string::npos || name.ends_with(".bias")) {
      shape = {static_cast<int64_t>(v.size())};
    } else if (name == "model.embed_tokens.weight" || name == "lm_head.weight") {
      shape = {V, H};
    } else if (name.ends_with("down_proj.weight") || name.ends_with("o_proj.weight")) {
      shape = {H, static_cast<int64_t>(v.size()) / H};
    } else {
      shape = {static_cast<int64_t>(v.size()) / H, H};
    }
    const std::vector<float>* data = &v;
    tensors.push_back({name, dtype, shape, [data, dtype](uint8_t* dst) {
                         const size_t n = data->size();
                         if (dtype == DType::kF32) {
                           std::memcpy(dst, data->data(), n * sizeof(float));
                         } else {
                           auto* out = reinterpret_cast<uint16_t*>(dst);
                           for (size_t i = 0; i < n; ++i)
                             out[i] = dtype == DType::kBF16 ? f32_to_bf16((*data)[i]) : f32_to_f16((*data)[i]);
                         }
                       }});
  });

  Json config = read_json_file((std::filesystem::path(source_dir) / "config.json").string());
  const bool uniform = std::all_of(c.intermediate_size.begin(), c.intermediate_size.end(),
                                   [&](int64_t w) { return w == c.intermediate_size.front(); });
  config["intermediate_size"] = uniform ? Json(c.intermediate_size.front()) : Json(c.intermediate_size);
  config["torch_dtype"] = dtype == DType::kBF16 ? "bfloat16" : dtype == DType::kF16 ? "float16" : "float32";
  config.erase("quantize");
  config.erase("quantization_config");
  for (const auto& [key, value] : extra_config.items()) config[key] = value;

  StagedDir staged(out_dir, force);
  write_safetensors(staged.file("model.safetensors"), tensors, {{"format", "pt"}});
  write_text_file_atomic(staged.file("config.json"), config.dump(2) + "\n");
  copy_model_side_files(source_dir, staged.path());
  staged.commit();
}

}  // namespace pangu
