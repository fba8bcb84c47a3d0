// Where events come from. A source hands the daemon's single ingest thread
// batches of lines (one JSON event each) and owns a position that the
// checkpoint stores atomically with the window state: a byte offset for a
// file, the next offset of every partition for Kafka. A restart reopens the
// source at that position, so every event is counted exactly once.
//
// Each source type is a folder (src/sources/<type>/: the source, its config
// keys and their checks, its own metrics) and one line in registry.cc; the
// daemon, its config reader and the server make and show sources through
// the registry only (docs/EXTENDING.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/daemon/daemon_config.h"
#include "driftd/decode/event_decoder.h"
#include "src/common/toml_reader.h"

namespace prometheus {
struct MetricFamily;
}

namespace driftd {

class IngestQueue;  // src/sources/http/http_ingest.h

// Where a line came from, for dead letters and log lines.
struct LineOrigin {
  uint64_t offset = 0;     // file: byte offset; Kafka: message offset; HTTP: log sequence number
  std::string_view topic;  // Kafka: the topic; HTTP: the endpoint
  int32_t partition = -1;  // Kafka only
  // The bytes as the source read them, when the line handed out is a
  // translation of them (a CSV row as JSON): what a dead letter keeps.
  std::string_view raw;
};

class LineHandler {
 public:
  virtual ~LineHandler() = default;
  // `data` stays readable for `capacity` >= len + simdjson::SIMDJSON_PADDING
  // bytes. data == nullptr: a line too long to be an event (skipped).
  virtual void on_line(const char* data, size_t len, size_t capacity, const LineOrigin& origin) = 0;
  // A line the source itself refused (HTTP ingest checks events' shape
  // before answering): counted and dead-lettered with the reason.
  virtual void on_refused(std::string_view raw, RejectReason reason, std::string_view why,
                          const LineOrigin& origin) = 0;
};

// What a source type shows of itself beyond the common counters (a file's
// offset and backlog, Kafka's partitions): taken by the daemon at each
// publish, read by the type's metrics at scrape time. Each type derives
// its own in its folder.
struct SourceStatus {
  virtual ~SourceStatus() = default;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const SourceConfig& config() const = 0;
  // What a saved position means (a file's path, "kafka"): a checkpoint made
  // for another identity is not applied.
  virtual std::string identity() const = 0;
  // Opens at a checkpoint's saved position (nullptr: per the configuration).
  virtual Status open(const std::string* saved_position) = 0;
  // Reads one batch; returns false when nothing new was available.
  virtual bool poll(LineHandler& handler) = 0;
  // The position after the last line handed out, for the checkpoint.
  virtual std::string save_position() const = 0;
  // Every line of a bounded input was handed out (never for a followed file;
  // Kafka: every assigned partition is at its end).
  virtual bool at_end() const = 0;
  // Readable (file open; Kafka: joined the group and got an assignment).
  virtual bool connected() const = 0;
  // Its type's status now (nullptr: the type shows none).
  virtual std::shared_ptr<const SourceStatus> status() const { return nullptr; }
  // A checkpoint with this source's save_position() is durable.
  virtual void checkpointed() {}
  // Leaves (Kafka: the group) after the final checkpoint.
  virtual void close() {}
  // At shutdown: take no new input (HTTP: answer 503); with
  // drains_on_stop(), what was accepted is then polled to the end before
  // the final checkpoint.
  virtual void stop_intake() {}
  virtual bool drains_on_stop() const { return false; }

  // A source whose events come through the daemon's HTTP server (POST
  // /v1/predictions, /v1/labels) hands the server its queue.
  virtual std::shared_ptr<IngestQueue> ingest_queue() const { return nullptr; }

  // Kafka rebalances call this before partitions are taken away, so the
  // state covering them is checkpointed first.
  std::function<void()> before_revoke;
};

// What a source may need from the daemon when it is made.
struct SourceContext {
  std::string state_dir;  // where relative state paths go (the HTTP source's ingest log)
};

struct SourceCounters;  // published.h: what the metrics and the API show of a source

// One source type, described in its folder's header (an inline constexpr
// k<Type>SourceType) and listed by one line of registry.cc.
struct SourceType {
  std::string_view type;
  std::string_view keys;  // its own keys, for the unknown-key message
  // Reads the type's keys from `r` into `s` (their types checked; finish()
  // is the caller's, so that a misspelt key is reported first).
  Status (*read)(TableReader& r, SourceConfig& s);
  // Then checks them together: required keys, ranges; resolves relative
  // paths against r.source() (the config file); names the source when the
  // table gave no name.
  Status (*check)(const TableReader& r, SourceConfig& s);
  std::unique_ptr<Source> (*make)(const SourceConfig& s, const SourceContext& context);
  // What `driftd config check` verifies on this machine beyond the
  // configuration (nullptr: nothing).
  Status (*check_environment)(const SourceConfig& s) = nullptr;
  // The type's own metric families, from its sources' published counters at
  // scrape time (nullptr: the common source families only).
  void (*metrics)(std::span<const SourceCounters* const> sources,
                  std::vector<prometheus::MetricFamily>& out) = nullptr;
  // Why at most one source of the type may be configured (empty: any number).
  std::string_view one_only = {};
};

// Every source type (registry.cc).
std::span<const SourceType* const> source_types();
// The registered type of a source (nullptr: none has that name).
const SourceType* source_type(std::string_view type);

// Reads one [[sources]] table: name, type, the *_field keys, then the
// type's keys.
Result<SourceConfig> parse_source(const toml::table& t, const std::string& prefix,
                                  const std::string& config_file);

// The keys of sources that replay a bounded or followed input (file,
// Kafka): start, replay_speed, close_windows_at_end (default as given).
Status read_replay_keys(TableReader& r, SourceConfig& s, bool close_windows_at_end);
inline constexpr std::string_view kReplayKeys = "start, replay_speed, close_windows_at_end";

// A position that is one number (a file's byte offset, the HTTP source's
// next log sequence number), as the checkpoint stores it.
std::string encode_number_position(uint64_t value);
// The number of a saved position (nullopt when there is none), or an error
// naming the source and what the number is.
Result<std::optional<uint64_t>> decode_number_position(const std::string* saved,
                                                       const std::string& source, const char* what);

}  // namespace driftd
