// The training forward pass (keeping what the backward pass needs) and the backward pass of the Llama-family
// decoder, for one sequence starting at position 0: embedding (tied or not), RMSNorm, linear with and without
// bias, RoPE (rotate-half), grouped-query causal attention, SwiGLU, output head; next-token cross-entropy
// and KL(teacher || student) at a temperature.
#pragma once

#include <cstdint>
#include <vector>

#include "train/params.h"

namespace pangu {

class ThreadPool;

struct LossSpec {
  double ce_weight = 1.0;  // next-token cross-entropy, mean over the n - 1 predicted positions
  double kl_weight = 0.0;  // KL(softmax(teacher / T) || softmax(student / T)) * T^2, mean over n positions
  double temperature = 1.0;
};

struct LossValue {
  double total = 0;  // ce_weight * ce + kl_weight * kl
  double ce = 0;
  double kl = 0;
};

// tokens: [n]; teacher_logits: [n, vocab] (needed when kl_weight > 0). Adds d(total)/d(param) into *grads
// when grads is not null (zero it first for a fresh gradient); a tensor whose gradient vector is empty is
// frozen and costs no weight-gradient work. pool: null runs single-threaded.
template <typename T>
LossValue forward_backward(const Params<T>& params, const int32_t* tokens, int64_t n, const float* teacher_logits,
                           const LossSpec& loss, Params<T>* grads, ThreadPool* pool);

// The logits of the training forward pass ([n, vocab]), for comparison with the inference engine.
template <typename T>
void training_logits(const Params<T>& params, const int32_t* tokens, int64_t n, T* logits, ThreadPool* pool);

// Adds, per layer, the squares of the MLP inputs summed over positions: the normed hidden state that feeds
// gate/up ([hidden] per layer) and silu(gate) * up that feeds down ([inter] per layer). Wanda's ||x||^2.
template <typename T>
void accumulate_mlp_input_squares(const Params<T>& params, const int32_t* tokens, int64_t n,
                                  std::vector<std::vector<double>>& hidden_sq,
                                  std::vector<std::vector<double>>& inter_sq, ThreadPool* pool);

}  // namespace pangu
