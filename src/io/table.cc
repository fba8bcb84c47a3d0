#include <algorithm>
#include <charconv>
#include <cmath>

#include "driftd/io.h"
#include "driftd/table.h"

namespace driftd {

const char* to_string(ColumnKind kind) {
  return kind == ColumnKind::kNumeric ? "numeric" : "categorical";
}

uint32_t Column::intern(std::string_view text) {
  const auto it = dictionary_index.find(text);
  if (it != dictionary_index.end()) return it->second;
  const auto code = static_cast<uint32_t>(dictionary.size());
  dictionary.emplace_back(text);
  dictionary_index.emplace(dictionary.back(), code);
  return code;
}

const Column* Table::find(std::string_view name) const {
  for (const Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

namespace {
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = static_cast<char>(a[i] | 0x20);
    if (x != b[i]) return false;
  }
  return true;
}
}  // namespace

NumberParse parse_number(std::string_view s, double* out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
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
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s.empty() || iequals(s, "nan");
}

}  // namespace driftd
