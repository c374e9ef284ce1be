#include "adapt/profile_measure.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "adapt/decoding_method.h"
#include "adapt/profile_stats.h"
#include "adapt/strategy_runtime.h"
#include "core/buffer.h"
#include "core/log.h"
#include "eval/results.h"
#include "eval/runner.h"
#include "eval/tasks.h"
#include "io/json_file.h"
#include "pangu/chat.h"
#include "pangu/error.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/thread_pool.h"
#include "pangu/tokenizer.h"

namespace pangu {

namespace fs = std::filesystem;

std::string scored_task_for(Intent category) {
  switch (category) {
    case Intent::kMath:
      return "gsm8k";
    case Intent::kCode:
      return "mbpp";
    case Intent::kExam:
      return "mmlu";
    default:
      return {};
  }
}

namespace {

std::string task_metric(const std::string& task) {
  if (task == "gsm8k") return "gsm8k_exact_match";
  if (task == "mbpp") return "mbpp_pass@1";
  return task + "_accuracy";
}

// Each finished measurement, one JSON line keyed by "id" (eval's SampleLog: appended, flushed, a torn last line
// dropped on reopening).
class Journal {
 public:
  Journal(const std::string& path, bool resume, const Json& settings) {
    if (!resume) {
      std::error_code ec;
      fs::remove(path, ec);
    }
    log_ = std::make_unique<SampleLog>(path);
    if (const Json* header = log_->find("settings")) {
      PANGU_CHECK((*header)["settings"] == settings,
                  "{}: the journal was written by a run with other settings (variants, methods, requests or limits); "
                  "run without --resume to start afresh, or with the same options to go on",
                  path);
      if (!log_->records().empty()) log_info("resuming: {} measurements already in {}", log_->records().size() - 1, path);
    } else {
      log_->append({{"id", "settings"}, {"settings", settings}});
    }
  }
  const Json* find(const std::string& id) const { return log_->find(id); }
  void append(Json record) { log_->append(std::move(record)); }

 private:
  std::unique_ptr<SampleLog> log_;
};

struct ScoredSet {
  std::unique_ptr<EvalTask> task;
  std::vector<EvalSample> samples;
};

class Profiler {
 public:
  Profiler(const ProfileSettings& s, const std::string& journal_path, bool resume) : s_(s) {
    check_settings();
    load_scored_sets();
    journal_ = std::make_unique<Journal>(journal_path, resume, fingerprint());
  }

  StrategyProfile run() {
    const auto base_it = std::find_if(s_.variants.begin(), s_.variants.end(), [](auto& v) { return v.first == "base"; });
    const double before_base = static_cast<double>(resident_memory().total);
    base_ = load_variant("base", base_it->second, s_.ctx, nullptr);
    pool_ = std::make_unique<ThreadPool>(s_.threads > 0 ? s_.threads
                                                        : default_thread_count(matmul_macs_per_token(base_.model->config())));
    base_.session = std::make_unique<Session>(*base_.model, base_.ctx, *pool_);
    Progress progress("profile", total_units());
    progress_ = &progress;
    measure_variant(base_, before_base);
    for (const auto& [name, dir] : s_.variants) {
      if (name == "base") continue;
      const double before = static_cast<double>(resident_memory().total);
      LoadedVariant v = load_variant(name, dir, s_.ctx, pool_.get());
      measure_variant(v, before);
    }
    progress.finish();
    progress_ = nullptr;
    return assemble();
  }

