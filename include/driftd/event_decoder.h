// Decodes prediction events (one JSON object each) and feeds them to the
// monitor of their model: src/daemon/event_scan.h reads the JSON (simdjson
// On-Demand, one reused parser, into reused arrays), this gives the fields
// their meaning. Nothing is allocated per event on the accepted path.
//
// Event: {"model":"fraud","model_version":"3","id":"req-81",
//         "ts":"2026-11-22T10:00:00Z" (or epoch ms),
//         "features":{"amount":12.5,"country":"DE"},"prediction":0.83}
// Field names come from the source's configuration. Keys may come in any
// order. A label event ({"model":..,"id":..,"label":1,"ts":..}) is joined
// to its prediction by id (ModelMonitor::join_label).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/daemon_config.h"
#include "driftd/same_bytes.h"
#include "driftd/window.h"

namespace driftd {

// (model name, version) -> monitor.
class Router {
 public:
  void add(const std::string& model, const std::string& version, ModelMonitor* monitor);
  // The monitor for a model and version; with no version in the event, the
  // model's only version (nullptr when it has several).
  ModelMonitor* find(std::string_view model, std::string_view version) const;

 private:
  std::map<std::string, std::vector<std::pair<std::string, ModelMonitor*>>, std::less<>> models_;
};

enum class EventOutcome { kAdded, kLate, kLabel, kRejected };

// Why an event was rejected: a fixed set, so metrics labels stay few.
enum class RejectReason {
  kNone,
  kInvalidJson,
  kNotAnObject,
  kMissingModel,
  kUnknownModel,
  kMissingTimestamp,
  kBadTimestamp,
  kBadLabel,
};
inline constexpr size_t kRejectReasons = 8;  // RejectReason values
const char* to_string(RejectReason r);

struct DecodedEvent {
  EventOutcome outcome = EventOutcome::kRejected;
  RejectReason reason = RejectReason::kNone;
  std::string_view detail;  // human-readable, valid until the next decode
  ModelMonitor* monitor = nullptr;
  int64_t ts_ms = 0;
  LabelOutcome label = LabelOutcome::kUnmatched;  // kLabel events
};

// "2026-11-22T10:00:00Z", with optional fraction and a Z or +hh:mm offset.
bool parse_iso8601_ms(std::string_view text, int64_t* ms);

namespace scan {
class Scanner;
struct Event;
struct Field;
struct Value;
}  // namespace scan

class EventDecoder {
 public:
  EventDecoder(EventFields fields, const Router& router);
  ~EventDecoder();
  // `data` must stay readable for `capacity` bytes with capacity >= len +
  // simdjson::SIMDJSON_PADDING (the following lines of a buffer serve).
  DecodedEvent decode(const char* data, size_t len, size_t capacity,
                      const ModelMonitor::OnWindow& on_window);

 private:
  void stage(const scan::Value& v, ModelMonitor& m, int column);
  // allow_direct: features may be staged as the scan reaches them (DirectStage).
  DecodedEvent decode(const char* data, size_t len, size_t capacity,
                      const ModelMonitor::OnWindow& on_window, bool allow_direct);
  struct DirectStage;

  // What a top-level key is. Producers write keys in the same order event
  // after event, so the key seen at a position last time is compared first
  // and its role reused (as ModelMonitor::column_at does for features).
  enum class TopRole : uint8_t {
    kOther,
    kModel,
    kVersion,
    kTimestamp,
    kFeatures,
    kPrediction,
    kLabel,
    kId
  };
  TopRole role_of(std::string_view key) const;
  TopRole role_at(size_t position, std::string_view key) {
    TopRole role = TopRole::kOther;
    if (top_roles_.find(position, key, &role)) return role;
    role = role_of(key);
    top_roles_.learn(position, key, role);
    return role;
  }
  KeysByPosition<TopRole> top_roles_;
  // The monitor of the last event's model and version: consecutive events
  // mostly share it, and one compare replaces the router's map lookup.
  ModelMonitor* find_monitor(std::string_view model, std::string_view version);
  PaddedKey last_model_, last_version_;
  ModelMonitor* last_monitor_ = nullptr;

  EventFields fields_;
  const Router& router_;
  std::unique_ptr<scan::Scanner> scanner_;
  std::unique_ptr<scan::Event> event_;
  std::vector<scan::Field> top_, features_;  // the scanner's output arrays
  std::string detail_;
};

}  // namespace driftd
