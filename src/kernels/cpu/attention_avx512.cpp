// AVX-512 attention for one kv head (kernels/attention.h). Scores: a vector of 16 keys' values of one
// dimension times a broadcast query value, four partial sums over the dimensions so the FMA chains overlap,
// up to 4 queries per pass sharing every key load. Values: up to 2 queries by 8 vectors (128 dimensions)
// per pass, each value row loaded once for both.
#include <immintrin.h>

#include <algorithm>

#include "kernels/attention.h"

namespace pangu::cpu {

namespace {

#define PANGU_AVX512 __attribute__((target("avx512f")))

// 16 stored values as floats: f32 as they are, bf16 widened (the bits shifted into the high half).
PANGU_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
PANGU_AVX512 inline __m512 load16(const uint16_t* p) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}

template <int C, typename T>
PANGU_AVX512 void block_scores(const T* block, const float* q, int64_t q_stride, int64_t head_dim, float scale,
                               float* s, int64_t s_stride) {
  __m512 acc[C][4];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) acc[c][0] = acc[c][1] = acc[c][2] = acc[c][3] = _mm512_setzero_ps();
  for (int64_t d = 0; d < head_dim; d += 4) {
    const __m512 k0 = load16(block + (d + 0) * kKeyBlock);
    const __m512 k1 = load16(block + (d + 1) * kKeyBlock);
    const __m512 k2 = load16(block + (d + 2) * kKeyBlock);
    const __m512 k3 = load16(block + (d + 3) * kKeyBlock);
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const float* qc = q + c * q_stride + d;
      acc[c][0] = _mm512_fmadd_ps(_mm512_set1_ps(qc[0]), k0, acc[c][0]);
      acc[c][1] = _mm512_fmadd_ps(_mm512_set1_ps(qc[1]), k1, acc[c][1]);
      acc[c][2] = _mm512_fmadd_ps(_mm512_set1_ps(qc[2]), k2, acc[c][2]);
      acc[c][3] = _mm512_fmadd_ps(_mm512_set1_ps(qc[3]), k3, acc[c][3]);
    }
  }
  const __m512 sc = _mm512_set1_ps(scale);
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[c][0], acc[c][1]), _mm512_add_ps(acc[c][2], acc[c][3]));
    _mm512_storeu_ps(s + c * s_stride, _mm512_mul_ps(sum, sc));
  }
}

template <int NV, int C, typename T>
PANGU_AVX512 void accumulate_values(const T* values, int64_t head_dim, int64_t n_keys, const float* s,
                                    int64_t s_stride, float* out, int64_t out_stride) {
  __m512 acc[C][NV];
#pragma GCC unroll 2
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[c][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < n_keys; ++p) {
    const T* v = values + p * head_dim;
    __m512 w[C];
#pragma GCC unroll 2
    for (int c = 0; c < C; ++c) w[c] = _mm512_set1_ps(s[c * s_stride + p]);
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      const __m512 vv = load16(v + j * 16);
#pragma GCC unroll 2
      for (int c = 0; c < C; ++c) acc[c][j] = _mm512_fmadd_ps(w[c], vv, acc[c][j]);
    }
  }
#pragma GCC unroll 2
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) _mm512_storeu_ps(out + c * out_stride + j * 16, acc[c][j]);
}

template <typename T>
using ValuesFn = void (*)(const T*, int64_t, int64_t, const float*, int64_t, float*, int64_t);

template <int C, typename T>
ValuesFn<T> values_kernel(int nv) {
  static constexpr ValuesFn<T> table[8] = {
      &accumulate_values<1, C, T>, &accumulate_values<2, C, T>, &accumulate_values<3, C, T>,
      &accumulate_values<4, C, T>, &accumulate_values<5, C, T>, &accumulate_values<6, C, T>,
      &accumulate_values<7, C, T>, &accumulate_values<8, C, T>};
  return table[nv - 1];
}

}  // namespace

namespace {

template <typename T>
void attend_stored(const T* keys, const T* values, int64_t head_dim, int64_t n_keys, const AttentionQueries& a,
                   float scale, float* scores) {
  const int64_t s_stride = padded_positions(n_keys);
  const int64_t n_blocks = s_stride / kKeyBlock;
  for (int64_t i0 = 0; i0 < a.n; i0 += 4) {
    const int64_t c = std::min<int64_t>(4, a.n - i0);
    const float* q = a.q + i0 * a.stride;
    float* s = scores + i0 * s_stride;
    for (int64_t b = 0; b < n_blocks; ++b) {
      const T* block = keys + b * head_dim * kKeyBlock;
      switch (c) {
        case 1: block_scores<1>(block, q, a.stride, head_dim, scale, s + b * kKeyBlock, s_stride); break;
        case 2: block_scores<2>(block, q, a.stride, head_dim, scale, s + b * kKeyBlock, s_stride); break;
        case 3: block_scores<3>(block, q, a.stride, head_dim, scale, s + b * kKeyBlock, s_stride); break;
        default: block_scores<4>(block, q, a.stride, head_dim, scale, s + b * kKeyBlock, s_stride); break;
      }
    }
  }
  for (int64_t i = 0; i < a.n; ++i) softmax_inplace(scores + i * s_stride, n_keys);
  for (int64_t i0 = 0; i0 < a.n; i0 += 2) {
    const bool pair = i0 + 1 < a.n;
    for (int64_t d0 = 0; d0 < head_dim; d0 += 128) {
      const int nv = static_cast<int>(std::min<int64_t>(8, (head_dim - d0) / 16));
      const ValuesFn<T> fn = pair ? values_kernel<2, T>(nv) : values_kernel<1, T>(nv);
      fn(values + d0, head_dim, n_keys, scores + i0 * s_stride, s_stride, a.out + i0 * a.out_stride + d0,
         a.out_stride);
    }
  }
}

}  // namespace

void attend_avx512(const float* keys, const float* values, int64_t head_dim, int64_t n_keys,
                   const AttentionQueries& a, float scale, float* scores) {
  attend_stored(keys, values, head_dim, n_keys, a, scale, scores);
}

void attend_avx512(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
                   const AttentionQueries& a, float scale, float* scores) {
  attend_stored(keys, values, head_dim, n_keys, a, scale, scores);
}

}  // namespace pangu::cpu
