// Options shared by several subcommands, each declared once with its help text, default and environment
// variable, and the helpers that turn them into a loaded model.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.h"
#include "adapt/strategy_choice.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "pangu/chat.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include <nlohmann/json.hpp>
#include "pangu/tokenizer.h"

namespace pangu::cli {

struct ModelOptions {
  std::string model;
  int threads = 0;  // unset: the cores, or 1 for a model too small to gain from more
  int64_t ctx = 0;  // unset: min(max_position_embeddings, 4096)
  bool verbose = false;
  bool int8_head = false;
  std::string kv_type = "f32";  // f32 | bf16
  CLI::Option* threads_option = nullptr;
  CLI::Option* ctx_option = nullptr;
  void add_to(CLI::App& app);
};

// The thread count for -t as the user gave it (an error below 1 or above kMaxThreads, a warning above the
// cores), or the default for a model of `macs_per_token` multiply-adds when -t was not given.
constexpr int kMaxThreads = 512;
int resolve_threads(const CLI::Option* option, int requested, double macs_per_token = -1);

struct SamplingOptions {
  int64_t n_predict = 128;  // -1: until EOS or the context is full
  bool greedy = false;
  float temperature = 0.8f;
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;
  std::vector<std::string> logit_bias;  // "ID=BIAS"
  std::vector<std::string> stop;
  bool ignore_eos = false;
  CLI::Option* temperature_option = nullptr;
  CLI::Option* top_k_option = nullptr;
  CLI::Option* top_p_option = nullptr;
  CLI::Option* repeat_penalty_option = nullptr;
  void add_to(CLI::App& app);
  // Refuses values out of range, naming the flag as the user typed it.
  void validate() const;
  SamplingParams typed() const;  // the values as given (before generation_config.json's defaults)
  // Applies generation_config.json (suppress_tokens, EOS, defaults) under what the user set.
  GenerateOptions resolve(const Model& model) const;
};

// --spec and its settings (run, chat, bench spec).
struct SpeculationCliOptions {
  std::string mode = "none";  // none | pld | draft
  std::string draft;          // draft model for --spec draft
  int k = 4;
  int k_min = 1;
  int k_max = 8;
  int n = 3;
  int n_min = 1;
  bool adaptive = false;
  float p_min = 0.0f;  // draft: stop drafting after a token below this probability (0: always k)
  void add_to(CLI::App& app);
};

// --strategy and --profile (src/cli/strategy_options.cpp).
struct StrategyCliOptions {
  std::string strategy;  // empty: -m and --spec as given; auto; or VARIANT/METHOD
  std::string profile;
  double max_quality_drop = 1.0;
  std::string memory_budget;
  std::string objective = "speed";
  void add_to(CLI::App& app);
};

// The policy's bounds from --max-quality-drop, --memory-budget and --objective, checked.
PolicyOptions policy_options(double max_quality_drop, const std::string& memory_budget, const std::string& objective);

// Classifies the request, picks the strategy and points `model` and `spec` at it; nullopt when --strategy was
// not given. With -m, only that variant's rows are considered.
std::optional<StrategyChoice> apply_strategy(const StrategyCliOptions& strategy, std::string_view request,
                                             ModelOptions& model, SpeculationCliOptions& spec);

struct Loaded;

// The proposer --spec selects (null for none), with the draft model it needs kept alive beside it.
// `fresh()` makes another proposer of the same kind with no state (one per request), sharing the draft.
struct SpeculationSetup {
  std::unique_ptr<Model> draft_model;
  std::function<std::unique_ptr<Proposer>()> fresh;
  std::unique_ptr<Proposer> proposer;
  SpeculationOptions options;
};
SpeculationSetup make_speculation(const SpeculationCliOptions& cli, const Loaded& target,
                                  const SamplingParams& sampling);
// Peer-style statistics: proposed, accepted, rate, mean accepted length, histogram; as text or JSON.
std::string speculation_summary(const SpeculationStats& stats);
nlohmann::json speculation_json(const SpeculationStats& stats);

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the directory has no tokenizer files
  std::unique_ptr<ThreadPool> pool;
  int64_t ctx = 0;
  KvType kv_type = KvType::kF32;
};

Loaded load(const ModelOptions& options);
// The template a name selects (pangu|chatml|llama2|raw), or the model's own when name is empty.
ChatTemplate resolve_chat_template(const Loaded& loaded, const std::string& name);

// The evaluation data (gsm8k/, mbpp/, mmlu/, ceval/): --data as given, else $PANGU_DATA, ../shared/data, ./data.
std::string resolve_data_dir(const std::string& given);

using CommandRegistrar = void (*)(CLI::App& app);
void register_run(CLI::App& app);
void register_chat(CLI::App& app);
void register_info(CLI::App& app);
void register_synth(CLI::App& app);
void register_quantize(CLI::App& app);
void register_perplexity(CLI::App& app);
void register_bench(CLI::App& app);
void register_eval(CLI::App& app);
void register_prune(CLI::App& app);
void register_distill(CLI::App& app);
void register_adapt(CLI::App& app);
void register_adapt_recommend(CLI::App& adapt);
void register_adapt_profile(CLI::App& adapt);
void register_adapt_workload(CLI::App& adapt);
void register_serve(CLI::App& app);
void register_export(CLI::App& app);
void register_bench_spec(CLI::App& bench);
void register_bench_train(CLI::App& bench);

}  // namespace pangu::cli
