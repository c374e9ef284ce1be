// One decoder for the Llama family (openPangu-Embedded, Llama, Qwen2): pre-norm RMSNorm, rotate-half RoPE,
// grouped-query causal attention over an f32 KV cache (kernels/attention.h), SwiGLU MLP. Differences are
// config fields only.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/buffer.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "model/rope.h"
#include "model/weights.h"
#include "pangu/error.h"
#include "pangu/model.h"

namespace pangu {

struct Session::Scratch {
  // KV cache: [n_layers, n_kv_heads, padded n_ctx, head_dim] each, keys in kernels/attention.h's blocked
  // layout; anonymous mappings commit pages only as positions fill.
  Buffer k_cache;
  Buffer v_cache;
  RopeTable rope;
  int64_t capacity = 0;         // tokens the activation buffers hold
  std::vector<float> x;         // [n, hidden] residual stream
  std::vector<float> xn;        // [n, hidden] normalised
  std::vector<float> q;         // [n, q_dim]
  std::vector<float> k;         // [n, kv_dim]
  std::vector<float> v;         // [n, kv_dim]
  std::vector<float> att;       // [n, q_dim] attention output before o_proj
  std::vector<float> proj;      // [n, hidden]
  std::vector<float> gate;      // [n, max_inter]
  std::vector<float> up;        // [n, max_inter]
  std::vector<float> scores;    // per worker: attention_scratch_floats(group, n_ctx)
  std::vector<float> logits;    // [n, vocab]
  std::vector<float> rope_cos;  // [n, head_dim / 2]
  std::vector<float> rope_sin;  // [n, head_dim / 2]
};

namespace {

// Where the keys (and, in the other buffer, the values) of one (layer, kv head) start in the KV cache.
int64_t kv_head_offset(const ModelConfig& c, int64_t n_ctx, int64_t layer, int64_t kv_head) {
  return (layer * c.n_heads_kv + kv_head) * padded_positions(n_ctx) * c.head_dim;
}

}  // namespace

Session::Session(const Model& model, int64_t n_ctx, ThreadPool& pool)
    : model_(model), pool_(pool), n_ctx_(n_ctx), scratch_(std::make_unique<Scratch>()) {
  const ModelConfig& c = model.config();
  PANGU_CHECK(n_ctx > 0, "context size must be positive (found {})", n_ctx);
  const size_t cache_bytes =
      static_cast<size_t>(c.n_layers * c.n_heads_kv * padded_positions(n_ctx) * c.head_dim) * sizeof(float);
  scratch_->k_cache = Buffer(cache_bytes);
  scratch_->v_cache = Buffer(cache_bytes);
  scratch_->rope = RopeTable(c.head_dim, c.rope);
  const int64_t group = c.n_heads / c.n_heads_kv;
  scratch_->scores.resize(static_cast<size_t>(pool.size() * attention_scratch_floats(group, n_ctx)));
}

Session::~Session() = default;

int64_t Session::vocab_size() const {
  return model_.config().vocab_size;
}

void Session::truncate(int64_t n) {
  PANGU_CHECK(n >= 0 && n <= n_past_, "cannot truncate a session of {} positions to {}", n_past_, n);
  n_past_ = n;
}

void Session::ensure_scratch(int64_t n) {
  Scratch& s = *scratch_;
  if (n <= s.capacity) return;
  const ModelConfig& c = model_.config();
  s.capacity = n;
  s.x.resize(n * c.hidden_size);
  s.xn.resize(n * c.hidden_size);
  s.q.resize(n * c.q_dim());
  s.k.resize(n * c.kv_dim());
  s.v.resize(n * c.kv_dim());
  s.att.resize(n * c.q_dim());
  s.proj.resize(n * c.hidden_size);
  s.gate.resize(n * c.max_intermediate());
  s.up.resize(n * c.max_intermediate());
  s.logits.resize(n * c.vocab_size);
  s.rope_cos.resize(n * c.head_dim / 2);
  s.rope_sin.resize(n * c.head_dim / 2);
}

void Session::emit(std::string_view name, int64_t layer, const float* data, int64_t n, int64_t width) const {
  if (!hook_) return;
  if (layer < 0) {
    hook_(name, data, n, width);
  } else {
    hook_(fmt::format("layer.{}.{}", layer, name), data, n, width);
  }
}

// Causal GQA attention of the n new tokens (positions n_past_ ..) over the cache of this layer: one work
// item per (kv head, token), the group of query heads that share the kv head attending together. Items run
// kv head by kv head so that a thread reads each head's keys and values from memory once and its later
// tokens find them in cache.
void Session::attention(int64_t layer, int64_t n) {
  const ModelConfig& c = model_.config();
  Scratch& s = *scratch_;
  const int64_t hd = c.head_dim;
  const int64_t group = c.n_heads / c.n_heads_kv;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const size_t work = static_cast<size_t>(n * c.n_heads_kv);
  const int64_t scratch_floats = attention_scratch_floats(group, n_ctx_);
  const AttendFn attend_fn = attention_kernel(active_simd(), hd);
  pool_.parallel_for(work, [&](size_t begin, size_t end) {
    float* scores = s.scores.data() + ThreadPool::worker_index() * scratch_floats;
    for (size_t item = begin; item < end; ++item) {
      const int64_t kvh = static_cast<int64_t>(item) / n;
      const int64_t t = static_cast<int64_t>(item) % n;
      const int64_t head_base = kv_head_offset(c, n_ctx_, layer, kvh);
      AttentionQueries queries;
      queries.q = s.q.data() + t * c.q_dim() + kvh * group * hd;
      queries.n = group;
      queries.stride = hd;
      queries.out = s.att.data() + t * c.q_dim() + kvh * group * hd;
      queries.out_stride = hd;
      attend_fn(s.k_cache.as<float>() + head_base, s.v_cache.as<float>() + head_base, hd, n_past_ + t + 1, queries,
                scale, scores);
    }
  });
}

const float* Session::forward(const int32_t* tokens, int64_t n, bool all_logits) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  PANGU_CHECK(n > 0, "forward needs at least one token");
  PANGU_CHECK(n_past_ + n <= n_ctx_,
              "context full: {} positions in use, {} more requested, context size is {}", n_past_, n, n_ctx_);
  for (int64_t t = 0; t < n; ++t)
    PANGU_CHECK(tokens[t] >= 0 && tokens[t] < c.vocab_size, "token id {} is out of range [0, {})", tokens[t],
                c.vocab_size);
  ensure_scratch(n);
  Scratch& s = *scratch_;
  const int64_t hidden = c.hidden_size;
  const int64_t kv_dim = c.kv_dim();
  const size_t embed_row_bytes = static_cast<size_t>(hidden) * dtype_size(w.embed.dtype);

