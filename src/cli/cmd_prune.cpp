// pangu prune: iterative structured pruning of MLP channels (importance, aligned widths, removal), each round
// followed by KL distillation from the original model; pangu distill: the same loop for any student.
// Both checkpoint to OUT.partial and resume with --resume; the finished model is staged and renamed.
#include <fmt/format.h>

#include <filesystem>
#include <numeric>

#include "cli/common.h"
#include "core/log.h"
#include "io/json_file.h"
#include "pangu/error.h"
#include "train/distill.h"
#include "train/model_writer.h"
#include "train/prune.h"
#include "train/train_state.h"

namespace pangu::cli {

namespace {

namespace fs = std::filesystem;

struct TrainCliOptions {
  std::vector<std::string> data;
  std::vector<std::string> eval_data;
  int64_t seq_len = 256;
  int64_t max_sequences = 0;
  int64_t steps = 100;
  int64_t batch = 4;
  double lr = 5e-5;
  int64_t warmup = 0;
  std::string schedule = "linear";
  double weight_decay = 0.0;
  double temperature = 1.0;
  double ce_weight = 0.0;
  double clip = 1.0;
  bool mlp_only = false;
  int64_t save_every = 50;
  int64_t log_every = 10;
  bool resume = false;
  bool force = false;
  std::string out;
  // `per_round`: prune distills after each of its rounds; distill trains once.
  void add_to(CLI::App& app, bool per_round) {
    app.add_option("--data", data,
                   per_round ? "training / calibration text: plain text, JSONL (string fields), CSV, dirs"
                             : "training text: plain text, JSONL (string fields), CSV, dirs");
    app.add_option("--eval-data", eval_data, "held-out text: KL and perplexity before and after distillation");
    app.add_option("--seq-len", seq_len, "tokens per training sequence")->capture_default_str();
    app.add_option("--max-sequences", max_sequences, "use at most this many sequences of --data (0 = all)");
    app.add_option("--steps", steps, per_round ? "optimizer steps of distillation after each pruning round"
                                               : "optimizer steps")
        ->capture_default_str();
    app.add_option("--batch", batch, "sequences per step (gradient accumulation)")->capture_default_str();
    app.add_option("--lr", lr, "peak learning rate (AdamW)")->capture_default_str();
    app.add_option("--warmup", warmup, "warmup steps")->capture_default_str();
    app.add_option("--lr-schedule", schedule, "constant | linear | cosine decay after warmup")->capture_default_str();
    app.add_option("--weight-decay", weight_decay, "AdamW decoupled weight decay (matrices only)")->capture_default_str();
    app.add_option("--temp", temperature, "distillation temperature T (loss is T^2 KL)")->capture_default_str();
    app.add_option("--ce-weight", ce_weight, "add this much next-token cross-entropy")->capture_default_str();
    app.add_option("--clip", clip, "clip the global gradient norm (0: off)")->capture_default_str();
    app.add_flag("--mlp-only", mlp_only, "train only the MLP weights (less memory: no state for the rest)");
    app.add_option("--save-every", save_every, "checkpoint every N steps to OUT.partial")->capture_default_str();
    app.add_option("--log-every", log_every, "log loss, KL, lr and tokens/s every N steps")->capture_default_str();
    app.add_flag("--resume", resume, "continue from OUT.partial");
    opt::force(app, force);
    opt::out(app, out)->required();
  }
  DistillOptions distill_options() const {
    DistillOptions d;
    d.steps = steps;
    d.batch = batch;
    d.schedule = LrSchedule{lr, warmup, steps, parse_lr_decay(schedule), 0.0};
    d.adam.weight_decay = weight_decay;
    d.loss = LossSpec{ce_weight, 1.0, temperature};
    d.clip = clip;
    d.mlp_only = mlp_only;
    return d;
  }
  Json settings() const {
    return {{"data", data}, {"seq_len", seq_len}, {"max_sequences", max_sequences}, {"steps", steps},
            {"batch", batch}, {"lr", lr}, {"warmup", warmup}, {"schedule", schedule},
            {"weight_decay", weight_decay}, {"temperature", temperature}, {"ce_weight", ce_weight},
            {"clip", clip}, {"mlp_only", mlp_only}};
  }
};

struct PruneOptions {
  ModelOptions model;
  TrainCliOptions train;
  double ratio = 0;
  int64_t align = 256;
  int64_t rounds = 5;
  std::string importance = "taylor";
  bool global = false;
  int64_t calibration = 16;
  uint64_t seed = 0;
  std::string teacher;
};

struct DistillCliOptions {
  ModelOptions model;  // the student
  TrainCliOptions train;
  std::string teacher;
};

// Logs a step the way long runs need it: progress on a terminal, plain numbers in logs.
void log_step(const DistillStep& s, int64_t log_every, int64_t total, const std::string& prefix) {
  if (s.step % std::max<int64_t>(log_every, 1) != 0 && s.step != total) return;
  log_info("{}step {}/{}: loss {:.5f} (kl {:.5f}, ce {:.4f}), lr {:.3g}, grad norm {:.3g}, {:.0f} tokens/s", prefix,
           s.step, total, s.loss.total, s.loss.kl, s.loss.ce, s.lr, s.grad_norm, s.tokens_per_second);
}

// "5888 x 26" for uniform widths, else the list.
std::string describe_widths(const std::vector<int64_t>& widths) {
  if (std::all_of(widths.begin(), widths.end(), [&](int64_t w) { return w == widths.front(); }))
    return fmt::format("{} x {}", widths.front(), widths.size());
  return fmt::format("{}", fmt::join(widths, ","));
}

Json loss_json(const LossValue& v) {
  return {{"kl", v.kl}, {"ce", v.ce}, {"ppl", std::exp(v.ce)}};
}

// Refuses, before any work, settings under which pruning would remove nothing: an alignment wider than a
// layer's MLP, or widths that round back to the original.
void check_prune_widths(const std::vector<int64_t>& original, const PruneOptions& o) {
  PANGU_CHECK(o.align >= 1, "--align {}: expected at least 1", o.align);
  const int64_t narrowest = *std::min_element(original.begin(), original.end());
  PANGU_CHECK(o.align <= narrowest,
              "--align {} is wider than the MLP ({} channels{}): no width can be a multiple of it; use an alignment "
              "that divides the widths, e.g. --align {}",
              o.align, narrowest, original.size() > 1 ? " in the narrowest layer" : "",
              std::max<int64_t>(1, std::gcd(narrowest, int64_t{64})));
  if (o.global) return;  // global widths depend on the scores; each layer still loses what the ratio asks
  const std::vector<int64_t> target = uniform_widths(original, o.ratio, o.align);
  PANGU_CHECK(target != original,
              "--ratio {} with --align {}: the MLP widths ({}) round back to themselves, so nothing would be pruned; "
              "raise --ratio to at least {:.4f} or lower --align",
              o.ratio, o.align, describe_widths(original),
              0.5 * static_cast<double>(o.align) / static_cast<double>(narrowest));
}

void run_prune(const PruneOptions& o) {
  PANGU_CHECK(o.ratio > 0 && o.ratio < 1, "--ratio {}: expected the fraction of MLP channels to remove, in (0, 1)",
              o.ratio);
  PANGU_CHECK(o.rounds >= 1, "--rounds {}: expected at least 1", o.rounds);
  const Importance importance = parse_importance(o.importance);
  PANGU_CHECK(o.train.force || o.train.resume || !fs::exists(o.train.out),
              "{} exists; pass --force to replace it", o.train.out);
  // Magnitude and random scores without distillation need no text (and so no tokenizer).
  const bool needs_text = o.train.steps > 0 || importance == Importance::kTaylor ||
                          importance == Importance::kTaylorVector || importance == Importance::kWanda;
  PANGU_CHECK(!needs_text || !o.train.data.empty(), "prune: --importance {}{} needs --data TEXT", o.importance,
              o.train.steps > 0 ? " with distillation" : "");
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer || (!needs_text && o.train.eval_data.empty()),
              "{}: --data and --eval-data need the model's tokenizer", l.model->dir());
  check_prune_widths(l.model->config().intermediate_size, o);
  std::unique_ptr<Model> separate_teacher;
  if (!o.teacher.empty()) separate_teacher = Model::load(resolve_model_path(o.teacher));
  const Model& teacher = separate_teacher ? *separate_teacher : *l.model;

