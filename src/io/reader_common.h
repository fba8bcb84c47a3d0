// Pieces shared by the CSV and JSON-lines readers: splitting a buffer into
// chunks that threads read independently, the per-chunk column builders,
// and the merge of chunk results in input order.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "driftd/common/parallel.h"
#include "driftd/io/number.h"
#include "driftd/io/readers.h"
#include "driftd/io/table.h"

namespace driftd {
namespace io_detail {

struct Range {
  size_t begin = 0;
  size_t end = 0;
};

// Splits [begin, end) at newlines into at most `parts` ranges of similar size.
inline std::vector<Range> split_at_newlines(std::string_view text, size_t begin, size_t end,
                                            unsigned parts) {
  std::vector<Range> out;
  size_t start = begin;
  for (unsigned p = 1; p < parts; ++p) {
    size_t cut = begin + (end - begin) * p / parts;
    if (cut <= start) continue;
    const size_t nl = text.find('\n', cut);
    if (nl == std::string_view::npos || nl + 1 >= end) break;
    out.push_back({start, nl + 1});
    start = nl + 1;
  }
  out.push_back({start, end});
  return out;
}

inline unsigned thread_count(const ReadOptions& o, size_t bytes) {
  if (bytes < o.min_parallel_bytes) return 1;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return o.threads == 0 ? hw : o.threads;
}

// Ranges to split an input into: four per thread, so that threads that
// finish early take more and all finish together.
inline unsigned range_count(const ReadOptions& o, size_t bytes) {
  const unsigned t = thread_count(o, bytes);
  return t == 1 ? 1 : 4 * t;
}

struct OffsetError {
  size_t offset = 0;
  std::string reason;
};

// What one thread produced from one range of the input.
struct ChunkResult {
  std::vector<Column> columns;  // shaped like the schema
  uint64_t rows = 0;
  uint64_t error_count = 0;
  std::vector<OffsetError> errors;  // the first few, by offset
  std::vector<bool> numeric_ok;     // infer_schema: per input column
  std::vector<bool> seen;           // infer_schema: per input column (JSON)
};

inline void note_error(ChunkResult& r, size_t offset, std::string reason) {
  ++r.error_count;
  if (r.errors.size() < 16) r.errors.push_back({offset, std::move(reason)});
}

inline std::vector<Column> make_columns(const std::vector<ColumnSpec>& schema) {
  std::vector<Column> cols(schema.size());
  for (size_t i = 0; i < schema.size(); ++i) {
    cols[i].name = schema[i].name;
    cols[i].kind = schema[i].kind;
  }
  return cols;
}

// The value a text cell gives a numeric column: the number, or NaN with the
// cell counted as missing, infinite or a type error.
inline double numeric_cell_value(Column& c, std::string_view cell) {
  double v = 0;
  switch (parse_number(cell, &v)) {
    case NumberParse::kFinite:
      return v;
    case NumberParse::kMissing:
      ++c.missing;
      break;
    case NumberParse::kInfinite:
      ++c.infinite;
      break;
    case NumberParse::kNotANumber:
      ++c.type_errors;
      break;
  }
  return std::nan("");
}

// Appends one text cell to a column.
inline void append_text(Column& c, std::string_view cell) {
  if (c.kind == ColumnKind::kNumeric) {
    c.numbers.push_back(numeric_cell_value(c, cell));
  } else {
    if (is_missing_text(cell)) {
      ++c.missing;
      c.codes.push_back(Column::kMissingCode);
    } else {
      c.codes.push_back(c.intern(cell));
    }
  }
}

inline void append_missing(Column& c) {
  ++c.missing;
  if (c.kind == ColumnKind::kNumeric) {
    c.numbers.push_back(std::nan(""));
  } else {
    c.codes.push_back(Column::kMissingCode);
  }
}

// Concatenates chunk columns in order into the first chunk's, one column
// per core at a time (each column's arrays are independent).
inline void merge_chunks(std::vector<ChunkResult>& chunks) {
  ChunkResult& head = chunks.front();
  for (size_t k = 1; k < chunks.size(); ++k) {
    ChunkResult& c = chunks[k];
    head.rows += c.rows;
    head.error_count += c.error_count;
    for (auto& e : c.errors) {
      if (head.errors.size() < 16) head.errors.push_back(std::move(e));
    }
    for (size_t i = 0; i < head.numeric_ok.size() && i < c.numeric_ok.size(); ++i) {
      head.numeric_ok[i] = head.numeric_ok[i] && c.numeric_ok[i];
    }
  }
  if (chunks.size() == 1) return;
  parallel_for(head.columns.size(), [&](size_t i) {
    Column& dst = head.columns[i];
    size_t total = 0;
    for (const auto& c : chunks) total += c.columns[i].numbers.size() + c.columns[i].codes.size();
    if (dst.kind == ColumnKind::kNumeric) {
      NumberVector all;
      all.reserve(total);
      for (auto& c : chunks) {
        all.insert(all.end(), c.columns[i].numbers.begin(), c.columns[i].numbers.end());
        NumberVector().swap(c.columns[i].numbers);  // release early
      }
      dst.numbers = std::move(all);
    } else {
      dst.codes.reserve(total);
      for (size_t k = 1; k < chunks.size(); ++k) {
        Column& src = chunks[k].columns[i];
        std::vector<uint32_t> remap(src.dictionary.size());
        for (size_t d = 0; d < src.dictionary.size(); ++d) remap[d] = dst.intern(src.dictionary[d]);
        for (const uint32_t code : src.codes) {
          dst.codes.push_back(code == Column::kMissingCode ? code : remap[code]);
        }
        std::vector<uint32_t>().swap(src.codes);
      }
    }
    for (size_t k = 1; k < chunks.size(); ++k) {
      const Column& src = chunks[k].columns[i];
      dst.missing += src.missing;
      dst.type_errors += src.type_errors;
      dst.infinite += src.infinite;
    }
  });
}

// Runs fn(chunk_index, range, result) over the ranges on their own threads.
template <class Fn>
std::vector<ChunkResult> run_chunks(const std::vector<Range>& ranges, const ReadOptions& o,
                                    Fn&& fn) {
  std::vector<ChunkResult> results(ranges.size());
  parallel_for(
      ranges.size(), [&](size_t k) { fn(k, ranges[k], results[k]); }, o.threads);
  return results;
}

// Turns the errors of a read into a fatal Error (too many) or skipped rows.
inline Status finish_errors(const FileBuffer& file, ChunkResult& merged, uint64_t max_errors,
                            Table& table) {
  std::sort(merged.errors.begin(), merged.errors.end(),
            [](const OffsetError& a, const OffsetError& b) { return a.offset < b.offset; });
  if (merged.error_count > max_errors) {
    const OffsetError& first = merged.errors.front();
    const auto [line, col] = line_and_column(file.text(), first.offset);
    std::string msg =
        file.path() + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + first.reason;
    if (merged.error_count > 1) {
      msg += " (" + std::to_string(merged.error_count) + " malformed rows in all";
    } else {
      msg += " (1 malformed row";
    }
    msg += "; --max-errors " + std::to_string(max_errors) + " allows " +
           std::to_string(max_errors) + ")";
    return Error{msg};
  }
  table.skipped_rows = merged.error_count;
  for (size_t i = 0; i < merged.errors.size() && i < 5; ++i) {
    const auto [line, col] = line_and_column(file.text(), merged.errors[i].offset);
    table.skipped_examples.push_back({line, col, merged.errors[i].reason});
  }
  return {};
}

}  // namespace io_detail
}  // namespace driftd
