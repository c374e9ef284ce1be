// pangu bench spec: plain vs PLD vs draft decoding over a prompt set, per category; and
// pangu bench verify: the cost of one forward of n tokens relative to one token (what speculation can win).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "cli/common.h"
#include "core/log.h"
#include "io/json_file.h"
#include "io/text_corpus.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct BenchPrompt {
  std::string category;
  std::string text;
};

// JSONL: the category from "category", the text from the first of "turns", "prompt", "question", "text",
// "article". Otherwise each document (paragraph of a text file, row of a CSV file) gives its first half as
// a prompt to continue.
std::vector<BenchPrompt> read_prompts(const std::string& path, int limit_per_category) {
  std::vector<BenchPrompt> prompts;
  std::map<std::string, int> per_category;
  auto add = [&](std::string category, std::string text) {
    if (text.empty() || (limit_per_category > 0 && per_category[category] >= limit_per_category)) return;
    ++per_category[category];
    prompts.push_back({std::move(category), std::move(text)});
  };
  if (path.size() > 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0) {
    const std::string text = read_text_file(path, "prompt file");
    size_t line_no = 0, start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const Json j = parse_json_text(line, fmt::format("{}:{}", path, line_no));
      std::string body;
      if (j.contains("turns") && j["turns"].is_array() && !j["turns"].empty() && j["turns"][0].is_string())
        body = j["turns"][0].get<std::string>();
      for (const char* key : {"prompt", "question", "text", "article"})
        if (body.empty() && j.contains(key) && j[key].is_string()) body = j[key].get<std::string>();
      if (body.empty()) fail("{}:{}: no prompt text (expected turns, prompt, question, text or article)", path, line_no);
      add(j.contains("category") && j["category"].is_string() ? j["category"].get<std::string>() : "all", body);
    }
  } else {
    // Documents: paragraphs of a plain-text file, rows of CSV files (a directory stands for its files).
    std::vector<std::string> documents;
    if (std::filesystem::is_directory(path) || path.ends_with(".csv")) {
      std::vector<std::string> files;
      if (std::filesystem::is_directory(path)) {
        for (const auto& e : std::filesystem::directory_iterator(path))
          if (e.is_regular_file()) files.push_back(e.path().string());
        std::sort(files.begin(), files.end());
      } else {
        files.push_back(path);
      }
      for (const auto& f : files)
        for (auto& d : read_corpus_documents(f)) documents.push_back(std::move(d));
    } else {
      const std::string text = read_text_file(path, "prompt file");
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find("\n\n", start);
        if (end == std::string::npos) end = text.size();
        documents.push_back(text.substr(start, end - start));
        start = end + 2;
      }
    }
    for (const std::string& doc : documents) {
      if (doc.find_first_not_of(" \n\r\t") == std::string::npos) continue;
      // The first half, ended at the next space when one is near, else on a UTF-8 character boundary.
      size_t cut = doc.size() / 2;
      const size_t space = doc.find(' ', cut);
      if (space != std::string::npos && space - cut < 64) cut = space;
      while (cut < doc.size() && (static_cast<unsigned char>(doc[cut]) & 0xC0) == 0x80) ++cut;
      add("continuation", doc.substr(0, cut));
    }
  }
  if (prompts.empty()) fail("{}: no prompts", path);
  return prompts;
}

