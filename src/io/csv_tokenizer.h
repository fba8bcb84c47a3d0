// RFC 4180 records, one at a time: the batch CSV reader's tokenizer, and
// the file source's for CSV events (a line at a time).
#pragma once

#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace driftd::io_detail {

// Tokenizes records. Fields are views into the input, or into scratch
// strings when a quoted field had escaped quotes (storage reused per row).
class CsvTokenizer {
 public:
  explicit CsvTokenizer(std::string_view text = {}) : text_(text) {}
  // Another text, the storage kept (the file source reuses one tokenizer
  // for every line: no allocation a row once its buffers have grown).
  void reset(std::string_view text) { text_ = text; }

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

}  // namespace driftd::io_detail
