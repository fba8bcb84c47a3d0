#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "driftd/common/result.h"
#include "src/common/append_file.h"

namespace driftd {

// A file of lines that must not lose one (the windows log, dead letters):
// a line the file cannot take (disk full, read-only, an I/O error) waits in
// memory, in order, and is appended again by retry(). While any waits the
// daemon reads no input and writes no checkpoint (see Daemon::blocked), so
// what waits is at most one batch's lines and a crash loses none of them:
// the last checkpoint is from before them, and its replay makes them again.
class PendingLines {
 public:
  Status open(const std::string& path);
  void write(std::string line);
  // Appends what waits; true when nothing waits any more.
  bool retry();
  bool sync();
  size_t pending() const { return pending_.size(); }
  uint64_t failures() const { return failures_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return file_.path(); }

 private:
  void note_failure();
  AppendFile file_;
  std::deque<std::string> pending_;
  uint64_t failures_ = 0;
  std::string error_;
};

}  // namespace driftd
