#include "adapt/strategy_runtime.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"
#include "pangu/error.h"

namespace pangu {

StrategySelector::StrategySelector(const StrategyProfile& profile, PolicyOptions policy, bool learn)
    : profile_(profile), policy_(std::move(policy)), learn_(learn) {
  // A profile saved with what an earlier run learned goes on from it.
  for (const auto& [variant, keys] : profile_.learned)
    for (const auto& [key, saved] : keys) {
      std::vector<MethodBandit::Arm> arms;
      for (const LearnedArm& a : saved) arms.push_back({a.method, a.weight, a.weight * a.mean_tps});
      bandit_.restore(variant + "/" + key, std::move(arms));
    }
}

StrategyPick StrategySelector::pick(const IntentResult& intent) {
  const Recommendation rec = recommend(profile_, intent, policy_);
  PANGU_CHECK(rec.chosen, "--strategy auto: {}: {}", profile_.origin, rec.why_chosen);
  StrategyPick p;
  p.intent = intent;
  p.variant = rec.chosen->speed->variant;
  p.key = rec.category_independent ? "overall" : std::string(intent_name(rec.category));
  p.why = rec.why_rows + "; " + rec.why_chosen;
  if (!learn_) {
    p.method = rec.chosen->speed->method;
    return p;
  }
  // The bandit learns per variant and category, among the methods the policy left eligible for that variant.
  const std::string bandit_key = p.variant + "/" + p.key;
  for (const PolicyRow& row : rec.rows)
    if (row.excluded.empty() && row.speed->variant == p.variant)
      bandit_.add_arm(bandit_key, row.speed->method, row.speed->decode_tps);
  p.method = bandit_.choose(bandit_key);
  p.arms = bandit_.arms(bandit_key);
  return p;
}

void StrategySelector::observe(const StrategyPick& pick, double tps) {
  if (learn_) bandit_.observe(pick.variant + "/" + pick.key, pick.method, tps);
}

LoadedVariant load_variant(const std::string& name, const std::string& dir, int64_t ctx, ThreadPool* pool,
                           const LoadOptions& load) {
  LoadedVariant v;
  v.name = name;
  v.model = Model::load(dir, load);
  v.tokenizer = load_tokenizer(dir);
  PANGU_CHECK(v.tokenizer, "{} (variant {}): needs the model's tokenizer (tokenizer.json or tokenizer.model)", dir,
              name);
  const int64_t max_pos = v.model->config().max_position_embeddings;
  v.ctx = ctx > 0 ? ctx : std::min<int64_t>(max_pos > 0 ? max_pos : 4096, 4096);
  v.chat_template = detect_chat_template(v.model->config(), v.tokenizer.get());
  if (pool) v.session = std::make_unique<Session>(*v.model, v.ctx, *pool);
  return v;
}

std::vector<int32_t> request_prompt(const LoadedVariant& v, const std::string& text, int64_t budget, bool raw) {
  std::vector<int32_t> tokens =
      raw || v.chat_template == ChatTemplate::kRaw
          ? v.tokenizer->encode(text, true)
          : v.tokenizer->encode(render_chat(v.chat_template, {{"user", text}}), !chat_template_has_bos(v.chat_template));
  if (static_cast<int64_t>(tokens.size()) > budget && budget > 1) {
    const auto bos = v.model->generation_config().bos_token_id;
    std::vector<int32_t> kept;
    if (bos && tokens[0] == *bos) kept.push_back(tokens[0]);
    kept.insert(kept.end(), tokens.end() - (budget - static_cast<int64_t>(kept.size())), tokens.end());
    tokens = std::move(kept);
  }
  return tokens;
}

GenerateOptions greedy_options(const Model& model, int64_t max_new_tokens) {
  GenerateOptions g;
  g.max_new_tokens = max_new_tokens;
  g.sampling.greedy = true;
  g.eos_token_ids = model.eos_token_ids();
  const auto& suppress = model.generation_config().suppress_tokens;
  g.sampling.suppress_tokens.assign(suppress.begin(), suppress.end());
  return g;
}

VariantCache::VariantCache(const StrategyProfile& profile, ThreadPool& pool, int64_t ctx, uint64_t memory_budget)
    : profile_(profile), pool_(pool), ctx_(ctx), budget_(memory_budget) {}

VariantCache::~VariantCache() = default;

std::vector<std::string> VariantCache::loaded() const { return {recent_.begin(), recent_.end()}; }

void VariantCache::make_room(uint64_t bytes, const std::string& keep) {
  if (budget_ == 0) return;
  auto used = [&] {
    uint64_t total = 0;
    for (const auto& [name, v] : variants_) total += profile_.variants.at(name).resident_bytes;
    for (const auto& [name, d] : drafts_) total += profile_.drafts.at(name).resident_bytes;
    return total;
  };
  while (used() + bytes > budget_) {
    auto victim = std::find_if(recent_.rbegin(), recent_.rend(), [&](const std::string& n) { return n != keep; });
    if (victim == recent_.rend()) break;  // only what is needed now is left: it has to be loaded anyway
    log_verbose("strategy: giving back variant {} to stay within the memory budget", *victim);
    variants_.erase(*victim);
    recent_.erase(std::next(victim).base());
  }
}

LoadedVariant& VariantCache::get(const std::string& name) {
  const auto pv = profile_.variants.find(name);
  PANGU_CHECK(pv != profile_.variants.end(), "{}: no variant \"{}\"", profile_.origin, name);
  recent_.remove(name);
  recent_.push_front(name);
  if (auto it = variants_.find(name); it != variants_.end()) return *it->second;
  make_room(pv->second.resident_bytes, name);
  auto v = std::make_unique<LoadedVariant>(load_variant(name, pv->second.path, ctx_, &pool_));
  ++loads_;
  log_verbose("strategy: loaded variant {} ({})", name, pv->second.path);
  return *variants_.emplace(name, std::move(v)).first->second;
}

std::unique_ptr<Proposer> VariantCache::proposer(const DecodingMethod& m, const LoadedVariant& target,
                                                 const SamplingParams& sampling) {
  const Model* draft = nullptr;
  if (m.kind == DecodingMethod::Kind::kDraft) {
    const auto pd = profile_.drafts.find(m.draft);
    PANGU_CHECK(pd != profile_.drafts.end(), "{}: no draft \"{}\"", profile_.origin, m.draft);
    auto it = drafts_.find(m.draft);
    if (it == drafts_.end()) {
      make_room(pd->second.resident_bytes, target.name);
      it = drafts_.emplace(m.draft, load_draft_model(pd->second.path)).first;
      const auto draft_tokenizer = load_tokenizer(pd->second.path);
      check_draft_compatible(*target.model, target.tokenizer.get(), *it->second, draft_tokenizer.get());
    }
    draft = it->second.get();
  }
  return method_proposer(m, draft, target.ctx, pool_, sampling);
}

SpeculationOptions speculation_options(const DecodingMethod& m) {
  SpeculationOptions s;
  if (m.kind == DecodingMethod::Kind::kPlain) return s;
  s.k = m.k;
  s.k_max = std::max(m.k, s.k_max);
  s.adaptive = m.adaptive;
  return s;
}

std::unique_ptr<Proposer> method_proposer(const DecodingMethod& m, const Model* draft, int64_t ctx, ThreadPool& pool,
                                          const SamplingParams& sampling) {
  switch (m.kind) {
    case DecodingMethod::Kind::kPlain:
      return nullptr;
    case DecodingMethod::Kind::kPld:
      return make_pld_proposer(1, m.n);
    case DecodingMethod::Kind::kDraft:
      PANGU_CHECK(draft, "method draft:{}: the draft model is not loaded", m.draft);
      return make_draft_proposer(*draft, ctx, pool, sampling, static_cast<float>(m.min_probability));
  }
  return nullptr;
}

}  // namespace pangu
