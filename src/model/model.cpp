#include "pangu/model.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/buffer.h"
#include "core/thread_pool.h"
#include "io/gguf_model.h"
#include "io/safetensors.h"
#include "kernels/packed.h"
#include "quant/quantize.h"
#include "model/weights.h"
#include "quant/description.h"
#include "pangu/error.h"
#include "pangu/tokenizer.h"

namespace pangu {

namespace fs = std::filesystem;

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& dir, const LoadOptions& options) {
  const bool gguf = fs::is_regular_file(dir) && is_gguf_file(dir);
  if (!gguf && !fs::is_directory(dir)) fail("{}: not a model directory or a GGUF file", dir);
  std::unique_ptr<Model> m(new Model());
  m->dir_ = dir;
  ThreadPool pool(ThreadPool::default_threads());
  if (gguf) {
    GgufModel file = open_gguf_model(dir, pool);
    m->config_ = file.config;
    m->generation_config_ = file.generation;
    m->checkpoint_ = std::move(file.checkpoint);
    if (!file.tensor_types.empty()) {
      // Q8_0 / Q4_0 matrices: codes with a scale per 32 columns, described as a quantized directory would be.
      m->quant_ = std::make_unique<QuantDescription>();
      m->quant_->origin = dir;
      m->quant_->model_quant_type = "GGUF";
      m->quant_->group_size = kGgufGroup;
      m->quant_->tensor_types = file.tensor_types;
    }
  } else {
    m->config_ = load_model_config((fs::path(dir) / "config.json").string());
    m->generation_config_ = load_generation_config((fs::path(dir) / "generation_config.json").string());
    m->checkpoint_ = std::make_unique<Checkpoint>(Checkpoint::open_dir(dir));
    if (!m->config_.quantize.empty())
      m->quant_ = std::make_unique<QuantDescription>(load_quant_description(dir, m->config_.quantize));
  }
  for (int64_t id : m->generation_config_.suppress_tokens)
    PANGU_CHECK(id >= 0 && id < m->config_.vocab_size,
                "{}/generation_config.json: suppress_tokens holds {}, outside the vocabulary of {}", dir, id,
                m->config_.vocab_size);
  m->weights_ = std::make_unique<ModelWeights>(bind_weights(m->config_, *m->checkpoint_, m->quant_.get()));
  WeightMatrix& head = m->weights_->lm_head;
  const bool quantize_head = options.int8_head && head.quant == QuantFormat::kNone;
  if (options.pack) pack_matrices(*m->weights_, pool, /*include_head=*/!quantize_head, m->checkpoint_.get());
  if (quantize_head) {
    const QuantScheme scheme = parse_quant_scheme("w8a16");
    std::vector<int8_t> head_codes(static_cast<size_t>(head.rows * head.cols));
    m->head_scales_.resize(static_cast<size_t>(head.rows));
    const size_t row_bytes = static_cast<size_t>(head.cols) * dtype_size(head.dtype);
    pool.parallel_for(static_cast<size_t>(head.rows), [&](size_t begin, size_t end) {
      std::vector<float> row(static_cast<size_t>(head.cols));
      for (size_t r = begin; r < end; ++r) {
        to_f32(head.dtype, static_cast<const uint8_t*>(head.data) + r * row_bytes, head.cols, row.data());
        quantize_row(row.data(), head.cols, scheme, head.cols,
                     reinterpret_cast<uint8_t*>(head_codes.data() + r * head.cols), &m->head_scales_[r]);
      }
    });
    // The float head was read once; when it is the tied embedding, only looked-up rows are needed again.
    release_mapped_pages(head.data, static_cast<size_t>(head.rows) * row_bytes);
    head = WeightMatrix{DType::kI8, head_codes.data(), head.rows, head.cols, QuantFormat::kInt8,
                        m->head_scales_.data(), nullptr, head.cols};
    if (options.pack) {
      pack_weights(head, m->weights_->packed.emplace_back(), pool);
      head.data = nullptr;  // the codes live on only in the packed copy
    } else {
      m->head_codes_ = std::move(head_codes);
      head.data = m->head_codes_.data();
    }
  }
  return m;
}

std::vector<int64_t> Model::eos_token_ids() const {
  return generation_config_.eos_token_ids.empty() ? config_.eos_token_ids : generation_config_.eos_token_ids;
}

double matmul_macs_per_token(const ModelConfig& c) {
  double macs = static_cast<double>(c.vocab_size) * c.hidden_size;  // output head
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    const int64_t mlp = c.intermediate_size.empty() ? 0
                        : c.intermediate_size[std::min<size_t>(layer, c.intermediate_size.size() - 1)];
    macs += static_cast<double>(c.hidden_size) * (2 * c.q_dim() + 2 * c.kv_dim() + 3 * mlp);
  }
  return macs;
}

int default_thread_count(double macs_per_token) {
  // Below this many multiply-adds per token a decode step is tens of microseconds: a second thread gains a
  // little on an idle machine and loses badly beside another busy process (docs/benchmarks.md, "Threads
  // under contention").
  constexpr double kSmallModelMacs = 4e6;
  if (macs_per_token >= 0 && macs_per_token < kSmallModelMacs) return 1;
  return ThreadPool::default_threads();
}

void check_tokenizer_fits(const Model& model, const Tokenizer* tokenizer) {
  const int64_t vocab = model.config().vocab_size;
  PANGU_CHECK(!tokenizer || tokenizer->vocab_size() <= vocab,
              "{}: the tokenizer has {} tokens but config.json vocab_size is {}: ids past {} have no embedding "
              "(is the tokenizer from another model?)",
              model.dir(), tokenizer ? tokenizer->vocab_size() : 0, vocab, vocab - 1);
}

std::string resolve_model_path(const std::string& name) {
  if (fs::is_directory(name)) return name;
  if (fs::exists(name)) {
    if (fs::is_regular_file(name) && is_gguf_file(name)) return name;
    fail("model \"{}\": is a file but not a GGUF file; expected a model directory (config.json, *.safetensors) "
         "or a .gguf file",
         name);
  }
  if (fs::path(name).is_absolute()) fail("model \"{}\" not found: no such directory", name);
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("PANGU_MODELS")) roots.emplace_back(env);
  roots.emplace_back("models");
  roots.emplace_back("../shared/models");
  std::vector<std::string> searched{name};
  for (const auto& root : roots) {
    const fs::path candidate = root / name;
    if (fs::is_directory(candidate)) return candidate.string();
    if (std::find(searched.begin(), searched.end(), candidate.string()) == searched.end())
      searched.push_back(candidate.string());
  }
  std::string list;
  for (const auto& s : searched) list += (list.empty() ? "" : ", ") + s;
  fail("model \"{}\" not found (looked for a directory at {}); pass a path or set PANGU_MODELS", name, list);
}

}  // namespace pangu
