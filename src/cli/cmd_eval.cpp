// pangu eval: benchmarks by name (gsm8k, mbpp, mmlu, ceval), per-sample results that survive an interrupted
// run, a summary table, and --compare for two result sets.
#include <fmt/format.h>

#include <filesystem>

#include "cli/common.h"
#include "core/log.h"
#include "eval/results.h"
#include "eval/runner.h"
#include "eval/tasks.h"
#include "io/json_file.h"
#include "pangu/error.h"
#include "quant/description.h"

namespace pangu::cli {

namespace {

struct EvalOptions {
  ModelOptions model;
  std::vector<std::string> tasks;
  int64_t limit = 0;
  int shots = -1;
  std::vector<std::string> subjects;
  std::string out;
  std::string data;
  int64_t max_tokens = 0;
  std::string chat = "auto";
  std::string chat_template;
  bool fresh = false;
  bool per_subject = false;
  double timeout = 10.0;
  int64_t sandbox_memory_mib = 1024;
  SpeculationCliOptions spec;
  std::vector<std::string> compare;
};

// What makes two runs' samples comparable: a resumed run must match what the directory holds.
Json run_identity(const Loaded& l, const EvalTask& task, const EvalSettings& s, const EvalOptions& o) {
  const QuantDescription* quant = l.model->quant_description();
  return {{"task", task.name()},
          {"model", std::filesystem::absolute(l.model->dir()).lexically_normal().string()},
          {"weights", quant ? fmt::format("{} group {}", quant->model_quant_type, quant->group_size)
                         : std::string("float")},
          {"int8_head", o.model.int8_head},
          {"shots", s.shots},
          {"chat", s.chat ? chat_template_name(s.chat_template) : std::string("off")},
          {"max_new_tokens", task.kind() == TaskKind::kGenerate ? Json(s.max_new_tokens) : Json(nullptr)},
          {"decoding", "greedy"},
          {"format", task.describe_format()}};
}

void check_resumable(const std::string& path, const Json& identity) {
  const Json previous = read_json_file(path);
  for (const auto& [key, value] : identity.items()) {
    const Json before = previous.value(key, Json(nullptr));
    PANGU_CHECK(before == value,
                "{}: this directory holds a run with {} = {}, and this run has {} = {}; use another --out, or "
                "--fresh to discard it",
                path, key, before.dump(), key, value.dump());
  }
}

void run_task(const EvalOptions& o, const Loaded& l, Evaluator& evaluator, const std::string& data_dir,
              const std::string& out_dir, const std::string& task_name) {
  std::unique_ptr<EvalTask> task = make_task(task_name);
  TaskSelection selection{o.limit, o.subjects};
  PANGU_CHECK(o.subjects.empty() || task->kind() == TaskKind::kChoice,
              "--subjects applies to mmlu and ceval, not {}", task_name);
  const std::vector<EvalSample> samples = task->load(data_dir, selection);

  EvalSettings settings;
  settings.shots = o.shots >= 0 ? o.shots : task->default_shots();
  const ChatTemplate t = resolve_chat_template(l, o.chat_template);
  settings.chat = o.chat == "on" || (o.chat == "auto" && t != ChatTemplate::kRaw);
  settings.chat_template = t;
  PANGU_CHECK(o.max_tokens >= 0, "-n/--n-predict {}: expected a number of new tokens per answer", o.max_tokens);
  settings.max_new_tokens = o.max_tokens > 0 ? o.max_tokens : task->default_max_tokens();
  if (task->kind() == TaskKind::kGenerate && settings.max_new_tokens > l.ctx / 2) {
    log_info("{}: {} new tokens leave too little of a {}-token context for the prompt; using {}", task_name,
             settings.max_new_tokens, l.ctx, l.ctx / 2);
    settings.max_new_tokens = l.ctx / 2;
  }
  settings.sandbox.wall_seconds = o.timeout;
  settings.sandbox.memory_bytes = o.sandbox_memory_mib << 20;

  const Json identity = run_identity(l, *task, settings, o);
  const std::string run_path = out_dir + "/" + task_name + ".run.json";
  const std::string samples_path = out_dir + "/" + task_name + ".jsonl";
  if (o.fresh) {
    std::filesystem::remove(samples_path);
    std::filesystem::remove(run_path);
  }
  if (std::filesystem::exists(run_path))
    check_resumable(run_path, identity);
  else
    write_text_file_atomic(run_path, identity.dump(2) + "\n");

  SampleLog log(samples_path);
  size_t done = 0;
  for (const auto& s : samples) done += log.find(s.id) != nullptr;
  log_info("{}: {} samples{}; shots {}; {}; results in {}", task_name, samples.size(),
           done ? fmt::format(", {} already done (resuming)", done) : "", settings.shots,
           settings.chat ? "chat template " + chat_template_name(settings.chat_template) : "plain prompt",
           samples_path);
  {
    Progress progress(task_name, samples.size() - done);
    for (const auto& sample : samples) {
      if (log.find(sample.id)) continue;
      Json record = evaluator.evaluate(*task, sample, settings);
      log_verbose("{} {}: {} (expected {})", task_name, sample.id, record.value("extracted", Json()).dump(),
                  sample.reference);
      log.append(std::move(record));
      progress.advance();
    }
    progress.finish();
  }

  std::vector<Json> records;
  for (const auto& s : samples) records.push_back(*log.find(s.id));
  Json summary = summarize_task(*task, records);
  summary["run"] = identity;
  summary["limit"] = o.limit;
  if (!o.subjects.empty()) summary["subjects_selected"] = o.subjects;
  write_text_file_atomic(out_dir + "/" + task_name + ".summary.json", summary.dump(2) + "\n");
  const auto prompt_tokens = summary["prompt_tokens"].get<int64_t>();
  log_info("{}: {} samples, {:.1f}s of model time; {} prompt tokens ({:.0f}% reused from the previous prompt's "
           "cache), {} generated",
           task_name, records.size(), summary["seconds"].get<double>(), prompt_tokens,
           prompt_tokens ? 100.0 * summary["reused_prompt_tokens"].get<double>() / prompt_tokens : 0.0,
           summary["output_tokens"].get<int64_t>());
  fmt::print("{}\n", summary_table(summary, o.per_subject));
  std::fflush(stdout);
}

void run_eval(const EvalOptions& o) {
  if (!o.compare.empty()) {
    PANGU_CHECK(o.compare.size() == 2, "--compare takes two result directories, got {}", o.compare.size());
    fmt::print("{}", compare_runs(o.compare[0], o.compare[1]));
    return;
  }
  PANGU_CHECK(!o.model.model.empty(), "eval: give a model with -m (or --compare RUN_A RUN_B)");
  PANGU_CHECK(!o.tasks.empty(), "eval: give --task (one or more of gsm8k, mbpp, mmlu, ceval)");
  for (const auto& name : o.tasks) make_task(name);  // an unknown name fails before the model loads
  PANGU_CHECK(o.chat == "auto" || o.chat == "on" || o.chat == "off", "--chat \"{}\": expected auto, on or off",
              o.chat);
  PANGU_CHECK(o.timeout > 0 && o.sandbox_memory_mib >= 64, "--timeout must be positive and --sandbox-memory at least 64");
  const std::string data_dir = resolve_data_dir(o.data);

  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: eval needs a tokenizer (tokenizer.json or tokenizer.model)", l.model->dir());
  GenerateOptions generation;
  generation.eos_token_ids = l.model->eos_token_ids();
  const auto& suppress = l.model->generation_config().suppress_tokens;
  generation.sampling.suppress_tokens.assign(suppress.begin(), suppress.end());
  SpeculationSetup spec = make_speculation(o.spec, l, generation.sampling);
  Evaluator evaluator(*l.model, *l.tokenizer, *l.pool, l.ctx, generation, spec.fresh);

  const std::string out_dir =
      o.out.empty() ? "eval-results/" + std::filesystem::path(l.model->dir()).lexically_normal().filename().string()
                    : o.out;
  std::filesystem::create_directories(out_dir);
  for (const auto& name : o.tasks) run_task(o, l, evaluator, data_dir, out_dir, name);
}

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "run GSM8K, MBPP, MMLU or C-Eval; compare two result sets");
  o->model.add_to(*cmd);
  cmd->get_option("--model")->required(false);
  cmd->add_option("--task", o->tasks, "gsm8k | mbpp | mmlu | ceval (repeatable or comma-separated)")
      ->delimiter(',');
  cmd->add_option("--limit", o->limit, "samples per task (MMLU/C-Eval: per subject); 0 = all")->capture_default_str();
  cmd->add_option("--shots", o->shots, "few-shot examples (default: gsm8k 8, mbpp 3, mmlu/ceval 5)");
  cmd->add_option("--subjects", o->subjects, "MMLU/C-Eval subjects to run (file names, comma-separated)")
      ->delimiter(',');
  cmd->add_option("--out", o->out, "results directory (default: eval-results/<model>); an existing run resumes");
  cmd->add_option("--data", o->data, "evaluation data (default: $PANGU_DATA, ../shared/data, ./data)");
  // -n/--n-predict as in run and chat; --max-tokens (the OpenAI name) stays as an alias.
  opt::n_predict(*cmd, o->max_tokens, "new tokens per answer (default: gsm8k 256, mbpp 512)");
  cmd->add_option("--max-tokens", o->max_tokens, "same as --n-predict")->group("");
  cmd->add_option("--chat", o->chat, "lay prompts out as chat turns: auto (when the model has a template) | on | off")
      ->capture_default_str();
  cmd->add_option("--chat-template", o->chat_template, "pangu | chatml | llama2 | raw (default: from the model)");
  cmd->add_flag("--fresh", o->fresh, "discard the results already in --out for these tasks");
  cmd->add_flag("--per-subject", o->per_subject, "print every subject's accuracy, not just the categories");
  cmd->add_option("--timeout", o->timeout, "MBPP: seconds each program may run")->capture_default_str();
  cmd->add_option("--sandbox-memory", o->sandbox_memory_mib, "MBPP: address space per program, MiB")
      ->capture_default_str();
  o->spec.add_to(*cmd);
  cmd->add_option("--compare", o->compare, "RUN_A RUN_B: compare two results directories per task and subject")
      ->expected(2);
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace pangu::cli
