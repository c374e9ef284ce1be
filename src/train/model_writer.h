// Writes trained or pruned parameters as a model directory that `pangu run` loads: config.json from the
// source with the new MLP widths, the source's tokenizer and side files, tensors in a float dtype. The
// directory is staged and renamed into place.
#pragma once

#include <string>

#include "core/dtype.h"
#include "io/json_file.h"
#include "train/params.h"

namespace pangu {

// intermediate_size is written as a number when every layer has the same width, else as a per-layer list.
// `extra_config` entries are merged into config.json (e.g. how the model was pruned).
void write_model_dir(const Params<float>& params, const std::string& source_dir, const std::string& out_dir,
                     DType dtype, bool force, const Json& extra_config = Json::object());

// The float dtype a source model's tensors should be written in: its torch_dtype (bf16, f16, f32), f32 when
// the source is quantized or says nothing.
DType output_dtype_for(const ModelConfig& config);

}  // namespace pangu