struct MethodTotals {
  int64_t tokens = 0;
  double seconds = 0;
  SpeculationStats stats;
  int64_t mismatches = 0;  // outputs that differ from plain greedy (must stay 0: speculation is lossless)
  void add(const GenerateResult& r) {
    tokens += static_cast<int64_t>(r.tokens.size());
    seconds += r.decode_seconds;
    stats.steps += r.speculation.steps;
    stats.plain_steps += r.speculation.plain_steps;
    stats.proposed += r.speculation.proposed;
    stats.accepted += r.speculation.accepted;
    if (stats.accepted_histogram.size() < r.speculation.accepted_histogram.size())
      stats.accepted_histogram.resize(r.speculation.accepted_histogram.size());
    for (size_t i = 0; i < r.speculation.accepted_histogram.size(); ++i)
      stats.accepted_histogram[i] += r.speculation.accepted_histogram[i];
    if (stats.proposed_histogram.size() < r.speculation.proposed_histogram.size())
      stats.proposed_histogram.resize(r.speculation.proposed_histogram.size());
    for (size_t i = 0; i < r.speculation.proposed_histogram.size(); ++i)
      stats.proposed_histogram[i] += r.speculation.proposed_histogram[i];
  }
  double tokens_per_second() const { return seconds > 0 ? tokens / seconds : 0.0; }
  // Speedup over plain decoding if a forward of n tokens costs cost[n - 1] one-token forwards (from
  // `pangu bench verify` at the shape of interest; linear beyond the table). Plain decoding costs 1 a token.
  double projected_speedup(const std::vector<double>& cost) const {
    if (cost.empty() || tokens == 0) return 0.0;
    auto cost_of = [&](size_t n) {
      if (n <= cost.size()) return cost[n - 1];
      const double slope = cost.size() > 1 ? cost.back() - cost[cost.size() - 2] : 1.0;
      return cost.back() + slope * static_cast<double>(n - cost.size());
    };
    double total = 0.0;
    for (size_t proposed = 0; proposed < stats.proposed_histogram.size(); ++proposed)
      total += static_cast<double>(stats.proposed_histogram[proposed]) * cost_of(proposed + 1);
    return total > 0 ? static_cast<double>(tokens) / total : 0.0;
  }
};

struct BenchSpecOptions {
  ModelOptions model;
  SpeculationCliOptions spec;
  std::string prompts = "../shared/data/spec_bench/question.jsonl";
  int limit = 5;
  int64_t n_predict = 128;
  bool chat = false;
  bool json = false;
  std::vector<double> cost;  // relative forward cost of 1, 2, ... tokens, for the projection
};

