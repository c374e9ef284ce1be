// Declarations of the SIMD kernels; each cpu/dot_<dtype>.cpp compiles its paths with target attributes so
// the binary runs on any x86-64 and picks the path at run time.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/kernels.h"

namespace pangu::cpu {

// Sum of the 8 lanes.
__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}

void silu_mul_avx512(float* gate, const float* up, int64_t n);
void softmax_avx512(float* x, int64_t n);
float dot_f32_avx2(const float* w, const float* x, int64_t k);
float dot_f32_avx512(const float* w, const float* x, int64_t k);
float dot_bf16_avx2(const uint16_t* w, const float* x, int64_t k);
float dot_bf16_avx512(const uint16_t* w, const float* x, int64_t k);
float dot_f16_avx2(const uint16_t* w, const float* x, int64_t k);
float dot_f16_avx512(const uint16_t* w, const float* x, int64_t k);
float dot_q8_avx2(const int8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                  int64_t k);
float dot_q8_avx512(const int8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                    int64_t k);
float dot_q4_avx2(const uint8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                  int64_t k);
float dot_q4_avx512(const uint8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                    int64_t k);
void axpy_avx2(float a, const float* x, float* y, int64_t n);
void axpy_avx512(float a, const float* x, float* y, int64_t n);
// Rows [r0, r1) of a quantized matmul, tiled over rows and tokens (same numerics as the dot kernels).
void quant_rows_avx512(const WeightMatrix& w, int64_t r0, int64_t r1, const float* x, int64_t n_tokens, float* y,
                       const float* bias);
}  // namespace pangu::cpu
