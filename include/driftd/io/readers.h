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
#include "driftd/io/file_window.h"
#include "driftd/io/table.h"

namespace driftd {

// The bytes of an input file followed by at least SIMDJSON_PADDING zero
// bytes, so that simdjson can parse in place. Regular files are memory-mapped
// (no copy); pipes and stdin are read into memory. Move-only.
class FileBuffer {
 public:
  static Result<FileBuffer> load(const std::string& path);
  static FileBuffer from_string(std::string_view text, std::string name = "<memory>");

  FileBuffer() = default;
  FileBuffer(FileBuffer&& other) noexcept;
  FileBuffer& operator=(FileBuffer&& other) noexcept;
  FileBuffer(const FileBuffer&) = delete;
  FileBuffer& operator=(const FileBuffer&) = delete;
  ~FileBuffer();

  std::string_view text() const { return {data_, size_}; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // Readable bytes from data(): size() plus the zero padding.
  size_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }
  // XXH3-64 of the bytes, as 16 hex digits.
  std::string content_hash() const;

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  FileWindow window_;        // the mapped file, if it is one
  std::vector<char> owned_;  // the bytes, when not mapped
  std::string path_;
};

enum class InputFormat { kCsv, kJsonLines };

// From the extension (.csv/.tsv vs .jsonl/.ndjson/.json), else from the first
// non-blank byte ('{' means JSON lines).
InputFormat detect_format(const FileBuffer& file);

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

// How a text cell is classified in a numeric column.
enum class NumberParse { kFinite, kMissing, kInfinite, kNotANumber };
// Parses a decimal number as numpy/pandas would read it: optional sign
// (including '+'), surrounding spaces, "nan"/"inf"/"infinity" in any case.
NumberParse parse_number(std::string_view text, double* out);

// The exact fast path behind parse_number (exposed for its differential
// test): true and the correctly rounded value for plain decimals with at
// most 18 significant digits and a power of ten within 1e+-22.
bool parse_decimal_fast(std::string_view text, double* out);

// 1-based line and column of a byte offset (used only to word errors).
std::pair<uint64_t, uint64_t> line_and_column(std::string_view text, size_t offset);

}  // namespace driftd
