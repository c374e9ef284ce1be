// The HTTP side of `pangu serve`: the OpenAI-compatible endpoints, /health, /metrics and the chat page,
// over cpp-httplib (Debian's libcpp-httplib: a thread per connection from a pool, chunked responses for
// server-sent events, body and time limits). Requests are validated here and handed to the Engine.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "adapt/method_bandit.h"
#include "adapt/strategy_profile.h"
#include "pangu/chat.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"
#include "serve/engine.h"
#include "serve/metrics.h"
#include "serve/openai.h"

namespace httplib {
class Server;
struct Response;
}

namespace pangu::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string model_name;   // the id in /v1/models and responses
  std::string api_key;      // empty: no authentication
  size_t max_body_bytes = 4 << 20;
  int read_timeout_seconds = 10;  // a request (headers and body) must arrive within this
  int http_threads = 0;           // 0: slots + queue + 4
  std::string strategy = "plain";  // the default for requests that name none: plain | pld | auto
  ChatTemplate chat_template = ChatTemplate::kRaw;
  // strategy "auto": the measured profile, the variant in it that this server runs, the quality bound.
  std::shared_ptr<const StrategyProfile> profile;
  std::string profile_variant;
  double max_quality_drop = 1.0;
};

class Server {
 public:
  Server(const Model& model, const Tokenizer& tokenizer, Engine& engine, Metrics& metrics, ServerOptions options);
  ~Server();
  // Binds the port (the bound port when 0 was asked). Throws Error when it cannot.
  int bind();
  void run();  // serves until stop()
  void stop();
  // From now on /health says draining and new completions get 503.
  void begin_drain() { draining_ = true; }
  // The profile the server runs with what its bandit has learned in "learned" (for --save-learned).
  StrategyProfile profile_with_learned() const;

 private:
  void routes();
  struct Prepared;
  Prepared prepare(const CompletionRequest& request) const;
  void respond(bool chat, const CompletionRequest& request, const Prepared& prepared, httplib::Response& res);
  nlohmann::json learn(const Prepared& prepared, const ServeRequest& request);

  const Model& model_;
  const Tokenizer& tokenizer_;
  Engine& engine_;
  Metrics& metrics_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> draining_{false};
  int listen_fd_ = -1;
  // strategy "auto": the decoding method per category, learned while serving (locks inside: prepare() is const)
  mutable MethodBandit bandit_;
};

// Constant-time comparison of a presented API key with the configured one (no early exit on a mismatch).
bool keys_equal(std::string_view presented, std::string_view expected);

}  // namespace pangu::serve
