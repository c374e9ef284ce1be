// The scalar attention (also the path of CPUs without AVX-512) and the choice of kernel.
#include "kernels/attention.h"

#include <algorithm>

#include "core/dtype.h"

namespace pangu {

void store_key(float* keys, int64_t pos, const float* k, int64_t head_dim) {
  float* block = keys + key_offset(pos, 0, head_dim);
  for (int64_t d = 0; d < head_dim; ++d) block[d * kKeyBlock] = k[d];
}

void store_key(uint16_t* keys, int64_t pos, const float* k, int64_t head_dim) {
  uint16_t* block = keys + key_offset(pos, 0, head_dim);
  for (int64_t d = 0; d < head_dim; ++d) block[d * kKeyBlock] = f32_to_bf16(k[d]);
}

void store_values(uint16_t* values, int64_t pos, const float* v, int64_t head_dim) {
  uint16_t* row = values + pos * head_dim;
  for (int64_t d = 0; d < head_dim; ++d) row[d] = f32_to_bf16(v[d]);
}

namespace ref {

namespace {

inline float widen(float x) { return x; }
inline float widen(uint16_t x) { return bf16_to_f32(x); }

template <typename T>
void attend_stored(const T* keys, const T* values, int64_t head_dim, int64_t n_keys, const AttentionQueries& a,
                   float scale, float* scores) {
  for (int64_t i = 0; i < a.n; ++i) {
    const float* q = a.q + i * a.stride;
    float* s = scores + i * padded_positions(n_keys);
    // Block by block, 16 keys' sums side by side (each in order over the dimensions): the compiler
    // vectorizes this over the keys, which keeps CPUs without AVX-512 at a usable speed.
    for (int64_t p0 = 0; p0 < n_keys; p0 += kKeyBlock) {
      const T* block = keys + key_offset(p0, 0, head_dim);
      float dot[kKeyBlock] = {};
      for (int64_t d = 0; d < head_dim; ++d)
        for (int64_t i = 0; i < kKeyBlock; ++i) dot[i] += q[d] * widen(block[d * kKeyBlock + i]);
      for (int64_t i = 0; i < kKeyBlock && p0 + i < n_keys; ++i) s[p0 + i] = dot[i] * scale;
    }
    softmax_inplace(s, n_keys);
    float* out = a.out + i * a.out_stride;
    std::fill(out, out + head_dim, 0.0f);
    for (int64_t p = 0; p < n_keys; ++p)
      for (int64_t d = 0; d < head_dim; ++d) out[d] += s[p] * widen(values[p * head_dim + d]);
  }
}

}  // namespace

void attend(const float* keys, const float* values, int64_t head_dim, int64_t n_keys, const AttentionQueries& a,
            float scale, float* scores) {
  attend_stored(keys, values, head_dim, n_keys, a, scale, scores);
}

void attend(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
            const AttentionQueries& a, float scale, float* scores) {
  attend_stored(keys, values, head_dim, n_keys, a, scale, scores);
}

}  // namespace ref

AttendFn attention_kernel(SimdLevel level, int64_t head_dim) {
  if (level == SimdLevel::kAvx512 && head_dim % 16 == 0 && head_dim <= 256)
    return static_cast<AttendFn>(cpu::attend_avx512);
  return static_cast<AttendFn>(ref::attend);
}

AttendBf16Fn attention_kernel_bf16(SimdLevel level, int64_t head_dim) {
  if (level == SimdLevel::kAvx512 && head_dim % 16 == 0 && head_dim <= 256)
    return static_cast<AttendBf16Fn>(cpu::attend_avx512);
  return static_cast<AttendBf16Fn>(ref::attend);
}

void attend(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
            const AttentionQueries& a, float scale, float* scores) {
  attention_kernel_bf16(active_simd(), head_dim)(keys, values, head_dim, n_keys, a, scale, scores);
}

void attend(const float* keys, const float* values, int64_t head_dim, int64_t n_keys, const AttentionQueries& a,
            float scale, float* scores) {
  attention_kernel(active_simd(), head_dim)(keys, values, head_dim, n_keys, a, scale, scores);
}

}  // namespace pangu
