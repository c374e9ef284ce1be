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

void chat(const ChatOptions& o) {
  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: chat needs a tokenizer (tokenizer.json or tokenizer.model)", l.model->dir());
  const ChatTemplate t = resolve_chat_template(l, o.chat_template);
  Session session(*l.model, l.ctx, *l.pool);
  GenerateOptions g = o.sampling.resolve(*l.model);
  std::vector<ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  std::vector<int32_t> cached;  // tokens whose keys and values the session holds
  const bool interactive = isatty(STDIN_FILENO);
  log_info("chat template: {}; /reset clears the conversation, /exit or Ctrl-D quits", chat_template_name(t));
  std::string line;
  while (true) {
    if (interactive) fmt::print(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(o.system.empty() ? 0 : 1);
      session.truncate(0);
      cached.clear();
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    const std::vector<int32_t> all = l.tokenizer->encode(render_chat(t, messages), !chat_template_has_bos(t));
    size_t common = 0;
    while (common < cached.size() && common < all.size() && cached[common] == all[common]) ++common;
    if (common == all.size()) --common;  // at least one token must be fed to get logits
    session.truncate(static_cast<int64_t>(common));
    cached.resize(common);
    const std::vector<int32_t> fresh(all.begin() + common, all.end());
    if (session.n_past() + static_cast<int64_t>(fresh.size()) + g.max_new_tokens > session.n_ctx()) {
      log_info("context full: starting over with the last message only");
      messages.erase(messages.begin() + (o.system.empty() ? 0 : 1), messages.end() - 1);
      session.truncate(0);
      cached.clear();
      continue;
    }
    auto on_token = [&](int32_t, std::string_view text, const float*) {
      fmt::print("{}", text);
      std::fflush(stdout);
      return true;
    };
    const GenerateResult r = generate(session, l.tokenizer.get(), fresh, g, on_token, cached);
    fmt::print("\n");
    std::fflush(stdout);
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
  o->model.add_to(*cmd);
  o->sampling.add_to(*cmd);
  o->sampling.n_predict = 512;
  cmd->add_option("--chat-template", o->chat_template,
                  "pangu | chatml | llama2 | raw (default: from the model)");
  cmd->add_option("--system", o->system, "system message");
  cmd->callback([o] { chat(*o); });
}

}  // namespace pangu::cli
