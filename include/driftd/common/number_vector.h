// NumberVector: the array type of numeric columns and baseline samples.
#pragma once

#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace driftd {

// std::allocator, except that value-initialising an element (resize(n),
// vector(n)) leaves it uninitialised. A reader sizes a column once for the
// whole file and each thread then writes, and first touches, its own rows:
// no zero-fill of memory about to be overwritten, and the page faults are
// spread over the threads instead of taken by the one that sized it.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() noexcept = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {
  }  // NOLINT(google-explicit-constructor)
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// The values of a numeric column, and the arrays derived from it (baseline
// samples, working copies).
using NumberVector = std::vector<double, UninitializedAllocator<double>>;

}  // namespace driftd
