// pangu run: prompt in, text streamed to stdout; timings to stderr.
#include <fmt/format.h>

#include <sstream>

#include "cli/common.h"
#include "core/buffer.h"
#include "core/log.h"
#include "io/json_file.h"
#include "pangu/chat.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct RunOptions {
  ModelOptions model;
  SamplingOptions sampling;
  std::string prompt;
  std::string prompt_file;
  std::string ids;
  bool print_ids = false;
  std::string logits_out;
  bool chat = false;
  std::string chat_template;
  std::string system;
  bool no_bos = false;
  bool special = false;
  SpeculationCliOptions spec;
  StrategyCliOptions strategy;
  std::string stats_json;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument("junk");
      if (v < 0 || v > INT32_MAX) throw std::out_of_range("range");
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      fail("--ids: \"{}\" is not a token id (expected comma-separated non-negative integers)", item);
    }
  }
  PANGU_CHECK(!ids.empty(), "--ids: no token ids given");
  return ids;
}

void run(RunOptions o) {
  // Output files are checked before the model loads, so a long generation never ends in a write error.
  if (!o.logits_out.empty()) check_output_path(o.logits_out, "--logits-out");
  if (!o.stats_json.empty()) check_output_path(o.stats_json, "--stats-json");
  o.sampling.validate();
  const std::string request = o.ids.empty() && !o.prompt_file.empty() ? read_text_file(o.prompt_file, "prompt file")
                                                                      : o.prompt;
  // --strategy picks the model and the decoding method from the request, before anything loads.
  set_log_level(o.model.verbose ? LogLevel::kVerbose : LogLevel::kInfo);
  const std::optional<StrategyChoice> choice = apply_strategy(o.strategy, request, o.model, o.spec);
  PANGU_CHECK(!o.model.model.empty(), "run: give a model with -m (or --strategy with --profile)");
  Loaded l = load(o.model);
  std::vector<int32_t> prompt;
  if (!o.ids.empty()) {
    prompt = parse_ids(o.ids);
  } else {
    PANGU_CHECK(l.tokenizer, "{}: no tokenizer.json or tokenizer.model; pass token ids with --ids",
                l.model->dir());
    std::string text = request;
    bool add_special = !o.no_bos;
    if (o.chat) {
      const ChatTemplate t = resolve_chat_template(l, o.chat_template);
      std::vector<ChatMessage> messages;
      if (!o.system.empty()) messages.push_back({"system", o.system});
      messages.push_back({"user", text});
      text = render_chat(t, messages);
      if (chat_template_has_bos(t)) add_special = false;
    }
    prompt = l.tokenizer->encode(text, add_special);
  }
  for (int32_t id : prompt)
    PANGU_CHECK(id < l.model->config().vocab_size, "prompt token {} is outside the vocabulary of {}", id,
                l.model->config().vocab_size);
  log_verbose("prompt: {} tokens", prompt.size());

  Session session(*l.model, l.ctx, *l.pool, l.kv_type);
  GenerateOptions g = o.sampling.resolve(*l.model);
  g.skip_special = !o.special;
  PANGU_CHECK(l.tokenizer || o.sampling.stop.empty(), "--stop needs a tokenizer");
  SpeculationSetup spec = make_speculation(o.spec, l, g.sampling);
  g.proposer = spec.proposer.get();
  g.speculation = spec.options;

  // Without a tokenizer there is no text to show: the ids are the output.
  const bool print_ids = o.print_ids || !l.tokenizer;
  if (!o.print_ids && !l.tokenizer) log_info("{}: no tokenizer, printing token ids", l.model->dir());
  std::vector<std::vector<float>> logits_rows;
  const int64_t vocab = l.model->config().vocab_size;
  bool first_id = true;
  auto on_token = [&](int32_t id, std::string_view text, const float* logits) {
    if (logits && !o.logits_out.empty()) logits_rows.emplace_back(logits, logits + vocab);
    if (print_ids) {
      if (id >= 0) {
        fmt::print("{}{}", first_id ? "" : " ", id);
        first_id = false;
      }
    } else if (!text.empty()) {
      fmt::print("{}", text);
    }
    std::fflush(stdout);
    return true;
  };
  const GenerateResult r = generate(session, l.tokenizer.get(), prompt, g, on_token);
  fmt::print("\n");
  std::fflush(stdout);

  if (!o.logits_out.empty()) {
    std::string json = "{\"logits\": [";
    for (size_t i = 0; i < logits_rows.size(); ++i) {
      json += i ? ",\n[" : "\n[";
      for (int64_t v = 0; v < vocab; ++v) {
        if (v) json += ",";
        json += fmt::format("{}", logits_rows[i][v]);
      }
      json += "]";
    }
    json += "]}\n";
    write_text_file_atomic(o.logits_out, json);
  }
  const double n_gen = static_cast<double>(r.tokens.size());
  log_info(
      "prefill: {} tokens in {:.3f}s ({:.2f} tokens/s); decode: {} tokens in {:.3f}s ({:.2f} tokens/s); "
      "stop: {}",
      r.n_prompt, r.prefill_seconds, r.n_prompt / std::max(r.prefill_seconds, 1e-9), r.tokens.size(),
      r.decode_seconds, n_gen > 1 ? (n_gen - 1) / std::max(r.decode_seconds, 1e-9) : 0.0,
      stop_reason_name(r.stop_reason));
  const ResidentMemory mem = resident_memory();
  if (spec.proposer) log_verbose("{}", speculation_summary(r.speculation));
  if (!o.stats_json.empty()) {
    Json stats = {{"n_prompt", r.n_prompt},
                  {"n_generated", r.tokens.size()},
                  {"prefill_seconds", r.prefill_seconds},
                  {"decode_seconds", r.decode_seconds},
                  {"decode_tokens_per_second", n_gen > 1 ? (n_gen - 1) / std::max(r.decode_seconds, 1e-9) : 0.0},
                  {"stop", stop_reason_name(r.stop_reason)},
                  {"spec", o.spec.mode}};
    if (spec.proposer) stats["speculation"] = speculation_json(r.speculation);
    if (choice) stats["strategy"] = choice->to_json();
    write_text_file_atomic(o.stats_json, stats.dump(2) + "\n");
  }
  log_verbose("resident memory: {:.1f} MiB = weights and code (file-backed) {:.1f} MiB + cache and scratch {:.1f} MiB",
              mem.total / 1048576.0, mem.file / 1048576.0, mem.anon / 1048576.0);
}

}  // namespace

