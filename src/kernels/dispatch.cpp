#include <atomic>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/thread_pool.h"
#include "kernels/cpu/simd.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "kernels/ref/dot_ref.h"
#include "pangu/error.h"

namespace pangu {

namespace {

SimdLevel detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
  return SimdLevel::kScalar;
}

SimdLevel initial_level() {
  const SimdLevel best = detect();
  if (const char* env = std::getenv("PANGU_SIMD")) {
    const std::string want = env;
    SimdLevel level = best;
    if (want == "scalar")
      level = SimdLevel::kScalar;
    else if (want == "avx2")
      level = SimdLevel::kAvx2;
    else if (want == "avx512")
      level = SimdLevel::kAvx512;
    return level < best ? level : best;
  }
  return best;
}

std::atomic<SimdLevel>& level_slot() {
  static std::atomic<SimdLevel> level{initial_level()};
  return level;
}

}  // namespace

SimdLevel detected_simd() {
  static const SimdLevel level = detect();
  return level;
}

SimdLevel active_simd() {
  return level_slot().load(std::memory_order_relaxed);
}

void set_active_simd(SimdLevel level) {
  level_slot().store(level < detected_simd() ? level : detected_simd(), std::memory_order_relaxed);
}

std::string_view simd_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar:
      return "scalar";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "?";
}

std::string cpu_features_string() {
  __builtin_cpu_init();
  // __builtin_cpu_supports needs a literal, hence the table of results rather than of names.
  const std::pair<const char*, bool> features[] = {
      {"sse4.2", __builtin_cpu_supports("sse4.2")},
      {"avx", __builtin_cpu_supports("avx")},
      {"avx2", __builtin_cpu_supports("avx2")},
      {"fma", __builtin_cpu_supports("fma")},
      {"avx512f", __builtin_cpu_supports("avx512f")},
      {"avx512bw", __builtin_cpu_supports("avx512bw")},
      {"avx512vl", __builtin_cpu_supports("avx512vl")},
      {"avx512vnni", __builtin_cpu_supports("avx512vnni")},
      {"avx512bf16", __builtin_cpu_supports("avx512bf16")},
  };
  std::string s;
  for (const auto& [name, has] : features) {
    if (!has) continue;
    if (!s.empty()) s += ' ';
    s += name;
  }
  return s;
}

const DotKernels& dot_kernels(SimdLevel level) {
  static const DotKernels scalar{ref::dot_f32, ref::dot_bf16, ref::dot_f16, ref::dot_q8, ref::dot_q4, nullptr, ref::axpy};
  static const DotKernels avx2{cpu::dot_f32_avx2, cpu::dot_bf16_avx2, cpu::dot_f16_avx2, cpu::dot_q8_avx2,
                               cpu::dot_q4_avx2, nullptr, cpu::axpy_avx2};
  static const DotKernels avx512{cpu::dot_f32_avx512, cpu::dot_bf16_avx512, cpu::dot_f16_avx512,
                                 cpu::dot_q8_avx512, cpu::dot_q4_avx512, cpu::quant_rows_avx512, cpu::axpy_avx512};
  switch (level) {
    case SimdLevel::kAvx512:
      return avx512;
    case SimdLevel::kAvx2:
      return avx2;
    default:
      return scalar;
  }
}

int64_t WeightMatrix::row_bytes() const {
  switch (quant) {
    case QuantFormat::kInt8:
      return cols;
    case QuantFormat::kInt4:
      return (cols + 1) / 2;
    case QuantFormat::kNone:
      break;
  }
  return cols * static_cast<int64_t>(dtype_size(dtype));
}

size_t WeightMatrix::stored_bytes() const {
  // Packed panels round rows up to 16 and columns up to 2.
  const int64_t stored_rows = packed ? packed_panels(rows) * kPanelRows : rows;
  const int64_t stored_row_bytes = packed ? 2 * packed_pairs(cols) * static_cast<int64_t>(dtype_size(dtype)) : row_bytes();
  size_t bytes = static_cast<size_t>(stored_rows * stored_row_bytes);
  if (quant != QuantFormat::kNone)
    bytes += static_cast<size_t>(rows * n_groups()) * (packed_scale_f16 ? 2 : sizeof(float)) * (offset ? 2 : 1);
  return bytes;
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool& pool) {
  if (w.packed) {
    packed_matmul(w, x, n_tokens, y, bias, pool);
    return;
  }
  const DotKernels& k = dot_kernels(active_simd());
  const int64_t cols = w.cols;
  const int64_t rows = w.rows;
  if (w.quant != QuantFormat::kNone && k.quant_rows) {
    pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
      k.quant_rows(w, static_cast<int64_t>(begin), static_cast<int64_t>(end), x, n_tokens, y, bias);
    });
    return;
  }
  if (w.quant != QuantFormat::kNone) {
    const int64_t n_groups = w.n_groups(), group = w.group_size > 0 ? w.group_size : cols;
    const int64_t row_bytes = w.row_bytes();
    const auto* base = static_cast<const uint8_t*>(w.data);
    const bool int8 = w.quant == QuantFormat::kInt8;
    pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r) {
        const uint8_t* row = base + r * row_bytes;
        const float* scale = w.scale + r * n_groups;
        const float* offset = w.offset ? w.offset + r * n_groups : nullptr;
        const float b = bias ? bias[r] : 0.0f;
        for (int64_t t = 0; t < n_tokens; ++t) {
          const float* xt = x + t * cols;
          y[t * rows + r] = (int8 ? k.q8(reinterpret_cast<const int8_t*>(row), scale, offset, group, xt, cols)
                                  : k.q4(row, scale, offset, group, xt, cols)) +
                            b;
        }
      }
    });
    return;
  }
  // Each weight row is read once and applied to every token while it sits in L1.
  auto run = [&](auto dot, auto* base) {
    pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r) {
        const auto* row = base + r * cols;
        const float b = bias ? bias[r] : 0.0f;
        for (int64_t t = 0; t < n_tokens; ++t) y[t * rows + r] = dot(row, x + t * cols, cols) + b;
      }
    });
  };
  switch (w.dtype) {
    case DType::kF32:
      run(k.f32, static_cast<const float*>(w.data));
      break;
    case DType::kBF16:
      run(k.bf16, static_cast<const uint16_t*>(w.data));
      break;
    case DType::kF16:
      run(k.f16, static_cast<const uint16_t*>(w.data));
      break;
    default:
      fail("matmul: weight dtype {} is not supported", dtype_name(w.dtype));
  }
}

}  // namespace pangu
