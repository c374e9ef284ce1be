// Attention over the blocked KV cache (kernels/attention.h), softmax and SwiGLU on every SIMD path, against
// float64 computations written from the definitions; and the properties speculative verification needs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "test_util.h"

namespace pangu {
namespace {

using test::random_vector;

class AttentionTest : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_simd()) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
    set_active_simd(GetParam());
  }
  void TearDown() override { set_active_simd(detected_simd()); }
};

// One kv head's cache filled through store_key / row-major values, and float64 attention from the
// definition: softmax(scale q.k) over the first n_keys positions, times the values.
struct Cache {
  Cache(int64_t n_ctx, int64_t head_dim, uint32_t seed)
      : head_dim(head_dim),
        keys(static_cast<size_t>(padded_positions(n_ctx) * head_dim)),
        values(static_cast<size_t>(padded_positions(n_ctx) * head_dim)),
        k_rows(random_vector(n_ctx * head_dim, seed, 1.0f)),
        v_rows(random_vector(n_ctx * head_dim, seed + 1, 1.0f)) {
    for (int64_t p = 0; p < n_ctx; ++p) {
      store_key(keys.data(), p, &k_rows[p * head_dim], head_dim);
      std::copy_n(&v_rows[p * head_dim], head_dim, &values[p * head_dim]);
    }
  }
  std::vector<double> expected(const float* q, int64_t n_keys, double scale) const {
    std::vector<double> s(n_keys), out(head_dim, 0.0);
    double max = -1e300, sum = 0;
    for (int64_t p = 0; p < n_keys; ++p) {
      double dot = 0;
      for (int64_t d = 0; d < head_dim; ++d) dot += static_cast<double>(q[d]) * k_rows[p * head_dim + d];
      s[p] = dot * scale;
      max = std::max(max, s[p]);
    }
    for (double& v : s) sum += (v = std::exp(v - max));
    for (int64_t p = 0; p < n_keys; ++p)
      for (int64_t d = 0; d < head_dim; ++d) out[d] += s[p] / sum * v_rows[p * head_dim + d];
    return out;
  }
  int64_t head_dim;
  std::vector<float> keys, values, k_rows, v_rows;
};

TEST(AttentionLayout, KeysAreTransposedInBlocksOf16) {
  const int64_t hd = 8;
  std::vector<float> keys(static_cast<size_t>(padded_positions(35) * hd), -1.0f);
  std::vector<float> row(hd);
  for (int64_t p = 0; p < 35; ++p) {
    for (int64_t d = 0; d < hd; ++d) row[d] = static_cast<float>(p * 100 + d);
    store_key(keys.data(), p, row.data(), hd);
  }
  EXPECT_EQ(padded_positions(35), 48);
  for (int64_t p = 0; p < 35; ++p)
    for (int64_t d = 0; d < hd; ++d)
      ASSERT_EQ(keys[(p / 16) * hd * 16 + d * 16 + p % 16], static_cast<float>(p * 100 + d)) << p << "," << d;
}

TEST_P(AttentionTest, MatchesFloat64AttentionOnOddShapes) {
  // head_dim 128 (the models), 16 and 48 (small checkpoints), 20 (no SIMD kernel: the scalar one);
  // key counts inside one block, across blocks, and ending mid-block; 1 to 5 queries per kv head.
  for (const int64_t hd : {128, 16, 48, 20})
    for (const int64_t n_keys : {1, 15, 16, 17, 100})
      for (const int64_t n_q : {1, 2, 3, 5}) {
        const Cache cache(n_keys, hd, static_cast<uint32_t>(hd * 1000 + n_keys));
        const auto q = random_vector(n_q * hd, static_cast<uint32_t>(n_keys + 7 * n_q), 1.0f);
        std::vector<float> out(n_q * hd, std::numeric_limits<float>::quiet_NaN());
        std::vector<float> scores(attention_scratch_floats(n_q, n_keys));
        const AttentionQueries a{q.data(), n_q, hd, out.data(), hd};
        const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
        attend(cache.keys.data(), cache.values.data(), hd, n_keys, a, static_cast<float>(scale), scores.data());
        for (int64_t i = 0; i < n_q; ++i) {
          const auto want = cache.expected(&q[i * hd], n_keys, scale);
          for (int64_t d = 0; d < hd; ++d)
            ASSERT_NEAR(out[i * hd + d], want[d], 2e-5 * (1.0 + std::fabs(want[d])))
                << "hd " << hd << " keys " << n_keys << " query " << i << " dim " << d;
        }
      }
}