  std::vector<std::vector<int32_t>> sequences;
  if (!o.train.data.empty())
    sequences = load_token_sequences(o.train.data, *l.tokenizer, o.train.seq_len, o.train.max_sequences);
  const std::vector<std::vector<int32_t>> calibration(
      sequences.begin(), sequences.begin() + std::min<int64_t>(o.calibration, static_cast<int64_t>(sequences.size())));
  std::vector<std::vector<int32_t>> held_out;
  if (!o.train.eval_data.empty()) held_out = load_token_sequences(o.train.eval_data, *l.tokenizer, o.train.seq_len, 16);
  log_info("prune: {} training sequences of {} tokens, {} for calibration, {} held out", sequences.size(),
           o.train.seq_len, calibration.size(), held_out.size());

  const std::string partial = o.train.out + ".partial";
  Json settings = o.train.settings();
  settings.update({{"model", fs::absolute(l.model->dir()).lexically_normal().string()}, {"ratio", o.ratio},
                   {"align", o.align}, {"rounds", o.rounds}, {"importance", o.importance}, {"global", o.global},
                   {"calibration", o.calibration}, {"seed", o.seed}, {"teacher", o.teacher}});
  const std::vector<int64_t> original = l.model->config().intermediate_size;
  const DistillOptions distill_options = o.train.distill_options();

