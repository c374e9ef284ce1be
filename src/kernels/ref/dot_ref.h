#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace pangu::ref {
float dot_f32(const float* w, const float* x, int64_t k);  // w, x: [k]
float dot_bf16(const uint16_t* w, const float* x, int64_t k);
float dot_f16(const uint16_t* w, const float* x, int64_t k);
// Quantized rows (see QuantFormat): per group, sum (q - offset) * x, then times the group's scale.
float dot_q8(const int8_t* w, const float* scale, const float* offset, int64_t group, const float* x, int64_t k);
float dot_q4(const uint8_t* w, const float* scale, const float* offset, int64_t group, const float* x, int64_t k);
void axpy(float a, const float* x, float* y, int64_t n);  // y += a * x
// The int4 value at column i of a packed row.
inline int int4_at(const uint8_t* row, int64_t i) {
  const int nibble = (row[i >> 1] >> ((i & 1) * 4)) & 0xf;
  return nibble >= 8 ? nibble - 16 : nibble;
}
}  // namespace pangu::ref
