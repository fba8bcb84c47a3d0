// Runs fn(i) for i in [0, n) on up to one thread per core, the calling
// thread included; returns when all are done. Work is handed out one index
// at a time, so uneven items (a categorical column next to numeric ones)
// balance themselves. fn must be safe to run concurrently for distinct i.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace driftd {

template <class Fn>
void parallel_for(size_t n, Fn&& fn) {
  if (n == 0) return;
  const size_t threads = std::min<size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
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
