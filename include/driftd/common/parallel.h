// Runs fn(i) for i in [0, n) on up to one thread per core (or max_threads),
// the calling thread included; returns when all are done. Work is handed out one index
// at a time, so uneven items (a categorical column next to numeric ones)
// balance themselves. fn must be safe to run concurrently for distinct i.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace driftd {

// max_threads = 0: one per hardware thread.
template <class Fn>
void parallel_for(size_t n, Fn&& fn, size_t max_threads = 0) {
  if (n == 0) return;
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (max_threads > 0) threads = std::min(threads, max_threads);
  threads = std::min(threads, n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace driftd
