// pangu info: what a model directory holds, checked against its config.
#include <fmt/format.h>

#include <map>

#include "cli/common.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/weights.h"
#include "pangu/chat.h"
#include "quant/description.h"

namespace pangu::cli {

namespace {

struct InfoOptions {
  std::string model;
  bool verbose = false;
  bool json = false;
};

void info(const InfoOptions& o) {
  const std::string dir = resolve_model_path(o.model);
  LoadOptions options;
  options.pack = false;  // nothing runs; the stored tensors are what is described
  auto model = Model::load(dir, options);  // validates every tensor against the config
  auto tokenizer = load_tokenizer(dir);
  const ModelConfig& c = model->config();
  int64_t n_params = 0;
  std::map<std::string, size_t> bytes_by_dtype;
  size_t total_bytes = 0;
  // Parameters from the config's shapes (packed int4 stores two per byte); bytes from what the checkpoint
  // holds, scales and offsets included.
  for (const auto& spec : expected_tensors(c)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    n_params += n;
  }
  for (const auto& [name, t] : model->checkpoint().tensors()) {
    if (name == "lm_head.weight" && c.tie_word_embeddings) continue;
    bytes_by_dtype[std::string(dtype_name(t.dtype))] += t.n_bytes;
    total_bytes += t.n_bytes;
  }
  fmt::print("model:        {}\n", dir);
  fmt::print("architecture: {} (model_type {})\n", c.architecture, c.model_type);
  fmt::print("parameters:   {} ({})\n", format_count(n_params), n_params);
  fmt::print("weights:      {} ({} bytes)\n", format_bytes(total_bytes), total_bytes);
  for (const auto& [dtype, bytes] : bytes_by_dtype)
    fmt::print("  {:<5}       {} ({} bytes)\n", dtype, format_bytes(bytes), bytes);
  if (const QuantDescription* q = model->quant_description()) {
    size_t n_quantized = 0;
    for (const auto& [name, type] : q->tensor_types)
      if (type != "FLOAT" && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) ++n_quantized;
    fmt::print("quantization: {} ({}), {} matrices, {}\n", c.quantize, q->model_quant_type, n_quantized,
               q->group_size > 0 ? fmt::format("groups of {} columns", q->group_size) : "per output channel");
  } else {
    fmt::print("quantization: none\n");
  }
  fmt::print("layers:       {}, hidden {}, heads {} / {} kv, head_dim {}\n", c.n_layers, c.hidden_size,
             c.n_heads, c.n_heads_kv, c.head_dim);
  const bool uniform = std::all_of(c.intermediate_size.begin(), c.intermediate_size.end(),
                                   [&](int64_t v) { return v == c.intermediate_size[0]; });
  fmt::print("mlp:          {}\n", uniform ? fmt::format("{}", c.intermediate_size[0])
                                           : fmt::format("per layer {}", shape_string(c.intermediate_size)));
  fmt::print("vocab:        {}, {} embeddings\n", c.vocab_size, c.tie_word_embeddings ? "tied" : "untied");
  fmt::print("biases:       q {} k {} v {} o {} mlp {}\n", c.q_bias, c.k_bias, c.v_bias, c.o_bias,
             c.mlp_bias);
  fmt::print("rope:         theta {}, max positions {}\n", c.rope.theta, c.max_position_embeddings);
  if (tokenizer) {
    fmt::print("tokenizer:    {} ({} tokens, bos {}, eos {})\n", tokenizer->origin(), tokenizer->vocab_size(),
               tokenizer->bos_id() ? std::to_string(*tokenizer->bos_id()) : "none",
               tokenizer->eos_id() ? std::to_string(*tokenizer->eos_id()) : "none");
  } else {
    fmt::print("tokenizer:    none (use --ids)\n");
  }
  fmt::print("chat:         {}\n", chat_template_name(detect_chat_template(c, tokenizer.get())));
  if (o.verbose) {
    fmt::print("tensors:\n");
    for (const auto& [name, t] : model->checkpoint().tensors())
      fmt::print("  {:<48} {:<5} {}\n", name, dtype_name(t.dtype), shape_string(t.shape));
  }
}

}  // namespace

void register_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd =
      app.add_subcommand("info", "architecture, parameters, bytes per dtype, tensors (--verbose)");
  opt::model(*cmd, o->model)->required();
  opt::verbose(*cmd, o->verbose, "list every tensor");
  cmd->callback([o] { info(*o); });
}

}  // namespace pangu::cli
