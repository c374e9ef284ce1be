// The options several subcommands share, each declared once here with its names, help text and environment
// variable, so that `-c` means --ctx and `-n` means --n-predict in every command and names cannot drift.
// A command adds what it needs from this table and declares only its own options itself.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace pangu::cli::opt {

// -m/--model (env PANGU_MODEL): a model directory or a name under $PANGU_MODELS, ./models, ../shared/models.
CLI::Option* model(CLI::App& app, std::string& value, const std::string& help = {});
// -t/--threads (env PANGU_THREADS).
CLI::Option* threads(CLI::App& app, int& value);
// -c/--ctx (env PANGU_CTX).
CLI::Option* ctx(CLI::App& app, int64_t& value);
// -n/--n-predict: new tokens; -1 means until end-of-sequence or a full context.
CLI::Option* n_predict(CLI::App& app, int64_t& value, const std::string& help = {});
// -o/--out: the output path.
CLI::Option* out(CLI::App& app, std::string& value, const std::string& help = "output model directory");
// --force: replace an existing output.
CLI::Option* force(CLI::App& app, bool& value);
// -s/--seed (env PANGU_SEED).
CLI::Option* seed(CLI::App& app, uint64_t& value, const std::string& help = "random seed");
// --json: machine-readable output.
CLI::Option* json(CLI::App& app, bool& value, const std::string& help = "JSON output");
// --chat-template NAME.
CLI::Option* chat_template(CLI::App& app, std::string& value);
// -v/--verbose.
CLI::Option* verbose(CLI::App& app, bool& value, const std::string& help = "more diagnostics on stderr");

}  // namespace pangu::cli::opt
