// Part of the public API: a Session runs on one. A persistent pool for the many short parallel steps of
// decoding (hundreds per token, each well under a millisecond). [0, n) is cut into a few chunks per thread and every thread, the caller included, claims
// chunks one at a time until none are left. A thread that the OS has taken off its core (another process
// on the machine) therefore holds up at most the one chunk it is running, and the caller never waits for
// a worker that has not started: whoever is running does the work. Waiting threads spin briefly, then
// yield their core, then sleep, so an idle or contended pool gives the CPU back.
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

  // fn(begin, end) over disjoint chunks covering [0, n); returns when all chunks are done. Which thread runs
  // which chunk is not fixed: results must not depend on it (each chunk writes its own outputs).
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn);

  // Inside a parallel_for callback: the running thread's index in [0, size()), 0 for the caller; for
  // per-thread scratch. Outside a pool: 0.
  static int worker_index();

  // Cores of this machine (or PANGU_THREADS when set).
  static int default_threads();

 private:
  void worker_loop(int index);
  // Claims and runs chunks of generation `gen` until none are left.
  void work_on(uint32_t gen);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // High 32 bits: the job's generation; low 32 bits: the next unclaimed chunk. One word, so a claim by a
  // thread still looking at an older job fails instead of taking a chunk of the new one.
  std::atomic<uint64_t> claim_{0};
  std::atomic<uint32_t> chunks_done_{0};
  std::atomic<uint32_t> n_chunks_{0};
  std::atomic<size_t> job_n_{0};
  std::atomic<size_t> chunk_len_{0};
  std::atomic<const std::function<void(size_t, size_t)>*> job_{nullptr};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace pangu
