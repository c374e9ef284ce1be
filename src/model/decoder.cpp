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
#include "kernels/packed.h"
#include "model/rope.h"
#include "model/weights.h"
#include "pangu/error.h"
#include "pangu/model.h"

namespace pangu {

// The activations of one forward over n tokens (of one sequence or several): grown to the largest n seen and
// reused, so decoding allocates nothing per token.
struct Activations {
  int64_t capacity = 0;         // tokens the buffers hold
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
  std::vector<int32_t> row_segment;  // [n] the segment each token row belongs to

  void ensure(const ModelConfig& c, int64_t n) {
    if (n <= capacity) return;
    capacity = n;
    x.resize(n * c.hidden_size);
    xn.resize(n * c.hidden_size);
    q.resize(n * c.q_dim());
    k.resize(n * c.kv_dim());
    v.resize(n * c.kv_dim());
    att.resize(n * c.q_dim());
    proj.resize(n * c.hidden_size);
    gate.resize(n * c.max_intermediate());
    up.resize(n * c.max_intermediate());
    logits.resize(n * c.vocab_size);
    rope_cos.resize(n * c.head_dim / 2);
    rope_sin.resize(n * c.head_dim / 2);
    row_segment.resize(n);
  }
  void ensure_scores(const ModelConfig& c, int64_t workers, int64_t n_ctx) {
    const int64_t group = c.n_heads / c.n_heads_kv;
    const size_t floats = static_cast<size_t>(workers * attention_scratch_floats(group, n_ctx));
    if (scores.size() < floats) scores.resize(floats);
  }
};

struct Session::Scratch {
  // KV cache: [n_layers, n_kv_heads, padded n_ctx, head_dim] each, keys in kernels/attention.h's blocked
  // layout; anonymous mappings commit pages only as positions fill.
  Buffer k_cache;
  Buffer v_cache;
  RopeTable rope;
  Activations act;
};

namespace {

// Where the keys (and, in the other buffer, the values) of one (layer, kv head) start in the KV cache.
int64_t kv_head_offset(const ModelConfig& c, int64_t n_ctx, int64_t layer, int64_t kv_head) {
  return (layer * c.n_heads_kv + kv_head) * padded_positions(n_ctx) * c.head_dim;
}

}  // namespace

// One sequence's tokens within a forward: rows [first_row, first_row + n) of the activations, at positions
// n_past .. of its own cache.
struct Session::Segment {
  const int32_t* tokens = nullptr;
  int64_t n = 0;
  int64_t first_row = 0;
  int64_t n_past = 0;
  int64_t n_ctx = 0;
  void* k_cache = nullptr;  // float or uint16_t (bf16) by kv_type
  void* v_cache = nullptr;
  KvType kv_type = KvType::kF32;
  bool all_logits = false;
  int64_t first_out = 0;  // its first row of logits
};

std::string kv_type_name(KvType type) { return type == KvType::kBF16 ? "bf16" : "f32"; }

size_t kv_cache_bytes(const ModelConfig& c, int64_t n_ctx, KvType type) {
  return 2 * static_cast<size_t>(c.n_layers * c.n_heads_kv * padded_positions(n_ctx) * c.head_dim) *
         (type == KvType::kBF16 ? sizeof(uint16_t) : sizeof(float));
}

Session::Session(const Model& model, int64_t n_ctx, ThreadPool& pool, KvType kv_type)
    : model_(model), pool_(pool), n_ctx_(n_ctx), kv_type_(kv_type), scratch_(std::make_unique<Scratch>()) {
  const ModelConfig& c = model.config();
  PANGU_CHECK(n_ctx > 0, "context size must be positive (found {})", n_ctx);
  const size_t cache_bytes = kv_cache_bytes(c, n_ctx, kv_type) / 2;
  scratch_->k_cache = Buffer(cache_bytes);
  scratch_->v_cache = Buffer(cache_bytes);
  scratch_->rope = RopeTable(c.head_dim, c.rope);
  scratch_->act.ensure_scores(c, pool.size(), n_ctx);
}

Session::~Session() = default;

int64_t Session::vocab_size() const {
  return model_.config().vocab_size;
}

void Session::truncate(int64_t n) {
  PANGU_CHECK(n >= 0 && n <= n_past_, "cannot truncate a session of {} positions to {}", n_past_, n);
  n_past_ = n;
}

Session::Segment Session::segment(const int32_t* tokens, int64_t n, bool all_logits) {
  const ModelConfig& c = model_.config();
  PANGU_CHECK(n > 0, "forward needs at least one token");
  PANGU_CHECK(n_past_ + n <= n_ctx_,
              "context full: {} positions in use, {} more requested, context size is {}", n_past_, n, n_ctx_);
  for (int64_t t = 0; t < n; ++t)
    PANGU_CHECK(tokens[t] >= 0 && tokens[t] < c.vocab_size, "token id {} is out of range [0, {})", tokens[t],
                c.vocab_size);
  Segment seg;
  seg.tokens = tokens;
  seg.n = n;
  seg.n_past = n_past_;
  seg.n_ctx = n_ctx_;
  seg.k_cache = scratch_->k_cache.data();
  seg.v_cache = scratch_->v_cache.data();
  seg.kv_type = kv_type_;
  seg.all_logits = all_logits;
  return seg;
}

void Session::emit(std::string_view name, int64_t layer, const float* data, int64_t n, int64_t width) const {
  if (!hook_) return;
  if (layer < 0) {
    hook_(name, data, n, width);
  } else {
    hook_(fmt::format("layer.{}.{}", layer, name), data, n, width);
  }
}

const float* Session::forward(const int32_t* tokens, int64_t n, bool all_logits) {
  Segment seg = segment(tokens, n, all_logits);
  const float* logits = run_segments(model_, pool_, scratch_->act, scratch_->rope, &seg, 1, hook_ ? this : nullptr);
  n_past_ += n;
  return logits;
}

const float* Session::run_segments(const Model& model, ThreadPool& pool, Activations& s, const RopeTable& rope,
                                   Segment* segments, size_t n_segments, const Session* hooked) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  auto emit = [hooked](std::string_view name, int64_t layer, const float* data, int64_t rows, int64_t width) {
    if (hooked) hooked->emit(name, layer, data, rows, width);
  };
  int64_t n = 0, n_out = 0, max_ctx = 0;
  for (size_t i = 0; i < n_segments; ++i) {
    Segment& seg = segments[i];
    seg.first_row = n;
    seg.first_out = n_out;
    n += seg.n;
    n_out += seg.all_logits ? seg.n : 1;
    max_ctx = std::max(max_ctx, seg.n_ctx);
  }
  s.ensure(c, n);
  s.ensure_scores(c, pool.size(), max_ctx);
  const int64_t hidden = c.hidden_size;
  const int64_t kv_dim = c.kv_dim();
  const int64_t half = c.head_dim / 2;
  for (size_t i = 0; i < n_segments; ++i) {
    const Segment& seg = segments[i];
    for (int64_t t = 0; t < seg.n; ++t) {
      const int64_t row = seg.first_row + t;
      s.row_segment[row] = static_cast<int32_t>(i);
      matrix_row_f32(w.embed, seg.tokens[t], s.x.data() + row * hidden);
      rope.angles(seg.n_past + t, s.rope_cos.data() + row * half, s.rope_sin.data() + row * half);
    }
  }
  emit("embed", -1, s.x.data(), n, hidden);

