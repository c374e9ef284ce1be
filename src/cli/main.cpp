// pangu: one binary, one command table.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/common.h"
#include "pangu/error.h"

namespace {

struct Command {
  const char* name;
  pangu::cli::CommandRegistrar add;
};

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
    {"adapt", pangu::cli::register_adapt},
    {"serve", pangu::cli::register_serve},
    {"export", pangu::cli::register_export},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pangu: openPangu-Embedded (and Llama, Qwen2) inference and compression on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pangu 0.1.0");
  for (const auto& c : kCommands) c.add(app);
  // CLI11 answers an unknown word with "A subcommand is required", which hides the typo.
  if (argc >= 2 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto& c : kCommands) {
      known = known || std::strcmp(argv[1], c.name) == 0;
      names += std::string(names.empty() ? "" : ", ") + c.name;
    }
    if (!known) {
      std::fprintf(stderr, "pangu: error: unknown command \"%s\"; the commands are %s (pangu --help)\n", argv[1],
                   names.c_str());
      return 1;
    }
  }
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
