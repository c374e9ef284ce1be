// pangu adapt: recognize what a request is (classify, train-intent, eval-intent); docs/adapt.md.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "adapt/lexical_intent.h"
#include "adapt/model_intent.h"
#include "cli/common.h"
#include "core/log.h"
#include "io/json_file.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct RecognizerOptions {
  std::string recognizer = "lexical";
  std::string intent_model;  // a lexical model file instead of the built-in one
  std::string model;         // the language model of probe and prompt
  std::string probe;         // the probe head (default: MODEL/intent_probe.json)
  int threads = 0;
  CLI::Option* threads_option = nullptr;
  void add_to(CLI::App& app) {
    app.add_option("--recognizer", recognizer,
                   "lexical (the default; no model needed) | probe (a head on -m MODEL's states) | prompt "
                   "(zero-shot, -m MODEL is asked)")
        ->capture_default_str();
    app.add_option("--intent-model", intent_model, "a lexical model file from train-intent (default: built in)");
    opt::model(app, model, "the language model for --recognizer probe or prompt");
    app.add_option("--probe", probe, "the probe head from train-intent --probe (default: MODEL/intent_probe.json)");
    threads_option = opt::threads(app, threads);
  }
};

// A recognizer with the model it may need kept alive beside it.
struct RecognizerSetup {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<IntentRecognizer> recognizer;
  IntentRecognizer* operator->() const { return recognizer.get(); }
};

void load_language_model(const RecognizerOptions& o, RecognizerSetup& s) {
  PANGU_CHECK(!o.model.empty(), "--recognizer {} needs -m MODEL", o.recognizer);
  const std::string dir = resolve_model_path(o.model);
  s.model = Model::load(dir);
  s.tokenizer = load_tokenizer(dir);
  PANGU_CHECK(s.tokenizer, "{}: --recognizer {} needs the model's tokenizer", dir, o.recognizer);
  s.pool = std::make_unique<ThreadPool>(resolve_threads(o.threads_option, o.threads, matmul_macs_per_token(s.model->config())));
}

RecognizerSetup make_recognizer(const RecognizerOptions& o) {
  RecognizerSetup s;
  if (o.recognizer == "lexical") {
    s.recognizer = o.intent_model.empty() ? std::make_unique<LexicalIntentModel>(LexicalIntentModel::builtin())
                                          : std::make_unique<LexicalIntentModel>(LexicalIntentModel::load(o.intent_model));
  } else if (o.recognizer == "probe") {
    load_language_model(o, s);
    const std::string path = o.probe.empty() ? s.model->dir() + "/intent_probe.json" : o.probe;
    s.recognizer = std::make_unique<ProbeIntentRecognizer>(*s.model, *s.tokenizer, *s.pool, ProbeHead::load(path));
  } else if (o.recognizer == "prompt") {
    load_language_model(o, s);
    s.recognizer = std::make_unique<PromptIntentRecognizer>(*s.model, *s.tokenizer, *s.pool);
  } else {
    fail("--recognizer {}: expected lexical, probe or prompt", o.recognizer);
  }
  return s;
}

Json result_json(const IntentResult& r) {
  Json scores = Json::object();
  for (int c = 0; c < kIntentCount; ++c) scores[std::string(intent_name(static_cast<Intent>(c)))] = r.scores[c];
  return {{"category", intent_name(r.label)}, {"confidence", r.confidence}, {"uncertain", r.uncertain},
          {"scores", scores}};
}

// ---- classify

struct ClassifyOptions {
  RecognizerOptions recognizer;
  std::string prompt;
  std::string file;
  bool json = false;
};

void classify(const ClassifyOptions& o) {
  const auto recognizer = make_recognizer(o.recognizer);
  auto show = [&](const std::string& text, const Json* extra) {
    const IntentResult r = recognizer->classify(text);
    if (o.json) {
      Json j = result_json(r);
      if (extra) j["label"] = *extra;
      fmt::print("{}\n", j.dump());
    } else {
      fmt::print("{}\t{:.3f}{}{}\n", intent_name(r.label), r.confidence, r.uncertain ? "\tuncertain" : "",
                 extra ? "\t(labelled " + extra->get<std::string>() + ")" : "");
    }
  };
  if (!o.file.empty()) {
    const std::string text = read_text_file(o.file, "requests file");
    for_each_jsonl_record(text, o.file, [&](Json& r, int64_t line) {
      const std::string where = fmt::format("{}:{}", o.file, line);
      const std::string request =
          r.is_string() ? r.get<std::string>() : json_required<std::string>(r, r.contains("text") ? "text" : "prompt", where);
      const Json* label = r.is_object() && r.contains("label") ? &r["label"] : nullptr;
      show(request, label);
    });
    return;
  }
  PANGU_CHECK(!is_blank_request(o.prompt),
              "-p/--prompt: the request is empty; there is nothing to classify");
  show(o.prompt, nullptr);
}

