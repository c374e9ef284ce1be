// The PLD n-gram index costs O(1) per generated token: the time of one step (index the new token, look up
// the suffix) is flat from 1k to 32k tokens of context. A scan of the context would grow linearly.
#include <benchmark/benchmark.h>

#include <random>

#include "spec/ngram_index.h"

namespace {

void BM_NgramStepAtContext(benchmark::State& state) {
  const int64_t context = state.range(0);
  std::mt19937 rng(1);
  std::vector<int32_t> tokens;
  tokens.reserve(static_cast<size_t>(context) + state.max_iterations + 16);
  pangu::NgramIndex index(1, 3);
  // A context of text-like ids (a 2,000-token working vocabulary), indexed as decoding would have.
  while (static_cast<int64_t>(tokens.size()) < context) {
    tokens.push_back(static_cast<int32_t>(rng() % 2000));
    if (tokens.size() % 64 == 0) index.find_continuation(tokens);
  }
  index.find_continuation(tokens);
  for (auto _ : state) {
    tokens.push_back(static_cast<int32_t>(rng() % 2000));
    benchmark::DoNotOptimize(index.find_continuation(tokens));
  }
  state.counters["context"] = static_cast<double>(context);
}
// 1,000 steps each, so the context stays near its nominal size (it grows by 1,000 during the run).
BENCHMARK(BM_NgramStepAtContext)
    ->Arg(1 << 10)
    ->Arg(1 << 12)
    ->Arg(1 << 14)
    ->Arg(1 << 15)
    ->Iterations(1000)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
