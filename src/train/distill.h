// The distillation loop shared by `pangu prune` (after each pruning round) and `pangu distill`: the teacher
// (frozen, any weight scheme the engine runs) computes logits on the fly for each training sequence, the
// student takes AdamW steps on KL(teacher || student) at a temperature, optionally plus cross-entropy.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/backprop.h"
#include "train/optimizer.h"

namespace pangu {

class Model;
class ThreadPool;
class Tokenizer;

// Tokenizes every document of the files (plain text, JSONL string fields, CSV cells), each with BOS, joins
// them into one stream and cuts it into sequences of seq_len tokens (at most max_sequences; 0 = all).
std::vector<std::vector<int32_t>> load_token_sequences(const std::vector<std::string>& paths,
                                                       const Tokenizer& tokenizer, int64_t seq_len,
                                                       int64_t max_sequences);

struct DistillOptions {
  int64_t steps = 0;
  int64_t batch = 4;  // sequences per optimizer step (gradient accumulation)
  LrSchedule schedule;
  AdamWOptions adam;
  LossSpec loss{0.0, 1.0, 1.0};  // KL only by default
  double clip = 1.0;             // global gradient norm; 0 disables
  bool mlp_only = false;         // train only the MLP weights
};

struct DistillStep {
  int64_t step = 0;  // 1-based
  LossValue loss;    // mean over the batch
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;
};

// Runs steps [first_step, options.steps) on `student`, reading sequences in order from
// (first_step * batch) modulo their count. `adam` keeps its moments across calls (and checkpoints).
void distill(Params<float>& student, const Model& teacher, ThreadPool& pool,
             const std::vector<std::vector<int32_t>>& sequences, const DistillOptions& options, AdamW& adam,
             int64_t first_step, const std::function<void(const DistillStep&)>& on_step);

// Mean KL(teacher || student) at temperature 1 and the student's cross-entropy over the sequences (no
// gradients): how far a pruned model is from its teacher.
LossValue distillation_loss(const Params<float>& student, const Model& teacher, ThreadPool& pool,
                            const std::vector<std::vector<int32_t>>& sequences);

// Gradient layout for the tensors being trained: all of them, or only the MLP weights.
Params<float> trainable_gradients(const ModelConfig& config, bool mlp_only);

}  // namespace pangu
