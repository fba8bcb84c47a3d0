#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <simdjson.h>
#include <xxhash.h>

#include "driftd/io/file_buffer.h"

namespace driftd {

FileBuffer::FileBuffer(FileBuffer&& o) noexcept {
  *this = std::move(o);
}

FileBuffer& FileBuffer::operator=(FileBuffer&& o) noexcept {
  if (this != &o) {
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    window_ = std::move(o.window_);
    owned_ = std::move(o.owned_);
    path_ = std::move(o.path_);
    if (!window_.mapped()) data_ = owned_.data();
  }
  return *this;
}

FileBuffer::~FileBuffer() = default;

Result<FileBuffer> FileBuffer::load(const std::string& path) {
  FileBuffer buf;
  buf.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": cannot open: " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const std::string why = S_ISDIR(st.st_mode) ? "is a directory" : std::strerror(errno);
    ::close(fd);
    return Error{path + ": cannot read: " + why};
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0 &&
      buf.window_.map(fd, 0, static_cast<size_t>(st.st_size))) {
    // Mapped, with zeros after: padding without a copy (driftd/io/file_window.h).
    ::close(fd);
    buf.data_ = buf.window_.data();
    buf.size_ = buf.window_.size();
    buf.capacity_ = buf.window_.capacity();
    return buf;
  }
  // Else read below (a pipe, or a file system without mmap).
  size_t cap = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 1 << 20;
  buf.owned_.resize(cap + simdjson::SIMDJSON_PADDING);
  size_t used = 0;
  while (true) {
    if (used == cap) {
      cap = cap * 2 + 4096;
      buf.owned_.resize(cap + simdjson::SIMDJSON_PADDING);
    }
    const ssize_t got = ::read(fd, buf.owned_.data() + used, cap - used);
    if (got < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error{path + ": read failed: " + why};
    }
    if (got == 0) break;
    used += static_cast<size_t>(got);
  }
  ::close(fd);
  if (used == 0) return Error{path + ": the file is empty"};
  buf.owned_.resize(used + simdjson::SIMDJSON_PADDING);
  std::memset(buf.owned_.data() + used, 0, simdjson::SIMDJSON_PADDING);
  buf.data_ = buf.owned_.data();
  buf.size_ = used;
  buf.capacity_ = buf.owned_.size();
  return buf;
}

FileBuffer FileBuffer::from_string(std::string_view text, std::string name) {
  FileBuffer buf;
  buf.path_ = std::move(name);
  buf.owned_.assign(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  std::memcpy(buf.owned_.data(), text.data(), text.size());
  buf.data_ = buf.owned_.data();
  buf.size_ = text.size();
  buf.capacity_ = buf.owned_.size();
  return buf;
}

std::string FileBuffer::content_hash() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(data_, size_)));
  return hex;
}

InputFormat detect_format(const FileBuffer& file) {
  const std::string& p = file.path();
  auto ends_with = [&](std::string_view suffix) {
    return p.size() >= suffix.size() &&
           p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".csv") || ends_with(".CSV")) return InputFormat::kCsv;
  if (ends_with(".jsonl") || ends_with(".ndjson") || ends_with(".json"))
    return InputFormat::kJsonLines;
  for (char c : file.text()) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' ? InputFormat::kJsonLines : InputFormat::kCsv;
  }
  return InputFormat::kCsv;
}

std::pair<uint64_t, uint64_t> line_and_column(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  uint64_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, offset - line_start + 1};
}

}  // namespace driftd
