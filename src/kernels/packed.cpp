// Packing at load, activation preparation, and the choice of packed kernel for the CPU at hand.
#include "kernels/packed.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/thread_pool.h"
#include "kernels/ref/dot_ref.h"
#include "pangu/error.h"

namespace pangu {

bool packable(const WeightMatrix& w) {
  if (w.quant == QuantFormat::kInt8) return w.offset == nullptr && w.dtype == DType::kI8;
  return w.quant == QuantFormat::kNone && w.dtype == DType::kBF16;
}

int64_t act_group_size(const WeightMatrix& w) {
  if (w.group_size <= 0 || w.group_size >= w.cols) return kActGroup;
  // gcd keeps a group inside one weight group; groups are multiples of 16, so this is even and >= 16.
  return std::gcd(w.group_size, kActGroup);
}

namespace {

template <typename T>
void pack_panels(const T* src, int64_t rows, int64_t cols, T* dst, ThreadPool& pool) {
  const int64_t pairs = packed_pairs(cols);
  const int64_t block_rows = kPanelRows * kPanelsPerBlock;
  pool.parallel_for(static_cast<size_t>(packed_blocks(rows)), [&](size_t begin, size_t end) {
    const int64_t r1 = std::min(rows, static_cast<int64_t>(end) * block_rows);
    // The buffer is zeroed: padding rows and the odd column stay zero.
    for (int64_t r = static_cast<int64_t>(begin) * block_rows; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[packed_offset(r, c, pairs)] = src[r * cols + c];
  });
}

// Rounds half to even for |v| < 2^22 without a library call (vectorises): adding 1.5 * 2^23 leaves the
// rounded integer in the low mantissa bits.
inline int32_t round_to_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return bits - 0x4B400000;
}

void prepare_int16_token(const float* x, int64_t cols, int64_t group, int64_t stride, int16_t* q, float* scales) {
  for (int64_t start = 0, g = 0; start < cols; start += group, ++g) {
    const int64_t end = std::min(start + group, cols);
    float amax = 0.0f;
    for (int64_t c = start; c < end; ++c) amax = std::max(amax, std::fabs(x[c]));
    const float inv = amax > 0.0f ? 32767.0f / amax : 0.0f;
    scales[g] = amax / 32767.0f;
    for (int64_t c = start; c < end; ++c) q[c] = static_cast<int16_t>(std::clamp(round_to_int(x[c] * inv), -32767, 32767));
  }
  for (int64_t c = cols; c < stride; ++c) q[c] = 0;
}

// Preparing costs n_tokens * cols; spread it over the pool only when that is worth a wake-up.
template <typename Fn>
void for_tokens(int64_t n_tokens, int64_t cols, ThreadPool* pool, Fn fn) {
  if (pool && n_tokens >= 8 && n_tokens * cols >= (int64_t{1} << 16))
    pool->parallel_for(static_cast<size_t>(n_tokens), [&](size_t b, size_t e) {
      for (size_t t = b; t < e; ++t) fn(static_cast<int64_t>(t));
    });
  else
    for (int64_t t = 0; t < n_tokens; ++t) fn(t);
}

PackedActivations prepare_int16_impl(const float* x, int64_t n_tokens, int64_t cols, int64_t group,
                                     std::vector<int16_t>& values, std::vector<float>& scales, ThreadPool* pool) {
  PackedActivations a;
  a.n_tokens = n_tokens;
  a.stride = 2 * packed_pairs(cols);
  a.group = group;
  a.n_groups = (cols + group - 1) / group;
  values.resize(static_cast<size_t>(n_tokens * a.stride));
  scales.resize(static_cast<size_t>(n_tokens * a.n_groups));
  for_tokens(n_tokens, cols, pool, [&](int64_t t) {
    prepare_int16_token(x + t * cols, cols, group, a.stride, values.data() + t * a.stride,
                        scales.data() + t * a.n_groups);
  });
  a.values = values.data();
  a.scales = scales.data();
  return a;
}

PackedActivations prepare_bf16_impl(const float* x, int64_t n_tokens, int64_t cols, bool split,
                                    std::vector<uint16_t>& values, ThreadPool* pool) {
  PackedActivations a;
  a.n_tokens = n_tokens;
  a.split = split;
  const int64_t pairs = packed_pairs(cols);
  a.stride = (split ? 4 : 2) * pairs;
  values.resize(static_cast<size_t>(n_tokens * a.stride));
  for_tokens(n_tokens, cols, pool, [&](int64_t t) {
    const float* xt = x + t * cols;
    uint16_t* dst = values.data() + t * a.stride;
    for (int64_t c = 0; c < 2 * pairs; ++c) {
      const float v = c < cols ? xt[c] : 0.0f;
      const uint16_t high = f32_to_bf16(v);
      if (!split) {
        dst[c] = high;
        continue;
      }
      // Word 2j holds the high parts of pair j, word 2j + 1 the low parts (v - high is exact in f32).
      dst[(c / 2) * 4 + (c & 1)] = high;
      dst[(c / 2) * 4 + 2 + (c & 1)] = f32_to_bf16(v - bf16_to_f32(high));
    }
  });
  a.values = values.data();
  return a;
}

// Asked on every product: the CPU is queried once.
bool cpu_has_vnni() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") != 0;
  }();
  return has;
}

