#include "cli/options.h"

namespace pangu::cli::opt {

CLI::Option* model(CLI::App& app, std::string& value, const std::string& help) {
  return app
      .add_option("-m,--model", value,
                  help.empty() ? "model directory, or a name under $PANGU_MODELS, ./models, ../shared/models" : help)
      ->envname("PANGU_MODEL");
}

CLI::Option* threads(CLI::App& app, int& value) {
  return app
      .add_option("-t,--threads", value,
                  "worker threads (default: the cores, or 1 for models too small to gain from more)")
      ->envname("PANGU_THREADS");
}

CLI::Option* ctx(CLI::App& app, int64_t& value) {
  return app
      .add_option("-c,--ctx,--ctx-size", value, "context size in tokens (default: min(max_position_embeddings, 4096))")
      ->envname("PANGU_CTX");
}

CLI::Option* n_predict(CLI::App& app, int64_t& value, const std::string& help) {
  return app
      .add_option("-n,--n-predict", value,
                  help.empty() ? "maximum new tokens; -1: until end-of-sequence or the context is full" : help)
      ->capture_default_str();
}

CLI::Option* out(CLI::App& app, std::string& value, const std::string& help) {
  return app.add_option("-o,--out", value, help);
}

CLI::Option* force(CLI::App& app, bool& value) {
  return app.add_flag("--force", value, "replace an existing output");
}

CLI::Option* seed(CLI::App& app, uint64_t& value, const std::string& help) {
  return app.add_option("-s,--seed", value, help)->envname("PANGU_SEED");
}

CLI::Option* json(CLI::App& app, bool& value, const std::string& help) { return app.add_flag("--json", value, help); }

CLI::Option* chat_template(CLI::App& app, std::string& value) {
  return app.add_option("--chat-template", value, "pangu | chatml | llama2 | raw (default: from the model)");
}

CLI::Option* verbose(CLI::App& app, bool& value, const std::string& help) {
  return app.add_flag("-v,--verbose", value, help);
}

}  // namespace pangu::cli::opt
