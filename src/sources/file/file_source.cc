// The file source: JSON lines or CSV rows (src/sources/file/csv_events.h) from a
// path or stdin, from the start or the end, optionally followed like tail -f (rotation and
// truncation handled). The position is the byte offset of the first line not yet handed out.
//
// The bytes a regular file holds when it is opened (the backlog: a replay,
// or what a followed file gathered while the daemon was down) are parsed
// where they lie, through a mapped window that slides along the file
// (driftd/io/file_window.h); what comes after them, and stdin, is read() in
// 1 MiB batches. Both hand out 1 MiB of lines per poll.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include <simdjson.h>

#include "driftd/common/binary_io.h"
#include "driftd/io/file_window.h"
#include "src/daemon/log.h"
#include "src/server/metric_family.h"
#include "src/server/published.h"
#include "src/sources/file/csv_events.h"
#include "src/sources/file/file_source.h"

namespace driftd {
namespace {

class FileSource final : public Source {
 public:
  FileSource(const SourceConfig& c, size_t window_bytes)
      : config_(c), file_(config_.options_as<FileSourceOptions>()), window_bytes_(window_bytes) {
    buf_.resize(kChunk + simdjson::SIMDJSON_PADDING);
    if (file_.csv) csv_ = std::make_unique<CsvEvents>(c.fields);
  }
  ~FileSource() override {
    if (fd_ > 0) ::close(fd_);
  }

  const SourceConfig& config() const override { return config_; }
  std::string identity() const override { return file_.path; }
  bool at_end() const override { return at_end_; }
  bool connected() const override { return fd_ >= 0; }
  std::shared_ptr<const SourceStatus> status() const override {
    auto s = std::make_shared<FileSourceStatus>();
    s->offset = offset_;
    struct stat st {};
    if (fd_ > 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      const auto size = static_cast<uint64_t>(st.st_size);
      s->backlog_bytes = size > offset_ ? size - offset_ : 0;
    }
    return s;
  }

  std::string save_position() const override { return encode_number_position(offset_); }

  Status open(const std::string* saved_position) override {
    auto saved = decode_number_position(saved_position, config_.name, "file position");
    if (!saved) return saved.error();
    const std::optional<uint64_t> offset = *saved;
    if (file_.path == "-") {
      fd_ = 0;
      offset_ = 0;
      if (offset && *offset > 0) {
        jlog(spdlog::level::warn, "source {}: stdin cannot resume at byte {}; reading on",
             config_.name, *offset);
      }
      return {};
    }
    fd_ = ::open(file_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return Error{"source " + config_.name + ": cannot open " + file_.path + ": " +
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
             config_.name, start, file_.path, st.st_size);
        start = 0;
      }
    } else if (config_.from_end) {
      start = static_cast<uint64_t>(st.st_size);
    }
    if (::lseek(fd_, static_cast<off_t>(start), SEEK_SET) < 0) {
      return Error{"source " + config_.name + ": cannot seek " + file_.path};
    }
    offset_ = start;
    if (csv_ && start > 0) read_csv_header();
    if (S_ISREG(st.st_mode) && window_bytes_ > 0) backlog_end_ = static_cast<uint64_t>(st.st_size);
    jlog(spdlog::level::info, "source {} reading {} from byte {}", config_.name, file_.path,
         offset_);
    return {};
  }

  bool poll(LineHandler& handler) override {
    if (at_end_) return false;
    if (offset_ < backlog_end_) return poll_mapped(handler);
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
      if (file_.follow) {
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
      if (!skipping_) handler.on_line(nullptr, 0, 0, LineOrigin{offset_, {}, -1, {}});
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

  // Hands out the backlog's lines from offset_ for up to kChunk bytes. A
  // line without its newline at the backlog's end, one longer than
  // kMaxLine, or a window that cannot be mapped ends the backlog where it
  // is: read() takes over from that byte (it waits for the rest of a line,
  // skips over-long ones, and reads a file system without mmap).
  bool poll_mapped(LineHandler& handler) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < backlog_end_) {
      // Truncated since it was opened: nothing past its new end is read
      // through the window (read() and check_rotation() go on from here).
      jlog(spdlog::level::warn,
           "source {}: {} shrank below {} bytes while being read; reading on from byte {}",
           config_.name, file_.path, backlog_end_, offset_);
      return end_backlog();
    }
    const uint64_t stop = std::min(backlog_end_, offset_ + kChunk);
    while (offset_ < stop) {
      const char* line = nullptr;
      size_t len = 0;
      if (!next_mapped_line(&line, &len)) return end_backlog();
      if (window_.shrank()) {
        // Truncated between the check above and the read: the line held
        // zeros where the file had ended, so it is not handed out.
        jlog(spdlog::level::warn,
             "source {}: {} was truncated while being read at byte {}; reading on from there",
             config_.name, file_.path, offset_);
        return end_backlog();
      }
      deliver(line, len, window_.capacity() - static_cast<size_t>(line - window_.data()), handler);
      offset_ += len + 1;
    }
    if (offset_ >= backlog_end_) end_backlog();
    return true;
  }

