// bf16 weights widen to f32 by a 16-bit shift; activations stay f32 so results match the f32 reference.
#include <immintrin.h>

#include "kernels/cpu/simd.h"

namespace pangu::cpu {

__attribute__((target("avx2,fma"))) static inline __m256 load_bf16x8(const uint16_t* p) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}

__attribute__((target("avx2,fma"))) float dot_bf16_avx2(const uint16_t* w, const float* x, int64_t k) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    acc0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(load_bf16x8(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
  }
  for (; i + 8 <= k; i += 8) acc0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), acc0);
  float sum = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < k; ++i) {
    const uint32_t bits = static_cast<uint32_t>(w[i]) << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    sum += f * x[i];
  }
  return sum;
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline __m512 load_bf16x16(const uint16_t* p,
                                                                                       __mmask16 m) {
  const __m256i raw = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) float dot_bf16_avx512(const uint16_t* w, const float* x,
                                                                           int64_t k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    acc0 = _mm512_fmadd_ps(load_bf16x16(w + i, 0xffff), _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(load_bf16x16(w + i + 16, 0xffff), _mm512_loadu_ps(x + i + 16), acc1);
  }
  acc0 = _mm512_add_ps(acc0, acc1);
  for (; i + 16 <= k; i += 16)
    acc0 = _mm512_fmadd_ps(load_bf16x16(w + i, 0xffff), _mm512_loadu_ps(x + i), acc0);
  if (i < k) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (k - i)) - 1u);
    acc0 = _mm512_fmadd_ps(load_bf16x16(w + i, tail), _mm512_maskz_loadu_ps(tail, x + i), acc0);
  }
  return _mm512_reduce_add_ps(acc0);
}

}  // namespace pangu::cpu
