// The daemon's lifecycle and loop (`driftd run`): start-up and recovery
// from the checkpoint, the ingest thread's batch loop, window closes and
// their logs, alert and trigger hand-off, checkpoints, reload and stop.
// Past 600 lines because these are one class's steps around one
// invariant (a checkpoint never passes what is not durable) and read
// best together; its parts with a life of their own have their own files
// (checkpoint.cc, pending_lines.cc, log.cc, src/sources/, src/server/).
#include "driftd/daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "alerts/outbox/deliverer.h"
#include "alerts/outbox/outbox.h"
#include "alerts/rules/rule.h"
#include "alerts/rules/rule_tests.h"
#include "alerts/triggers/trigger.h"
#include "driftd/common/binary_io.h"
#include "driftd/daemon/checkpoint.h"
#include "driftd/decode/event_decoder.h"
#include "driftd/io/json_writer.h"
#include "driftd/window/sequential.h"
#include "driftd/window/window_line.h"
#include "src/common/append_file.h"
#include "src/common/process_memory.h"
#include "src/daemon/log.h"
#include "src/daemon/pending_lines.h"
#include "src/server/http_server.h"
#include "src/server/published.h"
#include "src/sources/http/http_ingest.h"
#include "src/sources/source.h"

namespace driftd {

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

struct MonitorSlot {
  ModelConfig config;
  std::unique_ptr<ModelMonitor> monitor;
  uint64_t windows = 0;
  std::string latest_json;
  std::shared_ptr<const WindowResult> latest;
  uint64_t latest_version = 0;                         // bumped when latest_json changes
  std::unique_ptr<alerts::ModelAlerts> alerts;         // null: no rules
  std::unique_ptr<alerts::ModelTriggers> triggers;     // null: no trigger policies
  std::unique_ptr<SequentialDetector> sequential;      // null: not tumbling, or off
  uint64_t alerts_version = 1;                         // bumped when its alert states change
  uint64_t triggers_sent = 0, triggers_held_back = 0;  // since start
  Histogram window_close_seconds{kDurationBounds};
};

struct SourceSlot {
  std::unique_ptr<Source> source;
  std::unique_ptr<EventDecoder> decoder;
  SourceCounters counters;
  // Replay pacing: the first event's time and the wall time it was read.
  bool paced = false;
  int64_t pace_event0 = 0;
  std::chrono::steady_clock::time_point pace_wall0;
  // The model this source's last prediction went to: the feeders' table
  // is consulted only when it changes.
  const ModelMonitor* last_fed = nullptr;
};

class Daemon {
 public:
  Daemon(DaemonConfig config, RunOptions options) : config_(std::move(config)), options_(options) {}
  ~Daemon() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run() {
    std::error_code ec;
    std::filesystem::create_directories(config_.state_dir, ec);
    if (ec) {
      jlog(spdlog::level::critical, "cannot create state dir {}: {}", config_.state_dir,
           ec.message());
      return 2;
    }
    if (auto st = lock_state_dir(); !st) return fatal(st.error().message);
    checkpoint_path_ = (std::filesystem::path(config_.state_dir) / "checkpoint.bin").string();
    remove_stale_temp_files();
    if (auto st = windows_log_.open(config_.windows_log); !st) return fatal(st.error().message);
    if (auto st = dead_letter_.open(config_.dead_letter); !st) return fatal(st.error().message);
    if (auto st = open_alerts_log(config_); !st) return fatal(st.error().message);
    if (!config_.sinks.empty()) {
      auto outbox = alerts::Outbox::open(
          (std::filesystem::path(config_.state_dir) / "outbox.sqlite").string());
      if (!outbox) return fatal(outbox.error().message);
      outbox_ = std::move(*outbox);
      published_.outbox = outbox_.get();
      std::vector<alerts::SinkConfig> sinks;
      for (const auto& sink : config_.sinks) sinks.push_back(*sink);
      deliverer_ = std::make_unique<alerts::Deliverer>(*outbox_, std::move(sinks));
      deliverer_->start();
    }
    build_monitors();
    auto restored = restore();
    if (!restored) return fatal(restored.error().message);
    for (auto& slot : sources_) {
      const std::string* position = nullptr;
      if (auto it = restored->find(slot.counters.name); it != restored->end()) {
        position = &it->second;
      }
      if (auto st = slot.source->open(position); !st) return fatal(st.error().message);
      // A rebalance takes partitions away only after the state covering
      // them is checkpointed.
      slot.source->before_revoke = [this] { checkpoint(); };
    }
    HttpServer server(published_, config_.server, ingest_.get());
    if (auto st = server.start(); !st) return fatal(st.error().message);
    jlog(spdlog::level::info, "listening on {} (port {}); /metrics, /v1/models",
         config_.server.listen, server.port());
    started_ = true;
    publish();

    auto last_checkpoint = std::chrono::steady_clock::now();
    auto last_retry = last_checkpoint;
    while (!g_stop.load()) {
      if (blocked()) {
        // A log cannot take its lines: read nothing more, checkpoint
        // nothing, retry twice a second (the disk may come back).
        const auto now = std::chrono::steady_clock::now();
        if (now - last_retry >= std::chrono::milliseconds(500)) {
          last_retry = now;
          if (windows_log_.retry() && dead_letter_.retry() && alerts_log_.retry() &&
              flush_outbox()) {
            jlog(spdlog::level::info, "{}, {} and {} take lines again: reading resumes",
                 windows_log_.path(), dead_letter_.path(), alerts_log_.path());
          }
        }
        publish();
        if (g_reload.exchange(false)) reload();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      bool progressed = false;
      for (auto& slot : sources_) progressed = poll(slot) || progressed;
      publish();
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_checkpoint).count() >=
          config_.checkpoint_interval_s) {
        checkpoint();
        last_checkpoint = now;
        prune_outbox();
        // Now and then, the heap's free pages back to the system
        // (src/common/process_memory.h says why).
        if (now - last_trim_ >= std::chrono::seconds(60)) {
          return_free_memory();
          last_trim_ = now;
        }
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
    stopping_ = true;
    publish();
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
    // Accepted HTTP events are applied before the final checkpoint (a
    // durable log would replay them anyway; this keeps restarts short).
    for (auto& slot : sources_) slot.source->stop_intake();
    windows_log_.retry();
    dead_letter_.retry();
    alerts_log_.retry();
    for (auto& slot : sources_) {
      if (!slot.source->drains_on_stop()) continue;
      while (!blocked() && poll(slot)) {
      }
    }
    const bool saved = checkpoint();
    for (auto& slot : sources_) slot.source->close();
    finished.store(true);
    watchdog.join();
    // An attempt in progress finishes (within its sink's timeout); what is
    // not delivered stays in the outbox for the next start.
    if (deliverer_) deliverer_->stop();
    server.stop();
    jlog(spdlog::level::info, "stopped{}",
         saved ? " after a final checkpoint" : " (checkpoint failed)");
    return saved ? 0 : 1;
  }

 private:
  // One daemon per state dir: a second one would interleave its
  // checkpoints, logs and ingest log with this one's. flock: the kernel
  // lets go when the process dies, however it dies.
  Status lock_state_dir() {
    const std::string path = (std::filesystem::path(config_.state_dir) / "lock").string();
    // Held read-only: the lock takes no write access to the state dir's
    // file system (which may then be remounted read-only, as the kernel
    // does after I/O errors, and report that as the checkpoint's error).
    lock_fd_ = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return Error{"cannot open " + path + ": " + std::strerror(errno)};
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      const ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
      std::string holder(pid, n > 0 ? static_cast<size_t>(n) : 0);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      return Error{"the state dir " + config_.state_dir + " is in use by another driftd" +
                   (holder.empty() ? std::string() : " (pid " + holder + ")") +
                   ": give each daemon its own [state] dir"};
    }
    // The pid, for the message above (best effort: the lock is what counts).
    const std::string pid = std::to_string(::getpid()) + "\n";
    const int w = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (w < 0 || ::write(w, pid.data(), pid.size()) < 0) {
      jlog(spdlog::level::warn, "cannot write the pid to {}: {}", path, std::strerror(errno));
    }
    if (w >= 0) ::close(w);
    return {};
  }