 private:
  void check_settings() const {
    std::set<std::string> names;
    for (const auto& [name, dir] : s_.variants) {
      PANGU_CHECK(!name.empty() && names.insert(name).second, "--variants: the name \"{}\" is empty or given twice", name);
      PANGU_CHECK(fs::is_directory(dir), "--variants {}={}: not a model directory", name, dir);
    }
    PANGU_CHECK(names.count("base"), "--variants: one variant must be named base (the quality reference)");
    for (const auto& [name, dir] : s_.drafts)
      PANGU_CHECK(fs::is_directory(dir), "--draft {}={}: not a model directory", name, dir);
    PANGU_CHECK(!s_.methods.empty() && s_.methods.front() == "plain",
                "--methods: the list must start with plain (the reference speculative methods are compared with)");
    for (const auto& text : s_.methods) {
      const auto m = parse_decoding_method(text);
      PANGU_CHECK(m, "--methods: \"{}\": expected plain, pld:N:K or draft:NAME:K (then +adaptive)", text);
      PANGU_CHECK(m->thinking.empty(),
                  "--methods: \"{}\": a thinking mode is measured only for models with a thinking switch in their chat "
                  "template, which this build does not render",
                  text);
      if (m->kind == DecodingMethod::Kind::kDraft)
        PANGU_CHECK(std::any_of(s_.drafts.begin(), s_.drafts.end(), [&](auto& d) { return d.first == m->draft; }),
                    "--methods: \"{}\" names the draft \"{}\"; give it with --draft {}=DIR", text, m->draft, m->draft);
    }
    PANGU_CHECK(!s_.requests.empty(), "profile: no requests to measure");
    PANGU_CHECK(s_.max_tokens >= 2, "--max-tokens {}: expected at least 2 (decode speed needs two tokens)",
                s_.max_tokens);
    PANGU_CHECK(s_.max_prompt_tokens >= 2, "--max-prompt-tokens {}: expected at least 2", s_.max_prompt_tokens);
  }

  void load_scored_sets() {
    if (s_.scored_per_category <= 0) return;
    std::set<Intent> present;
    for (const auto& r : s_.requests) present.insert(r.category);
    for (Intent c : present) {
      const std::string name = scored_task_for(c);
      if (name.empty()) continue;
      PANGU_CHECK(!s_.data_dir.empty(),
                  "{} requests are scored with {}, but no evaluation data was found: pass --data DIR (holding gsm8k/, "
                  "mbpp/, mmlu/) or set PANGU_DATA; --scored-per-category 0 scores them by fidelity to base instead",
                  intent_name(c), name);
      ScoredSet set;
      set.task = make_task(name);
      TaskSelection selection;
      // MMLU's limit is per subject: one of each, then the first N.
      selection.limit = set.task->kind() == TaskKind::kChoice ? 1 : s_.scored_per_category;
      set.samples = set.task->load(s_.data_dir, selection);
      if (static_cast<int64_t>(set.samples.size()) > s_.scored_per_category) set.samples.resize(s_.scored_per_category);
      scored_[c] = std::move(set);
    }
  }

  // What the journal's measurements depend on: resuming with anything else changed would mix runs.
  Json fingerprint() const {
    Json requests = Json::array();
    for (const auto& r : s_.requests)
      requests.push_back({r.id, std::string(intent_name(r.category)), std::hash<std::string>{}(r.text)});
    Json variants = Json::object(), drafts = Json::object();
    for (const auto& [n, d] : s_.variants) variants[n] = fs::absolute(d).lexically_normal().string();
    for (const auto& [n, d] : s_.drafts) drafts[n] = fs::absolute(d).lexically_normal().string();
    Json f = {{"variants", variants}, {"drafts", drafts}, {"methods", s_.methods}, {"requests", requests},
              {"max_tokens", s_.max_tokens}, {"max_prompt_tokens", s_.max_prompt_tokens}, {"ctx", s_.ctx},
              {"threads", s_.threads}, {"scored_per_category", s_.scored_per_category}, {"shots", s_.shots},
              {"task_max_tokens", s_.task_max_tokens}};
    if (s_.raw_prompts) f["raw_prompts"] = true;  // only when set: journals written before the flag still resume
    return f;
  }

  size_t total_units() const {
    const size_t r = s_.requests.size();
    size_t scored = 0;
    for (const auto& [c, set] : scored_) scored += set.samples.size();
    const size_t per_variant = 1 + r * s_.methods.size() + scored;
    return s_.variants.size() * per_variant + (s_.variants.size() - 1) * r + s_.drafts.size();
  }

  void done_unit() {
    if (progress_) progress_->advance();
  }

  // Runs `fn` unless the journal has `id`; records what it returns under that id. (Records are read back by
  // id when needed: a reference into the journal would not survive its next append.)
  template <typename Fn>
  void unit(const std::string& id, Fn&& fn) {
    if (!journal_->find(id)) {
      Json record = fn();
      record["id"] = id;
      journal_->append(std::move(record));
    }
    done_unit();
  }

