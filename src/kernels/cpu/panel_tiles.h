// What the packed int8 and bf16 kernels share: the arguments of one tile and the walk over blocks of panels
// and tiles of tokens.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/packed.h"

namespace pangu::cpu {

// Tiles of at most kMaxTileTokens; n tokens are cut into balanced tiles (5 is one tile, 8 is 4 + 4).
inline constexpr int kMaxTileTokens = 6;

struct TileArgs {
  const uint8_t* panel = nullptr;  // the tile's first panel at column pair 0
  int64_t pair_bytes = 0;          // one panel's column pair: 16 rows x 2 values
  int64_t pair_stride = 0;         // bytes from one column pair of a panel to the next (a block's pairs)
  int64_t pairs = 0;               // column pairs per row
  const int32_t* x = nullptr;      // the first token's activation pairs (two 16-bit values per word)
  int64_t x_stride = 0;            // pairs between tokens
  float* y = nullptr;              // y[first token, first row of the tile]
  int64_t y_stride = 0;            // rows of y
  int64_t rows_left = 0;           // rows of the matrix from the tile's first row on
  const float* bias = nullptr;     // bias of the tile's first row, or null
  // int8 weights only
  const float* x_scales = nullptr;  // the first token's activation group scales
  int64_t n_groups = 0, group_pairs = 0;
  const float* wscale = nullptr;  // the first panel's scales of group 0; group g's are g * kPanelsPerBlock * 16 on
  const uint16_t* wscale_f16 = nullptr;  // or the same as f16 (WeightMatrix::packed_scale_f16)
  int64_t n_wgroups = 0, pairs_per_wgroup = 0;
};

using TileFn = void (*)(const TileArgs&);

// Blocks [b0, b1): `panels_per_tile` panels at a time, and inside them every token tile, so the panels'
// weights stay in L1/L2 while all tokens pass over them. tiles[T - 1] handles T tokens.
template <size_t N>
void walk_tiles(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                const float* bias, const TileFn (&tiles)[N], int64_t panels_per_tile) {
  TileArgs a;
  const int64_t elem = static_cast<int64_t>(dtype_size(w.dtype));
  a.pairs = packed_pairs(w.cols);
  a.pair_bytes = 2 * kPanelRows * elem;
  a.pair_stride = kPanelsPerBlock * a.pair_bytes;
  a.x_stride = x.stride / 2;
  a.y_stride = w.rows;
  a.n_groups = x.n_groups;
  a.group_pairs = x.group / 2;
  a.n_wgroups = w.n_groups();
  a.pairs_per_wgroup = (w.group_size > 0 ? w.group_size : 2 * a.pairs) / 2;
  const int64_t n = x.n_tokens;
  const int64_t n_tiles = (n + static_cast<int64_t>(N) - 1) / static_cast<int64_t>(N);
  const int64_t tile = (n + n_tiles - 1) / n_tiles;
  for (int64_t p = b0 * kPanelsPerBlock; p < b1 * kPanelsPerBlock; p += panels_per_tile) {
    a.rows_left = w.rows - p * kPanelRows;
    if (a.rows_left <= 0) break;
    const int64_t block = p / kPanelsPerBlock;
    a.panel = static_cast<const uint8_t*>(w.packed) + block * a.pairs * a.pair_stride +
              (p % kPanelsPerBlock) * a.pair_bytes;
    a.wscale = w.packed_scale ? w.packed_scale + packed_scale_offset(p, 0, a.n_wgroups) : nullptr;
    a.wscale_f16 = w.packed_scale_f16 ? w.packed_scale_f16 + packed_scale_offset(p, 0, a.n_wgroups) : nullptr;
    a.bias = bias ? bias + p * kPanelRows : nullptr;
    for (int64_t t0 = 0; t0 < n; t0 += tile) {
      const int64_t n_tok = std::min(tile, n - t0);
      a.x = static_cast<const int32_t*>(x.values) + t0 * a.x_stride;
      a.x_scales = x.scales ? x.scales + t0 * x.n_groups : nullptr;
      a.y = y + t0 * w.rows + p * kPanelRows;
      tiles[n_tok - 1](a);
    }
  }
}

// acc[t][q] + bias into y for the rows that exist.
template <int T, int P>
__attribute__((target("avx512f"))) inline void store_tile_avx512(const TileArgs& a, const __m512 (&acc)[T][P]) {
  for (int q = 0; q < P; ++q) {
    const int64_t left = a.rows_left - q * kPanelRows;
    if (left <= 0) break;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
    const __m512 b = a.bias ? _mm512_maskz_loadu_ps(m, a.bias + q * kPanelRows) : _mm512_setzero_ps();
    for (int t = 0; t < T; ++t)
      _mm512_mask_storeu_ps(a.y + t * a.y_stride + q * kPanelRows, m, _mm512_add_ps(acc[t][q], b));
  }
}

// The same for AVX2's two 8-row halves of one panel.
template <int T>
__attribute__((target("avx2"))) inline void store_tile_avx2(const TileArgs& a, const __m256 (&acc)[T][2]) {
  alignas(32) float out[kPanelRows];
  const int64_t rows = std::min<int64_t>(a.rows_left, kPanelRows);
  for (int t = 0; t < T; ++t) {
    _mm256_store_ps(out, acc[t][0]);
    _mm256_store_ps(out + 8, acc[t][1]);
    for (int64_t i = 0; i < rows; ++i) a.y[t * a.y_stride + i] = out[i] + (a.bias ? a.bias[i] : 0.0f);
  }
}

}  // namespace pangu::cpu
