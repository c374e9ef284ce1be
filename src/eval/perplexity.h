// Perplexity and the quality of a compressed model against its original, the way llama.cpp's perplexity
// tool measures them: the text is cut into chunks of n_ctx tokens (the first token of each chunk replaced
// by BOS when the model has one), and in every chunk the tokens of the second half are scored, so each
// scored token sees at least n_ctx/2 tokens of context.
//
// The reference run can save the log-probabilities of every scored position; a run of the compressed
// model against that file adds KL(reference || model), "same top token" agreement and the PPL ratio.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pangu {

class Session;

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t max_chunks = 0;   // 0: every full chunk of the text
  std::string save_logits;  // write the reference log-probabilities here
  std::string kl_base;      // compare against log-probabilities saved by a reference run
};

struct PerplexityResult {
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
  int64_t n_scored = 0;
  double ppl = 0;
  double ppl_stderr = 0;
  double seconds = 0;
  bool has_base = false;  // the fields below are set with kl_base
  double ppl_base = 0;
  double ppl_ratio = 0;
  double mean_kld = 0;
  double kld_stderr = 0;
  double kld_median = 0;
  double kld_p99 = 0;
  double kld_max = 0;
  double top1_agreement = 0;  // fraction of positions whose top token is the reference's
  double top1_stderr = 0;
};

// `tokens` is the tokenized text without BOS; `bos` replaces each chunk's first token when set.
// `on_chunk(done, total)` reports progress.
PerplexityResult compute_perplexity(Session& session, const std::vector<int32_t>& tokens, std::optional<int32_t> bos,
                                    const PerplexityOptions& options,
                                    const std::function<void(int64_t, int64_t)>& on_chunk = {});

}  // namespace pangu
