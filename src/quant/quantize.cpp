#include "quant/quantize.h"

#include <algorithm>
#include <cmath>

#include "kernels/ref/dot_ref.h"
#include "pangu/error.h"

namespace pangu {

QuantScheme parse_quant_scheme(const std::string& name, int64_t group_size) {
  QuantScheme s;
  s.name = name;
  if (name == "w8a16") {
    s.format = QuantFormat::kInt8;
  } else if (name == "w8a16-g128") {
    s.format = QuantFormat::kInt8;
    s.group_size = 128;
  } else if (name == "w4a16-g128") {
    s.format = QuantFormat::kInt4;
    s.group_size = 128;
  } else {
    fail("--scheme \"{}\": expected w8a16, w8a16-g128 or w4a16-g128", name);
  }
  if (group_size != 0) {
    if (group_size < 0 || group_size % 16 != 0)
      fail("--group-size {}: expected a positive multiple of 16", group_size);
    s.group_size = group_size;
  }
  return s;
}

void quantize_row(const float* w, int64_t k, const QuantScheme& scheme, int64_t group, uint8_t* codes,
                  float* scales) {
  const float qmax = static_cast<float>(scheme.qmax()), qmin = static_cast<float>(scheme.qmin());
  const bool int4 = scheme.format == QuantFormat::kInt4;
  if (int4) std::fill(codes, codes + quantized_row_bytes(QuantFormat::kInt4, k), uint8_t{0});
  for (int64_t start = 0, g = 0; start < k; start += group, ++g) {
    const int64_t end = std::min(start + group, k);
    float max_abs = 0.0f;
    for (int64_t i = start; i < end; ++i) max_abs = std::max(max_abs, std::fabs(w[i]));
    const float scale = max_abs / qmax;
    scales[g] = scale;
    for (int64_t i = start; i < end; ++i) {
      // nearbyint rounds half to even in the default rounding mode, as torch.round does.
      const float q = scale > 0.0f ? std::clamp(std::nearbyint(w[i] / scale), qmin, qmax) : 0.0f;
      const int v = static_cast<int>(q);
      if (int4)
        codes[i >> 1] |= static_cast<uint8_t>((v & 0xf) << ((i & 1) * 4));
      else
        codes[i] = static_cast<uint8_t>(static_cast<int8_t>(v));
    }
  }
}

void dequantize_row(const uint8_t* codes, const float* scales, const float* offsets, int64_t k,
                    QuantFormat format, int64_t group, float* out) {
  for (int64_t i = 0; i < k; ++i) {
    const int64_t g = i / group;
    const float q = format == QuantFormat::kInt4 ? static_cast<float>(ref::int4_at(codes, i))
                                                 : static_cast<float>(static_cast<int8_t>(codes[i]));
    out[i] = (q - (offsets ? offsets[g] : 0.0f)) * scales[g];
  }
}

}  // namespace pangu
