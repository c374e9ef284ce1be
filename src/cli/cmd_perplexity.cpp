// pangu perplexity: PPL of a text, and with a reference run's saved log-probabilities, the KL divergence,
// top-token agreement and PPL ratio of a compressed model (llama.cpp's perplexity tool, same chunking).
#include <fmt/format.h>

#include "cli/common.h"
#include "core/log.h"
#include "eval/perplexity.h"
#include "io/json_file.h"
#include "io/text_corpus.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct PerplexityCliOptions {
  ModelOptions model;
  std::vector<std::string> files;
  int64_t chunks = 0;
  std::string save_logits;
  std::string kl_base;
  bool json = false;
  bool no_bos = false;
};

void print_result(const PerplexityResult& r, const std::string& model) {
  fmt::print("model:           {}\n", model);
  fmt::print("chunks:          {} of {} tokens, {} tokens scored ({:.1f} tokens/s)\n", r.n_chunks, r.n_ctx,
             r.n_scored, r.n_chunks * r.n_ctx / std::max(r.seconds, 1e-9));
  fmt::print("PPL:             {:.4f} +/- {:.4f}\n", r.ppl, r.ppl_stderr);
  if (!r.has_base) return;
  fmt::print("PPL (reference): {:.4f}\n", r.ppl_base);
  fmt::print("PPL ratio:       {:.5f} (delta {:+.4f})\n", r.ppl_ratio, r.ppl - r.ppl_base);
  fmt::print("mean KLD:        {:.6f} +/- {:.6f}\n", r.mean_kld, r.kld_stderr);
  fmt::print("median KLD:      {:.6f}\n", r.kld_median);
  fmt::print("99% KLD:         {:.6f}\n", r.kld_p99);
  fmt::print("max KLD:         {:.6f}\n", r.kld_max);
  fmt::print("same top token:  {:.3f} +/- {:.3f} %\n", 100 * r.top1_agreement, 100 * r.top1_stderr);
}

void print_json(const PerplexityResult& r, const std::string& model) {
  Json j = {{"model", model},         {"n_ctx", r.n_ctx}, {"n_chunks", r.n_chunks}, {"n_scored", r.n_scored},
            {"ppl", r.ppl},           {"ppl_stderr", r.ppl_stderr}, {"seconds", r.seconds}};
  if (r.has_base) {
    j["ppl_base"] = r.ppl_base;
    j["ppl_ratio"] = r.ppl_ratio;
    j["delta_ppl"] = r.ppl - r.ppl_base;
    j["mean_kld"] = r.mean_kld;
    j["kld_stderr"] = r.kld_stderr;
    j["kld_median"] = r.kld_median;
    j["kld_p99"] = r.kld_p99;
    j["kld_max"] = r.kld_max;
    j["top1_agreement"] = r.top1_agreement;
    j["top1_stderr"] = r.top1_stderr;
  }
  fmt::print("{}\n", j.dump());
}

void perplexity(const PerplexityCliOptions& o) {
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: no tokenizer.json or tokenizer.model; perplexity needs one", l.model->dir());
  const std::string text = read_text_corpus(o.files);
  const std::vector<int32_t> tokens = l.tokenizer->encode(text, /*add_special=*/false);
  PerplexityOptions p;
  // llama.cpp's default chunk is 512 tokens; a model with a shorter context uses all of it.
  p.n_ctx = o.model.ctx > 0 ? o.model.ctx : std::min<int64_t>(512, l.ctx);
  p.max_chunks = o.chunks;
  p.save_logits = o.save_logits;
  p.kl_base = o.kl_base;
  std::optional<int32_t> bos;
  if (!o.no_bos && l.tokenizer->bos_id()) bos = *l.tokenizer->bos_id();
  log_info("{} tokens of text; chunks of {}", tokens.size(), p.n_ctx);
  Session session(*l.model, p.n_ctx, *l.pool, l.kv_type);
  std::unique_ptr<Progress> progress;
  const PerplexityResult r = compute_perplexity(session, tokens, bos, p, [&](int64_t done, int64_t total) {
    if (!progress) progress = std::make_unique<Progress>("perplexity", static_cast<size_t>(total));
    progress->advance();
  });
  if (progress) progress->finish();
  if (o.json)
    print_json(r, l.model->dir());
  else
    print_result(r, l.model->dir());
}

}  // namespace

void register_perplexity(CLI::App& app) {
  auto o = std::make_shared<PerplexityCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "perplexity", "perplexity of a text; with --kl-base, KL divergence and top-token agreement vs a reference");
  o->model.add_to(*cmd);
  cmd->add_option("-f,--file", o->files,
                  "text: plain text, JSONL (string fields), CSV (cells) or a directory of them (repeatable)")
      ->required();
  cmd->add_option("--chunks", o->chunks, "score at most this many chunks (default: all)");
  cmd->add_option("--save-logits", o->save_logits,
                  "write the log-probabilities of every scored position (reference model)");
  cmd->add_option("--kl-base", o->kl_base, "compare with log-probabilities saved by --save-logits");
  opt::json(*cmd, o->json, "print the figures as one JSON object");
  cmd->add_flag("--no-bos", o->no_bos, "do not put BOS at the start of each chunk");
  cmd->callback([o] { perplexity(*o); });
}

}  // namespace pangu::cli