// ---- train-intent

struct TrainIntentOptions {
  std::string data = "build/intent";
  std::string out;
  LexicalTrainOptions train;
  bool probe = false;
  RecognizerOptions model;  // for --probe
  ProbeTrainOptions probe_train;
};

// The probe: pooled states of up to --per-category training requests of each category (in corpus order,
// so the same corpus gives the same head), a linear head trained on them.
void train_probe_head(const TrainIntentOptions& o) {
  RecognizerOptions m = o.model;
  m.recognizer = "probe";
  RecognizerSetup s;
  load_language_model(m, s);
  const std::string out = o.out.empty() ? s.model->dir() + "/intent_probe.json" : o.out;
  check_output_path(out, "-o/--out");
  const auto train = load_intent_samples(o.data + "/train.jsonl");
  std::array<int64_t, kIntentCount> taken{};
  std::vector<std::vector<float>> pooled;
  std::vector<Intent> labels;
  std::vector<const IntentSample*> chosen;
  for (const auto& sample : train)
    if (taken[static_cast<int>(sample.label)]++ < o.probe_train.per_category) chosen.push_back(&sample);
  Progress progress("probe states", chosen.size());
  for (const IntentSample* sample : chosen) {
    pooled.push_back(pooled_final_norm(*s.model, *s.tokenizer, *s.pool, sample->text));
    labels.push_back(sample->label);
    progress.advance();
  }
  progress.finish();
  ProbeHead head = train_probe(pooled, labels, o.probe_train);
  head.model = s.model->dir();
  // The threshold as the lexical recognizer's: from the dev split, where predictions at or above it are right
  // at least 98% of the time (or never, for a model whose states say little: then every result is uncertain).
  const auto dev = load_intent_samples(o.data + "/dev.jsonl");
  std::vector<std::pair<float, bool>> results;
  size_t right = 0;
  ProbeIntentRecognizer recognizer(*s.model, *s.tokenizer, *s.pool, head);
  for (size_t i = 0; i < dev.size(); i += std::max<size_t>(1, dev.size() / 400)) {
    const IntentResult r = recognizer.classify(dev[i].text);
    results.push_back({r.confidence, r.label == dev[i].label});
    right += r.label == dev[i].label;
  }
  std::sort(results.begin(), results.end());
  head.threshold = 1.0f;
  for (size_t i = 0, right_above = right; i < results.size(); right_above -= results[i].second, ++i)
    if (static_cast<double>(right_above) / static_cast<double>(results.size() - i) >= 0.98) {
      head.threshold = results[i].first;
      break;
    }
  write_text_file_atomic(out, head.to_json());
  log_info("train-intent --probe: wrote {}; dev accuracy {:.2f}% on {} requests, certainty threshold {:.3f}", out,
           100.0 * right / std::max<size_t>(results.size(), 1), results.size(), head.threshold);
}

void train_intent(const TrainIntentOptions& o) {
  if (o.probe) return train_probe_head(o);
  PANGU_CHECK(!o.out.empty(), "train-intent: -o/--out FILE is required (e.g. data/intent/lexical.pgi)");
  const auto train = load_intent_samples(o.data + "/train.jsonl");
  const auto dev = load_intent_samples(o.data + "/dev.jsonl");
  log_info("train-intent: {} training and {} dev requests from {}", train.size(), dev.size(), o.data);
  check_output_path(o.out, "-o/--out");
  LexicalTrainReport report;
  const LexicalIntentModel m = train_lexical_intent(train, dev, o.train, &report);
  m.save(o.out);
  log_info("train-intent: wrote {} ({}); train accuracy {:.2f}%, dev accuracy {:.2f}%, certainty threshold {:.3f}",
           o.out, format_bytes(static_cast<double>(m.to_bytes().size())), 100 * report.train_accuracy,
           100 * report.dev_accuracy, report.threshold);
}

