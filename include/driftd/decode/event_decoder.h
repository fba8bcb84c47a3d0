// Reads prediction and label events (one JSON object each) and feeds them
// to the monitor of their model: src/decode/event_scan.h reads the JSON
// (simdjson On-Demand, one reused parser, into reused arrays); EventReader
// gives the fields their meaning and decides whether the event is taken;
// EventDecoder stages the features of a taken event into its monitor.
// Nothing is allocated per event on the accepted path.
//
// Event: {"model":"fraud","model_version":"3","id":"req-81",
//         "ts":"2026-11-22T10:00:00Z" (or epoch ms),
//         "features":{"amount":12.5,"country":"DE"},"prediction":0.83}
// Field names come from the source's configuration. Keys may come in any
// order. A label event ({"model":..,"id":..,"label":1,"ts":..}) is joined
// to its prediction by id (ModelMonitor::join_label).
//
// One verdict for every source: the file and Kafka sources decode each
// line on the ingest thread, the HTTP source checks each line on its own
// threads before answering (EventReader::verdict, with the routes only),
// and both run EventReader::read, the same code, on the same bytes. What
// it refuses:
// - invalid JSON (json::validate, the walk of json_walk.h, decides and
//   names the place): a member without a value, a bare NaN or Infinity,
//   content after the object, nesting deeper than 64, a bad escape;
// - not an object; no model or one not monitored; a missing or bad
//   timestamp (time windows), or one more than the model's max_future
//   ahead of the wall clock; features that are not an object; a label
//   event without a usable label or id.
// A number that simdjson cannot read as a finite double where a feature
// or the prediction belongs (1e999, 1.2.3) is valid JSON shape for this
// purpose: that cell counts as a type error, as text in a numeric column
// does, and the event is kept.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/daemon/daemon_config.h"
#include "driftd/io/same_bytes.h"
#include "driftd/route/router.h"
#include "driftd/window/window.h"

namespace driftd {

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
  kFutureTimestamp,
};
inline constexpr size_t kRejectReasons = 9;  // RejectReason values
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

// Milliseconds since the epoch, now (the wall clock the future bound uses).
int64_t wall_clock_ms();

namespace scan {
class Scanner;
struct Event;
struct Field;
struct Value;
}  // namespace scan

// What EventReader::read found in an event it takes.
struct ReadEvent {
  const ModelRoute* route = nullptr;
  bool is_label = false;      // a label event (a label, no features)
  int64_t ts_ms = 0;          // prediction events (0 without a time, count windows)
  double label = 0;           // label events
  bool has_label_ts = false;  // label events: with a time of its own
  std::string_view id;        // the id's text (a numeric id: its literal)
  const scan::Value* prediction = nullptr;
};

// Scans and judges events. One per thread (it keeps a parser and arrays).
class EventReader {
 public:
  explicit EventReader(EventFields fields);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  const EventFields& fields() const { return fields_; }
  // The wall clock of the future-timestamp bound: set once per batch (the
  // bound is an hour by default; a batch takes milliseconds).
  void set_now_ms(int64_t now) { now_ms_ = now; }
  int64_t now_ms() const { return now_ms_; }

  // The verdict alone (the HTTP source, before it answers): kNone when the
  // event would be taken. `detail` stays valid until the next call.
  RejectReason verdict(const char* data, size_t len, size_t capacity, const Router& routes,
                       std::string_view* detail);
  // The event of the last verdict taken was a label event.
  bool last_was_label() const { return last_label_; }

 private:
  friend class EventDecoder;
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
  // Scans into event_ (growing its arrays up to their bounds).
  template <class Sink>
  void scan(const char* data, size_t len, size_t capacity, Sink& sink);
  // After a scan: the verdict of the JSON itself. `suspect`: something the
  // scan met (a bad value, nesting) needs the full walk to decide.
  RejectReason judge_json(const char* data, size_t len, size_t capacity, bool suspect);
  // The meaning of the scanned fields, the route found by `find` (a
  // callable (model, version) -> const ModelRoute*). `roles`, when not
  // null, holds the roles of the first `known_roles` top-level fields.
  template <class Find>
  RejectReason interpret(Find&& find, const TopRole* roles, uint32_t known_roles, ReadEvent& out);
  RejectReason reject(RejectReason r, std::string_view detail) {
    detail_.assign(detail);
    return r;
  }

  EventFields fields_;
  KeysByPosition<TopRole> top_roles_;
  std::unique_ptr<scan::Scanner> scanner_;
  std::unique_ptr<scan::Event> event_;
  std::vector<scan::Field> top_, features_;  // the scanner's output arrays
  std::string detail_;
  char version_buf_[32] = {};  // a numeric version's literal (PaddedKey reads 16 and more)
  int64_t now_ms_ = 0;
  bool last_label_ = false;
};

class EventDecoder {
 public:
  EventDecoder(EventFields fields, const Router& router);
  ~EventDecoder();
  void set_now_ms(int64_t now) { reader_.set_now_ms(now); }
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

  // The route of the last event's model and version: consecutive events
  // mostly share it, and one compare replaces the router's map lookup.
  const ModelRoute* find_route(std::string_view model, std::string_view version);
  PaddedKey last_model_, last_version_;
  const ModelRoute* last_route_ = nullptr;

  EventReader reader_;
  const Router& router_;
};

}  // namespace driftd
