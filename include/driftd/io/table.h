// A table read from CSV or JSON lines, column by column.
//
// Values stay row-aligned so that prediction and label columns can be paired
// for performance metrics: a numeric column holds one double per row, NaN
// where the value is missing, did not parse, or was infinite (the three are
// counted apart); a categorical column holds one dictionary code per row,
// kMissingCode where missing.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "driftd/common/number_vector.h"

namespace driftd {

enum class ColumnKind : uint8_t { kNumeric, kCategorical };

const char* to_string(ColumnKind kind);

struct ColumnSpec {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
};

// Transparent hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIndex = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

struct Column {
  static constexpr uint32_t kMissingCode = std::numeric_limits<uint32_t>::max();

  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  bool present_in_input = true;  // false: the schema has it, the input never did

  NumberVector numbers;                 // kNumeric: one per row
  std::vector<uint32_t> codes;          // kCategorical: one per row
  std::vector<std::string> dictionary;  // kCategorical: code -> category text
  StringIndex dictionary_index;         // category text -> code

  uint64_t missing = 0;      // empty cell, JSON null, absent key, NaN
  uint64_t type_errors = 0;  // present but not a number in a numeric column
  uint64_t infinite = 0;     // +-Inf in a numeric column

  uint32_t intern(std::string_view text);
};

struct RowError {
  uint64_t line = 0;    // 1-based
  uint64_t column = 0;  // 1-based byte column within the line
  std::string reason;
};

struct Table {
  std::string source;  // file name, for messages
  uint64_t rows = 0;
  std::vector<Column> columns;
  // Columns the input had that the requested schema did not (a schema change).
  std::vector<std::string> extra_columns;
  // Malformed rows skipped under --max-errors (the first few kept as examples).
  uint64_t skipped_rows = 0;
  std::vector<RowError> skipped_examples;

  const Column* find(std::string_view name) const;
};

}  // namespace driftd
