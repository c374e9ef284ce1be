// Quantization math and the quantized kernels: round-trip bounds, the scale definition, and every SIMD path
// against a float64 sum over the dequantized values, on odd shapes and group sizes.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <random>

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/ref/dot_ref.h"
#include "pangu/error.h"
#include "quant/quantize.h"

namespace pangu {
namespace {

using test::exact_dot;
using test::random_vector;

const char* kSchemes[] = {"w8a16", "w8a16-g128", "w4a16-g128"};

TEST(Quantize, RoundTripErrorIsAtMostHalfAScale) {
  for (const char* name : kSchemes) {
    for (int64_t group_override : {0, 16, 32}) {
      if (group_override && std::string(name) == "w8a16") continue;
      const QuantScheme scheme = parse_quant_scheme(name, group_override);
      for (int64_t k : {1, 2, 7, 16, 33, 172, 300, 1536}) {
        // Rows of very different magnitude, an all-zero row and an outlier row.
        for (int row = 0; row < 4; ++row) {
          auto w = random_vector(k, k * 10 + row, row == 1 ? 1e-4f : 0.05f);
          if (row == 2) std::fill(w.begin(), w.end(), 0.0f);
          if (row == 3) w[k / 2] = 40.0f;
          const int64_t group = scheme.group_for(k);
          const int64_t groups = groups_per_row(k, group);
          std::vector<uint8_t> codes(quantized_row_bytes(scheme.format, k));
          std::vector<float> scales(groups), back(k);
          quantize_row(w.data(), k, scheme, group, codes.data(), scales.data());
          dequantize_row(codes.data(), scales.data(), nullptr, k, scheme.format, group, back.data());
          for (int64_t g = 0; g < groups; ++g) {
            float max_abs = 0;
            for (int64_t i = g * group; i < std::min(k, (g + 1) * group); ++i) max_abs = std::max(max_abs, std::fabs(w[i]));
            EXPECT_FLOAT_EQ(scales[g], max_abs / scheme.qmax()) << name << " k=" << k << " group " << g;
          }
          for (int64_t i = 0; i < k; ++i) {
            const float scale = scales[i / group];
            // scale/2 plus the rounding of w/scale in float.
            EXPECT_LE(std::fabs(back[i] - w[i]), scale * 0.5f * (1 + 1e-5f) + 1e-30f)
                << name << " k=" << k << " row " << row << " i=" << i;
          }
        }
      }
    }
  }
}

// Magnitudes chosen so the scale is exactly 1 and the ties are exact: rounding is half to even.
TEST(Quantize, CodesRoundHalfToEvenWithinTheSymmetricRange) {
  const std::vector<float> w8 = {-127.0f, 127.0f, 63.5f, 62.5f, -0.5f, 0.0f};
  std::vector<uint8_t> codes(6);
  float scale = 0;
  quantize_row(w8.data(), 6, parse_quant_scheme("w8a16"), 6, codes.data(), &scale);
  EXPECT_EQ(scale, 1.0f);
  const int8_t want8[] = {-127, 127, 64, 62, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(static_cast<int8_t>(codes[i]), want8[i]) << i;

  const std::vector<float> w4 = {-7.0f, 7.0f, 3.5f, 2.5f, -1.5f};
  std::vector<uint8_t> packed(3);
  quantize_row(w4.data(), 5, parse_quant_scheme("w4a16-g128"), 5, packed.data(), &scale);
  EXPECT_EQ(scale, 1.0f);
  const int want4[] = {-7, 7, 4, 2, -2};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ref::int4_at(packed.data(), i), want4[i]) << i;
  EXPECT_EQ(packed[0], 0x79);  // -7 = 0x9 in the low nibble, 7 in the high one
  EXPECT_EQ(packed[2] >> 4, 0);  // the padding nibble of an odd row is zero
}

TEST(Quantize, RejectsUnknownSchemesAndOddGroups) {
  EXPECT_THROW(parse_quant_scheme("w3a16"), Error);
  EXPECT_THROW(parse_quant_scheme("w8a16-g128", 100), Error);
}

class QuantKernelTest : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_simd()) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
  }
};