  GenerateResult decode(LoadedVariant& m, const ProfileRequest& r, Proposer* proposer, const SpeculationOptions& spec,
                        int64_t max_tokens) {
    const auto prompt =
        request_prompt(m, r.text, std::min(s_.max_prompt_tokens, m.ctx - max_tokens - 1), s_.raw_prompts);
    m.session->truncate(0);
    GenerateOptions g = greedy_options(*m.model, max_tokens);
    g.proposer = proposer;
    g.speculation = spec;
    return generate(*m.session, m.tokenizer.get(), prompt, g);
  }

  static Json speed_record(const GenerateResult& g) {
    const double n_gen = static_cast<double>(g.tokens.size());
    Json j = {{"n_gen", g.tokens.size()},
              {"ttft_ms", 1000.0 * g.prefill_seconds},
              {"tps", n_gen > 1 ? (n_gen - 1) / std::max(g.decode_seconds, 1e-9) : 0.0},
              {"proposed", g.speculation.proposed},
              {"accepted", g.speculation.accepted},
              {"steps", g.speculation.steps}};
    return j;
  }

  // The draft named `name`, loaded (and its memory measured) on first use.
  LoadedVariant& draft(const std::string& name, LoadedVariant& target) {
    auto it = drafts_.find(name);
    if (it == drafts_.end()) {
      const auto d = std::find_if(s_.drafts.begin(), s_.drafts.end(), [&](auto& x) { return x.first == name; });
      const double before = static_cast<double>(resident_memory().total);
      LoadedVariant loaded = load_variant(name, d->second, target.ctx, nullptr, draft_load_options());
      check_draft_compatible(*target.model, target.tokenizer.get(), *loaded.model, loaded.tokenizer.get());
      it = drafts_.emplace(name, std::move(loaded)).first;
      unit("memory/draft/" + name, [&] {
        // What drafting costs: the weights plus the draft's own cache, after one warm request.
        auto proposer = make_draft_proposer(*it->second.model, target.ctx, *pool_, greedy_options(*target.model, 0).sampling);
        decode(target, s_.requests.front(), proposer.get(), SpeculationOptions{}, s_.max_tokens);
        return Json{{"bytes", std::max(0.0, static_cast<double>(resident_memory().total) - before)}};
      });
    }
    check_draft_compatible(*target.model, target.tokenizer.get(), *it->second.model, it->second.tokenizer.get());
    return it->second;
  }

  void measure_variant(LoadedVariant& v, double rss_before) {
    // A warm-up request first: page faults and cold caches belong to no request's timing, and the resident
    // set after it is what the variant holds while serving.
    decode(v, s_.requests.front(), nullptr, {}, s_.max_tokens);
    unit("memory/" + v.name,
         [&] { return Json{{"bytes", std::max(0.0, static_cast<double>(resident_memory().total) - rss_before)}}; });
    // Speed: every method on one request before the next request, in an order that rotates from request to
    // request, so that a drift of the machine's speed (this VM's memory bandwidth moves by tens of percent
    // within minutes) falls on all methods alike. The drafts load (and their memory is measured) first.
    std::vector<std::pair<DecodingMethod, LoadedVariant*>> methods;
    for (const auto& method : s_.methods) {
      const DecodingMethod m = *parse_decoding_method(method);
      methods.emplace_back(m, m.kind == DecodingMethod::Kind::kDraft ? &draft(m.draft, v) : nullptr);
    }
    for (size_t i = 0; i < s_.requests.size(); ++i) {
      const ProfileRequest& r = s_.requests[i];
      for (size_t j = 0; j < methods.size(); ++j) {
        const size_t at = (i + j) % methods.size();
        const DecodingMethod& m = methods[at].first;
        LoadedVariant* d = methods[at].second;
        unit("speed/" + v.name + "/" + s_.methods[at] + "/" + r.id, [&] {
          if (m.kind == DecodingMethod::Kind::kPlain) {
            const GenerateResult g = decode(v, r, nullptr, {}, s_.max_tokens);
            Json j = speed_record(g);
            j["tokens"] = g.tokens;  // the reference of fidelity
            return j;
          }
          const auto proposer =
              method_proposer(m, d ? d->model.get() : nullptr, v.ctx, *pool_, greedy_options(*v.model, 0).sampling);
          return speed_record(decode(v, r, proposer.get(), speculation_options(m), s_.max_tokens));
        });
      }
    }
    if (v.name != "base")
      for (const auto& r : s_.requests) unit("fidelity/" + v.name + "/" + r.id, [&] { return fidelity(v, r); });
    for (auto& entry : scored_) {
      const ScoredSet& set = entry.second;  // a named reference: clang 14 cannot capture a structured binding
      std::unique_ptr<Evaluator> evaluator;
      for (const auto& sample : set.samples) {
        unit("task/" + v.name + "/" + set.task->name() + "/" + sample.id, [&] {
          if (!evaluator)
            evaluator = std::make_unique<Evaluator>(*v.model, *v.tokenizer, *pool_, v.ctx, greedy_options(*v.model, 0), nullptr);
          EvalSettings e;
          e.shots = s_.shots >= 0 ? s_.shots : set.task->default_shots();
          e.max_new_tokens = std::min(set.task->default_max_tokens(), s_.task_max_tokens);
          e.chat = v.chat_template != ChatTemplate::kRaw;
          e.chat_template = v.chat_template;
          const Json record = evaluator->evaluate(*set.task, sample, e);
          return Json{{"correct", record.value("correct", false)}};
        });
      }
    }
  }

