// Where alerts go: a sink delivers one notification (its JSON body) at a
// time and says whether it got there, should be tried again, or never will.
// Each sink type is a folder (alerts/sinks/<type>/) and one line in
// registry.cc; see docs/EXTENDING.md. Deliveries come from the outbox
// (alerts/outbox), one thread per sink, in the order the notifications
// were made; a sink is never called from the per-event path.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/common/result.h"
#include "src/common/toml_reader.h"

namespace driftd::alerts {

// What one attempt gave.
struct Delivery {
  enum class Outcome : uint8_t {
    kDelivered,  // done
    kRetry,      // a timeout, a refused connection, 408, 429, 5xx: try again later
    kReject,     // the receiver refuses it for good (another 4xx): dead-lettered
  };
  Outcome outcome = Outcome::kDelivered;
  std::string detail;           // for the log and the outbox: status, error, the reply's start
  int64_t retry_after_ms = -1;  // the receiver's Retry-After, when it gave one
};

// One notification as the outbox hands it out.
struct OutboxItem {
  int64_t seq = 0;
  std::string key;         // unique per change (Notification::key)
  std::string body;        // notification_json or trigger_json
  std::string kind;        // "alert" or "trigger"
  bool firing = false;     // an alert that fired (else resolved); false for a trigger
  int64_t created_ms = 0;  // when it entered the outbox (wall clock)
  int64_t attempts = 0;
};

// What a sink takes: alerts, retraining triggers, or both. A rule or a
// trigger policy with no `sinks` goes to every sink that takes its kind.
enum class SinkTakes : uint8_t { kAlerts = 1, kTriggers = 2, kBoth = 3 };

class Sink {
 public:
  virtual ~Sink() = default;
  // Called from the sink's own delivery thread only.
  virtual Delivery deliver(const OutboxItem& item) = 0;

  // Sinks whose receiver forgets what is not said again (Alertmanager
  // drops an alert that is not re-sent) repeat themselves: the delivery
  // thread calls repeat() once now_ms reaches next_repeat_ms(), between
  // deliveries. A failed repeat is tried at the next one; nothing is lost
  // since the outbox holds the changes.
  virtual int64_t next_repeat_ms() const { return INT64_MAX; }
  virtual Delivery repeat(int64_t /*now_ms*/) { return {}; }
  // At start, before any delivery: for each alert still firing, the last
  // notification this sink delivered of it (from the outbox).
  virtual void restore(const std::vector<OutboxItem>& /*firing*/) {}
};

// What every sink's table has besides its type's keys.
struct SinkSettings {
  std::string name, type;
  int64_t timeout_ms = 10'000;         // one attempt
  int64_t backoff_initial_ms = 1'000;  // the first retry's delay; doubles, with jitter
  int64_t backoff_max_ms = 300'000;
};

// A configured sink: its settings and the sink, made (and its secrets read)
// at load, so that a missing secret is a start-up error.
struct SinkConfig {
  SinkSettings settings;
  SinkTakes takes = SinkTakes::kBoth;
  std::shared_ptr<Sink> sink;
};

struct SinkType {
  std::string_view type;
  SinkTakes takes;
  std::string_view keys;  // its own keys, for the unknown-key message
  // Reads the type's keys from `r` (finish() is the caller's) and makes it.
  // `state_dir`: where relative paths go.
  Result<std::shared_ptr<Sink>> (*make)(TableReader& r, const SinkSettings& settings,
                                        const std::string& state_dir);
};

// Every sink type (registry.cc).
std::span<const SinkType> sink_types();

// Reads one [[sinks]] table: name, type, timeout, backoff_initial,
// backoff_max, then the type's keys.
Result<SinkConfig> parse_sink(const toml::table& t, const std::string& prefix,
                              const std::string& source, const std::string& state_dir);

}  // namespace driftd::alerts
