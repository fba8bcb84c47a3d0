#include <charconv>
#include <cmath>
#include <cstdint>

#include "driftd/io/number.h"

namespace driftd {

namespace {
// Without leading and trailing spaces and tabs.
std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = static_cast<char>(a[i] | 0x20);
    if (x != b[i]) return false;
  }
  return true;
}
}  // namespace

// Clinger's fast path (W. D. Clinger, "How to read floating point numbers
// accurately", PLDI 1990): when the decimal significand m fits in 53 bits and
// the power of ten 10^|e| <= 10^22 (both exact doubles), m * 10^e or m / 10^-e
// is one correctly rounded IEEE operation, so the result is the correctly
// rounded value of the decimal, bit for bit what std::from_chars returns.
// Anything else (more digits, large exponents, words) returns false and is
// left to std::from_chars. This is most CSV numbers, at a fraction of the cost.
bool parse_decimal_fast(std::string_view s, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* p = s.data();
  const char* const end = p + s.size();
  bool negative = false;
  if (p < end && *p == '-') {
    negative = true;
    ++p;
  }
  uint64_t m = 0;
  int digits = 0;  // significant digits accumulated in m (leading zeros skipped)
  int scale = 0;   // power of ten to apply for digits after the point
  const char* first_digit = p;
  while (p < end && static_cast<unsigned>(*p - '0') < 10) {
    if (m != 0 || *p != '0') ++digits;
    m = m * 10 + static_cast<unsigned>(*p - '0');
    ++p;
    if (digits > 18) return false;
  }
  bool any_digit = p != first_digit;
  if (p < end && *p == '.') {
    ++p;
    const char* frac = p;
    while (p < end && static_cast<unsigned>(*p - '0') < 10) {
      if (m != 0 || *p != '0') ++digits;
      m = m * 10 + static_cast<unsigned>(*p - '0');
      ++p;
      if (digits > 18) return false;
    }
    scale = -static_cast<int>(p - frac);
    any_digit = any_digit || p != frac;
  }
  if (!any_digit) return false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool eneg = false;
    if (p < end && (*p == '-' || *p == '+')) eneg = *p++ == '-';
    if (p == end) return false;
    int e = 0;
    while (p < end && static_cast<unsigned>(*p - '0') < 10) {
      e = e * 10 + (*p - '0');
      ++p;
      if (e > 1000) return false;
    }
    scale += eneg ? -e : e;
  }
  if (p != end) return false;
  if (m > (uint64_t{1} << 53) || scale < -22 || scale > 22) return false;
  double v = static_cast<double>(m);
  v = scale < 0 ? v / kPow10[-scale] : v * kPow10[scale];
  *out = negative ? -v : v;
  return true;
}

NumberParse parse_number(std::string_view s, double* out) {
  if (parse_decimal_fast(s, out)) return NumberParse::kFinite;
  s = trim_blanks(s);
  if (s.empty()) return NumberParse::kMissing;
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-' || s.front() == '+') return NumberParse::kNotANumber;
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ptr != s.data() + s.size()) return NumberParse::kNotANumber;
  if (ec == std::errc::result_out_of_range) {
    // Too large in magnitude parses as +-inf (numpy, pandas); too small as 0.
    const bool negative = s.front() == '-';
    const size_t e = s.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    if (tiny) {
      *out = negative ? -0.0 : 0.0;
      return NumberParse::kFinite;
    }
    return NumberParse::kInfinite;
  }
  if (ec != std::errc()) return NumberParse::kNotANumber;
  if (std::isnan(v)) return NumberParse::kMissing;
  if (std::isinf(v)) return NumberParse::kInfinite;
  *out = v;
  return NumberParse::kFinite;
}

bool is_missing_text(std::string_view s) {
  s = trim_blanks(s);
  return s.empty() || iequals(s, "nan");
}

}  // namespace driftd