void register_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "generate text from a prompt (stdout: only the generated text)");
  o->model.add_to(*cmd);
  o->sampling.add_to(*cmd);
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "prompt text");
  auto* f = cmd->add_option("-f,--file", o->prompt_file, "read the prompt from a file");
  auto* ids =
      cmd->add_option("--ids", o->ids, "prompt as comma-separated token ids, used as given (no BOS added)");
  p->excludes(f)->excludes(ids);
  f->excludes(ids);
  cmd->add_flag("--print-ids", o->print_ids, "print generated token ids (space-separated) instead of text");
  cmd->add_option("--logits-out", o->logits_out,
                  "write {\"logits\": [[...], ...]} for every generated position");
  cmd->add_flag("--chat", o->chat, "wrap the prompt in the model's chat template");
  opt::chat_template(*cmd, o->chat_template);
  cmd->add_option("--system", o->system, "system message for --chat");
  cmd->add_flag("--no-bos", o->no_bos, "do not add BOS to the prompt");
  cmd->add_flag("--special", o->special, "print special tokens");
  o->spec.add_to(*cmd);
  o->strategy.add_to(*cmd);
  // With --strategy the profile names the model; -m then only narrows the choice to that variant.
  cmd->get_option("--model")->required(false);
  cmd->add_option("--stats-json", o->stats_json,
                  "write timings, speculation statistics and the chosen strategy to this JSON file");
  cmd->callback([o, p, f, ids] {
    PANGU_CHECK(p->count() || f->count() || ids->count(),
                "run: give a prompt with -p TEXT, -f FILE or --ids 1,2,3");
    run(*o);
  });
}

}  // namespace pangu::cli
