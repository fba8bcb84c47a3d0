// CSV (RFC 4180): comma-separated, a header row, fields optionally quoted
// with "" as an escaped quote, LF or CRLF line ends, blank lines skipped.
// A quote inside an unquoted field, text after a closing quote or a quote
// left open at the end of the file is a broken row, as is a row whose field
// count differs from the header's.
//
// Files without any quote character are split at newlines and read by
// several threads; a quoted field may hold a newline, so files with quotes
// are read by one thread.
#include <bit>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>

#include "csv_reader.h"
#include "csv_tokenizer.h"
#include "driftd/kernels/kernels.h"
#include "reader_common.h"

namespace driftd {
namespace {

using io_detail::ChunkResult;
using io_detail::CsvTokenizer;
using io_detail::Range;

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

struct Plan {
  std::vector<Range> ranges;
  bool has_quotes = false;
};

Plan plan(const FileBuffer& file, size_t body_start, const ReadOptions& opts) {
  const std::string_view text = file.text();
  Plan p;
  p.has_quotes = std::memchr(text.data() + body_start, '"', text.size() - body_start) != nullptr;
  const unsigned parts = p.has_quotes ? 1 : io_detail::range_count(opts, text.size() - body_start);
  p.ranges = io_detail::split_at_newlines(text, body_start, text.size(), parts);
  return p;
}

// ---- the fused path for files without quotes

inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// How many of the 8 bytes at p (little-endian) are ASCII digits, from the
// first. A byte b is a non-digit iff b + 0x46 or b - 0x30 sets its top bit;
// carries and borrows only travel upward from a non-digit byte, so the
// lowest flagged byte is exact.
inline int digit_run(uint64_t v) {
  const uint64_t flagged =
      ((v + 0x4646464646464646ull) | (v - 0x3030303030303030ull)) & 0x8080808080808080ull;
  return flagged ? __builtin_ctzll(flagged) / 8 : 8;
}

// Value of the first k (1..8) digits of v.
inline uint64_t digits_value(uint64_t v, int k) {
  v -= 0x3030303030303030ull;
  v <<= 8 * (8 - k);  // drop the bytes after the run; zero bytes lead
  // Pairwise SWAR combination: bytes to 2-digit, 4-digit, 8-digit values.
  v = (v * 10) + (v >> 8);
  v = (((v & 0x000000FF000000FFull) * 0x000F424000000064ull) +
       (((v >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull)) >>
      32;
  return v;
}

constexpr uint64_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// Reads a run of digits from p into m (at most 19 significant in all).
// Returns the number of digits read.
inline int read_digits(const char*& p, uint64_t& m) {
  int total = 0;
  while (true) {
    const uint64_t v = load8(p);
    const int k = digit_run(v);
    if (k > 0) m = m * kPow10Int[k] + digits_value(v, k);
    p += k;
    total += k;
    if (k < 8 || total > 19) return total;
  }
}

// Clinger's exact fast path (see parse_decimal_fast in table.cc) on the
// bytes at p, stopping at the first byte that is not part of the number.
// Needs 8 readable bytes past any digit (the buffer's padding). Returns the
// end of the number, or nullptr when the text needs the general parser.
const char* parse_number_prefix(const char* p, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const bool negative = *p == '-';
  p += negative;
  // Leading zeros count toward the 19 digits too: numbers with that many
  // are rare and go to the general parser, which keeps this path short.
  const char* const int_start = p;
  uint64_t m = 0;
  int digits = read_digits(p, m);
  int scale = 0;
  if (*p == '.') {
    ++p;
    const char* const frac = p;
    digits += read_digits(p, m);
    scale = -static_cast<int>(p - frac);
    if (p == frac && frac - 1 == int_start) return nullptr;  // "." with no digits
  } else if (p == int_start) {
    return nullptr;  // no digits at all
  }
  if (digits > 19) return nullptr;
  if (*p == 'e' || *p == 'E') {
    ++p;
    bool eneg = false;
    if (*p == '-' || *p == '+') eneg = *p++ == '-';
    uint64_t e = 0;
    const int ed = read_digits(p, e);
    if (ed == 0 || ed > 4) return nullptr;
    scale += eneg ? -static_cast<int>(e) : static_cast<int>(e);
  }
  if (m > (uint64_t{1} << 53) || scale < -22 || scale > 22) return nullptr;
  double v = static_cast<double>(m);
  v = scale < 0 ? v / kPow10[-scale] : v * kPow10[scale];
  // The sign as a bit, not a branch: signs of real data are coin flips.
  *out =
      std::bit_cast<double>(std::bit_cast<uint64_t>(v) | (static_cast<uint64_t>(negative) << 63));
  return p;
}

// Lines in text[begin, end), a last one without its newline included: an
// upper bound on the rows a range of an unquoted file holds.
size_t count_lines(const char* text, size_t begin, size_t end) {
  const char* p = text + begin;
  const char* const stop = text + end;
  size_t lines = 0;
  while (p < stop) {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(stop - p));
    if (nl == nullptr) return lines + 1;
    ++lines;
    p = static_cast<const char*>(nl) + 1;
  }
  return lines;
}

// Reads one range of an unquoted file into `out`, a block at a time. For
// each block a SIMD pass indexes every ',' and '\n' first (the CSV analogue
// of simdjson's stage 1), so every field's bounds are known before any is
// parsed and the fields of a row parse independently of each other. Numeric
// fields go through parse_number_prefix, which must end exactly at the
// field's end, and straight to their row in the table's arrays: `slot[s]` is
// this range's first row in numeric schema column s (the arrays were sized
// by counting lines, and a range has at most one row per line). A line that
// turns out malformed leaves its numbers in the slot the next line
// overwrites. Other cells are staged and applied when the line's field count
// is right; categorical codes go to the chunk's own columns.
void read_unquoted(const FileBuffer& file, Range r, const std::vector<int>& to_schema,
                   const std::vector<ColumnSpec>& schema, const std::vector<bool>& found,
                   const std::vector<double*>& slot, bool report, const ReadOptions& opts,
                   ChunkResult& out) {
  const size_t n = to_schema.size();
  const char* const base = file.data();
  // Per input field, the rows its parsed numbers go to (null: not numeric).
  std::vector<double*> dest(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    if (to_schema[i] >= 0) dest[i] = slot[static_cast<size_t>(to_schema[i])];
  }
  // The current line's cells that are not plain numbers: input field, text.
  std::vector<std::pair<size_t, std::string_view>> texts;
  texts.reserve(n);
  // Schema columns the input lacks: missing in every row.
  std::vector<size_t> absent;
  for (size_t s = 0; s < schema.size(); ++s) {
    if (!found[s]) absent.push_back(s);
  }
  // Applies the current line, or counts it as malformed. Returns false when
  // the read should stop (too many malformed rows).
  auto commit = [&](size_t line_start, size_t fields) {
    if (fields != n) {
      io_detail::note_error(out, line_start,
                            "expected " + std::to_string(n) + " fields as in the header, found " +
                                std::to_string(fields));
      return out.error_count <= opts.max_errors;
    }
    const uint64_t row = out.rows++;
    for (const auto& [field, cell] : texts) {
      Column& c = out.columns[static_cast<size_t>(to_schema[field])];
      if (dest[field] != nullptr) {
        dest[field][row] = io_detail::numeric_cell_value(c, cell);
      } else {
        io_detail::append_text(c, cell);
      }
    }
    for (const size_t s : absent) {
      if (slot[s] != nullptr) {
        slot[s][row] = std::nan("");
        ++out.columns[s].missing;
      } else {
        io_detail::append_missing(out.columns[s]);
      }
    }
    return true;
  };

  constexpr size_t kBlock = size_t{1} << 16;
  std::vector<uint32_t> index;
  size_t pos = r.begin;
  size_t next_progress = pos + (16u << 20);
  while (pos < r.end) {
    // A block ends after its last newline; a line longer than a block
    // makes its block longer.
    size_t block_end = std::min(pos + kBlock, r.end);
    if (block_end < r.end) {
      const void* last = ::memrchr(base + pos, '\n', block_end - pos);
      if (last != nullptr) {
        block_end = static_cast<size_t>(static_cast<const char*>(last) - base) + 1;
      } else {
        const void* nl = std::memchr(base + block_end, '\n', r.end - block_end);
        block_end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) + 1 : r.end;
      }
    }
    const size_t len = block_end - pos;
    if (len >= std::numeric_limits<uint32_t>::max()) {
      io_detail::note_error(out, pos, "a line longer than 4 GiB");
      return;
    }
    if (index.size() < len + 1) index.resize(len + 1);
    size_t count = kernels::find_csv_delimiters(base + pos, len, index.data());
    // The range's last line may lack its newline: the block's end stands in.
    if (base[block_end - 1] != '\n') index[count++] = static_cast<uint32_t>(len);
    const char* const block = base + pos;
    auto is_newline = [&](size_t at) { return at == len || block[at] == '\n'; };

    size_t j = 0;
    size_t row_start = 0;
    while (j < count) {
      // A blank line (or one holding only '\r') is skipped, not a row.
      const size_t first = index[j];
      if (is_newline(first) &&
          (first == row_start || (first == row_start + 1 && block[row_start] == '\r'))) {
        ++j;
        row_start = first + 1;
        continue;
      }
      size_t field = 0;
      size_t start = row_start;
      size_t end;
      texts.clear();
      while (true) {
        end = index[j++];
        const bool last = is_newline(end);
        if (field < n && to_schema[field] >= 0) {
          size_t field_end = end;
          if (last && field_end > start && block[field_end - 1] == '\r') --field_end;
          double v = 0;
          double* const rows = dest[field];
          if (rows != nullptr && parse_number_prefix(block + start, &v) == block + field_end) {
            rows[out.rows] = v;
          } else {
            texts.emplace_back(field, std::string_view(block + start, field_end - start));
          }
        }
        ++field;
        if (last) break;
        start = end + 1;
      }
      if (!commit(pos + row_start, field)) return;
      row_start = end + 1;
    }
    pos = block_end;
    if (report && opts.progress && pos >= next_progress) {
      opts.progress(pos, file.size());
      next_progress = pos + (16u << 20);
    }
  }
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
  const auto ranges = plan(file, header->body_start, opts).ranges;
  auto chunks = io_detail::run_chunks(ranges, opts, [&](size_t k, Range r, ChunkResult& out) {
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
  const Plan p = plan(file, header->body_start, opts);
  // Unquoted files: each numeric column is one array for the whole file,
  // sized by the line count, and each range writes its rows into it (no
  // per-range arrays to concatenate afterwards). Range k starts at row
  // first_row[k]; blank and malformed lines leave gaps closed at the end.
  const size_t ranges = p.ranges.size();
  std::vector<size_t> first_row(ranges + 1, 0);
  std::vector<NumberVector> direct(schema.size());
  if (!p.has_quotes) {
    parallel_for(
        ranges,
        [&](size_t k) {
          first_row[k + 1] = count_lines(file.data(), p.ranges[k].begin, p.ranges[k].end);
        },
        opts.threads);
    for (size_t k = 0; k < ranges; ++k) first_row[k + 1] += first_row[k];
    for (size_t s = 0; s < schema.size(); ++s) {
      if (schema[s].kind == ColumnKind::kNumeric) direct[s].resize(first_row[ranges]);
    }
  }
  auto chunks = io_detail::run_chunks(p.ranges, opts, [&](size_t k, Range r, ChunkResult& out) {
    out.columns = io_detail::make_columns(schema);
    // Reserve from a guess of the row count to avoid regrowth.
    const size_t guess = (r.end - r.begin) / std::max<size_t>(1, 6 * n) + 16;
    for (auto& c : out.columns) {
      if (c.kind == ColumnKind::kCategorical) {
        c.codes.reserve(guess);
      } else if (p.has_quotes) {
        c.numbers.reserve(guess);
      }
    }
    if (!p.has_quotes) {
      std::vector<double*> slot(schema.size(), nullptr);
      for (size_t s = 0; s < schema.size(); ++s) {
        if (!direct[s].empty()) slot[s] = direct[s].data() + first_row[k];
      }
      read_unquoted(file, r, to_schema, schema, found, slot, k == 0, opts, out);
      return;
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
  if (!p.has_quotes) {
    // Close the gaps blank and malformed lines left, moving each range's
    // rows down to follow the previous range's.
    bool gaps = false;
    for (size_t k = 0; k < ranges; ++k)
      gaps = gaps || chunks[k].rows != first_row[k + 1] - first_row[k];
    uint64_t rows = 0;
    for (const auto& c : chunks) rows += c.rows;
    parallel_for(schema.size(), [&](size_t s) {
      NumberVector& values = direct[s];
      if (values.empty()) return;
      if (gaps) {
        size_t at = 0;
        for (size_t k = 0; k < ranges; ++k) {
          std::memmove(values.data() + at, values.data() + first_row[k],
                       chunks[k].rows * sizeof(double));
          at += chunks[k].rows;
        }
      }
      values.resize(rows);
    });
  }
  io_detail::merge_chunks(chunks);
  if (!p.has_quotes) {
    for (size_t s = 0; s < schema.size(); ++s) {
      if (schema[s].kind == ColumnKind::kNumeric) {
        chunks[0].columns[s].numbers = std::move(direct[s]);
      }
    }
  }
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