// A bf16 cache: the keys and values rounded to bf16 as they are stored, then the same attention; against
// float64 attention over the rounded keys and values (the rounding is the cache's, not the kernel's).
TEST_P(AttentionTest, Bf16CacheMatchesFloat64AttentionOverTheRoundedValues) {
  for (const int64_t hd : {128, 16, 20})
    for (const int64_t n_keys : {1, 17, 100})
      for (const int64_t n_q : {1, 3, 5}) {
        Cache cache(n_keys, hd, static_cast<uint32_t>(hd * 77 + n_keys));
        std::vector<uint16_t> keys(cache.keys.size()), values(cache.values.size());
        for (int64_t p = 0; p < n_keys; ++p) {
          store_key(keys.data(), p, &cache.k_rows[p * hd], hd);
          store_values(values.data(), p, &cache.v_rows[p * hd], hd);
        }
        for (auto& x : cache.k_rows) x = bf16_to_f32(f32_to_bf16(x));  // what the cache holds
        for (auto& x : cache.v_rows) x = bf16_to_f32(f32_to_bf16(x));
        const auto q = random_vector(n_q * hd, static_cast<uint32_t>(n_keys + 3 * n_q), 1.0f);
        std::vector<float> out(n_q * hd, std::numeric_limits<float>::quiet_NaN());
        std::vector<float> scores(attention_scratch_floats(n_q, n_keys));
        const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
        attend(keys.data(), values.data(), hd, n_keys, {q.data(), n_q, hd, out.data(), hd}, static_cast<float>(scale),
               scores.data());
        for (int64_t i = 0; i < n_q; ++i) {
          const auto want = cache.expected(&q[i * hd], n_keys, scale);
          for (int64_t d = 0; d < hd; ++d)
            ASSERT_NEAR(out[i * hd + d], want[d], 2e-5 * (1.0 + std::fabs(want[d])))
                << "hd " << hd << " keys " << n_keys << " query " << i << " dim " << d;
        }
      }
}

// A query's result must not depend on the other queries of its call, nor on what lies in the cache past
// its keys: verifying tokens in a batch then equals decoding them one at a time, bit for bit.
TEST_P(AttentionTest, EachQueryIsIndependentOfItsBatchAndOfLaterPositions) {
  const int64_t hd = 128, n_ctx = 70;
  Cache cache(n_ctx, hd, 5);
  const auto q = random_vector(4 * hd, 9, 1.0f);
  std::vector<float> together(4 * hd), alone(hd), scores(attention_scratch_floats(4, n_ctx));
  const float scale = 0.125f;
  attend(cache.keys.data(), cache.values.data(), hd, 40, {q.data(), 4, hd, together.data(), hd}, scale,
         scores.data());
  // Positions past 40 change: the first 40 keys' results must not.
  for (int64_t p = 40; p < n_ctx; ++p) {
    std::vector<float> junk(hd, 1e3f);
    store_key(cache.keys.data(), p, junk.data(), hd);
  }
  for (int64_t i = 0; i < 4; ++i) {
    attend(cache.keys.data(), cache.values.data(), hd, 40, {&q[i * hd], 1, hd, alone.data(), hd}, scale,
           scores.data());
    for (int64_t d = 0; d < hd; ++d) ASSERT_EQ(together[i * hd + d], alone[d]) << i << "," << d;
  }
}

TEST_P(AttentionTest, SoftmaxMatchesFloat64AndIsStableForLargeInputs) {
  for (const int64_t n : {1, 7, 16, 33, 1000}) {
    auto x = random_vector(n, static_cast<uint32_t>(n), 30.0f);
    x[0] = 1e4f;  // without the max subtraction exp overflows
    std::vector<double> want(n);
    double max = -1e300, sum = 0;
    for (float v : x) max = std::max(max, static_cast<double>(v));
    for (int64_t i = 0; i < n; ++i) sum += (want[i] = std::exp(static_cast<double>(x[i]) - max));
    softmax_inplace(x.data(), n);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(x[i], want[i] / sum, 1e-6 * (want[i] / sum) + 1e-30) << n << ":" << i;
      total += x[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST_P(AttentionTest, SwigluMatchesFloat64OverTheWholeRange) {
  // Values from deep in the negative tail (exp overflows there) to large positive ones, odd length.
  std::vector<float> gate, up;
  for (float g = -120.0f; g <= 120.0f; g += 0.37f) {
    gate.push_back(g);
    up.push_back(0.5f + 0.01f * static_cast<float>(gate.size() % 50));
  }
  gate.push_back(0.0f);
  up.push_back(2.0f);
  const auto original = gate;
  silu_mul_inplace(gate.data(), up.data(), static_cast<int64_t>(gate.size()));
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = original[i];
    const double want = g / (1.0 + std::exp(-g)) * up[i];
    ASSERT_TRUE(std::isfinite(gate[i])) << g;
    // Relative to the value, and absolutely where the true value is below float precision of anything.
    ASSERT_NEAR(gate[i], want, 4e-7 * std::fabs(want) + 1e-30) << "g = " << g;
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, AttentionTest,
                         ::testing::Values(SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

}  // namespace
}  // namespace pangu
