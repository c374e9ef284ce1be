#include "model/weights.h"

#include <fmt/format.h>

#include "core/log.h"
#include "kernels/packed.h"
#include "pangu/error.h"
#include "quant/description.h"

namespace pangu {

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> specs;
  const int64_t h = c.hidden_size;
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, h}, TensorRole::kEmbedding});
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    const int64_t inter = c.intermediate_size[i];
    specs.push_back({p + "input_layernorm.weight", {h}, TensorRole::kVector});
    specs.push_back({p + "self_attn.q_proj.weight", {c.q_dim(), h}, TensorRole::kMatrix});
    if (c.q_bias) specs.push_back({p + "self_attn.q_proj.bias", {c.q_dim()}, TensorRole::kVector});
    specs.push_back({p + "self_attn.k_proj.weight", {c.kv_dim(), h}, TensorRole::kMatrix});
    if (c.k_bias) specs.push_back({p + "self_attn.k_proj.bias", {c.kv_dim()}, TensorRole::kVector});
    specs.push_back({p + "self_attn.v_proj.weight", {c.kv_dim(), h}, TensorRole::kMatrix});
    if (c.v_bias) specs.push_back({p + "self_attn.v_proj.bias", {c.kv_dim()}, TensorRole::kVector});
    specs.push_back({p + "self_attn.o_proj.weight", {h, c.q_dim()}, TensorRole::kMatrix});
    if (c.o_bias) specs.push_back({p + "self_attn.o_proj.bias", {h}, TensorRole::kVector});
    specs.push_back({p + "post_attention_layernorm.weight", {h}, TensorRole::kVector});
    specs.push_back({p + "mlp.gate_proj.weight", {inter, h}, TensorRole::kMatrix});
    if (c.mlp_bias) specs.push_back({p + "mlp.gate_proj.bias", {inter}, TensorRole::kVector});
    specs.push_back({p + "mlp.up_proj.weight", {inter, h}, TensorRole::kMatrix});
    if (c.mlp_bias) specs.push_back({p + "mlp.up_proj.bias", {inter}, TensorRole::kVector});
    specs.push_back({p + "mlp.down_proj.weight", {h, inter}, TensorRole::kMatrix});
    if (c.mlp_bias) specs.push_back({p + "mlp.down_proj.bias", {h}, TensorRole::kVector});
  }
  specs.push_back({"model.norm.weight", {h}, TensorRole::kVector});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, h}, TensorRole::kMatrix});
  return specs;
}

namespace {

bool is_float(DType d) {
  return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16;
}

const TensorView& require(const Checkpoint& ckpt, const TensorSpec& spec) {
  const TensorView* t = ckpt.find(spec.name);
  if (!t) fail("{}: missing tensor \"{}\" (expected {})", ckpt.origin(), spec.name, shape_string(spec.shape));
  if (t->shape != spec.shape)
    fail("{}: tensor \"{}\" has shape {}, the config implies {}", ckpt.origin(), spec.name,
         shape_string(t->shape), shape_string(spec.shape));
  if (!is_float(t->dtype))
    fail("{}: tensor \"{}\" has dtype {}, expected F32, BF16 or F16", ckpt.origin(), spec.name,
         dtype_name(t->dtype));
  return *t;
}

WeightMatrix as_matrix(const TensorView& t) {
  return {t.dtype, t.data, t.shape[0], t.shape[1]};
}

std::vector<float> as_f32(const TensorView& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  to_f32(t.dtype, t.data, t.numel(), v.data());
  return v;
}

}  // namespace

