#include "train/backprop.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "model/rope.h"
#include "pangu/error.h"
#include "train/linear.h"

namespace pangu {

namespace {

// What the backward pass reads, per layer.
template <typename T>
struct LayerActivations {
  std::vector<T> x;          // [n, hidden] the layer's input (residual stream)
  std::vector<T> rms1;       // [n] 1 / sqrt(mean(x^2) + eps)
  std::vector<T> xn1;        // [n, hidden] normed input of attention
  std::vector<T> q, k, v;    // [n, q_dim], [n, kv_dim] x2: after bias; q and k after RoPE
  std::vector<T> probs;      // [n_heads, n, n] attention weights (zero above the diagonal)
  std::vector<T> ctx;        // [n, q_dim] attention output before o_proj
  std::vector<T> x2;         // [n, hidden] residual after attention
  std::vector<T> rms2;       // [n]
  std::vector<T> xn2;        // [n, hidden]
  std::vector<T> gate, up;   // [n, inter] before the activation
  std::vector<T> act;        // [n, inter] silu(gate) * up
};

template <typename T>
struct Activations {
  std::vector<LayerActivations<T>> layers;
  std::vector<T> x_final;  // [n, hidden]
  std::vector<T> rms_final;
  std::vector<T> xn_final;  // [n, hidden]
  std::vector<T> logits;    // [n, vocab]
  std::vector<T> cos, sin;  // [n, head_dim / 2]
};

template <typename T>
void rms_forward(const T* x, const T* w, int64_t n, int64_t h, double eps, T* rms, T* y) {
  for (int64_t t = 0; t < n; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < h; ++i) ss += static_cast<double>(x[t * h + i]) * x[t * h + i];
    const T r = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(h) + eps));
    rms[t] = r;
    for (int64_t i = 0; i < h; ++i) y[t * h + i] = x[t * h + i] * r * w[i];
  }
}

// y = x * r * w with r = (mean(x^2) + eps)^-1/2:
//   dw += dy * x * r;  dx += r * w * dy - x * r^3 / h * sum(dy * w * x).
template <typename T>
void rms_backward(const T* dy, const T* x, const T* w, const T* rms, int64_t n, int64_t h, T* dx, T* dw) {
  for (int64_t t = 0; t < n; ++t) {
    const T r = rms[t];
    double dot = 0;
    for (int64_t i = 0; i < h; ++i) dot += static_cast<double>(dy[t * h + i]) * w[i] * x[t * h + i];
    const T coef = static_cast<T>(dot) * r * r * r / static_cast<T>(h);
    for (int64_t i = 0; i < h; ++i) {
      dw[i] += dy[t * h + i] * x[t * h + i] * r;
      dx[t * h + i] += r * w[i] * dy[t * h + i] - x[t * h + i] * coef;
    }
  }
}

