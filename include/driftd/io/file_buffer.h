// An input file's bytes, padded for simdjson, and what kind of input it is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/io/file_window.h"

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

// 1-based line and column of a byte offset (used only to word errors).
std::pair<uint64_t, uint64_t> line_and_column(std::string_view text, size_t offset);

}  // namespace driftd
