#include "train/prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/thread_pool.h"
#include "pangu/error.h"
#include "train/backprop.h"

namespace pangu {

Importance parse_importance(const std::string& name) {
  if (name == "taylor") return Importance::kTaylor;
  if (name == "taylor-vector") return Importance::kTaylorVector;
  if (name == "magnitude") return Importance::kMagnitude;
  if (name == "wanda") return Importance::kWanda;
  if (name == "random") return Importance::kRandom;
  fail("--importance \"{}\": expected taylor, taylor-vector, magnitude, wanda or random", name);
}

std::string importance_name(Importance kind) {
  switch (kind) {
    case Importance::kTaylor: return "taylor";
    case Importance::kTaylorVector: return "taylor-vector";
    case Importance::kMagnitude: return "magnitude";
    case Importance::kWanda: return "wanda";
    case Importance::kRandom: return "random";
  }
  return "?";
}

namespace {

// The summed gradient of the MLP weights over the calibration set (everything else frozen).
Params<float> mlp_gradient(const Params<float>& p, const std::vector<std::vector<int32_t>>& calibration,
                           ThreadPool& pool) {
  Params<float> g = zero_params<float>(p.config);
  g.for_each_tensor([](const std::string& name, std::vector<float>& v) {
    if (name.find(".mlp.") == std::string::npos) v.clear();
  });
  for (const auto& seq : calibration)
    forward_backward(p, seq.data(), static_cast<int64_t>(seq.size()), nullptr, LossSpec{}, &g, &pool);
  return g;
}

}  // namespace

ChannelScores channel_importance(const Params<float>& p, Importance kind,
                                 const std::vector<std::vector<int32_t>>& calibration, ThreadPool& pool,
                                 uint64_t seed) {
  const ModelConfig& c = p.config;
  const int64_t H = c.hidden_size;
  ChannelScores scores(p.layers.size());
  for (size_t l = 0; l < p.layers.size(); ++l) scores[l].assign(static_cast<size_t>(c.intermediate_size[l]), 0.0);

  if (kind == Importance::kRandom) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto& layer : scores)
      for (double& s : layer) s = u(rng);
    return scores;
  }
  PANGU_CHECK(kind == Importance::kMagnitude || !calibration.empty(),
              "--importance {} needs calibration text (--data)", importance_name(kind));
  Params<float> grads;
  std::vector<std::vector<double>> hidden_sq, inter_sq;
  if (kind == Importance::kTaylor || kind == Importance::kTaylorVector) grads = mlp_gradient(p, calibration, pool);
  if (kind == Importance::kWanda)
    for (const auto& seq : calibration)
      accumulate_mlp_input_squares(p, seq.data(), static_cast<int64_t>(seq.size()), hidden_sq, inter_sq, &pool);

  // One weight's contribution to its channel's score; `input_norm` is ||x|| of the feature it reads (Wanda).
  auto term = [kind](float w, float grad, double input_norm) -> double {
    switch (kind) {
      case Importance::kTaylor: return std::fabs(static_cast<double>(w) * grad);
      case Importance::kTaylorVector: return static_cast<double>(w) * grad;  // signed: summed, then |.|
      case Importance::kMagnitude: return std::fabs(w);
      case Importance::kWanda: return std::fabs(w) * input_norm;
      case Importance::kRandom: break;
    }
    return 0.0;
  };
  const bool have_grads = kind == Importance::kTaylor || kind == Importance::kTaylorVector;
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const LayerParams<float>& L = p.layers[l];
    const int64_t I = c.intermediate_size[l];
    auto grad = [&](const std::vector<float>& g, size_t at) { return have_grads ? g[at] : 0.0f; };
    for (int64_t j = 0; j < I; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < H; ++i) {  // row j of gate and up
        const auto at = static_cast<size_t>(j * H + i);
        const double norm = kind == Importance::kWanda ? std::sqrt(hidden_sq[l][static_cast<size_t>(i)]) : 0.0;
        sum += term(L.w_gate[at], grad(grads.layers.empty() ? L.w_gate : grads.layers[l].w_gate, at), norm);
        sum += term(L.w_up[at], grad(grads.layers.empty() ? L.w_up : grads.layers[l].w_up, at), norm);
      }
      const double down_norm = kind == Importance::kWanda ? std::sqrt(inter_sq[l][static_cast<size_t>(j)]) : 0.0;
      for (int64_t h = 0; h < H; ++h) {  // column j of down
        const auto at = static_cast<size_t>(h * I + j);
        sum += term(L.w_down[at], grad(grads.layers.empty() ? L.w_down : grads.layers[l].w_down, at), down_norm);
      }
      scores[l][static_cast<size_t>(j)] = kind == Importance::kTaylorVector ? std::fabs(sum) : sum;
    }
  }
  return scores;
}

