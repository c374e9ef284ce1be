// Structured pruning of MLP channels: channel j of a layer is row j of gate_proj and up_proj and column j of
// down_proj. Importance is scored per channel, widths are chosen (uniform or global, aligned), and the
// lowest-scoring channels are physically removed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/params.h"

namespace pangu {

class Model;
class ThreadPool;

enum class Importance {
  kTaylor,        // sum over the channel's weights of |W * dL/dW| (first-order Taylor, LLM-Pruner's element level)
  kTaylorVector,  // |sum over the channel's weights of W * dL/dW| (LLM-Pruner's vector level)
  kMagnitude,     // sum of |W|
  kWanda,         // sum of |W| * ||input feature|| over the calibration tokens (Sun et al.)
  kRandom,        // a random order: the baseline the others must beat
};
Importance parse_importance(const std::string& name);  // taylor | taylor-vector | magnitude | wanda | random
std::string importance_name(Importance kind);

using ChannelScores = std::vector<std::vector<double>>;  // [layer][channel]

// Scores every MLP channel of `params` over the calibration sequences (next-token cross-entropy for the
// Taylor scores). `seed` drives kRandom.
ChannelScores channel_importance(const Params<float>& params, Importance kind,
                                 const std::vector<std::vector<int32_t>>& calibration, ThreadPool& pool,
                                 uint64_t seed);

// Widths after removing `fraction` of each layer's `original` channels, rounded to the nearest multiple of
// `align` (at least `align`, never wider than the original).
std::vector<int64_t> uniform_widths(const std::vector<int64_t>& original, double fraction, int64_t align);
// Ranks all layers' channels together by score and removes the lowest until `fraction` of the original
// model's `original_total` channels are gone, then rounds each layer's kept count to the nearest multiple
// of `align`.
std::vector<int64_t> global_widths(const ChannelScores& scores, double fraction, int64_t align,
                                   int64_t original_total);

// Keeps the widths[l] highest-scoring channels of each layer, in their original order (ties: lower index).
Params<float> prune_mlp_channels(const Params<float>& params, const ChannelScores& scores,
                                 const std::vector<int64_t>& widths);

}  // namespace pangu
