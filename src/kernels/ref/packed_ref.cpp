// Scalar reference of the packed kernels: the operations the SIMD paths perform, one lane at a time and in
// the same order, so the int8 paths agree with it bit for bit.
#include <cmath>

#include "core/dtype.h"
#include "kernels/packed.h"

namespace pangu::ref {

void packed_int8_panels(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                        const float* bias) {
  const auto* codes = static_cast<const int8_t*>(w.packed);
  const auto* xq = static_cast<const int16_t*>(x.values);
  const int64_t pairs = packed_pairs(w.cols), n_wgroups = w.n_groups();
  const int64_t wgroup = w.group_size > 0 ? w.group_size : w.cols;
  for (int64_t p = b0 * kPanelsPerBlock; p < b1 * kPanelsPerBlock && p * kPanelRows < w.rows; ++p) {
    const int64_t row0 = p * kPanelRows;
    for (int64_t t = 0; t < x.n_tokens; ++t) {
      const int16_t* xt = xq + t * x.stride;
      float acc[kPanelRows] = {};
      for (int64_t g = 0; g < x.n_groups; ++g) {
        const int64_t j0 = g * x.group / 2, j1 = std::min(j0 + x.group / 2, pairs);
        int32_t sums[kPanelRows] = {};
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = 0; i < kPanelRows; ++i)
            sums[i] += codes[packed_offset(row0 + i, 2 * j, pairs)] * xt[2 * j] +
                       codes[packed_offset(row0 + i, 2 * j + 1, pairs)] * xt[2 * j + 1];
        const int64_t at = packed_scale_offset(p, g * x.group / wgroup, n_wgroups);
        const float xscale = x.scales[t * x.n_groups + g];
        for (int64_t i = 0; i < kPanelRows; ++i) {
          const float wscale = w.packed_scale_f16 ? f16_to_f32(w.packed_scale_f16[at + i]) : w.packed_scale[at + i];
          acc[i] = std::fma(static_cast<float>(sums[i]), xscale * wscale, acc[i]);
        }
      }
      for (int64_t i = 0; i < kPanelRows && p * kPanelRows + i < w.rows; ++i) {
        const int64_t r = p * kPanelRows + i;
        y[t * w.rows + r] = acc[i] + (bias ? bias[r] : 0.0f);
      }
    }
  }
}

void packed_bf16_panels(const WeightMatrix& w, const PackedActivations& x, int64_t b0, int64_t b1, float* y,
                        const float* bias) {
  const auto* values = static_cast<const uint16_t*>(w.packed);
  const auto* xb = static_cast<const uint16_t*>(x.values);
  const int64_t pairs = packed_pairs(w.cols);
  for (int64_t p = b0 * kPanelsPerBlock; p < b1 * kPanelsPerBlock && p * kPanelRows < w.rows; ++p) {
    const int64_t row0 = p * kPanelRows;
    for (int64_t t = 0; t < x.n_tokens; ++t) {
      const uint16_t* xt = xb + t * x.stride;
      float acc[kPanelRows] = {};
      const int64_t words = x.split ? 2 : 1;  // activation words (bf16 pairs) per column pair
      for (int64_t j = 0; j < pairs; ++j) {
        for (int64_t part = 0; part < words; ++part) {
          const uint16_t* xp = xt + (j * words + part) * 2;
          const float x0 = bf16_to_f32(xp[0]), x1 = bf16_to_f32(xp[1]);
          // Products of two bf16 values are exact in f32, so each step rounds once, as an FMA would.
          for (int64_t i = 0; i < kPanelRows; ++i) {
            acc[i] += bf16_to_f32(values[packed_offset(row0 + i, 2 * j, pairs)]) * x0;
            acc[i] += bf16_to_f32(values[packed_offset(row0 + i, 2 * j + 1, pairs)]) * x1;
          }
        }
      }
      for (int64_t i = 0; i < kPanelRows && p * kPanelRows + i < w.rows; ++i) {
        const int64_t r = p * kPanelRows + i;
        y[t * w.rows + r] = acc[i] + (bias ? bias[r] : 0.0f);
      }
    }
  }
}

}  // namespace pangu::ref
