// Predictions waiting for their label (include/driftd/window/pending_labels.h).
#include "driftd/window/pending_labels.h"

namespace driftd {

size_t PendingLabels::find(uint64_t key) const {
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(key) & mask;
  while (slots_[i].key != 0 && slots_[i].key != key) i = (i + 1) & mask;
  return i;
}

void PendingLabels::grow() {
  std::vector<Entry> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, Entry{});
  for (const Entry& e : old) {
    if (e.key != 0) slots_[find(e.key)] = e;
  }
}

void PendingLabels::erase_slot(size_t slot) {
  // Backward-shift deletion keeps every probe chain unbroken.
  const size_t mask = slots_.size() - 1;
  size_t hole = slot;
  size_t i = (slot + 1) & mask;
  while (slots_[i].key != 0) {
    const size_t home = static_cast<size_t>(slots_[i].key) & mask;
    // Move entry i into the hole when its home is not cyclically in (hole, i].
    const bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!stays) {
      slots_[hole] = slots_[i];
      hole = i;
    }
    i = (i + 1) & mask;
  }
  slots_[hole] = Entry{};
  --size_;
}

void PendingLabels::ring_push(uint64_t key, int64_t ts) {
  if (ring_size_ == ring_.size()) {
    // Grow the ring, unrolling it so that the head is at 0.
    std::vector<std::pair<uint64_t, int64_t>> bigger(ring_.empty() ? 1024 : ring_.size() * 2);
    for (size_t k = 0; k < ring_size_; ++k) bigger[k] = ring_[(ring_head_ + k) % ring_.size()];
    ring_ = std::move(bigger);
    ring_head_ = 0;
  }
  ring_[(ring_head_ + ring_size_) % ring_.size()] = {key, ts};
  ++ring_size_;
}

bool PendingLabels::insert(uint64_t key, double score, int64_t ts, size_t cap, uint64_t* evicted) {
  if (cap == 0) return false;
  if (slots_.empty() || (size_ + 1) * 4 > slots_.size() * 3) grow();
  size_t slot = find(key);
  if (slots_[slot].key == 0) {
    // Room first: the oldest live entry goes when the cap is reached.
    while (size_ >= cap && ring_size_ > 0) {
      const auto [k, t] = ring_[ring_head_];
      ring_head_ = (ring_head_ + 1) % ring_.size();
      --ring_size_;
      const size_t at = find(k);
      if (slots_[at].key == k && slots_[at].ts == t) {
        erase_slot(at);
        ++*evicted;
      }
    }
    slot = find(key);
    ++size_;
  }
  slots_[slot] = Entry{key, score, ts};
  ring_push(key, ts);
  // Stale ring entries (replaced or taken ids) are bounded by the live ones.
  if (ring_size_ > 2 * cap + 1024) compact_ring();
  return true;
}

void PendingLabels::compact_ring() {
  std::vector<std::pair<uint64_t, int64_t>> live;
  live.reserve(ring_.size());
  for (size_t k = 0; k < ring_size_; ++k) {
    const auto [key, ts] = ring_[(ring_head_ + k) % ring_.size()];
    const size_t at = find(key);
    if (slots_[at].key == key && slots_[at].ts == ts) live.emplace_back(key, ts);
  }
  const size_t n = live.size();
  live.resize(ring_.size());
  ring_ = std::move(live);
  ring_head_ = 0;
  ring_size_ = n;
}

bool PendingLabels::take(uint64_t key, Entry* out) {
  if (size_ == 0) return false;
  const size_t slot = find(key);
  if (slots_[slot].key != key) return false;
  *out = slots_[slot];
  erase_slot(slot);
  return true;
}

uint64_t PendingLabels::expire(int64_t before) {
  uint64_t dropped = 0;
  while (ring_size_ > 0) {
    const auto [key, ts] = ring_[ring_head_];
    const size_t at = size_ > 0 ? find(key) : 0;
    const bool live = size_ > 0 && slots_[at].key == key && slots_[at].ts == ts;
    if (live && ts >= before) break;  // arrival order: the rest are younger (roughly)
    ring_head_ = (ring_head_ + 1) % ring_.size();
    --ring_size_;
    if (live) {
      erase_slot(at);
      ++dropped;
    }
  }
  return dropped;
}

void PendingLabels::save(ByteWriter& out) const {
  // The live entries in arrival order: enough to rebuild table and ring.
  std::vector<Entry> live;
  live.reserve(size_);
  for (size_t k = 0; k < ring_size_; ++k) {
    const auto [key, ts] = ring_[(ring_head_ + k) % ring_.size()];
    const size_t at = find(key);
    if (slots_[at].key == key && slots_[at].ts == ts) live.push_back(slots_[at]);
  }
  out.u64(live.size());
  for (const Entry& e : live) {
    out.u64(e.key);
    out.f64(e.score);
    out.i64(e.ts);
  }
}

bool PendingLabels::load(ByteReader& in, size_t cap) {
  *this = PendingLabels();
  const uint64_t n = in.count(24);
  uint64_t evicted = 0;
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    const uint64_t key = in.u64();
    const double score = in.f64();
    const int64_t ts = in.i64();
    if (key == 0) {
      in.fail("a pending label entry without an id");
      break;
    }
    if (in.ok()) insert(key, score, ts, cap, &evicted);
  }
  return in.ok();
}

}  // namespace driftd
