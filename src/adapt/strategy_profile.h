// The measured strategy profile (docs/formats.md, "Strategy profile"): per request category, the quality of
// each model variant against the base and the decoding speed of each (variant, method), every figure with its
// sample size and 95% interval; plus the same rows over all categories, for requests whose category is
// uncertain. `pangu adapt profile` measures one; the policy (strategy_policy.h) reads it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapt/intent.h"
#include "io/json_file.h"

namespace pangu {

struct Interval {
  double low = 0, high = 0;  // a 95% interval
};

// A model variant: a directory, and what it holds in memory when loaded (weights and what the profile's
// context needs), measured.
struct ProfileVariant {
  std::string name;  // base, w8a16, w4, pruned ... (base is the reference for quality)
  std::string path;
  uint64_t resident_bytes = 0;
};

// Quality of a variant for one category, against base: `drop` is how many points it loses (a task score in
// percentage points, or 100 x (1 - fidelity) for the categories scored by fidelity to base), with its 95%
// interval from a paired bootstrap; positive is worse.
struct QualityRow {
  std::string variant;
  std::string metric;  // gsm8k_exact_match, mbpp_pass@1, mmlu_accuracy, rouge_l_vs_base, top1_vs_base ...
  double value = 0;    // the metric itself, for the record
  double drop = 0;
  Interval drop_ci;
  int64_t n = 0;
  std::map<std::string, double> details;  // further figures, for the record (kl_vs_base, base_value ...)
};

// Speed of a (variant, method) for one category. method: plain, pld:N:K, draft:NAME:K, with "+adaptive" for
// adaptive K; the thinking mode, where a model has one, is part of the method (":think" / ":no_think").
struct SpeedRow {
  std::string variant;
  std::string method;
  double decode_tps = 0;
  Interval decode_tps_ci;
  double ttft_ms = 0;
  double acceptance = 0;     // speculative methods
  double mean_accepted = 0;  // speculative methods
  int64_t n = 0;
};

struct CategoryProfile {
  std::vector<QualityRow> quality;
  std::vector<SpeedRow> speed;
};

// What a server learned about a decoding method (MethodBandit's arm): its discounted count of requests and
// their mean decode speed, saved into the profile so that a restart goes on from there.
struct LearnedArm {
  std::string method;
  double weight = 0;
  double mean_tps = 0;
};

struct StrategyProfile {
  std::string origin;  // the file, for errors
  int threads = 0;
  std::map<std::string, ProfileVariant> variants;
  std::map<std::string, ProfileVariant> drafts;           // draft models by name
  std::array<std::optional<CategoryProfile>, kIntentCount> categories;  // by Intent
  CategoryProfile overall;  // every category together: for uncertain requests
  // variant -> bandit key (a category name, or "overall") -> arms; written by `pangu serve --save-learned`.
  std::map<std::string, std::map<std::string, std::vector<LearnedArm>>> learned;
  Json settings;  // how it was measured (`pangu adapt profile`): tokens, limits, methods; for the record

  // Parses and checks a profile: every field present and typed, categories by their fixed names, rows naming
  // known variants and drafts, intervals ordered. check_paths: the variant and draft directories must exist.
  static StrategyProfile from_json(const std::string& text, const std::string& origin, bool check_paths = true);
  static StrategyProfile load(const std::string& path, bool check_paths = true);
  std::string to_json() const;
};

}  // namespace pangu
