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

// A float tensor copied byte for byte.
TensorToWrite copy_tensor(const TensorView& t) {
  return {t.name, t.dtype, t.shape, [&t](uint8_t* dst) { std::memcpy(dst, t.data, t.n_bytes); }};
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

  QuantDescription description;
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
      tensors.push_back(copy_tensor(t));
      description.tensor_types[spec.name] = "FLOAT";
      ++report.n_float;
    }
  }
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
  write_text_file_atomic(staged.file("config.json"), config_json.dump(2) + "\n");
  write_text_file_atomic(staged.file(quant_description_filename(o.scheme.config_name())),
                         description.to_json().dump(2) + "\n");
  copy_model_side_files(in_dir, staged.path());
  staged.commit();
  return report;
}

}  // namespace pangu
