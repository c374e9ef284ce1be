// pangu serve: the OpenAI-compatible server (src/serve). SIGTERM or SIGINT drains: new requests get 503,
// in-flight ones finish within --drain-timeout (then are cancelled), and the process exits 0.
#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "cli/common.h"
#include "core/log.h"
#include "adapt/strategy_profile.h"
#include "pangu/error.h"
#include "serve/engine.h"
#include "serve/server.h"

namespace pangu::cli {

namespace {

struct ServeOptions {
  ModelOptions model;
  serve::ServerOptions server;
  serve::EngineOptions engine;
  std::string chat_template;
  int drain_timeout = 30;
  size_t max_body_mib = 4;
  std::string profile;
  std::string save_learned;
};

// The variant of the profile whose directory is the one being served.
std::string served_variant(const StrategyProfile& profile, const std::string& model_dir) {
  std::error_code ec;
  std::string names;
  for (const auto& [name, v] : profile.variants) {
    if (std::filesystem::equivalent(v.path, model_dir, ec)) return name;
    names += (names.empty() ? "" : ", ") + name + " = " + v.path;
  }
  fail("--profile {}: no variant of it is {} (its variants: {}); serve one of them", profile.origin, model_dir, names);
}

void serve_forever(ServeOptions& o) {
  // The signals are taken by a thread of their own (sigwait), so they must be blocked before any thread
  // starts: the thread pool, the engine and the HTTP workers inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not the end of the process

  Loaded l = load(o.model);
  PANGU_CHECK(l.tokenizer, "{}: serve needs a tokenizer (tokenizer.json or tokenizer.model)", l.model->dir());
  o.engine.kv_type = l.kv_type;
  o.engine.n_ctx = o.model.ctx_option && o.model.ctx_option->count() > 0 ? o.model.ctx : std::min<int64_t>(l.ctx, 4096);
  PANGU_CHECK(o.server.strategy == "plain" || o.server.strategy == "pld" || o.server.strategy == "auto",
              "--strategy {}: expected plain, pld or auto", o.server.strategy);
  PANGU_CHECK(o.server.strategy != "auto" || !o.profile.empty(), "--strategy auto needs --profile FILE (docs/adapt.md)");
  PANGU_CHECK(std::isfinite(o.server.max_quality_drop) && o.server.max_quality_drop >= 0,
              "--max-quality-drop {}: expected points >= 0", o.server.max_quality_drop);
  PANGU_CHECK(o.save_learned.empty() || !o.profile.empty(), "--save-learned needs --profile FILE");
  if (!o.save_learned.empty()) check_output_path(o.save_learned, "--save-learned");
  if (!o.profile.empty()) {
    o.server.profile = std::make_shared<const StrategyProfile>(StrategyProfile::load(o.profile));
    o.server.profile_variant = served_variant(*o.server.profile, l.model->dir());
  }
  o.server.max_body_bytes = o.max_body_mib << 20;
  o.server.chat_template = resolve_chat_template(l, o.chat_template);
  if (o.server.model_name.empty())
    o.server.model_name = std::filesystem::path(l.model->dir()).lexically_normal().filename().string();

  serve::Metrics metrics;
  serve::Engine engine(*l.model, l.tokenizer.get(), *l.pool, o.engine, metrics);
  serve::Server server(*l.model, *l.tokenizer, engine, metrics, o.server);
  const int port = server.bind();
  log_info("pangu serve: {} on http://{}:{} ; {} slots x {} tokens, KV cache {:.1f} MiB ({}); {} threads; "
           "queue {}; strategy {}{}",
           o.server.model_name, o.server.host, port, o.engine.parallel, o.engine.n_ctx,
           engine.kv_cache_bytes() / 1048576.0, kv_type_name(l.kv_type), l.pool->size(), o.engine.queue, o.server.strategy,
           o.server.api_key.empty() ? "" : "; API key required");

  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    log_info("pangu serve: {} received, draining (up to {} s)", received == SIGTERM ? "SIGTERM" : "SIGINT",
             o.drain_timeout);
    server.begin_drain();
    const int cancelled = engine.drain(std::chrono::seconds(o.drain_timeout));
    if (cancelled > 0) log_info("pangu serve: cancelled {} unfinished requests", cancelled);
    server.stop();
  });
  server.run();
  // run() returns on stop(); if it ended any other way, wake the signal thread so it can finish.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  if (!o.save_learned.empty()) {
    write_text_file_atomic(o.save_learned, server.profile_with_learned().to_json());
    log_info("pangu serve: wrote the profile with what was learned to {}", o.save_learned);
  }
  log_info("pangu serve: stopped");
}

}  // namespace

void register_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "an OpenAI-compatible HTTP server with continuous batching");
  o->model.add_to(*cmd);
  cmd->add_option("--host", o->server.host, "address to listen on (0.0.0.0 for every interface)")->capture_default_str();
  cmd->add_option("--port", o->server.port, "port (0: any free port, printed at start)")->capture_default_str();
  cmd->add_option("--parallel", o->engine.parallel, "slots: sequences decoded together in each step")
      ->capture_default_str();
  cmd->add_option("--queue", o->engine.queue, "requests that may wait for a slot; beyond, 503 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--prefill-chunk", o->engine.prefill_chunk,
                  "prompt tokens per step across slots, so a long prompt never stalls streaming clients")
      ->capture_default_str();
  cmd->add_option("--api-key", o->server.api_key, "require Authorization: Bearer KEY on /v1 and /metrics")
      ->envname("PANGU_API_KEY");
  cmd->add_option("--alias", o->server.model_name, "the model id in /v1/models (default: the directory name)");
  cmd->add_option("--strategy", o->server.strategy,
                  "decoding for requests that name none: plain | pld | auto (per request: the profile's policy and a "
                  "bandit learning from what requests measure)")
      ->capture_default_str();
  cmd->add_option("--profile", o->profile, "a measured strategy profile (docs/formats.md), for strategy auto");
  cmd->add_option("--save-learned", o->save_learned,
                  "at shutdown, write the profile with what strategy auto learned per category (load it with --profile "
                  "to go on from there; it may be the --profile file itself)");
  cmd->add_option("--max-quality-drop", o->server.max_quality_drop, "strategy auto: the quality bound, in points")
      ->capture_default_str();
  cmd->add_option("--spec-k", o->engine.spec_k, "tokens proposed per step by a speculative method")->capture_default_str();
  cmd->add_option("--spec-n", o->engine.pld_n, "PLD: longest n-gram matched")->capture_default_str();
  cmd->add_option("--max-body", o->max_body_mib, "largest request body in MiB (413 beyond)")->capture_default_str();
  cmd->add_option("--read-timeout", o->server.read_timeout_seconds, "seconds a request may take to arrive")
      ->capture_default_str();
  cmd->add_option("--drain-timeout", o->drain_timeout, "seconds in-flight requests get to finish on SIGTERM")
      ->capture_default_str();
  opt::chat_template(*cmd, o->chat_template);
  cmd->callback([o] { serve_forever(*o); });
}

}  // namespace pangu::cli
