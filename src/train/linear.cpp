#include "train/linear.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace pangu {

namespace {

// Runs fn(begin, end) over [0, n) on the pool, or inline without one.
template <typename Fn>
void parallel(ThreadPool* pool, int64_t n, Fn&& fn) {
  if (pool && n > 1) {
    pool->parallel_for(static_cast<size_t>(n), [&fn](size_t b, size_t e) {
      fn(static_cast<int64_t>(b), static_cast<int64_t>(e));
    });
  } else {
    fn(int64_t{0}, n);
  }
}

constexpr int64_t kColumnBlock = 256;  // dx / dW columns kept in L1/L2 while rows stream past
constexpr int64_t kRowBlock = 4;       // dW rows updated per pass over x

}  // namespace

template <>
void linear_forward<double>(const double* x, int64_t n, const double* w, const double* b, int64_t out, int64_t in,
                            double* y, ThreadPool*) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double s = b ? b[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) s += x[t * in + i] * w[o * in + i];
      y[t * out + o] = s;
    }
}

template <>
void linear_backward_input<double>(const double* dy, int64_t n, const double* w, int64_t out, int64_t in, double* dx,
                                   ThreadPool*) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      const double g = dy[t * out + o];
      for (int64_t i = 0; i < in; ++i) dx[t * in + i] += g * w[o * in + i];
    }
}

template <>
void linear_backward_weight<double>(const double* dy, const double* x, int64_t n, int64_t out, int64_t in,
                                    double* dw, double* db, ThreadPool*) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      const double g = dy[t * out + o];
      if (db) db[o] += g;
      for (int64_t i = 0; i < in; ++i) dw[o * in + i] += g * x[t * in + i];
    }
}

template <>
void linear_forward<float>(const float* x, int64_t n, const float* w, const float* b, int64_t out, int64_t in,
                           float* y, ThreadPool* pool) {
  if (pool) {
    WeightMatrix m;
    m.dtype = DType::kF32;
    m.data = w;
    m.rows = out;
    m.cols = in;
    matmul(m, x, n, y, b, *pool);
    return;
  }
  const auto dot = dot_kernels(active_simd()).f32;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) y[t * out + o] = dot(w + o * in, x + t * in, in) + (b ? b[o] : 0.0f);
}

template <>
void linear_backward_input<float>(const float* dy, int64_t n, const float* w, int64_t out, int64_t in, float* dx,
                                  ThreadPool* pool) {
  // Threads own column blocks of dx; each streams W once while its [n, block] slice of dx stays in cache.
  const auto axpy = dot_kernels(active_simd()).axpy;
  const int64_t blocks = (in + kColumnBlock - 1) / kColumnBlock;
  parallel(pool, blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t c0 = blk * kColumnBlock, width = std::min(kColumnBlock, in - c0);
      for (int64_t o = 0; o < out; ++o) {
        const float* wrow = w + o * in + c0;
        for (int64_t t = 0; t < n; ++t) {
          const float g = dy[t * out + o];
          if (g != 0.0f) axpy(g, wrow, dx + t * in + c0, width);
        }
      }
    }
  });
}

template <>
void linear_backward_weight<float>(const float* dy, const float* x, int64_t n, int64_t out, int64_t in, float* dw,
                                   float* db, ThreadPool* pool) {
  // Threads own blocks of dW rows; a [kRowBlock, kColumnBlock] tile of dW stays in L1 while x's rows pass.
  const auto axpy = dot_kernels(active_simd()).axpy;
  const int64_t row_blocks = (out + kRowBlock - 1) / kRowBlock;
  parallel(pool, row_blocks, [&](int64_t rb0, int64_t rb1) {
    for (int64_t rb = rb0; rb < rb1; ++rb) {
      const int64_t o0 = rb * kRowBlock, o1 = std::min(out, o0 + kRowBlock);
      if (db)
        for (int64_t o = o0; o < o1; ++o)
          for (int64_t t = 0; t < n; ++t) db[o] += dy[t * out + o];
      for (int64_t c0 = 0; c0 < in; c0 += kColumnBlock) {
        const int64_t width = std::min(kColumnBlock, in - c0);
        for (int64_t t = 0; t < n; ++t) {
          const float* xrow = x + t * in + c0;
          for (int64_t o = o0; o < o1; ++o) {
            const float g = dy[t * out + o];
            if (g != 0.0f) axpy(g, xrow, dw + o * in + c0, width);
          }
        }
      }
    }
  });
}

}  // namespace pangu