  // The variant's next-token distributions along base's greedy continuation (teacher forcing) against base's
  // own: mean KL(base || variant), how often the variant's top token is base's, and ROUGE-L of the two greedy
  // outputs.
  Json fidelity(LoadedVariant& v, const ProfileRequest& r) {
    const Json& base_run = *journal_->find("speed/base/plain/" + r.id);
    const Json& own_run = *journal_->find("speed/" + v.name + "/plain/" + r.id);
    const auto base_tokens = base_run["tokens"].get<std::vector<int32_t>>();
    const auto own_tokens = own_run["tokens"].get<std::vector<int32_t>>();
    const double rouge = rouge_l(own_tokens, base_tokens);
    if (base_tokens.empty()) return Json{{"kl", 0.0}, {"top1", 1.0}, {"rouge_l", rouge}, {"positions", 0}};
    const auto prompt =
        request_prompt(base_, r.text, std::min(s_.max_prompt_tokens, base_.ctx - s_.max_tokens - 1), s_.raw_prompts);
    PANGU_CHECK(prompt == request_prompt(v, r.text, std::min(s_.max_prompt_tokens, v.ctx - s_.max_tokens - 1),
                                         s_.raw_prompts),
                "{}: variant {} tokenizes request {} differently from base: variants must share the tokenizer",
                v.model->dir(), v.name, r.id);
    // Positions: the prompt's last token, then base's continuation but its last token.
    std::vector<int32_t> forced(prompt.end() - 1, prompt.end());
    forced.insert(forced.end(), base_tokens.begin(), base_tokens.end() - 1);
    const std::vector<int32_t> head(prompt.begin(), prompt.end() - 1);
    auto logits_along = [&](LoadedVariant& m) {
      m.session->truncate(0);
      if (!head.empty()) m.session->forward(head);
      const float* rows = m.session->forward(forced, true);
      const int64_t vocab = m.session->vocab_size();
      std::vector<float> out(rows, rows + vocab * static_cast<int64_t>(forced.size()));
      for (int64_t id : m.model->generation_config().suppress_tokens)
        if (id >= 0 && id < vocab)
          for (size_t i = 0; i < forced.size(); ++i) out[i * vocab + id] = -std::numeric_limits<float>::infinity();
      return out;
    };
    const std::vector<float> p = logits_along(base_);
    const std::vector<float> q = logits_along(v);
    const int64_t vocab = base_.session->vocab_size();
    PANGU_CHECK(vocab == v.session->vocab_size(), "{}: variant {} has {} logits per token, base {}", v.model->dir(), v.name,
                v.session->vocab_size(), vocab);
    double kl = 0, top1 = 0;
    for (size_t i = 0; i < forced.size(); ++i) {
      const float* pr = p.data() + i * vocab;
      const float* qr = q.data() + i * vocab;
      kl += kl_divergence_logits(pr, qr, vocab);
      top1 += (std::max_element(qr, qr + vocab) - qr) == base_tokens[i] ? 1 : 0;
    }
    const double n = static_cast<double>(forced.size());
    return Json{{"kl", kl / n}, {"top1", top1 / n}, {"rouge_l", rouge}, {"positions", forced.size()}};
  }

  // ---- from the journal to the profile ----

  std::vector<const ProfileRequest*> requests_of(std::optional<Intent> c) const {
    std::vector<const ProfileRequest*> out;
    for (const auto& r : s_.requests)
      if (!c || r.category == *c) out.push_back(&r);
    return out;
  }

