#include "alerts/sinks/log/log_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace driftd::alerts {

namespace {

class LogSink final : public Sink {
 public:
  explicit LogSink(std::string path) : path_(std::move(path)) {}
  ~LogSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Delivery deliver(const OutboxItem& item) override {
    if (fd_ < 0) {
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd_ < 0) return retry("cannot open");
    }
    const std::string line = item.body + "\n";
    // One write of the whole line (O_APPEND): a short one is cut back, so a
    // retry never glues half a line to the next.
    const off_t before = ::lseek(fd_, 0, SEEK_END);
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
      const int e = errno;
      if (n > 0 && before >= 0 && ::ftruncate(fd_, before) != 0) {
        // Nothing more to do: the retry writes the line again after it.
      }
      errno = n < 0 ? e : ENOSPC;
      return retry("cannot append to");
    }
    if (::fdatasync(fd_) != 0) return retry("cannot fsync");
    return {Delivery::Outcome::kDelivered, "appended to " + path_, -1};
  }

 private:
  Delivery retry(const char* what) {
    return {Delivery::Outcome::kRetry,
            std::string(what) + " " + path_ + ": " + std::strerror(errno), -1};
  }
  std::string path_;
  int fd_ = -1;
};

}  // namespace

Result<std::shared_ptr<Sink>> make_log_sink(TableReader& r, const SinkSettings& settings,
                                            const std::string& state_dir) {
  std::string path = settings.name + ".jsonl";
  DRIFTD_TRY(r.str("path", path));
  if (path.empty()) return Error{r.where_table() + ": path must not be empty"};
  if (!std::filesystem::path(path).is_absolute()) {
    path = (std::filesystem::path(state_dir) / path).string();
  }
  return std::shared_ptr<Sink>(std::make_shared<LogSink>(std::move(path)));
}

}  // namespace driftd::alerts
