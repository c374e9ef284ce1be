// Weight-only quantization schemes and their row-level math: symmetric round-to-nearest, one scale per
// output channel (or per group of columns), offsets zero. Rows are quantized independently, so a matrix
// is quantized in parallel and streamed to disk without a second copy.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/kernels.h"

namespace pangu {

struct QuantScheme {
  std::string name;  // "w8a16", "w8a16-g128", "w4a16-g128"
  QuantFormat format = QuantFormat::kInt8;
  int64_t group_size = 0;  // 0: one scale per output channel

  int bits() const { return format == QuantFormat::kInt4 ? 4 : 8; }
  int qmax() const { return format == QuantFormat::kInt4 ? 7 : 127; }
  int qmin() const { return format == QuantFormat::kInt4 ? -8 : -128; }
  std::string config_name() const { return bits() == 4 ? "w4a16" : "w8a16"; }  // config.json "quantize"
  std::string type_name() const { return bits() == 4 ? "W4A16" : "W8A16"; }    // description file
  // Columns per scale for a row of k: the group size, or k when per channel.
  int64_t group_for(int64_t k) const { return group_size > 0 && group_size < k ? group_size : k; }
};

// "w8a16" | "w8a16-g128" | "w4a16-g128"; group_size > 0 overrides the 128 of the -g schemes and must be a
// multiple of 16 (kernels read whole vectors inside a group).
QuantScheme parse_quant_scheme(const std::string& name, int64_t group_size = 0);

// Number of scales per row of k columns with `group` columns per scale (the last group may be short).
inline int64_t groups_per_row(int64_t k, int64_t group) {
  return (k + group - 1) / group;
}
// Bytes of one stored row of k values.
inline int64_t quantized_row_bytes(QuantFormat format, int64_t k) {
  return format == QuantFormat::kInt4 ? (k + 1) / 2 : k;
}

// scale = max|w| / qmax per group, q = clamp(round_half_even(w / scale), qmin, qmax); a zero group has scale 0.
// codes: quantized_row_bytes(format, k) bytes; scales: groups_per_row(k, group) floats.
void quantize_row(const float* w, int64_t k, const QuantScheme& scheme, int64_t group, uint8_t* codes,
                  float* scales);
// (q - offset) * scale for every column; offsets may be null.
void dequantize_row(const uint8_t* codes, const float* scales, const float* offsets, int64_t k,
                    QuantFormat format, int64_t group, float* out);

}  // namespace pangu
