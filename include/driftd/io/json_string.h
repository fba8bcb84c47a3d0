// The text of a JSON string that holds no escape is its bytes between the
// quotes: such a key or value can be used where it lies, without simdjson
// copying it into its string buffer (unescaping). Event keys and category
// values almost never hold escapes, and the copy was the larger part of
// simdjson's string work on the daemon's events.
#pragma once

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace driftd {

// `p` points just after a string's opening quote. When a closing quote
// comes before any backslash, sets *len to the bytes before it and returns
// true; returns false when the text holds an escape (unescape it instead).
// Reads up to 15 bytes past the closing quote: callers hold the text in
// buffers padded as simdjson requires (SIMDJSON_PADDING), and the string is
// closed (simdjson's stage 1 checked that).
[[gnu::always_inline]] inline bool unescaped_length(const char* p, uint32_t* len) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (uint32_t at = 0;; at += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
    const unsigned q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote)));
    const unsigned b = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, backslash)));
    if ((q | b) != 0) {
      const unsigned first = static_cast<unsigned>(__builtin_ctz(q | b));
      if ((b >> first) & 1) return false;
      *len = at + first;
      return true;
    }
  }
#else
  for (uint32_t at = 0;; ++at) {
    if (p[at] == '\\') return false;
    if (p[at] == '"') {
      *len = at;
      return true;
    }
  }
#endif
}

}  // namespace driftd