bool cpu_has_avx512bf16() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") != 0;
  }();
  return has;
}

PackedPanelsFn choose_kernel(const WeightMatrix& w, SimdLevel level) {
  const bool int8 = w.quant == QuantFormat::kInt8;
  switch (level) {
    case SimdLevel::kAvx512:
      if (int8) return cpu_has_vnni() ? cpu::packed_int8_panels_avx512vnni : cpu::packed_int8_panels_avx2;
      return cpu_has_avx512bf16() ? cpu::packed_bf16_panels_avx512bf16 : cpu::packed_bf16_panels_avx2;
    case SimdLevel::kAvx2:
      return int8 ? cpu::packed_int8_panels_avx2 : cpu::packed_bf16_panels_avx2;
    case SimdLevel::kScalar:
      break;
  }
  return int8 ? ref::packed_int8_panels : ref::packed_bf16_panels;
}

std::atomic<Bf16Activations>& bf16_mode_slot() {
  static std::atomic<Bf16Activations> mode{[] {
    const char* env = std::getenv("PANGU_BF16_ACTIVATIONS");
    return env && std::string_view(env) == "round" ? Bf16Activations::kRound : Bf16Activations::kSplit;
  }()};
  return mode;
}

}  // namespace

Bf16Activations bf16_activations() {
  return bf16_mode_slot().load(std::memory_order_relaxed);
}

void set_bf16_activations(Bf16Activations mode) {
  bf16_mode_slot().store(mode, std::memory_order_relaxed);
}

std::string_view bf16_activations_name(Bf16Activations mode) {
  return mode == Bf16Activations::kSplit ? "split" : "round";
}

void pack_weights(WeightMatrix& w, Buffer& storage, ThreadPool& pool) {
  PANGU_CHECK(packable(w) && w.data, "pack_weights: matrix {}x{} is not packable", w.rows, w.cols);
  const int64_t panels = packed_panels(w.rows), pairs = packed_pairs(w.cols);
  const size_t elem = dtype_size(w.dtype);
  const size_t value_bytes = (static_cast<size_t>(panels * pairs * 2 * kPanelRows) * elem + 63) / 64 * 64;
  const int64_t n_groups = w.quant == QuantFormat::kInt8 ? w.n_groups() : 0;
  // Grouped scales that are all f16 values are kept as f16 (exactly the same numbers, half the bytes).
  bool f16_scales = n_groups > 1;
  for (int64_t i = 0; f16_scales && i < w.rows * n_groups; ++i)
    f16_scales = f16_to_f32(f32_to_f16(w.scale[i])) == w.scale[i];
  const size_t scale_bytes = f16_scales ? sizeof(uint16_t) : sizeof(float);
  storage = Buffer(value_bytes + static_cast<size_t>(panels * n_groups * kPanelRows) * scale_bytes);
  if (elem == 1)
    pack_panels(static_cast<const int8_t*>(w.data), w.rows, w.cols, storage.as<int8_t>(), pool);
  else
    pack_panels(static_cast<const uint16_t*>(w.data), w.rows, w.cols, storage.as<uint16_t>(), pool);
  w.packed = storage.data();
  if (n_groups > 0 && f16_scales) {
    auto* scales = reinterpret_cast<uint16_t*>(storage.data() + value_bytes);
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t g = 0; g < n_groups; ++g)
        scales[packed_scale_offset(r / kPanelRows, g, n_groups) + r % kPanelRows] = f32_to_f16(w.scale[r * n_groups + g]);
    w.packed_scale_f16 = scales;
  } else if (n_groups > 0) {
    auto* scales = reinterpret_cast<float*>(storage.data() + value_bytes);
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t g = 0; g < n_groups; ++g)
        scales[packed_scale_offset(r / kPanelRows, g, n_groups) + r % kPanelRows] = w.scale[r * n_groups + g];
    w.packed_scale = scales;
  }
}

