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

void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

namespace {

template <typename ValueAt>
float dot_grouped(ValueAt value_at, const float* scale, const float* offset, int64_t group, const float* x,
                  int64_t k) {
  float total = 0.0f;
  for (int64_t start = 0, g = 0; start < k; start += group, ++g) {
    const int64_t end = start + group < k ? start + group : k;
    const float off = offset ? offset[g] : 0.0f;
    float sum = 0.0f;
    for (int64_t i = start; i < end; ++i) sum += (static_cast<float>(value_at(i)) - off) * x[i];
    total += sum * scale[g];
  }
  return total;
}

}  // namespace

float dot_q8(const int8_t* w, const float* scale, const float* offset, int64_t group, const float* x, int64_t k) {
  return dot_grouped([w](int64_t i) { return w[i]; }, scale, offset, group, x, k);
}

float dot_q4(const uint8_t* w, const float* scale, const float* offset, int64_t group, const float* x, int64_t k) {
  return dot_grouped([w](int64_t i) { return int4_at(w, i); }, scale, offset, group, x, k);
}

}  // namespace pangu::ref
