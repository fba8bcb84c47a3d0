// The delayed-label join's table (see driftd/window/window.h, "Delayed labels").
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "driftd/common/binary_io.h"

namespace driftd {

// Predictions waiting for their label: open addressing on the id's hash
// (linear probing, backward-shift deletion), with an arrival-order queue
// for expiry and eviction. Grows by doubling up to the cap, so a steady
// state allocates nothing per event.
class PendingLabels {
 public:
  struct Entry {
    uint64_t key = 0;  // XXH3-64 of the id; 0 marks an empty slot
    double score = 0;
    int64_t ts = 0;
  };
  size_t size() const { return size_; }
  // Inserts or replaces; returns the entry evicted to make room, if any.
  bool insert(uint64_t key, double score, int64_t ts, size_t cap, uint64_t* evicted);
  // Removes and returns the entry of `key`.
  bool take(uint64_t key, Entry* out);
  // Drops entries older than `before`, in arrival order; returns how many.
  uint64_t expire(int64_t before);

  void save(ByteWriter& out) const;
  bool load(ByteReader& in, size_t cap);

 private:
  size_t find(uint64_t key) const;  // slot of key, or the empty slot where it would go
  void erase_slot(size_t slot);
  void grow();
  void compact_ring();
  std::vector<Entry> slots_;
  size_t size_ = 0;
  // Arrival order: (key, ts) in a ring; stale entries (taken or replaced)
  // are skipped when they reach the front.
  std::vector<std::pair<uint64_t, int64_t>> ring_;
  size_t ring_head_ = 0, ring_size_ = 0;
  void ring_push(uint64_t key, int64_t ts);
};

}  // namespace driftd
