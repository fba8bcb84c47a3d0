// CSV (RFC 4180): comma-separated, a header row, fields optionally quoted
// with "" as an escaped quote, LF or CRLF line ends, blank lines skipped.
// A quote inside an unquoted field, text after a closing quote or a quote
// left open at the end of the file is a broken row, as is a row whose field
// count differs from the header's.
//
// Files without any quote character are split at newlines and read by
// several threads; a quoted field may hold a newline, so files with quotes
// are read by one thread.
#include <cstring>
#include <deque>

#include "driftd/io.h"
#include "reader_common.h"

namespace driftd {
namespace {

using io_detail::ChunkResult;
using io_detail::Range;

// Tokenizes records. Fields are views into the input, or into scratch
// strings when a quoted field had escaped quotes (storage reused per row).
class CsvTokenizer {
 public:
  explicit CsvTokenizer(std::string_view text) : text_(text) {}

  enum class Step { kRecord, kBlank, kEnd, kError };

  // Reads the record at `pos`, leaving `pos` after its line end.
  Step next(size_t& pos, size_t end) {
    fields_.clear();
    used_scratch_ = 0;
    if (pos >= end) return Step::kEnd;
    record_start_ = pos;
    if (text_[pos] == '\n' || (text_[pos] == '\r' && pos + 1 < end && text_[pos + 1] == '\n')) {
      pos += text_[pos] == '\n' ? 1 : 2;
      return Step::kBlank;
    }
    const char* const base = text_.data();
    while (true) {
      if (pos < end && text_[pos] == '"') {
        // Quoted field.
        const size_t open = pos++;
        std::string* scratch = nullptr;
        size_t seg = pos;
        while (true) {
          const void* q = pos < end ? std::memchr(base + pos, '"', end - pos) : nullptr;
          if (q == nullptr) {
            error_offset_ = open;
            error_ = "quoted field is never closed";
            pos = end;
            return Step::kError;
          }
          const size_t at = static_cast<size_t>(static_cast<const char*>(q) - base);
          if (at + 1 < end && text_[at + 1] == '"') {  // escaped quote
            if (scratch == nullptr) scratch = &take_scratch();
            scratch->append(base + seg, at + 1 - seg);
            pos = at + 2;
            seg = pos;
            continue;
          }
          if (scratch != nullptr) {
            scratch->append(base + seg, at - seg);
            fields_.emplace_back(*scratch);
          } else {
            fields_.emplace_back(base + open + 1, at - open - 1);
          }
          pos = at + 1;
          break;
        }
        if (pos < end && text_[pos] != ',' && text_[pos] != '\n' && text_[pos] != '\r') {
          error_offset_ = pos;
          error_ = "unexpected character after a closing quote";
          skip_line(pos, end);
          return Step::kError;
        }
      } else {
        const size_t start = pos;
        while (pos < end) {
          const char c = text_[pos];
          if (c == ',' || c == '\n' || c == '\r') break;
          if (c == '"') {
            error_offset_ = pos;
            error_ = "quote inside an unquoted field";
            skip_line(pos, end);
            return Step::kError;
          }
          ++pos;
        }
        fields_.emplace_back(base + start, pos - start);
      }
      if (pos >= end) return Step::kRecord;
      const char c = text_[pos];
      if (c == ',') {
        ++pos;
        continue;
      }
      if (c == '\r') {
        ++pos;
        if (pos < end && text_[pos] == '\n') ++pos;
        return Step::kRecord;
      }
      ++pos;  // '\n'
      return Step::kRecord;
    }
  }

  const std::vector<std::string_view>& fields() const { return fields_; }
  size_t record_start() const { return record_start_; }
  size_t error_offset() const { return error_offset_; }
  const std::string& error() const { return error_; }

 private:
  std::string& take_scratch() {
    if (used_scratch_ == scratch_.size()) scratch_.emplace_back();
    std::string& s = scratch_[used_scratch_++];
    s.clear();
    return s;
  }
  void skip_line(size_t& pos, size_t end) {
    const void* nl = pos < end ? std::memchr(text_.data() + pos, '\n', end - pos) : nullptr;
    pos = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) + 1 : end;
  }

