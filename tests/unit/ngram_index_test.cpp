// The PLD n-gram index against a brute-force scan, and the adaptive draft length's behaviour.
#include <gtest/gtest.h>

#include <random>

#include "spec/draft_length.h"
#include "spec/ngram_index.h"

namespace pangu {
namespace {

// The most recent earlier occurrence of the longest suffix (n_max down to n_min), by scanning.
int64_t brute_force(const std::vector<int32_t>& t, int n_min, int n_max) {
  const int64_t len = static_cast<int64_t>(t.size());
  for (int n = std::min<int64_t>(n_max, len - 1); n >= n_min; --n)
    for (int64_t end = len - 1; end >= n; --end)
      if (std::equal(t.end() - n, t.end(), t.begin() + end - n)) return end;
  return -1;
}

TEST(NgramIndex, MatchesBruteForceAsTheSequenceGrows) {
  for (int alphabet : {2, 5, 50}) {
    for (auto [n_min, n_max] : {std::pair{1, 1}, {1, 3}, {2, 4}, {3, 3}}) {
      std::mt19937 rng(alphabet * 100 + n_max);
      NgramIndex index(n_min, n_max);
      std::vector<int32_t> tokens;
      for (int i = 0; i < 400; ++i) {
        tokens.push_back(static_cast<int32_t>(rng() % alphabet));
        ASSERT_EQ(index.find_continuation(tokens), brute_force(tokens, n_min, n_max))
            << "alphabet " << alphabet << " n " << n_min << ".." << n_max << " length " << tokens.size();
      }
      // Several tokens at once (accepted proposals), then a new shorter sequence (a new request).
      for (int i = 0; i < 10; ++i) tokens.push_back(static_cast<int32_t>(rng() % alphabet));
      EXPECT_EQ(index.find_continuation(tokens), brute_force(tokens, n_min, n_max));
      tokens.resize(7);
      tokens[0] = 12345;
      EXPECT_EQ(index.find_continuation(tokens), brute_force(tokens, n_min, n_max));
    }
  }
}

TEST(NgramIndex, ProposesWhatFollowedTheMostRecentMatch) {
  NgramIndex index(1, 3);
  // "a b c X a b c Y a b c" -> the most recent "a b c" is followed by Y (position 8).
  const std::vector<int32_t> t = {1, 2, 3, 9, 1, 2, 3, 7, 1, 2, 3};
  EXPECT_EQ(index.find_continuation(t), 7);
}

SpeculationOptions adaptive(int k) {
  SpeculationOptions o;
  o.adaptive = true;
  o.k = k;
  o.k_min = 1;
  o.k_max = 8;
  return o;
}

TEST(DraftLength, GrowsWhileAcceptedAndShrinksWhenRejected) {
  DraftLength d(adaptive(4));
  for (int i = 0; i < 10; ++i) d.update(d.next_k(), d.next_k(), 0.08);
  EXPECT_EQ(d.next_k(), 8);
  // One of each step's proposals accepted: alpha falls to about 1/2, where 2 or 3 is the best K.
  for (int i = 0; i < 12; ++i) d.update(d.next_k(), 1, 0.08);
  EXPECT_GE(d.next_k(), 2);
  EXPECT_LE(d.next_k(), 3);
}

TEST(DraftLength, PausesWhenSpeculationCannotPayAndProbesAgain) {
  DraftLength d(adaptive(4));
  // Everything rejected at a high drafting cost: a pause of 16 plain steps, then a probe with k_min.
  int paused_at = -1;
  for (int i = 0; i < 10 && paused_at < 0; ++i) {
    d.update(d.next_k(), 0, 0.5);
    if (d.next_k() == 0) paused_at = i;
  }
  ASSERT_GE(paused_at, 0);
  int plain = 0;
  while (d.next_k() == 0 && plain < 1000) {
    d.plain_step();
    ++plain;
  }
  EXPECT_EQ(plain, 16);
  EXPECT_EQ(d.next_k(), 1);
  // Failing again doubles the pause.
  while (d.next_k() > 0) d.update(d.next_k(), 0, 0.5);
  plain = 0;
  while (d.next_k() == 0 && plain < 1000) {
    d.plain_step();
    ++plain;
  }
  EXPECT_EQ(plain, 32);
}

TEST(DraftLength, FixedWhenNotAdaptive) {
  SpeculationOptions o;
  o.k = 5;
  DraftLength d(o);
  d.update(5, 0, 10.0);
  EXPECT_EQ(d.next_k(), 5);
}

}  // namespace
}  // namespace pangu
