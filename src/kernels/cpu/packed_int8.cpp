// int8 x int16 products over packed panels (kernels/packed.h). A tile is 4 panels (64 rows) by T tokens:
// each 32-byte load of weights is widened once to int16 and multiplied with T broadcast activation pairs; the
// sums stay exact in int32 for one activation group and are then scaled into f32 accumulators. AVX-512 uses
// VNNI's vpdpwssd; AVX2 (and AVX-512 CPUs without VNNI) vpmaddwd + vpaddd, which gives the same integers.
#include <immintrin.h>

#include "kernels/cpu/panel_tiles.h"

namespace pangu::cpu {

namespace {

#define PANGU_AVX512_INT8 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define PANGU_AVX2_INT8 __attribute__((target("avx2,fma,f16c")))

// Four panels (every packed matrix is padded to a multiple of four) by T tokens. The 4 x T sums are named
// variables rather than an array: GCC keeps arrays of vectors in memory across the loop, which halved speed.
#define PANGU_SUMS(t) __m512i s##t##0 = _mm512_setzero_si512(), s##t##1 = s##t##0, s##t##2 = s##t##0, s##t##3 = s##t##0
#define PANGU_DOT(t)                                                          \
  if constexpr (T > t) {                                                      \
    const __m512i xv = _mm512_set1_epi32(a.x[t * a.x_stride + j]);           \
    s##t##0 = _mm512_dpwssd_epi32(s##t##0, w0, xv);                           \
    s##t##1 = _mm512_dpwssd_epi32(s##t##1, w1, xv);                           \
    s##t##2 = _mm512_dpwssd_epi32(s##t##2, w2, xv);                           \
    s##t##3 = _mm512_dpwssd_epi32(s##t##3, w3, xv);                           \
  }
#define PANGU_SAVE(t) \
  if constexpr (T > t) { sums[t][0] = s##t##0; sums[t][1] = s##t##1; sums[t][2] = s##t##2; sums[t][3] = s##t##3; }

// Tiles of several tokens compute long enough per byte that the out-of-order window no longer covers the
// memory latency: they prefetch 32 column pairs ahead (the effect shows in `pangu bench verify` and pp512).
// One token streams as fast without it.
constexpr int64_t kPrefetchAhead = 32 * 128;

template <int T>
PANGU_AVX512_INT8 void tile_avx512(const TileArgs& a) {
  constexpr int P = kPanelsPerBlock;
  __m512 acc[T][P];
  for (int t = 0; t < T; ++t)
    for (int q = 0; q < P; ++q) acc[t][q] = _mm512_setzero_ps();
  const auto* weights = reinterpret_cast<const int8_t*>(a.panel);
  for (int64_t g = 0; g < a.n_groups; ++g) {
    const int64_t j0 = g * a.group_pairs, j1 = std::min(j0 + a.group_pairs, a.pairs);
    PANGU_SUMS(0); PANGU_SUMS(1); PANGU_SUMS(2); PANGU_SUMS(3); PANGU_SUMS(4); PANGU_SUMS(5);
    for (int64_t j = j0; j < j1; ++j) {
      // The block's four panels lie side by side for each pair (128 bytes): one sequential stream.
      const int8_t* pair = weights + j * 128;
      if constexpr (T > 1) {
        _mm_prefetch(reinterpret_cast<const char*>(pair + kPrefetchAhead), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(pair + kPrefetchAhead + 64), _MM_HINT_T0);
      }
      const __m512i w0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair)));
      const __m512i w1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair + 32)));
      const __m512i w2 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair + 64)));
      const __m512i w3 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair + 96)));
      PANGU_DOT(0) PANGU_DOT(1) PANGU_DOT(2) PANGU_DOT(3) PANGU_DOT(4) PANGU_DOT(5)
    }
    __m512i sums[T][P];
    PANGU_SAVE(0) PANGU_SAVE(1) PANGU_SAVE(2) PANGU_SAVE(3) PANGU_SAVE(4) PANGU_SAVE(5)
    const int64_t wg = j0 / a.pairs_per_wgroup;
    for (int q = 0; q < P; ++q) {
      const int64_t at = (wg * P + q) * kPanelRows;
      const __m512 ws = a.wscale_f16 ? _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.wscale_f16 + at)))
                                     : _mm512_loadu_ps(a.wscale + at);
      for (int t = 0; t < T; ++t) {
        const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(a.x_scales[t * a.n_groups + g]), ws);
        acc[t][q] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[t][q]), scale, acc[t][q]);
      }
    }
  }
  store_tile_avx512<T, P>(a, acc);
}
#undef PANGU_SUMS
#undef PANGU_DOT
#undef PANGU_SAVE

// AVX2: one panel as two 8-row halves, up to 4 tokens (16 registers).
template <int T>
PANGU_AVX2_INT8 void tile_avx2(const TileArgs& a) {
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t g = 0; g < a.n_groups; ++g) {
    const int64_t j0 = g * a.group_pairs, j1 = std::min(j0 + a.group_pairs, a.pairs);
    __m256i sums[T][2];
    for (int t = 0; t < T; ++t) sums[t][0] = sums[t][1] = _mm256_setzero_si256();
    for (int64_t j = j0; j < j1; ++j) {
      const auto* src = reinterpret_cast<const __m128i*>(a.panel + j * a.pair_stride);
      const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(src));
      const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(src + 1));
      for (int t = 0; t < T; ++t) {
        const __m256i xv = _mm256_set1_epi32(a.x[t * a.x_stride + j]);
        sums[t][0] = _mm256_add_epi32(sums[t][0], _mm256_madd_epi16(w0, xv));
        sums[t][1] = _mm256_add_epi32(sums[t][1], _mm256_madd_epi16(w1, xv));
      }
    }
    const int64_t at = (j0 / a.pairs_per_wgroup) * kPanelsPerBlock * kPanelRows;
    __m256 ws0, ws1;
    if (a.wscale_f16) {
      ws0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.wscale_f16 + at)));
      ws1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.wscale_f16 + at + 8)));
    } else {
      ws0 = _mm256_loadu_ps(a.wscale + at);
      ws1 = _mm256_loadu_ps(a.wscale + at + 8);
    }
    for (int t = 0; t < T; ++t) {
      const __m256 xs = _mm256_set1_ps(a.x_scales[t * a.n_groups + g]);
      acc[t][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t][0]), _mm256_mul_ps(xs, ws0), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t][1]), _mm256_mul_ps(xs, ws1), acc[t][1]);
    }
  }
  store_tile_avx2<T>(a, acc);
}

}  // namespace

void packed_int8_panels_avx512vnni(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                                   float* y, const float* bias) {
  static constexpr TileFn tiles[kMaxTileTokens] = {&tile_avx512<1>, &tile_avx512<2>, &tile_avx512<3>,
                                                   &tile_avx512<4>, &tile_avx512<5>, &tile_avx512<6>};
  walk_tiles(w, x, b0, b1, y, bias, tiles, kPanelsPerBlock);
}

void packed_int8_panels_avx2(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                             const float* bias) {
  static constexpr TileFn tiles[4] = {&tile_avx2<1>, &tile_avx2<2>, &tile_avx2<3>, &tile_avx2<4>};
  walk_tiles(w, x, b0, b1, y, bias, tiles, 1);
}

}  // namespace pangu::cpu
