// --strategy auto | VARIANT/METHOD with --profile FILE: the variant and decoding method a measured strategy
// profile says is best for the request, applied to the model and speculation options before the model
// loads (docs/adapt.md, "Policy").
#include <cmath>

#include "adapt/decoding_method.h"
#include "adapt/strategy_choice.h"
#include "cli/common.h"
#include "core/log.h"
#include "pangu/error.h"

namespace pangu::cli {

void StrategyCliOptions::add_to(CLI::App& app) {
  app.add_option("--strategy", strategy,
                 "auto: the variant and decoding method --profile says is best for this request's category; or "
                 "VARIANT/METHOD from the profile, e.g. w8a16/pld:3:4 (default: -m and --spec as given)");
  app.add_option("--profile", profile, "measured strategy profile for --strategy (docs/formats.md)");
  app.add_option("--max-quality-drop", max_quality_drop,
                 "--strategy auto: largest quality drop against base, in points, at the interval's pessimistic end")
      ->capture_default_str();
  app.add_option("--memory-budget", memory_budget, "--strategy auto: variants (and drafts) must fit this, e.g. 2GiB");
  app.add_option("--objective", objective, "--strategy auto: speed | quality | memory")->capture_default_str();
}

PolicyOptions policy_options(double max_quality_drop, const std::string& memory_budget, const std::string& objective) {
  PolicyOptions policy;
  PANGU_CHECK(std::isfinite(max_quality_drop) && max_quality_drop >= 0, "--max-quality-drop {}: expected points >= 0",
              max_quality_drop);
  policy.max_quality_drop = max_quality_drop;
  if (!memory_budget.empty()) policy.memory_budget = parse_byte_size(memory_budget, "--memory-budget");
  policy.objective = parse_objective(objective);
  return policy;
}

namespace {

// Points `spec` at a method of the profile (a draft method at the profile's draft directory).
void apply_method(const StrategyProfile& profile, const std::string& text, SpeculationCliOptions& spec) {
  const auto m = parse_decoding_method(text);
  PANGU_CHECK(m, "--strategy: method \"{}\": expected plain, pld:N:K or draft:NAME:K (then +adaptive, +pmin=P)", text);
  if (!m->thinking.empty())
    log_info("--strategy: method {} sets a thinking mode, which pangu run leaves to the chat template", text);
  spec = SpeculationCliOptions{};
  switch (m->kind) {
    case DecodingMethod::Kind::kPlain:
      return;
    case DecodingMethod::Kind::kPld:
      spec.mode = "pld";
      spec.n = m->n;
      break;
    case DecodingMethod::Kind::kDraft: {
      auto it = profile.drafts.find(m->draft);
      PANGU_CHECK(it != profile.drafts.end(), "--strategy: method \"{}\" names the draft \"{}\", which {} does not list",
                  text, m->draft, profile.origin);
      spec.mode = "draft";
      spec.draft = it->second.path;
      break;
    }
  }
  spec.k = m->k;
  spec.k_max = std::max(m->k, spec.k_max);
  spec.adaptive = m->adaptive;
  spec.p_min = static_cast<float>(m->min_probability);
}

}  // namespace

std::optional<StrategyChoice> apply_strategy(const StrategyCliOptions& s, std::string_view request, ModelOptions& model,
                                             SpeculationCliOptions& spec) {
  if (s.strategy.empty()) {
    PANGU_CHECK(s.profile.empty(), "--profile needs --strategy (auto, or VARIANT/METHOD)");
    return std::nullopt;
  }
  PANGU_CHECK(!s.profile.empty(), "--strategy {} needs --profile FILE (a measured strategy profile)", s.strategy);
  PANGU_CHECK(spec.mode == "none", "--strategy chooses the decoding method; drop --spec {}", spec.mode);
  const StrategyProfile profile = StrategyProfile::load(s.profile);
  PolicyOptions policy = policy_options(s.max_quality_drop, s.memory_budget, s.objective);
  // With -m, only that model's rows: the variant is given, the method is chosen.
  if (!model.model.empty()) {
    policy.only_variant = profile_variant_at(profile, resolve_model_path(model.model));
    PANGU_CHECK(!policy.only_variant.empty(), "-m {}: none of the variants of {} (its \"variants\" paths); drop -m or add it",
                model.model, s.profile);
  }
  const StrategyChoice c = choose_strategy(profile, s.strategy, request, policy);
  apply_method(profile, c.method, spec);
  model.model = c.path;
  log_verbose("strategy: category {} (confidence {:.2f}); {} ({}) with {}: {}", c.category, c.confidence, c.variant,
              c.path, c.method, c.why);
  return c;
}

}  // namespace pangu::cli
