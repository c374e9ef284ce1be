#include "serve/server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <chrono>
#include <random>

#include "adapt/decoding_method.h"
#include "adapt/lexical_intent.h"
#include "adapt/strategy_policy.h"
#include "core/log.h"
#include "pangu/error.h"
#include "pangu/sampler.h"
#include "serve/chat_page.h"

namespace pangu::serve {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Responses may carry bytes of a partial UTF-8 character (a token's bytes): replaced, never a failed dump.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{}-{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(rng()));
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_body(e), "application/json");
}

// The marker tokens of models that think: openPangu-Embedded's [unused16] ... [unused17], Qwen3's <think>.
struct ReasoningMarkers {
  std::optional<int32_t> open, close;
};

ReasoningMarkers find_reasoning_markers(const Tokenizer& t) {
  for (const auto& [open, close] : {std::pair{"[unused16]", "[unused17]"}, std::pair{"<think>", "</think>"}}) {
    const auto a = t.piece_to_id(open), b = t.piece_to_id(close);
    if (a && b) return {a, b};
  }
  return {};
}

// Splits generated tokens into reasoning and answer by the markers, as vLLM's reasoning parsers do.
struct ReasoningSplitter {
  ReasoningMarkers markers;
  bool in_reasoning = false;
  // Returns true when the event's text is reasoning; marker tokens themselves carry no text.
  bool classify(const TokenEvent& e) {
    if (markers.open && e.id == *markers.open) {
      in_reasoning = true;
      return true;
    }
    if (markers.close && e.id == *markers.close) {
      in_reasoning = false;
      return true;
    }
    return in_reasoning;
  }
};

Json token_logprob_json(const Tokenizer& t, int32_t id, float logprob) {
  const std::string bytes = t.token_bytes(id);
  return {{"token", bytes}, {"logprob", logprob}, {"bytes", std::vector<uint8_t>(bytes.begin(), bytes.end())}};
}

// Chat API logprobs entry for one token.
Json chat_logprob(const Tokenizer& t, const TokenEvent& e) {
  Json entry = token_logprob_json(t, e.id, e.logprob);
  Json top = Json::array();
  for (const auto& alt : e.top) top.push_back(token_logprob_json(t, alt.id, alt.logprob));
  entry["top_logprobs"] = top;
  return entry;
}

}  // namespace

bool keys_equal(std::string_view presented, std::string_view expected) {
  // Every byte of the longer is visited whatever matches, so the time says nothing about the key.
  const size_t n = std::max(presented.size(), expected.size());
  unsigned diff = presented.size() == expected.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const unsigned a = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0u;
    const unsigned b = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0u;
    diff |= a ^ b;
  }
  return diff == 0;
}

struct Server::Prepared {
  std::shared_ptr<ServeRequest> request;
  std::string strategy;
  std::string bandit_key;  // strategy auto: the key and method the bandit learns from
  std::string method;
};

namespace {

// A profile method the server can run: plain, or pld:N:K with +adaptive (draft models and thinking modes are
// not served per request). Sets the request's decoding accordingly.
bool apply_method(const std::string& method, ServeRequest& r) {
  const auto m = parse_decoding_method(method);
  if (!m || !m->thinking.empty()) return false;
  if (m->kind == DecodingMethod::Kind::kPlain) {
    r.spec = "none";
    return true;
  }
  if (m->kind != DecodingMethod::Kind::kPld) return false;
  r.spec = "pld";
  r.pld_n = m->n;
  r.options.speculation.k = m->k;
  r.options.speculation.k_max = std::max(m->k, 8);
  r.options.speculation.adaptive = m->adaptive;
  return true;
}

}  // namespace

