// Typed model and generation configuration, parsed once from config.json / generation_config.json.
// Every architecture difference is a field; nothing below the parser looks at architecture names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pangu {

// kFactors: a divisor per frequency, as GGUF files store Llama 3's scaling (rope_freqs.weight).
enum class RopeScaling { kNone, kLinear, kLlama3, kFactors };

struct RopeConfig {
  double theta = 10000.0;
  RopeScaling scaling = RopeScaling::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;          // llama3
  double high_freq_factor = 4.0;         // llama3
  int64_t original_max_position = 8192;  // llama3
  std::vector<double> freq_factors;      // kFactors: [head_dim / 2]
};

struct ModelConfig {
  std::string architecture;  // for display only, e.g. "PanguEmbeddedForCausalLM"
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_heads_kv = 0;
  int64_t head_dim = 0;
  std::vector<int64_t> intermediate_size;  // per layer (pruned models differ by layer)
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool q_bias = false;
  bool k_bias = false;
  bool v_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  std::string torch_dtype;
  std::string quantize;  // "" for float checkpoints

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_heads_kv * head_dim; }
  int64_t max_intermediate() const;
};

// Parses config.json; `origin` (the path) names the file in errors.
ModelConfig parse_model_config(const std::string& json_text, const std::string& origin);
ModelConfig load_model_config(const std::string& path);

struct GenerationConfig {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  std::vector<int64_t> suppress_tokens;
  std::optional<bool> do_sample;  // absent: the engine's default (sampling)
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
};

GenerationConfig load_generation_config(const std::string& path);  // empty config when the file is absent

}  // namespace pangu
