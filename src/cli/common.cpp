#include "cli/common.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/log.h"
#include "kernels/kernels.h"
#include "pangu/error.h"

namespace pangu::cli {

void ModelOptions::add_to(CLI::App& app) {
  opt::model(app, model)->required();
  threads_option = opt::threads(app, threads);
  ctx_option = opt::ctx(app, ctx);
  opt::verbose(app, verbose);
  app.add_flag("--int8-head", int8_head,
               "quantize a float output head to int8 at load (a tied head of a W8A16 model reads half the bytes)");
  app.add_option("--kv-type", kv_type, "KV cache element type: f32 | bf16 (half the memory; docs/benchmarks.md)")
      ->capture_default_str();
}

void SamplingOptions::add_to(CLI::App& app) {
  opt::n_predict(app, n_predict);
  app.add_flag("--greedy", greedy, "greedy decoding (same as --temp 0)");
  temperature_option = app.add_option("--temp", temperature,
                                      "temperature; 0 is greedy (default: generation_config.json, else 0.8)")
                           ->capture_default_str();
  top_k_option = app.add_option("--top-k", top_k, "keep the k most likely tokens; 0 disables")->capture_default_str();
  top_p_option = app.add_option("--top-p", top_p, "nucleus sampling threshold; 1 disables")->capture_default_str();
  app.add_option("--min-p", min_p, "drop tokens below min_p times the top probability; 0 disables")
      ->capture_default_str();
  repeat_penalty_option = app.add_option("--repeat-penalty", repeat_penalty, "repetition penalty (1 disables)")
      ->capture_default_str();
  app.add_option("--repeat-last-n", repeat_last_n, "tokens the penalties look back over; -1 all")
      ->capture_default_str();
  app.add_option("--presence-penalty", presence_penalty, "OpenAI presence penalty")->capture_default_str();
  app.add_option("--frequency-penalty", frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
  seed_option = opt::seed(app, seed, "random seed (default: from the clock)");
  app.add_option("--logit-bias", logit_bias, "ID=BIAS added to a token's logit (repeatable)");
  app.add_option("--stop", stop, "stop when this text appears (repeatable)");
  app.add_flag("--ignore-eos", ignore_eos, "keep generating past end-of-sequence");
}

SamplingParams SamplingOptions::typed() const {
  SamplingParams p;
  p.greedy = greedy;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.repetition_penalty = repeat_penalty;
  p.penalty_last_n = repeat_last_n;
  p.presence_penalty = presence_penalty;
  p.frequency_penalty = frequency_penalty;
  return p;
}

void SamplingOptions::validate() const {
  PANGU_CHECK(n_predict >= -1, "-n/--n-predict {}: expected -1 (until end-of-sequence or a full context) or a count >= 0",
              n_predict);
  SamplingFieldNames flags;
  flags.temperature = "--temp";
  flags.top_k = "--top-k";
  flags.top_p = "--top-p";
  flags.min_p = "--min-p";
  flags.repetition_penalty = "--repeat-penalty";
  flags.penalty_last_n = "--repeat-last-n";
  flags.presence_penalty = "--presence-penalty";
  flags.frequency_penalty = "--frequency-penalty";
  validate_sampling(typed(), flags);
}

GenerateOptions SamplingOptions::resolve(const Model& model) const {
  validate();
  auto given = [](const CLI::Option* option) { return option && option->count() > 0; };
  GenerateOptions g;
  g.max_new_tokens = n_predict;
  // generation_config.json holds the model's own defaults; what the user typed wins. A temperature asked for
  // turns sampling on even where do_sample is false.
  g.sampling = sampling_defaults(model.generation_config());
  const SamplingParams typed_params = typed();
  if (given(temperature_option)) {
    g.sampling.temperature = typed_params.temperature;
    g.sampling.greedy = false;
  }
  g.sampling.greedy = g.sampling.greedy || greedy;
  if (given(top_k_option)) g.sampling.top_k = top_k;
  if (given(top_p_option)) g.sampling.top_p = top_p;
  if (given(repeat_penalty_option)) g.sampling.repetition_penalty = repeat_penalty;
  g.sampling.min_p = min_p;
  g.sampling.penalty_last_n = repeat_last_n;
  g.sampling.presence_penalty = presence_penalty;
  g.sampling.frequency_penalty = frequency_penalty;
  g.sampling.seed = seed_option && seed_option->count() > 0
                        ? seed
                        : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  for (const auto& item : logit_bias) {
    const size_t eq = item.find('=');
    try {
      if (eq == std::string::npos) throw std::invalid_argument("no =");
      g.sampling.logit_bias.emplace_back(std::stoi(item.substr(0, eq)), std::stof(item.substr(eq + 1)));
    } catch (const std::exception&) {
      fail("--logit-bias \"{}\": expected ID=BIAS, e.g. 42=-5", item);
    }
  }
  g.eos_token_ids = model.eos_token_ids();
  g.stop_strings = stop;
  g.ignore_eos = ignore_eos;
  return g;
}

int resolve_threads(const CLI::Option* option, int requested, double macs_per_token) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (option && option->count() > 0) {
    PANGU_CHECK(requested >= 1 && requested <= kMaxThreads, "-t/--threads {}: expected 1 to {} threads",
                requested, kMaxThreads);
    if (requested > cores)
      log_info("warning: -t/--threads {} is more than the {} cores of this machine; each parallel step then "
               "waits for threads that have no core to run on",
               requested, cores);
    return requested;
  }
  return default_thread_count(macs_per_token);
}

Loaded load(const ModelOptions& options) {
  set_log_level(options.verbose ? LogLevel::kVerbose : LogLevel::kInfo);
  Loaded l;
  const std::string dir = resolve_model_path(options.model);
  const auto t0 = std::chrono::steady_clock::now();
  LoadOptions load_options;
  load_options.int8_head = options.int8_head;
  l.model = Model::load(dir, load_options);
  PANGU_CHECK(options.kv_type == "f32" || options.kv_type == "bf16", "--kv-type {}: expected f32 or bf16",
              options.kv_type);
  l.kv_type = options.kv_type == "bf16" ? KvType::kBF16 : KvType::kF32;
  l.tokenizer = load_tokenizer(dir);
  check_tokenizer_fits(*l.model, l.tokenizer.get());
  const int threads =
      resolve_threads(options.threads_option, options.threads, matmul_macs_per_token(l.model->config()));
  l.pool = std::make_unique<ThreadPool>(threads);
  const int64_t max_pos = l.model->config().max_position_embeddings;
  if (options.ctx_option && options.ctx_option->count() > 0) {
    PANGU_CHECK(options.ctx >= 1, "-c/--ctx {}: expected a context of at least 1 token", options.ctx);
    PANGU_CHECK(max_pos <= 0 || options.ctx <= max_pos,
                "-c/--ctx {}: {} supports at most {} positions (max_position_embeddings in config.json)",
                options.ctx, dir, max_pos);
    l.ctx = options.ctx;
  } else {
    l.ctx = std::min<int64_t>(max_pos > 0 ? max_pos : 4096, 4096);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log_verbose("loaded {} ({}) in {:.2f}s; {} threads; context {}; kernels {}", dir,
              l.model->config().architecture, seconds, threads, l.ctx, simd_name(active_simd()));
  return l;
}

void SpeculationCliOptions::add_to(CLI::App& app) {
  app.add_option("--spec", mode, "speculative decoding: none | pld (prompt lookup) | draft (needs --draft)")
      ->capture_default_str();
  app.add_option("--draft", draft, "draft model for --spec draft (same tokenizer as the target)");
  app.add_option("--spec-k", k, "tokens proposed per step (the start value with --spec-adaptive)")
      ->capture_default_str();
  app.add_option("--spec-k-min", k_min, "smallest K with --spec-adaptive")->capture_default_str();
  app.add_option("--spec-k-max", k_max, "largest K with --spec-adaptive")->capture_default_str();
  app.add_option("--spec-n", n, "PLD: longest n-gram matched")->capture_default_str();
  app.add_option("--spec-n-min", n_min, "PLD: shortest n-gram matched")->capture_default_str();
  app.add_flag("--spec-adaptive", adaptive, "adapt K to the acceptance rate; pause speculation when it cannot pay");
  app.add_option("--spec-p-min", p_min,
                 "draft: stop drafting after a token the draft gives less than this probability, so --spec-k is "
                 "the most per step (llama.cpp's --draft-p-min; 0: always --spec-k)")
      ->capture_default_str();
}

SpeculationSetup make_speculation(const SpeculationCliOptions& cli, const Loaded& target,
                                  const SamplingParams& sampling) {
  SpeculationSetup s;
  s.options.k = cli.k;
  s.options.k_min = cli.k_min;
  s.options.k_max = cli.adaptive ? cli.k_max : std::max(cli.k, cli.k_max);
  s.options.adaptive = cli.adaptive;
  PANGU_CHECK(cli.k >= 1, "--spec-k {}: expected at least 1", cli.k);
  PANGU_CHECK(cli.p_min >= 0.0f && cli.p_min < 1.0f, "--spec-p-min {}: expected a probability in [0, 1)", cli.p_min);
  PANGU_CHECK(cli.p_min == 0.0f || cli.mode == "draft", "--spec-p-min needs --spec draft (a draft model's probabilities)");
  if (cli.mode == "none") {
    PANGU_CHECK(cli.draft.empty(), "--draft needs --spec draft");
    return s;
  }
  if (cli.mode == "pld") {
    PANGU_CHECK(cli.n_min >= 1 && cli.n >= cli.n_min, "--spec-n {} / --spec-n-min {}: expected 1 <= min <= n",
                cli.n, cli.n_min);
    s.fresh = [n_min = cli.n_min, n_max = cli.n] { return make_pld_proposer(n_min, n_max); };
  } else if (cli.mode == "draft") {
    PANGU_CHECK(!cli.draft.empty(), "--spec draft needs --draft MODEL");
    s.draft_model = load_draft_model(resolve_model_path(cli.draft));
    const auto draft_tokenizer = load_tokenizer(s.draft_model->dir());
    check_draft_compatible(*target.model, target.tokenizer.get(), *s.draft_model, draft_tokenizer.get());
    const Model* draft = s.draft_model.get();
    ThreadPool* pool = target.pool.get();
    s.fresh = [draft, pool, n_ctx = target.ctx, sampling, p_min = cli.p_min] {
      return make_draft_proposer(*draft, n_ctx, *pool, sampling, p_min);
    };
  } else {
    fail("--spec \"{}\": expected none, pld or draft", cli.mode);
  }
  s.proposer = s.fresh();
  return s;
}

std::string speculation_summary(const SpeculationStats& st) {
  std::string hist;
  for (size_t i = 0; i < st.accepted_histogram.size(); ++i)
    hist += fmt::format("{}{}:{}", i ? " " : "", i, st.accepted_histogram[i]);
  return fmt::format(
      "speculation: {} steps ({} plain), proposed {}, accepted {} ({:.1f}%), mean accepted length {:.2f}, "
      "tokens per step {:.2f}; accepted lengths {}",
      st.steps, st.plain_steps, st.proposed, st.accepted, 100.0 * st.acceptance_rate(), st.mean_accepted(),
      st.steps ? (st.accepted + st.steps) / static_cast<double>(st.steps) : 0.0, hist);
}

nlohmann::json speculation_json(const SpeculationStats& st) {
  return {{"steps", st.steps},
          {"plain_steps", st.plain_steps},
          {"proposed", st.proposed},
          {"accepted", st.accepted},
          {"acceptance_rate", st.acceptance_rate()},
          {"mean_accepted_length", st.mean_accepted()},
          {"accepted_length_histogram", st.accepted_histogram},
          {"proposed_length_histogram", st.proposed_histogram}};
}

std::string resolve_data_dir(const std::string& given) {
  if (!given.empty()) {
    PANGU_CHECK(std::filesystem::is_directory(given), "--data {}: not a directory", given);
    return given;
  }
  if (const char* env = std::getenv("PANGU_DATA"); env && *env) {
    PANGU_CHECK(std::filesystem::is_directory(env), "PANGU_DATA={}: not a directory", env);
    return env;
  }
  for (const char* candidate : {"../shared/data", "data"})
    if (std::filesystem::is_directory(std::string(candidate) + "/gsm8k") ||
        std::filesystem::is_directory(std::string(candidate) + "/mmlu"))
      return candidate;
  fail("no evaluation data found: pass --data DIR (holding gsm8k/, mbpp/, mmlu/, ceval/) or set PANGU_DATA");
}

ChatTemplate resolve_chat_template(const Loaded& loaded, const std::string& name) {
  if (name.empty()) return detect_chat_template(loaded.model->config(), loaded.tokenizer.get());
  const auto named = chat_template_from_name(name);
  PANGU_CHECK(named, "--chat-template \"{}\": expected pangu, chatml, llama2 or raw", name);
  return *named;
}

}  // namespace pangu::cli