void bench_spec(const BenchSpecOptions& o) {
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: bench spec needs a tokenizer", l.model->dir());
  const auto prompts = read_prompts(o.prompts, o.limit);
  SamplingParams greedy;
  greedy.greedy = true;
  // Methods: plain, PLD, and the draft model when one is given.
  SpeculationCliOptions pld_cli = o.spec;
  pld_cli.mode = "pld";
  pld_cli.draft.clear();
  std::vector<std::pair<std::string, SpeculationCliOptions>> methods = {{"pld", pld_cli}};
  if (!o.spec.draft.empty()) {
    SpeculationCliOptions draft_cli = o.spec;
    draft_cli.mode = "draft";
    methods.emplace_back("draft", draft_cli);
  }
  std::vector<SpeculationSetup> setups;
  for (const auto& [name, cli] : methods) setups.push_back(make_speculation(cli, l, greedy));

  std::map<std::string, std::map<std::string, MethodTotals>> totals;  // category -> method -> totals
  Progress progress("bench spec", prompts.size());
  for (const auto& p : prompts) {
    std::string text = p.text;
    bool add_special = true;
    if (o.chat) {
      const ChatTemplate t = resolve_chat_template(l, "");
      text = render_chat(t, {{"user", p.text}});
      add_special = !chat_template_has_bos(t);
    }
    std::vector<int32_t> ids = l.tokenizer->encode(text, add_special);
    const int64_t room = l.ctx - o.n_predict;
    PANGU_CHECK(room > 1, "--ctx {} leaves no room for a prompt and {} new tokens", l.ctx, o.n_predict);
    if (static_cast<int64_t>(ids.size()) > room) ids.erase(ids.begin(), ids.end() - room);  // keep the end
    auto run_once = [&](Proposer* proposer, const SpeculationOptions& spec) {
      Session session(*l.model, l.ctx, *l.pool);
      GenerateOptions g;
      g.max_new_tokens = o.n_predict;
      g.sampling = greedy;
      g.ignore_eos = true;  // equal lengths make the timings comparable
      g.proposer = proposer;
      g.speculation = spec;
      return generate(session, nullptr, ids, g);
    };
    const GenerateResult plain = run_once(nullptr, {});
    totals[p.category]["plain"].add(plain);
    totals["all"]["plain"].add(plain);
    for (size_t m = 0; m < methods.size(); ++m) {
      // A fresh proposer per prompt, as a server would have per request; the draft model is loaded once.
      const auto proposer = setups[m].fresh();
      const GenerateResult r = run_once(proposer.get(), setups[m].options);
      for (const std::string& category : {p.category, std::string("all")}) {
        MethodTotals& t = totals[category][methods[m].first];
        t.add(r);
        t.mismatches += r.tokens != plain.tokens;
      }
    }
    progress.advance();
  }
  progress.finish();

  Json out = Json::array();
  if (!o.json) {
    fmt::print("model: {}; {} prompts, {} new tokens each, greedy; {}\n\n", l.model->dir(), prompts.size(),
               o.n_predict, o.spec.adaptive ? "adaptive K" : fmt::format("K={}", o.spec.k));
    fmt::print("| category | method | tokens/s | speedup | acceptance | mean accepted | tokens/step | identical |{}\n",
               o.cost.empty() ? "" : " projected speedup |");
    fmt::print("|---|---|---|---|---|---|---|---|{}\n", o.cost.empty() ? "" : "---|");
  }
  std::vector<std::string> categories;
  for (const auto& [category, unused] : totals)
    if (category != "all") categories.push_back(category);
  categories.push_back("all");
  std::vector<std::string> method_names = {"plain"};
  for (const auto& [name, unused] : methods) method_names.push_back(name);
  for (const std::string& category : categories) {
    const auto& by_method = totals.at(category);
    const MethodTotals& plain = by_method.at("plain");
    for (const std::string& method : method_names) {
      const MethodTotals& t = by_method.at(method);
      const double speedup = t.tokens_per_second() / std::max(plain.tokens_per_second(), 1e-9);
      const double per_step =
          t.stats.steps + t.stats.plain_steps > 0
              ? static_cast<double>(t.tokens) / (t.stats.steps + t.stats.plain_steps)
              : 1.0;
      if (o.json) {
        Json j = {{"category", category}, {"method", method}, {"tokens", t.tokens}, {"seconds", t.seconds},
                  {"tokens_per_second", t.tokens_per_second()}, {"speedup", speedup},
                  {"mismatches", t.mismatches}};
        if (method != "plain") j["speculation"] = speculation_json(t.stats);
        if (!o.cost.empty()) j["projected_speedup"] = method == "plain" ? 1.0 : t.projected_speedup(o.cost);
        out.push_back(j);
      } else {
        fmt::print("| {} | {} | {:.1f} | {:.2f}x | {} | {} | {} | {} |{}\n", category, method, t.tokens_per_second(),
                   speedup, method == "plain" ? "-" : fmt::format("{:.1f}%", 100 * t.stats.acceptance_rate()),
                   method == "plain" ? "-" : fmt::format("{:.2f}", t.stats.mean_accepted()),
                   method == "plain" ? "1.00" : fmt::format("{:.2f}", per_step),
                   method == "plain" ? "-" : (t.mismatches ? fmt::format("NO ({})", t.mismatches) : "yes"),
                   o.cost.empty() ? ""
                                  : fmt::format(" {:.2f}x |", method == "plain" ? 1.0 : t.projected_speedup(o.cost)));
      }
    }
  }
  if (o.json) fmt::print("{}\n", out.dump(2));
}