ModelWeights bind_weights(const ModelConfig& config, const Checkpoint& ckpt, const QuantDescription* description) {
  const auto specs = expected_tensors(config);
  std::map<std::string, bool> used;
  std::map<std::string, WeightMatrix> matrices;
  std::map<std::string, const TensorView*> vectors;
  for (const auto& spec : specs) {
    // A GGUF file's tied embedding may be Q8_0 codes: looked up row by row, and the head's matrix too.
    const bool quantized_embedding =
        spec.role == TensorRole::kEmbedding && description && description->type_of(spec.name) != "FLOAT";
    if (spec.role == TensorRole::kMatrix || quantized_embedding) {
      matrices[spec.name] = bind_weight_matrix(ckpt, spec.name, spec.shape[0], spec.shape[1], description, used);
    } else {
      vectors[spec.name] = &require(ckpt, spec);
      used[spec.name] = true;
    }
  }
  for (const auto& [name, view] : ckpt.tensors()) {
    if (used.count(name) || name.find("rotary_emb.inv_freq") != std::string::npos) continue;
    if (name == "lm_head.weight" && config.tie_word_embeddings) continue;  // tied: the embedding is used
    log_verbose("{}: ignoring unexpected tensor \"{}\"", ckpt.origin(), name);
  }
  auto vec_or_empty = [&](bool present, const std::string& name) {
    return present ? as_f32(*vectors.at(name)) : std::vector<float>{};
  };
  auto vec = [&](const std::string& name) { return as_f32(*vectors.at(name)); };

  ModelWeights w;
  w.embed = matrices.count("model.embed_tokens.weight") ? matrices.at("model.embed_tokens.weight")
                                                        : as_matrix(*vectors.at("model.embed_tokens.weight"));
  for (int64_t i = 0; i < config.n_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    LayerWeights l;
    l.attn_norm = vec(p + "input_layernorm.weight");
    l.wq = matrices.at(p + "self_attn.q_proj.weight");
    l.wk = matrices.at(p + "self_attn.k_proj.weight");
    l.wv = matrices.at(p + "self_attn.v_proj.weight");
    l.wo = matrices.at(p + "self_attn.o_proj.weight");
    l.bq = vec_or_empty(config.q_bias, p + "self_attn.q_proj.bias");
    l.bk = vec_or_empty(config.k_bias, p + "self_attn.k_proj.bias");
    l.bv = vec_or_empty(config.v_bias, p + "self_attn.v_proj.bias");
    l.bo = vec_or_empty(config.o_bias, p + "self_attn.o_proj.bias");
    l.mlp_norm = vec(p + "post_attention_layernorm.weight");
    l.w_gate = matrices.at(p + "mlp.gate_proj.weight");
    l.w_up = matrices.at(p + "mlp.up_proj.weight");
    l.w_down = matrices.at(p + "mlp.down_proj.weight");
    l.b_gate = vec_or_empty(config.mlp_bias, p + "mlp.gate_proj.bias");
    l.b_up = vec_or_empty(config.mlp_bias, p + "mlp.up_proj.bias");
    l.b_down = vec_or_empty(config.mlp_bias, p + "mlp.down_proj.bias");
    w.layers.push_back(std::move(l));
  }
  w.final_norm = vec("model.norm.weight");
  w.lm_head = config.tie_word_embeddings ? w.embed : matrices.at("lm_head.weight");
  return w;
}

void pack_matrices(ModelWeights& weights, ThreadPool& pool, bool include_head, Checkpoint* checkpoint) {
  auto pack = [&](WeightMatrix& m) {
    if (!packable(m) || m.packed) return;
    pack_weights(m, weights.packed.emplace_back(), pool);
    const void* original = m.data;
    const bool shared_with_embedding = weights.embed.data == original;
    if (checkpoint && checkpoint->owns(original)) {
      // Converted in memory at load (GGUF): the packed copy replaces it. A tied embedding then looks its
      // rows up in the packed codes.
      if (shared_with_embedding && m.quant != QuantFormat::kInt8) return;  // lookups need the row-major data
      m.data = nullptr;
      if (shared_with_embedding) weights.embed = m;
      checkpoint->drop_owned(original);
      return;
    }
    release_mapped_pages(original, static_cast<size_t>(m.rows * m.row_bytes()));
  };
  for (LayerWeights& l : weights.layers)
    for (WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*m);
  if (include_head) pack(weights.lm_head);
}

}  // namespace pangu
