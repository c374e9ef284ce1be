// pangu chat: interactive multi-turn chat with the model's template. Each turn re-renders the conversation
// and feeds only the tokens past the longest prefix the KV cache already holds. With --strategy auto each
// message is classified and decoded with the variant and method the profile and the bandit pick (the
// bandit learns across turns).
#include <fmt/format.h>
#include <unistd.h>

#include <functional>
#include <iostream>

#include "adapt/lexical_intent.h"
#include "adapt/strategy_choice.h"
#include "adapt/strategy_runtime.h"
#include "cli/common.h"
#include "core/log.h"
#include "pangu/chat.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace {

struct ChatOptions {
  ModelOptions model;
  SamplingOptions sampling;
  std::string chat_template;
  std::string system;
  StrategyCliOptions strategy;
  std::string save_learned;
};

// Drops the oldest exchange after the system message (a user turn and the reply to it), so that a
// conversation that outgrew the context goes on with its most recent turns.
bool drop_oldest_turn(std::vector<ChatMessage>& messages) {
  const size_t first = !messages.empty() && messages[0].role == "system" ? 1 : 0;
  if (messages.size() <= first + 1) return false;  // only the newest message is left
  size_t n = 1;
  if (first + 1 < messages.size() - 1 && messages[first + 1].role == "assistant") n = 2;
  messages.erase(messages.begin() + static_cast<std::ptrdiff_t>(first),
                 messages.begin() + static_cast<std::ptrdiff_t>(first + n));
  return true;
}

// Where a turn runs: the model, its session and the tokens the session's cache holds.
struct ChatTarget {
  const Model* model;
  const Tokenizer* tokenizer;
  Session* session;
  std::vector<int32_t>* cached;
  ChatTemplate chat_template;
  int64_t ctx;
};

// One exchange: renders the conversation with the new message, drops the oldest turns when it would not
// leave room for the reply, feeds what the cache lacks and streams the reply. False when the message alone
// is too long (it is then taken back).
bool chat_turn(const ChatTarget& t, std::vector<ChatMessage>& messages, const GenerateOptions& g, GenerateResult& r) {
  // Room kept for the reply when old turns must go: what -n asks for, at most half the context; with -n -1
  // a quarter of it (the reply may then run on until the context is full).
  const int64_t reply_room =
      g.max_new_tokens >= 0 ? std::min<int64_t>(g.max_new_tokens, t.ctx / 2) : std::max<int64_t>(1, t.ctx / 4);
  auto encode_all = [&] {
    return t.tokenizer->encode(render_chat(t.chat_template, messages), !chat_template_has_bos(t.chat_template));
  };
  std::vector<int32_t> all = encode_all();
  int dropped = 0;
  while (static_cast<int64_t>(all.size()) + reply_room > t.ctx && drop_oldest_turn(messages)) {
    ++dropped;
    all = encode_all();
  }
  if (dropped > 0)
    log_info("context full: dropped the {} oldest turn{} of the conversation", dropped, dropped == 1 ? "" : "s");
  if (static_cast<int64_t>(all.size()) >= t.ctx) {
    log_info("error: this message takes {} tokens with the chat template; the context holds {} (raise -c/--ctx "
             "or send a shorter message)",
             all.size(), t.ctx);
    messages.pop_back();
    return false;
  }
  std::vector<int32_t>& cached = *t.cached;
  size_t common = 0;
  while (common < cached.size() && common < all.size() && cached[common] == all[common]) ++common;
  if (common == all.size()) --common;  // at least one token must be fed to get logits
  t.session->truncate(static_cast<int64_t>(common));
  cached.resize(common);
  const std::vector<int32_t> fresh(all.begin() + static_cast<std::ptrdiff_t>(common), all.end());
  auto on_token = [&](int32_t, std::string_view text, const float*) {
    fmt::print("{}", text);
    std::fflush(stdout);
    return true;
  };
  r = generate(*t.session, t.tokenizer, fresh, g, on_token, cached);
  fmt::print("\n");
  std::fflush(stdout);
  if (r.stop_reason == StopReason::kContextFull)
    log_info("(the reply filled the context; the oldest turns make room for the next message)");
  cached.insert(cached.end(), fresh.begin(), fresh.end());
  // The last sampled token was never fed; everything before it is in the cache.
  cached.insert(cached.end(), r.tokens.begin(), r.tokens.end() - (r.tokens.empty() ? 0 : 1));
  t.session->truncate(static_cast<int64_t>(cached.size()));
  messages.push_back({"assistant", r.text});
  return true;
}

