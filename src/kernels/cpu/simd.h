// Declarations of the SIMD kernels; each cpu/dot_<dtype>.cpp compiles its paths with target attributes so
// the binary runs on any x86-64 and picks the path at run time.
#pragma once

#include <cstdint>

namespace pangu::cpu {
float dot_f32_avx2(const float* w, const float* x, int64_t k);
float dot_f32_avx512(const float* w, const float* x, int64_t k);
float dot_bf16_avx2(const uint16_t* w, const float* x, int64_t k);
float dot_bf16_avx512(const uint16_t* w, const float* x, int64_t k);
float dot_f16_avx2(const uint16_t* w, const float* x, int64_t k);
float dot_f16_avx512(const uint16_t* w, const float* x, int64_t k);
}  // namespace pangu::cpu
