// SplitMix64: a small, portable random generator. Used where results must be the same on every platform
// and library (std:: distributions and std::shuffle are not specified bit for bit): training order, bootstrap
// resampling.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pangu {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for n far below 2^64 (the modulo bias is below n / 2^64).
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

}  // namespace pangu