double decode_tps(const GenerateResult& r) {
  return r.tokens.size() > 1 ? (r.tokens.size() - 1) / std::max(r.decode_seconds, 1e-9) : 0.0;
}

// Reads messages until /exit or end of input; `turn` answers one (the conversation holds it last).
void chat_loop(const ChatOptions& o, const std::string& banner, const std::function<void(std::vector<ChatMessage>&)>& turn,
               const std::function<void()>& reset) {
  std::vector<ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  const bool interactive = isatty(STDIN_FILENO);
  log_info("{}; /reset clears the conversation, /exit or Ctrl-D quits", banner);
  std::string line;
  while (true) {
    if (interactive) fmt::print(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(o.system.empty() ? 0 : 1);
      reset();
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    turn(messages);
  }
}

void chat(const ChatOptions& o) {
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: chat needs a tokenizer (tokenizer.json or tokenizer.model)", l.model->dir());
  const ChatTemplate t = resolve_chat_template(l, o.chat_template);
  Session session(*l.model, l.ctx, *l.pool, l.kv_type);
  const GenerateOptions g = o.sampling.resolve(*l.model);
  std::vector<int32_t> cached;  // tokens whose keys and values the session holds
  const ChatTarget target{l.model.get(), l.tokenizer.get(), &session, &cached, t, l.ctx};
  chat_loop(
      o, fmt::format("chat template: {}; context {} tokens", chat_template_name(t), l.ctx),
      [&](std::vector<ChatMessage>& messages) {
        GenerateResult r;
        if (chat_turn(target, messages, g, r)) log_verbose("{} tokens at {:.2f} tokens/s", r.tokens.size(), decode_tps(r));
      },
      [&] {
        session.truncate(0);
        cached.clear();
      });
}

// --strategy auto | VARIANT/METHOD: each message picks its variant and method; the variants are loaded on
// first use within --memory-budget, each keeping its own cache of the conversation.
void chat_with_strategy(ChatOptions& o) {
  set_log_level(o.model.verbose ? LogLevel::kVerbose : LogLevel::kInfo);
  PANGU_CHECK(!o.strategy.profile.empty(), "--strategy {} needs --profile FILE (a measured strategy profile)",
              o.strategy.strategy);
  PANGU_CHECK(o.save_learned.empty() || o.strategy.strategy == "auto", "--save-learned needs --strategy auto");
  if (!o.save_learned.empty()) check_output_path(o.save_learned, "--save-learned");
  PANGU_CHECK(o.chat_template.empty() || chat_template_from_name(o.chat_template),
              "--chat-template \"{}\": expected pangu, chatml, llama2 or raw", o.chat_template);
  PANGU_CHECK(o.model.kv_type == "f32" && !o.model.int8_head,
              "--strategy: the variants load as the profile measured them (f32 cache, their own head); drop --kv-type "
              "and --int8-head");
  StrategyProfile profile = StrategyProfile::load(o.strategy.profile);
  PolicyOptions policy = policy_options(o.strategy.max_quality_drop, o.strategy.memory_budget, o.strategy.objective);
  if (!o.model.model.empty()) {
    policy.only_variant = profile_variant_at(profile, resolve_model_path(o.model.model));
    PANGU_CHECK(!policy.only_variant.empty(), "-m {}: none of the variants of {}; drop -m or add it",
                o.model.model, o.strategy.profile);
  }
  std::optional<NamedStrategy> fixed;  // VARIANT/METHOD
  if (o.strategy.strategy != "auto") {
    fixed = parse_named_strategy(profile, o.strategy.strategy);
    PANGU_CHECK(policy.only_variant.empty() || policy.only_variant == fixed->variant,
                "--strategy {} names variant {}, but -m {} is variant {}", o.strategy.strategy, fixed->variant,
                o.model.model, policy.only_variant);
  }
  // The profile's speeds were measured at its thread count: that is the default here too.
  const bool threads_given = o.model.threads_option && o.model.threads_option->count() > 0;
  ThreadPool pool(threads_given || profile.threads <= 0 ? resolve_threads(o.model.threads_option, o.model.threads)
                                                        : profile.threads);
  VariantCache cache(profile, pool, o.model.ctx, policy.memory_budget);
  StrategySelector selector(profile, policy);
  const IntentRecognizer& recognizer = LexicalIntentModel::builtin();
  chat_loop(
      o, fmt::format("--strategy {} with {}", o.strategy.strategy, o.strategy.profile),
      [&](std::vector<ChatMessage>& messages) {
        const IntentResult intent = recognizer.classify(messages.back().content);
        StrategyPick pick;
        if (fixed) {
          pick.intent = intent;
          pick.variant = fixed->variant;
          pick.method = fixed->method_text;
          pick.why = "named on the command line";
        } else {
          pick = selector.pick(intent);
        }
        LoadedVariant& v = cache.get(pick.variant);
        GenerateOptions g = o.sampling.resolve(*v.model);
        const DecodingMethod method = *parse_decoding_method(pick.method);
        const auto proposer = cache.proposer(method, v, g.sampling);
        g.proposer = proposer.get();
        g.speculation = speculation_options(method);
        const ChatTemplate t = o.chat_template.empty() ? v.chat_template : *chat_template_from_name(o.chat_template);
        GenerateResult r;
        if (!chat_turn({v.model.get(), v.tokenizer.get(), v.session.get(), &v.cached, t, v.ctx}, messages, g, r)) return;
        const double tps = decode_tps(r);
        if (!fixed) selector.observe(pick, tps);
        std::string arms;
        for (const auto& a : pick.arms) arms += fmt::format(" {}={:.1f}tok/s(w{:.2f})", a.method, a.mean(), a.weight);
        log_verbose("strategy: {} ({:.2f}{}) -> {} with {}: {} tokens at {:.2f} tokens/s; arms:{}; {}",
                    intent_name(intent.label), intent.confidence, intent.uncertain ? ", uncertain" : "", pick.variant,
                    pick.method, r.tokens.size(), tps, arms.empty() ? " -" : arms, pick.why);
      },
      [&] {
        for (const std::string& name : cache.loaded()) {
          LoadedVariant& v = cache.get(name);
          v.session->truncate(0);
          v.cached.clear();
        }
      });
  if (!o.save_learned.empty()) {
    profile.learned.clear();
    for (const auto& [key, arms] : selector.bandit().all_arms()) {
      const size_t slash = key.find('/');
      for (const auto& a : arms)
        profile.learned[key.substr(0, slash)][key.substr(slash + 1)].push_back({a.method, a.weight, a.mean()});
    }
    write_text_file_atomic(o.save_learned, profile.to_json());
    log_info("wrote the profile with what was learned to {}", o.save_learned);
  }
}

}  // namespace

void register_chat(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "interactive multi-turn chat using the model's chat template");
  o->sampling.n_predict = -1;  // before add_to, so --help shows the real default
  o->model.add_to(*cmd);
  o->sampling.add_to(*cmd);
  opt::chat_template(*cmd, o->chat_template);
  cmd->add_option("--system", o->system, "system message");
  o->strategy.add_to(*cmd);
  // With --strategy the profile names the models; -m then only narrows the choice to that variant.
  cmd->get_option("--model")->required(false);
  cmd->add_option("--save-learned", o->save_learned,
                  "--strategy auto: at the end, write the profile with what the bandit learned to this file");
  cmd->callback([o] {
    if (o->strategy.strategy.empty()) {
      PANGU_CHECK(o->strategy.profile.empty(), "--profile needs --strategy (auto, or VARIANT/METHOD)");
      PANGU_CHECK(!o->model.model.empty(), "chat: give a model with -m (or --strategy with --profile)");
      chat(*o);
    } else {
      chat_with_strategy(*o);
    }
  });
}

}  // namespace pangu::cli