Server::Server(const Model& model, const Tokenizer& tokenizer, Engine& engine, Metrics& metrics, ServerOptions options)
    : model_(model), tokenizer_(tokenizer), engine_(engine), metrics_(metrics), options_(std::move(options)),
      http_(std::make_unique<httplib::Server>()) {
  const int threads = options_.http_threads > 0
                          ? options_.http_threads
                          : engine.options().parallel + static_cast<int>(engine.options().queue) + 4;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of clients overflows it and the kernel drops their
  // SYNs, which costs them a 1 s retransmit. The listening socket is remembered here (the options hook sees
  // it before bind) and listen() is called again with a deep backlog once bound (Linux takes the new value).
  http_->set_socket_options([this](int fd) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    listen_fd_ = fd;
  });
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_read_timeout(options_.read_timeout_seconds, 0);
  // An idle keep-alive connection holds an HTTP thread: no longer than a request may take to arrive.
  http_->set_keep_alive_timeout(std::min(5, options_.read_timeout_seconds));
  routes();
  // What the server learned before a restart (pangu serve --save-learned), as the bandit's starting state.
  if (options_.profile)
    if (const auto it = options_.profile->learned.find(options_.profile_variant); it != options_.profile->learned.end())
      for (const auto& [key, saved] : it->second) {
        std::vector<MethodBandit::Arm> arms;
        for (const LearnedArm& a : saved) arms.push_back({a.method, a.weight, a.weight * a.mean_tps});
        bandit_.restore(key, std::move(arms));
      }
}

StrategyProfile Server::profile_with_learned() const {
  PANGU_CHECK(options_.profile, "profile_with_learned: the server has no profile");
  StrategyProfile p = *options_.profile;
  auto& keys = p.learned[options_.profile_variant];
  keys.clear();
  for (const auto& [key, arms] : bandit_.all_arms())
    for (const MethodBandit::Arm& a : arms) keys[key].push_back({a.method, a.weight, a.mean()});
  return p;
}

Server::~Server() = default;

int Server::bind() {
  if (options_.port == 0) {
    const int port = http_->bind_to_any_port(options_.host);
    PANGU_CHECK(port > 0, "--host {}: cannot bind a port", options_.host);
    options_.port = port;
  } else {
    PANGU_CHECK(http_->bind_to_port(options_.host, options_.port), "--host {} --port {}: cannot bind (in use?)",
                options_.host, options_.port);
  }
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  return options_.port;
}

void Server::run() { http_->listen_after_bind(); }
void Server::stop() { http_->stop(); }

