// The packed kernels (kernels/packed.h) on every SIMD path: the layout, the activation rounding, agreement
// with float64 sums written from the definitions, bit-exact agreement of the int8 paths with the scalar
// reference, and batched products equal to one-token products (what speculative verification needs).
#include <gtest/gtest.h>

#include <cmath>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "quant/quantize.h"
#include "test_util.h"

namespace pangu {
namespace {

using test::random_vector;

// Odd shapes on purpose: rows that fill no panel or block, an odd column count, groups of several sizes.
struct Shape {
  int64_t rows, cols, group;  // group 0: per channel
  bool f16_scales = false;    // scales rounded to f16 values, as GGUF's Q8_0 has them: packed as f16
};
const Shape kShapes[] = {{1, 2, 0},      {15, 33, 0},         {64, 128, 0},       {100, 300, 0},
                         {130, 1536, 0}, {70, 512, 32},       {33, 768, 192},     {64, 1536, 128},
                         {70, 512, 32, true}, {130, 1536, 32, true}};
const int64_t kTokenCounts[] = {1, 2, 5, 6, 7, 13};

struct Int8Matrix {
  std::vector<int8_t> codes;
  std::vector<float> scales;
  Buffer packed;
  WeightMatrix w;
  Int8Matrix(const Shape& s, uint64_t seed) {
    const QuantScheme scheme = parse_quant_scheme(s.group ? "w8a16-g128" : "w8a16", s.group);
    const int64_t group = scheme.group_for(s.cols), groups = groups_per_row(s.cols, group);
    auto values = random_vector(s.rows * s.cols, seed, 0.05f);
    if (s.rows > 3) values[3 * s.cols] = 2.0f;  // an outlier: its row's other codes get small
    codes.resize(static_cast<size_t>(s.rows * s.cols));
    scales.resize(static_cast<size_t>(s.rows * groups));
    for (int64_t r = 0; r < s.rows; ++r)
      quantize_row(&values[r * s.cols], s.cols, scheme, group, reinterpret_cast<uint8_t*>(&codes[r * s.cols]),
                   &scales[r * groups]);
    if (s.f16_scales)
      for (float& scale : scales) scale = f16_to_f32(f32_to_f16(scale));
    w = WeightMatrix{DType::kI8, codes.data(), s.rows, s.cols, QuantFormat::kInt8, scales.data(), nullptr, group};
    ThreadPool pool(2);
    pack_weights(w, packed, pool);
  }
  float dequantized(int64_t r, int64_t c) const {
    return codes[r * w.cols + c] * scales[r * w.n_groups() + c / w.group_size];
  }
};

struct Bf16Matrix {
  std::vector<uint16_t> values;
  Buffer packed;
  WeightMatrix w;
  Bf16Matrix(const Shape& s, uint64_t seed) {
    const auto v = random_vector(s.rows * s.cols, seed, 0.05f);
    for (float f : v) values.push_back(f32_to_bf16(f));
    w = WeightMatrix{DType::kBF16, values.data(), s.rows, s.cols};
    ThreadPool pool(2);
    pack_weights(w, packed, pool);
  }
  float at(int64_t r, int64_t c) const { return bf16_to_f32(values[r * w.cols + c]); }
};

// Activations with a wide range inside each row, as after an attention or SwiGLU block.
std::vector<float> activations(int64_t tokens, int64_t cols, uint64_t seed) {
  auto x = random_vector(tokens * cols, seed);
  for (int64_t t = 0; t < tokens; ++t) x[t * cols + (t * 7) % cols] *= 40.0f;
  return x;
}

class PackedKernelTest : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_simd()) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
    set_active_simd(GetParam());
  }
  void TearDown() override {
    set_active_simd(detected_simd());
    set_bf16_activations(Bf16Activations::kSplit);
  }
};

