// Continuous batching. A fixed number of slots, each a Session with its own KV cache; requests wait in a
// bounded queue and take a free slot between steps. Every step runs one forward (pangu::Batch) over the
// pending tokens of every active slot (a prompt chunk, or the last token with its speculative proposals), so
// the weights are read once per step for all of them; each sequence then samples, verifies and streams on
// its own (pangu::Generation), exactly as it would alone. A slot keeps the tokens in its cache after a
// request ends, and a request that starts with them reuses the longest common prefix (prompt cache).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/thread_pool.h"
#include "pangu/tokenizer.h"
#include "serve/metrics.h"

namespace pangu::serve {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
};

// One generated token as the client sees it: its text (possibly empty while a character or a possible stop
// string is held back) and, when asked, its log-probability and the most likely alternatives.
struct TokenEvent {
  int32_t id = -1;  // -1: held-back text flushed at the end
  std::string text;
  float logprob = 0;
  std::vector<TokenLogprob> top;
};

// A request inside the engine. The HTTP side fills the inputs, submits, then reads events until finished.
struct ServeRequest {
  // Inputs.
  std::vector<int32_t> prompt;
  GenerateOptions options;  // proposer: set by the engine from `spec`
  std::string spec = "none";  // none | pld
  int pld_n = 0;              // PLD n-gram length; 0: the engine's default
  int top_logprobs = -1;      // -1: no log-probabilities
  std::string category;       // the request's intent, for the metrics

  // Outputs, guarded by mutex.
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<TokenEvent> events;
  bool finished = false;
  GenerateResult result;
  std::string error;          // set when the engine failed the request
  int64_t cached_tokens = 0;  // prompt tokens reused from the slot's cache

  std::atomic<bool> cancelled{false};  // the client went away: stop at the next step
  std::chrono::steady_clock::time_point arrived = std::chrono::steady_clock::now();

  // Waits for the next event or the end; false when finished and nothing is left. Returns early every
  // `poll` so the caller can check its connection.
  bool wait_event(TokenEvent& out, std::chrono::milliseconds poll, bool& timed_out);
};

struct EngineOptions {
  int parallel = 4;           // slots
  int64_t n_ctx = 4096;       // per slot
  KvType kv_type = KvType::kF32;
  size_t queue = 64;          // requests waiting for a slot; beyond: refused
  int64_t prefill_chunk = 64;  // prompt tokens per step across all slots, so long prompts never stall decoding
  int pld_n = 3;              // PLD n-gram length
  int spec_k = 4;             // default proposals per step for a speculative method
};

class Engine {
 public:
  Engine(const Model& model, const Tokenizer* tokenizer, ThreadPool& pool, const EngineOptions& options,
         Metrics& metrics);
  ~Engine();  // cancels what is left and stops the loop
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  enum class Admission { kAccepted, kQueueFull, kDraining };
  Admission submit(const std::shared_ptr<ServeRequest>& request);
  // Stops taking requests, lets in-flight ones finish for up to `timeout`, then cancels the rest. Returns the
  // number cancelled.
  int drain(std::chrono::milliseconds timeout);
  GaugeValues gauges() const;
  const EngineOptions& options() const { return options_; }
  // Bytes of KV cache the slots hold at most (keys and values, every layer, n_ctx positions each).
  size_t kv_cache_bytes() const;

 private:
  struct Slot;
  void loop();
  void start(Slot& slot, std::shared_ptr<ServeRequest> request);
  void finish(Slot& slot, const std::string& error = "");
  Slot* pick_slot(const std::vector<int32_t>& prompt);

  const Model& model_;
  const Tokenizer* tokenizer_;
  ThreadPool& pool_;
  EngineOptions options_;
  Metrics& metrics_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<ServeRequest>> queue_;
  bool draining_ = false;
  bool stopping_ = false;
  std::atomic<int> active_{0};
  std::thread thread_;
};

}  // namespace pangu::serve
