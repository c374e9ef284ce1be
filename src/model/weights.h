// The decoder's weights as typed views into the checkpoint. Matrices stay in their stored dtype
// (memory-mapped, never copied); norm weights and biases are small and are widened to f32.
#pragma once

#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "pangu/config.h"

namespace pangu {

enum class TensorRole { kMatrix, kVector, kEmbedding };

// One tensor the config says a checkpoint holds: its HF name and shape.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  TensorRole role;
};

// Every tensor of the model in checkpoint order. Loading, `info`, `synth` and later quantize/prune walk it.
std::vector<TensorSpec> expected_tensors(const ModelConfig& config);

struct LayerWeights {
  std::vector<float> attn_norm;             // [hidden]
  WeightMatrix wq, wk, wv, wo;              // [q_dim, hidden], [kv_dim, hidden] x2, [hidden, q_dim]
  std::vector<float> bq, bk, bv, bo;        // [q_dim], [kv_dim], [kv_dim], [hidden]; empty when absent
  std::vector<float> mlp_norm;              // [hidden]
  WeightMatrix w_gate, w_up, w_down;        // [inter, hidden] x2, [hidden, inter]
  std::vector<float> b_gate, b_up, b_down;  // empty unless mlp_bias
};

struct ModelWeights {
  WeightMatrix embed;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;  // [hidden]
  WeightMatrix lm_head;           // [vocab, hidden]; the embedding itself when tied
  std::vector<Buffer> packed;     // what the matrices' `packed` views point into (see pack_matrices)
};

struct QuantDescription;

// Checks every tensor's presence, dtype and shape against the config (and the quantization description
// when the model is quantized), then builds the views.
ModelWeights bind_weights(const ModelConfig& config, const Checkpoint& checkpoint,
                          const QuantDescription* description = nullptr);

// Repacks every packable matrix (symmetric int8, bf16) for the tiled kernels and drops the mapped pages of
// the row-major original, so one copy stays resident; `data` stays valid and faults pages back in for the
// rare reader of rows (training, a tied embedding's lookups). Matrices whose `data` the checkpoint owns
// (converted at load) are freed instead, and their `data` becomes null.
void pack_matrices(ModelWeights& weights, ThreadPool& pool, bool include_head, Checkpoint* checkpoint = nullptr);

}  // namespace pangu