  Params<float> params;
  int64_t round = 1, step = 0;
  bool pruned_this_round = false;
  Json report = {{"settings", settings}, {"rounds", Json::array()}};
  std::unique_ptr<AdamW> adam;
  if (o.train.resume && fs::exists(partial + "/state.json")) {
    const Json state = load_train_state(partial, l.model->config(), params);
    PANGU_CHECK(state.value("settings", Json()) == settings,
                "{}/state.json was written with other settings; rerun without --resume to start over", partial);
    pruned_this_round = state.at("pruned").get<bool>();
    if (pruned_this_round) {  // mid-round: the optimizer's moments were saved too
      adam = std::make_unique<AdamW>(trainable_gradients(params.config, o.train.mlp_only), distill_options.adam);
      load_adam_state(partial, state, *adam);
    }
    round = state.at("round").get<int64_t>();
    step = state.at("step").get<int64_t>();
    report = state.at("report");
    log_info("prune: resuming round {} at step {} from {}", round, step, partial);
  } else {
    params = params_from_model(*l.model);
    if (!held_out.empty()) report["original"] = loss_json(distillation_loss(params, teacher, *l.pool, held_out));
  }
  auto checkpoint = [&](bool round_done) {
    Json state = {{"settings", settings}, {"round", round_done ? round + 1 : round}, {"step", round_done ? 0 : step},
                  {"pruned", !round_done && pruned_this_round}, {"report", report}};
    save_train_state(partial, params, round_done ? nullptr : adam.get(), state);
  };

