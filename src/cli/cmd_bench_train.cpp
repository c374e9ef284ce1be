// pangu bench train: forward + backward throughput of the training loop (tokens/s) at a model's shape, so
// a user can plan a pruning or distillation run. Random token ids; no tokenizer needed.
#include <fmt/format.h>

#include <chrono>
#include <random>

#include "cli/common.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "pangu/error.h"
#include "train/backprop.h"
#include "train/distill.h"

namespace pangu::cli {

namespace {

struct BenchTrainOptions {
  std::string model;
  int threads = 0;
  CLI::Option* threads_option = nullptr;
  int64_t seq_len = 128;
  int64_t reps = 3;
  bool mlp_only = false;
  bool kl = false;
};

void bench_train(const BenchTrainOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto model = Model::load(resolve_model_path(o.model));
  const Params<float> params = params_from_model(*model);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ThreadPool pool(resolve_threads(o.threads_option, o.threads));
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(model->config().vocab_size - 1));
  std::vector<int32_t> seq(static_cast<size_t>(o.seq_len));
  for (auto& t : seq) t = token(rng);
  std::vector<float> teacher;
  LossSpec loss{1.0, o.kl ? 1.0 : 0.0, 1.0};
  if (o.kl) {
    Session session(*model, o.seq_len, pool);
    const float* logits = session.forward(seq, true);
    teacher.assign(logits, logits + o.seq_len * model->config().vocab_size);
  }
  Params<float> grads = trainable_gradients(params.config, o.mlp_only);
  std::vector<double> rates;
  for (int64_t r = 0; r < o.reps + 1; ++r) {  // the first repetition warms caches and is not counted
    const auto start = std::chrono::steady_clock::now();
    forward_backward(params, seq.data(), o.seq_len, o.kl ? teacher.data() : nullptr, loss, &grads, &pool);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) rates.push_back(static_cast<double>(o.seq_len) / s);
  }
  double mean = 0, var = 0;
  for (double x : rates) mean += x / static_cast<double>(rates.size());
  for (double x : rates) var += (x - mean) * (x - mean) / std::max<double>(1.0, static_cast<double>(rates.size() - 1));
  fmt::print("| model | params | trained | seq_len | threads | fwd+bwd tokens/s | load + widen to f32 |\n"
             "|---|---:|---|---:|---:|---:|---:|\n");
  fmt::print("| {} | {} | {} | {} | {} | {:.1f} ± {:.1f} | {:.1f} s |\n", model->dir(),
             format_count(static_cast<double>(count_parameters(params))), o.mlp_only ? "MLP" : "all", o.seq_len,
             pool.size(), mean, std::sqrt(var), load_s);
}

}  // namespace

void register_bench_train(CLI::App& bench) {
  auto o = std::make_shared<BenchTrainOptions>();
  CLI::App* cmd = bench.add_subcommand("train", "forward + backward tokens/s of the training loop");
  opt::model(*cmd, o->model)->required();
  o->threads_option = opt::threads(*cmd, o->threads);
  cmd->add_option("--seq-len", o->seq_len, "tokens per sequence")->capture_default_str();
  cmd->add_option("-r,--reps", o->reps, "timed repetitions")->capture_default_str();
  cmd->add_flag("--mlp-only", o->mlp_only, "weight gradients for the MLP only (as pruning's Taylor scores)");
  cmd->add_flag("--kl", o->kl, "add the KL loss against precomputed teacher logits (as distillation)");
  cmd->callback([o] { bench_train(*o); });
}

}  // namespace pangu::cli
