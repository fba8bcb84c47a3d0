// What the ingest thread shows the HTTP thread: copies of counters and the
// latest window of each model, refreshed once per batch and at window
// closes under one mutex (the event path never takes it).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "driftd/common/histogram.h"
#include "driftd/decode/event_decoder.h"
#include "driftd/window/window.h"
#include "src/sources/source.h"

namespace driftd {
namespace alerts {
class Outbox;
}  // namespace alerts

struct SourceCounters {
  std::string name, type;
  uint64_t received = 0;                            // events read (lines)
  uint64_t added = 0;                               // added to a window
  uint64_t late = 0;                                // too late for every open window
  uint64_t labels = 0;                              // label events (joined or not: see ModelView)
  std::array<uint64_t, kRejectReasons> rejected{};  // by RejectReason
  bool open = false;                                // readable (for /readyz)
  bool at_end = false;
  std::shared_ptr<const SourceStatus> status;  // the type's own (Source::status())

  // The status as its type made it (the type's own metrics only).
  template <typename T>
  const T* status_as() const {
    return dynamic_cast<const T*>(status.get());
  }
};

// An alert pending or firing, as GET /v1/alerts shows it (rendered there,
// at request time, not at every window close).
struct ActiveAlert {
  std::string rule, feature, fired_window;  // fired_window: when firing
  const char* severity = "";
  bool firing = false;  // else pending
  int64_t since = 0;    // the window end it fired (or went pending) at
  std::optional<double> value, threshold;
};

struct ModelView {
  std::string name, version, baseline_path;
  std::string reference_path, reference_name;  // the second reference, if any
  WindowSettings window;
  DriftRules rules;  // the thresholds of its drift methods
  uint64_t events = 0, late = 0, windows = 0;
  ModelMonitor::LabelCounters labels;
  uint64_t pending_labels = 0;
  int64_t newest_event_ms = 0;  // time windows: the largest event time seen
  // Window closes: the monitor's evaluation plus logging and alert rules.
  Histogram window_close_seconds{kDurationBounds};
  std::vector<std::string> features;
  // The latest closed window: the windows-log line, and its parsed report
  // (for metrics).
  std::string latest_json;
  std::shared_ptr<const WindowResult> latest;
  uint64_t latest_version = 0;
  // Alerts firing, per (rule, severity): changes only when a window closes.
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> firing;
  // Its alerts pending or firing (GET /v1/alerts).
  std::vector<ActiveAlert> active_alerts;
  uint64_t alerts_version = 0;                         // MonitorSlot::alerts_version they are of
  uint64_t triggers_sent = 0, triggers_held_back = 0;  // retraining triggers since start
  bool has_triggers = false;
};

// An alert sink's deliveries (alerts/outbox/deliverer.h).
struct SinkView {
  std::string name, type;
  uint64_t delivered = 0, failed = 0, dead = 0, pending = 0;
  uint64_t repeated = 0, repeat_failed = 0;  // Alertmanager's re-sends of firing alerts
  // Delivery latency: per bucket (Deliverer::kLatencyBounds, then +Inf,
  // not cumulative), and the sum.
  std::vector<uint64_t> latency;
  double latency_sum_s = 0;
};

struct Published {
  mutable std::mutex mu;
  std::vector<SourceCounters> sources;
  std::vector<ModelView> models;
  double last_checkpoint_unix = 0;
  uint64_t checkpoint_failures = 0;
  uint64_t checkpoint_bytes = 0;  // the last checkpoint written
  Histogram checkpoint_seconds{kDurationBounds};
  uint64_t windows_log_failures = 0;
  uint64_t windows_log_pending = 0;  // closed windows the log has not taken yet
  uint64_t reload_failures = 0;
  std::vector<SinkView> sinks;
  std::string not_ready;  // why /readyz answers 503 (when ready is false)
  std::atomic<bool> ready{false};
  // The outbox (history of alerts and triggers, GET /v1/alerts/history and
  // /v1/triggers): set before the server starts, outlives it; null
  // without [[sinks]]. Thread-safe on its own.
  alerts::Outbox* outbox = nullptr;
};

}  // namespace driftd
