// pangu export: a model directory (or GGUF file) written as a GGUF file for llama.cpp, Ollama, LM Studio.
#include <filesystem>

#include "cli/common.h"
#include "core/log.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "quant/description.h"
#include "quant/gguf_export.h"

namespace pangu::cli {

namespace {

struct ExportOptions {
  std::string model;
  std::string out;
  std::string type = "f16";
  bool force = false;
  int threads = 0;
  CLI::Option* threads_option = nullptr;
};

void run_export(const ExportOptions& o) {
  const GgufExportType type = parse_gguf_export_type(o.type);
  PANGU_CHECK(o.out.size() > 5 && o.out.substr(o.out.size() - 5) == ".gguf", "-o/--out {}: expected a .gguf file name",
              o.out);
  PANGU_CHECK(o.force || !std::filesystem::exists(o.out), "{}: exists (pass --force to replace it)", o.out);
  const std::string source = resolve_model_path(o.model);
  LoadOptions load;
  load.pack = false;  // the exporter reads every matrix row by row
  const auto model = Model::load(source, load);
  ThreadPool pool(resolve_threads(o.threads_option, o.threads));
  const GgufExportReport r = export_gguf(*model, source, o.out, type, pool);
  log_info("wrote {}: architecture {}, {} tensors, {}", o.out, r.architecture, r.n_tensors,
           format_bytes(static_cast<double>(r.bytes)));
  if (r.n_requantized > 0)
    log_info("re-quantized {} matrices from {} to Q8_0: relative RMS change {:.3g}, largest change {:.3g}",
             r.n_requantized, model->quant_description() ? model->quant_description()->model_quant_type : "int",
             r.requant_relative_rms, r.requant_max_abs);
}

}  // namespace

void register_export(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "write a model as a GGUF file (llama.cpp, Ollama, LM Studio)");
  opt::model(*cmd, o->model, "model directory, name or GGUF file")->required();
  opt::out(*cmd, o->out, "output .gguf file")->required();
  cmd->add_option("--type", o->type, "tensor type of the matrices: f32 | f16 | bf16 | q8_0")->capture_default_str();
  opt::force(*cmd, o->force);
  o->threads_option = opt::threads(*cmd, o->threads);
  cmd->callback([o] { run_export(*o); });
}

}  // namespace pangu::cli
