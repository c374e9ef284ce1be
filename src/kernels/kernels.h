// The one dispatch header. Kernels know nothing about models: they see weight matrices and f32 activations.
// The SIMD level is chosen at run time from the CPU (overridable with PANGU_SIMD=scalar|avx2|avx512).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/dtype.h"

namespace pangu {

class ThreadPool;

enum class SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

SimdLevel detected_simd();              // the best the CPU supports
SimdLevel active_simd();                // what kernels use now
void set_active_simd(SimdLevel level);  // clamped to detected_simd(); for tests and benchmarks
std::string_view simd_name(SimdLevel level);
std::string cpu_features_string();

// How the packed kernels feed f32 activations to bf16 weights. kSplit (the default) carries each activation
// as the sum of two bf16 values, 16 significant bits, which keeps logits within the float64 goldens'
// tolerance; kRound rounds it to one bf16, as llama.cpp's BF16 path does: half the products, about 0.2%
// error per activation. The initial value comes from PANGU_BF16_ACTIVATIONS=split|round.
enum class Bf16Activations { kSplit, kRound };
Bf16Activations bf16_activations();
void set_bf16_activations(Bf16Activations mode);
std::string_view bf16_activations_name(Bf16Activations mode);  // e.g. "avx2 fma f16c avx512f avx512bf16"

// How a matrix's values are stored. Quantized formats carry scales (and optional offsets) per group of
// `group_size` consecutive columns of a row: value = (q - offset[r, g]) * scale[r, g], g = col / group_size.
enum class QuantFormat {
  kNone,  // float in `dtype` (F32, BF16, F16)
  kInt8,  // int8 [rows, cols]
  kInt4,  // int4 two's complement, two per byte, element 2i in the low nibble: [rows, ceil(cols / 2)] bytes
};

// A weight matrix in its stored form, row-major: rows = output features, cols = input features.
struct WeightMatrix {
  DType dtype = DType::kF32;
  const void* data = nullptr;  // [rows, cols] (packed for kInt4)
  int64_t rows = 0;
  int64_t cols = 0;
  QuantFormat quant = QuantFormat::kNone;
  const float* scale = nullptr;   // [rows, n_groups()]
  const float* offset = nullptr;  // [rows, n_groups()], or null when symmetric (all zero)
  int64_t group_size = 0;         // cols for per-channel; a multiple of 16 otherwise
  // Built at load for the tiled kernels (kernels/packed.h); matmul reads these instead of `data` when set.
  const void* packed = nullptr;          // panels of 16 rows, column pairs interleaved
  const float* packed_scale = nullptr;   // int8: scales as [block][group][panel][16 rows]
  // int8 with groups: the same scales as f16 bits instead, when every one is an f16 value (GGUF's Q8_0
  // scales are): half the bytes that a scale per 32 columns adds to each product. packed_scale is then null.
  const uint16_t* packed_scale_f16 = nullptr;

  int64_t n_groups() const { return group_size > 0 ? (cols + group_size - 1) / group_size : 1; }
  int64_t row_bytes() const;  // bytes of one stored row
  size_t stored_bytes() const;  // what a product reads: codes or values (packed when packed), scales, offsets
};

// Dot products of one stored row with an f32 vector, f32 accumulation.
using DotF32Fn = float (*)(const float* w, const float* x, int64_t k);
using DotBF16Fn = float (*)(const uint16_t* w, const float* x, int64_t k);
using DotF16Fn = float (*)(const uint16_t* w, const float* x, int64_t k);

// Quantized rows: scale/offset point at the row's groups (offset may be null), `group` columns per group.
using DotQ8Fn = float (*)(const int8_t* w, const float* scale, const float* offset, int64_t group,
                          const float* x, int64_t k);
using DotQ4Fn = float (*)(const uint8_t* w, const float* scale, const float* offset, int64_t group,
                          const float* x, int64_t k);

// Rows [r0, r1) of a whole quantized matmul (y as in matmul below); null where a level has none.
using QuantRowsFn = void (*)(const WeightMatrix& w, int64_t r0, int64_t r1, const float* x, int64_t n_tokens,
                             float* y, const float* bias);

struct DotKernels {
  DotF32Fn f32;
  DotBF16Fn bf16;
  DotF16Fn f16;
  DotQ8Fn q8;
  DotQ4Fn q4;
  QuantRowsFn quant_rows;
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a * x
};

const DotKernels& dot_kernels(SimdLevel level);

// y[t, r] = sum_k w[r, k] * x[t, k] (+ bias[r]) for t < n_tokens.
//   x: [n_tokens, w.cols], y: [n_tokens, w.rows], bias: [w.rows] or null.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool& pool);

// Several products of the same input (q/k/v, gate/up). With packed weights of one kind the input is
// prepared once and all rows are shared out to the pool in a single dispatch, which saves a wake-up and a
// barrier per product: decoding does hundreds per token. Results equal separate matmul() calls.
struct Product {
  const WeightMatrix* w;
  float* y;            // [n_tokens, w->rows]
  const float* bias;   // [w->rows] or null
};
void matmul_shared_input(const Product* products, int n_products, const float* x, int64_t n_tokens,
                         ThreadPool& pool);

// Elementwise and normalisation ops on f32 activations.
void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* out);  // out may alias x
void softmax_inplace(float* x, int64_t n);                                              // numerically stable
void silu_mul_inplace(float* gate, const float* up, int64_t n);  // gate = silu(gate) * up
void add_inplace(float* x, const float* y, int64_t n);

// Read bandwidth in bytes/s over a buffer of `bytes`, every pool thread reading its share; best of `passes`.
double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t{1} << 30, int passes = 5);

// Converts n stored values of dtype to f32 (rows of embeddings, norm weights, biases).
void to_f32(DType dtype, const void* src, int64_t n, float* dst);

}  // namespace pangu