  // Causal GQA attention of every token row over its own sequence's cache for layer l: one work item per
  // (kv head, row), the group of query heads that share the kv head attending together. Items run kv head
  // by kv head so that a thread reads each head's keys and values from memory once and its later rows find
  // them in cache.
  const int64_t group = c.n_heads / c.n_heads_kv;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)));
  const int64_t scratch_floats = attention_scratch_floats(group, max_ctx);
  const AttendFn attend_f32 = attention_kernel(active_simd(), c.head_dim);
  const AttendBf16Fn attend_bf16 = attention_kernel_bf16(active_simd(), c.head_dim);
  auto attention = [&](int64_t layer) {
    const int64_t hd = c.head_dim;
    pool.parallel_for(static_cast<size_t>(n * c.n_heads_kv), [&](size_t begin, size_t end) {
      float* scores = s.scores.data() + ThreadPool::worker_index() * scratch_floats;
      for (size_t item = begin; item < end; ++item) {
        const int64_t kvh = static_cast<int64_t>(item) / n;
        const int64_t row = static_cast<int64_t>(item) % n;
        const Segment& seg = segments[s.row_segment[row]];
        const int64_t head_base = kv_head_offset(c, seg.n_ctx, layer, kvh);
        AttentionQueries queries;
        queries.q = s.q.data() + row * c.q_dim() + kvh * group * hd;
        queries.n = group;
        queries.stride = hd;
        queries.out = s.att.data() + row * c.q_dim() + kvh * group * hd;
        queries.out_stride = hd;
        const int64_t n_keys = seg.n_past + (row - seg.first_row) + 1;
        if (seg.kv_type == KvType::kBF16)
          attend_bf16(static_cast<const uint16_t*>(seg.k_cache) + head_base,
                      static_cast<const uint16_t*>(seg.v_cache) + head_base, hd, n_keys, queries, scale, scores);
        else
          attend_f32(static_cast<const float*>(seg.k_cache) + head_base, static_cast<const float*>(seg.v_cache) + head_base,
                     hd, n_keys, queries, scale, scores);
      }
    });
  };

  auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const int64_t inter = c.intermediate_size[l];
    for (int64_t t = 0; t < n; ++t)
      rms_norm(s.x.data() + t * hidden, lw.attn_norm.data(), hidden, c.rms_norm_eps, s.xn.data() + t * hidden);
    emit("attn_norm", l, s.xn.data(), n, hidden);
    const Product qkv[] = {{&lw.wq, s.q.data(), bias(lw.bq)},
                           {&lw.wk, s.k.data(), bias(lw.bk)},
                           {&lw.wv, s.v.data(), bias(lw.bv)}};
    matmul_shared_input(qkv, 3, s.xn.data(), n, pool);
    for (int64_t t = 0; t < n; ++t) {
      const float* cos_a = s.rope_cos.data() + t * half;
      const float* sin_a = s.rope_sin.data() + t * half;
      for (int64_t h = 0; h < c.n_heads; ++h) rope.rotate(s.q.data() + t * c.q_dim() + h * c.head_dim, cos_a, sin_a);
      for (int64_t h = 0; h < c.n_heads_kv; ++h) rope.rotate(s.k.data() + t * kv_dim + h * c.head_dim, cos_a, sin_a);
    }
    emit("q", l, s.q.data(), n, c.q_dim());
    emit("k", l, s.k.data(), n, kv_dim);
    emit("v", l, s.v.data(), n, kv_dim);
    for (size_t i = 0; i < n_segments; ++i) {
      const Segment& seg = segments[i];
      for (int64_t h = 0; h < c.n_heads_kv; ++h) {
        const int64_t head_base = kv_head_offset(c, seg.n_ctx, l, h);
        for (int64_t t = 0; t < seg.n; ++t) {
          const int64_t row = seg.first_row + t;
          const float* k_row = s.k.data() + row * kv_dim + h * c.head_dim;
          const float* v_row = s.v.data() + row * kv_dim + h * c.head_dim;
          if (seg.kv_type == KvType::kBF16) {
            store_key(static_cast<uint16_t*>(seg.k_cache) + head_base, seg.n_past + t, k_row, c.head_dim);
            store_values(static_cast<uint16_t*>(seg.v_cache) + head_base, seg.n_past + t, v_row, c.head_dim);
          } else {
            store_key(static_cast<float*>(seg.k_cache) + head_base, seg.n_past + t, k_row, c.head_dim);
            std::memcpy(static_cast<float*>(seg.v_cache) + head_base + (seg.n_past + t) * c.head_dim, v_row,
                        c.head_dim * sizeof(float));
          }
        }
      }
    }
    attention(l);
    emit("attn", l, s.att.data(), n, c.q_dim());
    matmul(lw.wo, s.att.data(), n, s.proj.data(), bias(lw.bo), pool);
    emit("attn_out", l, s.proj.data(), n, hidden);
    add_inplace(s.x.data(), s.proj.data(), n * hidden);

    for (int64_t t = 0; t < n; ++t)
      rms_norm(s.x.data() + t * hidden, lw.mlp_norm.data(), hidden, c.rms_norm_eps, s.xn.data() + t * hidden);
    emit("mlp_norm", l, s.xn.data(), n, hidden);
    const Product gate_up[] = {{&lw.w_gate, s.gate.data(), bias(lw.b_gate)}, {&lw.w_up, s.up.data(), bias(lw.b_up)}};
    matmul_shared_input(gate_up, 2, s.xn.data(), n, pool);
    silu_mul_inplace(s.gate.data(), s.up.data(), n * inter);
    emit("mlp_act", l, s.gate.data(), n, inter);
    matmul(lw.w_down, s.gate.data(), n, s.proj.data(), bias(lw.b_down), pool);
    emit("mlp_out", l, s.proj.data(), n, hidden);
    add_inplace(s.x.data(), s.proj.data(), n * hidden);
    emit("out", l, s.x.data(), n, hidden);
  }

  // The rows whose logits are wanted (every row of a segment that asks for all, else its last), packed.
  for (size_t i = 0; i < n_segments; ++i) {
    const Segment& seg = segments[i];
    const int64_t first = seg.all_logits ? 0 : seg.n - 1;
    for (int64_t t = first; t < seg.n; ++t)
      rms_norm(s.x.data() + (seg.first_row + t) * hidden, w.final_norm.data(), hidden, c.rms_norm_eps,
               s.xn.data() + (seg.first_out + t - first) * hidden);
  }
  emit("final_norm", -1, s.xn.data(), n_out, hidden);
  matmul(w.lm_head, s.xn.data(), n_out, s.logits.data(), nullptr, pool);
  emit("logits", -1, s.logits.data(), n_out, c.vocab_size);
  return s.logits.data();
}

