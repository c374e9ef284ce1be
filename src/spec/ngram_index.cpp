#include "spec/ngram_index.h"

#include <algorithm>

#include "pangu/error.h"

namespace pangu {

NgramIndex::NgramIndex(int n_min, int n_max) : n_min_(n_min), n_max_(n_max) {
  PANGU_CHECK(n_min >= 1 && n_max >= n_min && n_max <= 16, "n-gram sizes must satisfy 1 <= n_min <= n_max <= 16 (found {}..{})",
              n_min, n_max);
  reset();
}

void NgramIndex::reset() {
  last_end_.assign(n_max_ - n_min_ + 1, {});
  indexed_end_ = 0;
  seen_prefix_.clear();
}

// FNV-1a over the token ids; collisions are caught by comparing the tokens on a hit.
uint64_t NgramIndex::key(const int32_t* begin, int n) const {
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < n; ++i) {
    h ^= static_cast<uint32_t>(begin[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

int64_t NgramIndex::find_continuation(const std::vector<int32_t>& tokens) {
  const int64_t len = static_cast<int64_t>(tokens.size());
  // A sequence that is not an extension of the indexed one (a new request) starts over. Checking a short
  // prefix and the length keeps this O(1).
  const size_t check = std::min<size_t>(seen_prefix_.size(), 8);
  if (len < indexed_end_ || !std::equal(seen_prefix_.begin(), seen_prefix_.begin() + check, tokens.begin())) reset();
  if (seen_prefix_.size() < 8) seen_prefix_.assign(tokens.begin(), tokens.begin() + std::min<int64_t>(len, 8));

  // Index n-grams ending at positions < len - 1 (end = one past the last token), so the suffix ending at
  // len does not find itself.
  for (int64_t end = std::max<int64_t>(indexed_end_, 1); end < len; ++end)
    for (int n = n_min_; n <= n_max_; ++n)
      if (end >= n) last_end_[n - n_min_][key(tokens.data() + end - n, n)] = end;
  indexed_end_ = std::max<int64_t>(indexed_end_, len > 0 ? len : 0);

  for (int n = std::min<int64_t>(n_max_, len - 1); n >= n_min_; --n) {
    const int32_t* suffix = tokens.data() + len - n;
    const auto& map = last_end_[n - n_min_];
    const auto it = map.find(key(suffix, n));
    if (it == map.end()) continue;
    const int64_t end = it->second;
    if (end >= len || !std::equal(suffix, suffix + n, tokens.data() + end - n)) continue;
    return end;
  }
  return -1;
}

}  // namespace pangu
