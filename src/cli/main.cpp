// pangu: one binary, one command table.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/common.h"
#include "pangu/error.h"

namespace {

struct Command {
  const char* name;
  pangu::cli::CommandRegistrar add;
};

// Names are fixed: run | chat | info | synth (and later quantize | prune | eval | bench | serve).
const Command kCommands[] = {
    {"run", pangu::cli::register_run},
    {"chat", pangu::cli::register_chat},
    {"info", pangu::cli::register_info},
    {"synth", pangu::cli::register_synth},
    {"quantize", pangu::cli::register_quantize},
    {"perplexity", pangu::cli::register_perplexity},
    {"bench", pangu::cli::register_bench},
    {"eval", pangu::cli::register_eval},
    {"prune", pangu::cli::register_prune},
    {"distill", pangu::cli::register_distill},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pangu: openPangu-Embedded (and Llama, Qwen2) inference and compression on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pangu 0.1.0");
  for (const auto& c : kCommands) c.add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const pangu::Error& e) {
    std::fprintf(stderr, "pangu: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pangu: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
