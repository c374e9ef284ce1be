#include "eval/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "eval/log_prob.h"
#include "pangu/error.h"
#include "pangu/model.h"

namespace pangu {

namespace {

constexpr char kMagic[8] = {'P', 'A', 'N', 'G', 'U', 'L', 'P', '1'};

// The saved reference: a header, the token ids, then float32 log-probabilities [n_scored, vocab].
struct LogitsHeader {
  char magic[8];
  int64_t vocab;
  int64_t n_ctx;
  int64_t n_chunks;
  int64_t first;  // first scored position of each chunk
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_file(const std::string& path, const char* mode, const char* what) {
  File f(std::fopen(path.c_str(), mode));
  if (!f) fail("{}: cannot open {}: {}", path, what, std::strerror(errno));
  return f;
}

void write_all(std::FILE* f, const void* data, size_t bytes, const std::string& path) {
  if (std::fwrite(data, 1, bytes, f) != bytes) fail("{}: write failed: {}", path, std::strerror(errno));
}

void read_all(std::FILE* f, void* data, size_t bytes, const std::string& path) {
  if (std::fread(data, 1, bytes, f) != bytes) fail("{}: file is truncated", path);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double stderr_of_mean(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

PerplexityResult compute_perplexity(Session& session, const std::vector<int32_t>& tokens, std::optional<int32_t> bos,
                                    const PerplexityOptions& o, const std::function<void(int64_t, int64_t)>& on_chunk) {
  const int64_t n_ctx = o.n_ctx;
  const int64_t vocab = session.vocab_size();
  if (n_ctx < 4) fail("--ctx {}: expected at least 4 tokens per chunk", n_ctx);
  if (n_ctx > session.n_ctx())
    fail("--ctx {}: larger than the session's context of {} tokens", n_ctx, session.n_ctx());
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (o.max_chunks > 0) n_chunks = std::min(n_chunks, o.max_chunks);
  if (n_chunks == 0)
    fail("the text has {} tokens, fewer than one chunk of {}; give more text or a smaller --ctx", tokens.size(),
         n_ctx);
  const int64_t first = n_ctx / 2;

  std::vector<int32_t> used(tokens.begin(), tokens.begin() + n_chunks * n_ctx);
  if (bos)
    for (int64_t c = 0; c < n_chunks; ++c) used[c * n_ctx] = *bos;
  const LogitsHeader header{{}, vocab, n_ctx, n_chunks, first};

  File save, base;
  const std::string save_tmp = o.save_logits + ".tmp";
  if (!o.save_logits.empty()) {
    save = open_file(save_tmp, "wb", "the logits file for writing");
    LogitsHeader h = header;
    std::memcpy(h.magic, kMagic, 8);
    write_all(save.get(), &h, sizeof h, save_tmp);
    write_all(save.get(), used.data(), used.size() * sizeof(int32_t), save_tmp);
  }
  if (!o.kl_base.empty()) {
    base = open_file(o.kl_base, "rb", "the reference logits (--kl-base)");
    LogitsHeader h;
    read_all(base.get(), &h, sizeof h, o.kl_base);
    if (std::memcmp(h.magic, kMagic, 8) != 0) fail("{}: not a pangu logits file (written by --save-logits)", o.kl_base);
    if (h.vocab != vocab || h.n_ctx != n_ctx || h.n_chunks != n_chunks || h.first != first)
      fail("{}: saved with vocab {}, ctx {}, {} chunks; this run has vocab {}, ctx {}, {} chunks", o.kl_base, h.vocab,
           h.n_ctx, h.n_chunks, vocab, n_ctx, n_chunks);
    std::vector<int32_t> saved(used.size());
    read_all(base.get(), saved.data(), saved.size() * sizeof(int32_t), o.kl_base);
    const auto diff = std::mismatch(saved.begin(), saved.end(), used.begin());
    if (diff.first != saved.end())
      fail("{}: token {} is {} there and {} here; the reference was computed on other text or with another "
           "tokenizer",
           o.kl_base, diff.first - saved.begin(), *diff.first, *diff.second);
  }

  PerplexityResult r;
  r.n_ctx = n_ctx;
  r.n_chunks = n_chunks;
  std::vector<double> nll, base_nll, kld;
  std::vector<float> logprobs(static_cast<size_t>(vocab)), base_logprobs(static_cast<size_t>(vocab));
  int64_t top1_same = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t c = 0; c < n_chunks; ++c) {
    session.truncate(0);
    const int32_t* chunk = used.data() + c * n_ctx;
    const float* logits = session.forward(chunk, n_ctx, /*all_logits=*/true);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* row = logits + j * vocab;
      const double log_z = log_normalizer(row, vocab);
      const int32_t target = chunk[j + 1];
      nll.push_back(log_z - row[target]);
      if (save || base)
        for (int64_t v = 0; v < vocab; ++v) logprobs[v] = static_cast<float>(row[v] - log_z);
      if (save) write_all(save.get(), logprobs.data(), logprobs.size() * sizeof(float), save_tmp);
      if (base) {
        read_all(base.get(), base_logprobs.data(), base_logprobs.size() * sizeof(float), o.kl_base);
        double kl = 0;
        for (int64_t v = 0; v < vocab; ++v) {
          const double lb = base_logprobs[v];
          kl += std::exp(lb) * (lb - static_cast<double>(logprobs[v]));
        }
        kld.push_back(std::max(kl, 0.0));  // rounding can leave -1e-12 for identical distributions
        base_nll.push_back(-static_cast<double>(base_logprobs[target]));
        const auto argmax = [vocab](const float* p) { return std::max_element(p, p + vocab) - p; };
        top1_same += argmax(base_logprobs.data()) == argmax(logprobs.data());
      }
    }
    if (on_chunk) on_chunk(c + 1, n_chunks);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.n_scored = static_cast<int64_t>(nll.size());
  r.ppl = std::exp(mean(nll));
  r.ppl_stderr = r.ppl * stderr_of_mean(nll);  // delta method: d exp(m) = exp(m) dm
  if (save) {
    if (std::fclose(save.release()) != 0) fail("{}: write failed: {}", save_tmp, std::strerror(errno));
    std::error_code ec;
    std::filesystem::rename(save_tmp, o.save_logits, ec);
    if (ec) fail("{}: cannot rename {} into place: {}", o.save_logits, save_tmp, ec.message());
  }
  if (base) {
    r.has_base = true;
    r.ppl_base = std::exp(mean(base_nll));
    r.ppl_ratio = r.ppl / r.ppl_base;
    r.mean_kld = mean(kld);
    r.kld_stderr = stderr_of_mean(kld);
    r.kld_median = quantile(kld, 0.5);
    r.kld_p99 = quantile(kld, 0.99);
    r.kld_max = *std::max_element(kld.begin(), kld.end());
    const double n = static_cast<double>(kld.size());
    r.top1_agreement = static_cast<double>(top1_same) / n;
    r.top1_stderr = n > 1 ? std::sqrt(r.top1_agreement * (1 - r.top1_agreement) / (n - 1)) : 0;
  }
  return r;
}

}  // namespace pangu