// Rotates each head of x ([n, heads * d]) by its position's angles; sign -1 applies the inverse rotation
// (the rotation is orthogonal, so its backward pass is the inverse).
template <typename T>
void rope(T* x, int64_t n, int64_t heads, int64_t d, const T* cos, const T* sin, T sign) {
  const int64_t half = d / 2;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t hd = 0; hd < heads; ++hd) {
      T* v = x + (t * heads + hd) * d;
      for (int64_t i = 0; i < half; ++i) {
        const T c = cos[t * half + i], s = sign * sin[t * half + i];
        const T a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
}

template <typename Fn>
void for_each_kv_head(ThreadPool* pool, int64_t kv_heads, Fn&& fn) {
  if (pool && kv_heads > 1) {
    pool->parallel_for(static_cast<size_t>(kv_heads), [&fn](size_t b, size_t e) {
      for (size_t g = b; g < e; ++g) fn(static_cast<int64_t>(g));
    });
  } else {
    for (int64_t g = 0; g < kv_heads; ++g) fn(g);
  }
}

// Causal grouped-query attention: query head h reads kv head h / (heads / kv_heads).
template <typename T>
void attention_forward(const ModelConfig& c, const T* q, const T* k, const T* v, int64_t n, T* probs, T* ctx,
                       ThreadPool* pool) {
  const int64_t d = c.head_dim, heads = c.n_heads, kvh = c.n_heads_kv, group = heads / kvh;
  const int64_t qd = c.q_dim(), kd = c.kv_dim();
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(d)));
  for_each_kv_head(pool, kvh, [&](int64_t g) {
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      for (int64_t t = 0; t < n; ++t) {
        T* p = probs + (h * n + t) * n;
        const T* qt = q + t * qd + h * d;
        T max = -INFINITY;
        for (int64_t s = 0; s <= t; ++s) {
          T dot = 0;
          const T* ks = k + s * kd + g * d;
          for (int64_t i = 0; i < d; ++i) dot += qt[i] * ks[i];
          p[s] = dot * scale;
          max = std::max(max, p[s]);
        }
        T sum = 0;
        for (int64_t s = 0; s <= t; ++s) sum += (p[s] = std::exp(p[s] - max));
        for (int64_t s = 0; s <= t; ++s) p[s] /= sum;
        for (int64_t s = t + 1; s < n; ++s) p[s] = 0;
        T* out = ctx + t * qd + h * d;
        std::fill(out, out + d, T(0));
        for (int64_t s = 0; s <= t; ++s) {
          const T* vs = v + s * kd + g * d;
          for (int64_t i = 0; i < d; ++i) out[i] += p[s] * vs[i];
        }
      }
  });
}

// dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dP * P)); dQ = dS K * scale; dK = dS^T Q * scale.
template <typename T>
void attention_backward(const ModelConfig& c, const T* dctx, const T* q, const T* k, const T* v, const T* probs,
                        int64_t n, T* dq, T* dk, T* dv, ThreadPool* pool) {
  const int64_t d = c.head_dim, heads = c.n_heads, kvh = c.n_heads_kv, group = heads / kvh;
  const int64_t qd = c.q_dim(), kd = c.kv_dim();
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(d)));
  for_each_kv_head(pool, kvh, [&](int64_t g) {
    std::vector<T> ds(static_cast<size_t>(n));
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      for (int64_t t = 0; t < n; ++t) {
        const T* p = probs + (h * n + t) * n;
        const T* go = dctx + t * qd + h * d;
        T row = 0;
        for (int64_t s = 0; s <= t; ++s) {
          const T* vs = v + s * kd + g * d;
          T dp = 0;
          for (int64_t i = 0; i < d; ++i) dp += go[i] * vs[i];
          ds[s] = dp;
          row += dp * p[s];
          T* dvs = dv + s * kd + g * d;
          for (int64_t i = 0; i < d; ++i) dvs[i] += p[s] * go[i];
        }
        const T* qt = q + t * qd + h * d;
        T* dqt = dq + t * qd + h * d;
        for (int64_t s = 0; s <= t; ++s) {
          const T dscore = p[s] * (ds[s] - row) * scale;
          const T* ks = k + s * kd + g * d;
          T* dks = dk + s * kd + g * d;
          for (int64_t i = 0; i < d; ++i) {
            dqt[i] += dscore * ks[i];
            dks[i] += dscore * qt[i];
          }
        }
      }
  });
}

template <typename T>
T silu(T x) {
  return x / (T(1) + std::exp(-x));
}

