// The file source: JSON lines from a path or stdin, read() in 1 MiB
// batches, from the start or the end, optionally followed like tail -f
// (rotation and truncation handled). The position is the byte offset of the
// first line not yet handed out.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <simdjson.h>

#include "driftd/binary_io.h"
#include "src/daemon/log.h"
#include "src/daemon/source.h"

namespace driftd {
namespace {

class FileSource final : public Source {
 public:
  explicit FileSource(const SourceConfig& c) : config_(c) {
    buf_.resize(kChunk + simdjson::SIMDJSON_PADDING);
  }
  ~FileSource() override {
    if (fd_ > 0) ::close(fd_);
  }

  const SourceConfig& config() const override { return config_; }
  std::string identity() const override { return config_.path; }
  uint64_t offset() const override { return offset_; }
  bool at_end() const override { return at_end_; }
  bool connected() const override { return fd_ >= 0; }

  std::string save_position() const override { return encode_number_position(offset_); }

  Status open(const std::string* saved_position) override {
    auto saved = decode_number_position(saved_position, config_.name, "file position");
    if (!saved) return saved.error();
    const std::optional<uint64_t> offset = *saved;
    if (config_.path == "-") {
      fd_ = 0;
      offset_ = 0;
      if (offset && *offset > 0) {
        jlog(spdlog::level::warn, "source {}: stdin cannot resume at byte {}; reading on",
             config_.name, *offset);
      }
      return {};
    }
    fd_ = ::open(config_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return Error{"source " + config_.name + ": cannot open " + config_.path + ": " +
                   std::strerror(errno)};
    }
    struct stat st {};
    ::fstat(fd_, &st);
    inode_ = st.st_ino;
    uint64_t start = 0;
    if (offset) {
      start = *offset;
      if (start > static_cast<uint64_t>(st.st_size)) {
        jlog(spdlog::level::warn,
             "source {}: checkpoint offset {} is past the end of {} ({} bytes): the file was "
             "replaced; reading it from the start",
             config_.name, start, config_.path, st.st_size);
        start = 0;
      }
    } else if (config_.from_end) {
      start = static_cast<uint64_t>(st.st_size);
    }
    if (::lseek(fd_, static_cast<off_t>(start), SEEK_SET) < 0) {
      return Error{"source " + config_.name + ": cannot seek " + config_.path};
    }
    offset_ = start;
    jlog(spdlog::level::info, "source {} reading {} from byte {}", config_.name, config_.path,
         offset_);
    return {};
  }

  bool poll(LineHandler& handler) override {
    if (at_end_) return false;
    if (buf_.size() < filled_ + kChunk + simdjson::SIMDJSON_PADDING) {
      // A line longer than the buffer: grow (bounded by kMaxLine).
      buf_.resize(filled_ + kChunk + simdjson::SIMDJSON_PADDING);
    }
    const ssize_t n = ::read(fd_, buf_.data() + filled_, kChunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return false;
      jlog(spdlog::level::err, "source {}: read failed: {}", config_.name, std::strerror(errno));
      return false;
    }
    if (n == 0) {
      if (config_.follow) {
        check_rotation();
        return false;
      }
      // End of a bounded input: a last line without its newline still counts.
      if (filled_ > 0) {
        std::memset(buf_.data() + filled_, 0, simdjson::SIMDJSON_PADDING);
        deliver(buf_.data(), filled_, filled_ + simdjson::SIMDJSON_PADDING, handler);
        offset_ += filled_;
        filled_ = 0;
      }
      at_end_ = true;
      return false;
    }
    filled_ += static_cast<size_t>(n);
    std::memset(buf_.data() + filled_, 0, simdjson::SIMDJSON_PADDING);
    size_t start = 0;
    const char* base = buf_.data();
    for (;;) {
      const void* nl = std::memchr(base + start, '\n', filled_ - start);
      if (nl == nullptr) break;
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - base);
      deliver(base + start, end - start, buf_.size() - start, handler);
      offset_ += end + 1 - start;
      start = end + 1;
    }
    if (start == 0 && filled_ >= kMaxLine) {
      // One line longer than any event may be: reported once, skipped to its end.
      if (!skipping_) handler.on_line(nullptr, 0, 0, LineOrigin{offset_, {}, -1});
      skipping_ = true;
      offset_ += filled_;
      filled_ = 0;
      return true;
    }
    std::memmove(buf_.data(), base + start, filled_ - start);
    filled_ -= start;
    return true;
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  static constexpr size_t kMaxLine = 16 << 20;

  void deliver(const char* p, size_t len, size_t capacity, LineHandler& handler) {
    if (skipping_) {  // the tail of an over-long line
      skipping_ = false;
      return;
    }
    if (len > 0 && p[len - 1] == '\r') --len;
    bool blank = true;
    for (size_t i = 0; i < len && blank; ++i) blank = p[i] == ' ' || p[i] == '\t';
    if (!blank) handler.on_line(p, len, capacity, LineOrigin{offset_, {}, -1});
  }

  void check_rotation() {
    if (config_.path == "-") return;
    struct stat now {};
    struct stat mine {};
    if (::stat(config_.path.c_str(), &now) != 0 || ::fstat(fd_, &mine) != 0) return;
    if (now.st_ino != inode_ || static_cast<uint64_t>(mine.st_size) < offset_ + filled_) {
      jlog(spdlog::level::warn, "source {}: {} was rotated or truncated; reading it from the start",
           config_.name, config_.path);
      ::close(fd_);
      fd_ = ::open(config_.path.c_str(), O_RDONLY | O_CLOEXEC);
      inode_ = now.st_ino;
      offset_ = 0;
      filled_ = 0;
    }
  }

  SourceConfig config_;
  int fd_ = -1;
  ino_t inode_ = 0;
  std::vector<char> buf_;
  size_t filled_ = 0;
  uint64_t offset_ = 0;
  bool at_end_ = false;
  bool skipping_ = false;
};

}  // namespace

std::string encode_number_position(uint64_t value) {
  ByteWriter w;
  w.u64(value);
  return std::move(w.bytes());
}

Result<std::optional<uint64_t>> decode_number_position(const std::string* saved,
                                                       const std::string& source,
                                                       const char* what) {
  if (saved == nullptr) return std::optional<uint64_t>();
  ByteReader r(*saved);
  const uint64_t v = r.u64();
  if (!r.ok() || !r.at_end()) {
    return Error{"source " + source + ": the checkpoint's " + what + " is malformed"};
  }
  return std::optional<uint64_t>(v);
}

std::unique_ptr<Source> make_file_source(const SourceConfig& config) {
  return std::make_unique<FileSource>(config);
}

}  // namespace driftd
