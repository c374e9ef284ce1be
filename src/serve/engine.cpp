#include "serve/engine.h"

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "pangu/error.h"
#include "pangu/speculative.h"

namespace pangu::serve {

using Clock = std::chrono::steady_clock;

bool ServeRequest::wait_event(TokenEvent& out, std::chrono::milliseconds poll, bool& timed_out) {
  std::unique_lock<std::mutex> lock(mutex);
  timed_out = !changed.wait_for(lock, poll, [this] { return !events.empty() || finished; });
  if (timed_out) return true;
  if (events.empty()) return false;
  out = std::move(events.front());
  events.pop_front();
  return true;
}

struct Engine::Slot {
  std::unique_ptr<Session> session;
  std::vector<int32_t> cached;  // the tokens in the session's cache, in order
  std::shared_ptr<ServeRequest> request;
  std::vector<int32_t> tokens;  // the request's whole sequence so far: prompt, then output
  std::unique_ptr<Proposer> proposer;
  std::unique_ptr<Generation> generation;
  bool seen_first_token = false;
  Clock::time_point last_token;
};

namespace {

// log-softmax of the raw logits at `id`, and the `top` most likely tokens (the model's own distribution,
// before sampling settings, as vLLM reports it).
void fill_logprobs(const float* logits, int64_t vocab, int top, TokenEvent& event) {
  float max_logit = logits[0];
  for (int64_t v = 1; v < vocab; ++v) max_logit = std::max(max_logit, logits[v]);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v] - max_logit));
  const float log_z = max_logit + static_cast<float>(std::log(sum));
  event.logprob = logits[event.id] - log_z;
  if (top <= 0) return;
  std::vector<std::pair<float, int32_t>> candidates;
  candidates.reserve(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v) candidates.emplace_back(logits[v], static_cast<int32_t>(v));
  const size_t k = std::min<size_t>(static_cast<size_t>(top), candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k), candidates.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  for (size_t i = 0; i < k; ++i) event.top.push_back({candidates[i].second, candidates[i].first - log_z});
}

}  // namespace

Engine::Engine(const Model& model, const Tokenizer* tokenizer, ThreadPool& pool, const EngineOptions& options,
               Metrics& metrics)
    : model_(model), tokenizer_(tokenizer), pool_(pool), options_(options), metrics_(metrics) {
  PANGU_CHECK(options.parallel >= 1, "--parallel {}: expected at least 1 slot", options.parallel);
  PANGU_CHECK(options.prefill_chunk >= 1, "--prefill-chunk {}: expected at least 1", options.prefill_chunk);
  for (int i = 0; i < options.parallel; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->session = std::make_unique<Session>(model, options.n_ctx, pool, options.kv_type);
    slots_.push_back(std::move(slot));
  }
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t Engine::kv_cache_bytes() const {
  return static_cast<size_t>(options_.parallel) * pangu::kv_cache_bytes(model_.config(), options_.n_ctx, options_.kv_type);
}

Engine::Admission Engine::submit(const std::shared_ptr<ServeRequest>& request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_ || stopping_) return Admission::kDraining;
    if (queue_.size() >= options_.queue) return Admission::kQueueFull;
    queue_.push_back(request);
  }
  wake_.notify_all();
  return Admission::kAccepted;
}

GaugeValues Engine::gauges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {static_cast<int64_t>(queue_.size()), active_.load(), static_cast<int64_t>(slots_.size())};
}

int Engine::drain(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
  }
  const auto deadline = Clock::now() + timeout;
  auto idle = [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.empty() && active_.load() == 0;
  };
  while (!idle() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int cancelled = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& request : queue_) {
      std::lock_guard<std::mutex> request_lock(request->mutex);
      request->error = "the server is shutting down";
      request->finished = true;
      request->changed.notify_all();
      ++cancelled;
    }
    queue_.clear();
    for (auto& slot : slots_)
      if (slot->request) {
        slot->request->cancelled = true;
        ++cancelled;
      }
  }
  wake_.notify_all();
  while (!idle()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return cancelled;
}

Engine::Slot* Engine::pick_slot(const std::vector<int32_t>& prompt) {
  Slot* best = nullptr;
  size_t best_common = 0;
  for (auto& slot : slots_) {
    if (slot->request) continue;
    const size_t n = std::min(slot->cached.size(), prompt.size());
    size_t common = 0;
    while (common < n && slot->cached[common] == prompt[common]) ++common;
    if (!best || common > best_common) {
      best = slot.get();
      best_common = common;
    }
  }
  return best;
}