  std::string_view text_;
  std::vector<std::string_view> fields_;
  std::deque<std::string> scratch_;  // views in fields_ point here: must not move
  size_t used_scratch_ = 0;
  size_t record_start_ = 0;
  size_t error_offset_ = 0;
  std::string error_;
};

struct Header {
  std::vector<std::string> names;
  size_t body_start = 0;
};

Result<Header> read_header(const FileBuffer& file) {
  std::string_view text = file.text();
  size_t pos = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // UTF-8 byte order mark
  CsvTokenizer tok(text);
  while (true) {
    const auto step = tok.next(pos, text.size());
    if (step == CsvTokenizer::Step::kBlank) continue;
    if (step == CsvTokenizer::Step::kEnd) return Error{file.path() + ": no header row"};
    if (step == CsvTokenizer::Step::kError) {
      const auto [l, c] = line_and_column(text, tok.error_offset());
      return Error{file.path() + ":" + std::to_string(l) + ":" + std::to_string(c) +
                   ": header: " + tok.error()};
    }
    break;
  }
  Header h;
  h.body_start = pos;
  for (const auto f : tok.fields()) {
    std::string name(f);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    if (name.empty()) {
      return Error{file.path() + ":1: header: column " + std::to_string(h.names.size() + 1) +
                   " has no name"};
    }
    for (const auto& seen : h.names) {
      if (seen == name)
        return Error{file.path() + ":1: header: column '" + name + "' appears twice"};
    }
    h.names.push_back(std::move(name));
  }
  return h;
}

std::vector<Range> plan(const FileBuffer& file, size_t body_start, const ReadOptions& opts) {
  const std::string_view text = file.text();
  unsigned parts = io_detail::thread_count(opts, text.size() - body_start);
  if (parts > 1 && std::memchr(text.data() + body_start, '"', text.size() - body_start)) parts = 1;
  return io_detail::split_at_newlines(text, body_start, text.size(), parts);
}

// Walks the records of one range, calling on_row(fields) for well-formed ones.
template <class OnRow>
void scan(const FileBuffer& file, Range r, size_t n_fields, uint64_t max_errors, bool report,
          const ReadOptions& opts, ChunkResult& out, OnRow&& on_row) {
  CsvTokenizer tok(file.text());
  size_t pos = r.begin;
  size_t next_progress = pos + (16u << 20);
  while (true) {
    const auto step = tok.next(pos, r.end);
    if (step == CsvTokenizer::Step::kEnd) break;
    if (step == CsvTokenizer::Step::kBlank) continue;
    if (report && opts.progress && pos >= next_progress) {
      opts.progress(pos, file.size());
      next_progress = pos + (16u << 20);
    }
    if (step == CsvTokenizer::Step::kError) {
      io_detail::note_error(out, tok.error_offset(), tok.error());
    } else if (tok.fields().size() != n_fields) {
      io_detail::note_error(out, tok.record_start(),
                            "expected " + std::to_string(n_fields) +
                                " fields as in the header, found " +
                                std::to_string(tok.fields().size()));
    } else {
      ++out.rows;
      on_row(tok.fields());
      continue;
    }
    if (out.error_count > max_errors) break;  // fatal anyway: stop early
  }
}

}  // namespace

Result<std::vector<std::string>> csv_header_names(const FileBuffer& file) {
  auto h = read_header(file);
  if (!h) return h.error();
  return std::move(h->names);
}

Result<std::vector<ColumnSpec>> infer_schema_csv(const FileBuffer& file,
                                                 const std::set<std::string>& force_categorical,
                                                 const ReadOptions& opts) {
  auto header = read_header(file);
  if (!header) return header.error();
  const size_t n = header->names.size();
  const auto ranges = plan(file, header->body_start, opts);
  auto chunks = io_detail::run_chunks(ranges, [&](size_t k, Range r, ChunkResult& out) {
    out.numeric_ok.assign(n, true);
    for (size_t i = 0; i < n; ++i) {
      if (force_categorical.count(header->names[i])) out.numeric_ok[i] = false;
    }
    scan(file, r, n, opts.max_errors, k == 0, opts, out,
         [&](const std::vector<std::string_view>& f) {
           for (size_t i = 0; i < n; ++i) {
             if (!out.numeric_ok[i]) continue;
             double v;
             if (parse_number(f[i], &v) == NumberParse::kNotANumber && !is_missing_text(f[i])) {
               out.numeric_ok[i] = false;
             }
           }
         });
  });
  io_detail::merge_chunks(chunks);
  Table unused;
  if (auto st = io_detail::finish_errors(file, chunks[0], opts.max_errors, unused); !st) {
    return st.error();
  }
  std::vector<ColumnSpec> schema;
  for (size_t i = 0; i < n; ++i) {
    schema.push_back({header->names[i],
                      chunks[0].numeric_ok[i] ? ColumnKind::kNumeric : ColumnKind::kCategorical});
  }
  return schema;
}

Result<Table> read_table_csv(const FileBuffer& file, const std::vector<ColumnSpec>& schema,
                             const ReadOptions& opts) {
  auto header = read_header(file);
  if (!header) return header.error();
  Table table;
  table.source = file.path();
  const size_t n = header->names.size();
  // Input field -> schema column (or -1: a column the schema lacks).
  std::vector<int> to_schema(n, -1);
  std::vector<bool> found(schema.size(), false);
  for (size_t i = 0; i < n; ++i) {
    for (size_t s = 0; s < schema.size(); ++s) {
      if (schema[s].name == header->names[i]) {
        to_schema[i] = static_cast<int>(s);
        found[s] = true;
      }
    }
    if (to_schema[i] < 0) table.extra_columns.push_back(header->names[i]);
  }
  const auto ranges = plan(file, header->body_start, opts);
  auto chunks = io_detail::run_chunks(ranges, [&](size_t k, Range r, ChunkResult& out) {
    out.columns = io_detail::make_columns(schema);
    // Reserve from a guess of the row count to avoid regrowth.
    const size_t guess = (r.end - r.begin) / std::max<size_t>(1, 6 * n) + 16;
    for (auto& c : out.columns) {
      if (c.kind == ColumnKind::kNumeric) {
        c.numbers.reserve(guess);
      } else {
        c.codes.reserve(guess);
      }
    }
    scan(file, r, n, opts.max_errors, k == 0, opts, out,
         [&](const std::vector<std::string_view>& f) {
           for (size_t i = 0; i < n; ++i) {
             if (to_schema[i] >= 0) io_detail::append_text(out.columns[to_schema[i]], f[i]);
           }
           for (size_t s = 0; s < schema.size(); ++s) {
             if (!found[s]) io_detail::append_missing(out.columns[s]);
           }
         });
  });
  io_detail::merge_chunks(chunks);
  if (auto st = io_detail::finish_errors(file, chunks[0], opts.max_errors, table); !st) {
    return st.error();
  }
  table.rows = chunks[0].rows;
  table.columns = std::move(chunks[0].columns);
  for (size_t s = 0; s < schema.size(); ++s) table.columns[s].present_in_input = found[s];
  if (table.rows == 0) return Error{file.path() + ": no data rows after the header"};
  return table;
}

}  // namespace driftd
