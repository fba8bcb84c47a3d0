// JSON lines: one object per line. Flat objects map keys to columns; the
// daemon's event format is accepted too: the members of a top-level
// "features" object are columns, next to top-level scalars such as
// "prediction", "label", "id" and "ts". A string that parses as a number
// counts as a number; true/false are categories; null is missing. A nested
// object or array where a column value belongs is a type error.
//
// Each line is parsed on its own (simdjson On-Demand, one reused parser per
// thread), so a broken line is reported with its line and column and, under
// --max-errors, skipped without touching its neighbours. A row's values are
// staged and committed only when the whole line parsed.
#include <cstring>
#include <optional>

#include <simdjson.h>

#include "jsonl_reader.h"
#include "reader_common.h"

namespace driftd {
namespace {

using io_detail::ChunkResult;
using io_detail::Range;
namespace od = simdjson::ondemand;

// One column value of the line being read.
struct Staged {
  enum Kind : uint8_t { kUnset, kNull, kNumber, kText, kNested } kind = kUnset;
  double number = 0;
  std::string_view text;  // valid until the next line is parsed
};

// Visits the column values of one JSON object line: fn(key, Staged).
template <class Fn>
simdjson::error_code visit_line(od::parser& parser, const FileBuffer& file, size_t begin,
                                size_t end, Fn&& fn) {
  od::document doc;
  auto err = parser.iterate(file.data() + begin, end - begin, file.capacity() - begin).get(doc);
  if (err) return err;
  od::object obj;
  if ((err = doc.get_object().get(obj))) return err;
  auto handle = [&](std::string_view key, od::value value, bool top) -> simdjson::error_code {
    od::json_type type;
    if (auto e = value.type().get(type)) return e;
    Staged s;
    switch (type) {
      case od::json_type::null:
        s.kind = Staged::kNull;
        break;
      case od::json_type::number: {
        // The literal is kept too: categorical columns use its text, and a
        // number out of double range is left to parse_number() (as +-inf).
        std::string_view raw = value.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' ||
                                raw.back() == '\t' || raw.back() == ',' || raw.back() == '}'))
          raw.remove_suffix(1);
        s.text = raw;
        double d;
        if (value.get_double().get(d)) {
          s.kind = Staged::kText;
        } else {
          s.kind = Staged::kNumber;
          s.number = d;
        }
        break;
      }
      case od::json_type::string: {
        std::string_view str;
        if (auto e = value.get_string().get(str)) return e;
        s.kind = Staged::kText;
        s.text = str;
        break;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = value.get_bool().get(b)) return e;
        s.kind = Staged::kText;
        s.text = b ? "true" : "false";
        break;
      }
      case od::json_type::object:
        if (top && key == "features") return simdjson::SUCCESS;  // handled by caller
        [[fallthrough]];
      case od::json_type::array: {
        // Left unread: On-Demand skips it when iteration moves on.
        s.kind = Staged::kNested;
        break;
      }
    }
    fn(key, s);
    return simdjson::SUCCESS;
  };
  for (auto field_result : obj) {
    od::field field;
    if ((err = std::move(field_result).get(field))) return err;
    std::string_view key;
    if ((err = field.unescaped_key().get(key))) return err;
    // Unescaped keys and strings live in the parser's string buffer until
    // the next line is parsed, so views of them stay valid for the row.
    od::value value = field.value();
    if (key == "features") {
      od::json_type type;
      if ((err = value.type().get(type))) return err;
      if (type == od::json_type::object) {
        od::object inner;
        if ((err = value.get_object().get(inner))) return err;
        for (auto inner_result : inner) {
          od::field f2;
          if ((err = std::move(inner_result).get(f2))) return err;
          std::string_view k2;
          if ((err = f2.unescaped_key().get(k2))) return err;
          if ((err = handle(k2, f2.value(), false))) return err;
        }
        continue;
      }
    }
    if ((err = handle(key, value, true))) return err;
  }
  // Anything but white space after the object is trailing content.
  const char* after = nullptr;
  if (!doc.current_location().get(after)) {
    for (const char* p = after; p < file.data() + end; ++p) {
      if (*p != ' ' && *p != '\t' && *p != '\r') return simdjson::TRAILING_CONTENT;
    }
  }
  return simdjson::SUCCESS;
}

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Walks the lines of a range: fn(begin, end) for each non-blank line.
template <class Fn>
void for_each_line(const FileBuffer& file, Range r, bool report, const ReadOptions& opts, Fn&& fn) {
  const std::string_view text = file.text();
  size_t pos = r.begin;
  size_t next_progress = pos + (16u << 20);
  while (pos < r.end) {
    const void* nl = std::memchr(text.data() + pos, '\n', r.end - pos);
    const size_t line_end =
        nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data()) : r.end;
    if (!is_blank(text.substr(pos, line_end - pos))) {
      if (!fn(pos, line_end)) return;
    }
    pos = line_end + 1;
    if (report && opts.progress && pos >= next_progress) {
      opts.progress(pos, file.size());
      next_progress = pos + (16u << 20);
    }
  }
}

std::string describe(simdjson::error_code e) {
  return std::string("invalid JSON: ") + simdjson::error_message(e);
}

}  // namespace

