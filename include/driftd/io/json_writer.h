// A small streaming JSON writer for baselines and reports: pretty-printed,
// deterministic, doubles in shortest round-trip form (std::to_chars), and
// NaN/Inf written as null because JSON has no such numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace driftd {

class JsonWriter {
 public:
  // indent < 0 writes everything on one line.
  explicit JsonWriter(int indent = 2) : indent_(indent) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(double d);
  JsonWriter& value(std::optional<double> d);
  JsonWriter& value(uint64_t u);
  JsonWriter& value(int64_t i);
  JsonWriter& value(int i) { return value(static_cast<int64_t>(i)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Inserts already-formed JSON text as one value.
  JsonWriter& raw_value(std::string_view json);
  // Arrays of numbers, many per line (samples can hold 100,000 values).
  JsonWriter& number_array(const std::vector<double>& v);
  JsonWriter& number_array(const std::vector<uint64_t>& v);

  std::string& str() { return out_; }

  static void append_escaped(std::string& out, std::string_view s);
  static void append_double(std::string& out, double d);

 private:
  void before_value();
  void newline();

  std::string out_;
  int indent_;
  std::vector<bool> has_items_;  // per open container
  bool after_key_ = false;
};

}  // namespace driftd
