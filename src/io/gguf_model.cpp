#include "io/gguf_model.h"

#include <algorithm>
#include <cstring>

#include "core/buffer.h"
#include "core/log.h"
#include "io/ggml_quants.h"
#include "pangu/error.h"
#include "pangu/thread_pool.h"

namespace pangu {

namespace {

// The per-layer tensor names, GGUF suffix -> Hugging Face suffix.
const std::vector<std::pair<std::string, std::string>>& layer_names() {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_output.bias", "self_attn.o_proj.bias"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_gate.bias", "mlp.gate_proj.bias"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_up.bias", "mlp.up_proj.bias"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_down.bias", "mlp.down_proj.bias"},
  };
  return kNames;
}

const std::vector<std::pair<std::string, std::string>>& global_names() {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  return kNames;
}

// Whether general.architecture stores q/k for interleaved rotary pairs (ggml's "normal" rope).
bool interleaved_rotary(const std::string& arch) { return arch == "llama" || arch == "deci"; }

// One value for every layer: a scalar, or an array whose entries all agree (deci writes arrays).
int64_t uniform_per_layer(const GgufFile& f, const std::string& key, int64_t n_layers, std::optional<int64_t> fallback) {
  if (const GgufValue* v = f.find(key); v && v->type == GgufValueType::kArray) {
    const auto* values = f.get_ints(key);
    if (static_cast<int64_t>(values->size()) != n_layers || values->empty())
      fail("{}: metadata \"{}\" lists {} layers, block_count is {}", f.origin, key, values->size(), n_layers);
    if (std::adjacent_find(values->begin(), values->end(), std::not_equal_to<>()) != values->end())
      fail("{}: metadata \"{}\" differs between layers; pangu needs the same value in every layer", f.origin, key);
    return values->front();
  }
  if (const auto v = f.get_int(key)) return *v;
  if (fallback) return *fallback;
  fail("{}: missing metadata \"{}\"", f.origin, key);
}

// general.file_type (llama_ftype): what most of the file's matrices are.
std::string file_type_name(std::optional<int64_t> type) {
  static const std::map<int64_t, const char*> kNames = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},
      {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
      {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},   {32, "BF16"}};
  if (!type) return "GGUF";
  auto it = kNames.find(*type);
  return it != kNames.end() ? it->second : "GGUF type " + std::to_string(*type);
}

void require_range(const GgufFile& f, const std::string& key, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) fail("{}: metadata \"{}\" is {}, expected {} to {}", f.origin, key, value, lo, hi);
}

}  // namespace

std::string hf_name_from_gguf(const std::string& name) {
  for (const auto& [g, h] : global_names())
    if (name == g) return h;
  if (name.rfind("blk.", 0) != 0) return {};
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return {};
  const std::string index = name.substr(4, dot - 4);
  if (!std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }) || index.size() > 6)
    return {};
  const std::string suffix = name.substr(dot + 1);
  for (const auto& [g, h] : layer_names())
    if (suffix == g) return "model.layers." + std::to_string(std::stoll(index)) + "." + h;
  return {};
}

std::string gguf_name_from_hf(const std::string& name) {
  for (const auto& [g, h] : global_names())
    if (name == h) return g;
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return {};
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return {};
  const std::string index = name.substr(prefix.size(), dot - prefix.size());
  const std::string suffix = name.substr(dot + 1);
  for (const auto& [g, h] : layer_names())
    if (suffix == h) return "blk." + index + "." + g;
  return {};
}

int64_t interleaved_rotary_row(int64_t row, int64_t rows, int64_t n_heads) {
  const int64_t head_dim = rows / n_heads, half = head_dim / 2;
  const int64_t head = row / head_dim, within = row % head_dim;
  const int64_t s = within / half, j = within % half;
  return head * head_dim + 2 * j + s;
}