Server::Prepared Server::prepare(const CompletionRequest& r) const {
  std::vector<int32_t> prompt;
  std::string request_text;
  if (r.chat) {
    std::vector<ChatMessage> messages = r.messages;
    std::string suffix;
    if (r.enable_thinking == false) {
      // openPangu-Embedded's fast-thinking switch is " /no_think" after the user's words; Qwen3's template
      // opens the answer with an empty thought.
      if (options_.chat_template == ChatTemplate::kPangu) {
        for (auto it = messages.rbegin(); it != messages.rend(); ++it)
          if (it->role == "user") {
            it->content += " /no_think";
            break;
          }
      } else if (options_.chat_template == ChatTemplate::kChatML) {
        suffix = "<think>\n\n</think>\n\n";
      }
    }
    for (const auto& m : r.messages)
      if (m.role == "user") request_text = m.content;
    const std::string text = render_chat(options_.chat_template, messages) + suffix;
    prompt = tokenizer_.encode(text, !chat_template_has_bos(options_.chat_template));
  } else if (r.prompt_is_ids) {
    prompt = r.prompt_ids;
  } else {
    request_text = r.prompt;
    prompt = tokenizer_.encode(r.prompt, true);
  }
  const int64_t n_ctx = engine_.options().n_ctx;
  const auto n_prompt = static_cast<int64_t>(prompt.size());
  if (n_prompt == 0) throw ApiError(400, "the prompt encodes to no tokens", r.chat ? "messages" : "prompt");
  if (n_prompt >= n_ctx)
    throw ApiError(400,
                   fmt::format("the prompt has {} tokens; the context of a slot holds {} (--ctx-size), so at most {} "
                               "prompt tokens leave room for one generated token",
                               n_prompt, n_ctx, n_ctx - 1),
                   r.chat ? "messages" : "prompt", "invalid_request_error", "context_length_exceeded");
  if (r.max_tokens > 0 && n_prompt + r.max_tokens > n_ctx)
    throw ApiError(400,
                   fmt::format("this model's context holds {} tokens, but {} were requested ({} in the prompt, {} "
                               "to generate); lower max_tokens",
                               n_ctx, n_prompt + r.max_tokens, n_prompt, r.max_tokens),
                   r.chat ? "max_completion_tokens" : "max_tokens", "invalid_request_error", "context_length_exceeded");

  Prepared p;
  p.strategy = r.strategy.empty() ? options_.strategy : r.strategy;
  if (p.strategy != "plain" && p.strategy != "pld" && p.strategy != "auto")
    throw ApiError(400, fmt::format("strategy \"{}\": expected plain, pld or auto", p.strategy), "strategy");
  if (p.strategy == "auto" && !options_.profile)
    throw ApiError(400,
                   "strategy \"auto\" needs a measured strategy profile: start the server with --profile FILE "
                   "(docs/adapt.md)",
                   "strategy");
  auto request = std::make_shared<ServeRequest>();
  request->prompt = std::move(prompt);
  const IntentResult intent = LexicalIntentModel::builtin().classify(request_text);
  request->category = std::string(intent_name(intent.label));
  if (p.strategy == "auto" && !r.spec) {
    // The policy leaves the rows of this model that meet the bounds; the bandit picks among their methods by
    // what requests of the category have measured lately, the profile's figures as its prior.
    PolicyOptions policy;
    policy.max_quality_drop = options_.max_quality_drop;
    policy.only_variant = options_.profile_variant;
    const Recommendation rec = recommend(*options_.profile, intent, policy);
    p.bandit_key = rec.category_independent ? "overall" : request->category;
    ServeRequest probe;
    for (const PolicyRow& row : rec.rows)
      if (row.excluded.empty() && apply_method(row.speed->method, probe))
        bandit_.add_arm(p.bandit_key, row.speed->method, row.speed->decode_tps);
    p.method = bandit_.choose(p.bandit_key);
    if (!apply_method(p.method, *request)) p.method = "plain", apply_method("plain", *request);
    p.strategy = "auto:" + p.method;
  } else {
    request->spec = r.spec ? *r.spec : (p.strategy == "pld" ? "pld" : "none");
    p.strategy = request->spec == "pld" ? "pld" : "plain";
  }
  GenerateOptions& g = request->options;
  g.max_new_tokens = r.max_tokens;
  g.sampling = sampling_defaults(model_.generation_config());
  if (r.temperature) {
    g.sampling.temperature = *r.temperature;
    g.sampling.greedy = *r.temperature <= 0.0f;
  }
  if (r.top_p) g.sampling.top_p = *r.top_p;
  if (r.top_k) g.sampling.top_k = *r.top_k;
  if (r.min_p) g.sampling.min_p = *r.min_p;
  if (r.repetition_penalty) g.sampling.repetition_penalty = *r.repetition_penalty;
  g.sampling.presence_penalty = r.presence_penalty;
  g.sampling.frequency_penalty = r.frequency_penalty;
  g.sampling.penalty_last_n = -1;  // OpenAI's penalties count the whole output
  g.sampling.seed = r.seed ? *r.seed : std::random_device{}();
  g.sampling.logit_bias = r.logit_bias;
  try {
    validate_sampling(g.sampling);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  g.stop_strings = r.stop;
  g.eos_token_ids = model_.eos_token_ids();
  g.ignore_eos = r.ignore_eos;
  if (p.method.empty() || r.spec_k) {
    g.speculation.k = r.spec_k ? *r.spec_k : engine_.options().spec_k;
    g.speculation.k_max = std::max(g.speculation.k, 8);
  }
  request->top_logprobs = r.logprobs ? r.top_logprobs : -1;
  p.request = std::move(request);
  return p;
}

void Server::routes() {
  httplib::Server& http = *http_;
  // Authentication before any route: the API and the metrics need the key; the page and /health do not.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options_.api_key.empty() || req.path == "/" || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string header = req.get_header_value("Authorization");
    const std::string_view prefix = "Bearer ";
    const bool ok = header.size() > prefix.size() && header.compare(0, prefix.size(), prefix) == 0 &&
                    keys_equal(std::string_view(header).substr(prefix.size()), options_.api_key);
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "", "invalid_request_error",
                             "invalid_api_key"));
    metrics_.request_finished(401);
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    // A request that could not be read (malformed, or not all there within --read-timeout) ends its
    // connection: whatever follows on it cannot be trusted to start a request.
    if (res.status == 400 || res.status == 408 || res.status == 413) res.set_header("Connection", "close");
    const std::string message = res.status == 404   ? fmt::format("no route {} {}", req.method, req.path)
                                : res.status == 413 ? "the request body is larger than --max-body allows"
                                : res.status == 400 ? "the request could not be read: malformed, or incomplete within --read-timeout"
                                                    : fmt::format("HTTP {}", res.status);
    send_error(res, ApiError(res.status, message, "", res.status == 404 ? "not_found_error" : "invalid_request_error"));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, message, "", "server_error"));
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(chat_page_html(), "text/html; charset=utf-8"); });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (draining_) {
      res.status = 503;
      res.set_content(R"({"status":"draining"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(engine_.gauges()), "text/plain; version=0.0.4");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    Json model = {{"id", options_.model_name}, {"object", "model"}, {"created", unix_seconds()}, {"owned_by", "pangu.cpp"},
                  {"max_model_len", engine_.options().n_ctx}};
    res.set_content(dump(Json{{"object", "list"}, {"data", Json::array({model})}}), "application/json");
    metrics_.request_finished(200);
  });

  auto completion = [this](bool chat) {
    return [this, chat](const httplib::Request& req, httplib::Response& res) {
      CompletionRequest parsed;
      Prepared p;
      try {
        if (draining_) throw ApiError(503, "the server is shutting down", "", "server_error");
        RequestLimits limits;
        limits.vocab_size = model_.config().vocab_size;
        parsed = parse_completion_request(req.body, chat, limits);
        p = prepare(parsed);
      } catch (const ApiError& e) {
        send_error(res, e);
        metrics_.request_finished(e.status);
        return;
      } catch (const Error& e) {
        send_error(res, ApiError(400, e.what()));
        metrics_.request_finished(400);
        return;
      }
      const Engine::Admission admission = engine_.submit(p.request);
      if (admission != Engine::Admission::kAccepted) {
        res.set_header("Retry-After", "1");
        send_error(res, ApiError(503,
                                 admission == Engine::Admission::kQueueFull
                                     ? fmt::format("all {} slots are busy and the queue of {} is full; retry later",
                                                   engine_.options().parallel, engine_.options().queue)
                                     : "the server is shutting down",
                                 "", "server_error", admission == Engine::Admission::kQueueFull ? "queue_full" : ""));
        metrics_.request_finished(503);
        return;
      }
      metrics_.strategy_chosen(p.strategy);
      respond(chat, parsed, p, res);
    };
  };
  http.Post("/v1/chat/completions", completion(true));
  http.Post("/v1/completions", completion(false));
}