template <typename T>
void forward(const Params<T>& p, const int32_t* tokens, int64_t n, Activations<T>& a, ThreadPool* pool) {
  const ModelConfig& c = p.config;
  const int64_t H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), V = c.vocab_size, d = c.head_dim;
  PANGU_CHECK(n >= 1, "training: empty sequence");
  PANGU_CHECK(c.n_heads % c.n_heads_kv == 0, "training: {} heads do not divide into {} kv heads", c.n_heads,
              c.n_heads_kv);
  auto sized = [](std::vector<T>& v, int64_t size) { v.assign(static_cast<size_t>(size), T(0)); };

  const RopeTable table(d, c.rope);
  const int64_t half = d / 2;
  sized(a.cos, n * half);
  sized(a.sin, n * half);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(t) * table.inv_freq(i);
      a.cos[t * half + i] = static_cast<T>(std::cos(angle));
      a.sin[t * half + i] = static_cast<T>(std::sin(angle));
    }

  std::vector<T> x(static_cast<size_t>(n * H));
  for (int64_t t = 0; t < n; ++t) {
    PANGU_CHECK(tokens[t] >= 0 && tokens[t] < V, "training: token {} at position {} is outside the vocabulary of {}",
                tokens[t], t, V);
    std::copy_n(p.embed.data() + tokens[t] * H, H, x.data() + t * H);
  }
  a.layers.resize(p.layers.size());
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const LayerParams<T>& L = p.layers[l];
    LayerActivations<T>& A = a.layers[l];
    const int64_t I = c.intermediate_size[l];
    A.x = x;
    sized(A.rms1, n);
    sized(A.xn1, n * H);
    rms_forward(A.x.data(), L.attn_norm.data(), n, H, c.rms_norm_eps, A.rms1.data(), A.xn1.data());
    sized(A.q, n * Q);
    sized(A.k, n * KV);
    sized(A.v, n * KV);
    auto bias = [](const std::vector<T>& b) { return b.empty() ? nullptr : b.data(); };
    linear_forward(A.xn1.data(), n, L.wq.data(), bias(L.bq), Q, H, A.q.data(), pool);
    linear_forward(A.xn1.data(), n, L.wk.data(), bias(L.bk), KV, H, A.k.data(), pool);
    linear_forward(A.xn1.data(), n, L.wv.data(), bias(L.bv), KV, H, A.v.data(), pool);
    rope(A.q.data(), n, c.n_heads, d, a.cos.data(), a.sin.data(), T(1));
    rope(A.k.data(), n, c.n_heads_kv, d, a.cos.data(), a.sin.data(), T(1));
    sized(A.probs, c.n_heads * n * n);
    sized(A.ctx, n * Q);
    attention_forward(c, A.q.data(), A.k.data(), A.v.data(), n, A.probs.data(), A.ctx.data(), pool);
    std::vector<T> o(static_cast<size_t>(n * H));
    linear_forward(A.ctx.data(), n, L.wo.data(), bias(L.bo), H, Q, o.data(), pool);
    A.x2 = A.x;
    for (size_t i = 0; i < o.size(); ++i) A.x2[i] += o[i];
    sized(A.rms2, n);
    sized(A.xn2, n * H);
    rms_forward(A.x2.data(), L.mlp_norm.data(), n, H, c.rms_norm_eps, A.rms2.data(), A.xn2.data());
    sized(A.gate, n * I);
    sized(A.up, n * I);
    linear_forward(A.xn2.data(), n, L.w_gate.data(), static_cast<const T*>(nullptr), I, H, A.gate.data(), pool);
    linear_forward(A.xn2.data(), n, L.w_up.data(), static_cast<const T*>(nullptr), I, H, A.up.data(), pool);
    sized(A.act, n * I);
    for (size_t i = 0; i < A.act.size(); ++i) A.act[i] = silu(A.gate[i]) * A.up[i];
    std::vector<T> down(static_cast<size_t>(n * H));
    linear_forward(A.act.data(), n, L.w_down.data(), static_cast<const T*>(nullptr), H, I, down.data(), pool);
    x = A.x2;
    for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
  a.x_final = x;
  sized(a.rms_final, n);
  sized(a.xn_final, n * H);
  rms_forward(a.x_final.data(), p.final_norm.data(), n, H, c.rms_norm_eps, a.rms_final.data(), a.xn_final.data());
  sized(a.logits, n * V);
  const std::vector<T>& head = p.lm_head.empty() ? p.embed : p.lm_head;
  linear_forward(a.xn_final.data(), n, head.data(), static_cast<const T*>(nullptr), V, H, a.logits.data(), pool);
}