TEST(PackedLayout, Int8RowsComeBackFromThePackedCopy) {
  for (const Shape& s : kShapes) {
    const Int8Matrix m(s, 11);
    // f16 scales only where asked for and grouped (per-channel scales stay f32, whatever their values).
    EXPECT_EQ(m.w.packed_scale_f16 != nullptr, s.f16_scales) << s.rows << "x" << s.cols;
    EXPECT_EQ(m.w.packed_scale != nullptr, !s.f16_scales) << s.rows << "x" << s.cols;
    WeightMatrix packed_only = m.w;
    packed_only.data = nullptr;
    std::vector<float> row(static_cast<size_t>(s.cols));
    for (int64_t r = 0; r < s.rows; r += std::max<int64_t>(1, s.rows / 7)) {
      matrix_row_f32(packed_only, r, row.data());
      for (int64_t c = 0; c < s.cols; ++c) ASSERT_EQ(row[c], m.dequantized(r, c)) << r << "," << c;
    }
  }
}

TEST(PackedLayout, PanelsHoldEveryValueOnceAndZeroPadding) {
  // 37 x 11: three panels padded to one block of 4, an odd column; 70 x 5: two blocks.
  for (const Shape s : {Shape{37, 11, 0}, Shape{70, 5, 0}}) {
  std::vector<uint16_t> values(s.rows * s.cols);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint16_t>(i + 1);
  WeightMatrix w{DType::kBF16, values.data(), s.rows, s.cols};
  Buffer storage;
  ThreadPool pool(2);
  pack_weights(w, storage, pool);
  const auto* packed = static_cast<const uint16_t*>(w.packed);
  const int64_t pairs = packed_pairs(s.cols);
  ASSERT_EQ(pairs, (s.cols + 1) / 2);
  ASSERT_EQ(packed_panels(s.rows), (s.rows + 63) / 64 * 4);
  for (int64_t p = 0; p < packed_panels(s.rows); ++p)
    for (int64_t j = 0; j < pairs; ++j)
      for (int64_t i = 0; i < kPanelRows; ++i)
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t r = p * kPanelRows + i, c = 2 * j + e;
          const uint16_t want = r < s.rows && c < s.cols ? values[r * s.cols + c] : 0;
          // Blocks of 4 panels, pairs interleaved across the block's panels (written out, not via
          // packed_offset, so the test does not share the code it checks).
          const int64_t block = p / kPanelsPerBlock, q = p % kPanelsPerBlock;
          const int64_t at = (((block * pairs + j) * kPanelsPerBlock + q) * kPanelRows + i) * 2 + e;
          ASSERT_EQ(packed[at], want) << s.rows << "x" << s.cols << ": " << r << "," << c;
        }
  }
}

TEST(PackedActivationsTest, Int16GroupsKeepHalfAStepAndUseTheFullRange) {
  const int64_t cols = 300, group = 128;
  auto x = random_vector(2 * cols, 5);
  for (int64_t c = 256; c < cols; ++c) x[c] = 0.0f;  // token 0's last group is all zero
  x[cols + 10] = 1e4f;                                 // token 1's first group has an outlier
  std::vector<int16_t> q;
  std::vector<float> scales;
  const PackedActivations a = prepare_int16(x.data(), 2, cols, group, q, scales);
  ASSERT_EQ(a.n_groups, 3);
  ASSERT_EQ(a.stride, 300);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t g = 0; g < 3; ++g) {
      const float scale = scales[t * 3 + g];
      int max_code = 0;
      for (int64_t c = g * group; c < std::min(cols, (g + 1) * group); ++c) {
        const int code = q[t * a.stride + c];
        max_code = std::max(max_code, std::abs(code));
        EXPECT_LE(std::fabs(code * double(scale) - x[t * cols + c]), 0.5001 * scale + 1e-30) << t << " " << c;
      }
      if (t == 0 && g == 2) {
        EXPECT_EQ(scale, 0.0f);
        EXPECT_EQ(max_code, 0);
      } else {
        EXPECT_EQ(max_code, 32767) << t << " " << g;
      }
    }
}