struct BenchVerifyOptions {
  ModelOptions model;
  std::vector<int> batches = {1, 2, 4, 5, 8};
  int64_t depth = 256;
  int reps = 5;
  bool json = false;
};

// Forward of n tokens at a context depth, relative to one token: the price of verifying n - 1 proposals.
void bench_verify(const BenchVerifyOptions& o) {
  Loaded l = load(o.model);
  const int max_batch = *std::max_element(o.batches.begin(), o.batches.end());
  PANGU_CHECK(o.depth + max_batch <= l.ctx, "--depth {} + batch {} exceeds the context of {}", o.depth, max_batch,
              l.ctx);
  Session session(*l.model, l.ctx, *l.pool);
  const int64_t vocab = l.model->config().vocab_size;
  std::vector<int32_t> prefix(static_cast<size_t>(o.depth));
  for (size_t i = 0; i < prefix.size(); ++i) prefix[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  if (!prefix.empty()) session.forward(prefix);
  std::vector<int32_t> batch(static_cast<size_t>(max_batch));
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<int32_t>((i * 104729 + 7) % vocab);
  std::map<int, double> best;
  session.forward(batch.data(), 1, true);  // warm up
  session.truncate(o.depth);
  for (int rep = 0; rep < o.reps; ++rep)
    for (int n : o.batches) {
      const auto t0 = std::chrono::steady_clock::now();
      session.forward(batch.data(), n, /*all_logits=*/true);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      session.truncate(o.depth);
      best[n] = best.count(n) ? std::min(best[n], s) : s;
    }
  const double one = best.count(1) ? best[1] : best.begin()->second;
  Json out = Json::array();
  if (!o.json) {
    fmt::print("model: {}; context depth {}; {} threads; best of {}\n\n", l.model->dir(), o.depth, l.pool->size(),
               o.reps);
    fmt::print("| tokens | ms | relative to 1 token |\n|---|---|---|\n");
  }
  for (const auto& [n, s] : best) {
    if (o.json)
      out.push_back({{"n_tokens", n}, {"ms", s * 1e3}, {"relative", s / one}});
    else
      fmt::print("| {} | {:.2f} | {:.3f} |\n", n, s * 1e3, s / one);
  }
  if (o.json) fmt::print("{}\n", out.dump(2));
}

}  // namespace

void register_bench_spec(CLI::App& bench) {
  auto o = std::make_shared<BenchSpecOptions>();
  CLI::App* cmd = bench.add_subcommand("spec", "plain vs PLD vs draft decoding over prompts, by category");
  o->model.add_to(*cmd);
  o->spec.add_to(*cmd);
  cmd->add_option("-f,--prompts", o->prompts, "JSONL prompts (Spec-Bench question.jsonl) or a text file")
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "prompts per category (0: all)")->capture_default_str();
  cmd->add_option("-n,--n-predict", o->n_predict, "new tokens per prompt")->capture_default_str();
  cmd->add_flag("--chat", o->chat, "wrap prompts in the model's chat template");
  cmd->add_option("--cost", o->cost,
                  "relative cost of a forward of 1, 2, 3, ... tokens (from `pangu bench verify`): adds the speedup "
                  "these acceptance figures project at that shape")
      ->delimiter(',');
  opt::json(*cmd, o->json);
  cmd->callback([o] { bench_spec(*o); });

  auto v = std::make_shared<BenchVerifyOptions>();
  CLI::App* verify = bench.add_subcommand("verify", "time of a forward of n tokens relative to 1 token");
  v->model.add_to(*verify);
  verify->add_option("--batches", v->batches, "token counts, comma-separated")->delimiter(',')->capture_default_str();
  verify->add_option("--depth", v->depth, "tokens already in the cache")->capture_default_str();
  verify->add_option("-r,--reps", v->reps, "repetitions (the best is kept)")->capture_default_str();
  opt::json(*verify, v->json);
  verify->callback([v] { bench_verify(*v); });
}

}  // namespace pangu::cli
