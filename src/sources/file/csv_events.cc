#include "src/sources/file/csv_events.h"

#include <simdjson.h>

#include "driftd/io/json_writer.h"

namespace driftd {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool is_json_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!all_digits(s.substr(i))) return false;
    i = s.size();
  }
  return i == s.size();
}

bool CsvEvents::set_header(std::string_view line) {
  columns_.clear();
  header_read_ = true;
  header_error_.clear();
  // A UTF-8 byte order mark is skipped, as the batch reader skips it.
  if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
  tokenizer_.reset(line);
  size_t pos = 0;
  const auto step = tokenizer_.next(pos, line.size());
  if (step != io_detail::CsvTokenizer::Step::kRecord) {
    header_error_ = step == io_detail::CsvTokenizer::Step::kError
                        ? "the CSV header is broken: " + tokenizer_.error()
                        : std::string("the CSV header is empty");
    why_ = header_error_;
    return false;
  }
  for (const std::string_view name : tokenizer_.fields()) {
    Column c;
    JsonWriter::append_escaped(c.quoted_key, name);
    c.quoted_key += ':';
    if (name == fields_.model || name == fields_.model_version || name == fields_.id) {
      c.role = Role::kString;
    } else if (name == fields_.timestamp) {
      c.role = Role::kTimestamp;
    } else if (name == fields_.prediction || name == fields_.label) {
      c.role = Role::kValue;
    }
    columns_.push_back(std::move(c));
  }
  return true;
}

void CsvEvents::append_value(std::string_view cell, Role role) {
  if (role == Role::kString) {
    JsonWriter::append_escaped(json_, cell);
  } else if (is_json_number(cell) ||
             (role != Role::kTimestamp && (cell == "true" || cell == "false"))) {
    json_.append(cell);
  } else {
    JsonWriter::append_escaped(json_, cell);
  }
}

bool CsvEvents::translate(std::string_view line) {
  if (!header_error_.empty()) {
    why_ = header_error_;
    return false;
  }
  tokenizer_.reset(line);
  size_t pos = 0;
  const auto step = tokenizer_.next(pos, line.size());
  if (step == io_detail::CsvTokenizer::Step::kError) {
    why_ = "broken CSV row: " + tokenizer_.error() + " (byte " +
           std::to_string(tokenizer_.error_offset() + 1) + " of the row)";
    return false;
  }
  const auto& cells = tokenizer_.fields();
  if (cells.size() != columns_.size()) {
    why_ = "the CSV row has " + std::to_string(cells.size()) + " fields, the header " +
           std::to_string(columns_.size());
    return false;
  }
  json_.clear();
  json_ += '{';
  bool first = true;
  for (size_t i = 0; i < cells.size(); ++i) {  // top-level fields first: the decoder's fast order
    if (columns_[i].role == Role::kFeature || cells[i].empty()) continue;
    if (!first) json_ += ',';
    first = false;
    json_ += columns_[i].quoted_key;
    append_value(cells[i], columns_[i].role);
  }
  if (!first) json_ += ',';
  JsonWriter::append_escaped(json_, fields_.features);
  json_ += ":{";
  first = true;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (columns_[i].role != Role::kFeature || cells[i].empty()) continue;
    if (!first) json_ += ',';
    first = false;
    json_ += columns_[i].quoted_key;
    append_value(cells[i], Role::kFeature);
  }
  json_ += "}}";
  json_size_ = json_.size();
  json_.append(simdjson::SIMDJSON_PADDING, '\0');
  return true;
}

}  // namespace driftd
