#include "pangu/model.h"

#include <cstdlib>
#include <filesystem>

#include "io/safetensors.h"
#include "model/weights.h"
#include "quant/description.h"
#include "pangu/error.h"

namespace pangu {

namespace fs = std::filesystem;

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& dir) {
  if (!fs::is_directory(dir)) fail("{}: not a model directory", dir);
  std::unique_ptr<Model> m(new Model());
  m->dir_ = dir;
  m->config_ = load_model_config((fs::path(dir) / "config.json").string());
  m->generation_config_ = load_generation_config((fs::path(dir) / "generation_config.json").string());
  m->checkpoint_ = std::make_unique<Checkpoint>(Checkpoint::open_dir(dir));
  if (!m->config_.quantize.empty())
    m->quant_ = std::make_unique<QuantDescription>(load_quant_description(dir, m->config_.quantize));
  m->weights_ = std::make_unique<ModelWeights>(bind_weights(m->config_, *m->checkpoint_, m->quant_.get()));
  return m;
}

std::vector<int64_t> Model::eos_token_ids() const {
  return generation_config_.eos_token_ids.empty() ? config_.eos_token_ids : generation_config_.eos_token_ids;
}

std::string resolve_model_path(const std::string& name) {
  if (fs::is_directory(name)) return name;
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("PANGU_MODELS")) roots.emplace_back(env);
  roots.emplace_back("models");
  roots.emplace_back("../shared/models");
  std::string searched;
  for (const auto& root : roots) {
    const fs::path candidate = root / name;
    if (fs::is_directory(candidate)) return candidate.string();
    searched += (searched.empty() ? "" : ", ") + candidate.string();
  }
  fail("model \"{}\" not found (looked for a directory at {}, {}); pass a path or set PANGU_MODELS", name,
       name, searched);
}

}  // namespace pangu