// Each kernel against the float64 dot of the dequantized row, with and without offsets.
TEST_P(QuantKernelTest, DotMatchesDequantizedReference) {
  const DotKernels& kern = dot_kernels(GetParam());
  for (const char* name : kSchemes) {
    for (int64_t group_size : {0, 16, 48, 128}) {
      const QuantScheme scheme = parse_quant_scheme(name, group_size);
      for (int64_t k : {1, 3, 15, 16, 17, 31, 33, 64, 127, 172, 255, 256, 1000, 1536}) {
        const auto w = random_vector(k, k + group_size, 0.1f);
        const auto x = random_vector(k, k + 1);
        const int64_t group = scheme.group_for(k), groups = groups_per_row(k, group);
        std::vector<uint8_t> codes(quantized_row_bytes(scheme.format, k));
        std::vector<float> scales(groups), offsets(groups), back(k);
        quantize_row(w.data(), k, scheme, group, codes.data(), scales.data());
        for (int64_t g = 0; g < groups; ++g) offsets[g] = static_cast<float>(g % 3) - 1.0f;
        for (const float* off : {static_cast<const float*>(nullptr), static_cast<const float*>(offsets.data())}) {
          dequantize_row(codes.data(), scales.data(), off, k, scheme.format, group, back.data());
          const double want = exact_dot(back, x);
          const float got = scheme.format == QuantFormat::kInt8
                                ? kern.q8(reinterpret_cast<const int8_t*>(codes.data()), scales.data(), off,
                                          group, x.data(), k)
                                : kern.q4(codes.data(), scales.data(), off, group, x.data(), k);
          EXPECT_NEAR(got, want, 2e-5 * std::sqrt(static_cast<double>(k)) + 1e-5)
              << name << " group " << group << " k=" << k << (off ? " with offsets" : "");
        }
      }
    }
  }
}

TEST_P(QuantKernelTest, MatmulOverQuantizedRowsAndTokens) {
  set_active_simd(GetParam());
  ThreadPool pool(3);
  for (const char* name : kSchemes) {
    const QuantScheme scheme = parse_quant_scheme(name, 32);
    for (int64_t rows : {1, 5, 17}) {
      for (int64_t cols : {3, 33, 130}) {
        const int64_t group = scheme.group_for(cols), groups = groups_per_row(cols, group);
        const int64_t row_bytes = quantized_row_bytes(scheme.format, cols);
        const auto w = random_vector(rows * cols, rows * cols, 0.1f);
        std::vector<uint8_t> codes(rows * row_bytes);
        std::vector<float> scales(rows * groups), deq(rows * cols);
        for (int64_t r = 0; r < rows; ++r) {
          quantize_row(&w[r * cols], cols, scheme, group, &codes[r * row_bytes], &scales[r * groups]);
          dequantize_row(&codes[r * row_bytes], &scales[r * groups], nullptr, cols, scheme.format, group,
                         &deq[r * cols]);
        }
        WeightMatrix m{scheme.format == QuantFormat::kInt4 ? DType::kU8 : DType::kI8, codes.data(), rows, cols,
                       scheme.format, scales.data(), nullptr, group};
        const auto bias = random_vector(rows, 9);
        for (int64_t tokens : {1, 4, 5, 8, 13}) {
          const auto x = random_vector(tokens * cols, tokens + cols);
          std::vector<float> y(tokens * rows);
          matmul(m, x.data(), tokens, y.data(), bias.data(), pool);
          for (int64_t t = 0; t < tokens; ++t)
            for (int64_t r = 0; r < rows; ++r) {
              double want = bias[r];
              for (int64_t c = 0; c < cols; ++c) want += static_cast<double>(deq[r * cols + c]) * x[t * cols + c];
              EXPECT_NEAR(y[t * rows + r], want, 1e-4) << name << " " << rows << "x" << cols;
            }
        }
      }
    }
  }
  set_active_simd(detected_simd());
}

// Speculative verification is exact only if a batched product equals the one-token product bit for bit.
TEST_P(QuantKernelTest, BatchedProductEqualsOneTokenProductExactly) {
  set_active_simd(GetParam());
  ThreadPool pool(2);
  for (const char* name : kSchemes) {
    const QuantScheme scheme = parse_quant_scheme(name);
    const int64_t rows = 7, cols = 300, group = scheme.group_for(cols), groups = groups_per_row(cols, group);
    const int64_t row_bytes = quantized_row_bytes(scheme.format, cols);
    const auto w = random_vector(rows * cols, 77, 0.1f);
    std::vector<uint8_t> codes(rows * row_bytes);
    std::vector<float> scales(rows * groups);
    for (int64_t r = 0; r < rows; ++r)
      quantize_row(&w[r * cols], cols, scheme, group, &codes[r * row_bytes], &scales[r * groups]);
    WeightMatrix m{scheme.format == QuantFormat::kInt4 ? DType::kU8 : DType::kI8, codes.data(), rows, cols,
                   scheme.format, scales.data(), nullptr, group};
    for (int64_t tokens : {2, 5, 9}) {
      const auto x = random_vector(tokens * cols, tokens);
      std::vector<float> batched(tokens * rows), single(rows);
      matmul(m, x.data(), tokens, batched.data(), nullptr, pool);
      for (int64_t t = 0; t < tokens; ++t) {
        matmul(m, x.data() + t * cols, 1, single.data(), nullptr, pool);
        for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(batched[t * rows + r], single[r]) << name << " token " << t;
      }
    }
  }
  set_active_simd(detected_simd());
}

INSTANTIATE_TEST_SUITE_P(Simd, QuantKernelTest,
                         ::testing::Values(SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

}  // namespace
}  // namespace pangu