// Loss of one position's logits, replaced in place by d(weighted loss)/d(logits).
template <typename T>
void position_loss(T* logits, int64_t V, int32_t target, const float* teacher, const LossSpec& spec,
                   double ce_scale, double kl_scale, LossValue& value) {
  std::vector<double> grad(static_cast<size_t>(V), 0.0);
  if (target >= 0 && spec.ce_weight != 0) {
    double max = -INFINITY;
    for (int64_t v = 0; v < V; ++v) max = std::max(max, static_cast<double>(logits[v]));
    double sum = 0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
    const double lse = max + std::log(sum);
    value.ce += (lse - static_cast<double>(logits[target])) * ce_scale;
    for (int64_t v = 0; v < V; ++v) grad[v] += std::exp(static_cast<double>(logits[v]) - lse) * ce_scale * spec.ce_weight;
    grad[target] -= ce_scale * spec.ce_weight;
  }
  if (teacher && spec.kl_weight != 0) {
    const double temp = spec.temperature;
    double smax = -INFINITY, tmax = -INFINITY;
    for (int64_t v = 0; v < V; ++v) {
      smax = std::max(smax, static_cast<double>(logits[v]) / temp);
      tmax = std::max(tmax, static_cast<double>(teacher[v]) / temp);
    }
    double ssum = 0, tsum = 0;
    for (int64_t v = 0; v < V; ++v) {
      ssum += std::exp(static_cast<double>(logits[v]) / temp - smax);
      tsum += std::exp(static_cast<double>(teacher[v]) / temp - tmax);
    }
    const double slse = smax + std::log(ssum), tlse = tmax + std::log(tsum);
    double kl = 0;
    for (int64_t v = 0; v < V; ++v) {
      const double log_p = static_cast<double>(teacher[v]) / temp - tlse;
      const double log_q = static_cast<double>(logits[v]) / temp - slse;
      const double pv = std::exp(log_p);
      if (pv > 0) kl += pv * (log_p - log_q);
      // d(T^2 KL)/d(logit) = T (q - p)
      grad[v] += temp * (std::exp(log_q) - pv) * kl_scale * spec.kl_weight;
    }
    value.kl += temp * temp * kl * kl_scale;
  }
  for (int64_t v = 0; v < V; ++v) logits[v] = static_cast<T>(grad[v]);
}

// Frozen tensors have empty gradient vectors (a bias is frozen with its weight): their weight products are
// skipped, while the input gradients still flow through them.
template <typename T>
void accumulate_weight(const T* dy, const T* x, int64_t n, int64_t out, int64_t in, std::vector<T>& dw,
                       std::vector<T>& db, ThreadPool* pool) {
  if (dw.empty()) return;
  linear_backward_weight(dy, x, n, out, in, dw.data(), db.empty() ? nullptr : db.data(), pool);
}

template <typename T>
void rms_backward_maybe(const T* dy, const T* x, const T* w, const T* rms, int64_t n, int64_t h, T* dx,
                        std::vector<T>& dw) {
  if (!dw.empty()) return rms_backward(dy, x, w, rms, n, h, dx, dw.data());
  std::vector<T> scratch(static_cast<size_t>(h));
  rms_backward(dy, x, w, rms, n, h, dx, scratch.data());
}

