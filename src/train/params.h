// Trainable parameters: one vector per checkpoint tensor in T (f32 master weights for training, f64 for the
// gradient check), whatever dtype the checkpoint stores. Gradients and optimizer moments use the same type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pangu/config.h"

namespace pangu {

class Model;

template <typename T>
struct LayerParams {
  std::vector<T> attn_norm;             // [hidden]
  std::vector<T> wq, wk, wv, wo;        // [q_dim, hidden], [kv_dim, hidden] x2, [hidden, q_dim]
  std::vector<T> bq, bk, bv, bo;        // [q_dim], [kv_dim] x2, [hidden]; empty when the config has none
  std::vector<T> mlp_norm;              // [hidden]
  std::vector<T> w_gate, w_up, w_down;  // [inter, hidden] x2, [hidden, inter]
};

template <typename T>
struct Params {
  ModelConfig config;
  std::vector<T> embed;  // [vocab, hidden]
  std::vector<LayerParams<T>> layers;
  std::vector<T> final_norm;  // [hidden]
  std::vector<T> lm_head;     // [vocab, hidden]; empty when tied to the embedding

  // Visits every tensor with its Hugging Face name, in checkpoint order: fn(name, vector&). Empty vectors
  // (absent biases, a tied head) are skipped.
  template <typename Fn>
  void for_each_tensor(Fn&& fn);
  template <typename Fn>
  void for_each_tensor(Fn&& fn) const;
};

// Zero-filled parameters of the config's shapes. Refuses what training does not cover (MLP biases).
template <typename T>
Params<T> zero_params(const ModelConfig& config);

// The model's weights widened to f32 (bf16/f16 exactly; int8/int4 dequantized).
Params<float> params_from_model(const Model& model);

template <typename T>
int64_t count_parameters(const Params<T>& p);

template <typename T>
template <typename Fn>
void Params<T>::for_each_tensor(Fn&& fn) {
  auto visit = [&fn](const std::string& name, std::vector<T>& v) {
    if (!v.empty()) fn(name, v);
  };
  visit("model.embed_tokens.weight", embed);
  for (size_t l = 0; l < layers.size(); ++l) {
    LayerParams<T>& L = layers[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    visit(p + "input_layernorm.weight", L.attn_norm);
    visit(p + "self_attn.q_proj.weight", L.wq);
    visit(p + "self_attn.q_proj.bias", L.bq);
    visit(p + "self_attn.k_proj.weight", L.wk);
    visit(p + "self_attn.k_proj.bias", L.bk);
    visit(p + "self_attn.v_proj.weight", L.wv);
    visit(p + "self_attn.v_proj.bias", L.bv);
    visit(p + "self_attn.o_proj.weight", L.wo);
    visit(p + "self_attn.o_proj.bias", L.bo);
    visit(p + "post_attention_layernorm.weight", L.mlp_norm);
    visit(p + "mlp.gate_proj.weight", L.w_gate);
    visit(p + "mlp.up_proj.weight", L.w_up);
    visit(p + "mlp.down_proj.weight", L.w_down);
  }
  visit("model.norm.weight", final_norm);
  visit("lm_head.weight", lm_head);
}

template <typename T>
template <typename Fn>
void Params<T>::for_each_tensor(Fn&& fn) const {
  const_cast<Params<T>*>(this)->for_each_tensor(
      [&fn](const std::string& name, std::vector<T>& v) { fn(name, static_cast<const std::vector<T>&>(v)); });
}

}  // namespace pangu
