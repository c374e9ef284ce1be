#include "quant/description.h"

#include <algorithm>
#include <filesystem>

#include "core/tensor.h"
#include "pangu/error.h"
#include "quant/quantize.h"

namespace pangu {

std::string QuantDescription::type_of(const std::string& tensor) const {
  auto it = tensor_types.find(tensor);
  return it == tensor_types.end() ? "FLOAT" : it->second;
}

Json QuantDescription::to_json() const {
  Json j = Json::object();
  if (!version.empty()) j["version"] = version;
  j["model_quant_type"] = model_quant_type;
  if (group_size > 0) j["group_size"] = group_size;
  for (const auto& [name, type] : tensor_types) j[name] = type;
  return j;
}

std::string quant_description_filename(const std::string& quantize) {
  std::string lower = quantize;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return "quant_model_description_" + lower + ".json";
}

QuantDescription load_quant_description(const std::string& dir, const std::string& quantize) {
  if (quantize != "w8a16" && quantize != "w4a16" && quantize != "W8A16" && quantize != "W4A16")
    fail("{}/config.json: \"quantize\": \"{}\" is not supported (expected w8a16 or w4a16)", dir, quantize);
  QuantDescription d;
  const std::filesystem::path plain = std::filesystem::path(dir) / kQuantDescriptionFile;
  const std::filesystem::path suffixed = std::filesystem::path(dir) / quant_description_filename(quantize);
  d.origin = (std::filesystem::exists(plain) ? plain : suffixed).string();
  if (!std::filesystem::exists(d.origin))
    fail("{}: missing (and no {}); config.json says the model is quantized (\"quantize\": \"{}\")",
         suffixed.string(), plain.filename().string(), quantize);
  const Json j = read_json_file(d.origin);
  if (!j.is_object()) fail("{}: expected a JSON object, found {}", d.origin, j.type_name());
  d.model_quant_type = json_optional<std::string>(j, "model_quant_type", "", d.origin);
  d.version = json_optional<std::string>(j, "version", "", d.origin);
  d.group_size = json_optional<int64_t>(j, "group_size", 0, d.origin);
  if (d.group_size < 0) fail("{}: \"group_size\" is {}, expected 0 or a positive number", d.origin, d.group_size);
  for (const auto& [key, value] : j.items()) {
    if (key == "model_quant_type" || key == "group_size" || key == "version" || !value.is_string()) continue;
    const std::string type = value.get<std::string>();
    d.tensor_types[key] = type;
  }
  return d;
}

namespace {

const TensorView& find_tensor(const Checkpoint& ckpt, const std::string& name, const std::string& why) {
  const TensorView* t = ckpt.find(name);
  if (!t) fail("{}: missing tensor \"{}\" ({})", ckpt.origin(), name, why);
  return *t;
}

// Scales and offsets: float32 [rows, groups], or [rows] / [rows, 1] for one group per row.
const float* bind_per_group(const TensorView& t, const Checkpoint& ckpt, int64_t rows, int64_t groups) {
  const bool shape_ok = (t.shape.size() == 2 && t.shape[0] == rows && t.shape[1] == groups) ||
                        (groups == 1 && t.shape.size() == 1 && t.shape[0] == rows);
  if (!shape_ok)
    fail("{}: tensor \"{}\" has shape {}, expected [{}, {}]", ckpt.origin(), t.name, shape_string(t.shape), rows,
         groups);
  if (t.dtype != DType::kF32)
    fail("{}: tensor \"{}\" has dtype {}, expected F32", ckpt.origin(), t.name, dtype_name(t.dtype));
  return t.as<float>();
}

}  // namespace

WeightMatrix bind_weight_matrix(const Checkpoint& ckpt, const std::string& weight_name, int64_t rows, int64_t cols,
                                const QuantDescription* description, std::map<std::string, bool>& used) {
  const std::string type = description ? description->type_of(weight_name) : "FLOAT";
  const std::vector<int64_t> shape = {rows, cols};
  const TensorView& w = find_tensor(ckpt, weight_name, "expected " + shape_string(shape));
  used[weight_name] = true;
  if (type == "FLOAT") {
    if (w.shape != shape)
      fail("{}: tensor \"{}\" has shape {}, the config implies {}", ckpt.origin(), weight_name,
           shape_string(w.shape), shape_string(shape));
    if (w.dtype != DType::kF32 && w.dtype != DType::kBF16 && w.dtype != DType::kF16)
      fail("{}: tensor \"{}\" has dtype {}, expected F32, BF16 or F16{}", ckpt.origin(), weight_name,
           dtype_name(w.dtype), description ? fmt::format(" ({} lists it as FLOAT)", description->origin) : "");
    return {w.dtype, w.data, rows, cols};
  }
  WeightMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.data = w.data;
  if (type == "W8A16") {
    m.quant = QuantFormat::kInt8;
    m.dtype = DType::kI8;
  } else if (type == "W4A16") {
    m.quant = QuantFormat::kInt4;
    m.dtype = DType::kU8;
  } else {
    fail("{}: tensor \"{}\" has type \"{}\", expected W8A16, W4A16 or FLOAT", description->origin, weight_name,
         type);
  }
  const std::vector<int64_t> stored = {rows, quantized_row_bytes(m.quant, cols)};
  if (w.dtype != m.dtype || w.shape != stored)
    fail("{}: tensor \"{}\" is {} {}, expected {} {} ({} codes of a [{}, {}] matrix)", ckpt.origin(), weight_name,
         dtype_name(w.dtype), shape_string(w.shape), dtype_name(m.dtype), shape_string(stored), type, rows, cols);

  const std::string base = weight_name.substr(0, weight_name.size() - std::string(".weight").size());
  const TensorView& scale = find_tensor(ckpt, base + ".weight_scale", "the scales of " + type + " weight " +
                                                                           weight_name);
  used[scale.name] = true;
  // The group size follows from the scale's shape; the description's group_size must agree with it.
  const int64_t groups = scale.shape.size() == 2 ? scale.shape[1] : 1;
  m.group_size = groups <= 1 ? cols : description->group_size;
  if (groups > 1 && (m.group_size <= 0 || m.group_size % 16 != 0 || groups_per_row(cols, m.group_size) != groups))
    fail("{}: tensor \"{}\" has {} groups per row, which does not fit {} columns with group_size {} from {}",
         ckpt.origin(), scale.name, groups, cols, m.group_size, description->origin);
  m.scale = bind_per_group(scale, ckpt, rows, groups);
  if (const TensorView* offset = ckpt.find(base + ".weight_offset")) {
    used[offset->name] = true;
    const float* values = bind_per_group(*offset, ckpt, rows, groups);
    // Symmetric checkpoints store zeros; the kernels then skip the offset term.
    if (std::any_of(values, values + rows * groups, [](float v) { return v != 0.0f; })) m.offset = values;
  }
  return m;
}

}  // namespace pangu
