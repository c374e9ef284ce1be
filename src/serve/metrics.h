// Prometheus metrics of the server (GET /metrics, text format 0.0.4): requests by status, tokens in and
// out, queue depth and active slots, time-to-first-token and inter-token latency histograms, speculative
// acceptance by request category, strategy choices.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace pangu::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // The _bucket, _sum and _count lines of `name`.
  std::string render(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // [bounds + 1], the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct GaugeValues {
  int64_t queue_depth = 0;
  int64_t active_slots = 0;
  int64_t slots = 0;
};

class Metrics {
 public:
  Metrics();
  void request_finished(int status);
  void tokens(int64_t prompt, int64_t cached_prompt, int64_t completion);
  void first_token(double seconds);
  void inter_token(double seconds);
  void speculation(const std::string& category, int64_t proposed, int64_t accepted);
  void strategy_chosen(const std::string& strategy);
  std::string render(const GaugeValues& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<int, uint64_t> requests_by_status_;
  uint64_t prompt_tokens_ = 0, cached_prompt_tokens_ = 0, completion_tokens_ = 0;
  Histogram ttft_, itl_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> speculation_;  // category -> (proposed, accepted)
  std::map<std::string, uint64_t> strategies_;
};

}  // namespace pangu::serve
