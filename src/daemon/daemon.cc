#include "driftd/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "driftd/binary_io.h"
#include "driftd/event_decoder.h"
#include "driftd/json_writer.h"
#include "src/daemon/published.h"

namespace driftd {

// ---- checkpoint framing ---------------------------------------------------------

std::string frame_checkpoint(std::string_view payload) {
  std::string out(kCheckpointMagic, sizeof kCheckpointMagic);
  const uint32_t version = kCheckpointFormatVersion;
  out.append(reinterpret_cast<const char*>(&version), sizeof version);
  out.append(payload);
  const uint64_t sum = XXH3_64bits(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return out;
}

Result<std::string_view> unframe_checkpoint(std::string_view file, const std::string& source) {
  constexpr size_t kHeader = sizeof kCheckpointMagic + sizeof(uint32_t);
  if (file.size() < kHeader + sizeof(uint64_t)) {
    return Error{source + ": checkpoint is truncated (" + std::to_string(file.size()) + " bytes)"};
  }
  if (std::memcmp(file.data(), kCheckpointMagic, sizeof kCheckpointMagic) != 0) {
    return Error{source + ": not a driftd checkpoint (bad magic)"};
  }
  uint32_t version = 0;
  std::memcpy(&version, file.data() + sizeof kCheckpointMagic, sizeof version);
  if (version != kCheckpointFormatVersion) {
    return Error{source + ": checkpoint format version " + std::to_string(version) +
                 ", this driftd reads version " + std::to_string(kCheckpointFormatVersion)};
  }
  uint64_t stored = 0;
  std::memcpy(&stored, file.data() + file.size() - sizeof stored, sizeof stored);
  const uint64_t actual = XXH3_64bits(file.data(), file.size() - sizeof stored);
  if (stored != actual) {
    return Error{source + ": checkpoint checksum mismatch (truncated or corrupt)"};
  }
  return file.substr(kHeader, file.size() - kHeader - sizeof stored);
}

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}
extern "C" void on_hup_signal(int) {
  g_reload.store(true);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Structured logs: one JSON object per line; messages are escaped here.
template <class... Args>
void jlog(spdlog::level::level_enum level, fmt::format_string<Args...> f, Args&&... args) {
  if (!spdlog::should_log(level)) return;
  std::string escaped;
  JsonWriter::append_escaped(escaped, fmt::format(f, std::forward<Args>(args)...));
  // append_escaped writes the quotes; the pattern supplies them.
  spdlog::log(level, "{}", std::string_view(escaped).substr(1, escaped.size() - 2));
}

void setup_logging(const std::string& level) {
  spdlog::drop("driftd");  // the command line's plain-text logger
  auto logger = spdlog::stderr_logger_mt("driftd");
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

// An append-only file of lines (windows log, dead letters). A torn last line
// (the process killed mid-write) is cut off on open.
class AppendFile {
 public:
  Status open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) return Error{"cannot open " + path + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && st.st_size > 0) {
      off_t end = st.st_size;
      char c = 0;
      if (::pread(fd_, &c, 1, end - 1) == 1 && c != '\n') {
        // Find the last newline and cut after it.
        std::string buf(static_cast<size_t>(std::min<off_t>(end, 1 << 20)), '\0');
        const off_t from = end - static_cast<off_t>(buf.size());
        const ssize_t got = ::pread(fd_, buf.data(), buf.size(), from);
        off_t keep = 0;
        if (got > 0) {
          const size_t nl = std::string_view(buf.data(), static_cast<size_t>(got)).rfind('\n');
          keep = nl == std::string_view::npos ? from : from + static_cast<off_t>(nl) + 1;
        }
        if (::ftruncate(fd_, keep) == 0) {
          jlog(spdlog::level::warn, "{}: cut a torn last line ({} bytes)", path, end - keep);
        }
      }
    }
    return {};
  }
  ~AppendFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool append(std::string_view line) {
    // One write() per line: a kill cannot interleave or half-write it
    // (a torn line can only come from a crash of the machine).
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool sync() { return ::fdatasync(fd_) == 0; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Reads JSON lines from a file (or stdin) in batches, tracking the byte
// offset of the first unprocessed line; follows a growing file.
class FileSource {
 public:
  explicit FileSource(const SourceConfig& c) : config_(c) {
    buf_.resize(kChunk + simdjson::SIMDJSON_PADDING);
  }
  ~FileSource() {
    if (fd_ > 0) ::close(fd_);
  }

  // Opens at `offset` (a checkpoint's) or per the configuration.
  Status open(std::optional<uint64_t> offset) {
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
    return {};
  }

  uint64_t offset() const { return offset_; }
  bool at_end() const { return at_end_; }
  const SourceConfig& config() const { return config_; }

  // Reads one batch and hands every complete line to on_line(data, len,
  // capacity, line_offset). Returns false when nothing new was available.
  template <class OnLine>
  bool poll(OnLine&& on_line) {
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
        deliver(buf_.data(), filled_, filled_ + simdjson::SIMDJSON_PADDING, on_line);
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
      deliver(base + start, end - start, buf_.size() - start, on_line);
      offset_ += end + 1 - start;
      start = end + 1;
    }
    if (start == 0 && filled_ >= kMaxLine) {
      // One line longer than any event may be: reported once, skipped to its end.
      if (!skipping_) on_line(nullptr, 0, 0, offset_);
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

  template <class OnLine>
  void deliver(const char* p, size_t len, size_t capacity, OnLine& on_line) {
    if (skipping_) {  // the tail of an over-long line
      skipping_ = false;
      return;
    }
    if (len > 0 && p[len - 1] == '\r') --len;
    bool blank = true;
    for (size_t i = 0; i < len && blank; ++i) blank = p[i] == ' ' || p[i] == '\t';
    if (!blank) on_line(p, len, capacity, offset_);
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

struct MonitorSlot {
  ModelConfig config;
  std::unique_ptr<ModelMonitor> monitor;
  uint64_t windows = 0;
  std::string latest_json;
  std::shared_ptr<const WindowResult> latest;
  uint64_t latest_version = 0;  // bumped when latest_json changes
};

struct SourceSlot {
  std::unique_ptr<FileSource> source;
  std::unique_ptr<EventDecoder> decoder;
  SourceCounters counters;
  // Replay pacing: the first event's time and the wall time it was read.
  bool paced = false;
  int64_t pace_event0 = 0;
  std::chrono::steady_clock::time_point pace_wall0;
};

class Daemon {
 public:
  Daemon(DaemonConfig config, RunOptions options) : config_(std::move(config)), options_(options) {}

  int run() {
    std::error_code ec;
    std::filesystem::create_directories(config_.state_dir, ec);
    if (ec) {
      jlog(spdlog::level::critical, "cannot create state dir {}: {}", config_.state_dir,
           ec.message());
      return 2;
    }
    checkpoint_path_ = (std::filesystem::path(config_.state_dir) / "checkpoint.bin").string();
    if (auto st = windows_log_.open(config_.windows_log); !st) return fatal(st.error().message);
    if (auto st = dead_letter_.open(config_.dead_letter); !st) return fatal(st.error().message);
    build_monitors();
    auto restored = restore();
    if (!restored) return fatal(restored.error().message);
    for (auto& slot : sources_) {
      std::optional<uint64_t> offset;
      if (auto it = restored->find(slot.counters.name); it != restored->end()) offset = it->second;
      if (auto st = slot.source->open(offset); !st) return fatal(st.error().message);
      slot.counters.open = true;
      slot.counters.offset = slot.source->offset();
      jlog(spdlog::level::info, "source {} reading {} from byte {}", slot.counters.name,
           slot.source->config().path, slot.source->offset());
    }
    HttpServer server(published_, config_.listen);
    if (auto st = server.start(); !st) return fatal(st.error().message);
    jlog(spdlog::level::info, "listening on {} (port {}); /metrics, /v1/models", config_.listen,
         server.port());
    publish();
    published_.ready.store(true);

    auto last_checkpoint = std::chrono::steady_clock::now();
    while (!g_stop.load()) {
      bool progressed = false;
      for (auto& slot : sources_) progressed = poll(slot) || progressed;
      publish();
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_checkpoint).count() >=
          config_.checkpoint_interval_s) {
        checkpoint();
        last_checkpoint = now;
      }
      if (g_reload.exchange(false)) reload();
      if (!progressed) {
        bool all_done = true;
        for (auto& slot : sources_) all_done = all_done && slot.source->at_end();
        if (all_done && !flushed_) flush_at_end();
        if (all_done && options_.exit_when_done) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    // Drain: the batch in hand is done; save everything, within the deadline.
    published_.ready.store(false);
    std::atomic<bool> finished{false};
    std::thread watchdog([&] {
      const auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::duration<double>(config_.shutdown_deadline_s);
      while (!finished.load()) {
        if (std::chrono::steady_clock::now() > deadline) {
          jlog(spdlog::level::critical, "shutdown took longer than {} s; exiting without it",
               config_.shutdown_deadline_s);
          spdlog::default_logger()->flush();
          ::_exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    const bool saved = checkpoint();
    finished.store(true);
    watchdog.join();
    server.stop();
    jlog(spdlog::level::info, "stopped{}",
         saved ? " after a final checkpoint" : " (checkpoint failed)");
    return saved ? 0 : 1;
  }

 private:
  int fatal(const std::string& message) {
    jlog(spdlog::level::critical, "{}", message);
    return 2;
  }

  void build_monitors() {
    monitors_.clear();
    router_ = Router();
    for (auto& m : config_.models) {
      MonitorSlot slot;
      slot.config = m;
      slot.monitor = std::make_unique<ModelMonitor>(m.baseline, m.monitor);
      monitors_.push_back(std::move(slot));
    }
    for (auto& slot : monitors_) {
      router_.add(slot.config.name, slot.config.version, slot.monitor.get());
    }
    if (sources_.empty()) {
      for (const auto& s : config_.sources) {
        SourceSlot slot;
        slot.source = std::make_unique<FileSource>(s);
        slot.decoder = std::make_unique<EventDecoder>(s.fields, router_);
        slot.counters.name = s.name;
        slot.counters.type = s.type;
        slot.counters.path = s.path;
        sources_.push_back(std::move(slot));
      }
    }
    std::lock_guard<std::mutex> lock(published_.mu);
    published_.models.clear();
    for (const auto& slot : monitors_) {
      ModelView v;
      v.name = slot.config.name;
      v.version = slot.config.version;
      v.baseline_path = slot.config.baseline_path;
      v.window = slot.config.monitor.window;
      for (const auto* c : slot.monitor->columns()) v.features.push_back(c->name);
      published_.models.push_back(std::move(v));
    }
  }

  MonitorSlot* slot_of(const ModelMonitor* m) {
    for (auto& s : monitors_) {
      if (s.monitor.get() == m) return &s;
    }
    return nullptr;
  }

  void on_window(MonitorSlot& slot, WindowResult&& w) {
    std::string line = window_json_line(w, slot.config.monitor.window);
    if (!windows_log_.append(line)) {
      ++windows_log_failures_;
      jlog(spdlog::level::err, "cannot append to {}: {}", config_.windows_log,
           std::strerror(errno));
    }
    jlog(spdlog::level::info,
         "window closed model={} version={} id={} rows={} drifted={}/{} dataset_drift={}",
         slot.config.name, slot.config.version, w.id, w.report.rows, w.report.features_drifted,
         w.report.features_compared, w.report.dataset_drift);
    ++slot.windows;
    slot.latest_json = std::move(line);
    slot.latest = std::make_shared<const WindowResult>(std::move(w));
    ++slot.latest_version;
  }

  bool poll(SourceSlot& slot) {
    const double speed = slot.source->config().replay_speed;
    return slot.source->poll([&](const char* data, size_t len, size_t capacity, uint64_t offset) {
      SourceCounters& c = slot.counters;
      ++c.received;
      if (data == nullptr) {
        dead_letter(slot, offset, RejectReason::kInvalidJson, "line longer than 16 MiB", {});
        return;
      }
      DecodedEvent ev = slot.decoder->decode(data, len, capacity, [&](WindowResult&& w) {
        // decode() commits before returning: find the slot by the window's model.
        for (auto& m : monitors_) {
          if (m.config.name == w.report.model_name && m.config.version == w.report.model_version) {
            this->on_window(m, std::move(w));
            return;
          }
        }
      });
      switch (ev.outcome) {
        case EventOutcome::kAdded:
          ++c.added;
          break;
        case EventOutcome::kLate:
          ++c.late;
          break;
        case EventOutcome::kLabel:
          ++c.labels;
          break;
        case EventOutcome::kRejected:
          ++c.rejected[static_cast<size_t>(ev.reason)];
          dead_letter(slot, offset, ev.reason, ev.detail, std::string_view(data, len));
          break;
      }
      if (speed > 0 && ev.outcome == EventOutcome::kAdded) pace(slot, ev.ts_ms, speed);
    });
  }

  void pace(SourceSlot& slot, int64_t ts_ms, double speed) {
    const auto now = std::chrono::steady_clock::now();
    if (!slot.paced) {
      slot.paced = true;
      slot.pace_event0 = ts_ms;
      slot.pace_wall0 = now;
      return;
    }
    const auto target =
        slot.pace_wall0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double, std::milli>(
                                  static_cast<double>(ts_ms - slot.pace_event0) / speed));
    while (!g_stop.load() && std::chrono::steady_clock::now() < target) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          target - std::chrono::steady_clock::now(), std::chrono::milliseconds(100)));
      publish_if_due();
    }
  }

  void publish_if_due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_publish_ > std::chrono::milliseconds(200)) publish();
  }

  void dead_letter(SourceSlot& slot, uint64_t offset, RejectReason reason, std::string_view detail,
                   std::string_view raw) {
    std::string line = "{\"source\":";
    JsonWriter::append_escaped(line, slot.counters.name);
    line += ",\"offset\":" + std::to_string(offset) + ",\"reason\":\"";
    line += to_string(reason);
    line += "\",\"detail\":";
    JsonWriter::append_escaped(line, detail);
    line += ",\"event\":";
    JsonWriter::append_escaped(line, raw);
    line += "}\n";
    dead_letter_.append(line);
    ++rejected_logged_;
    if (rejected_logged_ <= 100 || rejected_logged_ % 10000 == 0) {
      jlog(spdlog::level::warn, "source {} byte {}: rejected ({}): {}{}", slot.counters.name,
           offset, to_string(reason), detail,
           rejected_logged_ == 100 ? " (further rejections are logged every 10000th)" : "");
    }
  }

  void flush_at_end() {
    flushed_ = true;
    bool any = false;
    for (auto& s : sources_) any = any || s.source->config().close_windows_at_end;
    if (!any) return;
    for (auto& slot : monitors_) {
      slot.monitor->flush([&](WindowResult&& w) { on_window(slot, std::move(w)); });
    }
    publish();
    jlog(spdlog::level::info, "every source reached its end; open windows closed");
  }

  void publish() {
    last_publish_ = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(published_.mu);
    published_.sources.resize(sources_.size());
    for (size_t i = 0; i < sources_.size(); ++i) {
      sources_[i].counters.offset = sources_[i].source->offset();
      sources_[i].counters.at_end = sources_[i].source->at_end();
      published_.sources[i] = sources_[i].counters;
    }
    for (size_t i = 0; i < monitors_.size() && i < published_.models.size(); ++i) {
      ModelView& v = published_.models[i];
      const MonitorSlot& s = monitors_[i];
      v.events = s.monitor->events();
      v.late = s.monitor->late_events();
      v.windows = s.windows;
      if (v.latest_version != s.latest_version) {
        v.latest_version = s.latest_version;
        v.latest = s.latest;
        v.latest_json = s.latest_json;
      }
    }
    published_.checkpoint_failures = checkpoint_failures_;
    published_.windows_log_failures = windows_log_failures_;
    published_.reload_failures = reload_failures_;
  }

  // ---- checkpoint ----

  std::string model_key(const ModelConfig& m) const {
    // What a saved state depends on: the baseline's identity and the
    // window layout. A change of either starts the model afresh.
    const WindowSettings& w = m.monitor.window;
    return m.name + "\n" + m.version + "\n" + m.baseline->input.xxh3_64 + "\n" +
           m.baseline->built_at + "\n" + std::to_string(m.monitor.ks_resolution) + "\n" +
           std::to_string(m.monitor.max_new_categories) + "\n" +
           (w.kind == WindowSettings::Kind::kCount ? "count" : "time") + "\n" +
           std::to_string(w.size) + "\n" + std::to_string(w.step) + "\n" +
           std::to_string(w.allowed_lateness);
  }

  bool checkpoint() {
    if (!windows_log_.sync()) {
      ++checkpoint_failures_;
      jlog(spdlog::level::err, "cannot fsync {}: {}", config_.windows_log, std::strerror(errno));
      return false;
    }
    ByteWriter w;
    w.u64(sources_.size());
    for (const auto& s : sources_) {
      w.str(s.counters.name);
      w.str(s.counters.path);
      w.u64(s.source->offset());
      w.u64(s.counters.received);
      w.u64(s.counters.added);
      w.u64(s.counters.late);
      w.u64(s.counters.labels);
      for (uint64_t r : s.counters.rejected) w.u64(r);
    }
    w.u64(monitors_.size());
    for (const auto& m : monitors_) {
      w.str(model_key(m.config));
      w.u64(m.windows);
      w.str(m.latest_json);
      ByteWriter state;
      m.monitor->save(state);
      w.str(state.bytes());
    }
    const std::string framed = frame_checkpoint(w.bytes());
    if (auto st = write_file_atomic(checkpoint_path_, framed); !st) {
      ++checkpoint_failures_;
      jlog(spdlog::level::err, "checkpoint failed: {}", st.error().message);
      return false;
    }
    std::lock_guard<std::mutex> lock(published_.mu);
    published_.last_checkpoint_unix = unix_now();
    return true;
  }

  // Restores monitors and counters; returns each source's saved offset.
  Result<std::map<std::string, uint64_t>> restore() {
    std::map<std::string, uint64_t> offsets;
    if (!std::filesystem::exists(checkpoint_path_)) {
      jlog(spdlog::level::info, "no checkpoint at {}: starting fresh", checkpoint_path_);
      return offsets;
    }
    auto file = FileBuffer::load(checkpoint_path_);
    if (!file) return Error{file.error().message};
    auto payload = unframe_checkpoint(file->text(), checkpoint_path_);
    if (!payload) {
      return Error{payload.error().message +
                   "; move it away to start afresh (events since it would be read again)"};
    }
    ByteReader r(*payload);
    const uint64_t n_sources = r.count(8);
    for (uint64_t i = 0; i < n_sources && r.ok(); ++i) {
      const std::string name = r.str();
      const std::string path = r.str();
      SourceCounters saved;
      const uint64_t offset = r.u64();
      saved.received = r.u64();
      saved.added = r.u64();
      saved.late = r.u64();
      saved.labels = r.u64();
      for (uint64_t& v : saved.rejected) v = r.u64();
      for (auto& s : sources_) {
        if (s.counters.name != name) continue;
        if (s.counters.path != path) {
          jlog(spdlog::level::warn, "source {} now reads {} (checkpoint: {}): starting it afresh",
               name, s.counters.path, path);
          continue;
        }
        offsets[name] = offset;
        s.counters.received = saved.received;
        s.counters.added = saved.added;
        s.counters.late = saved.late;
        s.counters.labels = saved.labels;
        s.counters.rejected = saved.rejected;
      }
    }
    const uint64_t n_models = r.count(8);
    for (uint64_t i = 0; i < n_models && r.ok(); ++i) {
      const std::string key = r.str();
      const uint64_t windows = r.u64();
      std::string latest_json = r.str();
      const std::string state = r.str();
      if (!r.ok()) break;
      for (auto& m : monitors_) {
        if (model_key(m.config) != key) continue;
        ByteReader sr(state);
        if (!m.monitor->load(sr) || !sr.at_end()) {
          return Error{checkpoint_path_ + ": the state of model " + m.config.name +
                       " does not load: " + sr.error()};
        }
        m.windows = windows;
        // The API serves the restored snapshot at once; its per-feature
        // metrics return with the next window close.
        m.latest_json = std::move(latest_json);
        ++m.latest_version;
      }
    }
    if (!r.ok() || !r.at_end()) {
      return Error{checkpoint_path_ + ": checkpoint payload is malformed: " +
                   (r.ok() ? std::string("bytes after the end") : r.error())};
    }
    jlog(spdlog::level::info, "restored checkpoint {}", checkpoint_path_);
    publish();
    return offsets;
  }

  // ---- reload ----

  void reload() {
    auto fresh = load_daemon_config(config_.source_file);
    if (!fresh) {
      ++reload_failures_;
      jlog(spdlog::level::err, "reload refused, the running configuration stays: {}",
           fresh.error().message);
      return;
    }
    // Sources are positional state: a reload keeps them (a change needs a restart).
    bool sources_changed = fresh->sources.size() != config_.sources.size();
    for (size_t i = 0; !sources_changed && i < fresh->sources.size(); ++i) {
      sources_changed = fresh->sources[i].name != config_.sources[i].name ||
                        fresh->sources[i].path != config_.sources[i].path;
    }
    if (sources_changed || fresh->listen != config_.listen ||
        fresh->state_dir != config_.state_dir) {
      jlog(spdlog::level::warn,
           "reload: sources, listen address and state dir changes take effect at restart");
    }
    // Carry every model whose state still fits (same key) across.
    std::vector<MonitorSlot> old = std::move(monitors_);
    DaemonConfig next = config_;
    next.models = fresh->models;
    config_ = std::move(next);
    build_monitors();
    for (auto& m : monitors_) {
      for (auto& o : old) {
        if (model_key(o.config) != model_key(m.config)) continue;
        ByteWriter state;
        o.monitor->save(state);
        ByteReader r(state.bytes());
        (void)m.monitor->load(r);
        m.windows = o.windows;
        m.latest = o.latest;
        m.latest_json = o.latest_json;
        m.latest_version = o.latest_version + 1;
      }
    }
    for (auto& s : sources_)
      s.decoder = std::make_unique<EventDecoder>(s.source->config().fields, router_);
    publish();
    jlog(spdlog::level::info, "configuration reloaded: {} models", monitors_.size());
  }

  DaemonConfig config_;
  RunOptions options_;
  Published published_;
  Router router_;
  std::vector<MonitorSlot> monitors_;
  std::vector<SourceSlot> sources_;
  AppendFile windows_log_, dead_letter_;
  std::string checkpoint_path_;
  bool flushed_ = false;
  uint64_t rejected_logged_ = 0;
  uint64_t checkpoint_failures_ = 0, windows_log_failures_ = 0, reload_failures_ = 0;
  std::chrono::steady_clock::time_point last_publish_{};
};

}  // namespace

int run_daemon(const std::string& config_path, const RunOptions& options) {
  auto config = load_daemon_config(config_path);
  if (!config) {
    std::fprintf(stderr, "driftd: %s\n", config.error().message.c_str());
    return 2;
  }
  setup_logging(config->log_level);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = on_hup_signal;
  ::sigaction(SIGHUP, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(std::move(*config), options);
  const int rc = daemon.run();
  spdlog::default_logger()->flush();
  return rc;
}

}  // namespace driftd