namespace {

Json usage_json(const ServeRequest& r) {
  const auto n_prompt = static_cast<int64_t>(r.prompt.size());
  const auto n_out = static_cast<int64_t>(r.result.tokens.size());
  return {{"prompt_tokens", n_prompt},
          {"completion_tokens", n_out},
          {"total_tokens", n_prompt + n_out},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

// The extension object: what the adaptive layer decided and what it measured.
Json pangu_json(const ServeRequest& r, const std::string& strategy) {
  const GenerateResult& g = r.result;
  const double n = static_cast<double>(g.tokens.size());
  Json j = {{"category", r.category},
            {"strategy", strategy},
            {"cached_tokens", r.cached_tokens},
            {"timings",
             {{"prefill_ms", 1000.0 * g.prefill_seconds},
              {"decode_ms", 1000.0 * g.decode_seconds},
              {"decode_tokens_per_second", n > 1 && g.decode_seconds > 0 ? (n - 1) / g.decode_seconds : 0.0}}}};
  if (r.spec != "none")
    j["speculation"] = {{"method", r.spec},
                        {"proposed", g.speculation.proposed},
                        {"accepted", g.speculation.accepted},
                        {"acceptance_rate", g.speculation.acceptance_rate()},
                        {"mean_accepted_length", g.speculation.mean_accepted()}};
  return j;
}

// The legacy completions API's logprobs object, grown token by token.
struct LegacyLogprobs {
  Json tokens = Json::array(), token_logprobs = Json::array(), top_logprobs = Json::array(), text_offset = Json::array();
  size_t offset = 0;
  void add(const Tokenizer& t, const TokenEvent& e) {
    tokens.push_back(t.token_bytes(e.id));
    token_logprobs.push_back(e.logprob);
    Json top = Json::object();
    for (const auto& alt : e.top) top[t.token_bytes(alt.id)] = alt.logprob;
    top_logprobs.push_back(top);
    text_offset.push_back(offset);
    offset += e.text.size();
  }
  Json json() const {
    return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top_logprobs}, {"text_offset", text_offset}};
  }
};

ApiError engine_error(const std::string& message) {
  const bool shutdown = message.find("shutting down") != std::string::npos || message.find("stopped") != std::string::npos;
  return ApiError(shutdown ? 503 : 500, message, "", "server_error");
}

}  // namespace

