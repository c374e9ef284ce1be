// The policy: for a request's category, the strategy (variant + decoding method) the measured profile says
// is best. The rule (docs/adapt.md, "Policy"): among the rows of the category (of every category together
// when the intent is uncertain), drop those whose variant (and draft) does not fit the memory budget, those
// whose quality drop against base can exceed the bound at its interval's pessimistic end, and speculative
// methods that did not measure faster than plain decoding of the same variant; then take the fastest (or,
// by objective, the least quality drop or the least memory). Every row is kept with why it was or was not
// taken, for `pangu adapt recommend` to print.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adapt/strategy_profile.h"

namespace pangu {

enum class PolicyObjective { kSpeed, kQuality, kMemory };

struct PolicyOptions {
  double max_quality_drop = 1.0;  // points (see QualityRow::drop)
  uint64_t memory_budget = 0;     // bytes; 0: no limit
  PolicyObjective objective = PolicyObjective::kSpeed;
  // Only rows of this variant (a server runs one model): the others are shown as excluded. Empty: all.
  std::string only_variant;
};

struct PolicyRow {
  const SpeedRow* speed = nullptr;
  uint64_t memory = 0;     // the variant, plus the draft a draft method loads
  double drop_high = 0;    // pessimistic quality drop (0 for base)
  std::string excluded;    // why it was not eligible; empty when it was
};

struct Recommendation {
  Intent category = kFallbackIntent;
  bool category_independent = false;  // the rows of every category were used
  std::string why_rows;               // which rows were compared, and why those
  std::vector<PolicyRow> rows;
  const PolicyRow* chosen = nullptr;  // null only when nothing at all could run
  std::string why_chosen;
};

// The recommendation points into the profile's rows: the profile must outlive it (a temporary cannot bind).
Recommendation recommend(const StrategyProfile& profile, const IntentResult& intent, const PolicyOptions& options);
Recommendation recommend(StrategyProfile&& profile, const IntentResult& intent, const PolicyOptions& options) = delete;

// "2GiB", "512 MiB", "1.5G", "1073741824": bytes. Throws naming `flag` for anything else.
uint64_t parse_byte_size(const std::string& text, const char* flag);
PolicyObjective parse_objective(const std::string& text);  // speed | quality | memory

}  // namespace pangu
