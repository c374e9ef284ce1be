#include "pangu/config.h"

#include <algorithm>
#include <filesystem>

#include "io/json_file.h"

namespace pangu {

int64_t ModelConfig::max_intermediate() const {
  return intermediate_size.empty() ? 0
                                   : *std::max_element(intermediate_size.begin(), intermediate_size.end());
}

namespace {

// eos_token_id may be an int or a list of ints.
std::vector<int64_t> token_id_list(const Json& object, const char* key, const std::string& origin) {
  std::vector<int64_t> ids;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return ids;
  if (it->is_number_integer()) {
    ids.push_back(it->get<int64_t>());
  } else if (it->is_array()) {
    for (const auto& v : *it) {
      if (!v.is_number_integer()) fail("{}: field \"{}\" must hold integers", origin, key);
      ids.push_back(v.get<int64_t>());
    }
  } else {
    fail("{}: field \"{}\" must be an integer or a list of integers (found {})", origin, key,
         it->type_name());
  }
  return ids;
}

std::optional<int64_t> optional_id(const Json& object, const char* key, const std::string& origin) {
  auto ids = token_id_list(object, key, origin);
  if (ids.empty()) return std::nullopt;
  return ids.front();
}

void require_positive(int64_t value, const char* key, const std::string& origin) {
  if (value <= 0) fail("{}: field \"{}\" must be positive (found {})", origin, key, value);
}

}  // namespace

namespace {
ModelConfig parse_model_config_json(const Json& j, const std::string& origin);
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin) {
  const Json j = parse_json_text(json_text, origin);
  try {
    return parse_model_config_json(j, origin);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: unexpected structure: {}", origin, e.what());
  }
}

namespace {
ModelConfig parse_model_config_json(const Json& j, const std::string& origin) {
  if (!j.is_object()) fail("{}: config is not a JSON object", origin);
  ModelConfig c;
  const auto archs = json_optional<std::vector<std::string>>(j, "architectures", {}, origin);
  c.model_type = json_optional<std::string>(j, "model_type", "", origin);
  c.architecture = archs.empty() ? c.model_type : archs.front();

  // The architecture decides only how bias flags are read; everything after uses the flags.
  if (c.architecture == "PanguEmbeddedForCausalLM" || c.model_type == "PanguEmbedded") {
    const bool bias = json_optional<bool>(j, "bias", false, origin);
    c.q_bias = c.k_bias = c.v_bias = c.o_bias = bias;
  } else if (c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM" ||
             c.model_type == "llama") {
    const bool bias = json_optional<bool>(j, "attention_bias", false, origin);
    c.q_bias = c.k_bias = c.v_bias = c.o_bias = bias;
    c.mlp_bias = json_optional<bool>(j, "mlp_bias", false, origin);
  } else if (c.architecture == "Qwen2ForCausalLM" || c.model_type == "qwen2") {
    c.q_bias = c.k_bias = c.v_bias = true;
  } else {
    fail(
        "{}: unknown architecture \"{}\" (supported: PanguEmbeddedForCausalLM, LlamaForCausalLM, "
        "Qwen2ForCausalLM)",
        origin, c.architecture.empty() ? "<none>" : c.architecture);
  }

  c.hidden_size = json_required<int64_t>(j, "hidden_size", origin);
  c.n_layers = json_required<int64_t>(j, "num_hidden_layers", origin);
  c.n_heads = json_required<int64_t>(j, "num_attention_heads", origin);
  c.n_heads_kv = json_optional<int64_t>(j, "num_key_value_heads", c.n_heads, origin);
  c.vocab_size = json_required<int64_t>(j, "vocab_size", origin);
  require_positive(c.hidden_size, "hidden_size", origin);
  require_positive(c.n_layers, "num_hidden_layers", origin);
  require_positive(c.n_heads, "num_attention_heads", origin);
  require_positive(c.n_heads_kv, "num_key_value_heads", origin);
  require_positive(c.vocab_size, "vocab_size", origin);
  if (c.n_heads % c.n_heads_kv != 0)
    fail("{}: num_attention_heads ({}) must be a multiple of num_key_value_heads ({})", origin, c.n_heads,
         c.n_heads_kv);
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = json_required<int64_t>(j, "head_dim", origin);
  } else {
    if (c.hidden_size % c.n_heads != 0)
      fail("{}: hidden_size ({}) is not divisible by num_attention_heads ({}) and no head_dim is given",
           origin, c.hidden_size, c.n_heads);
    c.head_dim = c.hidden_size / c.n_heads;
  }
  require_positive(c.head_dim, "head_dim", origin);
  if (c.head_dim % 2 != 0)
    fail("{}: head_dim must be even for rotary embeddings (found {})", origin, c.head_dim);

