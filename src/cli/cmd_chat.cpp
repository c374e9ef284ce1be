// pangu chat: interactive multi-turn chat with the model's template. Each turn re-renders the conversation
// and feeds only the tokens past the longest prefix the KV cache already holds.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

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

void chat(const ChatOptions& o) {
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: chat needs a tokenizer (tokenizer.json or tokenizer.model)", l.model->dir());
  const ChatTemplate t = resolve_chat_template(l, o.chat_template);
  Session session(*l.model, l.ctx, *l.pool, l.kv_type);
  GenerateOptions g = o.sampling.resolve(*l.model);
  // Room kept for the reply when old turns must go: what -n asks for, at most half the context; with -n -1
  // a quarter of it (the reply may then run on until the context is full).
  const int64_t reply_room =
      g.max_new_tokens >= 0 ? std::min<int64_t>(g.max_new_tokens, l.ctx / 2) : std::max<int64_t>(1, l.ctx / 4);
  std::vector<ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  std::vector<int32_t> cached;  // tokens whose keys and values the session holds
  const bool interactive = isatty(STDIN_FILENO);
  log_info("chat template: {}; context {} tokens; /reset clears the conversation, /exit or Ctrl-D quits",
           chat_template_name(t), l.ctx);
  std::string line;
  while (true) {
    if (interactive) fmt::print(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(o.system.empty() ? 0 : 1);
      session.truncate(0);
      cached.clear();
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    auto encode_all = [&] { return l.tokenizer->encode(render_chat(t, messages), !chat_template_has_bos(t)); };
    std::vector<int32_t> all = encode_all();
    int dropped = 0;
    while (static_cast<int64_t>(all.size()) + reply_room > l.ctx && drop_oldest_turn(messages)) {
      ++dropped;
      all = encode_all();
    }
    if (dropped > 0)
      log_info("context full: dropped the {} oldest turn{} of the conversation", dropped, dropped == 1 ? "" : "s");
    if (static_cast<int64_t>(all.size()) >= l.ctx) {
      log_info("error: this message takes {} tokens with the chat template; the context holds {} (raise -c/--ctx "
               "or send a shorter message)",
               all.size(), l.ctx);
      messages.pop_back();
      continue;
    }
    size_t common = 0;
    while (common < cached.size() && common < all.size() && cached[common] == all[common]) ++common;
    if (common == all.size()) --common;  // at least one token must be fed to get logits
    session.truncate(static_cast<int64_t>(common));
    cached.resize(common);
    const std::vector<int32_t> fresh(all.begin() + static_cast<std::ptrdiff_t>(common), all.end());
    auto on_token = [&](int32_t, std::string_view text, const float*) {
      fmt::print("{}", text);
      std::fflush(stdout);
      return true;
    };
    const GenerateResult r = generate(session, l.tokenizer.get(), fresh, g, on_token, cached);
    fmt::print("\n");
    std::fflush(stdout);
    if (r.stop_reason == StopReason::kContextFull)
      log_info("(the reply filled the context; the oldest turns make room for the next message)");
    cached.insert(cached.end(), fresh.begin(), fresh.end());
    // The last sampled token was never fed; everything before it is in the cache.
    cached.insert(cached.end(), r.tokens.begin(), r.tokens.end() - (r.tokens.empty() ? 0 : 1));
    session.truncate(static_cast<int64_t>(cached.size()));
    messages.push_back({"assistant", r.text});
    log_verbose("{} tokens at {:.2f} tokens/s", r.tokens.size(),
                r.tokens.size() > 1 ? (r.tokens.size() - 1) / std::max(r.decode_seconds, 1e-9) : 0.0);
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
  cmd->callback([o] { chat(*o); });
}

}  // namespace pangu::cli
