#include "serve/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace pangu::serve {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  cumulative += counts_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative, name, sum_, name, count_);
  return out;
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::request_finished(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_by_status_[status];
}

void Metrics::tokens(int64_t prompt, int64_t cached_prompt, int64_t completion) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  cached_prompt_tokens_ += static_cast<uint64_t>(cached_prompt);
  completion_tokens_ += static_cast<uint64_t>(completion);
}

void Metrics::first_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ttft_.observe(seconds);
}

void Metrics::inter_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  itl_.observe(seconds);
}

void Metrics::speculation(const std::string& category, int64_t proposed, int64_t accepted) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& s = speculation_[category];
  s.first += static_cast<uint64_t>(proposed);
  s.second += static_cast<uint64_t>(accepted);
}

void Metrics::strategy_chosen(const std::string& strategy) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++strategies_[strategy];
}

std::string Metrics::render(const GaugeValues& g) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP pangu_requests_total Finished HTTP API requests by status code.\n# TYPE pangu_requests_total counter\n";
  for (const auto& [status, n] : requests_by_status_) out += fmt::format("pangu_requests_total{{status=\"{}\"}} {}\n", status, n);
  out += fmt::format(
      "# HELP pangu_prompt_tokens_total Prompt tokens of finished requests.\n# TYPE pangu_prompt_tokens_total counter\n"
      "pangu_prompt_tokens_total {}\n"
      "# HELP pangu_prompt_tokens_cached_total Prompt tokens reused from a slot's cache.\n"
      "# TYPE pangu_prompt_tokens_cached_total counter\npangu_prompt_tokens_cached_total {}\n"
      "# HELP pangu_completion_tokens_total Generated tokens.\n# TYPE pangu_completion_tokens_total counter\n"
      "pangu_completion_tokens_total {}\n",
      prompt_tokens_, cached_prompt_tokens_, completion_tokens_);
  out += fmt::format(
      "# HELP pangu_queue_depth Requests waiting for a slot.\n# TYPE pangu_queue_depth gauge\npangu_queue_depth {}\n"
      "# HELP pangu_active_slots Slots decoding a request.\n# TYPE pangu_active_slots gauge\npangu_active_slots {}\n"
      "# HELP pangu_slots Slots (--parallel).\n# TYPE pangu_slots gauge\npangu_slots {}\n",
      g.queue_depth, g.active_slots, g.slots);
  out += "# HELP pangu_time_to_first_token_seconds From arrival to the first generated token.\n"
         "# TYPE pangu_time_to_first_token_seconds histogram\n";
  out += ttft_.render("pangu_time_to_first_token_seconds");
  out += "# HELP pangu_inter_token_latency_seconds Between successive tokens of a request.\n"
         "# TYPE pangu_inter_token_latency_seconds histogram\n";
  out += itl_.render("pangu_inter_token_latency_seconds");
  out += "# HELP pangu_speculative_proposed_total Proposed draft tokens by request category.\n"
         "# TYPE pangu_speculative_proposed_total counter\n";
  for (const auto& [category, s] : speculation_)
    out += fmt::format("pangu_speculative_proposed_total{{category=\"{}\"}} {}\n", category, s.first);
  out += "# HELP pangu_speculative_accepted_total Accepted draft tokens by request category.\n"
         "# TYPE pangu_speculative_accepted_total counter\n";
  for (const auto& [category, s] : speculation_)
    out += fmt::format("pangu_speculative_accepted_total{{category=\"{}\"}} {}\n", category, s.second);
  out += "# HELP pangu_strategy_choices_total Requests by the strategy that served them.\n"
         "# TYPE pangu_strategy_choices_total counter\n";
  for (const auto& [strategy, n] : strategies_)
    out += fmt::format("pangu_strategy_choices_total{{strategy=\"{}\"}} {}\n", strategy, n);
  return out;
}

}  // namespace pangu::serve