namespace {

int64_t round_to_align(double width, int64_t align, int64_t original) {
  const auto rounded = static_cast<int64_t>(std::llround(width / static_cast<double>(align))) * align;
  return std::clamp<int64_t>(rounded, std::min(align, original), original);
}

}  // namespace

std::vector<int64_t> uniform_widths(const std::vector<int64_t>& original, double fraction, int64_t align) {
  PANGU_CHECK(fraction >= 0 && fraction < 1, "--ratio {}: expected a fraction in [0, 1)", fraction);
  PANGU_CHECK(align >= 1, "--align {}: expected at least 1", align);
  std::vector<int64_t> widths;
  for (int64_t w : original)
    widths.push_back(round_to_align(static_cast<double>(w) * (1.0 - fraction), align, w));
  return widths;
}

std::vector<int64_t> global_widths(const ChannelScores& scores, double fraction, int64_t align,
                                   int64_t original_total) {
  PANGU_CHECK(fraction >= 0 && fraction < 1, "--ratio {}: expected a fraction in [0, 1)", fraction);
  std::vector<std::pair<double, size_t>> all;  // score, layer
  for (size_t l = 0; l < scores.size(); ++l)
    for (double s : scores[l]) all.emplace_back(s, l);
  const auto keep_total = static_cast<int64_t>(std::llround((1.0 - fraction) * static_cast<double>(original_total)));
  const auto remove = static_cast<size_t>(std::clamp<int64_t>(static_cast<int64_t>(all.size()) - keep_total, 0,
                                                              static_cast<int64_t>(all.size())));
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<int64_t> kept(scores.size());
  for (size_t l = 0; l < scores.size(); ++l) kept[l] = static_cast<int64_t>(scores[l].size());
  for (size_t i = 0; i < remove; ++i) --kept[all[i].second];
  std::vector<int64_t> widths;
  for (size_t l = 0; l < scores.size(); ++l)
    widths.push_back(round_to_align(static_cast<double>(kept[l]), align, static_cast<int64_t>(scores[l].size())));
  return widths;
}

Params<float> prune_mlp_channels(const Params<float>& p, const ChannelScores& scores,
                                 const std::vector<int64_t>& widths) {
  PANGU_CHECK(scores.size() == p.layers.size() && widths.size() == p.layers.size(),
              "pruning: {} score lists and {} widths for {} layers", scores.size(), widths.size(), p.layers.size());
  Params<float> out = p;
  const int64_t H = p.config.hidden_size;
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const int64_t I = p.config.intermediate_size[l], keep = widths[l];
    PANGU_CHECK(keep >= 1 && keep <= I, "pruning layer {}: width {} outside [1, {}]", l, keep, I);
    std::vector<int64_t> order(static_cast<size_t>(I));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return scores[l][static_cast<size_t>(a)] > scores[l][static_cast<size_t>(b)]; });
    std::vector<int64_t> kept(order.begin(), order.begin() + keep);
    std::sort(kept.begin(), kept.end());
    const LayerParams<float>& src = p.layers[l];
    LayerParams<float>& dst = out.layers[l];
    dst.w_gate.assign(static_cast<size_t>(keep * H), 0.0f);
    dst.w_up.assign(static_cast<size_t>(keep * H), 0.0f);
    dst.w_down.assign(static_cast<size_t>(H * keep), 0.0f);
    for (int64_t k = 0; k < keep; ++k) {
      const int64_t j = kept[static_cast<size_t>(k)];
      std::copy_n(src.w_gate.data() + j * H, H, dst.w_gate.data() + k * H);
      std::copy_n(src.w_up.data() + j * H, H, dst.w_up.data() + k * H);
      for (int64_t h = 0; h < H; ++h) dst.w_down[static_cast<size_t>(h * keep + k)] = src.w_down[static_cast<size_t>(h * I + j)];
    }
    out.config.intermediate_size[l] = keep;
  }
  return out;
}

}  // namespace pangu
