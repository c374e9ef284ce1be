// Matrix-vector kernels at the openPangu-Embedded-1B MLP shape (6144 x 1536), every stored format and SIMD
// path: GB/s of weights read (decode is bandwidth-bound), and the multi-token product in GFLOP/s. The
// packed formats are what a loaded model uses for int8 and bf16; the row-major ones remain for f32, int4
// and models loaded without packing. BM_MatmulFromMemory stacks 8 such matrices (75 MB of int8, more than
// the L3) so that decoding reads from DRAM as it does in a real forward.
#include <benchmark/benchmark.h>

#include <random>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "quant/quantize.h"

namespace {

using namespace pangu;

constexpr int64_t kRows = 6144, kCols = 1536;

struct Matrices {
  explicit Matrices(int64_t copies = 1) : copies(copies) { fill(); }
  int64_t copies;
  Buffer packed_q8, packed_bf16, packed_q8g32;
  WeightMatrix packed_q8_view, packed_bf16_view, packed_q8g32_view;
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> q8, q4;
  std::vector<float> s8, s4, s8g32;
  void fill() {
    const int64_t kRows = ::kRows * copies;
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
    std::vector<uint8_t> q8g32(kRows * kCols);
    s8g32.resize(kRows * kCols / 32);
    for (int64_t r = 0; r < kRows; ++r) {
      quantize_row(&f32[r * kCols], kCols, w8, kCols, &q8[r * kCols], &s8[r]);
      quantize_row(&f32[r * kCols], kCols, w8, 32, &q8g32[r * kCols], &s8g32[r * kCols / 32]);
      quantize_row(&f32[r * kCols], kCols, w4, 128, &q4[r * kCols / 2], &s4[r * kCols / 128]);
    }
    ThreadPool pool(2);
    packed_q8_view = view(2);
    packed_bf16_view = view(1);
    pack_weights(packed_q8_view, packed_q8, pool);
    pack_weights(packed_bf16_view, packed_bf16, pool);
    // GGUF's Q8_0: a scale per 32 columns, an f16 value (so packed as f16).
    for (float& s : s8g32) s = f16_to_f32(f32_to_f16(s));
    packed_q8g32_view = {DType::kI8, q8g32.data(), kRows, kCols, QuantFormat::kInt8, s8g32.data(), nullptr, 32};
    pack_weights(packed_q8g32_view, packed_q8g32, pool);
    packed_q8g32_view.data = nullptr;
  }
  // 0 f32, 1 bf16, 2 int8, 3 int4-g128 (row-major); 4 int8, 5 bf16, 6 int8 with 32-column groups (packed).
  WeightMatrix view(int format) const {
    const int64_t kRows = ::kRows * copies;
    if (format == 6) return packed_q8g32_view;
    if (format >= 4) return format == 4 ? packed_q8_view : packed_bf16_view;
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

const Matrices& matrices(int64_t copies) {
  static const Matrices one(1);
  if (copies == 1) return one;
  static const Matrices many(8);
  return many;
}

// Args: format (see Matrices::view), SIMD level, tokens, threads.
void run_matmul(benchmark::State& state, int64_t copies) {
  const WeightMatrix w = matrices(copies).view(static_cast<int>(state.range(0)));
  const int64_t kRows = w.rows;
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

void BM_Matmul(benchmark::State& state) {
  run_matmul(state, 1);
}

void BM_MatmulFromMemory(benchmark::State& state) {
  run_matmul(state, 8);
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"format", "simd", "tokens", "threads"});
  for (int format : {0, 1, 2, 3, 4, 5, 6})
    for (int simd : {1, 2})
      for (int tokens : {1, 5, 64}) b->Args({format, simd, tokens, 2});
  b->Args({2, 0, 1, 2});  // the scalar paths, for scale
  b->Args({4, 0, 1, 2});
}
BENCHMARK(BM_Matmul)->Apply(Args)->UseRealTime();

void MemoryArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"format", "simd", "tokens", "threads"});
  for (int format : {2, 4, 5, 6})
    for (int tokens : {1, 5}) b->Args({format, 2, tokens, 2});
}
BENCHMARK(BM_MatmulFromMemory)->Apply(MemoryArgs)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
