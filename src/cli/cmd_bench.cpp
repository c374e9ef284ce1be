// pangu bench: llama-bench-style prompt processing (pp) and generation (tg) throughput, mean +- sd over
// repetitions, per thread count and context depth, as a markdown table or JSON with llama-bench's field
// names; `--mem` adds the machine's read bandwidth and each generation result as a fraction of the
// bandwidth roofline. Subcommands: spec (speculative decoding), verify (batch cost).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <cmath>
#include <thread>

#include "cli/common.h"
#include "core/buffer.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "kernels/kernels.h"
#include "model/weights.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct BenchOptions {
  std::string model;
  std::vector<int> threads;
  int64_t pp = 512;
  int64_t tg = 128;
  std::vector<int64_t> depths = {0};
  int reps = 5;
  bool json = false;
  bool mem = false;
  bool int8_head = false;
};

struct Sample {
  std::string test;  // "pp512", "tg128", "pp512 @ d512"
  int n_threads = 0;
  int64_t n_prompt = 0, n_gen = 0, n_depth = 0;
  std::vector<double> ts;  // tokens per second, one per repetition
  double mean() const {
    double s = 0;
    for (double v : ts) s += v;
    return ts.empty() ? 0 : s / ts.size();
  }
  double sd() const {
    if (ts.size() < 2) return 0;
    const double m = mean();
    double ss = 0;
    for (double v : ts) ss += (v - m) * (v - m);
    return std::sqrt(ss / (ts.size() - 1));
  }
};

// Bytes a decoding step streams from memory: every matrix once (the tied head is the embedding, read in
// full), norms and biases are noise. The KV cache read grows with depth and is added separately.
size_t weight_bytes_per_token(const ModelWeights& w) {
  size_t bytes = w.lm_head.stored_bytes();
  for (const auto& l : w.layers)
    for (const WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) bytes += m->stored_bytes();
  return bytes;
}

