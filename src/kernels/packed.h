// Weights repacked at load for the tiled matrix kernels, and the activations those kernels consume.
//
// Layout: rows are grouped in panels of kPanelRows; a panel's column pair j (columns 2j, 2j+1) of all 16
// rows is stored together as [row 0: 2j, 2j+1][row 1: 2j, 2j+1] ... This is what the pairwise dot
// instructions want (vpdpwssd / vpmaddwd for int8 widened to int16, vdpbf16ps for bf16): one 32-lane load
// feeds 16 output rows and is reused for every token of a tile. Panels come in blocks of kPanelsPerBlock,
// and within a block the pairs are interleaved: [pair 0: panel 0, 1, 2, 3][pair 1: panel 0 ..] ... A tile
// of 4 panels then reads its weights as one sequential stream; as four streams of a panel each, short
// streams that restart every block decoded slower on the development machine (839b310's benchmarks).
// Rows past `rows` and the odd column past `cols` are zero. Per-group int8 scales are regrouped as
// [block][weight group][panel][16 rows] (packed_scale_offset).
//
// Activations: for int8 weights, each token's f32 vector is cut into groups of act_group_size() values and
// every group is rounded to int16 with its own scale (amax / 32767), so sums of int8 x int16 products are
// exact in int32 and a group keeps 15 bits at its largest value (more than bf16's 8 everywhere but on
// values 128x below the group's largest). For bf16 weights each activation becomes the sum of two bf16 values
// (or one, see Bf16Activations); products accumulate in f32. Every token's result depends only on its own activations and
// the fixed order of operations over its row, never on how many tokens share a tile: batched forwards equal
// token-by-token decoding bit for bit, which speculative verification relies on.
#pragma once

#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "kernels/kernels.h"

namespace pangu {

inline constexpr int64_t kPanelRows = 16;
inline constexpr int64_t kPanelsPerBlock = 4;  // the unit of work: storage is padded to whole blocks
inline constexpr int64_t kActGroup = 128;

// Whether matmul uses the packed kernels for a matrix of this form (symmetric int8 and bf16 weights).
bool packable(const WeightMatrix& w);

// Packs w (row-major `data`) into `storage` and points w.packed / w.packed_scale at it.
void pack_weights(WeightMatrix& w, Buffer& storage, ThreadPool& pool);

inline int64_t packed_pairs(int64_t cols) { return (cols + 1) / 2; }
inline int64_t packed_blocks(int64_t rows) {
  return (rows + kPanelRows * kPanelsPerBlock - 1) / (kPanelRows * kPanelsPerBlock);
}
inline int64_t packed_panels(int64_t rows) { return packed_blocks(rows) * kPanelsPerBlock; }
// Element offset of (row, column) in the packed storage of a matrix with `pairs` column pairs.
inline int64_t packed_offset(int64_t row, int64_t col, int64_t pairs) {
  const int64_t panel = row / kPanelRows, block = panel / kPanelsPerBlock;
  const int64_t pair_index = (block * pairs + col / 2) * kPanelsPerBlock + panel % kPanelsPerBlock;
  return pair_index * 2 * kPanelRows + (row % kPanelRows) * 2 + (col & 1);
}
// Row `row` of w as f32 [cols], from whichever form it has: float or quantized row-major `data`, or only the
// packed copy of a symmetric int8 matrix (a tied embedding whose codes exist only there). For lookups.
void matrix_row_f32(const WeightMatrix& w, int64_t row, float* out);

// Float offset of (panel, weight group)'s 16 scales in packed_scale. A block's panels keep each group's
// scales side by side, so a tile reads them as one stream beside its codes (with a scale per 32 columns, as
// GGUF's Q8_0 has, four separate streams of scales halved the speed of decoding).
inline int64_t packed_scale_offset(int64_t panel, int64_t group, int64_t n_groups) {
  return ((panel / kPanelsPerBlock * n_groups + group) * kPanelsPerBlock + panel % kPanelsPerBlock) * kPanelRows;
}

// Columns per activation group for int8 weights: 128 unless a finer weight group forces its own size, so
// that an activation group never straddles two weight groups.
int64_t act_group_size(const WeightMatrix& w);

// The prepared activations of one matmul: n_tokens rows of `stride` elements (int16 or bf16 bits).
struct PackedActivations {
  const void* values = nullptr;
  const float* scales = nullptr;  // int8 weights: [n_tokens, n_groups], one per activation group
  int64_t n_tokens = 0;
  int64_t stride = 0;    // elements per token: 2 * packed_pairs(cols)
  int64_t group = 0;     // int8 weights: act_group_size(w)
  int64_t n_groups = 0;  // int8 weights: ceil(cols / group)
  bool split = false;    // bf16: each pair of activations is a pair of words, high then low parts
};

// Rounds x [n_tokens, cols] for w's packed kernel into `values` / `scales` (resized as needed).
PackedActivations prepare_int16(const float* x, int64_t n_tokens, int64_t cols, int64_t group,
                                std::vector<int16_t>& values, std::vector<float>& scales);
// bf16: rounded (split = false), or as high and low bf16 parts whose sum is the f32 value to 16 bits.
PackedActivations prepare_bf16(const float* x, int64_t n_tokens, int64_t cols, bool split,
                               std::vector<uint16_t>& values);

// Blocks [b0, b1) (rows 64 b0 .. 64 b1) of y[t, r] = w[r, :] . x[t, :] + bias[r] from packed weights and
// prepared activations.
using PackedPanelsFn = void (*)(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                                float* y, const float* bias);

namespace ref {
void packed_int8_panels(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                        const float* bias);
void packed_bf16_panels(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                        const float* bias);
}  // namespace ref

namespace cpu {
void packed_int8_panels_avx2(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                             float* y, const float* bias);
void packed_int8_panels_avx512vnni(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                                   float* y, const float* bias);
void packed_bf16_panels_avx2(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                             float* y, const float* bias);
void packed_bf16_panels_avx512bf16(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1,
                                   float* y, const float* bias);
}  // namespace cpu

// The packed matmul (called by matmul() when w.packed is set).
void packed_matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, const float* bias,
                   ThreadPool& pool);

}  // namespace pangu