TEST(PackedActivationsTest, Bf16SplitPartsSumToTheValueTo16Bits) {
  const auto x = random_vector(101, 9, 3.0f);
  std::vector<uint16_t> v;
  const PackedActivations a = prepare_bf16(x.data(), 1, 101, /*split=*/true, v);
  ASSERT_EQ(a.stride, 4 * 51);
  for (int64_t c = 0; c < 101; ++c) {
    const int64_t base = (c / 2) * 4 + (c & 1);
    const double sum = double(bf16_to_f32(v[base])) + bf16_to_f32(v[base + 2]);
    EXPECT_LE(std::fabs(sum - x[c]), std::fabs(x[c]) * std::ldexp(1.0, -16)) << c;
    EXPECT_EQ(v[base], f32_to_bf16(x[c]));
  }
  EXPECT_EQ(v[(101 / 2) * 4 + 1], 0);  // the padding column
}

// y from the definition in float64: per activation group, sum of int8 codes times int16 codes, times both
// scales; the int16 codes come from prepare_int16 (tested above).
TEST_P(PackedKernelTest, Int8MatchesTheDefinitionAndTheScalarPathBitForBit) {
  ThreadPool pool(2);
  uint64_t seed = 1;
  for (const Shape& s : kShapes) {
    const Int8Matrix m(s, seed++);
    const auto bias = random_vector(s.rows, seed++);
    for (int64_t tokens : kTokenCounts) {
      SCOPED_TRACE(testing::Message() << s.rows << "x" << s.cols << " g" << s.group << " tokens " << tokens);
      const auto x = activations(tokens, s.cols, seed++);
      std::vector<float> y(tokens * s.rows), want(tokens * s.rows);
      matmul(m.w, x.data(), tokens, y.data(), bias.data(), pool);
      std::vector<int16_t> q;
      std::vector<float> xs;
      const PackedActivations a = prepare_int16(x.data(), tokens, s.cols, act_group_size(m.w), q, xs);
      ref::packed_int8_panels(m.w, a, 0, packed_blocks(s.rows), want.data(), bias.data());
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t r = 0; r < s.rows; ++r) {
          double exact = bias[r], magnitude = std::fabs(bias[r]);
          for (int64_t c = 0; c < s.cols; ++c) {
            const double term = double(m.dequantized(r, c)) * q[t * a.stride + c] * xs[t * a.n_groups + c / a.group];
            exact += term;
            magnitude += std::fabs(term);
          }
          ASSERT_EQ(y[t * s.rows + r], want[t * s.rows + r]) << "row " << r << " token " << t;
          ASSERT_NEAR(y[t * s.rows + r], exact, 1e-5 * magnitude + 1e-6) << "row " << r << " token " << t;
        }
    }
  }
}

// Against the float product with unrounded activations: the int16 rounding costs at most half a step per
// activation, so |error| <= sum_c |w_rc| * scale_g / 2 (plus f32 accumulation).
TEST_P(PackedKernelTest, Int8ErrorIsBoundedByTheActivationRounding) {
  ThreadPool pool(2);
  const Shape s{96, 1536, 0};
  const Int8Matrix m(s, 42);
  const int64_t tokens = 5;
  const auto x = activations(tokens, s.cols, 43);
  std::vector<float> y(tokens * s.rows);
  matmul(m.w, x.data(), tokens, y.data(), nullptr, pool);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < s.rows; ++r) {
      double exact = 0, bound = 0, amax[12] = {};
      for (int64_t c = 0; c < s.cols; ++c) amax[c / 128] = std::max(amax[c / 128], double(std::fabs(x[t * s.cols + c])));
      for (int64_t c = 0; c < s.cols; ++c) {
        exact += double(m.dequantized(r, c)) * x[t * s.cols + c];
        bound += std::fabs(m.dequantized(r, c)) * amax[c / 128] / 32767 * 0.5;
      }
      ASSERT_LE(std::fabs(y[t * s.rows + r] - exact), bound * 1.001 + 1e-5) << r << " " << t;
    }
}