struct Batch::Impl {
  const Model& model;
  ThreadPool& pool;
  RopeTable rope;
  Activations act;
  std::vector<Session*> sessions;
  std::vector<Session::Segment> segments;
  const float* logits = nullptr;
  bool ran = false;
};

Batch::Batch(const Model& model, ThreadPool& pool) : impl_(std::make_unique<Impl>(Impl{model, pool, {}, {}, {}, {}})) {
  impl_->rope = RopeTable(model.config().head_dim, model.config().rope);
}

Batch::~Batch() = default;

void Batch::clear() {
  impl_->sessions.clear();
  impl_->segments.clear();
  impl_->ran = false;
}

size_t Batch::size() const { return impl_->segments.size(); }

size_t Batch::add(Session& session, const int32_t* tokens, int64_t n, bool all_logits) {
  Impl& b = *impl_;
  PANGU_CHECK(&session.model() == &b.model, "a batch runs the sessions of one model");
  PANGU_CHECK(std::find(b.sessions.begin(), b.sessions.end(), &session) == b.sessions.end(),
              "a session appears once in a batch");
  if (b.ran) clear();
  b.segments.push_back(session.segment(tokens, n, all_logits));
  b.sessions.push_back(&session);
  return b.segments.size() - 1;
}

void Batch::run() {
  Impl& b = *impl_;
  PANGU_CHECK(!b.segments.empty() && !b.ran, "Batch::run: nothing added");
  b.logits = Session::run_segments(b.model, b.pool, b.act, b.rope, b.segments.data(), b.segments.size(), nullptr);
  for (size_t i = 0; i < b.segments.size(); ++i) b.sessions[i]->n_past_ += b.segments[i].n;
  b.ran = true;
}

const float* Batch::logits(size_t entry) const {
  const Impl& b = *impl_;
  PANGU_CHECK(b.ran && entry < b.segments.size(), "Batch::logits({}): no such entry in the last run", entry);
  return b.logits + b.segments[entry].first_out * b.model.config().vocab_size;
}

}  // namespace pangu
