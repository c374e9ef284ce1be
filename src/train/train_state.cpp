#include "train/train_state.h"

#include <cstring>
#include <filesystem>

#include "io/safetensors.h"
#include "io/staged_dir.h"
#include "pangu/error.h"

namespace pangu {

namespace {

TensorToWrite f32_tensor(const std::string& name, const std::vector<float>& v) {
  const std::vector<float>* data = &v;
  return {name, DType::kF32, {static_cast<int64_t>(v.size())},
          [data](uint8_t* dst) { std::memcpy(dst, data->data(), data->size() * sizeof(float)); }};
}

void read_f32(const Checkpoint& file, const std::string& name, std::vector<float>& out) {
  const TensorView* t = file.find(name);
  PANGU_CHECK(t, "{}: missing tensor {}", file.origin(), name);
  PANGU_CHECK(t->dtype == DType::kF32 && t->n_bytes == out.size() * sizeof(float),
              "{}: tensor {} has {} bytes of {}, expected {} f32 values", file.origin(), name, t->n_bytes,
              dtype_name(t->dtype), out.size());
  std::memcpy(out.data(), t->data, t->n_bytes);
}

}  // namespace

void save_train_state(const std::string& dir, const Params<float>& params, const AdamW* adam, Json state) {
  StagedDir staged(dir, true);
  std::vector<TensorToWrite> tensors;
  params.for_each_tensor([&](const std::string& name, const std::vector<float>& v) { tensors.push_back(f32_tensor(name, v)); });
  write_safetensors(staged.file("student.safetensors"), tensors);
  if (adam) {
    std::vector<TensorToWrite> moments;
    const auto& names = adam->tensor_names();
    for (size_t i = 0; i < names.size(); ++i) {
      moments.push_back(f32_tensor(names[i] + ".m", adam->first_moment(i)));
      moments.push_back(f32_tensor(names[i] + ".v", adam->second_moment(i)));
    }
    write_safetensors(staged.file("adam.safetensors"), moments);
    state["adam_steps"] = adam->steps();
  }
  state["intermediate_size"] = params.config.intermediate_size;
  write_text_file_atomic(staged.file("state.json"), state.dump(2) + "\n");
  staged.commit();
}

Json load_train_state(const std::string& dir, const ModelConfig& base, Params<float>& params) {
  const std::string state_path = dir + "/state.json";
  Json state = read_json_file(state_path);
  ModelConfig config = base;
  config.intermediate_size = json_required<std::vector<int64_t>>(state, "intermediate_size", state_path);
  PANGU_CHECK(static_cast<int64_t>(config.intermediate_size.size()) == config.n_layers,
              "{}: intermediate_size has {} entries for {} layers", state_path, config.intermediate_size.size(),
              config.n_layers);
  params = zero_params<float>(config);
  const Checkpoint student = Checkpoint::open_file(dir + "/student.safetensors");
  params.for_each_tensor([&](const std::string& name, std::vector<float>& v) { read_f32(student, name, v); });
  return state;
}

void load_adam_state(const std::string& dir, const Json& state, AdamW& adam) {
  const Checkpoint moments = Checkpoint::open_file(dir + "/adam.safetensors");
  const auto& names = adam.tensor_names();
  for (size_t i = 0; i < names.size(); ++i) {
    read_f32(moments, names[i] + ".m", adam.first_moment(i));
    read_f32(moments, names[i] + ".v", adam.second_moment(i));
  }
  adam.set_steps(json_required<int64_t>(state, "adam_steps", dir + "/state.json"));
}

}  // namespace pangu
