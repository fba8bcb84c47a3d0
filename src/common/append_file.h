// A file of whole lines, appended to: the windows log, the dead letters, the
// alerts log and the log sink's file. A line goes in whole or not at all (a
// short write is cut back), and a torn last line left by a crash is cut at
// open, so that the next line is never glued to half of one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "driftd/result.h"

namespace driftd {

class AppendFile {
 public:
  AppendFile() = default;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  ~AppendFile();

  // Opens (creating it) and cuts a torn last line: how many bytes were cut.
  Result<uint64_t> open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  // One line, whole or not at all; false with errno set. When a failed
  // write cannot be cut back either, the next append cuts it first.
  bool append(std::string_view line);
  // fdatasync; false with errno set.
  bool sync();
  const std::string& path() const { return path_; }

 private:
  Error close_with(const char* what);  // "what PATH: errno's text", closed
  std::string path_;
  int fd_ = -1;
  off_t size_ = 0;     // the bytes of whole lines
  bool torn_ = false;  // bytes past size_ that a failed write left
};

}  // namespace driftd