void matrix_row_f32(const WeightMatrix& w, int64_t row, float* out) {
  PANGU_CHECK(row >= 0 && row < w.rows, "matrix_row_f32: row {} of a matrix of {} rows", row, w.rows);
  const int64_t groups = w.n_groups();
  const int64_t group = w.group_size > 0 ? w.group_size : w.cols;
  if (w.data) {
    const auto* src = static_cast<const uint8_t*>(w.data) + row * w.row_bytes();
    if (w.quant == QuantFormat::kNone) return to_f32(w.dtype, src, w.cols, out);
    const float* scale = w.scale + row * groups;
    const float* offset = w.offset ? w.offset + row * groups : nullptr;
    for (int64_t c = 0; c < w.cols; ++c) {
      const int q = w.quant == QuantFormat::kInt4 ? ref::int4_at(src, c) : static_cast<int8_t>(src[c]);
      out[c] = (static_cast<float>(q) - (offset ? offset[c / group] : 0.0f)) * scale[c / group];
    }
    return;
  }
  PANGU_CHECK(w.packed && w.quant == QuantFormat::kInt8,
              "matrix_row_f32: a {}x{} matrix has neither row-major data nor packed int8 codes", w.rows, w.cols);
  const int64_t pairs = packed_pairs(w.cols);
  const auto* codes = static_cast<const int8_t*>(w.packed);
  for (int64_t c = 0; c < w.cols; ++c) {
    const int64_t at = packed_scale_offset(row / kPanelRows, c / group, groups) + row % kPanelRows;
    const float scale = w.packed_scale_f16 ? f16_to_f32(w.packed_scale_f16[at]) : w.packed_scale[at];
    out[c] = static_cast<float>(codes[packed_offset(row, c, pairs)]) * scale;
  }
}

PackedActivations prepare_int16(const float* x, int64_t n_tokens, int64_t cols, int64_t group,
                                std::vector<int16_t>& values, std::vector<float>& scales) {
  return prepare_int16_impl(x, n_tokens, cols, group, values, scales, nullptr);
}

PackedActivations prepare_bf16(const float* x, int64_t n_tokens, int64_t cols, bool split,
                               std::vector<uint16_t>& values) {
  return prepare_bf16_impl(x, n_tokens, cols, split, values, nullptr);
}

namespace {

// True when the products can share one prepared input: all packed, same kind, same activation groups.
bool share_input(const Product* products, int n) {
  const WeightMatrix& first = *products[0].w;
  if (!first.packed) return false;
  for (int i = 1; i < n; ++i) {
    const WeightMatrix& w = *products[i].w;
    if (!w.packed || w.quant != first.quant || w.dtype != first.dtype || w.cols != first.cols) return false;
    if (first.quant == QuantFormat::kInt8 && act_group_size(w) != act_group_size(first)) return false;
  }
  return true;
}

PackedActivations prepare_for(const WeightMatrix& w, const float* x, int64_t n_tokens, ThreadPool& pool) {
  // Per calling thread, grown to the largest product seen: no allocation per token.
  thread_local std::vector<int16_t> int16_values;
  thread_local std::vector<uint16_t> bf16_values;
  thread_local std::vector<float> int16_scales;
  if (w.quant == QuantFormat::kInt8)
    return prepare_int16_impl(x, n_tokens, w.cols, act_group_size(w), int16_values, int16_scales, &pool);
  return prepare_bf16_impl(x, n_tokens, w.cols, bf16_activations() == Bf16Activations::kSplit, bf16_values,
                           &pool);
}

}  // namespace

void packed_matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, const float* bias,
                   ThreadPool& pool) {
  const Product product{&w, y, bias};
  matmul_shared_input(&product, 1, x, n_tokens, pool);
}

void matmul_shared_input(const Product* products, int n_products, const float* x, int64_t n_tokens,
                         ThreadPool& pool) {
  if (n_products <= 0) return;
  if (!share_input(products, n_products)) {
    for (int i = 0; i < n_products; ++i) matmul(*products[i].w, x, n_tokens, products[i].y, products[i].bias, pool);
    return;
  }
  const PackedActivations a = prepare_for(*products[0].w, x, n_tokens, pool);
  const PackedPanelsFn kernel = choose_kernel(*products[0].w, active_simd());
  // Blocks of all products numbered one after another; each thread takes a contiguous run of them.
  int64_t first_block[8];
  PANGU_CHECK(n_products <= 8, "matmul_shared_input: {} products, at most 8", n_products);
  int64_t total = 0;
  for (int i = 0; i < n_products; ++i) {
    first_block[i] = total;
    total += packed_blocks(products[i].w->rows);
  }
  pool.parallel_for(static_cast<size_t>(total), [&](size_t begin, size_t end) {
    for (int i = 0; i < n_products; ++i) {
      const int64_t b0 = std::max<int64_t>(static_cast<int64_t>(begin), first_block[i]) - first_block[i];
      const int64_t b1 = std::min<int64_t>(static_cast<int64_t>(end), first_block[i] + packed_blocks(products[i].w->rows)) -
                         first_block[i];
      if (b0 < b1) kernel(*products[i].w, a, b0, b1, products[i].y, products[i].bias);
    }
  });
}

}  // namespace pangu
