// pangu bench: benchmarks that print numbers (docs/benchmarks.md quotes them with their commands).
#include "cli/common.h"

namespace pangu::cli {

void register_bench(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "benchmarks: spec (speculative decoding), verify (batch cost)");
  bench->require_subcommand(1);
  register_bench_spec(*bench);
}

}  // namespace pangu::cli
