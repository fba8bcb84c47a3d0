// Reading JSON numbers in bulk. The daemon stages a numeric feature as its
// number's text (ModelMonitor::stage_number_text) and reads a column's
// numbers of many events together (kernels::read_json_numbers, vectors of
// numbers), instead of one at a time inside simdjson's scan of each event,
// where reading numbers was about a third of the scan's instructions.
//
// The shape read there is the one event values almost always have: an
// optional minus, integer digits (no leading zero), optionally a point and
// fraction digits, no exponent, at most 15 digits in all, and the byte that
// ends the number (',', '}', ']' or whitespace) within the 16 bytes of the
// text. Such a number is m / 10^f with m < 10^15 < 2^53 and f <= 15, both
// exact doubles, so one IEEE division rounds it correctly (Clinger 1990,
// "How to read floating point numbers accurately": the fast path every
// exact reader takes first, simdjson's included). The result is the double
// simdjson's get_double returns for the same text. Any other text is read
// by simdjson (read_json_number_text), which reads exponents and long
// numbers and refuses the malformed ones.
#pragma once

#include <cstddef>
#include <cstdint>

namespace driftd {

// Bytes of a number text: the token from its first byte (a number token
// shorter than this, so the byte that ends it is among them).
constexpr size_t kNumberTextBytes = 16;

// ',', '}', ']' or JSON whitespace: the bytes that may follow a number in
// an object or array (simdjson accepts ':', '{' and '[' too, which no
// valid document has there; those texts go to simdjson).
inline bool ends_json_number(char c) {
  return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// The reference reading of one number text in the shape above, a byte at a
// time: false when the text is not in that shape. kernels::read_json_numbers
// accepts exactly these texts and returns the same doubles.
inline bool short_json_double(const char* text, double* out) {
  static constexpr double kPow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  auto digit = [](char c) { return static_cast<unsigned char>(c - '0') <= 9; };
  const bool negative = text[0] == '-';
  size_t i = negative ? 1 : 0;
  const size_t first = i;
  uint64_t m = 0;
  while (i < kNumberTextBytes && digit(text[i]))
    m = m * 10 + static_cast<uint64_t>(text[i++] - '0');
  const size_t int_len = i - first;
  if (int_len == 0 || (int_len > 1 && text[first] == '0')) return false;
  size_t frac_len = 0;
  if (i < kNumberTextBytes && text[i] == '.') {
    ++i;
    while (i < kNumberTextBytes && digit(text[i])) {
      m = m * 10 + static_cast<uint64_t>(text[i++] - '0');
      ++frac_len;
    }
    if (frac_len == 0) return false;
  }
  if (i >= kNumberTextBytes || !ends_json_number(text[i]) || int_len + frac_len > 15) return false;
  const double d = static_cast<double>(m) / kPow10[frac_len];
  *out = negative ? -d : d;
  return true;
}

// Any JSON number's double, by simdjson, from a number text whose token
// ends within its first `max_len` bytes: the path for what
// short_json_double declines. False when simdjson refuses the number
// (malformed, or out of a double's range), as its get_double would.
bool read_json_number_text(const char* text, size_t max_len, double* out);

}  // namespace driftd
