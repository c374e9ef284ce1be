// `--strategy auto` outside the server (pangu chat, pangu adapt workload): per request, the policy picks the
// variant, a bandit over that variant's eligible decoding methods picks the method from what requests of
// the category measured lately (the profile's speeds as its prior), and the variants are loaded on first use,
// the least recently used given back when the next would not fit the memory budget.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapt/decoding_method.h"
#include "adapt/method_bandit.h"
#include "adapt/strategy_policy.h"
#include "pangu/chat.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include "pangu/thread_pool.h"
#include "pangu/tokenizer.h"

namespace pangu {

struct StrategyPick {
  IntentResult intent;
  std::string key;      // the bandit's: a category name, or "overall" for the rows of every category
  std::string variant;  // a profile variant
  std::string method;   // a profile method
  std::vector<MethodBandit::Arm> arms;  // what the bandit chose among, as it stood
  std::string why;
};

class StrategySelector {
 public:
  // The profile must outlive the selector. With learning off the method is the policy's own choice.
  StrategySelector(const StrategyProfile& profile, PolicyOptions policy, bool learn = true);
  StrategyPick pick(const IntentResult& intent);
  // The finished request's decode speed (tokens/s), for the bandit.
  void observe(const StrategyPick& pick, double tps);
  const MethodBandit& bandit() const { return bandit_; }

 private:
  const StrategyProfile& profile_;
  PolicyOptions policy_;
  bool learn_;
  MethodBandit bandit_;
};

// A loaded variant: the model, its tokenizer and one session reused across requests (its cache follows the
// tokens in `cached`, so a conversation reuses its prefix).
struct LoadedVariant {
  std::string name;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Session> session;
  std::vector<int32_t> cached;
  ChatTemplate chat_template = ChatTemplate::kRaw;
  int64_t ctx = 0;
};

// Loads a model directory as a variant with its session (pool null: no session yet).
LoadedVariant load_variant(const std::string& name, const std::string& dir, int64_t ctx, ThreadPool* pool,
                           const LoadOptions& load = {});
// A request as a variant sees it: in its chat template when it has one and `raw` is false, raw text to
// continue otherwise (as `pangu run -p`); one longer than `budget` tokens keeps BOS and its last tokens (what
// generation continues from).
std::vector<int32_t> request_prompt(const LoadedVariant& v, const std::string& text, int64_t budget, bool raw = false);
// Greedy decoding with the model's EOS ids and suppressed tokens (generation_config.json).
GenerateOptions greedy_options(const Model& model, int64_t max_new_tokens);

class VariantCache {
 public:
  // ctx 0: min(the model's context, 4096). memory_budget 0: no limit (the profile's resident_bytes count).
  VariantCache(const StrategyProfile& profile, ThreadPool& pool, int64_t ctx, uint64_t memory_budget);
  ~VariantCache();
  // The variant, loaded now if it is not (giving back the least recently used ones that would not fit).
  LoadedVariant& get(const std::string& variant);
  // A fresh proposer for `method` on `target` (null for plain); drafts are loaded on first use and count
  // toward the budget like variants.
  std::unique_ptr<Proposer> proposer(const DecodingMethod& method, const LoadedVariant& target,
                                     const SamplingParams& sampling);
  std::vector<std::string> loaded() const;  // most recently used first
  int loads() const { return loads_; }

 private:
  void make_room(uint64_t bytes, const std::string& keep);
  const StrategyProfile& profile_;
  ThreadPool& pool_;
  int64_t ctx_;
  uint64_t budget_;
  std::map<std::string, std::unique_ptr<LoadedVariant>> variants_;
  std::map<std::string, std::unique_ptr<Model>> drafts_;
  std::list<std::string> recent_;  // variant names, most recent first
  int loads_ = 0;
};

// Speculation settings of a method (k, k_max, adaptive).
SpeculationOptions speculation_options(const DecodingMethod& method);
// A fresh proposer for `method`: null for plain, prompt lookup for pld, and for a draft method `draft` (the
// model it names, loaded by the caller) with the method's +pmin.
std::unique_ptr<Proposer> method_proposer(const DecodingMethod& method, const Model* draft, int64_t ctx,
                                          ThreadPool& pool, const SamplingParams& sampling);

}  // namespace pangu