// strategy auto: what the request measured goes to the bandit; the response shows the arms it chose among.
Json Server::learn(const Prepared& p, const ServeRequest& r) {
  if (p.bandit_key.empty()) return nullptr;
  const GenerateResult& g = r.result;
  const double n = static_cast<double>(g.tokens.size());
  if (r.error.empty() && n > 1 && g.decode_seconds > 0) bandit_.observe(p.bandit_key, p.method, (n - 1) / g.decode_seconds);
  Json arms = Json::array();
  for (const auto& arm : bandit_.arms(p.bandit_key))
    arms.push_back({{"method", arm.method}, {"mean_tokens_per_second", arm.mean()}, {"weight", arm.weight}});
  return {{"method", p.method}, {"rows", p.bandit_key}, {"arms", arms}};
}

void Server::respond(bool chat, const CompletionRequest& parsed, const Prepared& p, httplib::Response& res) {
  const std::string id = random_id(chat ? "chatcmpl" : "cmpl");
  const int64_t created = unix_seconds();
  const std::string object = chat ? "chat.completion" : "text_completion";
  auto request = p.request;
  const Tokenizer& tokenizer = tokenizer_;

  if (!parsed.stream) {
    ReasoningSplitter splitter{find_reasoning_markers(tokenizer)};
    std::string content, reasoning;
    Json chat_logprobs = Json::array();
    LegacyLogprobs legacy;
    TokenEvent event;
    bool timed_out = false;
    while (request->wait_event(event, std::chrono::milliseconds(1000), timed_out)) {
      if (timed_out) continue;
      const bool is_reasoning = chat && event.id >= 0 && splitter.classify(event);
      (is_reasoning ? reasoning : content) += event.text;
      if (request->top_logprobs >= 0 && event.id >= 0) {
        if (chat) chat_logprobs.push_back(chat_logprob(tokenizer, event));
        else legacy.add(tokenizer, event);
      }
    }
    if (!request->error.empty()) {
      const ApiError e = engine_error(request->error);
      send_error(res, e);
      metrics_.request_finished(e.status);
      return;
    }
    const std::string reason = finish_reason(stop_reason_name(request->result.stop_reason));
    Json choice = {{"index", 0}, {"finish_reason", reason}};
    if (chat) {
      Json message = {{"role", "assistant"}, {"content", content}};
      if (!reasoning.empty()) message["reasoning_content"] = reasoning;
      choice["message"] = message;
      choice["logprobs"] = request->top_logprobs >= 0 ? Json{{"content", chat_logprobs}} : Json(nullptr);
    } else {
      choice["text"] = content;
      choice["logprobs"] = request->top_logprobs >= 0 ? legacy.json() : Json(nullptr);
    }
    Json body = {{"id", id},
                 {"object", object},
                 {"created", created},
                 {"model", options_.model_name},
                 {"choices", Json::array({choice})},
                 {"usage", usage_json(*request)},
                 {"pangu", pangu_json(*request, p.strategy)}};
    if (const Json adaptive = learn(p, *request); !adaptive.is_null()) body["pangu"]["auto"] = adaptive;
    res.set_content(dump(body), "application/json");
    metrics_.request_finished(200);
    return;
  }

  // Server-sent events: a chunk per piece of text, the finish reason, usage when asked, then [DONE]. A write
  // that fails means the client left: the request is cancelled and its slot freed at the next step.
  const std::string model_name = options_.model_name;
  const bool include_usage = parsed.include_usage;
  const std::string strategy = p.strategy;
  Metrics* metrics = &metrics_;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [=, this, &tokenizer](size_t, httplib::DataSink& sink) {
        ReasoningSplitter splitter{find_reasoning_markers(tokenizer)};
        const std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
        auto chunk = [&](Json choice) {
          Json j = {{"id", id}, {"object", chunk_object}, {"created", created}, {"model", model_name}};
          j["choices"] = choice.is_null() ? Json::array() : Json::array({choice});
          return j;
        };
        auto send = [&](const Json& j) {
          const std::string line = "data: " + dump(j) + "\n\n";
          return sink.write(line.data(), line.size());
        };
        auto gone = [&] {
          request->cancelled = true;
          metrics->request_finished(499);  // nginx's "client closed request"
          return false;
        };
        if (chat && !send(chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}})))
          return gone();
        TokenEvent event;
        bool timed_out = false;
        while (request->wait_event(event, std::chrono::milliseconds(200), timed_out)) {
          if (timed_out) {
            if (!sink.is_writable()) return gone();
            continue;
          }
          const bool has_logprobs = request->top_logprobs >= 0 && event.id >= 0;
          if (event.text.empty() && !has_logprobs) continue;
          Json choice = {{"index", 0}, {"finish_reason", nullptr}};
          if (chat) {
            const bool is_reasoning = event.id >= 0 && splitter.classify(event);
            choice["delta"] = {{is_reasoning ? "reasoning_content" : "content", event.text}};
            choice["logprobs"] = has_logprobs ? Json{{"content", Json::array({chat_logprob(tokenizer, event)})}} : Json(nullptr);
          } else {
            choice["text"] = event.text;
            LegacyLogprobs one;
            if (has_logprobs) one.add(tokenizer, event);
            choice["logprobs"] = has_logprobs ? one.json() : Json(nullptr);
          }
          if (!send(chunk(choice))) return gone();
        }
        if (!request->error.empty()) {
          const ApiError e = engine_error(request->error);
          send(Json::parse(error_body(e)));
          metrics->request_finished(e.status);
        } else {
          const std::string reason = finish_reason(stop_reason_name(request->result.stop_reason));
          Json last = chat ? Json{{"index", 0}, {"delta", Json::object()}, {"logprobs", nullptr}, {"finish_reason", reason}}
                           : Json{{"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", reason}};
          Json j = chunk(last);
          j["pangu"] = pangu_json(*request, strategy);
          if (const Json adaptive = learn(p, *request); !adaptive.is_null()) j["pangu"]["auto"] = adaptive;
          if (!send(j)) return gone();
          if (include_usage) {
            Json u = chunk(nullptr);
            u["usage"] = usage_json(*request);
            if (!send(u)) return gone();
          }
          metrics->request_finished(200);
        }
        const std::string done = "data: [DONE]\n\n";
        sink.write(done.data(), done.size());
        sink.done();
        return true;
      },
      [request](bool success) {
        if (!success) request->cancelled = true;
      });
}

}  // namespace pangu::serve
