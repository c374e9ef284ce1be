// Quantized rows dequantized in registers: int8 (or unpacked int4) widened to f32 and multiplied with the
// f32 activations, one f32 partial sum per group scaled once. Tails shorter than a vector go through the
// same formula as the scalar reference.
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/simd.h"
#include "kernels/kernels.h"
#include "kernels/ref/dot_ref.h"

namespace pangu::cpu {

namespace {

#define PANGU_AVX2 __attribute__((target("avx2,fma")))
#define PANGU_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

// Packed int4 bytes -> 2n sign-extended int8 lanes in element order (low nibble first).
PANGU_AVX2 inline __m128i unpack_int4(__m128i bytes) {
  const __m128i words = _mm_cvtepu8_epi16(bytes);
  const __m128i lo = _mm_and_si128(words, _mm_set1_epi16(0x000f));
  const __m128i hi = _mm_slli_epi16(_mm_and_si128(words, _mm_set1_epi16(0x00f0)), 4);
  const __m128i eight = _mm_set1_epi8(8);
  return _mm_sub_epi8(_mm_xor_si128(_mm_or_si128(lo, hi), eight), eight);
}

struct Q8 {
  const int8_t* w;
  PANGU_AVX2 __m256 load8(int64_t i) const {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + i))));
  }
  PANGU_AVX512 __m512 load16(int64_t i) const {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))));
  }
  float at(int64_t i) const { return w[i]; }
};

// i is always even here: groups start at multiples of 16.
struct Q4 {
  const uint8_t* w;
  PANGU_AVX2 __m256 load8(int64_t i) const {
    int32_t raw;
    std::memcpy(&raw, w + i / 2, 4);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(unpack_int4(_mm_cvtsi32_si128(raw))));
  }
  PANGU_AVX512 __m512 load16(int64_t i) const {
    const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + i / 2));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(unpack_int4(raw)));
  }
  float at(int64_t i) const { return static_cast<float>(ref::int4_at(w, i)); }
};

// With an offset, sum((q - o) * x) = sum(q * x) - o * sum(x): the x sum is kept only when needed.
template <bool kOffset, typename Row>
PANGU_AVX2 float dot_groups_avx2(Row row, const float* scale, const float* offset, int64_t group, const float* x,
                                 int64_t k) {
  __m256 total = _mm256_setzero_ps();
  float scalar_total = 0.0f;
  for (int64_t start = 0, g = 0; start < k; start += group, ++g) {
    const int64_t end = start + group < k ? start + group : k;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), xsum = _mm256_setzero_ps();
    int64_t i = start;
    for (; i + 16 <= end; i += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
      acc0 = _mm256_fmadd_ps(row.load8(i), x0, acc0);
      acc1 = _mm256_fmadd_ps(row.load8(i + 8), x1, acc1);
      if constexpr (kOffset) xsum = _mm256_add_ps(xsum, _mm256_add_ps(x0, x1));
    }
    for (; i + 8 <= end; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(x + i);
      acc0 = _mm256_fmadd_ps(row.load8(i), x0, acc0);
      if constexpr (kOffset) xsum = _mm256_add_ps(xsum, x0);
    }
    __m256 acc = _mm256_add_ps(acc0, acc1);
    const float off = kOffset ? offset[g] : 0.0f;
    if constexpr (kOffset) acc = _mm256_fnmadd_ps(_mm256_set1_ps(off), xsum, acc);
    total = _mm256_fmadd_ps(acc, _mm256_set1_ps(scale[g]), total);
    float tail = 0.0f;
    for (; i < end; ++i) tail += (row.at(i) - off) * x[i];
    scalar_total += tail * scale[g];
  }
  return hsum256(total) + scalar_total;
}

// One row against a tile of T tokens. Every token goes through exactly the operations of the one-token
// kernel (two interleaved accumulators, the same group and tail order), so a product does not depend on how
// many tokens share its tile: a batched forward equals token-by-token decoding bit for bit, which keeps
// speculative verification exact. What a tile saves is work: each weight vector is widened once for T
// tokens. (Tiles of 2 rows measured slower here: 71 vs 56 ms for a 2-token forward at the 1B shape, and
// decoding dropped from 24 to 16 tokens/s.)
template <int T, bool kOffset, typename Row>
PANGU_AVX512 inline void tile_avx512(Row row, const float* scale, const float* offset, int64_t group,
                                     const float* x, int64_t x_stride, int64_t k, float* out) {
  __m512 total[T];
  float scalar_total[T];
  for (int t = 0; t < T; ++t) {
    total[t] = _mm512_setzero_ps();
    scalar_total[t] = 0.0f;
  }
  for (int64_t start = 0, g = 0; start < k; start += group, ++g) {
    const int64_t end = start + group < k ? start + group : k;
    __m512 acc0[T], acc1[T], xsum[T];
    for (int t = 0; t < T; ++t) acc0[t] = acc1[t] = xsum[t] = _mm512_setzero_ps();
    int64_t i = start;
    for (; i + 32 <= end; i += 32) {
      const __m512 w0 = row.load16(i), w1 = row.load16(i + 16);
      for (int t = 0; t < T; ++t) {
        const __m512 x0 = _mm512_loadu_ps(x + t * x_stride + i), x1 = _mm512_loadu_ps(x + t * x_stride + i + 16);
        acc0[t] = _mm512_fmadd_ps(w0, x0, acc0[t]);
        acc1[t] = _mm512_fmadd_ps(w1, x1, acc1[t]);
        if constexpr (kOffset) xsum[t] = _mm512_add_ps(xsum[t], _mm512_add_ps(x0, x1));
      }
    }
    for (; i + 16 <= end; i += 16) {
      const __m512 w0 = row.load16(i);
      for (int t = 0; t < T; ++t) {
        const __m512 x0 = _mm512_loadu_ps(x + t * x_stride + i);
        acc0[t] = _mm512_fmadd_ps(w0, x0, acc0[t]);
        if constexpr (kOffset) xsum[t] = _mm512_add_ps(xsum[t], x0);
      }
    }
    const float off = kOffset ? offset[g] : 0.0f;
    for (int t = 0; t < T; ++t) {
      __m512 acc = _mm512_add_ps(acc0[t], acc1[t]);
      if constexpr (kOffset) acc = _mm512_fnmadd_ps(_mm512_set1_ps(off), xsum[t], acc);
      total[t] = _mm512_fmadd_ps(acc, _mm512_set1_ps(scale[g]), total[t]);
      float tail = 0.0f;
      for (int64_t j = i; j < end; ++j) tail += (row.at(j) - off) * x[t * x_stride + j];
      scalar_total[t] += tail * scale[g];
    }
  }
  for (int t = 0; t < T; ++t) out[t] = _mm512_reduce_add_ps(total[t]) + scalar_total[t];
}

