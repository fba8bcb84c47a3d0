// Where alerts go: a sink delivers one notification (its JSON body) at a
// time and says whether it got there, should be tried again, or never will.
// Each sink type is a folder (alerts/sinks/<type>/) and one line in
// registry.cc; see docs/EXTENDING.md. Deliveries come from the outbox
// (alerts/outbox), one thread per sink, in the order the notifications
// were made; a sink is never called from the per-event path.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "driftd/result.h"
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
  std::string key;   // unique per change (Notification::key)
  std::string body;  // notification_json
  int64_t attempts = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Called from the sink's own delivery thread only.
  virtual Delivery deliver(const OutboxItem& item) = 0;
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
  std::shared_ptr<Sink> sink;
};

struct SinkType {
  std::string_view type;
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