  // The line at offset_ within the window, (re)mapping the window from
  // offset_ when the line does not end inside it. False: no newline before
  // the backlog's end, a line longer than kMaxLine, or no mapping.
  bool next_mapped_line(const char** line, size_t* len) {
    size_t want = window_bytes_;
    for (;;) {
      if (window_.mapped() && offset_ >= window_.offset()) {
        const size_t at = static_cast<size_t>(offset_ - window_.offset());
        if (at < window_.size()) {
          const char* p = window_.data() + at;
          const void* nl = std::memchr(p, '\n', window_.size() - at);
          if (nl != nullptr) {
            *line = p;
            *len = static_cast<size_t>(static_cast<const char*>(nl) - p);
            return *len <= kMaxLine;
          }
          const uint64_t window_end = window_.offset() + window_.size();
          if (window_end >= backlog_end_ || window_end - offset_ > kMaxLine) return false;
          // A line longer than the window: the window grows for it.
          if (at == 0) want = std::min(2 * window_.size(), kMaxLine + 1);
        }
      }
      const size_t len_to_end = static_cast<size_t>(backlog_end_ - offset_);
      if (!window_.map(fd_, offset_, std::min(want, len_to_end))) {
        jlog(spdlog::level::warn, "source {}: cannot map {} ({}); reading it instead", config_.name,
             file_.path, std::strerror(errno));
        return false;
      }
    }
  }

  // read() goes on from offset_.
  bool end_backlog() {
    window_.unmap();
    backlog_end_ = 0;
    filled_ = 0;
    if (::lseek(fd_, static_cast<off_t>(offset_), SEEK_SET) < 0) {
      jlog(spdlog::level::err, "source {}: cannot seek {} to byte {}: {}", config_.name, file_.path,
           offset_, std::strerror(errno));
    }
    return true;
  }

  void deliver(const char* p, size_t len, size_t capacity, LineHandler& handler) {
    if (skipping_) {  // the tail of an over-long line
      skipping_ = false;
      return;
    }
    if (len > 0 && p[len - 1] == '\r') --len;
    bool blank = true;
    for (size_t i = 0; i < len && blank; ++i) blank = p[i] == ' ' || p[i] == '\t';
    if (blank) return;
    if (!csv_) {
      handler.on_line(p, len, capacity, LineOrigin{offset_, {}, -1, {}});
      return;
    }
    const std::string_view row(p, len);
    const LineOrigin origin{offset_, {}, -1, row};
    if (!csv_->has_header()) {
      // A broken header is bad input like a broken row: counted and kept.
      if (!csv_->set_header(row))
        handler.on_refused(row, RejectReason::kInvalidJson, csv_->why(), origin);
      return;
    }
    if (!csv_->translate(row)) {
      handler.on_refused(row, RejectReason::kInvalidJson, csv_->why(), origin);
      return;
    }
    handler.on_line(csv_->json(), csv_->json_size(), csv_->json_capacity(), origin);
  }

