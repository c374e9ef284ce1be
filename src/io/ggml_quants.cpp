#include "io/ggml_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dtype.h"
#include "io/gguf.h"

namespace pangu {

namespace {

constexpr int kQK = 32;    // values per block of the legacy types
constexpr int kQKK = 256;  // values per super-block of the K types

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Legacy blocks: byte j holds value j in its low nibble and value j + 16 in its high one.
void dequantize_q4_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>((b[2 + j] & 0x0F) - 8) * d;
    y[j + kQK / 2] = static_cast<float>((b[2 + j] >> 4) - 8) * d;
  }
}

void dequantize_q4_1(const uint8_t* b, float* y) {
  const float d = half_at(b), m = half_at(b + 2);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>(b[4 + j] & 0x0F) * d + m;
    y[j + kQK / 2] = static_cast<float>(b[4 + j] >> 4) * d + m;
  }
}

// Q5: the fifth bit of value j is bit j of the 32-bit qh.
void dequantize_q5(const uint8_t* b, float* y, bool with_min) {
  const float d = half_at(b), m = with_min ? half_at(b + 2) : 0.0f;
  const uint8_t* p = b + (with_min ? 4 : 2);
  uint32_t qh;
  std::memcpy(&qh, p, 4);
  const uint8_t* qs = p + 4;
  const int bias = with_min ? 0 : 16;
  for (int j = 0; j < kQK / 2; ++j) {
    const int lo = (qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = static_cast<float>(lo - bias) * d + m;
    y[j + kQK / 2] = static_cast<float>(hi - bias) * d + m;
  }
}

void dequantize_q8_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. 16 groups of 16.
void dequantize_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = half_at(b + 80), dmin = half_at(b + 82);
  int is = 0;
  for (int n = 0; n < kQKK; n += 128, q += 32) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; ++half) {
        const uint8_t sc = scales[is++];
        const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
      }
    }
  }
}

// Q3_K: hmask[32], qs[64], scales[12] (16 six-bit scales), d.
void dequantize_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hm = b;
  const uint8_t* q = b + 32;
  const uint8_t* packed = b + 96;
  const float d_all = half_at(b + 108);
  // Scale i: low 4 bits from byte i (i < 8, low nibble) or byte i - 8 (high nibble); high 2 bits from byte
  // 8 + i % 4, at bit position 2 * (i / 4).
  int scales[16];
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? (packed[i] & 0xF) : (packed[i - 8] >> 4);
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = (low | (high << 4)) - 32;
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < kQKK; n += 128, q += 32) {
    for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
      for (int half = 0; half < 2; ++half) {
        const float dl = d_all * static_cast<float>(scales[is++]);
        for (int l = 16 * half; l < 16 * half + 16; ++l)
          *y++ = dl * static_cast<float>(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
      }
    }
  }
}

// The 6-bit scale and min of sub-block j of a Q4_K / Q5_K super-block.
void scale_min_k4(int j, const uint8_t* q, int& sc, int& mn) {
  if (j < 4) {
    sc = q[j] & 63;
    mn = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K: d, dmin, scales[12], qs[128]; Q5_K adds qh[32] before qs. 8 sub-blocks of 32.
void dequantize_q45_k(const uint8_t* b, float* y, bool five_bit) {
  const float d = half_at(b), dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* q = five_bit ? b + 48 : b + 16;
  for (int j = 0, is = 0; j < kQKK; j += 64, is += 2, q += 32) {
    int sc, mn;
    scale_min_k4(is, scales, sc, mn);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(mn);
    scale_min_k4(is + 1, scales, sc, mn);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(mn);
    const int bit = j / 32;  // the high bits of this pair of sub-blocks are bits `bit` and `bit + 1` of qh
    for (int l = 0; l < 32; ++l) {
      const int high = five_bit && ((qh[l] >> bit) & 1) ? 16 : 0;
      *y++ = d1 * static_cast<float>((q[l] & 0xF) + high) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int high = five_bit && ((qh[l] >> (bit + 1)) & 1) ? 16 : 0;
      *y++ = d2 * static_cast<float>((q[l] >> 4) + high) - m2;
    }
  }
}

// Q6_K: ql[128], qh[64], scales[16] (int8), d. 16 groups of 16.
void dequantize_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  for (int n = 0; n < kQKK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

}  // namespace

bool dequantize_ggml_row(uint32_t type, const uint8_t* src, int64_t n, float* dst) {
  const auto block = ggml_block(type);
  if (!block) return false;
  const int64_t n_blocks = n / block->values;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const uint8_t* b = src + i * block->bytes;
    float* y = dst + i * block->values;
    switch (static_cast<GgmlType>(type)) {
      case GgmlType::kF32: std::memcpy(y, b, 4); break;
      case GgmlType::kF16: *y = half_at(b); break;
      case GgmlType::kBF16: {
        uint16_t h;
        std::memcpy(&h, b, 2);
        *y = bf16_to_f32(h);
        break;
      }
      case GgmlType::kQ4_0: dequantize_q4_0(b, y); break;
      case GgmlType::kQ4_1: dequantize_q4_1(b, y); break;
      case GgmlType::kQ5_0: dequantize_q5(b, y, false); break;
      case GgmlType::kQ5_1: dequantize_q5(b, y, true); break;
      case GgmlType::kQ8_0: dequantize_q8_0(b, y); break;
      case GgmlType::kQ8_1: {  // d, s (the block's sum, unused here), qs[32]
        const float d = half_at(b);
        for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[4 + j])) * d;
        break;
      }
      case GgmlType::kQ2_K: dequantize_q2_k(b, y); break;
      case GgmlType::kQ3_K: dequantize_q3_k(b, y); break;
      case GgmlType::kQ4_K: dequantize_q45_k(b, y, false); break;
      case GgmlType::kQ5_K: dequantize_q45_k(b, y, true); break;
      case GgmlType::kQ6_K: dequantize_q6_k(b, y); break;
      case GgmlType::kQ8_K: {  // f32 d, qs[256], bsums
        float d;
        std::memcpy(&d, b, 4);
        for (int j = 0; j < kQKK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[4 + j])) * d;
        break;
      }
    }
  }
  return true;
}

void split_q8_0_row(const uint8_t* src, int64_t n, int8_t* codes, float* scales) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const uint8_t* b = src + i * 34;
    scales[i] = half_at(b);
    std::memcpy(codes + i * kQK, b + 2, kQK);
  }
}

void split_q4_0_row(const uint8_t* src, int64_t n, uint8_t* codes, float* scales) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const uint8_t* b = src + i * 18;
    scales[i] = half_at(b);
    uint8_t* out = codes + i * (kQK / 2);
    std::fill(out, out + kQK / 2, uint8_t{0});
    for (int j = 0; j < kQK; ++j) {
      const int stored = j < kQK / 2 ? (b[2 + j] & 0x0F) : (b[2 + j - kQK / 2] >> 4);
      const int nibble = (stored - 8) & 0xF;  // signed two's-complement nibble
      out[j >> 1] |= static_cast<uint8_t>(nibble << ((j & 1) * 4));
    }
  }
}

void quantize_q8_0_row(const float* x, int64_t n, uint8_t* dst) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float* v = x + i * kQK;
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* b = dst + i * 34;
    const uint16_t h = f32_to_f16(d);
    std::memcpy(b, &h, 2);
    for (int j = 0; j < kQK; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(v[j] * id)));
  }
}

}  // namespace pangu