Result<std::vector<ColumnSpec>> infer_schema_jsonl(const FileBuffer& file,
                                                   const std::set<std::string>& force_categorical,
                                                   const ReadOptions& opts) {
  const auto ranges = io_detail::split_at_newlines(file.text(), 0, file.size(),
                                                   io_detail::range_count(opts, file.size()));
  struct Seen {
    std::vector<std::string> names;
    StringIndex index;
    std::vector<bool> numeric_ok;
  };
  std::vector<Seen> seen(ranges.size());
  auto chunks = io_detail::run_chunks(ranges, opts, [&](size_t k, Range r, ChunkResult& out) {
    od::parser parser;
    Seen& s = seen[k];
    for_each_line(file, r, k == 0, opts, [&](size_t b, size_t e) {
      const auto err = visit_line(parser, file, b, e, [&](std::string_view key, const Staged& v) {
        auto it = s.index.find(key);
        size_t idx;
        if (it == s.index.end()) {
          idx = s.names.size();
          s.names.emplace_back(key);
          s.index.emplace(s.names.back(), static_cast<uint32_t>(idx));
          s.numeric_ok.push_back(force_categorical.count(s.names.back()) == 0);
        } else {
          idx = it->second;
        }
        if (!s.numeric_ok[idx]) return;
        if (v.kind == Staged::kText) {
          double d;
          if (parse_number(v.text, &d) == NumberParse::kNotANumber && !is_missing_text(v.text)) {
            s.numeric_ok[idx] = false;
          }
        }
      });
      if (err) {
        io_detail::note_error(out, b, describe(err));
        return out.error_count <= opts.max_errors;
      }
      ++out.rows;
      return true;
    });
  });
  // Merge names in order of first appearance across chunks.
  Seen all;
  for (const Seen& s : seen) {
    for (size_t i = 0; i < s.names.size(); ++i) {
      auto it = all.index.find(s.names[i]);
      if (it == all.index.end()) {
        all.names.push_back(s.names[i]);
        all.index.emplace(s.names[i], static_cast<uint32_t>(all.names.size() - 1));
        all.numeric_ok.push_back(s.numeric_ok[i]);
      } else {
        all.numeric_ok[it->second] = all.numeric_ok[it->second] && s.numeric_ok[i];
      }
    }
  }
  io_detail::merge_chunks(chunks);
  Table unused;
  if (auto st = io_detail::finish_errors(file, chunks[0], opts.max_errors, unused); !st) {
    return st.error();
  }
  if (chunks[0].rows == 0) return Error{file.path() + ": no JSON objects in the file"};
  std::vector<ColumnSpec> schema;
  for (size_t i = 0; i < all.names.size(); ++i) {
    schema.push_back(
        {all.names[i], all.numeric_ok[i] ? ColumnKind::kNumeric : ColumnKind::kCategorical});
  }
  return schema;
}

Result<Table> read_table_jsonl(const FileBuffer& file, const std::vector<ColumnSpec>& schema,
                               const ReadOptions& opts) {
  Table table;
  table.source = file.path();
  StringIndex index;
  for (size_t s = 0; s < schema.size(); ++s)
    index.emplace(schema[s].name, static_cast<uint32_t>(s));
  const auto ranges = io_detail::split_at_newlines(file.text(), 0, file.size(),
                                                   io_detail::range_count(opts, file.size()));
  std::vector<std::vector<std::string>> extras(ranges.size());
  std::vector<std::vector<bool>> found(ranges.size(), std::vector<bool>(schema.size(), false));
  auto chunks = io_detail::run_chunks(ranges, opts, [&](size_t k, Range r, ChunkResult& out) {
    out.columns = io_detail::make_columns(schema);
    od::parser parser;
    std::vector<Staged> row(schema.size());
    StringIndex extra_index;
    for_each_line(file, r, k == 0, opts, [&](size_t b, size_t e) {
      for (auto& v : row) v.kind = Staged::kUnset;
      const auto err = visit_line(parser, file, b, e, [&](std::string_view key, const Staged& v) {
        const auto it = index.find(key);
        if (it == index.end()) {
          if (!extra_index.count(key)) {
            extra_index.emplace(std::string(key), 0);
            extras[k].emplace_back(key);
          }
          return;
        }
        row[it->second] = v;
      });
      if (err) {
        io_detail::note_error(out, b, describe(err));
        return out.error_count <= opts.max_errors;
      }
      ++out.rows;
      for (size_t s = 0; s < schema.size(); ++s) {
        Column& c = out.columns[s];
        const Staged& v = row[s];
        switch (v.kind) {
          case Staged::kUnset:
          case Staged::kNull:
            io_detail::append_missing(c);
            break;
          case Staged::kNumber:
            found[k][s] = true;
            if (c.kind == ColumnKind::kNumeric) {
              c.numbers.push_back(v.number);
            } else {
              c.codes.push_back(c.intern(v.text));
            }
            break;
          case Staged::kText:
            found[k][s] = true;
            io_detail::append_text(c, v.text);
            break;
          case Staged::kNested:
            found[k][s] = true;
            ++c.type_errors;
            if (c.kind == ColumnKind::kNumeric) {
              c.numbers.push_back(std::nan(""));
            } else {
              c.codes.push_back(Column::kMissingCode);
            }
            break;
        }
      }
      return true;
    });
  });
  io_detail::merge_chunks(chunks);
  if (auto st = io_detail::finish_errors(file, chunks[0], opts.max_errors, table); !st) {
    return st.error();
  }
  table.rows = chunks[0].rows;
  table.columns = std::move(chunks[0].columns);
  for (size_t s = 0; s < schema.size(); ++s) {
    bool any = false;
    for (const auto& f : found) any = any || f[s];
    // A key seen only with null values still counts as present.
    table.columns[s].present_in_input = any || table.columns[s].missing < table.rows;
  }
  for (const auto& list : extras) {
    for (const auto& name : list) {
      if (std::find(table.extra_columns.begin(), table.extra_columns.end(), name) ==
          table.extra_columns.end())
        table.extra_columns.push_back(name);
    }
  }
  if (table.rows == 0) return Error{file.path() + ": no JSON objects in the file"};
  return table;
}

}  // namespace driftd
