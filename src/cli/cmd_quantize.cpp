// pangu quantize: a float model directory in, a W8A16 / W4A16 model directory out (MindIE layout).
#include <fmt/format.h>

#include <filesystem>

#include "cli/common.h"
#include "pangu/error.h"
#include "core/log.h"
#include "quant/quantize_model.h"

namespace pangu::cli {

namespace {

struct QuantizeCliOptions {
  std::string model;
  std::string out;
  std::string scheme = "w8a16";
  int64_t group_size = 0;
  bool lm_head = false;
  std::string exclude;
  bool force = false;
  int threads = 0;
  CLI::Option* threads_option = nullptr;
  std::string float_dtype = "bf16";
};

void quantize(const QuantizeCliOptions& c) {
  QuantizeOptions o;
  o.scheme = parse_quant_scheme(c.scheme, c.group_size);
  o.lm_head = c.lm_head;
  o.exclude = c.exclude;
  o.force = c.force;
  PANGU_CHECK(c.float_dtype == "bf16" || c.float_dtype == "f16", "--float-dtype {}: expected bf16 or f16",
              c.float_dtype);
  o.float_dtype = c.float_dtype == "bf16" ? DType::kBF16 : DType::kF16;
  ThreadPool pool(resolve_threads(c.threads_option, c.threads));
  const std::string source = resolve_model_path(c.model);
  PANGU_CHECK(!std::filesystem::is_regular_file(source),
              "{}: a GGUF file; pangu quantize reads a float model directory (a GGUF file runs as it is, and "
              "`pangu export --type q8_0` writes a quantized GGUF)",
              source);
  const QuantizeReport r = quantize_model(source, c.out, o, pool);
  log_info("wrote {}: {} matrices {} ({}), {} tensors kept in float; weights {} -> {} ({:.1f}%)", c.out,
           r.n_quantized, o.scheme.type_name(), o.scheme.name, r.n_float, format_bytes(static_cast<double>(r.bytes_in)),
           format_bytes(static_cast<double>(r.bytes_out)), 100.0 * r.bytes_out / std::max<size_t>(r.bytes_in, 1));
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto o = std::make_shared<QuantizeCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "weight-only int8 / int4 quantization (W8A16 layout of MindIE / msModelSlim)");
  opt::model(*cmd, o->model, "float model directory or name")->required();
  opt::out(*cmd, o->out)->required();
  cmd->add_option("--scheme", o->scheme, "w8a16 | w8a16-g128 | w4a16-g128")->capture_default_str();
  cmd->add_option("--group-size", o->group_size, "columns per scale for the -g schemes (multiple of 16)");
  cmd->add_flag("--lm-head", o->lm_head, "also quantize an untied output head");
  cmd->add_option("--exclude", o->exclude, "regex: tensors whose name matches stay in float");
  cmd->add_option("--float-dtype", o->float_dtype,
                  "dtype of the tensors kept in float when the source is f32: bf16 | f16 (the Ascend stacks run "
                  "16-bit activations only)")
      ->capture_default_str();
  opt::force(*cmd, o->force);
  o->threads_option = opt::threads(*cmd, o->threads);
  cmd->callback([o] { quantize(*o); });
}

}  // namespace pangu::cli