  Progress progress("prune", static_cast<size_t>(o.rounds * std::max<int64_t>(o.train.steps, 1)));
  progress.advance(static_cast<size_t>((round - 1) * std::max<int64_t>(o.train.steps, 1) + step));
  for (; round <= o.rounds; ++round) {
    const double fraction = o.ratio * static_cast<double>(round) / static_cast<double>(o.rounds);
    Json round_report = {{"round", round}, {"fraction", fraction}};
    if (!pruned_this_round) {
      const ChannelScores scores = channel_importance(params, importance, calibration, *l.pool, o.seed + round);
      const std::vector<int64_t> widths =
          o.global ? global_widths(scores, fraction, o.align, std::accumulate(original.begin(), original.end(), int64_t{0}))
                   : uniform_widths(original, fraction, o.align);
      params = prune_mlp_channels(params, scores, widths);
      round_report["widths"] = widths;
      log_info("prune: round {}/{}: {:.2f}% of MLP channels removed; widths {}", round, o.rounds, 100 * fraction,
               describe_widths(widths));
      if (!held_out.empty()) {
        round_report["before_distill"] = loss_json(distillation_loss(params, teacher, *l.pool, held_out));
        log_info("prune: round {}: held-out KL {:.5f}, PPL {:.3f} before distillation", round,
                 round_report["before_distill"]["kl"].get<double>(), round_report["before_distill"]["ppl"].get<double>());
      }
      adam = std::make_unique<AdamW>(trainable_gradients(params.config, o.train.mlp_only), distill_options.adam);
      pruned_this_round = true;
      step = 0;
      report["rounds"].push_back(round_report);
      checkpoint(false);
    }
    if (o.train.steps > 0)
      distill(params, teacher, *l.pool, sequences, distill_options, *adam, step, [&](const DistillStep& s) {
      step = s.step;
      progress.advance();
      log_step(s, o.train.log_every, o.train.steps, fmt::format("round {}: ", round));
      if (o.train.save_every > 0 && s.step % o.train.save_every == 0 && s.step < o.train.steps) checkpoint(false);
    });
    if (!held_out.empty() && o.train.steps > 0) {
      Json& last = report["rounds"].back();
      last["after_distill"] = loss_json(distillation_loss(params, teacher, *l.pool, held_out));
      log_info("prune: round {}: held-out KL {:.5f}, PPL {:.3f} after distillation", round,
               last["after_distill"]["kl"].get<double>(), last["after_distill"]["ppl"].get<double>());
    }
    checkpoint(true);
    pruned_this_round = false;
  }
  progress.finish();
  const Json extra = {{"pangu_pruning", {{"ratio", o.ratio}, {"rounds", o.rounds}, {"importance", o.importance},
                                          {"align", o.align}, {"original_intermediate_size", original}}}};
  write_model_dir(params, l.model->dir(), o.train.out, output_dtype_for(l.model->config()), true, extra);
  write_text_file_atomic(o.train.out + "/prune_report.json", report.dump(2) + "\n");
  fs::remove_all(partial);
  log_info("prune: wrote {} (MLP widths {})", o.train.out, describe_widths(params.config.intermediate_size));
}

void run_distill(const DistillCliOptions& o) {
  PANGU_CHECK(!o.model.model.empty(), "distill: give the student with -m or --student");
  PANGU_CHECK(!o.train.data.empty(), "distill: give training text with --data");
  PANGU_CHECK(o.train.force || o.train.resume || !fs::exists(o.train.out), "{} exists; pass --force to replace it",
              o.train.out);
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: distillation needs the student's tokenizer for --data", l.model->dir());
  const auto teacher = Model::load(resolve_model_path(o.teacher));
  PANGU_CHECK(teacher->config().vocab_size == l.model->config().vocab_size,
              "teacher {} has a vocabulary of {}, the student {} one of {}: they must share a tokenizer",
              teacher->dir(), teacher->config().vocab_size, l.model->dir(), l.model->config().vocab_size);
  const auto sequences = load_token_sequences(o.train.data, *l.tokenizer, o.train.seq_len, o.train.max_sequences);
  std::vector<std::vector<int32_t>> held_out;
  if (!o.train.eval_data.empty()) held_out = load_token_sequences(o.train.eval_data, *l.tokenizer, o.train.seq_len, 16);
  const DistillOptions d = o.train.distill_options();
  const std::string partial = o.train.out + ".partial";
  Json settings = o.train.settings();
  settings.update({{"student", fs::absolute(l.model->dir()).lexically_normal().string()},
                   {"teacher", fs::absolute(teacher->dir()).lexically_normal().string()}});
  Params<float> params = params_from_model(*l.model);
  AdamW adam(trainable_gradients(params.config, o.train.mlp_only), d.adam);
  int64_t step = 0;
  Json report = {{"settings", settings}};
  if (o.train.resume && fs::exists(partial + "/state.json")) {
    const Json state = load_train_state(partial, l.model->config(), params);
    PANGU_CHECK(state.value("settings", Json()) == settings,
                "{}/state.json was written with other settings; rerun without --resume to start over", partial);
    load_adam_state(partial, state, adam);
    step = state.at("step").get<int64_t>();
    log_info("distill: resuming at step {} from {}", step, partial);
  }
  if (!held_out.empty()) report["before"] = loss_json(distillation_loss(params, *teacher, *l.pool, held_out));
  Progress progress("distill", static_cast<size_t>(o.train.steps));
  progress.advance(static_cast<size_t>(step));
  distill(params, *teacher, *l.pool, sequences, d, adam, step, [&](const DistillStep& s) {
    progress.advance();
    log_step(s, o.train.log_every, o.train.steps, "");
    if (o.train.save_every > 0 && s.step % o.train.save_every == 0 && s.step < o.train.steps)
      save_train_state(partial, params, &adam, {{"settings", settings}, {"step", s.step}});
  });
  progress.finish();
  if (!held_out.empty()) {
    report["after"] = loss_json(distillation_loss(params, *teacher, *l.pool, held_out));
    log_info("distill: held-out KL {:.5f} -> {:.5f}, PPL {:.3f} -> {:.3f}", report["before"]["kl"].get<double>(),
             report["after"]["kl"].get<double>(), report["before"]["ppl"].get<double>(),
             report["after"]["ppl"].get<double>());
  }
  write_model_dir(params, l.model->dir(), o.train.out, output_dtype_for(l.model->config()), true);
  write_text_file_atomic(o.train.out + "/distill_report.json", report.dump(2) + "\n");
  fs::remove_all(partial);
  log_info("distill: wrote {}", o.train.out);
}

}  // namespace