  const auto inter = j.find("intermediate_size");
  if (inter == j.end()) fail("{}: missing field \"intermediate_size\"", origin);
  if (inter->is_number_integer()) {
    c.intermediate_size.assign(c.n_layers, inter->get<int64_t>());
  } else if (inter->is_array()) {
    c.intermediate_size = inter->get<std::vector<int64_t>>();
    if (static_cast<int64_t>(c.intermediate_size.size()) != c.n_layers)
      fail("{}: intermediate_size lists {} layers, num_hidden_layers is {}", origin,
           c.intermediate_size.size(), c.n_layers);
  } else {
    fail("{}: field \"intermediate_size\" must be an integer or a per-layer list", origin);
  }
  for (auto v : c.intermediate_size) require_positive(v, "intermediate_size", origin);

  const std::string act = json_optional<std::string>(j, "hidden_act", "silu", origin);
  if (act != "silu" && act != "swish")
    fail("{}: hidden_act \"{}\" is not supported (expected silu)", origin, act);

  c.max_position_embeddings = json_optional<int64_t>(j, "max_position_embeddings", 2048, origin);
  c.rms_norm_eps = json_optional<double>(j, "rms_norm_eps", 1e-6, origin);
  c.rope.theta = json_optional<double>(j, "rope_theta", 10000.0, origin);
  if (auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null()) {
    const std::string where = origin + " rope_scaling";
    std::string type = json_optional<std::string>(*rs, "rope_type", "", where);
    if (type.empty()) type = json_optional<std::string>(*rs, "type", "", where);
    c.rope.factor = json_optional<double>(*rs, "factor", 1.0, where);
    if (type == "linear") {
      c.rope.scaling = RopeScaling::kLinear;
    } else if (type == "llama3") {
      c.rope.scaling = RopeScaling::kLlama3;
      c.rope.low_freq_factor = json_optional<double>(*rs, "low_freq_factor", 1.0, where);
      c.rope.high_freq_factor = json_optional<double>(*rs, "high_freq_factor", 4.0, where);
      c.rope.original_max_position =
          json_optional<int64_t>(*rs, "original_max_position_embeddings", 8192, where);
    } else if (type != "default") {
      fail("{}: rope_scaling type \"{}\" is not supported (default, linear, llama3)", origin, type);
    }
  }
  c.tie_word_embeddings = json_optional<bool>(j, "tie_word_embeddings", false, origin);
  c.bos_token_id = optional_id(j, "bos_token_id", origin);
  c.eos_token_ids = token_id_list(j, "eos_token_id", origin);
  c.pad_token_id = optional_id(j, "pad_token_id", origin);
  c.torch_dtype = json_optional<std::string>(j, "torch_dtype", "", origin);
  c.quantize = json_optional<std::string>(j, "quantize", "", origin);
  return c;
}
}  // namespace

ModelConfig load_model_config(const std::string& path) {
  return parse_model_config(read_text_file(path, "(a model directory needs config.json)"), path);
}

GenerationConfig load_generation_config(const std::string& path) {
  GenerationConfig g;
  if (!std::filesystem::exists(path)) return g;
  const Json j = read_json_file(path);
  if (!j.is_object()) fail("{}: not a JSON object", path);
  g.bos_token_id = optional_id(j, "bos_token_id", path);
  g.eos_token_ids = token_id_list(j, "eos_token_id", path);
  g.pad_token_id = optional_id(j, "pad_token_id", path);
  g.suppress_tokens = token_id_list(j, "suppress_tokens", path);
  if (j.contains("do_sample") && !j["do_sample"].is_null()) g.do_sample = json_required<bool>(j, "do_sample", path);
  if (j.contains("temperature") && !j["temperature"].is_null())
    g.temperature = json_required<double>(j, "temperature", path);
  if (j.contains("top_k") && !j["top_k"].is_null()) g.top_k = json_required<int64_t>(j, "top_k", path);
  if (j.contains("top_p") && !j["top_p"].is_null()) g.top_p = json_required<double>(j, "top_p", path);
  if (j.contains("repetition_penalty") && !j["repetition_penalty"].is_null())
    g.repetition_penalty = json_required<double>(j, "repetition_penalty", path);
  if (j.contains("max_new_tokens") && !j["max_new_tokens"].is_null())
    g.max_new_tokens = json_required<int64_t>(j, "max_new_tokens", path);
  return g;
}

}  // namespace pangu