  // A CSV read from past its start (a checkpoint's position, or start =
  // "end"): its header is the file's first line.
  void read_csv_header() {
    std::string line;
    char chunk[4096];
    for (off_t at = 0; line.size() < kMaxLine;) {
      const ssize_t n = ::pread(fd_, chunk, sizeof chunk, at);
      if (n <= 0) break;
      const void* nl = std::memchr(chunk, '\n', static_cast<size_t>(n));
      line.append(chunk, nl ? static_cast<size_t>(static_cast<const char*>(nl) - chunk)
                            : static_cast<size_t>(n));
      if (nl != nullptr) break;
      at += n;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // (The rows after a broken header are refused, each with its reason.)
    if (!csv_->set_header(line)) {
      jlog(spdlog::level::err, "source {}: {} (the file's first line)", config_.name, csv_->why());
    }
  }

  void check_rotation() {
    if (file_.path == "-") return;
    struct stat now {};
    struct stat mine {};
    if (::stat(file_.path.c_str(), &now) != 0 || ::fstat(fd_, &mine) != 0) return;
    if (now.st_ino != inode_ || static_cast<uint64_t>(mine.st_size) < offset_ + filled_) {
      jlog(spdlog::level::warn, "source {}: {} was rotated or truncated; reading it from the start",
           config_.name, file_.path);
      ::close(fd_);
      fd_ = ::open(file_.path.c_str(), O_RDONLY | O_CLOEXEC);
      inode_ = now.st_ino;
      offset_ = 0;
      filled_ = 0;
      if (csv_) csv_->reset();  // the new file's first line is its header
    }
  }

  SourceConfig config_;
  const FileSourceOptions& file_;  // *config_.options
  int fd_ = -1;
  ino_t inode_ = 0;
  const size_t window_bytes_;
  FileWindow window_;
  uint64_t backlog_end_ = 0;        // the file's size at open: read through window_ up to it
  std::unique_ptr<CsvEvents> csv_;  // format = "csv": rows translated to JSON events
  std::vector<char> buf_;
  size_t filled_ = 0;
  uint64_t offset_ = 0;
  bool at_end_ = false;
  bool skipping_ = false;
};

}  // namespace

std::unique_ptr<Source> make_file_source(const SourceConfig& config, size_t window_bytes) {
  return std::make_unique<FileSource>(config, window_bytes);
}

// ---- its registration: config keys, checks, metrics ---------------------------

Status read_file_source(TableReader& r, SourceConfig& s) {
  DRIFTD_TRY(read_replay_keys(r, s, /*close_windows_at_end=*/true));
  FileSourceOptions o;
  DRIFTD_TRY(r.str("path", o.path));
  DRIFTD_TRY(r.boolean("follow", o.follow));
  const bool csv_path = o.path.size() >= 4 && (o.path.compare(o.path.size() - 4, 4, ".csv") == 0 ||
                                               o.path.compare(o.path.size() - 4, 4, ".CSV") == 0);
  std::string format = csv_path ? "csv" : "jsonl";
  DRIFTD_TRY(r.str("format", format));
  if (format != "jsonl" && format != "csv") {
    return Error{r.where(*r.table().get("format"), "format") + ": expected \"jsonl\" or \"csv\""};
  }
  o.csv = format == "csv";
  s.options = std::make_shared<FileSourceOptions>(std::move(o));
  return {};
}

Status check_file_source(const TableReader& r, SourceConfig& s) {
  FileSourceOptions o = s.options_as<FileSourceOptions>();
  if (o.path.empty()) return Error{r.where_table() + ": path is required for a file source"};
  o.path = resolve_config_path(r.source(), o.path);
  if (s.name.empty()) s.name = o.path;
  s.options = std::make_shared<FileSourceOptions>(std::move(o));
  return {};
}

std::unique_ptr<Source> make_file_source_of(const SourceConfig& s, const SourceContext&) {
  return make_file_source(s);
}

Status check_file_environment(const SourceConfig& s) {
  const std::string& path = s.options_as<FileSourceOptions>().path;
  if (path == "-") return {};
  std::ifstream in(path);
  if (!in) {
    return Error{"source " + s.name + ": cannot open " + path + ": " + std::strerror(errno) +
                 " (driftd run would refuse to start)"};
  }
  return {};
}

void file_source_metrics(std::span<const SourceCounters* const> sources,
                         std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  prometheus::MetricFamily offset =
      metric_family("driftd_source_offset_bytes",
                    "File source: byte offset of the next event to read", MetricType::Gauge);
  prometheus::MetricFamily backlog =
      metric_family("driftd_source_backlog_bytes",
                    "File source: bytes written to the file and not read yet", MetricType::Gauge);
  for (const SourceCounters* s : sources) {
    const auto* status = s->status_as<FileSourceStatus>();
    if (status == nullptr) continue;  // not published yet
    const std::vector<prometheus::ClientMetric::Label> l = {{"source", s->name}, {"type", s->type}};
    add_sample(offset, static_cast<double>(status->offset), l);
    if (status->backlog_bytes) add_sample(backlog, static_cast<double>(*status->backlog_bytes), l);
  }
  out.push_back(std::move(offset));
  out.push_back(std::move(backlog));
}

}  // namespace driftd