template <bool kOffset, typename Row>
PANGU_AVX512 float dot_groups_avx512(Row row, const float* scale, const float* offset, int64_t group,
                                     const float* x, int64_t k) {
  float out;
  tile_avx512<1, kOffset>(row, scale, offset, group, x, k, k, &out);
  return out;
}

template <int T, typename Row>
PANGU_AVX512 void run_tile(Row row, const float* scale, const float* offset, int64_t group, const float* x,
                           int64_t x_stride, int64_t k, float* out) {
  if (offset)
    tile_avx512<T, true>(row, scale, offset, group, x, x_stride, k, out);
  else
    tile_avx512<T, false>(row, scale, offset, group, x, x_stride, k, out);
}

// Rows [r0, r1) of y = x W^T (+ bias), one row at a time in tiles of up to 6 tokens.
template <typename Row>
PANGU_AVX512 void quant_rows_avx512(const WeightMatrix& w, int64_t r0, int64_t r1, const float* x, int64_t n_tokens,
                                    float* y, const float* bias) {
  const int64_t cols = w.cols, n_groups = w.n_groups(), row_bytes = w.row_bytes();
  const int64_t group = w.group_size > 0 ? w.group_size : cols;
  const auto* base = static_cast<const uint8_t*>(w.data);
  // Balanced tiles of at most kMaxTile tokens: 5 tokens are one tile, 8 are 4 + 4, not 6 + 2.
  constexpr int kMaxTile = 6;
  const int64_t n_tiles = (n_tokens + kMaxTile - 1) / kMaxTile;
  const int64_t tile = (n_tokens + n_tiles - 1) / n_tiles;
  float out[kMaxTile];
  for (int64_t r = r0; r < r1; ++r) {
    const Row row{reinterpret_cast<decltype(Row::w)>(base + r * row_bytes)};
    const float* scale = w.scale + r * n_groups;
    const float* offset = w.offset ? w.offset + r * n_groups : nullptr;
    const float b = bias ? bias[r] : 0.0f;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += tile) {
      const int n_tok = static_cast<int>(n_tokens - t0 < tile ? n_tokens - t0 : tile);
      const float* xt = x + t0 * cols;
      switch (n_tok) {
#define PANGU_TILE_CASE(T) \
  case T:                  \
    run_tile<T>(row, scale, offset, group, xt, cols, cols, out); \
    break;
        PANGU_TILE_CASE(1)
        PANGU_TILE_CASE(2)
        PANGU_TILE_CASE(3)
        PANGU_TILE_CASE(4)
        PANGU_TILE_CASE(5)
        PANGU_TILE_CASE(6)
#undef PANGU_TILE_CASE
      }
      for (int t = 0; t < n_tok; ++t) y[(t0 + t) * w.rows + r] = out[t] + b;
    }
  }
}

}  // namespace

float dot_q8_avx2(const int8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                  int64_t k) {
  return offset ? dot_groups_avx2<true>(Q8{w}, scale, offset, group, x, k)
                : dot_groups_avx2<false>(Q8{w}, scale, offset, group, x, k);
}

float dot_q8_avx512(const int8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                    int64_t k) {
  return offset ? dot_groups_avx512<true>(Q8{w}, scale, offset, group, x, k)
                : dot_groups_avx512<false>(Q8{w}, scale, offset, group, x, k);
}

float dot_q4_avx2(const uint8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                  int64_t k) {
  return offset ? dot_groups_avx2<true>(Q4{w}, scale, offset, group, x, k)
                : dot_groups_avx2<false>(Q4{w}, scale, offset, group, x, k);
}

float dot_q4_avx512(const uint8_t* w, const float* scale, const float* offset, int64_t group, const float* x,
                    int64_t k) {
  return offset ? dot_groups_avx512<true>(Q4{w}, scale, offset, group, x, k)
                : dot_groups_avx512<false>(Q4{w}, scale, offset, group, x, k);
}

void quant_rows_avx512(const WeightMatrix& w, int64_t r0, int64_t r1, const float* x, int64_t n_tokens, float* y,
                       const float* bias) {
  if (w.quant == QuantFormat::kInt8)
    quant_rows_avx512<Q8>(w, r0, r1, x, n_tokens, y, bias);
  else
    quant_rows_avx512<Q4>(w, r0, r1, x, n_tokens, y, bias);
}

}  // namespace pangu::cpu