void register_prune(CLI::App& app) {
  auto o = std::make_shared<PruneOptions>();
  CLI::App* cmd = app.add_subcommand("prune", "remove MLP channels by importance over rounds, distilling after each");
  o->model.add_to(*cmd);
  o->train.add_to(*cmd, /*per_round=*/true);
  cmd->add_option("--ratio", o->ratio, "final fraction of MLP channels removed, e.g. 0.0833 (= 512/6144)")->required();
  cmd->add_option("--align", o->align, "keep widths a multiple of this (small models need less)")->capture_default_str();
  cmd->add_option("--rounds", o->rounds, "rounds; after round r, r/rounds of the ratio is removed")->capture_default_str();
  cmd->add_option("--importance", o->importance, "taylor | taylor-vector | magnitude | wanda | random")
      ->capture_default_str();
  cmd->add_flag("--global", o->global, "rank channels of all layers together (per-layer widths in config.json)");
  cmd->add_option("--calibration", o->calibration, "sequences of --data used to score importance")->capture_default_str();
  opt::seed(*cmd, o->seed, "seed for --importance random")->capture_default_str();
  cmd->add_option("--teacher", o->teacher, "distill from this model instead of the original (e.g. its W8A16 copy)");
  cmd->callback([o] { run_prune(*o); });
}

void register_distill(CLI::App& app) {
  auto o = std::make_shared<DistillCliOptions>();
  CLI::App* cmd = app.add_subcommand("distill", "train a student toward a teacher with the same tokenizer (KL)");
  o->model.add_to(*cmd);
  cmd->get_option("--model")->description("the student model (e.g. a draft model for speculative decoding)")->required(false);
  cmd->add_option("--student", o->model.model, "the student model (same as -m)");
  o->train.add_to(*cmd, /*per_round=*/false);
  cmd->add_option("--teacher", o->teacher, "the teacher model")->required();
  cmd->callback([o] { run_distill(*o); });
}

}  // namespace pangu::cli
