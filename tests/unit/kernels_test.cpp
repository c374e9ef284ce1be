// Every SIMD path the CPU has against the scalar reference, on odd shapes.
#include "kernels/kernels.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "test_util.h"

#include <cmath>
#include <random>

#include "core/thread_pool.h"
#include "kernels/ref/dot_ref.h"

namespace pangu {
namespace {

using test::exact_dot;
using test::random_vector;

const int64_t kShapes[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 127, 255, 256, 1000, 1536};

class DotKernelTest : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_simd()) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
  }
};

TEST_P(DotKernelTest, F32MatchesReference) {
  const DotKernels& k = dot_kernels(GetParam());
  for (int64_t n : kShapes) {
    const auto w = random_vector(n, n), x = random_vector(n, n + 100);
    EXPECT_NEAR(k.f32(w.data(), x.data(), n), exact_dot(w, x), 1e-4 * std::sqrt(n) + 1e-5) << "k=" << n;
    EXPECT_NEAR(k.f32(w.data(), x.data(), n), ref::dot_f32(w.data(), x.data(), n),
                1e-4 * std::sqrt(n) + 1e-5);
  }
}

TEST_P(DotKernelTest, BF16MatchesReference) {
  const DotKernels& k = dot_kernels(GetParam());
  for (int64_t n : kShapes) {
    auto w = random_vector(n, n * 3);
    const auto x = random_vector(n, n + 7);
    std::vector<uint16_t> stored(n);
    for (int64_t i = 0; i < n; ++i) {
      stored[i] = f32_to_bf16(w[i]);
      w[i] = bf16_to_f32(stored[i]);
    }
    EXPECT_NEAR(k.bf16(stored.data(), x.data(), n), exact_dot(w, x), 1e-4 * std::sqrt(n) + 1e-5) << "k=" << n;
  }
}

TEST_P(DotKernelTest, F16MatchesReference) {
  const DotKernels& k = dot_kernels(GetParam());
  for (int64_t n : kShapes) {
    auto w = random_vector(n, n * 5);
    const auto x = random_vector(n, n + 9);
    std::vector<uint16_t> stored(n);
    for (int64_t i = 0; i < n; ++i) {
      stored[i] = f32_to_f16(w[i]);
      w[i] = f16_to_f32(stored[i]);
    }
    EXPECT_NEAR(k.f16(stored.data(), x.data(), n), exact_dot(w, x), 1e-4 * std::sqrt(n) + 1e-5) << "k=" << n;
  }
}

TEST_P(DotKernelTest, MatmulWithBiasAndManyTokens) {
  set_active_simd(GetParam());
  ThreadPool pool(3);
  for (int64_t rows : {1, 5, 17}) {
    for (int64_t cols : {3, 33, 130}) {
      for (int64_t tokens : {1, 4}) {
        const auto w = random_vector(rows * cols, rows + cols);
        const auto x = random_vector(tokens * cols, tokens);
        const auto b = random_vector(rows, 5);
        std::vector<float> y(tokens * rows);
        matmul({DType::kF32, w.data(), rows, cols}, x.data(), tokens, y.data(), b.data(), pool);
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            double want = b[r];
            for (int64_t c = 0; c < cols; ++c) want += static_cast<double>(w[r * cols + c]) * x[t * cols + c];
            EXPECT_NEAR(y[t * rows + r], want, 1e-4);
          }
      }
    }
  }
  set_active_simd(detected_simd());
}

INSTANTIATE_TEST_SUITE_P(Simd, DotKernelTest,
                         ::testing::Values(SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

TEST(Ops, SoftmaxIsStableForHugeLogits) {
  std::vector<float> x = {1000.0f, 1001.0f, -1e30f};
  softmax_inplace(x.data(), 3);
  EXPECT_NEAR(x[0], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(x[1], std::exp(1.0) / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_EQ(x[2], 0.0f);
}

TEST(Ops, RmsNormMatchesDefinition) {
  const std::vector<float> x = {1, -2, 3, 4}, w = {1, 0.5, 2, 1};
  std::vector<float> out(4);
  rms_norm(x.data(), w.data(), 4, 1e-5, out.data());
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-5);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], x[i] / rms * w[i], 1e-6);
}

TEST(DType, BF16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 lies exactly between two bf16 values: ties go to the even one (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
}

TEST(DType, F16KnownValuesAndRoundTrip) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  EXPECT_FLOAT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  for (uint32_t bits = 0; bits < 0x7c00; bits += 7) EXPECT_EQ(f32_to_f16(f16_to_f32(bits)), bits) << bits;
}

TEST(ThreadPool, ChunksCoverTheRangeExactlyOnce) {
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    for (size_t n : {1u, 2u, 7u, 100u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i]++;
      });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1);
    }
  }
}


// Back-to-back jobs whose chunk counts differ from one to the next: a thread still finishing the previous job
// must never claim a chunk against the next job's count (that ran a chunk of the new job twice and left its
// done-count past the total: parallel_for waited forever). Each job must cover its range exactly once; the
// loop runs in a child process so that a hang fails the test instead of stalling it.
TEST(ThreadPool, BackToBackJobsOfDifferentSizesNeverOverlap) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ThreadPool pool(2);
    for (int round = 0; round < 300000; ++round) {
      const size_t n = round % 2 ? 3 : 64;  // 3 chunks, then 8
      std::atomic<int> hits[64] = {};
      pool.parallel_for(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
      });
      for (size_t i = 0; i < n; ++i)
        if (hits[i].load() != 1) _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  for (int waited_ms = 0; waited_ms < 120000; waited_ms += 20) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "parallel_for hung";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "a chunk ran twice or not at all";
}

}  // namespace
}  // namespace pangu