// bf16 weights with f32 activations: split activations are within 2^-16 of the f32 value, rounded ones
// within 2^-8 (half a bf16 step); the bound is that times sum |w x|, plus 2^-24 per f32 addition.
TEST_P(PackedKernelTest, Bf16SplitAndRoundedActivationsMeetTheirBounds) {
  ThreadPool pool(2);
  uint64_t seed = 100;
  for (const auto mode : {Bf16Activations::kSplit, Bf16Activations::kRound}) {
    set_bf16_activations(mode);
    const double relative = mode == Bf16Activations::kSplit ? std::ldexp(1.0, -16) : std::ldexp(1.0, -8);
    for (const Shape& s : kShapes) {
      const Bf16Matrix m(s, seed++);
      const auto bias = random_vector(s.rows, seed++);
      for (int64_t tokens : kTokenCounts) {
        SCOPED_TRACE(testing::Message() << bf16_activations_name(mode) << " " << s.rows << "x" << s.cols << " tokens "
                                        << tokens);
        const auto x = activations(tokens, s.cols, seed++);
        std::vector<float> y(tokens * s.rows);
        matmul(m.w, x.data(), tokens, y.data(), bias.data(), pool);
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t r = 0; r < s.rows; ++r) {
            double exact = bias[r], magnitude = 0;
            for (int64_t c = 0; c < s.cols; ++c) {
              exact += double(m.at(r, c)) * x[t * s.cols + c];
              magnitude += std::fabs(double(m.at(r, c)) * x[t * s.cols + c]);
            }
            ASSERT_NEAR(y[t * s.rows + r], exact, (relative + 2.0 * double(s.cols) * std::ldexp(1.0, -24)) * magnitude + 1e-6)
                << "row " << r << " token " << t;
          }
      }
    }
  }
}

TEST_P(PackedKernelTest, BatchedProductsEqualOneTokenProductsBitForBit) {
  ThreadPool pool(2);
  const Shape s{100, 300, 0};
  const Int8Matrix q(s, 7);
  const Bf16Matrix b(s, 8);
  for (const auto mode : {Bf16Activations::kSplit, Bf16Activations::kRound}) {
    set_bf16_activations(mode);
    for (const WeightMatrix* w : {&q.w, &b.w})
      for (int64_t tokens : kTokenCounts) {
        const auto x = activations(tokens, s.cols, 9 + tokens);
        std::vector<float> batched(tokens * s.rows), single(s.rows);
        matmul(*w, x.data(), tokens, batched.data(), nullptr, pool);
        for (int64_t t = 0; t < tokens; ++t) {
          matmul(*w, x.data() + t * s.cols, 1, single.data(), nullptr, pool);
          for (int64_t r = 0; r < s.rows; ++r)
            ASSERT_EQ(batched[t * s.rows + r], single[r]) << dtype_name(w->dtype) << " token " << t << " of " << tokens;
        }
      }
  }
}

// The AVX2 bf16 path applies the same FMAs in the same order as the scalar reference: equal bit for bit.
// (The scalar level is the reference itself; vdpbf16ps may round its pairs differently.)
TEST_P(PackedKernelTest, Bf16Avx2PathEqualsTheScalarReference) {
  if (GetParam() != SimdLevel::kAvx2) GTEST_SKIP() << "only the AVX2 path claims the reference's bits";
  ThreadPool pool(2);
  const Shape s{70, 333, 0};
  const Bf16Matrix m(s, 11);
  for (const bool split : {true, false}) {
    set_bf16_activations(split ? Bf16Activations::kSplit : Bf16Activations::kRound);
    const int64_t tokens = 7;
    const auto x = activations(tokens, s.cols, 12);
    std::vector<float> y(tokens * s.rows), want(tokens * s.rows);
    matmul(m.w, x.data(), tokens, y.data(), nullptr, pool);
    std::vector<uint16_t> xb;
    const PackedActivations a = prepare_bf16(x.data(), tokens, s.cols, split, xb);
    ref::packed_bf16_panels(m.w, a, 0, packed_blocks(s.rows), want.data(), nullptr);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], want[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, PackedKernelTest,
                         ::testing::Values(SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

}  // namespace
}  // namespace pangu
