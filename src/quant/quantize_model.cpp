#include "quant/quantize_model.h"

#include <filesystem>
#include <vector>

#include "core/log.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/staged_dir.h"
#include "io/text_pipeline.h"
#include "model/weights.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "quant/description.h"

namespace pangu {

namespace fs = std::filesystem;

namespace {

// A float tensor copied byte for byte, or an f32 one rounded to `f32_to` (bf16 or f16).
TensorToWrite copy_tensor(const TensorView& t, DType f32_to) {
  if (t.dtype != DType::kF32 || f32_to == DType::kF32)
    return {t.name, t.dtype, t.shape, [&t](uint8_t* dst) { std::memcpy(dst, t.data, t.n_bytes); }};
  return {t.name, f32_to, t.shape, [&t, f32_to](uint8_t* dst) {
            const float* src = t.as<float>();
            const size_t n = t.n_bytes / sizeof(float);
            auto* out = reinterpret_cast<uint16_t*>(dst);
            for (size_t i = 0; i < n; ++i) out[i] = f32_to == DType::kBF16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
          }};
}

const char* torch_dtype_name(DType d) {
  switch (d) {
    case DType::kBF16:
      return "bfloat16";
    case DType::kF16:
      return "float16";
    default:
      return "float32";
  }
}

// The three tensors of one quantized matrix. One pass writes the codes and keeps the scales (4 bytes a
// row or group) for the scale tensor, which write_safetensors fills next; nothing else of the matrix is held.
void add_quantized(const TensorView& t, const QuantScheme& scheme, ThreadPool& pool,
                   std::vector<TensorToWrite>& out) {
  const int64_t rows = t.shape[0], cols = t.shape[1];
  const int64_t group = scheme.group_for(cols);
  const int64_t groups = groups_per_row(cols, group);
  const int64_t row_bytes = quantized_row_bytes(scheme.format, cols);
  const std::string base = t.name.substr(0, t.name.size() - std::string(".weight").size());
  auto scales = std::make_shared<std::vector<float>>();
  auto write_codes = [&t, scheme, &pool, rows, cols, group, groups, row_bytes, scales](uint8_t* codes) {
    scales->resize(static_cast<size_t>(rows * groups));
    const size_t stored_row = static_cast<size_t>(cols) * dtype_size(t.dtype);
    pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
      std::vector<float> row(static_cast<size_t>(cols));
      for (size_t r = begin; r < end; ++r) {
        to_f32(t.dtype, t.data + r * stored_row, cols, row.data());
        quantize_row(row.data(), cols, scheme, group, codes + r * row_bytes, scales->data() + r * groups);
      }
    });
  };
  const DType code_dtype = scheme.format == QuantFormat::kInt4 ? DType::kU8 : DType::kI8;
  out.push_back({t.name, code_dtype, {rows, row_bytes}, write_codes});
  out.push_back({base + ".weight_scale", DType::kF32, {rows, groups}, [scales](uint8_t* dst) {
                   std::memcpy(dst, scales->data(), scales->size() * sizeof(float));
                   std::vector<float>().swap(*scales);
                 }});
  out.push_back({base + ".weight_offset", DType::kF32, {rows, groups},
                 [rows, groups](uint8_t* dst) { std::memset(dst, 0, static_cast<size_t>(rows * groups) * 4); }});
}

}  // namespace

QuantizeReport quantize_model(const std::string& in_dir, const std::string& out_dir, const QuantizeOptions& o,
                              ThreadPool& pool) {
  const auto model = Model::load(in_dir);
  const ModelConfig& config = model->config();
  if (!config.quantize.empty())
    fail("{}: already quantized (\"quantize\": \"{}\"); quantize the float model", in_dir, config.quantize);
  std::unique_ptr<Regex> exclude;
  if (!o.exclude.empty()) exclude = std::make_unique<Regex>(o.exclude, false, "--exclude");

  PANGU_CHECK(o.float_dtype == DType::kBF16 || o.float_dtype == DType::kF16,
              "quantize: float tensors are written as bf16 or f16 (found {})", dtype_name(o.float_dtype));
  QuantDescription description;
  description.version = "1.0.0";
  description.model_quant_type = o.scheme.type_name();
  description.group_size = o.scheme.group_size;
  QuantizeReport report;
  std::vector<TensorToWrite> tensors;
  for (const TensorSpec& spec : expected_tensors(config)) {
    const TensorView& t = *model->checkpoint().find(spec.name);  // present: Model::load checked it
    report.bytes_in += t.n_bytes;
    const bool is_head = spec.name == "lm_head.weight";
    const bool excluded = exclude && !exclude->find_all(spec.name).empty();
    if (spec.role == TensorRole::kMatrix && (!is_head || o.lm_head) && !excluded) {
      add_quantized(t, o.scheme, pool, tensors);
      for (size_t i = tensors.size() - 3; i < tensors.size(); ++i)
        description.tensor_types[tensors[i].name] = o.scheme.type_name();
      ++report.n_quantized;
    } else {
      tensors.push_back(copy_tensor(t, o.float_dtype));
      description.tensor_types[spec.name] = "FLOAT";
      ++report.n_float;
    }
  }
  // vllm-ascend looks lm_head.weight up in the description even when the head is tied to the embedding (a
  // KeyError otherwise); the tensor itself is not written for a tied head.
  if (!description.tensor_types.count("lm_head.weight")) description.tensor_types["lm_head.weight"] = "FLOAT";
  // The activations' dtype: a 16-bit source keeps its own, an f32 source takes the one its floats went to.
  const DType activation_dtype = [&] {
    for (const TensorSpec& spec : expected_tensors(config))
      if (spec.role != TensorRole::kMatrix) {
        const DType d = model->checkpoint().find(spec.name)->dtype;
        return d == DType::kF32 ? o.float_dtype : d;
      }
    return o.float_dtype;
  }();
  for (const auto& t : tensors) {
    size_t n = dtype_size(t.dtype);
    for (int64_t d : t.shape) n *= static_cast<size_t>(d);
    report.bytes_out += n;
  }

  StagedDir staged(out_dir, o.force);
  {
    Progress progress("quantize " + fs::path(out_dir).filename().string(), tensors.size());
    write_safetensors(staged.file("model.safetensors"), tensors, {{"format", "pt"}},
                      [&](size_t) { progress.advance(); });
  }
  Json config_json = read_json_file((fs::path(in_dir) / "config.json").string());
  config_json["quantize"] = o.scheme.config_name();
  config_json["torch_dtype"] = torch_dtype_name(activation_dtype);
  // vllm-ascend would take a quantization_config block for the whole description.
  config_json.erase("quantization_config");
  write_text_file_atomic(staged.file("config.json"), config_json.dump(2) + "\n");
  write_text_file_atomic(staged.file(kQuantDescriptionFile), description.to_json().dump(2) + "\n");
  copy_model_side_files(in_dir, staged.path());
  staged.commit();
  return report;
}

}  // namespace pangu