ModelConfig gguf_model_config(const GgufFile& f) {
  ModelConfig c;
  const std::string arch = f.get_string("general.architecture").value_or("");
  if (arch != "llama" && arch != "deci" && arch != "qwen2" && arch != "pangu-embedded")
    fail("{}: general.architecture \"{}\" is not supported (llama, deci, qwen2, pangu-embedded)", f.origin,
         arch.empty() ? "<missing>" : arch);
  const std::string p = arch + ".";
  c.model_type = arch;
  c.architecture = arch == "qwen2"            ? "Qwen2ForCausalLM"
                   : arch == "pangu-embedded" ? "PanguEmbeddedForCausalLM"
                                              : "LlamaForCausalLM";
  c.hidden_size = f.require_int(p + "embedding_length");
  c.n_layers = f.require_int(p + "block_count");
  require_range(f, p + "embedding_length", c.hidden_size, 1, 1 << 20);
  require_range(f, p + "block_count", c.n_layers, 1, 4096);
  c.n_heads = uniform_per_layer(f, p + "attention.head_count", c.n_layers, std::nullopt);
  c.n_heads_kv = uniform_per_layer(f, p + "attention.head_count_kv", c.n_layers, c.n_heads);
  require_range(f, p + "attention.head_count", c.n_heads, 1, 1 << 16);
  require_range(f, p + "attention.head_count_kv", c.n_heads_kv, 1, c.n_heads);
  if (c.n_heads % c.n_heads_kv != 0)
    fail("{}: attention.head_count {} is not a multiple of attention.head_count_kv {}", f.origin, c.n_heads,
         c.n_heads_kv);
  const int64_t default_head_dim = c.hidden_size / c.n_heads;
  c.head_dim = f.get_int(p + "attention.key_length").value_or(default_head_dim);
  require_range(f, p + "attention.key_length", c.head_dim, 2, 1 << 16);
  if (c.head_dim % 2 != 0) fail("{}: the head size {} is odd; rotary embeddings need it even", f.origin, c.head_dim);
  if (const auto v = f.get_int(p + "attention.value_length"); v && *v != c.head_dim)
    fail("{}: attention.value_length {} differs from attention.key_length {}", f.origin, *v, c.head_dim);
  if (const auto r = f.get_int(p + "rope.dimension_count"); r && *r != c.head_dim)
    fail("{}: rope.dimension_count {} is not the head size {} (partial rotary is not supported)", f.origin, *r,
         c.head_dim);

  const std::string ff = p + "feed_forward_length";
  if (const GgufValue* v = f.find(ff); v && v->type == GgufValueType::kArray) {
    const auto* widths = f.get_ints(ff);
    if (static_cast<int64_t>(widths->size()) != c.n_layers)
      fail("{}: metadata \"{}\" lists {} layers, block_count is {}", f.origin, ff, widths->size(), c.n_layers);
    c.intermediate_size = *widths;
  } else {
    c.intermediate_size.assign(static_cast<size_t>(c.n_layers), f.require_int(ff));
  }
  for (int64_t w : c.intermediate_size) require_range(f, ff, w, 1, int64_t{1} << 24);

  c.max_position_embeddings = f.get_int(p + "context_length").value_or(2048);
  c.rms_norm_eps = f.get_real(p + "attention.layer_norm_rms_epsilon").value_or(1e-5);
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1))
    fail("{}: attention.layer_norm_rms_epsilon is {}, expected a small positive number", f.origin, c.rms_norm_eps);
  c.rope.theta = f.get_real(p + "rope.freq_base").value_or(10000.0);
  if (!(c.rope.theta > 1)) fail("{}: rope.freq_base is {}, expected a number above 1", f.origin, c.rope.theta);
  const std::string scaling = f.get_string(p + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    c.rope.scaling = RopeScaling::kLinear;
    c.rope.factor = f.get_real(p + "rope.scaling.factor").value_or(1.0);
    if (!(c.rope.factor > 0)) fail("{}: rope.scaling.factor is {}, expected > 0", f.origin, c.rope.factor);
  } else if (scaling != "none") {
    fail("{}: rope.scaling.type \"{}\" is not supported (none, linear)", f.origin, scaling);
  }
  if (const GgufTensorInfo* t = f.find_tensor("rope_freqs.weight")) {
    if (t->dims.size() != 1 || t->dims[0] != c.head_dim / 2 || t->type != static_cast<uint32_t>(GgmlType::kF32) ||
        !t->data)
      fail("{}: tensor \"rope_freqs.weight\" is {} [{}], expected F32 [{}]", f.origin, ggml_type_name(t->type),
           t->dims[0], c.head_dim / 2);
    c.rope.scaling = RopeScaling::kFactors;
    for (int64_t i = 0; i < t->dims[0]; ++i) {
      float v;
      std::memcpy(&v, t->data + 4 * i, 4);
      if (!(v > 0)) fail("{}: rope_freqs.weight[{}] is {}, expected > 0", f.origin, i, v);
      c.rope.freq_factors.push_back(v);
    }
  }

  const GgufTensorInfo* embed = f.find_tensor("token_embd.weight");
  if (!embed) fail("{}: missing tensor \"token_embd.weight\"", f.origin);
  if (embed->dims.size() != 2) fail("{}: tensor \"token_embd.weight\" has {} dimensions, expected 2", f.origin, embed->dims.size());
  c.vocab_size = embed->dims[1];
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  auto has = [&](const char* suffix) { return f.find_tensor(std::string("blk.0.") + suffix) != nullptr; };
  c.q_bias = has("attn_q.bias");
  c.k_bias = has("attn_k.bias");
  c.v_bias = has("attn_v.bias");
  c.o_bias = has("attn_output.bias");
  c.mlp_bias = has("ffn_up.bias");
  if (f.find_tensor("blk.0.attn_qkv.weight"))
    fail("{}: fused attn_qkv tensors are not supported (expected attn_q, attn_k, attn_v)", f.origin);

  if (const auto v = f.get_int("tokenizer.ggml.bos_token_id")) c.bos_token_id = *v;
  if (const auto v = f.get_int("tokenizer.ggml.eos_token_id")) c.eos_token_ids.push_back(*v);
  if (const auto v = f.get_int("tokenizer.ggml.eot_token_id");
      v && std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), *v) == c.eos_token_ids.end())
    c.eos_token_ids.push_back(*v);
  if (const auto v = f.get_int("tokenizer.ggml.padding_token_id")) c.pad_token_id = *v;
  for (int64_t id : c.eos_token_ids) require_range(f, "tokenizer.ggml.eos_token_id", id, 0, c.vocab_size - 1);
  c.torch_dtype = file_type_name(f.get_int("general.file_type"));
  return c;
}

