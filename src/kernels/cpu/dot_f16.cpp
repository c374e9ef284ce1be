#include <immintrin.h>

#include "core/dtype.h"
#include "kernels/cpu/simd.h"

namespace pangu::cpu {

__attribute__((target("avx2,fma,f16c"))) float dot_f16_avx2(const uint16_t* w, const float* x, int64_t k) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))),
                           _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8))),
                           _mm256_loadu_ps(x + i + 8), acc1);
  }
  for (; i + 8 <= k; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))),
                           _mm256_loadu_ps(x + i), acc0);
  float sum = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < k; ++i) sum += f16_to_f32(w[i]) * x[i];
  return sum;
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) float dot_f16_avx512(const uint16_t* w, const float* x,
                                                                          int64_t k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))),
                           _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i + 16))),
                           _mm512_loadu_ps(x + i + 16), acc1);
  }
  acc0 = _mm512_add_ps(acc0, acc1);
  for (; i < k; i += 16) {
    const __mmask16 m =
        k - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (k - i)) - 1u);
    acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i)),
                           _mm512_maskz_loadu_ps(m, x + i), acc0);
  }
  return _mm512_reduce_add_ps(acc0);
}

}  // namespace pangu::cpu
