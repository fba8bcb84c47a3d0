// Events as CSV rows, for the file source: a header row names the columns,
// and each row after it becomes the JSON object the decoder reads, so CSV
// and JSON lines go through one decoder and one set of rules. The columns
// named by the source's field keys (model, model_version, id, ts,
// prediction, label) are the event's top-level fields; every other column
// is a feature. An empty cell is left out (a missing value). A cell that
// is a JSON number goes in as that number (a timestamp too: epoch
// milliseconds), true and false as themselves, anything else as a string
// ("NaN" in a numeric column then counts as missing, as in `driftd
// check`); model, version and id are always strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "driftd/daemon/daemon_config.h"
#include "src/io/csv_tokenizer.h"

namespace driftd {

class CsvEvents {
 public:
  explicit CsvEvents(EventFields fields) : fields_(std::move(fields)) {}

  // The next line is a header (a new file, or the file read again from its
  // start).
  void reset() {
    columns_.clear();
    header_read_ = false;
  }
  bool has_header() const { return header_read_; }
  // Reads the header row; false, with why(), when it is broken or empty
  // (the rows after it are then refused with that reason).
  bool set_header(std::string_view line);
  // Translates a row (after the header) into json(); false, with why(),
  // when the row is broken or has another number of fields than the header.
  bool translate(std::string_view line);

  // The last translated row: its JSON, followed by zeros up to capacity()
  // (simdjson's padding).
  const char* json() const { return json_.data(); }
  size_t json_size() const { return json_size_; }
  size_t json_capacity() const { return json_.size(); }
  const std::string& why() const { return why_; }

 private:
  enum class Role : uint8_t { kString, kTimestamp, kValue, kFeature };
  struct Column {
    std::string quoted_key;  // "name": as JSON, with the colon
    Role role = Role::kFeature;
  };
  void append_value(std::string_view cell, Role role);

  EventFields fields_;
  std::vector<Column> columns_;
  io_detail::CsvTokenizer tokenizer_;
  std::string json_;
  size_t json_size_ = 0;
  std::string why_;
  bool header_read_ = false;
  std::string header_error_;  // why the header read is unusable, if it is
};

// Whether text is one JSON number (RFC 8259 section 6), nothing around it.
bool is_json_number(std::string_view text);

}  // namespace driftd
