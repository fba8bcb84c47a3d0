// The daemon's configuration (`driftd run --config driftd.toml`), validated
// as a whole before anything starts: unknown keys, wrong types, missing
// baselines and invalid window sizes are errors naming the key and line.
// See config/driftd.example.toml for every key with its default.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/check/check.h"
#include "driftd/common/result.h"
#include "driftd/window/window.h"

namespace driftd {

namespace alerts {
class Rule;
struct TriggerSpec;
struct SinkConfig;
}  // namespace alerts

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

// What a source type reads from its own keys (src/sources/<type>/): the
// config holds it without knowing the type.
struct SourceOptions {
  virtual ~SourceOptions() = default;
  // Equal options of the same type (a reload tells a changed source).
  virtual bool same_as(const SourceOptions& other) const = 0;
};

// The options of one type, compared member by member (its operator==).
template <class Derived>
struct SourceOptionsOf : SourceOptions {
  bool same_as(const SourceOptions& other) const override {
    const auto* o = dynamic_cast<const Derived*>(&other);
    return o != nullptr && *o == static_cast<const Derived&>(*this);
  }
  bool operator==(const SourceOptionsOf&) const { return true; }
};

// One [[sources]] table: the keys every source has, and its type's own.
struct SourceConfig {
  std::string name;
  std::string type;  // a registered source type (src/sources/registry.cc)
  EventFields fields;
  bool from_end = false;  // with no checkpoint position: start at the end
  // At the end of a bounded input (a file without follow; Kafka with every
  // assigned partition at its end), close the open windows. Default: true
  // for files, false for Kafka.
  bool close_windows_at_end = true;
  double replay_speed = 0;                       // 0: as fast as possible; 1: event-time pace
  std::shared_ptr<const SourceOptions> options;  // the type's keys, set by its reader

  // The options as the type's reader made them (the type's own code only).
  template <class T>
  const T& options_as() const {
    return dynamic_cast<const T&>(*options);
  }
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
  // The alert rules this model runs (top-level [[rules]] that apply to it,
  // and its own [[models.rules]]): see alerts/rules/rules_toml.h.
  std::vector<std::shared_ptr<const alerts::Rule>> rules;
  // The retraining trigger policies that apply to it ([[triggers]]).
  std::vector<std::shared_ptr<const alerts::TriggerSpec>> triggers;
};

// The HTTP server ([server]): see config/driftd.example.toml.
struct ServerConfig {
  std::string listen = "127.0.0.1:9108";
  // Open connections at most. At the limit a new connection closes the one
  // that has waited longest for a request (idle, or sending a header
  // slowly); when every connection is busy it gets 503 and is closed.
  size_t max_connections = 1024;
  int64_t header_timeout_ms = 10'000;  // a request's header, from its first byte
  int64_t body_timeout_ms = 60'000;    // a request's body
  int64_t idle_timeout_ms = 60'000;    // keep-alive: from an answer to the next request
  int64_t write_timeout_ms = 30'000;   // an answer
  size_t workers = 2;                  // threads that run handlers (ingest checks, /metrics)
  // Per-feature metric series for at most this many (model, version,
  // reference, feature) combinations: bounded cardinality, the rest counted.
  size_t max_metric_features = 10'000;
  // Bearer-token authentication ([server.auth]); empty token: off. Ingest
  // and the /v1 API need it when on; /metrics and the probes as configured.
  std::string token;         // never logged
  std::string token_origin;  // "file PATH" or "environment variable NAME", for messages
  bool protect_metrics = false;
  bool protect_health = false;
  // TLS ([server.tls]): PEM files; empty: plain HTTP.
  std::string tls_cert_file, tls_key_file;
};

struct DaemonConfig {
  std::string source_file;  // the configuration file itself
  ServerConfig server;
  std::string state_dir = "driftd-state";
  double checkpoint_interval_s = 10;
  double shutdown_deadline_s = 10;
  std::string windows_log;  // relative to state_dir unless absolute
  std::string dead_letter;  // relative to state_dir unless absolute
  std::string alerts_log;   // relative to state_dir unless absolute
  // The outbox forgets notifications every sink is done with once older
  // than this, beyond the newest outbox_keep (an alert's newest is kept).
  int64_t outbox_retention_ms = 30LL * 24 * 3'600'000;
  int64_t outbox_keep = 10'000;
  std::string log_level = "info";
  std::vector<SourceConfig> sources;
  std::vector<ModelConfig> models;
  // Where alerts go ([[sinks]], alerts/sinks/): made at load, secrets read.
  std::vector<std::shared_ptr<const alerts::SinkConfig>> sinks;
};

// Parses and validates, loading every baseline (so a bad baseline path or a
// baseline of another model is reported at start-up, not at the first event).
Result<DaemonConfig> load_daemon_config(const std::string& path);
// What `driftd run` would refuse beyond the file itself, for `config
// check`: a file source whose path cannot be opened, a state dir that
// cannot be created.
Status check_daemon_environment(const DaemonConfig& config);
Result<DaemonConfig> parse_daemon_config(std::string_view toml_text, const std::string& source);

}  // namespace driftd
