// Equality of two short byte strings without a library call: event keys
// ("model", "f12", "country") are compared many times per event, and a call
// to memcmp for each was 6% of the daemon's ingest.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace driftd {

// The first and the last sizeof(Word) bytes of two n-byte strings, n in
// [sizeof(Word), 2 sizeof(Word)]: two loads that overlap when n is below
// twice the width, so every byte is covered and none is read outside.
template <class Word>
inline bool same_ends(const char* p, const char* q, size_t n) {
  Word p0, q0, p1, q1;
  std::memcpy(&p0, p, sizeof(Word));
  std::memcpy(&q0, q, sizeof(Word));
  std::memcpy(&p1, p + n - sizeof(Word), sizeof(Word));
  std::memcpy(&q1, q + n - sizeof(Word), sizeof(Word));
  return ((p0 ^ q0) | (p1 ^ q1)) == 0;
}

inline bool same_bytes(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n > 16) return std::memcmp(p, q, n) == 0;
  if (n >= 8) return same_ends<uint64_t>(p, q, n);
  if (n >= 4) return same_ends<uint32_t>(p, q, n);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

}  // namespace driftd