GenerationConfig gguf_generation_config(const GgufFile& f) {
  GenerationConfig g;
  // Our own key: the ids a model expanded with padding rows must never produce (generation_config.json's
  // suppress_tokens); llama.cpp ignores it.
  if (const auto* ids = f.get_ints("pangu.suppress_tokens")) g.suppress_tokens = *ids;
  return g;
}

namespace {

// Converts one GGUF tensor into the checkpoint under its Hugging Face name.
class TensorConverter {
 public:
  TensorConverter(GgufModel& m, ThreadPool& pool) : m_(m), pool_(pool) {}

  void convert(const GgufTensorInfo& t) {
    convert_tensor(t);
    // What was copied into memory no longer needs the file's pages: drop them from the resident set now, so
    // that a Q8_0 file is not held twice (mapping and codes) while the model loads.
    const TensorView* kept = m_.checkpoint->find(hf_name_from_gguf(t.name));
    if (t.data && (!kept || kept->data != t.data)) release_mapped_pages(t.data, t.n_bytes);
  }

 private:
  void convert_tensor(const GgufTensorInfo& t) {
    const std::string name = hf_name_from_gguf(t.name);
    if (name.empty()) {
      if (t.name != "rope_freqs.weight") log_verbose("{}: ignoring tensor \"{}\"", m_.path, t.name);
      return;
    }
    if (!ggml_block(t.type))
      fail("{}: tensor \"{}\" has type {}, which pangu cannot read (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, "
           "Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)",
           m_.path, t.name, ggml_type_name(t.type));
    if (t.dims.size() > 2) fail("{}: tensor \"{}\" has {} dimensions, expected 1 or 2", m_.path, t.name, t.dims.size());
    const int64_t rows = t.dims.size() == 2 ? t.dims[1] : 1, cols = t.dims[0];
    const std::vector<int64_t> shape = t.shape();
    // Which stored row each Hugging Face row comes from.
    int64_t permute_heads = 0;
    if (interleaved_rotary(m_.architecture)) {
      if (name.find("self_attn.q_proj.") != std::string::npos) permute_heads = m_.config.n_heads;
      if (name.find("self_attn.k_proj.") != std::string::npos) permute_heads = m_.config.n_heads_kv;
    }
    // A bias is one row of `cols` values; its rotary pairs are permuted like a weight's rows.
    const bool vector = t.dims.size() == 1;
    auto source_row = [&](int64_t r) {
      return permute_heads > 0 && !vector ? interleaved_rotary_row(r, rows, permute_heads) : r;
    };
    if (permute_heads > 0 && (vector ? cols : rows) % (2 * permute_heads) != 0)
      fail("{}: tensor \"{}\" has {} rows, not a whole number of heads of even size ({} heads)", m_.path, t.name,
           vector ? cols : rows, permute_heads);
    const size_t stored_row = t.n_bytes / static_cast<size_t>(rows);
    const auto type = static_cast<GgmlType>(t.type);

    if (vector) {
      // Norms and biases: f32 in memory.
      std::vector<float> values(static_cast<size_t>(cols));
      dequantize_ggml_row(t.type, t.data, cols, values.data());
      float* out = reinterpret_cast<float*>(m_.checkpoint->add_owned({name, DType::kF32, shape}, cols * 4));
      for (int64_t i = 0; i < cols; ++i)
        out[i] = values[static_cast<size_t>(permute_heads > 0 ? interleaved_rotary_row(i, cols, permute_heads) : i)];
      return;
    }
    if ((type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) && permute_heads == 0) {
      const DType dtype = type == GgmlType::kF32 ? DType::kF32 : type == GgmlType::kF16 ? DType::kF16 : DType::kBF16;
      m_.checkpoint->add_view({name, dtype, shape, t.data, t.n_bytes});
      return;
    }
    if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) {
      const DType dtype = type == GgmlType::kF32 ? DType::kF32 : type == GgmlType::kF16 ? DType::kF16 : DType::kBF16;
      uint8_t* out = m_.checkpoint->add_owned({name, dtype, shape}, t.n_bytes);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out + r * stored_row, t.data + source_row(r) * stored_row, stored_row);
      return;
    }
    const std::string base = name.substr(0, name.size() - std::string(".weight").size());
    const int64_t groups = cols / kGgufGroup;
    if (type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0) {
      const bool int8 = type == GgmlType::kQ8_0;
      const int64_t code_bytes = int8 ? cols : cols / 2;
      uint8_t* codes = m_.checkpoint->add_owned({name, int8 ? DType::kI8 : DType::kU8, {rows, code_bytes}},
                                                static_cast<size_t>(rows * code_bytes));
      auto* scales = reinterpret_cast<float*>(m_.checkpoint->add_owned(
          {base + ".weight_scale", DType::kF32, {rows, groups}}, static_cast<size_t>(rows * groups) * 4));
      parallel_rows(rows, [&](int64_t r) {
        const uint8_t* src = t.data + source_row(r) * stored_row;
        if (int8)
          split_q8_0_row(src, cols, reinterpret_cast<int8_t*>(codes + r * code_bytes), scales + r * groups);
        else
          split_q4_0_row(src, cols, codes + r * code_bytes, scales + r * groups);
      });
      m_.tensor_types[name] = int8 ? "W8A16" : "W4A16";
      return;
    }
    // Every other block type: dequantized to bf16, which the packed kernels run.
    auto* out = reinterpret_cast<uint16_t*>(
        m_.checkpoint->add_owned({name, DType::kBF16, shape}, static_cast<size_t>(rows * cols) * 2));
    parallel_rows(rows, [&](int64_t r) {
      std::vector<float> row(static_cast<size_t>(cols));
      dequantize_ggml_row(t.type, t.data + source_row(r) * stored_row, cols, row.data());
      for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = f32_to_bf16(row[static_cast<size_t>(c)]);
    });
    m_.dequantized.push_back(fmt::format("{} ({})", t.name, ggml_type_name(t.type)));
  }

  template <typename Fn>
  void parallel_rows(int64_t rows, Fn fn) {
    pool_.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r) fn(static_cast<int64_t>(r));
    });
  }
  GgufModel& m_;
  ThreadPool& pool_;
};

}  // namespace

