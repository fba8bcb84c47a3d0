#include "alerts/sinks/log/log_sink.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "src/common/append_file.h"

namespace driftd::alerts {

namespace {

class LogSink final : public Sink {
 public:
  explicit LogSink(std::string path) : path_(std::move(path)) {}

  Delivery deliver(const OutboxItem& item) override {
    if (!file_.is_open()) {
      if (auto opened = file_.open(path_); !opened) {
        return {Delivery::Outcome::kRetry, opened.error().message, -1};
      }
    }
    // Whole lines only (a short write is cut back), so a retry never glues
    // half a line to the next.
    if (!file_.append(item.body + "\n")) return retry("cannot append to");
    if (!file_.sync()) return retry("cannot fsync");
    return {Delivery::Outcome::kDelivered, "appended to " + path_, -1};
  }

 private:
  Delivery retry(const char* what) {
    return {Delivery::Outcome::kRetry,
            std::string(what) + " " + path_ + ": " + std::strerror(errno), -1};
  }
  std::string path_;
  AppendFile file_;
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