template <typename T>
void backward(const Params<T>& p, const int32_t* tokens, int64_t n, Activations<T>& a, Params<T>& g,
              ThreadPool* pool) {
  const ModelConfig& c = p.config;
  const int64_t H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), V = c.vocab_size, d = c.head_dim;
  const bool tied = p.lm_head.empty();
  const std::vector<T>& head = tied ? p.embed : p.lm_head;
  std::vector<T>& dhead = tied ? g.embed : g.lm_head;
  std::vector<T> none;
  std::vector<T> dxn(static_cast<size_t>(n * H), T(0));
  linear_backward_input(a.logits.data(), n, head.data(), V, H, dxn.data(), pool);
  accumulate_weight(a.logits.data(), a.xn_final.data(), n, V, H, dhead, none, pool);
  std::vector<T> dx(static_cast<size_t>(n * H), T(0));
  rms_backward_maybe(dxn.data(), a.x_final.data(), p.final_norm.data(), a.rms_final.data(), n, H, dx.data(),
                     g.final_norm);

  for (size_t li = p.layers.size(); li-- > 0;) {
    const LayerParams<T>& L = p.layers[li];
    LayerParams<T>& G = g.layers[li];
    LayerActivations<T>& A = a.layers[li];
    const int64_t I = c.intermediate_size[li];
    // MLP: x_next = x2 + down(silu(gate) * up); dx flows to x2 unchanged and through the MLP.
    std::vector<T> dact(static_cast<size_t>(n * I), T(0));
    linear_backward_input(dx.data(), n, L.w_down.data(), H, I, dact.data(), pool);
    accumulate_weight(dx.data(), A.act.data(), n, H, I, G.w_down, none, pool);
    std::vector<T> dgate(static_cast<size_t>(n * I)), dup(static_cast<size_t>(n * I));
    for (size_t i = 0; i < dgate.size(); ++i) {
      const T gv = A.gate[i];
      const T sig = T(1) / (T(1) + std::exp(-gv));
      const T s = gv * sig;
      dup[i] = dact[i] * s;
      dgate[i] = dact[i] * A.up[i] * sig * (T(1) + gv * (T(1) - sig));
    }
    std::fill(dxn.begin(), dxn.end(), T(0));
    linear_backward_input(dgate.data(), n, L.w_gate.data(), I, H, dxn.data(), pool);
    linear_backward_input(dup.data(), n, L.w_up.data(), I, H, dxn.data(), pool);
    accumulate_weight(dgate.data(), A.xn2.data(), n, I, H, G.w_gate, none, pool);
    accumulate_weight(dup.data(), A.xn2.data(), n, I, H, G.w_up, none, pool);
    rms_backward_maybe(dxn.data(), A.x2.data(), L.mlp_norm.data(), A.rms2.data(), n, H, dx.data(), G.mlp_norm);

    // Attention: x2 = x + o_proj(attention(rope(q), rope(k), v)).
    std::vector<T> dctx(static_cast<size_t>(n * Q), T(0));
    linear_backward_input(dx.data(), n, L.wo.data(), H, Q, dctx.data(), pool);
    accumulate_weight(dx.data(), A.ctx.data(), n, H, Q, G.wo, G.bo, pool);
    std::vector<T> dq(static_cast<size_t>(n * Q), T(0)), dk(static_cast<size_t>(n * KV), T(0)),
        dv(static_cast<size_t>(n * KV), T(0));
    attention_backward(c, dctx.data(), A.q.data(), A.k.data(), A.v.data(), A.probs.data(), n, dq.data(), dk.data(),
                       dv.data(), pool);
    rope(dq.data(), n, c.n_heads, d, a.cos.data(), a.sin.data(), T(-1));
    rope(dk.data(), n, c.n_heads_kv, d, a.cos.data(), a.sin.data(), T(-1));
    std::fill(dxn.begin(), dxn.end(), T(0));
    linear_backward_input(dq.data(), n, L.wq.data(), Q, H, dxn.data(), pool);
    linear_backward_input(dk.data(), n, L.wk.data(), KV, H, dxn.data(), pool);
    linear_backward_input(dv.data(), n, L.wv.data(), KV, H, dxn.data(), pool);
    accumulate_weight(dq.data(), A.xn1.data(), n, Q, H, G.wq, G.bq, pool);
    accumulate_weight(dk.data(), A.xn1.data(), n, KV, H, G.wk, G.bk, pool);
    accumulate_weight(dv.data(), A.xn1.data(), n, KV, H, G.wv, G.bv, pool);
    rms_backward_maybe(dxn.data(), A.x.data(), L.attn_norm.data(), A.rms1.data(), n, H, dx.data(), G.attn_norm);
  }
  if (g.embed.empty()) return;
  for (int64_t t = 0; t < n; ++t) {
    T* row = g.embed.data() + tokens[t] * H;
    for (int64_t i = 0; i < H; ++i) row[i] += dx[t * H + i];
  }
}

}  // namespace

