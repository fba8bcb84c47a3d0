// The daemon's configuration (`driftd run --config driftd.toml`), validated
// as a whole before anything starts: unknown keys, wrong types, missing
// baselines and invalid window sizes are errors naming the key and line.
// See config/driftd.example.toml for every key with its default.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "driftd/baseline.h"
#include "driftd/check.h"
#include "driftd/result.h"
#include "driftd/window.h"

namespace driftd {

// Field names of the event format, configurable per source.
struct EventFields {
  std::string model = "model";
  std::string model_version = "model_version";
  std::string id = "id";
  std::string timestamp = "ts";
  std::string features = "features";
  std::string prediction = "prediction";
  std::string label = "label";
};

struct SourceConfig {
  std::string name;
  std::string type;  // "file", "kafka" or "http"
  EventFields fields;
  bool from_end = false;  // with no checkpoint position: start at the end
  // At the end of a bounded input (a file without follow; Kafka with every
  // assigned partition at its end), close the open windows. Default: true
  // for files, false for Kafka.
  bool close_windows_at_end = true;
  double replay_speed = 0;  // 0: as fast as possible; 1: event-time pace
  // file
  std::string path;  // "-" for stdin
  bool follow = false;
  bool csv = false;  // rows of a CSV with a header (format = "csv"; default by a .csv path)
  // kafka
  std::string brokers;  // bootstrap.servers
  std::vector<std::string> topics;
  std::string group_id = "driftd";
  std::vector<std::pair<std::string, std::string>> kafka_properties;  // passed to librdkafka
  // http (POST /v1/predictions, /v1/labels on the server's listen address)
  bool durable = true;                 // ingest log + fsync before the 2xx
  uint64_t max_body_bytes = 8u << 20;  // larger bodies: 413
  uint64_t queue_bytes = 64u << 20;    // accepted, not yet applied; beyond: 429
  uint64_t segment_bytes = 64u << 20;  // ingest log segment size
  std::string log_dir = "ingest";      // relative to the state dir unless absolute
};

struct ModelConfig {
  std::string name, version;
  std::string baseline_path;
  MonitorSettings monitor;
  std::shared_ptr<const Baseline> baseline;  // loaded and checked by load_daemon_config
  // A second reference (e.g. the last healthy week), compared next to the
  // training baseline; empty path: none.
  std::string reference_path, reference_name = "reference";
  std::shared_ptr<const Baseline> reference;
};

struct DaemonConfig {
  std::string source_file;  // the configuration file itself
  std::string listen = "127.0.0.1:9108";
  size_t max_connections = 256;  // HTTP connections served at once (one thread each)
  std::string state_dir = "driftd-state";
  double checkpoint_interval_s = 10;
  double shutdown_deadline_s = 10;
  std::string windows_log;  // relative to state_dir unless absolute
  std::string dead_letter;  // relative to state_dir unless absolute
  std::string log_level = "info";
  std::vector<SourceConfig> sources;
  std::vector<ModelConfig> models;
};

// Parses and validates, loading every baseline (so a bad baseline path or a
// baseline of another model is reported at start-up, not at the first event).
Result<DaemonConfig> load_daemon_config(const std::string& path);
Result<DaemonConfig> parse_daemon_config(std::string_view toml_text, const std::string& source);

// Checks librdkafka property names and values (kafka source `[sources.kafka]`).
Status check_kafka_properties(const std::vector<std::pair<std::string, std::string>>& properties);

// "30s", "5m", "1h", "250ms", "2d" -> milliseconds.
Result<int64_t> parse_duration_ms(std::string_view text);
// "8MiB", "512KiB", "1GB", "1000" -> bytes.
Result<uint64_t> parse_size_bytes(std::string_view text);

}  // namespace driftd
