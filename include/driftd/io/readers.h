// Reading CSV and JSON-lines inputs into a Table.
//
// Reading is two steps so that column kinds are known before values are
// stored: infer_schema() decides each column's kind (numeric when every
// present value parses as a number, unless the user says categorical), then
// read_table() fills the columns. `driftd check` skips the first step and
// uses the baseline's schema.
//
// Errors name the file, line and column. A malformed row (wrong field count,
// broken quoting, invalid JSON) stops the read unless max_errors allows it to
// be skipped; skipped rows are counted in the Table.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/io/file_buffer.h"
#include "driftd/io/table.h"

namespace driftd {

struct ReadOptions {
  uint64_t max_errors = 0;
  // Called now and then with (bytes done, bytes total); may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
  unsigned threads = 0;  // 0: one per hardware thread
  // Inputs smaller than this are read by one thread (threads cost more
  // than they save on small files). Tests lower it to cover the split.
  size_t min_parallel_bytes = size_t{8} << 20;
};

Result<std::vector<ColumnSpec>> infer_schema(const FileBuffer& file, InputFormat format,
                                             const std::set<std::string>& force_categorical,
                                             const ReadOptions& options);

// The column names of a CSV file's header row.
Result<std::vector<std::string>> csv_header_names(const FileBuffer& file);

// Columns of `schema` absent from the input come back with
// present_in_input = false and every row missing; input columns not in
// `schema` are listed in Table::extra_columns.
Result<Table> read_table(const FileBuffer& file, InputFormat format,
                         const std::vector<ColumnSpec>& schema, const ReadOptions& options);

}  // namespace driftd
