// The evaluation of the framework (`pangu adapt workload`, scripts/adapt_eval.sh): one mixed workload run
// with --strategy auto and with each fixed strategy of the profile, in one process on one thread pool, each
// request under every strategy in turn (interleaved, so that the machine's drift is shared).
// Quality is fidelity to base: ROUGE-L of each greedy output against base with plain decoding (lossless
// methods change speed, not output). Speeds: decode tokens/s per request; wall time: prefill and decode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adapt/profile_measure.h"
#include "adapt/strategy_policy.h"
#include "io/json_file.h"
#include "pangu/thread_pool.h"

namespace pangu {

struct WorkloadSettings {
  int64_t max_tokens = 32;
  int64_t max_prompt_tokens = 128;
  bool raw_prompts = false;  // requests as text to continue, not in the variants' chat template
  int64_t ctx = 0;
  PolicyOptions policy;  // for auto
};

// Runs `requests` in order, each under every strategy ("auto" or "VARIANT/METHOD"); base/plain is always
// among them, the quality reference. The result: per strategy, overall and per category (by the
// request's label): requests, wall seconds, tokens generated, tokens/s (tokens over wall time), mean decode
// tokens/s, quality; for auto, what it chose and its speed against plain decoding of the variant it chose
// on the same requests.
Json run_workload(const StrategyProfile& profile, const std::vector<ProfileRequest>& requests,
                  const std::vector<std::string>& strategies, const WorkloadSettings& settings, ThreadPool& pool);

// The result as a markdown table (one row per strategy, then auto per category).
std::string workload_table(const Json& result);

// Round-robin over the categories, so that every stretch of the workload mixes them.
std::vector<ProfileRequest> interleave_categories(const std::vector<ProfileRequest>& requests);

}  // namespace pangu
