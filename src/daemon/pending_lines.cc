#include "src/daemon/pending_lines.h"

#include <cerrno>
#include <cstring>

#include "src/daemon/log.h"

namespace driftd {

Status PendingLines::open(const std::string& path) {
  auto cut = file_.open(path);
  if (!cut) return cut.error();
  if (*cut > 0) jlog(spdlog::level::warn, "{}: cut a torn last line ({} bytes)", path, *cut);
  return {};
}

void PendingLines::write(std::string line) {
  if (pending_.empty() && file_.append(line)) return;
  if (pending_.empty()) note_failure();
  pending_.push_back(std::move(line));
}

bool PendingLines::retry() {
  while (!pending_.empty()) {
    if (!file_.append(pending_.front())) {
      note_failure();
      return false;
    }
    pending_.pop_front();
  }
  return true;
}

bool PendingLines::sync() {
  if (file_.sync()) return true;
  error_ = std::strerror(errno);
  return false;
}

void PendingLines::note_failure() {
  error_ = std::strerror(errno);
  if (failures_++ % 100 == 0) {
    jlog(spdlog::level::err,
         "cannot append to {}: {}; reading paused until it can (nothing is lost)", file_.path(),
         error_);
  }
}

}  // namespace driftd
