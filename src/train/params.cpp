#include "train/params.h"

#include "kernels/kernels.h"
#include "model/weights.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "quant/quantize.h"

namespace pangu {

template <typename T>
Params<T> zero_params(const ModelConfig& c) {
  PANGU_CHECK(!c.mlp_bias, "training: MLP biases (mlp_bias: true) are not supported");
  Params<T> p;
  p.config = c;
  const auto H = static_cast<size_t>(c.hidden_size), Q = static_cast<size_t>(c.q_dim()),
             KV = static_cast<size_t>(c.kv_dim()), V = static_cast<size_t>(c.vocab_size);
  p.embed.assign(V * H, T(0));
  p.layers.resize(static_cast<size_t>(c.n_layers));
  for (size_t l = 0; l < p.layers.size(); ++l) {
    auto& L = p.layers[l];
    const auto I = static_cast<size_t>(c.intermediate_size[l]);
    L.attn_norm.assign(H, T(0));
    L.wq.assign(Q * H, T(0));
    L.wk.assign(KV * H, T(0));
    L.wv.assign(KV * H, T(0));
    L.wo.assign(H * Q, T(0));
    if (c.q_bias) L.bq.assign(Q, T(0));
    if (c.k_bias) L.bk.assign(KV, T(0));
    if (c.v_bias) L.bv.assign(KV, T(0));
    if (c.o_bias) L.bo.assign(H, T(0));
    L.mlp_norm.assign(H, T(0));
    L.w_gate.assign(I * H, T(0));
    L.w_up.assign(I * H, T(0));
    L.w_down.assign(H * I, T(0));
  }
  p.final_norm.assign(H, T(0));
  if (!c.tie_word_embeddings) p.lm_head.assign(V * H, T(0));
  return p;
}

template Params<float> zero_params<float>(const ModelConfig&);
template Params<double> zero_params<double>(const ModelConfig&);

template <typename T>
int64_t count_parameters(const Params<T>& p) {
  int64_t n = 0;
  p.for_each_tensor([&n](const std::string&, const std::vector<T>& v) { n += static_cast<int64_t>(v.size()); });
  return n;
}

template int64_t count_parameters<float>(const Params<float>&);
template int64_t count_parameters<double>(const Params<double>&);

namespace {

void widen_matrix(const WeightMatrix& w, std::vector<float>& out) {
  PANGU_CHECK(static_cast<int64_t>(out.size()) == w.rows * w.cols, "training: matrix of {}x{} does not fit {} values",
              w.rows, w.cols, out.size());
  PANGU_CHECK(w.data,
              "training: a matrix of {}x{} exists only in packed form (an --int8-head, or a GGUF file's converted "
              "matrix): train from a model directory without --int8-head",
              w.rows, w.cols);
  const int64_t groups = w.n_groups();
  for (int64_t r = 0; r < w.rows; ++r) {
    const auto* row = static_cast<const uint8_t*>(w.data) + r * w.row_bytes();
    float* dst = out.data() + r * w.cols;
    if (w.quant == QuantFormat::kNone)
      to_f32(w.dtype, row, w.cols, dst);
    else
      dequantize_row(row, w.scale + r * groups, w.offset ? w.offset + r * groups : nullptr, w.cols, w.quant,
                     w.group_size > 0 ? w.group_size : w.cols, dst);
  }
}

void copy_vector(const std::vector<float>& src, std::vector<float>& dst) {
  if (!dst.empty()) dst = src;
}

}  // namespace

Params<float> params_from_model(const Model& model) {
  Params<float> p = zero_params<float>(model.config());
  const ModelWeights& w = model.weights();
  widen_matrix(w.embed, p.embed);
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const LayerWeights& src = w.layers[l];
    LayerParams<float>& dst = p.layers[l];
    dst.attn_norm = src.attn_norm;
    dst.mlp_norm = src.mlp_norm;
    widen_matrix(src.wq, dst.wq);
    widen_matrix(src.wk, dst.wk);
    widen_matrix(src.wv, dst.wv);
    widen_matrix(src.wo, dst.wo);
    copy_vector(src.bq, dst.bq);
    copy_vector(src.bk, dst.bk);
    copy_vector(src.bv, dst.bv);
    copy_vector(src.bo, dst.bo);
    widen_matrix(src.w_gate, dst.w_gate);
    widen_matrix(src.w_up, dst.w_up);
    widen_matrix(src.w_down, dst.w_down);
  }
  p.final_norm = w.final_norm;
  if (!p.lm_head.empty()) widen_matrix(w.lm_head, p.lm_head);
  return p;
}

}  // namespace pangu
