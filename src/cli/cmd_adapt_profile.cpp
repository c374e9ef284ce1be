// pangu adapt profile: measure a strategy profile (src/adapt/profile_measure.h) and write it atomically; the
// per-category table goes to stdout. pangu adapt workload: run a mixed workload with --strategy auto and with
// fixed strategies (src/adapt/workload.h). docs/adapt.md, "Measuring a profile" and "Evaluating".
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "adapt/profile_measure.h"
#include "adapt/workload.h"
#include "cli/common.h"
#include "core/log.h"
#include "io/json_file.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct ProfileOptions {
  std::vector<std::string> variants;  // NAME=DIR
  std::vector<std::string> drafts;    // NAME=DIR
  std::vector<std::string> methods;
  std::string prompts;
  int64_t per_category = 8;
  std::string out;
  bool resume = false;
  ProfileSettings settings;
  int threads = 0;
  CLI::Option* threads_option = nullptr;
  std::string data;
  bool verbose = false;
};

std::vector<std::pair<std::string, std::string>> named_dirs(const std::vector<std::string>& items, const char* flag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : items) {
    const size_t eq = item.find('=');
    PANGU_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < item.size(),
                "{} \"{}\": expected NAME=DIR (e.g. base=models/pangu-1b)", flag, item);
    out.emplace_back(item.substr(0, eq), resolve_model_path(item.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> default_methods(const std::vector<std::pair<std::string, std::string>>& drafts) {
  std::vector<std::string> m = {"plain", "pld:3:4", "pld:3:4+adaptive"};
  for (const auto& [name, dir] : drafts) {
    m.push_back("draft:" + name + ":4");
    m.push_back("draft:" + name + ":4+adaptive");
  }
  return m;
}

void print_table(const StrategyProfile& p) {
  auto print_category = [&](const std::string& name, const CategoryProfile& c) {
    fmt::print("\n{}\n", name);
    for (const auto& q : c.quality)
      fmt::print("  quality {:<10} {:<18} {:>7.2f}  drop {:>6.2f} [{:.2f}, {:.2f}]  n={}\n", q.variant, q.metric, q.value,
                 q.drop, q.drop_ci.low, q.drop_ci.high, q.n);
    for (const auto& s : c.speed)
      fmt::print("  speed   {:<10} {:<26} {:>8.2f} tok/s [{:.2f}, {:.2f}]  ttft {:>7.1f} ms  accept {:>5.1f}%  n={}\n",
                 s.variant, s.method, s.decode_tps, s.decode_tps_ci.low, s.decode_tps_ci.high, s.ttft_ms,
                 100 * s.acceptance, s.n);
  };
  fmt::print("variants:");
  for (const auto& [name, v] : p.variants) fmt::print(" {} {}", name, format_bytes(static_cast<double>(v.resident_bytes)));
  for (const auto& [name, v] : p.drafts) fmt::print("; draft {} {}", name, format_bytes(static_cast<double>(v.resident_bytes)));
  fmt::print("; {} threads\n", p.threads);
  for (int i = 0; i < kIntentCount; ++i)
    if (p.categories[i]) print_category(std::string(intent_name(static_cast<Intent>(i))), *p.categories[i]);
  print_category("overall (uncertain requests)", p.overall);
}

void profile_command(ProfileOptions& o) {
  set_log_level(o.verbose ? LogLevel::kVerbose : LogLevel::kInfo);
  check_output_path(o.out, "--out");
  ProfileSettings& s = o.settings;
  s.variants = named_dirs(o.variants, "--variants");
  s.drafts = named_dirs(o.drafts, "--draft");
  s.methods = o.methods.empty() ? default_methods(s.drafts) : o.methods;
  s.requests = read_labeled_requests(o.prompts, o.per_category);
  s.threads = o.threads_option && o.threads_option->count() ? resolve_threads(o.threads_option, o.threads) : 0;
  if (s.scored_per_category > 0) {
    // Found now when it is there; the profiler names what is missing only if a scored category needs it.
    try {
      s.data_dir = resolve_data_dir(o.data);
    } catch (const Error&) {
      if (!o.data.empty()) throw;
    }
  }
  const StrategyProfile p = measure_profile(s, o.out + ".journal.jsonl", o.resume);
  const std::string text = p.to_json();
  StrategyProfile::from_json(text, o.out);  // what is written must read back
  write_text_file_atomic(o.out, text);
  print_table(p);
  log_info("wrote {} ({} requests; the measurements are in {}.journal.jsonl)", o.out, s.requests.size(), o.out);
}

struct WorkloadOptions {
  std::string profile;
  std::string requests;
  int64_t count = 200;
  std::vector<std::string> strategies;
  WorkloadSettings settings;
  double max_quality_drop = 1.0;
  std::string memory_budget;
  std::string objective = "speed";
  int threads = 0;
  CLI::Option* threads_option = nullptr;
  std::string out;
  bool verbose = false;
};

void workload_command(WorkloadOptions& o) {
  set_log_level(o.verbose ? LogLevel::kVerbose : LogLevel::kInfo);
  if (!o.out.empty()) check_output_path(o.out, "--out");
  const StrategyProfile profile = StrategyProfile::load(o.profile);
  o.settings.policy = policy_options(o.max_quality_drop, o.memory_budget, o.objective);
  PANGU_CHECK(o.count >= kIntentCount, "--count {}: expected at least {} (one request per category)", o.count,
              kIntentCount);
  const auto requests = interleave_categories(read_labeled_requests(o.requests, (o.count + kIntentCount - 1) / kIntentCount));
  std::vector<std::string> strategies = o.strategies;
  if (strategies.empty()) {  // auto and every (variant, method) the profile measured
    strategies.push_back("auto");
    for (const auto& row : profile.overall.speed) strategies.push_back(row.variant + "/" + row.method);
  }
  const bool threads_given = o.threads_option && o.threads_option->count() > 0;
  ThreadPool pool(threads_given || profile.threads <= 0 ? resolve_threads(o.threads_option, o.threads) : profile.threads);
  const Json result = run_workload(profile, requests, strategies, o.settings, pool);
  fmt::print("{}", workload_table(result));
  if (!o.out.empty()) {
    write_text_file_atomic(o.out, result.dump(2) + "\n");
    log_info("wrote {}", o.out);
  }
}

}  // namespace

void register_adapt_workload(CLI::App& adapt) {
  auto o = std::make_shared<WorkloadOptions>();
  CLI::App* cmd = adapt.add_subcommand(
      "workload", "run a mixed workload with --strategy auto and with fixed strategies: speed and quality per category");
  cmd->add_option("--profile", o->profile, "the strategy profile (docs/formats.md)")->required();
  cmd->add_option("--requests", o->requests, "requests as JSONL {\"text\", \"label\"} (e.g. build/intent/test.jsonl)")
      ->required();
  cmd->add_option("--count", o->count, "requests in the workload, spread evenly over the categories")
      ->capture_default_str();
  cmd->add_option("--strategies", o->strategies,
                  "auto and VARIANT/METHOD, comma-separated (default: auto and every row the profile measured)")
      ->delimiter(',');
  cmd->add_option("--max-tokens", o->settings.max_tokens, "tokens generated per request (greedy)")->capture_default_str();
  cmd->add_option("--max-prompt-tokens", o->settings.max_prompt_tokens, "a longer request keeps its last tokens")
      ->capture_default_str();
  cmd->add_flag("--raw", o->settings.raw_prompts,
                "requests as text to continue (as pangu run -p), not in the variants' chat template");
  cmd->add_option("--max-quality-drop", o->max_quality_drop, "auto: largest quality drop against base, in points")
      ->capture_default_str();
  cmd->add_option("--memory-budget", o->memory_budget, "auto: variants (and drafts) must fit this, e.g. 2GiB");
  cmd->add_option("--objective", o->objective, "auto: speed | quality | memory")->capture_default_str();
  opt::ctx(*cmd, o->settings.ctx);
  o->threads_option = opt::threads(*cmd, o->threads);
  cmd->add_option("-o,--out", o->out, "write the results as JSON here");
  opt::verbose(*cmd, o->verbose);
  cmd->callback([o] { workload_command(*o); });
}

void register_adapt_profile(CLI::App& adapt) {
  auto o = std::make_shared<ProfileOptions>();
  CLI::App* cmd = adapt.add_subcommand(
      "profile", "measure a strategy profile: per category, quality of each variant against base and speed of each method");
  cmd->add_option("--variants", o->variants, "model variants as NAME=DIR, comma-separated; one named base")
      ->delimiter(',')
      ->required();
  cmd->add_option("--draft", o->drafts, "a draft model for draft:NAME:K methods, as NAME=DIR (repeatable)");
  cmd->add_option("--methods", o->methods,
                  "decoding methods, comma-separated, plain first (default: plain,pld:3:4,pld:3:4+adaptive and "
                  "draft:NAME:4, draft:NAME:4+adaptive for each --draft)")
      ->delimiter(',');
  cmd->add_option("--prompts", o->prompts,
                  "requests as JSONL {\"text\", \"label\"} (label: a category), e.g. the intent corpus's test split "
                  "(scripts/intent_corpus.py writes build/intent/test.jsonl)")
      ->required();
  cmd->add_option("--per-category", o->per_category, "requests per category")->capture_default_str();
  cmd->add_option("--max-tokens", o->settings.max_tokens, "tokens generated per request (greedy)")->capture_default_str();
  cmd->add_option("--max-prompt-tokens", o->settings.max_prompt_tokens, "a longer request keeps its last tokens")
      ->capture_default_str();
  cmd->add_flag("--raw", o->settings.raw_prompts,
                "requests as text to continue (as pangu run -p), not in the variants' chat template");
  cmd->add_option("--scored-per-category", o->settings.scored_per_category,
                  "math, code, exam: samples of GSM8K, MBPP, MMLU scored through the eval harness (0: score them by "
                  "fidelity to base like the others)")
      ->capture_default_str();
  cmd->add_option("--shots", o->settings.shots, "few-shot examples for the scored tasks (default: each task's own)");
  cmd->add_option("--task-max-tokens", o->settings.task_max_tokens, "token limit of a scored task's answer")
      ->capture_default_str();
  cmd->add_option("--data", o->data, "evaluation data (default: $PANGU_DATA, ../shared/data, ./data)");
  opt::ctx(*cmd, o->settings.ctx);
  o->threads_option = opt::threads(*cmd, o->threads);
  cmd->add_option("-o,--out", o->out, "the profile (JSON); the journal of measurements beside it, OUT.journal.jsonl")
      ->required();
  cmd->add_flag("--resume", o->resume, "go on from the journal of an interrupted run with the same options");
  opt::verbose(*cmd, o->verbose);
  cmd->callback([o] { profile_command(*o); });
}

}  // namespace pangu::cli
