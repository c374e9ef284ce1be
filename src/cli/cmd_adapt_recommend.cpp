// pangu adapt recommend: the strategy the measured profile says is best for a request, and why (the rows
// compared, those excluded and for what).
#include <fmt/format.h>

#include "adapt/lexical_intent.h"
#include "adapt/strategy_policy.h"
#include "cli/common.h"
#include "core/log.h"
#include "io/json_file.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct RecommendOptions {
  std::string profile;
  std::string prompt;
  double max_quality_drop = 1.0;
  std::string memory_budget;
  std::string objective = "speed";
  bool json = false;
};

void recommend_command(const RecommendOptions& o) {
  const PolicyOptions policy = policy_options(o.max_quality_drop, o.memory_budget, o.objective);
  const StrategyProfile profile = StrategyProfile::load(o.profile);
  const IntentResult intent = LexicalIntentModel::builtin().classify(o.prompt);
  const Recommendation r = recommend(profile, intent, policy);

  if (o.json) {
    Json rows = Json::array();
    for (const auto& row : r.rows)
      rows.push_back({{"variant", row.speed->variant},
                      {"method", row.speed->method},
                      {"decode_tps", row.speed->decode_tps},
                      {"memory_bytes", row.memory},
                      {"quality_drop_high", std::isnan(row.drop_high) ? Json(nullptr) : Json(row.drop_high)},
                      {"eligible", row.excluded.empty()},
                      {"excluded", row.excluded}});
    Json out = {{"category", intent_name(r.category)},
                {"confidence", intent.confidence},
                {"uncertain", intent.uncertain},
                {"rows_used", r.why_rows},
                {"rows", rows},
                {"why", r.why_chosen}};
    if (r.chosen) {
      out["variant"] = r.chosen->speed->variant;
      out["path"] = profile.variants.at(r.chosen->speed->variant).path;
      out["method"] = r.chosen->speed->method;
    }
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("category: {} (confidence {:.2f}{})\n", intent_name(r.category), intent.confidence,
             intent.uncertain ? ", uncertain" : "");
  fmt::print("rows: {}\n\n", r.why_rows);
  fmt::print("{:<10} {:<22} {:>12} {:>10} {:>10}  {}\n", "variant", "method", "tokens/s", "memory", "drop<=", "");
  for (const auto& row : r.rows)
    fmt::print("{:<10} {:<22} {:>12.2f} {:>10} {:>10}  {}\n", row.speed->variant, row.speed->method, row.speed->decode_tps,
               format_bytes(static_cast<double>(row.memory)),
               std::isnan(row.drop_high) ? std::string("-") : fmt::format("{:.2f}", row.drop_high),
               &row == r.chosen ? "<- chosen" : row.excluded.empty() ? "eligible" : "excluded: " + row.excluded);
  if (r.chosen)
    fmt::print("\nstrategy: {} with {} ({}): {}\n", r.chosen->speed->variant, r.chosen->speed->method,
               profile.variants.at(r.chosen->speed->variant).path, r.why_chosen);
  else
    fail("{}: {}", o.profile, r.why_chosen);
}

}  // namespace

void register_adapt_recommend(CLI::App& adapt) {
  auto o = std::make_shared<RecommendOptions>();
  CLI::App* cmd = adapt.add_subcommand("recommend", "the strategy a measured profile says is best for a request, and why");
  cmd->add_option("--profile", o->profile, "the strategy profile (docs/formats.md)")->required();
  cmd->add_option("-p,--prompt", o->prompt, "the request")->required();
  cmd->add_option("--max-quality-drop", o->max_quality_drop,
                  "largest quality drop against base, in points, at the interval's pessimistic end")
      ->capture_default_str();
  cmd->add_option("--memory-budget", o->memory_budget, "variants (and drafts) must fit this, e.g. 2GiB");
  cmd->add_option("--objective", o->objective, "speed | quality | memory")->capture_default_str();
  opt::json(*cmd, o->json, "the choice and every row as JSON");
  cmd->callback([o] { recommend_command(*o); });
}

}  // namespace pangu::cli
