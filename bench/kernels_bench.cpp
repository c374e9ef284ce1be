// Matrix-vector kernels at the openPangu-Embedded-1B MLP shape (6144 x 1536), every stored format and SIMD
// path: GB/s of weights read (decode is bandwidth-bound), and the multi-token product in GFLOP/s.
#include <benchmark/benchmark.h>

#include <random>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "quant/quantize.h"

namespace {

using namespace pangu;

constexpr int64_t kRows = 6144, kCols = 1536;

struct Matrices {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> q8, q4;
  std::vector<float> s8, s4;
  Matrices() {
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0, 0.02f);
    f32.resize(kRows * kCols);
    for (auto& v : f32) v = d(rng);
    bf16.resize(f32.size());
    for (size_t i = 0; i < f32.size(); ++i) bf16[i] = f32_to_bf16(f32[i]);
    const QuantScheme w8 = parse_quant_scheme("w8a16"), w4 = parse_quant_scheme("w4a16-g128");
    q8.resize(kRows * kCols);
    s8.resize(kRows);
    q4.resize(kRows * kCols / 2);
    s4.resize(kRows * kCols / 128);
    for (int64_t r = 0; r < kRows; ++r) {
      quantize_row(&f32[r * kCols], kCols, w8, kCols, &q8[r * kCols], &s8[r]);
      quantize_row(&f32[r * kCols], kCols, w4, 128, &q4[r * kCols / 2], &s4[r * kCols / 128]);
    }
  }
  WeightMatrix view(int format) const {
    switch (format) {
      case 0:
        return {DType::kF32, f32.data(), kRows, kCols};
      case 1:
        return {DType::kBF16, bf16.data(), kRows, kCols};
      case 2:
        return {DType::kI8, q8.data(), kRows, kCols, QuantFormat::kInt8, s8.data(), nullptr, kCols};
      default:
        return {DType::kU8, q4.data(), kRows, kCols, QuantFormat::kInt4, s4.data(), nullptr, 128};
    }
  }
};

const Matrices& matrices() {
  static const Matrices m;
  return m;
}

// Args: format (0 f32, 1 bf16, 2 int8, 3 int4-g128), SIMD level, tokens, threads.
void BM_Matmul(benchmark::State& state) {
  const WeightMatrix w = matrices().view(static_cast<int>(state.range(0)));
  const auto level = static_cast<SimdLevel>(state.range(1));
  if (level > detected_simd()) {
    state.SkipWithError("CPU lacks this SIMD level");
    return;
  }
  set_active_simd(level);
  const int64_t tokens = state.range(2);
  ThreadPool pool(static_cast<int>(state.range(3)));
  std::vector<float> x(tokens * kCols, 0.5f), y(tokens * kRows);
  for (auto _ : state) {
    matmul(w, x.data(), tokens, y.data(), nullptr, pool);
    benchmark::DoNotOptimize(y.data());
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w.stored_bytes()) * iters, benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * kRows * kCols * tokens * iters / 1e9, benchmark::Counter::kIsRate);
  set_active_simd(detected_simd());
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"format", "simd", "tokens", "threads"});
  for (int format : {0, 1, 2, 3})
    for (int simd : {1, 2})
      for (int tokens : {1, 5, 64}) b->Args({format, simd, tokens, 2});
  b->Args({2, 0, 1, 2});  // the scalar path, for scale
}
BENCHMARK(BM_Matmul)->Apply(Args)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
