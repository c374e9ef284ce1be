#include "adapt/strategy_choice.h"

#include <filesystem>

#include "adapt/lexical_intent.h"
#include "pangu/error.h"

namespace pangu {

namespace fs = std::filesystem;

namespace {

std::string normalized(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(path, ec);
  return (ec ? fs::absolute(path) : p).lexically_normal().string();
}

}  // namespace

NamedStrategy parse_named_strategy(const StrategyProfile& profile, const std::string& text) {
  const size_t slash = text.find('/');
  PANGU_CHECK(slash != std::string::npos && slash > 0, "strategy {}: expected auto or VARIANT/METHOD (e.g. w8a16/pld:3:4)",
              text);
  NamedStrategy s;
  s.variant = text.substr(0, slash);
  s.method_text = text.substr(slash + 1);
  PANGU_CHECK(profile.variants.count(s.variant), "strategy {}: {} has no variant \"{}\"", text, profile.origin, s.variant);
  const auto m = parse_decoding_method(s.method_text);
  PANGU_CHECK(m, "strategy {}: method \"{}\": expected plain, pld:N:K or draft:NAME:K (then +adaptive, +pmin=P)", text,
              s.method_text);
  PANGU_CHECK(m->kind != DecodingMethod::Kind::kDraft || profile.drafts.count(m->draft),
              "strategy {}: method \"{}\" names the draft \"{}\", which {} does not list", text, s.method_text, m->draft,
              profile.origin);
  s.method = *m;
  return s;
}

std::string profile_variant_at(const StrategyProfile& profile, const std::string& path) {
  for (const auto& [name, v] : profile.variants)
    if (normalized(v.path) == normalized(path)) return name;
  return {};
}

Json StrategyChoice::to_json() const {
  return {{"category", category}, {"confidence", confidence}, {"variant", variant}, {"path", path},
          {"method", method}, {"why", why}};
}

StrategyChoice choose_strategy(const StrategyProfile& profile, const std::string& strategy, std::string_view request,
                               const PolicyOptions& policy) {
  StrategyChoice c;
  const IntentResult intent = LexicalIntentModel::builtin().classify(request);
  c.category = intent_name(intent.label);
  c.confidence = intent.confidence;
  if (strategy == "auto") {
    const Recommendation r = recommend(profile, intent, policy);
    if (!r.chosen) fail("strategy auto: {}: {}", profile.origin, r.why_chosen);
    c.variant = r.chosen->speed->variant;
    c.method = r.chosen->speed->method;
    c.category = intent_name(r.category);
    c.why = r.why_rows + "; " + r.why_chosen;
  } else {
    const NamedStrategy s = parse_named_strategy(profile, strategy);
    PANGU_CHECK(policy.only_variant.empty() || policy.only_variant == s.variant,
                "strategy {} names variant {}, but the model given is variant {}", strategy, s.variant,
                policy.only_variant);
    c.variant = s.variant;
    c.method = s.method_text;
    c.why = "named";
  }
  c.path = profile.variants.at(c.variant).path;
  return c;
}

}  // namespace pangu
