// A persistent pool: workers wait on a generation counter (spinning briefly, then sleeping) and split
// [0, n) into contiguous chunks. The calling thread takes chunk 0, so a pool of size 1 runs everything
// inline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pangu {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(begin, end) over disjoint chunks covering [0, n); returns when all chunks are done.
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn);

  // Which worker's chunk of a parallel_for over n items starts at `begin` (for per-worker scratch).
  size_t chunk_index(size_t begin, size_t n) const { return begin / chunk_size(n); }
  size_t chunk_size(size_t n) const { return (n + n_threads_ - 1) / n_threads_; }

  static int default_threads();

 private:
  void worker_loop(int index);
  void run_chunk(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Sequentially consistent atomics: a side that goes to sleep re-checks its condition under the mutex
  // after announcing itself, and the other side notifies under the mutex when it sees the announcement.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waiting_{false};
  std::atomic<bool> stopping_{false};
  size_t job_n_ = 0;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
};

}  // namespace pangu
