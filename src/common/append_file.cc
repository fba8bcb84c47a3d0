#include "src/common/append_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace driftd {

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status AppendFile::open_fd(const std::string& path, int flags) {
  if (fd_ >= 0) ::close(fd_);
  path_ = path;
  torn_ = false;
  fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | flags, 0644);
  if (fd_ < 0) return Error{"cannot open " + path + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return close_with("cannot stat");
  size_ = static_cast<off_t>(st.st_size);
  return {};
}

Result<uint64_t> AppendFile::cut_to(off_t keep) {
  if (keep >= size_) return uint64_t{0};
  if (::ftruncate(fd_, keep) != 0) return close_with("cannot cut the torn tail of");
  const auto cut = static_cast<uint64_t>(size_ - keep);
  size_ = keep;
  return cut;
}

Result<uint64_t> AppendFile::open(const std::string& path) {
  DRIFTD_TRY(open_fd(path, O_CREAT));
  if (size_ == 0) return uint64_t{0};
  char c = 0;
  if (::pread(fd_, &c, 1, size_ - 1) != 1 || c == '\n') return uint64_t{0};
  // Find the last newline of the last MiB and cut after it.
  std::string buf(static_cast<size_t>(std::min<off_t>(size_, 1 << 20)), '\0');
  const off_t from = size_ - static_cast<off_t>(buf.size());
  const ssize_t got = ::pread(fd_, buf.data(), buf.size(), from);
  off_t keep = 0;
  if (got > 0) {
    const size_t nl = std::string_view(buf.data(), static_cast<size_t>(got)).rfind('\n');
    keep = nl == std::string_view::npos ? from : from + static_cast<off_t>(nl) + 1;
  }
  return cut_to(keep);
}

Result<uint64_t> AppendFile::open_checked(const std::string& path, uint64_t valid_bytes) {
  DRIFTD_TRY(open_fd(path, 0));
  return cut_to(static_cast<off_t>(std::min<uint64_t>(valid_bytes, static_cast<uint64_t>(size_))));
}

Status AppendFile::create(const std::string& path) {
  return open_fd(path, O_CREAT | O_TRUNC);
}

Error AppendFile::close_with(const char* what) {
  Error e{std::string(what) + " " + path_ + ": " + std::strerror(errno)};
  ::close(fd_);
  fd_ = -1;
  return e;
}

bool AppendFile::append(std::string_view record) {
  if (torn_) {
    if (::ftruncate(fd_, size_) != 0) return false;
    torn_ = false;
  }
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      if (done > 0 && ::ftruncate(fd_, size_) != 0) torn_ = true;
      errno = e;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  size_ += static_cast<off_t>(record.size());
  return true;
}

bool AppendFile::sync() {
  return ::fdatasync(fd_) == 0;
}

}  // namespace driftd