template <typename T>
LossValue forward_backward(const Params<T>& params, const int32_t* tokens, int64_t n, const float* teacher_logits,
                           const LossSpec& loss, Params<T>* grads, ThreadPool* pool) {
  PANGU_CHECK(loss.kl_weight == 0 || teacher_logits, "training: KL loss needs teacher logits");
  PANGU_CHECK(loss.temperature > 0, "training: temperature {} must be positive", loss.temperature);
  Activations<T> a;
  forward(params, tokens, n, a, pool);
  const int64_t V = params.config.vocab_size;
  LossValue value;
  const double ce_scale = n > 1 ? 1.0 / static_cast<double>(n - 1) : 0.0;
  const double kl_scale = 1.0 / static_cast<double>(n);
  for (int64_t t = 0; t < n; ++t)
    position_loss(a.logits.data() + t * V, V, t + 1 < n ? tokens[t + 1] : -1,
                  teacher_logits ? teacher_logits + t * V : nullptr, loss, ce_scale, kl_scale, value);
  value.total = loss.ce_weight * value.ce + loss.kl_weight * value.kl;
  if (grads) backward(params, tokens, n, a, *grads, pool);
  return value;
}

template <typename T>
void training_logits(const Params<T>& params, const int32_t* tokens, int64_t n, T* logits, ThreadPool* pool) {
  Activations<T> a;
  forward(params, tokens, n, a, pool);
  std::copy(a.logits.begin(), a.logits.end(), logits);
}

template <typename T>
void accumulate_mlp_input_squares(const Params<T>& params, const int32_t* tokens, int64_t n,
                                  std::vector<std::vector<double>>& hidden_sq,
                                  std::vector<std::vector<double>>& inter_sq, ThreadPool* pool) {
  Activations<T> a;
  forward(params, tokens, n, a, pool);
  const int64_t H = params.config.hidden_size;
  hidden_sq.resize(params.layers.size());
  inter_sq.resize(params.layers.size());
  for (size_t l = 0; l < params.layers.size(); ++l) {
    const int64_t I = params.config.intermediate_size[l];
    hidden_sq[l].resize(static_cast<size_t>(H), 0.0);
    inter_sq[l].resize(static_cast<size_t>(I), 0.0);
    const LayerActivations<T>& A = a.layers[l];
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < H; ++i) hidden_sq[l][i] += static_cast<double>(A.xn2[t * H + i]) * A.xn2[t * H + i];
      for (int64_t j = 0; j < I; ++j) inter_sq[l][j] += static_cast<double>(A.act[t * I + j]) * A.act[t * I + j];
    }
  }
}

template void accumulate_mlp_input_squares<float>(const Params<float>&, const int32_t*, int64_t,
                                                  std::vector<std::vector<double>>&,
                                                  std::vector<std::vector<double>>&, ThreadPool*);

template LossValue forward_backward<float>(const Params<float>&, const int32_t*, int64_t, const float*,
                                           const LossSpec&, Params<float>*, ThreadPool*);
template LossValue forward_backward<double>(const Params<double>&, const int32_t*, int64_t, const float*,
                                            const LossSpec&, Params<double>*, ThreadPool*);
template void training_logits<float>(const Params<float>&, const int32_t*, int64_t, float*, ThreadPool*);
template void training_logits<double>(const Params<double>&, const int32_t*, int64_t, double*, ThreadPool*);

}  // namespace pangu
