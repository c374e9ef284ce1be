#include "adapt/strategy_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "pangu/error.h"

namespace pangu {

namespace {

bool is_plain(const std::string& method) { return method == "plain" || method.rfind("plain:", 0) == 0; }

// The thinking suffix of a method (":think", ":no_think" or ""): plain is compared with methods of the same mode.
std::string thinking_mode(const std::string& method) {
  for (const char* suffix : {":no_think", ":think"}) {
    const size_t n = std::char_traits<char>::length(suffix);
    if (method.size() > n && method.compare(method.size() - n, n, suffix) == 0) return suffix;
  }
  return "";
}

std::string draft_of(const std::string& method) {
  if (method.rfind("draft:", 0) != 0) return "";
  const size_t end = method.find(':', 6);
  return method.substr(6, end == std::string::npos ? std::string::npos : end - 6);
}

}  // namespace

Recommendation recommend(const StrategyProfile& profile, const IntentResult& intent, const PolicyOptions& o) {
  Recommendation r;
  r.category = intent.label;
  const auto& measured = profile.categories[static_cast<int>(intent.label)];
  const CategoryProfile* rows = nullptr;
  if (intent.uncertain) {
    rows = &profile.overall;
    r.category_independent = true;
    r.why_rows = fmt::format("the intent is uncertain ({} at {:.2f}): the rows measured over every category",
                             intent_name(intent.label), intent.confidence);
  } else if (!measured) {
    rows = &profile.overall;
    r.category_independent = true;
    r.why_rows = fmt::format("the profile has no rows for {}: the rows measured over every category", intent_name(intent.label));
  } else {
    rows = &*measured;
    r.why_rows = fmt::format("the rows measured on {} requests", intent_name(intent.label));
  }

  for (const SpeedRow& s : rows->speed) {
    PolicyRow row;
    row.speed = &s;
    row.memory = profile.variants.at(s.variant).resident_bytes;
    const std::string draft = draft_of(s.method);
    if (!draft.empty()) row.memory += profile.drafts.at(draft).resident_bytes;
    if (s.variant != "base") {
      const auto q = std::find_if(rows->quality.begin(), rows->quality.end(),
                                  [&](const QualityRow& q) { return q.variant == s.variant; });
      row.drop_high = q == rows->quality.end() ? NAN : q->drop_ci.high;
    }
    if (!o.only_variant.empty() && s.variant != o.only_variant) {
      row.excluded = fmt::format("not the loaded model ({})", o.only_variant);
    } else if (o.memory_budget > 0 && row.memory > o.memory_budget) {
      row.excluded = fmt::format("needs {}, over the memory budget of {}", format_bytes(row.memory), format_bytes(o.memory_budget));
    } else if (std::isnan(row.drop_high)) {
      row.excluded = "no quality measurement of this variant for these requests";
    } else if (row.drop_high > o.max_quality_drop) {
      row.excluded = fmt::format("quality drop up to {:.2f} points (95% interval), over the bound of {:.2f}", row.drop_high,
                                 o.max_quality_drop);
    } else if (!is_plain(s.method)) {
      const std::string mode = thinking_mode(s.method);
      const auto plain = std::find_if(rows->speed.begin(), rows->speed.end(), [&](const SpeedRow& p) {
        return p.variant == s.variant && is_plain(p.method) && thinking_mode(p.method) == mode;
      });
      if (plain == rows->speed.end())
        row.excluded = "no plain decoding of this variant measured to compare with";
      else if (s.decode_tps_ci.low <= plain->decode_tps)
        row.excluded = fmt::format("not measured faster than plain ({:.2f} tokens/s, interval from {:.2f}, against {:.2f})",
                                   s.decode_tps, s.decode_tps_ci.low, plain->decode_tps);
    }
    r.rows.push_back(std::move(row));
  }

  auto better = [&](const PolicyRow& a, const PolicyRow& b) {  // a is preferred to b
    switch (o.objective) {
      case PolicyObjective::kQuality:
        if (a.drop_high != b.drop_high) return a.drop_high < b.drop_high;
        break;
      case PolicyObjective::kMemory:
        if (a.memory != b.memory) return a.memory < b.memory;
        break;
      case PolicyObjective::kSpeed:
        break;
    }
    return a.speed->decode_tps > b.speed->decode_tps;
  };
  for (const PolicyRow& row : r.rows)
    if (row.excluded.empty() && (!r.chosen || better(row, *r.chosen))) r.chosen = &row;
  static const char* objective_names[] = {"fastest", "least quality drop", "least memory"};
  if (r.chosen) {
    r.why_chosen = fmt::format("the {} of the {} eligible rows", objective_names[static_cast<int>(o.objective)],
                               std::count_if(r.rows.begin(), r.rows.end(), [](const PolicyRow& x) { return x.excluded.empty(); }));
    return r;
  }
  // Nothing met the bounds: base with plain decoding is what the user would run without the policy.
  for (const PolicyRow& row : r.rows)
    if (row.speed->variant == "base" && is_plain(row.speed->method)) {
      r.chosen = &row;
      r.why_chosen = "no row met the bounds: base with plain decoding, the reference";
      return r;
    }
  r.why_chosen = "no row met the bounds and the profile has no plain decoding of base for these requests";
  return r;
}

uint64_t parse_byte_size(const std::string& text, const char* flag) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail("{} \"{}\": expected a size such as 2GiB, 512MiB or 1073741824", flag, text);
  }
  std::string unit = text.substr(used);
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  double scale = 0;
  for (const auto& [name, s] : std::initializer_list<std::pair<const char*, double>>{
           {"", 1}, {"B", 1}, {"K", 1024.0}, {"KB", 1e3}, {"KiB", 1024.0}, {"M", 1048576.0}, {"MB", 1e6},
           {"MiB", 1048576.0}, {"G", 1073741824.0}, {"GB", 1e9}, {"GiB", 1073741824.0}, {"T", 1099511627776.0},
           {"TB", 1e12}, {"TiB", 1099511627776.0}})
    if (unit == name) scale = s;
  PANGU_CHECK(scale > 0 && std::isfinite(value) && value > 0,
              "{} \"{}\": expected a positive size such as 2GiB, 512MiB or 1073741824", flag, text);
  return static_cast<uint64_t>(value * scale);
}

PolicyObjective parse_objective(const std::string& text) {
  if (text == "speed") return PolicyObjective::kSpeed;
  if (text == "quality") return PolicyObjective::kQuality;
  if (text == "memory") return PolicyObjective::kMemory;
  fail("--objective {}: expected speed, quality or memory", text);
}

}  // namespace pangu