  std::optional<SpeedRow> speed_row(const std::string& variant, const std::string& method,
                                    const std::vector<const ProfileRequest*>& rs) const {
    std::vector<double> tps;
    double ttft = 0;
    int64_t proposed = 0, accepted = 0, steps = 0;
    for (const auto* r : rs) {
      const Json& j = *journal_->find("speed/" + variant + "/" + method + "/" + r->id);
      if (j["n_gen"].get<int64_t>() < 2) continue;  // no decode step to time
      tps.push_back(j["tps"].get<double>());
      ttft += j["ttft_ms"].get<double>();
      proposed += j["proposed"].get<int64_t>();
      accepted += j["accepted"].get<int64_t>();
      steps += j["steps"].get<int64_t>();
    }
    if (tps.empty()) return std::nullopt;
    const MeanEstimate e = bootstrap_mean(tps);
    SpeedRow row;
    row.variant = variant;
    row.method = method;
    row.decode_tps = e.mean;
    row.decode_tps_ci = e.ci;
    row.ttft_ms = ttft / static_cast<double>(tps.size());
    row.acceptance = proposed ? static_cast<double>(accepted) / static_cast<double>(proposed) : 0.0;
    row.mean_accepted = steps ? static_cast<double>(accepted) / static_cast<double>(steps) : 0.0;
    row.n = e.n;
    return row;
  }

  QualityRow fidelity_row(const std::string& variant, const std::vector<const ProfileRequest*>& rs) const {
    std::vector<double> drop;
    double kl = 0, rouge = 0, top1 = 0, positions = 0, mismatches = 0;
    for (const auto* r : rs) {
      const Json& j = *journal_->find("fidelity/" + variant + "/" + r->id);
      drop.push_back(100.0 * (1.0 - j["top1"].get<double>()));
      positions += j["positions"].get<double>();
      mismatches += j["positions"].get<double>() * (1.0 - j["top1"].get<double>());
      top1 += j["top1"].get<double>();
      kl += j["kl"].get<double>();
      rouge += j["rouge_l"].get<double>();
    }
    const MeanEstimate e = bootstrap_mean(drop);
    const double n = static_cast<double>(rs.size());
    QualityRow q;
    q.variant = variant;
    q.metric = "top1_vs_base";
    q.value = 100.0 * top1 / n;
    q.drop = e.mean;
    q.drop_ci = {e.ci.low, std::max(e.ci.high, no_miss_bound(positions, mismatches))};
    q.n = e.n;
    q.details = {{"kl_vs_base", kl / n}, {"rouge_l_vs_base", 100.0 * rouge / n}};
    return q;
  }

  // A bootstrap of observations that all agree has zero width: 3 requests that all matched would claim a
  // drop of exactly 0. With no miss in `trials`, the one-sided 95% upper bound of the miss rate is
  // 1 - 0.05^(1/trials) (Clopper-Pearson; about 3/trials): the interval's pessimistic end is at least that.
  static double no_miss_bound(double trials, double misses) {
    return misses > 0 || trials <= 0 ? 0.0 : 100.0 * (1.0 - std::pow(0.05, 1.0 / trials));
  }

  QualityRow task_row(const std::string& variant, const ScoredSet& set) const {
    std::vector<double> base, own;
    for (const auto& sample : set.samples) {
      auto correct = [&](const std::string& v) {
        return (*journal_->find("task/" + v + "/" + set.task->name() + "/" + sample.id))["correct"].get<bool>() ? 100.0
                                                                                                              : 0.0;
      };
      base.push_back(correct("base"));
      own.push_back(correct(variant));
    }
    const MeanEstimate e = paired_bootstrap_difference(base, own);
    double lost = 0;  // samples base got right and the variant wrong
    for (size_t i = 0; i < base.size(); ++i) lost += base[i] > own[i] ? 1 : 0;
    QualityRow q;
    q.variant = variant;
    q.metric = task_metric(set.task->name());
    q.value = bootstrap_mean(own).mean;
    q.drop = e.mean;
    q.drop_ci = {e.ci.low, std::max(e.ci.high, no_miss_bound(static_cast<double>(base.size()), lost))};
    q.n = e.n;
    q.details = {{"base_value", bootstrap_mean(base).mean}};
    return q;
  }

