// Memory read bandwidth, the roofline of decoding: each thread sums its part of a large buffer as four
// interleaved streams (as STREAM-like "read4" kernels do; one stream per thread under-reads on this
// class of CPU), with AVX2 loads.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/buffer.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace pangu {

namespace {

__attribute__((target("avx2"))) float sum_four_streams(const float* data, size_t n) {
  const size_t quarter = n / 4 / 32 * 32;
  const float* s[4] = {data, data + quarter, data + 2 * quarter, data + 3 * quarter};
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (size_t i = 0; i < quarter; i += 32)
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm256_add_ps(acc[k], _mm256_add_ps(_mm256_loadu_ps(s[k] + i), _mm256_loadu_ps(s[k] + i + 8)));
      acc[k] = _mm256_add_ps(acc[k], _mm256_add_ps(_mm256_loadu_ps(s[k] + i + 16), _mm256_loadu_ps(s[k] + i + 24)));
    }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  float total = 0;
  for (float v : out) total += v;
  return total;
}

float sum_scalar(const float* data, size_t n) {
  float acc[16] = {};
  for (size_t i = 0; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += data[i + j];
  float total = 0;
  for (float v : acc) total += v;
  return total;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int passes) {
  Buffer buffer(bytes);
  std::memset(buffer.data(), 1, bytes);  // commit the pages
  const auto* data = buffer.as<float>();
  const size_t n = bytes / sizeof(float);
  const size_t n_threads = static_cast<size_t>(pool.size());
  std::vector<float> sink(n_threads);
  const bool avx2 = detected_simd() >= SimdLevel::kAvx2;
  double best = 0;
  for (int pass = 0; pass < passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(n_threads, [&](size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t) {
        const size_t per = n / n_threads;
        sink[t] = avx2 ? sum_four_streams(data + t * per, per) : sum_scalar(data + t * per, per);
      }
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(bytes) / s);
  }
  volatile float keep = sink[0];  // the sums must not be optimized away
  (void)keep;
  return best;
}

}  // namespace pangu