// ---- eval-intent

struct EvalIntentOptions {
  RecognizerOptions recognizer;
  std::string data = "build/intent";
  std::string split = "test";
  bool json = false;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

// A request of exactly `chars` characters made of `text` repeated (for latency at a fixed size).
std::string at_length(const std::string& text, size_t chars) {
  std::string out;
  size_t n = 0;
  for (size_t i = 0; n < chars && !text.empty(); i = (i + 1) % text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (++n > chars) break;
    }
    out.push_back(text[i]);
  }
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  return out;
}

void eval_intent(const EvalIntentOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto recognizer = make_recognizer(o.recognizer);
  const auto samples = load_intent_samples(o.data + "/" + o.split + ".jsonl");
  PANGU_CHECK(!samples.empty(), "{}/{}.jsonl: no requests", o.data, o.split);
  std::array<std::array<int, kIntentCount>, kIntentCount> confusion{};  // [truth][predicted]
  std::map<std::string, std::pair<int, int>> by_lang;                   // "label/lang" -> (right, total)
  std::vector<double> latency_us, latency_2000_us;
  int right = 0, uncertain = 0;
  for (const auto& s : samples) {
    const auto t0 = Clock::now();
    const IntentResult r = recognizer->classify(s.text);
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    ++confusion[static_cast<int>(s.label)][static_cast<int>(r.label)];
    right += r.label == s.label;
    uncertain += r.uncertain;
    auto& cell = by_lang[std::string(intent_name(s.label)) + "/" + (s.lang.empty() ? "?" : s.lang)];
    cell.first += r.label == s.label;
    ++cell.second;
    const std::string fixed = at_length(s.text, 2000);
    const auto t1 = Clock::now();
    (void)recognizer->classify(fixed);
    latency_2000_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t1).count());
  }
  Json categories = Json::object();
  double f1_sum = 0;
  for (int c = 0; c < kIntentCount; ++c) {
    int tp = confusion[c][c], predicted = 0, actual = 0;
    for (int k = 0; k < kIntentCount; ++k) {
      predicted += confusion[k][c];
      actual += confusion[c][k];
    }
    const double p = predicted ? static_cast<double>(tp) / predicted : 0.0;
    const double r = actual ? static_cast<double>(tp) / actual : 0.0;
    const double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    f1_sum += f1;
    categories[std::string(intent_name(static_cast<Intent>(c)))] = {{"precision", p}, {"recall", r}, {"f1", f1}, {"n", actual}};
  }
  Json langs = Json::object();
  for (const auto& [key, v] : by_lang) langs[key] = {{"recall", static_cast<double>(v.first) / v.second}, {"n", v.second}};
  Json j = {{"recognizer", recognizer->name()},
            {"split", o.split},
            {"n", samples.size()},
            {"accuracy", static_cast<double>(right) / samples.size()},
            {"macro_f1", f1_sum / kIntentCount},
            {"uncertain", uncertain},
            {"categories", categories},
            {"recall_by_language", langs},
            {"confusion", confusion},
            {"latency_us", {{"p50", percentile(latency_us, 0.5)}, {"p99", percentile(latency_us, 0.99)}}},
            {"latency_2000_chars_us",
             {{"p50", percentile(latency_2000_us, 0.5)}, {"p99", percentile(latency_2000_us, 0.99)}}}};
  if (o.json) {
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("recognizer {} on {}/{}.jsonl: {} requests, accuracy {:.2f}%, macro-F1 {:.4f}, {} uncertain\n",
             recognizer->name(), o.data, o.split, samples.size(), 100.0 * right / samples.size(),
             f1_sum / kIntentCount, uncertain);
  fmt::print("latency per request (1 thread): p50 {:.1f} us, p99 {:.1f} us; at 2,000 characters: p50 {:.1f} us, p99 {:.1f} us\n\n",
             percentile(latency_us, 0.5), percentile(latency_us, 0.99), percentile(latency_2000_us, 0.5),
             percentile(latency_2000_us, 0.99));
  fmt::print("| category | n | precision | recall | F1 |\n|---|---:|---:|---:|---:|\n");
  for (int c = 0; c < kIntentCount; ++c) {
    const auto& v = categories[std::string(intent_name(static_cast<Intent>(c)))];
    fmt::print("| {} | {} | {:.3f} | {:.3f} | {:.3f} |\n", intent_name(static_cast<Intent>(c)), v["n"].get<int>(),
               v["precision"].get<double>(), v["recall"].get<double>(), v["f1"].get<double>());
  }
  fmt::print("\n| category/language | n | recall |\n|---|---:|---:|\n");
  for (const auto& [key, v] : by_lang) fmt::print("| {} | {} | {:.3f} |\n", key, v.second, static_cast<double>(v.first) / v.second);
  fmt::print("\nconfusion (rows: labelled, columns: predicted)\n{:>14}", "");
  for (int c = 0; c < kIntentCount; ++c) fmt::print(" {:>6.6}", intent_name(static_cast<Intent>(c)));
  fmt::print("\n");
  for (int t = 0; t < kIntentCount; ++t) {
    fmt::print("{:>14}", intent_name(static_cast<Intent>(t)));
    for (int c = 0; c < kIntentCount; ++c) fmt::print(" {:>6}", confusion[t][c]);
    fmt::print("\n");
  }
}

}  // namespace

