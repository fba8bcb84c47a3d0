// The one append-only file of driftd: the windows log, the dead letters, the
// alerts log and the log sink's file (lines), and the HTTP ingest log's
// segments (framed records). A record goes in whole or not at all (a short
// write is cut back, and when even that fails the next append cuts it
// first), and a torn tail left by a crash is cut at open, so that the next
// record is never glued to half of one: for lines, after the last newline;
// for other records, where the owner's own scan found the last whole one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "driftd/common/result.h"

namespace driftd {

class AppendFile {
 public:
  AppendFile() = default;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  ~AppendFile();

  // Opens (creating it) and cuts a torn last line: how many bytes were cut.
  Result<uint64_t> open(const std::string& path);
  // Opens an existing file whose first `valid_bytes` its owner has read and
  // checked, and cuts what follows: how many bytes were cut.
  Result<uint64_t> open_checked(const std::string& path, uint64_t valid_bytes);
  // Creates the file empty (what was there is gone).
  Status create(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  // One record (a line, with its newline), whole or not at all; false with
  // errno set. When a failed write cannot be cut back either, the next
  // append cuts it first.
  bool append(std::string_view record);
  // The bytes of whole records.
  uint64_t size() const { return static_cast<uint64_t>(size_); }
  // fdatasync; false with errno set.
  bool sync();
  const std::string& path() const { return path_; }

 private:
  Status open_fd(const std::string& path, int flags);
  Result<uint64_t> cut_to(off_t keep);  // the bytes past `keep` go
  Error close_with(const char* what);   // "what PATH: errno's text", closed
  std::string path_;
  int fd_ = -1;
  off_t size_ = 0;     // the bytes of whole records
  bool torn_ = false;  // bytes past size_ that a failed write left
};

}  // namespace driftd