  for (int64_t t = 0; t < n; ++t)
    to_f32(w.embed.dtype, static_cast<const uint8_t*>(w.embed.data) + tokens[t] * embed_row_bytes, hidden,
           s.x.data() + t * hidden);
  emit("embed", -1, s.x.data(), n, hidden);
  const int64_t half = c.head_dim / 2;
  for (int64_t t = 0; t < n; ++t)
    s.rope.angles(n_past_ + t, s.rope_cos.data() + t * half, s.rope_sin.data() + t * half);

  auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const int64_t inter = c.intermediate_size[l];
    for (int64_t t = 0; t < n; ++t)
      rms_norm(s.x.data() + t * hidden, lw.attn_norm.data(), hidden, c.rms_norm_eps,
               s.xn.data() + t * hidden);
    emit("attn_norm", l, s.xn.data(), n, hidden);
    const Product qkv[] = {{&lw.wq, s.q.data(), bias(lw.bq)},
                           {&lw.wk, s.k.data(), bias(lw.bk)},
                           {&lw.wv, s.v.data(), bias(lw.bv)}};
    matmul_shared_input(qkv, 3, s.xn.data(), n, pool_);
    for (int64_t t = 0; t < n; ++t) {
      const float* cos_a = s.rope_cos.data() + t * half;
      const float* sin_a = s.rope_sin.data() + t * half;
      for (int64_t h = 0; h < c.n_heads; ++h)
        s.rope.rotate(s.q.data() + t * c.q_dim() + h * c.head_dim, cos_a, sin_a);
      for (int64_t h = 0; h < c.n_heads_kv; ++h)
        s.rope.rotate(s.k.data() + t * kv_dim + h * c.head_dim, cos_a, sin_a);
    }
    emit("q", l, s.q.data(), n, c.q_dim());
    emit("k", l, s.k.data(), n, kv_dim);
    emit("v", l, s.v.data(), n, kv_dim);
    for (int64_t h = 0; h < c.n_heads_kv; ++h) {
      const int64_t head_base = kv_head_offset(c, n_ctx_, l, h);
      float* keys = s.k_cache.as<float>() + head_base;
      float* values = s.v_cache.as<float>() + head_base;
      for (int64_t t = 0; t < n; ++t) {
        store_key(keys, n_past_ + t, s.k.data() + t * kv_dim + h * c.head_dim, c.head_dim);
        std::memcpy(values + (n_past_ + t) * c.head_dim, s.v.data() + t * kv_dim + h * c.head_dim,
                    c.head_dim * sizeof(float));
      }
    }
    attention(l, n);
    emit("attn", l, s.att.data(), n, c.q_dim());
    matmul(lw.wo, s.att.data(), n, s.proj.data(), bias(lw.bo), pool_);
    emit("attn_out", l, s.proj.data(), n, hidden);
    add_inplace(s.x.data(), s.proj.data(), n * hidden);

    for (int64_t t = 0; t < n; ++t)
      rms_norm(s.x.data() + t * hidden, lw.mlp_norm.data(), hidden, c.rms_norm_eps, s.xn.data() + t * hidden);
    emit("mlp_norm", l, s.xn.data(), n, hidden);
    const Product gate_up[] = {{&lw.w_gate, s.gate.data(), bias(lw.b_gate)}, {&lw.w_up, s.up.data(), bias(lw.b_up)}};
    matmul_shared_input(gate_up, 2, s.xn.data(), n, pool_);
    silu_mul_inplace(s.gate.data(), s.up.data(), n * inter);
    emit("mlp_act", l, s.gate.data(), n, inter);
    matmul(lw.w_down, s.gate.data(), n, s.proj.data(), bias(lw.b_down), pool_);
    emit("mlp_out", l, s.proj.data(), n, hidden);
    add_inplace(s.x.data(), s.proj.data(), n * hidden);
    emit("out", l, s.x.data(), n, hidden);
  }

  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t n_out = n - first;
  for (int64_t t = first; t < n; ++t)
    rms_norm(s.x.data() + t * hidden, w.final_norm.data(), hidden, c.rms_norm_eps,
             s.xn.data() + (t - first) * hidden);
  emit("final_norm", -1, s.xn.data(), n_out, hidden);
  matmul(w.lm_head, s.xn.data(), n_out, s.logits.data(), nullptr, pool_);
  emit("logits", -1, s.logits.data(), n_out, c.vocab_size);
  n_past_ += n;
  return s.logits.data();
}

}  // namespace pangu
