// The three matrix products of a linear layer's forward and backward passes, for f64 (plain loops: the
// reference the gradient check trusts) and f32 (SIMD rows, threads, cache blocking).
//   W: [out, in] row-major, x: [n, in], y/dy: [n, out].
#pragma once

#include <cstdint>

namespace pangu {

class ThreadPool;

// y = x W^T + b (b may be null). Overwrites y.
template <typename T>
void linear_forward(const T* x, int64_t n, const T* w, const T* b, int64_t out, int64_t in, T* y, ThreadPool* pool);

// dx += dy W.
template <typename T>
void linear_backward_input(const T* dy, int64_t n, const T* w, int64_t out, int64_t in, T* dx, ThreadPool* pool);

// dW += dy^T x; db += column sums of dy (db may be null).
template <typename T>
void linear_backward_weight(const T* dy, const T* x, int64_t n, int64_t out, int64_t in, T* dw, T* db,
                            ThreadPool* pool);

}  // namespace pangu