  bool at_floor(const ScoredSet& set) const {
    for (const auto& sample : set.samples)
      if ((*journal_->find("task/base/" + set.task->name() + "/" + sample.id))["correct"].get<bool>()) return false;
    return true;
  }

  CategoryProfile category(std::optional<Intent> c) const {
    const auto rs = requests_of(c);
    CategoryProfile out;
    for (const auto& [name, dir] : s_.variants) {
      if (name != "base") {
        const auto scored = c ? scored_.find(*c) : scored_.end();
        if (scored != scored_.end() && !scored->second.samples.empty() && !at_floor(scored->second)) {
          out.quality.push_back(task_row(name, scored->second));
        } else {
          out.quality.push_back(fidelity_row(name, rs));
          // A task base never solves cannot show a loss: the category is scored by fidelity instead.
          if (scored != scored_.end()) out.quality.back().details["task_base_value_at_floor"] = 0.0;
        }
      }
      for (const auto& method : s_.methods)
        if (auto row = speed_row(name, method, rs)) out.speed.push_back(*row);
    }
    return out;
  }

  StrategyProfile assemble() const {
    StrategyProfile p;
    p.origin = "measured";
    p.threads = pool_->size();
    for (const auto& [name, dir] : s_.variants)
      p.variants[name] = {name, fs::absolute(dir).lexically_normal().string(),
                          static_cast<uint64_t>((*journal_->find("memory/" + name))["bytes"].get<double>())};
    for (const auto& [name, dir] : s_.drafts)
      if (const Json* mem = journal_->find("memory/draft/" + name))
        p.drafts[name] = {name, fs::absolute(dir).lexically_normal().string(),
                          static_cast<uint64_t>((*mem)["bytes"].get<double>())};
    for (int i = 0; i < kIntentCount; ++i) {
      const auto c = static_cast<Intent>(i);
      if (requests_of(c).empty()) continue;
      CategoryProfile cp = category(c);
      if (!cp.speed.empty()) p.categories[i] = std::move(cp);
    }
    p.overall = category(std::nullopt);
    PANGU_CHECK(!p.overall.speed.empty(), "profile: no request generated two tokens, so no decode speed was measured; "
                                          "raise --max-tokens or check the requests");
    p.settings = fingerprint();
    p.settings.erase("requests");
    p.settings["requests"] = s_.requests.size();
    return p;
  }

  const ProfileSettings& s_;
  std::map<Intent, ScoredSet> scored_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<ThreadPool> pool_;
  LoadedVariant base_;
  std::map<std::string, LoadedVariant> drafts_;
  Progress* progress_ = nullptr;
};

}  // namespace

// The first `per_category` requests of each category, spread evenly over the category's lines (a corpus lists
// a source's requests together; the first N would all come from one).
std::vector<ProfileRequest> read_labeled_requests(const std::string& path, int64_t per_category) {
  PANGU_CHECK(per_category >= 1, "--per-category {}: expected at least 1", per_category);
  std::map<Intent, std::vector<ProfileRequest>> by_category;
  for_each_jsonl_record(read_text_file(path, "--prompts file"), path, [&](Json& record, int64_t line) {
    const std::string at = fmt::format("{}:{}", path, line);
    PANGU_CHECK(record.is_object(), "{}: expected an object {{\"text\", \"label\"}}", at);
    const auto text = json_required<std::string>(record, "text", at);
    const auto label = json_required<std::string>(record, "label", at);
    const auto intent = intent_from_name(label);
    PANGU_CHECK(intent, "{}: label \"{}\": expected chat, translation, summarization, qa, rag, math, code or exam", at,
                label);
    PANGU_CHECK(!text.empty(), "{}: empty \"text\"", at);
    by_category[*intent].push_back({fmt::format("line{}", line), text, *intent});
  });
  std::vector<ProfileRequest> out;
  for (auto& [category, all] : by_category) {
    const size_t take = std::min<size_t>(all.size(), static_cast<size_t>(per_category));
    for (size_t i = 0; i < take; ++i) out.push_back(all[i * all.size() / take]);
  }
  PANGU_CHECK(!out.empty(), "{}: no requests", path);
  return out;
}

StrategyProfile measure_profile(const ProfileSettings& settings, const std::string& journal_path, bool resume) {
  return Profiler(settings, journal_path, resume).run();
}

}  // namespace pangu