void register_adapt(CLI::App& app) {
  CLI::App* adapt = app.add_subcommand("adapt", "adaptive optimization: recognize what a request is, pick a strategy");
  adapt->require_subcommand(1);
  register_adapt_recommend(*adapt);
  register_adapt_profile(*adapt);
  register_adapt_workload(*adapt);

  auto c = std::make_shared<ClassifyOptions>();
  CLI::App* classify_cmd = adapt->add_subcommand("classify", "the category of a request (or of each line of a JSONL file)");
  auto* p = classify_cmd->add_option("-p,--prompt", c->prompt, "the request text");
  auto* f = classify_cmd->add_option("-f,--file", c->file, "JSONL: a string, or {\"text\"|\"prompt\", \"label\"?} per line");
  p->excludes(f);
  c->recognizer.add_to(*classify_cmd);
  opt::json(*classify_cmd, c->json, "one JSON object per request: category, confidence, uncertain, scores");
  classify_cmd->callback([c, p, f] {
    PANGU_CHECK(p->count() || f->count(), "adapt classify: give a request with -p TEXT or -f FILE.jsonl");
    classify(*c);
  });

  auto t = std::make_shared<TrainIntentOptions>();
  CLI::App* train_cmd = adapt->add_subcommand("train-intent", "train the lexical recognizer on a corpus (train/dev.jsonl)");
  train_cmd->add_option("--data", t->data, "corpus directory from scripts/intent_corpus.py")->capture_default_str();
  opt::out(*train_cmd, t->out, "the file to write (lexical: e.g. data/intent/lexical.pgi; --probe: default MODEL/intent_probe.json)");
  train_cmd->add_flag("--probe", t->probe, "train a probe head on -m MODEL's hidden states instead of the lexical model");
  opt::model(*train_cmd, t->model.model, "the language model for --probe");
  t->model.threads_option = opt::threads(*train_cmd, t->model.threads);
  train_cmd->add_option("--per-category", t->probe_train.per_category, "--probe: training requests per category")
      ->capture_default_str();
  train_cmd->add_option("--bucket-bits", t->train.bucket_bits, "2^bits hashed feature buckets")->capture_default_str();
  train_cmd->add_option("--epochs", t->train.epochs, "passes over the training split")->capture_default_str();
  opt::seed(*train_cmd, t->train.seed, "shuffling seed (the output is bit-reproducible from it)")->capture_default_str();
  train_cmd->callback([t] { train_intent(*t); });

  auto e = std::make_shared<EvalIntentOptions>();
  CLI::App* eval_cmd = adapt->add_subcommand("eval-intent", "accuracy, macro-F1, per-category P/R, confusion, latency");
  eval_cmd->add_option("--data", e->data, "corpus directory from scripts/intent_corpus.py")->capture_default_str();
  eval_cmd->add_option("--split", e->split, "train | dev | test")->capture_default_str();
  e->recognizer.add_to(*eval_cmd);
  opt::json(*eval_cmd, e->json);
  eval_cmd->callback([e] { eval_intent(*e); });
}

}  // namespace pangu::cli