void Engine::start(Slot& slot, std::shared_ptr<ServeRequest> request) {
  slot.request = std::move(request);
  ServeRequest& r = *slot.request;
  ++active_;
  try {
    // The prompt cache: the longest common prefix with what the slot holds stays; at least one prompt token
    // is run again, for the logits of the first new token.
    size_t common = 0;
    const size_t n = std::min(slot.cached.size(), r.prompt.size() - 1);
    while (common < n && slot.cached[common] == r.prompt[common]) ++common;
    slot.session->truncate(static_cast<int64_t>(common));
    slot.cached.resize(common);
    r.cached_tokens = static_cast<int64_t>(common);
    slot.tokens = r.prompt;
    GenerateOptions options = r.options;
    slot.proposer.reset();
    if (r.spec == "pld") slot.proposer = make_pld_proposer(1, r.pld_n > 0 ? r.pld_n : options_.pld_n);
    options.proposer = slot.proposer.get();
    slot.seen_first_token = false;
    const int64_t vocab = model_.config().vocab_size;
    ServeRequest* req = &r;
    Slot* s = &slot;
    auto on_token = [this, req, s, vocab](int32_t id, std::string_view text, const float* logits) {
      const auto now = Clock::now();
      TokenEvent event;
      event.id = id;
      event.text = std::string(text);
      if (id >= 0) {
        s->tokens.push_back(id);
        if (!s->seen_first_token) {
          metrics_.first_token(std::chrono::duration<double>(now - req->arrived).count());
          s->seen_first_token = true;
        } else {
          metrics_.inter_token(std::chrono::duration<double>(now - s->last_token).count());
        }
        s->last_token = now;
        if (req->top_logprobs >= 0 && logits) fill_logprobs(logits, vocab, req->top_logprobs, event);
      }
      {
        std::lock_guard<std::mutex> lock(req->mutex);
        req->events.push_back(std::move(event));
      }
      req->changed.notify_all();
      return !req->cancelled.load();
    };
    const std::vector<int32_t> history(r.prompt.begin(), r.prompt.begin() + static_cast<std::ptrdiff_t>(common));
    const std::vector<int32_t> rest(r.prompt.begin() + static_cast<std::ptrdiff_t>(common), r.prompt.end());
    slot.generation = std::make_unique<Generation>(*slot.session, tokenizer_, rest, options, on_token, history);
  } catch (const std::exception& e) {
    finish(slot, e.what());
  }
}

void Engine::finish(Slot& slot, const std::string& error) {
  ServeRequest& r = *slot.request;
  GenerateResult result;
  std::string message = error;
  if (slot.generation) {
    try {
      result = slot.generation->finish();
    } catch (const std::exception& e) {
      if (message.empty()) message = e.what();
    }
  }
  // What the cache holds now: the sequence's first n_past tokens (the last token is never fed).
  const auto n_past = static_cast<size_t>(slot.session->n_past());
  slot.cached.assign(slot.tokens.begin(), slot.tokens.begin() + static_cast<std::ptrdiff_t>(std::min(n_past, slot.tokens.size())));
  if (slot.cached.size() < n_past) slot.session->truncate(static_cast<int64_t>(slot.cached.size()));
  metrics_.tokens(static_cast<int64_t>(r.prompt.size()), r.cached_tokens, static_cast<int64_t>(result.tokens.size()));
  if (result.speculation.proposed > 0 || r.spec != "none")
    metrics_.speculation(r.category.empty() ? "unknown" : r.category, result.speculation.proposed,
                         result.speculation.accepted);
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    r.result = std::move(result);
    r.error = message;
    r.finished = true;
  }
  r.changed.notify_all();
  slot.generation.reset();
  slot.proposer.reset();
  slot.request.reset();
  --active_;
}

void Engine::loop() {
  Batch batch(model_, pool_);
  std::vector<Slot*> members;
  for (;;) {
    std::vector<std::pair<Slot*, std::shared_ptr<ServeRequest>>> admitted;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || active_.load() > 0; });
      if (stopping_) {
        for (auto& request : queue_) {
          std::lock_guard<std::mutex> request_lock(request->mutex);
          request->error = "the server stopped";
          request->finished = true;
          request->changed.notify_all();
        }
        queue_.clear();
        lock.unlock();
        for (auto& slot : slots_)
          if (slot->request) finish(*slot, "the server stopped");
        return;
      }
      while (!queue_.empty()) {
        Slot* slot = pick_slot(queue_.front()->prompt);
        if (!slot) break;
        admitted.emplace_back(slot, std::move(queue_.front()));
        queue_.pop_front();
        slot->request = admitted.back().second;  // taken: pick_slot skips it
      }
    }
    for (auto& [slot, request] : admitted) {
      slot->request.reset();
      start(*slot, std::move(request));
    }

    // One step: every active slot's pending tokens in one forward; prompt tokens up to the chunk budget.
    batch.clear();
    members.clear();
    int64_t budget = options_.prefill_chunk;
    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (!slot.request) continue;
      if (slot.request->cancelled.load() || slot.generation->done()) {
        finish(slot);
        continue;
      }
      Generation& g = *slot.generation;
      int64_t chunk = 0;
      if (g.prefilling()) {
        if (budget <= 0) continue;  // waits for the next step
        chunk = budget;
      }
      const std::vector<int32_t>& tokens = g.next_tokens(chunk);
      if (g.prefilling()) budget -= static_cast<int64_t>(tokens.size());
      try {
        batch.add(*slot.session, tokens.data(), static_cast<int64_t>(tokens.size()), g.wants_all_logits());
        members.push_back(&slot);
      } catch (const std::exception& e) {
        finish(slot, e.what());
      }
    }
    if (members.empty()) continue;
    const auto t0 = Clock::now();
    try {
      batch.run();
    } catch (const std::exception& e) {
      for (Slot* slot : members) finish(*slot, e.what());
      continue;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    for (size_t e = 0; e < members.size(); ++e) {
      Slot& slot = *members[e];
      try {
        slot.generation->advance(batch.logits(e), seconds);
        if (slot.generation->done()) finish(slot);
      } catch (const std::exception& ex) {
        finish(slot, ex.what());
      }
    }
  }
}

}  // namespace pangu::serve
