// Reading a text cell as a number, the way numpy and pandas read it.
#pragma once

#include <string_view>

namespace driftd {

// How a text cell is classified in a numeric column.
enum class NumberParse { kFinite, kMissing, kInfinite, kNotANumber };
// Parses a decimal number as numpy/pandas would read it: optional sign
// (including '+'), surrounding spaces, "nan"/"inf"/"infinity" in any case.
NumberParse parse_number(std::string_view text, double* out);

// The exact fast path behind parse_number (exposed for its differential
// test): true and the correctly rounded value for plain decimals with at
// most 18 significant digits and a power of ten within 1e+-22.
bool parse_decimal_fast(std::string_view text, double* out);

// Blank, or "nan" in any case: a missing cell in either kind of column.
bool is_missing_text(std::string_view s);

}  // namespace driftd
