#include "core/thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>

namespace pangu {

namespace {

// About 10 us of pause-spinning catches the next step of a decode without a wake-up (tens of microseconds
// on a VM); after that a waiting thread yields its core to whatever else is runnable (a preempted worker
// of ours, or another process), and a worker idle for long sleeps and costs nothing.
constexpr int kSpinIterations = 2000;
constexpr int kYieldIterations = 200;
// Chunks per thread: more chunks balance better when a thread loses its core; fewer cost fewer claims.
constexpr size_t kChunksPerThread = 4;

thread_local int tls_worker_index = 0;

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPool::worker_index() { return tls_worker_index; }

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("PANGU_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void ThreadPool::work_on(uint32_t gen) {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(c >> 32) != gen) return;
    const uint32_t index = static_cast<uint32_t>(c);
    if (index >= n_chunks_.load(std::memory_order_relaxed)) return;
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // The chunk is ours and its job stays in place until every chunk of this generation is done.
    const size_t n = job_n_.load(std::memory_order_relaxed);
    const size_t len = chunk_len_.load(std::memory_order_relaxed);
    const size_t begin = std::min(n, index * len);
    const size_t end = std::min(n, begin + len);
    if (begin < end) (*job_.load(std::memory_order_relaxed))(begin, end);
    chunks_done_.fetch_add(1, std::memory_order_acq_rel);
    c = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n);
    return;
  }
  const size_t n_chunks = std::min(n, static_cast<size_t>(n_threads_) * kChunksPerThread);
  const size_t len = (n + n_chunks - 1) / n_chunks;
  const uint32_t previous = static_cast<uint32_t>(claim_.load(std::memory_order_relaxed) >> 32);
  const uint32_t gen = previous + 1;
  // Close the previous job before changing the job's fields: a thread that read the previous claim word but
  // has not claimed yet would otherwise check that word's index against the new chunk count, claim "a chunk"
  // of the previous job, and run a chunk of the new one twice (its done-count then passes the total, and the
  // wait below never ends). With the index at its maximum, that claim fails and the thread looks again.
  claim_.store((static_cast<uint64_t>(previous) << 32) | 0xFFFFFFFFu, std::memory_order_seq_cst);
  job_.store(&fn, std::memory_order_relaxed);
  job_n_.store(n, std::memory_order_relaxed);
  chunk_len_.store(len, std::memory_order_relaxed);
  n_chunks_.store(static_cast<uint32_t>((n + len - 1) / len), std::memory_order_relaxed);
  chunks_done_.store(0, std::memory_order_relaxed);
  claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_seq_cst);  // publishes the job
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  const int outer_index = tls_worker_index;  // the caller may be a worker of another pool
  tls_worker_index = 0;
  work_on(gen);
  tls_worker_index = outer_index;
  const uint32_t total = n_chunks_.load(std::memory_order_relaxed);
  // What is left is chunks other threads are running; if one of them lost its core, yielding ours may be
  // what lets it run again.
  for (int spin = 0; chunks_done_.load(std::memory_order_acquire) != total; ++spin) {
    if (spin < kSpinIterations)
      _mm_pause();
    else
      sched_yield();
  }
}

void ThreadPool::worker_loop(int index) {
  tls_worker_index = index;
  uint32_t seen = 0;
  for (;;) {
    auto has_news = [&] {
      return stopping_.load() || static_cast<uint32_t>(claim_.load(std::memory_order_acquire) >> 32) != seen;
    };
    bool ready = false;
    for (int spin = 0; spin < kSpinIterations + kYieldIterations && !ready; ++spin) {
      ready = has_news();
      if (ready) break;
      if (spin < kSpinIterations)
        _mm_pause();
      else
        sched_yield();
    }
    if (!ready) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, has_news);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
    if (stopping_) return;
    seen = static_cast<uint32_t>(claim_.load(std::memory_order_acquire) >> 32);
    work_on(seen);
  }
}

}  // namespace pangu
