// Equality of two short byte strings without a library call: event keys
// ("model", "f12", "country") are compared many times per event, and a call
// to memcmp for each was 6% of the daemon's ingest.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

[[gnu::always_inline]] inline bool same_bytes(std::string_view a, std::string_view b) {
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

// Text of up to 16 bytes as two words, zero past its end, read without
// touching a byte outside it (overlapping loads, as same_ends): a short
// text is then found among a few others by comparing words and lengths,
// with no branch on its length per candidate.
struct ShortText {
  static constexpr size_t kMax = 16;
  uint64_t lo = 0, hi = 0;
  size_t size = 0;

  // Requires text.size() <= kMax.
  static ShortText of(std::string_view text) {
    ShortText t;
    const size_t n = text.size();
    const char* p = text.data();
    t.size = n;
    if (n >= 8) {
      std::memcpy(&t.lo, p, 8);
      if (n > 8) {  // bytes 8 .. n-1: the last 8 bytes moved down past the overlap
        uint64_t tail;
        std::memcpy(&tail, p + n - 8, 8);
        t.hi = tail >> (8 * (16 - n));
      }
    } else if (n >= 4) {
      uint32_t head, tail;
      std::memcpy(&head, p, 4);
      std::memcpy(&tail, p + n - 4, 4);
      t.lo = uint64_t{head} | (uint64_t{tail} << (8 * (n - 4)));
    } else if (n > 0) {
      const auto byte = [&](size_t i) { return uint64_t{static_cast<unsigned char>(p[i])}; };
      t.lo = byte(0) | (byte(n / 2) << (8 * (n / 2))) | (byte(n - 1) << (8 * (n - 1)));
    }
    return t;
  }
  bool operator==(const ShortText& o) const {
    return ((lo ^ o.lo) | (hi ^ o.hi) | (size ^ o.size)) == 0;
  }
};
static_assert(std::endian::native == std::endian::little, "ShortText packs little-endian words");

// A text's first 16 bytes as they lie in the raw text of a JSON string
// that is exactly this text: its bytes, then the closing quote when it is
// shorter, then zeros. One 16-byte load of the raw string and one compare
// tell whether the string is the text, without finding its length: for a
// text without quotes or backslashes no byte of the match can be part of an
// escape. PaddedKey and JsonStringSet are built on it.
struct QuotedHead {
  alignas(16) char bytes[16] = {'"'};
  // Compare bits a raw match needs: the text's bytes and the quote. 1 << 16
  // (never set in a 16-byte compare) when the text is 16 bytes or longer or
  // holds a quote or backslash: such a text is never matched raw.
  unsigned json_needed = 1;

  void assign(std::string_view s) {
    std::memset(bytes, 0, sizeof bytes);
    if (!s.empty()) std::memcpy(bytes, s.data(), std::min(s.size(), sizeof bytes));
    const bool plain = s.find_first_of("\"\\") == std::string_view::npos;
    if (s.size() < sizeof bytes) bytes[s.size()] = '"';
    json_needed = s.size() < sizeof bytes && plain ? (2u << s.size()) - 1 : 1u << 16;
  }
#if defined(__SSE2__)
  static __m128i load(const char* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  // Bit i: byte i of `other` equals byte i here.
  unsigned equal_bits(__m128i other) const {
    const __m128i mine = _mm_load_si128(reinterpret_cast<const __m128i*>(bytes));
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(other, mine)));
  }
  bool matches_json(__m128i raw16) const {
    return (equal_bits(raw16) & json_needed) == json_needed;
  }
#endif
  // `raw` points just after a JSON string's opening quote, with 16 readable
  // bytes from there. True when that string is exactly the text.
  bool matches_json(const char* raw) const {
#if defined(__SSE2__)
    return matches_json(load(raw));
#else
    if (json_needed >> 16) return false;
    const size_t n = static_cast<size_t>(std::popcount(json_needed)) - 1;
    return std::memcmp(raw, bytes, n + 1) == 0;
#endif
  }
};

