// Checkpoints of a long training job (prune rounds, distillation steps): the student's f32 weights, the
// AdamW moments and a JSON state, written to a staged directory so a kill never leaves a half checkpoint.
#pragma once

#include <string>

#include "io/json_file.h"
#include "train/optimizer.h"
#include "train/params.h"

namespace pangu {

// <dir>/student.safetensors, <dir>/adam.safetensors (when adam is given), <dir>/state.json. The state gets
// "intermediate_size" and "adam_steps" added.
void save_train_state(const std::string& dir, const Params<float>& params, const AdamW* adam, Json state);

// Reads a checkpoint written by save_train_state: params take the saved widths on top of `base` (the source
// model's config). Returns the state.
Json load_train_state(const std::string& dir, const ModelConfig& base, Params<float>& params);
// Restores the AdamW moments and step count of that checkpoint into `adam`, built for the restored params.
void load_adam_state(const std::string& dir, const Json& state, AdamW& adam);

}  // namespace pangu
