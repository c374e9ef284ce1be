// Causal grouped-query attention over the KV cache, one kv head and the queries that share it at a time.
//
// Cache layout for one (layer, kv head): keys in blocks of kKeyBlock positions, transposed within the block
// ([block][head_dim][16]), so one 16-lane vector holds one dimension of 16 keys and a query's 16 scores
// come out of head_dim FMAs with no horizontal sums; values row-major [position][head_dim]. Every query's
// result depends only on its own row and the keys it sees, in a fixed order, so a batch of tokens gives the
// same bits as the same tokens one at a time (speculative verification relies on it).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace pangu {

inline constexpr int64_t kKeyBlock = 16;

// Positions a cache of n_ctx positions holds: whole key blocks.
inline int64_t padded_positions(int64_t n_ctx) { return (n_ctx + kKeyBlock - 1) / kKeyBlock * kKeyBlock; }
// Offset of (position, dimension) in the keys of one kv head.
inline int64_t key_offset(int64_t pos, int64_t dim, int64_t head_dim) {
  return (pos / kKeyBlock) * head_dim * kKeyBlock + dim * kKeyBlock + pos % kKeyBlock;
}
// Writes key row k (head_dim values) at position pos.
void store_key(float* keys, int64_t pos, const float* k, int64_t head_dim);
// The same in a bf16 cache (round to nearest even), and a value row.
void store_key(uint16_t* keys, int64_t pos, const float* k, int64_t head_dim);
void store_values(uint16_t* values, int64_t pos, const float* v, int64_t head_dim);

// n query rows (each head_dim long, `stride` floats apart) that share one kv head and see the same
// n_keys positions; out rows likewise.
struct AttentionQueries {
  const float* q = nullptr;
  int64_t n = 0;
  int64_t stride = 0;
  float* out = nullptr;
  int64_t out_stride = 0;
};

// out[i] = softmax(scale * keys[0, n_keys) . q[i]) . values, for every query. `scores` is scratch of
// attention_scratch_floats(n, n_keys).
void attend(const float* keys, const float* values, int64_t head_dim, int64_t n_keys, const AttentionQueries& a,
            float scale, float* scores);
inline int64_t attention_scratch_floats(int64_t n_queries, int64_t n_ctx) {
  return n_queries * padded_positions(n_ctx);
}

using AttendFn = void (*)(const float* keys, const float* values, int64_t head_dim, int64_t n_keys,
                          const AttentionQueries& a, float scale, float* scores);
AttendFn attention_kernel(SimdLevel level, int64_t head_dim);
// A bf16 KV cache (same layout, half the bytes): keys and values widened to f32 as they are read, the sums
// and the softmax in f32 as above.
void attend(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
            const AttentionQueries& a, float scale, float* scores);
using AttendBf16Fn = void (*)(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
                              const AttentionQueries& a, float scale, float* scores);
AttendBf16Fn attention_kernel_bf16(SimdLevel level, int64_t head_dim);

namespace ref {
void attend(const float* keys, const float* values, int64_t head_dim, int64_t n_keys, const AttentionQueries& a,
            float scale, float* scores);
void attend(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
            const AttentionQueries& a, float scale, float* scores);
}  // namespace ref
namespace cpu {
// head_dim a multiple of 16, at most 256.
void attend_avx512(const float* keys, const float* values, int64_t head_dim, int64_t n_keys,
                   const AttentionQueries& a, float scale, float* scores);
void attend_avx512(const uint16_t* keys, const uint16_t* values, int64_t head_dim, int64_t n_keys,
                   const AttentionQueries& a, float scale, float* scores);
}  // namespace cpu

}  // namespace pangu
