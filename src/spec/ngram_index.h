// Positions of n-grams in a growing token sequence, for prompt lookup decoding. Each n in [n_min, n_max]
// has a hash map from the n-gram to the most recent position it ended at; positions are added as the
// sequence grows, so indexing and lookup cost O(n_max) per token whatever the context length.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace pangu {

class NgramIndex {
 public:
  NgramIndex(int n_min, int n_max);

  // Indexes every n-gram of `tokens` that ends before its last position and was not indexed yet, then
  // finds the most recent earlier occurrence of the longest suffix (n_max down to n_min). Returns the
  // position just after that occurrence (where its continuation starts), or -1. `tokens` must extend the
  // sequence of the previous call (it only grows, or restarts from a shorter one: then the index is rebuilt).
  int64_t find_continuation(const std::vector<int32_t>& tokens);

  int n_min() const { return n_min_; }
  int n_max() const { return n_max_; }

 private:
  void reset();
  uint64_t key(const int32_t* begin, int n) const;
  int n_min_, n_max_;
  int64_t indexed_end_ = 0;           // n-grams ending before this position are indexed
  std::vector<int32_t> seen_prefix_;  // the first tokens of the indexed sequence, to detect restarts
  std::vector<std::unordered_map<uint64_t, int64_t>> last_end_;  // [n - n_min]: key -> end position
};

}  // namespace pangu