  // A checkpoint's temp file left by a process killed while writing it
  // (write_file_atomic: checkpoint.bin.tmp.<pid>); under the lock none is
  // another live daemon's.
  void remove_stale_temp_files() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(config_.state_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("checkpoint.bin.tmp.", 0) != 0) continue;
      std::error_code rm;
      std::filesystem::remove(entry.path(), rm);
      jlog(spdlog::level::info, "removed {}, left by a checkpoint that was cut short", name);
    }
  }

  // The alerts log is opened once some model has rules or triggers (so that
  // a daemon without them writes nothing there, and holds no file of it open).
  Status open_alerts_log(const DaemonConfig& config) {
    if (alerts_log_open_) return {};
    bool rules = false;
    for (const auto& m : config.models) rules = rules || !m.rules.empty() || !m.triggers.empty();
    if (!rules) return {};
    DRIFTD_TRY(alerts_log_.open(config.alerts_log));
    alerts_log_open_ = true;
    return {};
  }

  int fatal(const std::string& message) {
    jlog(spdlog::level::critical, "{}", message);
    return 2;
  }

  void build_monitors() {
    monitors_.clear();
    feeders_.clear();
    for (auto& s : sources_) s.last_fed = nullptr;
    router_ = Router();
    for (auto& m : config_.models) {
      MonitorSlot slot;
      slot.config = m;
      slot.monitor = std::make_unique<ModelMonitor>(m.baseline, m.monitor);
      if (!m.rules.empty()) {
        slot.alerts = std::make_unique<alerts::ModelAlerts>(
            m.name, m.version, m.monitor.window.kind == WindowSettings::Kind::kTime, m.rules);
      }
      if (!m.triggers.empty()) {
        slot.triggers = std::make_unique<alerts::ModelTriggers>(
            m.name, m.version, m.monitor.window.kind == WindowSettings::Kind::kTime,
            baseline_identity_json(m), m.triggers);
      }
      if (m.reference) slot.monitor->attach_reference(m.reference, m.reference_name);
      // Sequential charts need windows that do not overlap.
      const DriftRules& rules = m.monitor.rules;
      if (rules.sequential && m.monitor.window.step == m.monitor.window.size) {
        slot.sequential = std::make_unique<SequentialDetector>(rules.sequential_run_length);
      }
      monitors_.push_back(std::move(slot));
    }
    for (auto& slot : monitors_) {
      router_.add(slot.config.name, slot.config.version, slot.monitor.get());
    }
    if (sources_.empty()) {
      for (const auto& s : config_.sources) {
        SourceSlot slot;
        slot.source = source_type(s.type)->make(s, SourceContext{config_.state_dir});
        if (auto queue = slot.source->ingest_queue()) ingest_ = std::move(queue);
        slot.decoder = std::make_unique<EventDecoder>(s.fields, router_);
        slot.counters.name = s.name;
        slot.counters.type = s.type;
        sources_.push_back(std::move(slot));
      }
    }
    if (ingest_) ingest_->set_routes(std::make_shared<const Router>(router_.routes_only()));
    std::lock_guard<std::mutex> lock(published_.mu);
    published_.models.clear();
    for (const auto& slot : monitors_) {
      ModelView v;
      v.name = slot.config.name;
      v.version = slot.config.version;
      v.baseline_path = slot.config.baseline_path;
      v.reference_path = slot.config.reference_path;
      v.reference_name = slot.config.reference_name;
      v.window = slot.config.monitor.window;
      v.rules = slot.config.monitor.rules;
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

  // A log holds lines it could not write: no input is read and no
  // checkpoint written until it takes them (PendingLines).
  bool blocked() const {
    return windows_log_.pending() > 0 || dead_letter_.pending() > 0 || alerts_log_.pending() > 0 ||
           !outbox_waiting_.empty();
  }

  // Puts the alert changes that wait into the outbox (durable there before
  // any sink sees them); true when none waits.
  bool flush_outbox() {
    if (outbox_waiting_.empty()) return true;
    auto added = outbox_->add(outbox_waiting_, wall_clock_ms());
    if (!added) {
      if (outbox_error_ != added.error().message) {
        jlog(spdlog::level::err, "{}; reading paused until it takes them (nothing is lost)",
             added.error().message);
        outbox_error_ = added.error().message;
      }
      return false;
    }
    if (!outbox_error_.empty()) jlog(spdlog::level::info, "the outbox takes alerts again");
    outbox_error_.clear();
    outbox_waiting_.clear();
    deliverer_->wake();
    return true;
  }

  void on_window(MonitorSlot& slot, WindowResult&& w) {
    const auto began = std::chrono::steady_clock::now();
    if (slot.sequential) slot.sequential->update(w.report, slot.config.monitor.rules);
    std::string line = window_json_line(w, slot.config.monitor.window);
    windows_log_.write(line);
    jlog(spdlog::level::info,
         "window closed model={} version={} id={} rows={} drifted={}/{} dataset_drift={}",
         slot.config.name, slot.config.version, w.id, w.report.rows, w.report.features_drifted,
         w.report.features_compared, w.report.dataset_drift);
    ++slot.windows;
    notifications_.clear();
    // The window's alert and trigger lines go to the alerts log in one
    // append: one write, not one per change.
    std::string alert_lines;
    if (slot.alerts) {
      ++slot.alerts_version;
      slot.alerts->evaluate(w, notifications_);
      for (const alerts::Notification& n : notifications_) {
        std::string json = alerts::notification_json(n);
        alert_lines += json;
        alert_lines += '\n';
        if (outbox_) {
          alerts::Outbox::Entry e{n.key,   std::move(json),           n.sinks,
                                  "alert", alerts::alert_identity(n), n.firing};
          if (e.sinks.empty()) e.sinks = sinks_taking(alerts::SinkTakes::kAlerts);
          outbox_waiting_.push_back(std::move(e));
        }
        jlog(n.firing ? spdlog::level::warn : spdlog::level::info,
             "alert {} rule={} model={} version={}{}{} window={}", n.firing ? "firing" : "resolved",
             n.rule, n.model, n.version, n.feature.empty() ? "" : " feature=", n.feature,
             n.window_id);
      }
    }
    if (slot.triggers) {
      triggers_.clear();
      slot.triggers->evaluate(w, notifications_, wall_clock_ms(), triggers_);
      for (alerts::Trigger& t : triggers_) {
        if (!t.sent) {
          ++slot.triggers_held_back;
          jlog(spdlog::level::info,
               "trigger {} held back model={} version={} rule={} window={}: {}", t.policy, t.model,
               t.version, t.rule, t.window_id, t.held_back);
          continue;
        }
        ++slot.triggers_sent;
        alert_lines += t.body;
        alert_lines += '\n';
        if (outbox_) {
          alerts::Outbox::Entry e{t.key, std::move(t.body), t.sinks, "trigger", "", false};
          if (e.sinks.empty()) e.sinks = sinks_taking(alerts::SinkTakes::kTriggers);
          outbox_waiting_.push_back(std::move(e));
        }
        jlog(spdlog::level::warn, "retraining trigger {} model={} version={} rule={} window={}",
             t.policy, t.model, t.version, t.rule, t.window_id);
      }
    }
    if (!alert_lines.empty()) alerts_log_.write(std::move(alert_lines));
    if (outbox_) flush_outbox();
    slot.window_close_seconds.observe(
        w.evaluation_seconds +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    slot.latest_json = std::move(line);
    slot.latest = std::make_shared<const WindowResult>(std::move(w));
    ++slot.latest_version;
  }

  // Bounded history: at most once an hour, the outbox forgets what every
  // sink is done with, past the retention (docs/ALERTS.md).
  void prune_outbox() {
    if (!outbox_) return;
    const int64_t now = wall_clock_ms();
    if (now - last_prune_ms_ < 3'600'000) return;
    last_prune_ms_ = now;
    if (auto st = outbox_->prune(now - config_.outbox_retention_ms, config_.outbox_keep); !st) {
      jlog(spdlog::level::warn, "{}", st.error().message);
    }
  }

  // The names of the sinks that take a kind of notification.
  std::vector<std::string> sinks_taking(alerts::SinkTakes kind) const {
    std::vector<std::string> out;
    for (const auto& sink : config_.sinks) {
      if (static_cast<int>(sink->takes) & static_cast<int>(kind)) {
        out.push_back(sink->settings.name);
      }
    }
    return out;
  }

  // Which baseline a model is judged against, for a trigger's evidence.
  static std::string baseline_identity_json(const ModelConfig& m) {
    JsonWriter j(-1);
    j.begin_object();
    j.key("file").value(std::filesystem::path(m.baseline_path).filename().string());
    j.key("model_version").value(m.baseline->model_version);
    j.key("built_at").value(m.baseline->built_at);
    j.key("training_data").begin_object();
    j.key("file").value(m.baseline->input.file);
    j.key("rows").value(m.baseline->input.rows);
    j.key("xxh3_64").value(m.baseline->input.xxh3_64);
    j.end_object();
    j.end_object();
    return std::move(j.str());
  }

  // Decodes every line of a batch into its model's windows.
  class BatchHandler final : public LineHandler {
   public:
    BatchHandler(Daemon& d, SourceSlot& slot)
        : d_(d), slot_(slot), speed_(slot.source->config().replay_speed) {
      // The future-timestamp bound's clock, read once a batch.
      slot.decoder->set_now_ms(wall_clock_ms());
    }
    void on_line(const char* data, size_t len, size_t capacity, const LineOrigin& origin) override {
      SourceCounters& c = slot_.counters;
      ++c.received;
      if (data == nullptr) {
        d_.dead_letter(slot_, origin, RejectReason::kInvalidJson, "line longer than 16 MiB", {});
        return;
      }
      DecodedEvent ev = slot_.decoder->decode(data, len, capacity, [&](WindowResult&& w) {
        // decode() commits before returning: find the slot by the window's model.
        for (auto& m : d_.monitors_) {
          if (m.config.name == w.report.model_name && m.config.version == w.report.model_version) {
            d_.on_window(m, std::move(w));
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
          d_.dead_letter(slot_, origin, ev.reason, ev.detail,
                         origin.raw.empty() ? std::string_view(data, len) : origin.raw);
          break;
      }
      if ((ev.outcome == EventOutcome::kAdded || ev.outcome == EventOutcome::kLate) &&
          ev.monitor != slot_.last_fed) {
        d_.note_feeder(slot_, ev.monitor);
      }
      if (speed_ > 0 && ev.outcome == EventOutcome::kAdded) d_.pace(slot_, ev.ts_ms, speed_);
    }
    void on_refused(std::string_view raw, RejectReason reason, std::string_view why,
                    const LineOrigin& origin) override {
      SourceCounters& c = slot_.counters;
      ++c.received;
      ++c.rejected[static_cast<size_t>(reason)];
      d_.dead_letter(slot_, origin, reason, why, raw);
    }

   private:
    Daemon& d_;
    SourceSlot& slot_;
    const double speed_;  // replay pacing, read once per batch
  };

  // A model's windows close on the newest event time any source gave it,
  // so with two sources the slower one's events arrive late (and past
  // allowed_lateness are not counted): said once per model, when a second
  // source first feeds it predictions. (Labels from another source are the
  // usual set-up, and are not windowed by it.)
  void note_feeder(SourceSlot& slot, const ModelMonitor* monitor) {
    slot.last_fed = monitor;
    const size_t index = static_cast<size_t>(&slot - sources_.data());
    auto [it, first] = feeders_.try_emplace(monitor, Feeder{index, false});
    if (first || it->second.source == index || it->second.warned) return;
    it->second.warned = true;
    for (const auto& m : monitors_) {
      if (m.monitor.get() != monitor) continue;
      jlog(spdlog::level::warn,
           "model {} version {} gets predictions from sources '{}' and '{}': its windows follow "
           "the newest event time of either, so the slower source's events count as late "
           "beyond allowed_lateness ({:g} s); feed a model from one source, or raise it",
           m.config.name, m.config.version, sources_[it->second.source].counters.name,
           slot.counters.name,
           static_cast<double>(m.config.monitor.window.allowed_lateness) / 1000.0);
    }
  }

  bool poll(SourceSlot& slot) {
    BatchHandler handler(*this, slot);
    return slot.source->poll(handler);
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

  void dead_letter(SourceSlot& slot, const LineOrigin& origin, RejectReason reason,
                   std::string_view detail, std::string_view raw) {
    std::string line = "{\"source\":";
    JsonWriter::append_escaped(line, slot.counters.name);
    std::string where;
    if (origin.partition >= 0) {
      line += ",\"topic\":";
      JsonWriter::append_escaped(line, origin.topic);
      line += ",\"partition\":" + std::to_string(origin.partition);
      where = std::string(origin.topic) + " [" + std::to_string(origin.partition) + "] offset " +
              std::to_string(origin.offset);
    } else if (!origin.topic.empty()) {
      line += ",\"endpoint\":";
      JsonWriter::append_escaped(line, origin.topic);
      where = std::string(origin.topic) + (origin.offset > 0
                                               ? " record " + std::to_string(origin.offset)
                                               : std::string(" (refused before the log)"));
    } else {
      where = "byte " + std::to_string(origin.offset);
    }
    line += ",\"offset\":" + std::to_string(origin.offset) + ",\"reason\":\"";
    line += to_string(reason);
    line += "\",\"detail\":";
    JsonWriter::append_escaped(line, detail);
    line += ",\"event\":";
    JsonWriter::append_escaped(line, raw);
    line += "}\n";
    dead_letter_.write(std::move(line));
    ++rejected_logged_;
    if (rejected_logged_ <= 100 || rejected_logged_ % 10000 == 0) {
      jlog(spdlog::level::warn, "source {} {}: rejected ({}): {}{}", slot.counters.name, where,
           to_string(reason), detail,
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
      sources_[i].counters.at_end = sources_[i].source->at_end();
      sources_[i].counters.open = sources_[i].source->connected();
      sources_[i].counters.status = sources_[i].source->status();
      published_.sources[i] = sources_[i].counters;
    }
    for (size_t i = 0; i < monitors_.size() && i < published_.models.size(); ++i) {
      ModelView& v = published_.models[i];
      const MonitorSlot& s = monitors_[i];
      v.events = s.monitor->events();
      v.late = s.monitor->late_events();
      v.has_triggers = s.triggers != nullptr;
      v.triggers_sent = s.triggers_sent;
      v.triggers_held_back = s.triggers_held_back;
      if (v.alerts_version != s.alerts_version) {
        v.alerts_version = s.alerts_version;
        // Alerts change only at a window close (or a restore, or a reload).
        std::map<std::pair<std::string, std::string>, uint64_t> firing;
        v.active_alerts.clear();
        if (s.alerts) {
          for (const auto& r : s.alerts->rules()) {
            firing[{r->name(), to_string(r->spec().severity)}];
          }
          for (const auto& a : s.alerts->active()) {
            ActiveAlert out;
            out.firing = a.state->phase == alerts::Phase::kFiring;
            out.rule = a.rule->name();
            out.severity = to_string(a.rule->spec().severity);
            if (out.firing) ++firing[{out.rule, out.severity}];
            out.feature = a.feature;
            // Window ends (event time, or sequence numbers for count windows).
            out.since = out.firing ? a.state->fired_at : a.state->pending_since;
            if (out.firing) out.fired_window = a.state->fired_window;
            out.value = a.state->value;
            out.threshold = a.state->threshold;
            v.active_alerts.push_back(std::move(out));
          }
        }
        v.firing.assign(firing.begin(), firing.end());
      }
      v.labels = s.monitor->label_counters();
      v.pending_labels = s.monitor->pending_labels();
      v.newest_event_ms = s.monitor->settings().window.kind == WindowSettings::Kind::kTime
                              ? s.monitor->newest_event_time()
                              : 0;
      v.window_close_seconds = s.window_close_seconds;
      v.windows = s.windows;
      if (v.latest_version != s.latest_version) {
        v.latest_version = s.latest_version;
        v.latest = s.latest;
        v.latest_json = s.latest_json;
      }
    }
    published_.checkpoint_failures = checkpoint_failures_;
    published_.windows_log_failures = windows_log_.failures();
    published_.windows_log_pending = windows_log_.pending();
    published_.reload_failures = reload_failures_;
    if (deliverer_) {
      published_.sinks.resize(deliverer_->sinks().size());
      for (size_t i = 0; i < published_.sinks.size(); ++i) {
        SinkView& sv = published_.sinks[i];
        const auto& c = deliverer_->counters(i);
        sv.name = deliverer_->sinks()[i].settings.name;
        sv.type = deliverer_->sinks()[i].settings.type;
        sv.delivered = c.delivered.load();
        sv.failed = c.failed.load();
        sv.dead = c.dead.load();
        sv.pending = c.pending.load();
        sv.repeated = c.repeated.load();
        sv.repeat_failed = c.repeat_failed.load();
        sv.latency.resize(c.latency.size());
        for (size_t b = 0; b < c.latency.size(); ++b) sv.latency[b] = c.latency[b].load();
        sv.latency_sum_s = static_cast<double>(c.latency_sum_ms.load()) / 1000;
      }
    }
    // Ready: serving, every log taking its lines, the last checkpoint written.
    std::string why;
    if (!started_) {
      why = "loading baselines or opening sources";
    } else if (stopping_) {
      why = "stopping";
    } else if (windows_log_.pending() > 0) {
      why = "the windows log " + windows_log_.path() + " cannot be written (" +
            windows_log_.error() + "); " + std::to_string(windows_log_.pending()) +
            " windows wait, reading is paused";
    } else if (dead_letter_.pending() > 0) {
      why = "the dead-letter file " + dead_letter_.path() + " cannot be written (" +
            dead_letter_.error() + "); reading is paused";
    } else if (alerts_log_.pending() > 0) {
      why = "the alerts log " + alerts_log_.path() + " cannot be written (" + alerts_log_.error() +
            "); reading is paused";
    } else if (!outbox_waiting_.empty()) {
      why = outbox_error_ + "; reading is paused";
    } else if (!checkpoint_error_.empty()) {
      why = "the last checkpoint failed: " + checkpoint_error_;
    }
    published_.not_ready = why;
    published_.ready.store(why.empty());
    if (ingest_ && why != paused_reason_) {
      // HTTP ingest answers 503 with Retry-After while the daemon cannot
      // make what it takes durable (the windows or dead letters it yields).
      paused_reason_ = why;
      ingest_->set_paused(started_ && !stopping_ && blocked() ? why : std::string());
    }
  }

  // ---- checkpoint ----

  std::string model_key(const ModelConfig& m) const {
    // What a saved state depends on: the baseline's identity and the
    // window layout. A change of either starts the model afresh.
    const WindowSettings& w = m.monitor.window;
    // A resolution not a multiple of 256 has had three more grid points
    // since the winsorized tests (stats/robust.h): state saved before them
    // holds another grid's slots.
    const std::string grid = m.monitor.ks_resolution % 256 == 0 ? "" : "+robust";
    return m.name + "\n" + m.version + "\n" + m.baseline->input.xxh3_64 + "\n" +
           m.baseline->built_at + "\n" + std::to_string(m.monitor.ks_resolution) + grid + "\n" +
           std::to_string(m.monitor.max_new_categories) + "\n" +
           (w.kind == WindowSettings::Kind::kCount ? "count" : "time") + "\n" +
           std::to_string(w.size) + "\n" + std::to_string(w.step) + "\n" +
           std::to_string(w.allowed_lateness) + "\n" + std::to_string(m.monitor.labels.ttl_ms) +
           "\n" + std::to_string(m.monitor.labels.max_pending) + "\n" +
           std::to_string(m.monitor.labels.threshold) +
           (m.reference ? "\nreference\n" + m.reference->input.xxh3_64 + "\n" +
                              m.reference->built_at + "\n" + m.reference_name
                        : std::string());
  }

  bool checkpoint() {
    const auto began = std::chrono::steady_clock::now();
    // Never past a window (or dead letter) that is not durably in its log:
    // a restart from this checkpoint would not make it again.
    auto refuse = [&](const std::string& why) {
      ++checkpoint_failures_;
      if (checkpoint_error_ != why) jlog(spdlog::level::err, "checkpoint not written: {}", why);
      checkpoint_error_ = why;
      return false;
    };
    if (blocked()) {
      return refuse("closed windows, dead letters or alerts wait for their log (" +
                    (windows_log_.pending() > 0   ? windows_log_.error()
                     : dead_letter_.pending() > 0 ? dead_letter_.error()
                                                  : alerts_log_.error()) +
                    ")");
    }
    if (!windows_log_.sync())
      return refuse("cannot fsync " + windows_log_.path() + ": " + windows_log_.error());
    if (!dead_letter_.sync())
      return refuse("cannot fsync " + dead_letter_.path() + ": " + dead_letter_.error());
    if (alerts_log_open_ && !alerts_log_.sync())
      return refuse("cannot fsync " + alerts_log_.path() + ": " + alerts_log_.error());
    Checkpoint c;
    for (const auto& s : sources_) {
      CheckpointSource r;
      r.name = s.counters.name;
      r.identity = s.source->identity();
      r.position = s.source->save_position();
      r.received = s.counters.received;
      r.added = s.counters.added;
      r.late = s.counters.late;
      r.labels = s.counters.labels;
      r.rejected = s.counters.rejected;
      c.sources.push_back(std::move(r));
    }
    for (const auto& m : monitors_) {
      CheckpointModel r;
      r.key = model_key(m.config);
      r.windows = m.windows;
      r.latest_json = m.latest_json;
      ByteWriter state;
      m.monitor->save(state);
      r.state = std::move(state.bytes());
      if (m.alerts) {
        ByteWriter alerts;
        m.alerts->save(alerts);
        r.alerts = std::move(alerts.bytes());
      }
      if (m.triggers) {
        ByteWriter triggers;
        m.triggers->save(triggers);
        r.triggers = std::move(triggers.bytes());
      }
      if (m.sequential) {
        ByteWriter charts;
        m.sequential->save(charts);
        r.sequential = std::move(charts.bytes());
      }
      c.models.push_back(std::move(r));
    }
    const std::string framed = encode_checkpoint(c);
    if (auto st = write_file_atomic(checkpoint_path_, framed); !st) {
      return refuse(st.error().message);
    }
    if (!checkpoint_error_.empty()) jlog(spdlog::level::info, "checkpoints are written again");
    checkpoint_error_.clear();
    for (auto& src : sources_) src.source->checkpointed();
    std::lock_guard<std::mutex> lock(published_.mu);
    published_.last_checkpoint_unix = unix_now();
    published_.checkpoint_bytes = framed.size();
    published_.checkpoint_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    return true;
  }

  // Restores monitors and counters; returns each source's saved position.
  Result<std::map<std::string, std::string>> restore() {
    std::map<std::string, std::string> positions;
    if (!std::filesystem::exists(checkpoint_path_)) {
      jlog(spdlog::level::info, "no checkpoint at {}: starting fresh", checkpoint_path_);
      return positions;
    }
    auto file = FileBuffer::load(checkpoint_path_);
    if (!file) return Error{file.error().message};
    auto c = decode_checkpoint(file->text(), checkpoint_path_);
    if (!c) {
      return Error{c.error().message +
                   "; move it away to start afresh (events since it would be read again)"};
    }
    for (auto& saved : c->sources) {
      bool matched = false;
      for (auto& s : sources_) {
        if (s.counters.name != saved.name) continue;
        matched = true;
        if (s.source->identity() != saved.identity) {
          jlog(spdlog::level::warn, "source {} now reads {} (checkpoint: {}): starting it afresh",
               saved.name, s.source->identity(), saved.identity);
          continue;
        }
        positions[saved.name] = std::move(saved.position);
        s.counters.received = saved.received;
        s.counters.added = saved.added;
        s.counters.late = saved.late;
        s.counters.labels = saved.labels;
        s.counters.rejected = saved.rejected;
      }
      if (!matched) {
        jlog(spdlog::level::warn, "checkpoint source {} is no longer configured: dropped",
             saved.name);
      }
    }
    for (auto& saved : c->models) {
      for (auto& m : monitors_) {
        if (model_key(m.config) != saved.key) continue;
        ByteReader sr(saved.state);
        if (!m.monitor->load(sr) || !sr.at_end()) {
          return Error{checkpoint_path_ + ": the state of model " + m.config.name +
                       " does not load: " + sr.error()};
        }
        if (m.alerts && !saved.alerts.empty()) {
          ++m.alerts_version;
          ByteReader ar(saved.alerts);
          if (auto st = m.alerts->load(ar); !st || !ar.at_end()) {
            return Error{
                checkpoint_path_ + ": the alert states of model " + m.config.name +
                " do not load: " + (st ? std::string("bytes after the end") : st.error().message)};
          }
        }
        if (m.triggers && !saved.triggers.empty()) {
          ByteReader tr(saved.triggers);
          if (auto st = m.triggers->load(tr); !st || !tr.at_end()) {
            return Error{
                checkpoint_path_ + ": the trigger states of model " + m.config.name +
                " do not load: " + (st ? std::string("bytes after the end") : st.error().message)};
          }
        }
        if (m.sequential && !saved.sequential.empty()) {
          ByteReader qr(saved.sequential);
          if (!m.sequential->load(qr) || !qr.at_end()) {
            return Error{checkpoint_path_ + ": the sequential charts of model " + m.config.name +
                         " do not load: " + qr.error()};
          }
        }
        m.windows = saved.windows;
        // The API and the metrics serve the restored latest window at once.
        m.latest_json = std::move(saved.latest_json);
        if (!m.latest_json.empty()) {
          auto latest = parse_window_line(m.latest_json, checkpoint_path_);
          if (latest) {
            m.latest = std::make_shared<const WindowResult>(std::move(*latest));
          } else {
            jlog(spdlog::level::warn, "{} (its metrics return with the next window)",
                 latest.error().message);
          }
        }
        ++m.latest_version;
      }
    }
    jlog(spdlog::level::info, "restored checkpoint {}", checkpoint_path_);
    publish();
    return positions;
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
    // The delivery threads are the start-up's sinks: a reload that changes
    // them (and rules routed to a new one) waits for a restart.
    bool sinks_changed = fresh->sinks.size() != config_.sinks.size();
    for (size_t i = 0; !sinks_changed && i < fresh->sinks.size(); ++i) {
      sinks_changed = fresh->sinks[i]->settings.name != config_.sinks[i]->settings.name ||
                      fresh->sinks[i]->settings.type != config_.sinks[i]->settings.type;
    }
    if (sinks_changed) {
      ++reload_failures_;
      jlog(spdlog::level::err,
           "reload refused, the running configuration stays: [[sinks]] changed (sinks change at "
           "a restart)");
      return;
    }
    if (auto st = open_alerts_log(*fresh); !st) {
      ++reload_failures_;
      jlog(spdlog::level::err, "reload refused, the running configuration stays: {}",
           st.error().message);
      return;
    }
    // Sources are positional state: a reload keeps them (a change needs a restart).
    bool sources_changed = fresh->sources.size() != config_.sources.size();
    for (size_t i = 0; !sources_changed && i < fresh->sources.size(); ++i) {
      sources_changed = fresh->sources[i].name != config_.sources[i].name ||
                        !fresh->sources[i].options->same_as(*config_.sources[i].options) ||
                        fresh->sources[i].type != config_.sources[i].type;
    }
    if (sources_changed || fresh->server.listen != config_.server.listen ||
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
        if (m.alerts && o.alerts) {
          // The states of rules that are still there, by name.
          ByteWriter states;
          o.alerts->save(states);
          ByteReader sr(states.bytes());
          (void)m.alerts->load(sr);
        }
        if (m.triggers && o.triggers) {
          ByteWriter states;
          o.triggers->save(states);
          ByteReader tr(states.bytes());
          (void)m.triggers->load(tr);
        }
        if (m.sequential && o.sequential) {
          ByteWriter charts;
          o.sequential->save(charts);
          ByteReader qr(charts.bytes());
          (void)m.sequential->load(qr);
        }
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
    return_free_memory();  // the old baselines and the load's buffers
    for (const auto& w : alerts::rule_warnings(config_)) jlog(spdlog::level::warn, "{}", w);
  }

  DaemonConfig config_;
  RunOptions options_;
  Published published_;
  Router router_;
  std::vector<MonitorSlot> monitors_;
  std::vector<SourceSlot> sources_;
  struct Feeder {
    size_t source;  // the first source that fed the model predictions
    bool warned;
  };
  std::unordered_map<const ModelMonitor*, Feeder> feeders_;
  std::shared_ptr<IngestQueue> ingest_;  // with an http source
  PendingLines windows_log_, dead_letter_, alerts_log_;
  bool alerts_log_open_ = false;
  // With [[sinks]]: the outbox, its delivery threads, and the alert changes
  // waiting for it (it could not take them: reading pauses, as for a log).
  std::unique_ptr<alerts::Outbox> outbox_;
  std::unique_ptr<alerts::Deliverer> deliverer_;
  std::vector<alerts::Outbox::Entry> outbox_waiting_;
  std::string outbox_error_;
  std::vector<alerts::Notification> notifications_;  // reused at each window close
  std::vector<alerts::Trigger> triggers_;            // reused at each window close
  int64_t last_prune_ms_ = 0;
  std::string checkpoint_path_;
  int lock_fd_ = -1;  // holds the state dir's flock for the process's life
  bool flushed_ = false;
  uint64_t rejected_logged_ = 0;
  uint64_t checkpoint_failures_ = 0, reload_failures_ = 0;
  std::string checkpoint_error_;  // why the last checkpoint failed (empty: it was written)
  std::string paused_reason_;     // what HTTP ingest was last told
  bool started_ = false, stopping_ = false;
  std::chrono::steady_clock::time_point last_publish_{};
  std::chrono::steady_clock::time_point last_trim_{};
};

}  // namespace

int run_daemon(const std::string& config_path, const RunOptions& options) {
  set_allocation_policy();
  auto config = load_daemon_config(config_path);
  if (!config) {
    std::fprintf(stderr, "driftd: %s\n", config.error().message.c_str());
    return 2;
  }
  return_free_memory();  // what loading the baselines needed for a moment
  setup_logging(config->log_level);
  for (const auto& w : alerts::rule_warnings(*config)) jlog(spdlog::level::warn, "{}", w);
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