GgufModel open_gguf_model(const std::string& path, ThreadPool& pool) {
  auto mapped = std::make_unique<MappedFile>(path);
  const uint8_t* data = mapped->data();
  const size_t size = mapped->size();
  return gguf_model_from_memory(data, size, path, pool, std::move(mapped));
}

GgufModel gguf_model_from_memory(const uint8_t* data, size_t size, const std::string& path, ThreadPool& pool,
                                 std::unique_ptr<MappedFile> mapping) {
  GgufModel m;
  m.path = path;
  m.file = parse_gguf(data, size, path);
  m.architecture = m.file.get_string("general.architecture").value_or("");
  m.config = gguf_model_config(m.file);
  m.generation = gguf_generation_config(m.file);
  for (int64_t id : m.generation.suppress_tokens)
    require_range(m.file, "pangu.suppress_tokens", id, 0, m.config.vocab_size - 1);
  m.checkpoint = std::make_unique<Checkpoint>(Checkpoint::assembled(path, std::move(mapping)));
  TensorConverter converter(m, pool);
  for (const GgufTensorInfo& t : m.file.tensors) converter.convert(t);
  // Displayed as the scheme of a quantized model (bench, info); the kernels look only at the matrices.
  if (!m.tensor_types.empty()) m.config.quantize = m.config.torch_dtype;
  if (!m.dequantized.empty())
    log_info("{}: {} tensors dequantized to bf16 at load (their types have no native kernel), e.g. {}", path,
             m.dequantized.size(), m.dequantized.front());
  return m;
}

}  // namespace pangu
