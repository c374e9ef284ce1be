// The public API a program embeds: load a model directory, open sessions on it, run tokens through it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pangu/config.h"

namespace pangu {

class Checkpoint;
class ThreadPool;
struct ModelWeights;
struct QuantDescription;

struct LoadOptions {
  // Quantize a float output head to int8 per row at load (W8A16's rule), held in memory instead of the
  // stored head: for a tied openPangu-1B that halves the 0.44 GiB the head costs every decoded token.
  // The embedding keeps its dtype for lookups, which touch only the rows of the tokens seen.
  bool int8_head = false;
  // Repack int8 and bf16 matrices at load for the tiled kernels (one resident copy either way); off only to
  // compare with the row-major kernels.
  bool pack = true;
};

class Model {
 public:
  // dir holds config.json, generation_config.json (optional) and model.safetensors or a sharded index.
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& options = {});
  ~Model();

  const ModelConfig& config() const { return config_; }
  const GenerationConfig& generation_config() const { return generation_config_; }
  const std::string& dir() const { return dir_; }
  const ModelWeights& weights() const { return *weights_; }
  const Checkpoint& checkpoint() const { return *checkpoint_; }
  // The quantization description of a quantized model (config.json "quantize"), else null.
  const QuantDescription* quant_description() const { return quant_.get(); }
  // EOS ids from generation_config.json, else config.json.
  std::vector<int64_t> eos_token_ids() const;

 private:
  Model() = default;
  std::string dir_;
  ModelConfig config_;
  GenerationConfig generation_config_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<QuantDescription> quant_;
  std::unique_ptr<ModelWeights> weights_;
  std::vector<int8_t> head_codes_;  // the int8 head of LoadOptions::int8_head when not packed
  std::vector<float> head_scales_;
};

// Called with each named intermediate ("layer.3.attn_out") when set: data is [n_tokens, width].
using ActivationHook =
    std::function<void(std::string_view name, const float* data, int64_t n_tokens, int64_t width)>;

// A decoding state: the KV cache and scratch for one sequence. Buffers grow to the largest batch seen and
// are reused, so decoding allocates nothing per token.
struct Activations;
class RopeTable;
class Batch;

// Element type of a session's KV cache: f32, or bf16 at half the memory (twice the slots or the context of a
// server); its effect on the logits is measured in docs/benchmarks.md ("KV cache").
enum class KvType : uint8_t { kF32, kBF16 };
std::string kv_type_name(KvType type);
// Bytes of one session's KV cache of n_ctx positions (keys and values, every layer).
size_t kv_cache_bytes(const ModelConfig& config, int64_t n_ctx, KvType type);

class Session {
 public:
  Session(const Model& model, int64_t n_ctx, ThreadPool& pool, KvType kv_type = KvType::kF32);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs tokens at positions n_past() .. n_past()+n-1 and appends them to the cache. Returns logits:
  // [n, vocab] when all_logits, else [1, vocab] for the last token. Valid until the next call.
  const float* forward(const int32_t* tokens, int64_t n, bool all_logits = false);
  const float* forward(const std::vector<int32_t>& tokens, bool all_logits = false) {
    return forward(tokens.data(), static_cast<int64_t>(tokens.size()), all_logits);
  }

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  KvType kv_type() const { return kv_type_; }
  int64_t vocab_size() const;
  // Forgets every position >= n (for speculative decoding and prompt-cache reuse).
  void truncate(int64_t n);
  void set_hook(ActivationHook hook) { hook_ = std::move(hook); }
  const Model& model() const { return model_; }

 private:
  friend class Batch;
  struct Scratch;
  struct Segment;
  Segment segment(const int32_t* tokens, int64_t n, bool all_logits);  // checks, at the current position
  // The forward of every segment's tokens at once: the matrix products over all rows, attention per segment
  // over its own cache. Returns the packed logits rows.
  static const float* run_segments(const Model& model, ThreadPool& pool, Activations& activations,
                                   const RopeTable& rope, Segment* segments, size_t n_segments,
                                   const Session* hooked);
  void emit(std::string_view name, int64_t layer, const float* data, int64_t n, int64_t width) const;

  const Model& model_;
  ThreadPool& pool_;
  int64_t n_ctx_;
  KvType kv_type_;
  int64_t n_past_ = 0;
  std::unique_ptr<Scratch> scratch_;
  ActivationHook hook_;
};

// Multiply-adds of the matrix products for one token: what decides whether a second thread pays.
double matmul_macs_per_token(const ModelConfig& config);
// Threads for a model of `macs_per_token` multiply-adds: 1 for a model too small to gain from more, else
// the cores (negative: the cores).
int default_thread_count(double macs_per_token);

class Tokenizer;
// Refuses a tokenizer whose ids run past the embedding (one from another model); null passes.
void check_tokenizer_fits(const Model& model, const Tokenizer* tokenizer);

// Several sessions of one model through one forward: the matrix products run over all their tokens at once,
// so the weights are read once per step for every sequence; attention runs per sequence over its own cache.
// Each sequence's logits are those it gets alone (the kernels' results depend only on the row), which
// continuous batching relies on.
class Batch {
 public:
  Batch(const Model& model, ThreadPool& pool);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  // Adds n tokens for `session` at its positions n_past() ..; returns the entry. A session appears once.
  size_t add(Session& session, const int32_t* tokens, int64_t n, bool all_logits = false);
  // Runs every entry and advances each session; then logits(entry) is [n or 1, vocab] until the next run.
  void run();
  const float* logits(size_t entry) const;
  size_t size() const;
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Finds a model by path, or by name under $PANGU_MODELS, ./models and ../shared/models.
std::string resolve_model_path(const std::string& name_or_path);

}  // namespace pangu
