// bf16 x bf16 products over packed panels (kernels/packed.h), f32 accumulation. AVX512-BF16's vdpbf16ps
// takes a panel's column pair for 16 rows and one broadcast activation pair per token; elsewhere the pair is
// widened to f32 and applied with two FMAs (exact products, so the same sums as the scalar reference).
#include <immintrin.h>

#include "kernels/cpu/panel_tiles.h"

namespace pangu::cpu {

namespace {

#define PANGU_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define PANGU_AVX2_BF16 __attribute__((target("avx2,fma")))

// Four panels by T tokens; named accumulators for the reason given in packed_int8.cpp.
#define PANGU_ACCS(t) __m512 s##t##0 = _mm512_setzero_ps(), s##t##1 = s##t##0, s##t##2 = s##t##0, s##t##3 = s##t##0
#define PANGU_DOT_PART(t, part)                                                                           \
  {                                                                                                       \
    const __m512bh xv = reinterpret_cast<__m512bh>(_mm512_set1_epi32(a.x[t * a.x_stride + j * kWords + part])); \
    s##t##0 = _mm512_dpbf16_ps(s##t##0, w0, xv);                                                          \
    s##t##1 = _mm512_dpbf16_ps(s##t##1, w1, xv);                                                          \
    s##t##2 = _mm512_dpbf16_ps(s##t##2, w2, xv);                                                          \
    s##t##3 = _mm512_dpbf16_ps(s##t##3, w3, xv);                                                          \
  }
#define PANGU_DOT(t)                             \
  if constexpr (T > t) {                         \
    PANGU_DOT_PART(t, 0)                         \
    if constexpr (kSplit) PANGU_DOT_PART(t, 1)   \
  }
#define PANGU_SAVE(t) \
  if constexpr (T > t) { acc[t][0] = s##t##0; acc[t][1] = s##t##1; acc[t][2] = s##t##2; acc[t][3] = s##t##3; }

template <int T, bool kSplit>
PANGU_AVX512_BF16 void tile_avx512(const TileArgs& a) {
  constexpr int kWords = kSplit ? 2 : 1;  // activation words per column pair: high (and low) parts
  PANGU_ACCS(0); PANGU_ACCS(1); PANGU_ACCS(2); PANGU_ACCS(3); PANGU_ACCS(4); PANGU_ACCS(5);
  for (int64_t j = 0; j < a.pairs; ++j) {
    const uint8_t* pair = a.panel + j * 256;  // the block's four panels side by side
    if constexpr (T > 1)  // as in packed_int8.cpp: 32 column pairs ahead
      for (int line = 0; line < 4; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(pair + 32 * 256 + line * 64), _MM_HINT_T0);
    const __m512bh w0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(pair));
    const __m512bh w1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(pair + 64));
    const __m512bh w2 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(pair + 128));
    const __m512bh w3 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(pair + 192));
    PANGU_DOT(0) PANGU_DOT(1) PANGU_DOT(2) PANGU_DOT(3) PANGU_DOT(4) PANGU_DOT(5)
  }
  __m512 acc[T][kPanelsPerBlock];
  PANGU_SAVE(0) PANGU_SAVE(1) PANGU_SAVE(2) PANGU_SAVE(3) PANGU_SAVE(4) PANGU_SAVE(5)
  store_tile_avx512<T, kPanelsPerBlock>(a, acc);
}
#undef PANGU_ACCS
#undef PANGU_DOT
#undef PANGU_DOT_PART
#undef PANGU_SAVE

// Splits 8 words of bf16 pairs into the f32 values of their first (low) and second (high) halves.
PANGU_AVX2_BF16 inline void widen_pairs(__m256i pairs, __m256& first, __m256& second) {
  first = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
  second = _mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

// One panel as two 8-row halves, up to 4 tokens (16 registers).
template <int T, bool kSplit>
PANGU_AVX2_BF16 void tile_avx2(const TileArgs& a) {
  constexpr int kWords = kSplit ? 2 : 1;
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t j = 0; j < a.pairs; ++j) {
    __m256 w_first[2], w_second[2];
    for (int h = 0; h < 2; ++h)
      widen_pairs(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.panel + j * a.pair_stride + h * 32)), w_first[h],
                  w_second[h]);
    for (int t = 0; t < T; ++t) {
      for (int part = 0; part < kWords; ++part) {
        __m256 x_first, x_second;
        widen_pairs(_mm256_set1_epi32(a.x[t * a.x_stride + j * kWords + part]), x_first, x_second);
        for (int h = 0; h < 2; ++h) {
          acc[t][h] = _mm256_fmadd_ps(w_first[h], x_first, acc[t][h]);
          acc[t][h] = _mm256_fmadd_ps(w_second[h], x_second, acc[t][h]);
        }
      }
    }
  }
  store_tile_avx2<T>(a, acc);
}

}  // namespace

void packed_bf16_panels_avx512bf16(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                                   float* y, const float* bias) {
  static constexpr TileFn split[kMaxTileTokens] = {&tile_avx512<1, true>,  &tile_avx512<2, true>,
                                                   &tile_avx512<3, true>,  &tile_avx512<4, true>,
                                                   &tile_avx512<5, true>,  &tile_avx512<6, true>};
  static constexpr TileFn round[kMaxTileTokens] = {&tile_avx512<1, false>, &tile_avx512<2, false>,
                                                   &tile_avx512<3, false>, &tile_avx512<4, false>,
                                                   &tile_avx512<5, false>, &tile_avx512<6, false>};
  walk_tiles(w, x, b0, b1, y, bias, x.split ? split : round, kPanelsPerBlock);
}

void packed_bf16_panels_avx2(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                             const float* bias) {
  static constexpr TileFn split[4] = {&tile_avx2<1, true>, &tile_avx2<2, true>, &tile_avx2<3, true>,
                                      &tile_avx2<4, true>};
  static constexpr TileFn round[4] = {&tile_avx2<1, false>, &tile_avx2<2, false>, &tile_avx2<3, false>,
                                      &tile_avx2<4, false>};
  walk_tiles(w, x, b0, b1, y, bias, x.split ? split : round, 1);
}

}  // namespace pangu::cpu
