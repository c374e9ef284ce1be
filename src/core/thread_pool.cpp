#include "core/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>

namespace pangu {

namespace {

// Decoding calls parallel_for hundreds of times per token, each for well under a millisecond. Waking a
// sleeping thread costs tens of microseconds on a VM, so both sides spin for a while (about 100 us here)
// before they block; a pool that is idle for longer sleeps and costs nothing.
constexpr int kSpinIterations = 20000;

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

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("PANGU_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void ThreadPool::run_chunk(int index) {
  const size_t per = chunk_size(job_n_);
  const size_t begin = std::min(job_n_, per * index);
  const size_t end = std::min(job_n_, begin + per);
  if (begin < end) (*job_)(begin, end);
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  pending_.store(n_threads_ - 1);
  generation_.fetch_add(1);  // publishes job_ and job_n_ to the workers
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  run_chunk(0);
  for (int spin = 0; pending_.load() != 0; ++spin) {
    if (spin < kSpinIterations) {
      _mm_pause();
      continue;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    caller_waiting_.store(true);
    done_.wait(lock, [this] { return pending_.load() == 0; });
    caller_waiting_.store(false);
    break;
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Wait for a new generation: spin first, then sleep.
    bool ready = false;
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (generation_.load() != seen || stopping_) {
        ready = true;
        break;
      }
      _mm_pause();
    }
    if (!ready) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return stopping_ || generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    if (stopping_) return;
    seen = generation_.load();
    run_chunk(index);
    if (pending_.fetch_sub(1) == 1 && caller_waiting_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace pangu