void bench(const BenchOptions& o) {
  set_log_level(LogLevel::kInfo);
  const std::string dir = resolve_model_path(o.model);
  LoadOptions load_options;
  load_options.int8_head = o.int8_head;
  const auto model = Model::load(dir, load_options);
  const ModelConfig& c = model->config();
  size_t model_size = 0;
  if (std::filesystem::is_regular_file(dir)) {
    model_size = std::filesystem::file_size(dir);  // a GGUF file: its tensors were converted at load
  } else {
    for (const auto& [name, t] : model->checkpoint().tensors())
      if (!(name == "lm_head.weight" && c.tie_word_embeddings)) model_size += t.n_bytes;
  }
  int64_t n_params = 0;
  for (const auto& spec : expected_tensors(c)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    n_params += n;
  }
  std::string scheme = c.quantize.empty() ? (c.torch_dtype.empty() ? "float" : c.torch_dtype) : c.quantize;
  if (o.int8_head) scheme += " (int8 head)";
  std::vector<int> thread_counts = o.threads;
  if (thread_counts.empty()) thread_counts.push_back(ThreadPool::default_threads());
  const int64_t max_depth = *std::max_element(o.depths.begin(), o.depths.end());
  const int64_t n_ctx = max_depth + std::max<int64_t>(o.pp, o.tg) + 1;
  const int64_t vocab = c.vocab_size;
  auto token = [vocab](int64_t i) { return static_cast<int32_t>((i * 7919 + 13) % vocab); };

  std::vector<Sample> samples;
  double bandwidth = 0;
  for (int threads : thread_counts) {
    PANGU_CHECK(threads >= 1 && threads <= kMaxThreads, "-t/--threads {}: expected 1 to {} threads", threads,
                kMaxThreads);
    ThreadPool pool(threads);
    if (o.mem && bandwidth == 0) bandwidth = measure_read_bandwidth(pool);
    Session session(*model, n_ctx, pool);
    std::vector<int32_t> ids(static_cast<size_t>(n_ctx));
    for (int64_t i = 0; i < n_ctx; ++i) ids[i] = token(i);
    for (int64_t depth : o.depths) {
      auto fill_to_depth = [&] {
        session.truncate(0);
        if (depth > 0) session.forward(ids.data(), depth);
      };
      for (const bool is_pp : {true, false}) {
        const int64_t n = is_pp ? o.pp : o.tg;
        if (n <= 0) continue;
        Sample s;
        s.test = fmt::format("{}{}{}", is_pp ? "pp" : "tg", n, depth ? fmt::format(" @ d{}", depth) : "");
        s.n_threads = threads;
        s.n_prompt = is_pp ? n : 0;
        s.n_gen = is_pp ? 0 : n;
        s.n_depth = depth;
        for (int rep = -1; rep < o.reps; ++rep) {  // rep -1 warms caches and pages up
          fill_to_depth();
          const auto t0 = std::chrono::steady_clock::now();
          if (is_pp) {
            session.forward(ids.data() + depth, n);
          } else {
            for (int64_t i = 0; i < n; ++i) session.forward(&ids[depth + i], 1);
          }
          const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (rep >= 0) s.ts.push_back(n / sec);
        }
        samples.push_back(std::move(s));
      }
    }
  }

  const size_t bytes_per_token = weight_bytes_per_token(model->weights());
  auto kv_bytes = [&](int64_t depth) {  // K and V of every layer up to the position, f32
    return static_cast<size_t>(2 * c.n_layers * c.kv_dim() * sizeof(float)) * static_cast<size_t>(depth);
  };
  if (o.json) {
    Json out = Json::array();
    for (const Sample& s : samples) {
      Json j = {{"model_filename", dir},
                {"model_type", fmt::format("{} {}", c.model_type, scheme)},
                {"model_size", model_size},
                {"model_n_params", n_params},
                {"weight_scheme", scheme},
                {"cpu_info", cpu_features_string()},
                {"simd", std::string(simd_name(active_simd()))},
                {"n_threads", s.n_threads},
                {"n_prompt", s.n_prompt},
                {"n_gen", s.n_gen},
                {"n_depth", s.n_depth},
                {"avg_ts", s.mean()},
                {"stddev_ts", s.sd()},
                {"samples_ts", s.ts}};
      if (o.mem && s.n_gen > 0) {
        const double roofline = bandwidth / static_cast<double>(bytes_per_token + kv_bytes(s.n_depth + s.n_gen / 2));
        j["read_bandwidth_gbs"] = bandwidth / 1e9;
        j["roofline_ts"] = roofline;
        j["roofline_fraction"] = s.mean() / roofline;
      }
      out.push_back(j);
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("model: {} ({}, {} params, {}), cpu: {}, kernels {}\n", dir, scheme, format_count(n_params),
             format_bytes(model_size), cpu_features_string(), simd_name(active_simd()));
  if (o.mem)
    fmt::print("read bandwidth: {:.1f} GB/s; a token streams {} of weights\n", bandwidth / 1e9,
               format_bytes(bytes_per_token));
  fmt::print("\n| model | size | params | scheme | threads | test | t/s |{}\n", o.mem ? " roofline t/s | of roofline |" : "");
  fmt::print("|---|---|---|---|---|---|---|{}\n", o.mem ? "---|---|" : "");
  for (const Sample& s : samples) {
    std::string mem_cols;
    if (o.mem) {
      if (s.n_gen > 0) {
        const double roofline = bandwidth / static_cast<double>(bytes_per_token + kv_bytes(s.n_depth + s.n_gen / 2));
        mem_cols = fmt::format(" {:.2f} | {:.0f}% |", roofline, 100 * s.mean() / roofline);
      } else {
        mem_cols = " - | - |";
      }
    }
    fmt::print("| {} | {} | {} | {} | {} | {} | {:.2f} ± {:.2f} |{}\n", c.model_type, format_bytes(model_size),
               format_count(n_params), scheme, s.n_threads, s.test, s.mean(), s.sd(), mem_cols);
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "llama-bench-style pp/tg throughput; subcommands: spec (speculative decoding), verify (batch cost), train (fwd+bwd)");
  cmd->require_subcommand(0, 1);
  opt::model(*cmd, o->model);
  cmd->add_option("-t,--threads", o->threads, "thread counts, comma-separated (default: all cores)")->delimiter(',');
  cmd->add_option("--pp,-p,--n-prompt", o->pp, "prompt tokens processed in one batch (0 skips)")->capture_default_str();
  cmd->add_option("--tg,-n,--n-gen", o->tg, "tokens generated one at a time (0 skips)")->capture_default_str();
  cmd->add_option("-d,--depth", o->depths, "context depths, comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("-r,--reps", o->reps, "repetitions")->capture_default_str();
  opt::json(*cmd, o->json, "JSON output (llama-bench field names)");
  cmd->add_flag("--int8-head", o->int8_head, "quantize a float output head to int8 at load");
  cmd->add_flag("--mem", o->mem, "measure read bandwidth; show generation as a fraction of the roofline");
  register_bench_spec(*cmd);
  register_bench_train(*cmd);
  cmd->callback([o, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // a subcommand ran
    PANGU_CHECK(!o->model.empty(), "bench: give a model with -m MODEL");
    PANGU_CHECK(o->reps >= 1, "--reps {}: expected at least 1", o->reps);
    bench(*o);
  });
}

}  // namespace pangu::cli
