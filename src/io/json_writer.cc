#include "driftd/io/json_writer.h"

#include <charconv>
#include <cmath>

namespace driftd {

void JsonWriter::newline() {
  if (indent_ < 0) return;
  out_ += '\n';
  out_.append(has_items_.size() * static_cast<size_t>(indent_), ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_items_.empty()) {
    if (has_items_.back()) out_ += ',';
    has_items_.back() = true;
    newline();
  }
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  has_items_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  const bool had = has_items_.back();
  has_items_.pop_back();
  if (had) newline();
  out_ += '}';
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  has_items_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  const bool had = has_items_.back();
  has_items_.pop_back();
  if (had) newline();
  out_ += ']';
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  append_escaped(out_, k);
  out_ += indent_ < 0 ? ":" : ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  append_escaped(out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  before_value();
  append_double(out_, d);
  return *this;
}

JsonWriter& JsonWriter::value(std::optional<double> d) {
  return d ? value(*d) : null();
}

JsonWriter& JsonWriter::value(uint64_t u) {
  before_value();
  out_ += std::to_string(u);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t i) {
  before_value();
  out_ += std::to_string(i);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::raw_value(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::number_array(const std::vector<double>& v) {
  before_value();
  out_ += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out_ += (i % 10 == 0) ? "," : ", ";
    if (i % 10 == 0 && indent_ >= 0) newline(), out_.append(static_cast<size_t>(indent_), ' ');
    append_double(out_, v[i]);
  }
  if (!v.empty() && indent_ >= 0) newline();
  out_ += ']';
  return *this;
}

JsonWriter& JsonWriter::number_array(const std::vector<uint64_t>& v) {
  before_value();
  out_ += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out_ += ", ";
    out_ += std::to_string(v[i]);
  }
  out_ += ']';
  return *this;
}

void JsonWriter::append_escaped(std::string& out, std::string_view s) {
  out += '"';
  // Runs of characters that need no escape go in with one append each.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void JsonWriter::append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
  // Keep integral doubles recognisable as floats to JSON readers that care.
  bool has_mark = false;
  for (const char* p = buf; p < r.ptr; ++p) {
    if (*p == '.' || *p == 'e' || *p == 'n' || *p == 'i') has_mark = true;
  }
  if (!has_mark) out += ".0";
}

}  // namespace driftd