// A key compared many times with text that lies in a padded buffer: a
// simdjson document or string buffer, with at least 16 readable bytes after
// any text in it. A key of up to 16 bytes is then one 16-byte load and
// compare a side, whatever its length (same_bytes' short cases branch on
// the length and loop below 4 bytes; feature keys like "f7" are that short).
class PaddedKey {
 public:
  PaddedKey() = default;
  explicit PaddedKey(std::string_view s) { assign(s); }
  void assign(std::string_view s) {
    text_.assign(s);
    head_.assign(s);
    plain_ = s.find_first_of("\"\\") == std::string_view::npos;
  }
  std::string_view view() const { return text_; }
  // `s` must be followed by 16 - s.size() readable bytes when shorter.
  bool equals_padded(std::string_view s) const {
    const size_t n = s.size();
    if (n != text_.size()) return false;
    if (n == 0) return true;  // an empty view may have no buffer behind it
#if defined(__SSE2__)
    if (n <= sizeof head_.bytes) {
      const unsigned needed = (1u << n) - 1;
      return (head_.equal_bits(QuotedHead::load(s.data())) & needed) == needed;
    }
#endif
    return same_bytes(s, text_);
  }
  // `raw` points just after the opening quote of a JSON string in a padded
  // buffer. True when that string is this key: its bytes, then the closing
  // quote. Only for keys without quotes or backslashes (else false; see
  // QuotedHead).
  bool equals_json_string(const char* raw) const {
    const size_t n = text_.size();
    if (n < sizeof head_.bytes) return head_.matches_json(raw);
    if (!plain_) return false;
    // Byte by byte, stopping at the first difference: the raw string may be
    // shorter than the key, and ends at its quote (the key has none).
    for (size_t i = 0; i < n; ++i) {
      if (raw[i] != text_[i]) return false;
    }
    return raw[n] == '"';
  }

 private:
  QuotedHead head_;
  std::string text_;
  bool plain_ = true;  // no quote or backslash in the key (for keys of 16 bytes and more)
};

// Up to 16 short texts, each found as a raw JSON string in a padded buffer
// at once: the string's first 16 bytes are loaded once and compared with
// every text's QuotedHead, with no branch per text. Texts of 16 bytes or
// more, or with a quote or backslash, are never found this way (the caller
// reads the string the general way): a miss says only that.
class JsonStringSet {
 public:
  static constexpr size_t kMaxTexts = 16;
  // Returns false (and holds nothing) beyond kMaxTexts texts.
  bool assign(const std::vector<std::string_view>& texts) {
    count_ = 0;
    if (texts.size() > kMaxTexts) return false;
    for (const std::string_view t : texts) heads_[count_++].assign(t);
    return true;
  }
  size_t size() const { return count_; }
  // `raw` points just after the opening quote of a JSON string in a buffer
  // with 16 readable bytes from there. The index of the text that string
  // is, or -1.
  int find_json_string(const char* raw) const {
#if defined(__SSE2__)
    const __m128i raw16 = QuotedHead::load(raw);
#else
    const char* raw16 = raw;
#endif
    unsigned found = 0;
    for (size_t i = 0; i < count_ && i < kMaxTexts; ++i) {  // (the bound for the compiler)
      found |= static_cast<unsigned>(heads_[i].matches_json(raw16)) << i;
    }
    return found != 0 ? std::countr_zero(found) : -1;
  }

 private:
  QuotedHead heads_[kMaxTexts];
  size_t count_ = 0;
};

// What the key at each position of an object meant last time. Producers
// write keys in the same order event after event, so the key seen at a
// position is compared first (one PaddedKey compare) and its meaning reused;
// the caller works the meaning out only on a miss, and learns it.
template <class Meaning>
class KeysByPosition {
 public:
  explicit KeysByPosition(size_t max_positions) : max_(max_positions) {}
  // `key` lies in a padded buffer (PaddedKey::equals_padded).
  bool find(size_t position, std::string_view key, Meaning* out) const {
    if (position >= at_.size() || !at_[position].key.equals_padded(key)) return false;
    *out = at_[position].meaning;
    return true;
  }
  // `raw`: after a JSON string's opening quote (PaddedKey::equals_json_string).
  bool find_json(size_t position, const char* raw, Meaning* out) const {
    if (position >= at_.size() || !at_[position].key.equals_json_string(raw)) return false;
    *out = at_[position].meaning;
    return true;
  }
  // Out of line: it allocates, and runs only when a key changes.
  [[gnu::noinline]] void learn(size_t position, std::string_view key, Meaning meaning) {
    if (position < at_.size()) {
      at_[position] = Entry{PaddedKey(key), meaning};
    } else if (position == at_.size() && position < max_) {
      at_.push_back(Entry{PaddedKey(key), meaning});
    }
  }

 private:
  struct Entry {
    PaddedKey key;
    Meaning meaning;
  };
  std::vector<Entry> at_;
  size_t max_;
};

}  // namespace driftd
