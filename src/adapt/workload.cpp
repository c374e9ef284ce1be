#include "adapt/workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "adapt/lexical_intent.h"
#include "adapt/profile_stats.h"
#include "adapt/strategy_runtime.h"
#include "core/log.h"
#include "pangu/error.h"

namespace pangu {

namespace {

struct RequestOutcome {
  std::string variant, method;
  std::vector<int32_t> tokens;
  double wall = 0;  // prefill + decode seconds
  double tps = 0;   // decode tokens/s (0 with fewer than two tokens)
  double quality = 0;
};

// One request under one strategy. The variants stay loaded in `cache` across strategies; the session is
// emptied first, so no strategy reuses another's prefix.
RequestOutcome run_request(VariantCache& cache, StrategySelector& selector, const std::string& strategy,
                           const ProfileRequest& r, const WorkloadSettings& s) {
  StrategyPick pick;
  if (strategy == "auto") {
    pick = selector.pick(LexicalIntentModel::builtin().classify(r.text));
  } else {
    const size_t slash = strategy.find('/');
    pick.variant = strategy.substr(0, slash);
    pick.method = strategy.substr(slash + 1);
  }
  const int loads = cache.loads();
  LoadedVariant& v = cache.get(pick.variant);
  const auto budget = std::min(s.max_prompt_tokens, v.ctx - s.max_tokens - 1);
  const std::vector<int32_t> prompt = request_prompt(v, r.text, budget, s.raw_prompts);
  GenerateOptions g = greedy_options(*v.model, s.max_tokens);
  if (cache.loads() != loads) {  // a variant just loaded: warm it, its page faults belong to no request
    v.session->truncate(0);
    generate(*v.session, v.tokenizer.get(), prompt, g);
  }
  const DecodingMethod method = *parse_decoding_method(pick.method);
  const auto proposer = cache.proposer(method, v, g.sampling);
  g.proposer = proposer.get();
  g.speculation = speculation_options(method);
  v.session->truncate(0);
  const GenerateResult res = generate(*v.session, v.tokenizer.get(), prompt, g);
  RequestOutcome o;
  o.variant = pick.variant;
  o.method = pick.method;
  o.tokens = res.tokens;
  o.wall = res.prefill_seconds + res.decode_seconds;
  o.tps = res.tokens.size() > 1 ? (res.tokens.size() - 1) / std::max(res.decode_seconds, 1e-9) : 0.0;
  if (strategy == "auto" && o.tps > 0) selector.observe(pick, o.tps);
  return o;
}

Json summarize(const std::vector<const RequestOutcome*>& outcomes) {
  double wall = 0, tps = 0, quality = 0;
  int64_t tokens = 0, timed = 0;
  std::map<std::string, int64_t> chosen;
  for (const auto* o : outcomes) {
    wall += o->wall;
    tokens += static_cast<int64_t>(o->tokens.size());
    quality += o->quality;
    if (o->tps > 0) tps += o->tps, ++timed;
    ++chosen[o->variant + "/" + o->method];
  }
  const double n = static_cast<double>(std::max<size_t>(outcomes.size(), 1));
  return {{"requests", outcomes.size()},  {"wall_s", wall},        {"tokens", tokens},
          {"tokens_per_s", tokens / std::max(wall, 1e-9)},        {"decode_tps_mean", timed ? tps / timed : 0.0},
          {"quality", quality / n},       {"chosen", chosen}};
}

// Whether the profile says `variant` stays within the bound at the pessimistic end of every interval, in
// every category of the workload (rows it lacks: the overall row; base always does).
bool meets_bound(const StrategyProfile& p, const std::string& variant, const std::vector<ProfileRequest>& requests,
                 double bound) {
  if (variant == "base") return true;
  auto within = [&](const CategoryProfile& c) {
    for (const auto& q : c.quality)
      if (q.variant == variant) return q.drop_ci.high <= bound;
    return false;
  };
  std::map<Intent, bool> seen;
  for (const auto& r : requests) {
    if (seen.count(r.category)) continue;
    const auto& c = p.categories[static_cast<int>(r.category)];
    if (!(seen[r.category] = within(c ? *c : p.overall))) return false;
  }
  return true;
}

}  // namespace

std::vector<ProfileRequest> interleave_categories(const std::vector<ProfileRequest>& requests) {
  std::map<Intent, std::vector<const ProfileRequest*>> by;
  for (const auto& r : requests) by[r.category].push_back(&r);
  std::vector<ProfileRequest> out;
  for (size_t i = 0; out.size() < requests.size(); ++i)
    for (auto& [c, list] : by)
      if (i < list.size()) out.push_back(*list[i]);
  return out;
}

Json run_workload(const StrategyProfile& profile, const std::vector<ProfileRequest>& requests,
                  const std::vector<std::string>& strategies, const WorkloadSettings& s, ThreadPool& pool) {
  PANGU_CHECK(!requests.empty(), "workload: no requests");
  std::vector<std::string> order = {"base/plain"};
  for (const auto& name : strategies) {
    if (name != "auto") {
      const size_t slash = name.find('/');
      PANGU_CHECK(slash != std::string::npos && profile.variants.count(name.substr(0, slash)) &&
                      parse_decoding_method(name.substr(slash + 1)),
                  "--strategies \"{}\": expected auto or VARIANT/METHOD with a variant of {}", name, profile.origin);
    }
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  // Interleaved: each request runs under every strategy before the next request, the strategies' order
  // rotating, so that a drift of the machine's speed (this VM's memory bandwidth moves by tens of percent
  // within minutes) falls on all strategies alike instead of on whichever ran during it. Every variant stays
  // loaded (the policy's memory budget still bounds what auto may choose).
  VariantCache cache(profile, pool, s.ctx, 0);
  StrategySelector selector(profile, s.policy);
  std::map<std::string, std::vector<RequestOutcome>> runs;
  for (const auto& name : order) runs[name].resize(requests.size());
  Progress progress("workload", requests.size() * order.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    for (size_t k = 0; k < order.size(); ++k) {
      const std::string& name = order[(i + k) % order.size()];
      runs[name][i] = run_request(cache, selector, name, requests[i], s);
      progress.advance();
    }
    for (const auto& name : order)
      runs[name][i].quality = 100.0 * rouge_l(runs[name][i].tokens, runs["base/plain"][i].tokens);
  }
  progress.finish();
  Json result = {{"requests", requests.size()},
                 {"max_tokens", s.max_tokens},
                 {"max_prompt_tokens", s.max_prompt_tokens}, {"raw_prompts", s.raw_prompts},
                 {"threads", pool.size()},
                 {"max_quality_drop", s.policy.max_quality_drop},
                 {"strategies", Json::array()}};
  for (const auto& name : order) {
    const auto& run = runs[name];
    std::vector<const RequestOutcome*> all;
    std::map<Intent, std::vector<const RequestOutcome*>> by;
    for (size_t i = 0; i < run.size(); ++i) {
      all.push_back(&run[i]);
      by[requests[i].category].push_back(&run[i]);
    }
    Json entry = summarize(all);
    entry["name"] = name;
    if (name != "auto")
      entry["meets_quality_bound"] = meets_bound(profile, name.substr(0, name.find('/')), requests,
                                                 s.policy.max_quality_drop);
    Json per = Json::object();
    for (const auto& [c, list] : by) {
      Json cj = summarize(list);
      if (name == "auto") {
        // Against plain decoding of the variant it chose, on the same requests (where that strategy ran).
        double auto_wall = 0, plain_wall = 0;
        int64_t auto_tokens = 0, plain_tokens = 0;
        bool complete = true;
        for (size_t i = 0; i < run.size(); ++i) {
          if (requests[i].category != c) continue;
          const auto plain = runs.find(run[i].variant + "/plain");
          if (plain == runs.end()) {
            complete = false;
            continue;
          }
          auto_wall += run[i].wall;
          auto_tokens += static_cast<int64_t>(run[i].tokens.size());
          plain_wall += plain->second[i].wall;
          plain_tokens += static_cast<int64_t>(plain->second[i].tokens.size());
        }
        if (complete && auto_wall > 0 && plain_wall > 0)
          cj["speed_vs_plain_of_chosen"] = (auto_tokens / auto_wall) / (plain_tokens / plain_wall);
      }
      per[std::string(intent_name(c))] = cj;
    }
    entry["per_category"] = per;
    result["strategies"].push_back(entry);
  }
  return result;
}

std::string workload_table(const Json& result) {
  std::string t = fmt::format("{} requests, {} new tokens each at most, {} threads\n\n", result["requests"].get<int64_t>(),
                              result["max_tokens"].get<int64_t>(), result["threads"].get<int>());
  t += fmt::format(
      "| strategy | wall s | tokens | tokens/s | decode tokens/s (mean) | quality (ROUGE-L vs base) | within the "
      "{:g}-point bound (profile) |\n",
      result["max_quality_drop"].get<double>());
  t += "|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& s : result["strategies"])
    t += fmt::format("| {} | {:.1f} | {} | {:.2f} | {:.2f} | {:.1f} | {} |\n", s["name"].get<std::string>(),
                     s["wall_s"].get<double>(), s["tokens"].get<int64_t>(), s["tokens_per_s"].get<double>(),
                     s["decode_tps_mean"].get<double>(), s["quality"].get<double>(),
                     !s.contains("meets_quality_bound") ? "(its choice)"
                     : s["meets_quality_bound"].get<bool>() ? "yes"
                                                            : "no");
  for (const auto& s : result["strategies"]) {
    if (s["name"] != "auto") continue;
    t += "\n| category (auto) | requests | tokens/s | quality | vs plain of the chosen variant | chosen |\n";
    t += "|---|---:|---:|---:|---:|---|\n";
    for (const auto& [c, cj] : s["per_category"].items()) {
      std::string chosen;
      for (const auto& [k, n] : cj["chosen"].items()) chosen += fmt::format("{}{} x{}", chosen.empty() ? "" : ", ", k, n.get<int64_t>());
      t += fmt::format("| {} | {} | {:.2f} | {:.1f} | {} | {} |\n", c, cj["requests"].get<int64_t>(),
                       cj["tokens_per_s"].get<double>(), cj["quality"].get<double>(),
                       cj.contains("speed_vs_plain_of_chosen")
                           ? fmt::format("{:.3f}x", cj["speed_vs_plain_of_chosen"].get<double>())
                           : std::string("-"),
                       chosen);
    }
  }
  return t;
}

}  // namespace pangu
