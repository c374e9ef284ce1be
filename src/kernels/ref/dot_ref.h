#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace pangu::ref {
float dot_f32(const float* w, const float* x, int64_t k);  // w, x: [k]
float dot_bf16(const uint16_t* w, const float* x, int64_t k);
float dot_f16(const uint16_t* w, const float* x, int64_t k);
}  // namespace pangu::ref
