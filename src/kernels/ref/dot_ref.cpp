// Scalar reference kernels: the definition every SIMD path is tested against.
#include "kernels/ref/dot_ref.h"

namespace pangu::ref {

float dot_f32(const float* w, const float* x, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k; ++i) sum += w[i] * x[i];
  return sum;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k; ++i) sum += bf16_to_f32(w[i]) * x[i];
  return sum;
}

float dot_f16(const uint16_t* w, const float* x, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k; ++i) sum += f16_to_f32(w[i]) * x[i];
  return sum;
}

}  // namespace pangu::ref
