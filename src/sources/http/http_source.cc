// The HTTP source (the sidecar mode): the ingest thread's side of the
// ingest queue (http_ingest.h), its config keys, and its metrics.
#include "src/sources/http/http_source.h"

#include <filesystem>

#include <toml++/toml.h>

#include "src/daemon/log.h"
#include "src/server/metric_family.h"

namespace driftd {

// ---- the source: the ingest thread's side of the queue ---------------------------

namespace {

class HttpSource final : public Source {
 public:
  HttpSource(const SourceConfig& c, std::shared_ptr<IngestQueue> q, std::string log_dir)
      : config_(c),
        http_(config_.options_as<HttpSourceOptions>()),
        queue_(std::move(q)),
        log_dir_(std::move(log_dir)) {}
  ~HttpSource() override { queue_->close(); }

  const SourceConfig& config() const override { return config_; }
  std::string identity() const override { return http_.durable ? "http:" + log_dir_ : "http"; }
  bool connected() const override { return opened_; }
  bool at_end() const override { return false; }  // requests never end

  std::string save_position() const override { return encode_number_position(next_seq_); }

  Status open(const std::string* saved_position) override {
    auto saved = decode_number_position(saved_position, config_.name, "ingest position");
    if (!saved) return saved.error();
    const std::optional<uint64_t> from = *saved;
    if (!http_.durable) {
      queue_->start(nullptr);
      opened_ = true;
      return {};
    }
    auto log = IngestLog::open(log_dir_, http_.segment_bytes);
    if (!log) return Error{"source " + config_.name + ": " + log.error().message};
    // With no checkpoint everything on disk is new to this state.
    const uint64_t start = from.value_or((*log)->first_seq());
    if (start > (*log)->next_seq()) {
      // The checkpoint applied records this log no longer holds (its files
      // were removed): number new records after them, or a replay after
      // the next crash would skip them.
      jlog(spdlog::level::warn,
           "source {}: the ingest log ends at record {} but the checkpoint resumes at {}: "
           "numbering continues from there",
           config_.name, (*log)->next_seq(), start);
      if (auto st = (*log)->continue_at(start); !st) {
        return Error{"source " + config_.name + ": " + st.error().message};
      }
    }
    if (start < (*log)->first_seq()) {
      jlog(spdlog::level::err,
           "source {}: the checkpoint resumes at record {} but the ingest log starts at {}: "
           "{} records are gone",
           config_.name, start, (*log)->first_seq(), (*log)->first_seq() - start);
    }
    uint64_t replayed = 0;
    auto st = (*log)->replay(start, [&](const IngestRecord& r) {
      queue_->preload(r);
      ++replayed;
    });
    if (!st) return Error{"source " + config_.name + ": " + st.error().message};
    next_seq_ = std::max(start, (*log)->first_seq());
    jlog(spdlog::level::info,
         "source {}: ingest log {} holds records {}..{}; replaying {} from record {}", config_.name,
         log_dir_, (*log)->first_seq(), (*log)->next_seq(), replayed, next_seq_);
    queue_->start(std::move(*log));
    opened_ = true;
    return {};
  }

  bool poll(LineHandler& handler) override {
    batch_.clear();
    if (!queue_->take(batch_)) return false;
    // simdjson reads up to SIMDJSON_PADDING bytes past a line's end.
    batch_.bytes.append(simdjson::SIMDJSON_PADDING, '\0');
    const char* base = batch_.bytes.data();
    const size_t size = batch_.bytes.size();
    for (const auto& e : batch_.entries) {
      LineOrigin origin;
      origin.offset = e.seq;
      origin.topic = e.kind == IngestKind::kLabel ? "/v1/labels" : "/v1/predictions";
      if (e.reason != RejectReason::kNone) {
        handler.on_refused(std::string_view(base + e.offset, e.len), e.reason,
                           std::string_view(base + e.detail_offset, e.detail_len), origin);
        continue;
      }
      handler.on_line(base + e.offset, e.len, size - e.offset, origin);
      next_seq_ = e.seq + 1;
    }
    return true;
  }

  void checkpointed() override {
    if (http_.durable) queue_->release_before(next_seq_);
  }

  std::shared_ptr<IngestQueue> ingest_queue() const override { return queue_; }
  void stop_intake() override { queue_->close(); }
  bool drains_on_stop() const override { return true; }

 private:
  SourceConfig config_;
  const HttpSourceOptions& http_;  // *config_.options
  std::shared_ptr<IngestQueue> queue_;
  std::string log_dir_;
  IngestBatch batch_;
  uint64_t next_seq_ = 1;
  bool opened_ = false;
};

}  // namespace

std::unique_ptr<Source> make_http_source(const SourceConfig& config,
                                         std::shared_ptr<IngestQueue> queue,
                                         const std::string& state_dir) {
  std::string dir = config.options_as<HttpSourceOptions>().log_dir;
  if (!std::filesystem::path(dir).is_absolute()) {
    dir = (std::filesystem::path(state_dir) / dir).string();
  }
  return std::make_unique<HttpSource>(config, std::move(queue), dir);
}

// ---- its registration: config keys, checks ------------------------------------

Status read_http_source(TableReader& r, SourceConfig& s) {
  s.close_windows_at_end = false;
  HttpSourceOptions o;
  DRIFTD_TRY(r.boolean("durable", o.durable));
  DRIFTD_TRY(r.bytes("max_body_bytes", o.max_body_bytes));
  DRIFTD_TRY(r.bytes("queue_bytes", o.queue_bytes));
  DRIFTD_TRY(r.bytes("segment_bytes", o.segment_bytes));
  DRIFTD_TRY(r.str("log_dir", o.log_dir));
  s.options = std::make_shared<HttpSourceOptions>(std::move(o));
  return {};
}

Status check_http_source(const TableReader& r, SourceConfig& s) {
  const auto& o = s.options_as<HttpSourceOptions>();
  auto at = [&](std::string_view key) {
    const toml::node* n = r.table().get(key);
    return n ? r.where(*n, key) : r.where_table();
  };
  if (o.max_body_bytes < 1024 || o.max_body_bytes > (1ull << 30)) {
    return Error{at("max_body_bytes") + ": must be in [1KiB, 1GiB]"};
  }
  if (o.queue_bytes > (2ull << 30)) return Error{at("queue_bytes") + ": must be at most 2GiB"};
  if (o.queue_bytes < o.max_body_bytes) {
    return Error{at("queue_bytes") + ": must be at least max_body_bytes (" +
                 std::to_string(o.max_body_bytes) + ")"};
  }
  if (o.segment_bytes < (1u << 20)) return Error{at("segment_bytes") + ": must be at least 1MiB"};
  if (o.log_dir.empty()) return Error{at("log_dir") + ": must not be empty"};
  if (s.name.empty()) s.name = "http";
  return {};
}

std::unique_ptr<Source> make_http_source_of(const SourceConfig& s, const SourceContext& context) {
  return make_http_source(s, std::make_shared<IngestQueue>(s), context.state_dir);
}

// ---- metrics --------------------------------------------------------------------

std::vector<prometheus::MetricFamily> ingest_metric_families(const IngestQueue& queue) {
  using prometheus::MetricType;
  const IngestQueue::Stats s = queue.stats();
  std::vector<prometheus::MetricFamily> out;
  auto single = [&](const char* name, const char* help, MetricType type, uint64_t v) {
    out.push_back(metric_family(name, help, type));
    add_sample(out.back(), static_cast<double>(v));
  };
  out.push_back(metric_family("driftd_ingest_events_total",
                              "HTTP ingest: events accepted (durable when the log is on) or "
                              "refused (400, dead-lettered), by endpoint",
                              MetricType::Counter));
  add_sample(out.back(), static_cast<double>(s.accepted_predictions),
             {{"endpoint", "predictions"}, {"outcome", "accepted"}});
  add_sample(out.back(), static_cast<double>(s.accepted_labels),
             {{"endpoint", "labels"}, {"outcome", "accepted"}});
  add_sample(out.back(), static_cast<double>(s.refused), {{"outcome", "refused"}});
  single("driftd_ingest_throttled_requests_total",
         "HTTP ingest: requests refused with 429 (queue full)", MetricType::Counter, s.throttled);
  single("driftd_ingest_queue_bytes", "HTTP ingest: bytes accepted and not yet applied",
         MetricType::Gauge, s.queued_bytes);
  single("driftd_ingest_queue_limit_bytes", "HTTP ingest: queue_bytes, past which requests get 429",
         MetricType::Gauge, s.limit_bytes);
  if (s.durable) {
    single("driftd_ingest_log_fsyncs_total",
           "HTTP ingest: group commits (write + fdatasync) of the ingest log", MetricType::Counter,
           s.log_fsyncs);
    single("driftd_ingest_log_write_failures_total",
           "HTTP ingest: ingest log writes that failed (requests got 503)", MetricType::Counter,
           s.log_failures);
    single("driftd_ingest_log_replayed_events_total",
           "HTTP ingest: events replayed from the ingest log at start-up", MetricType::Counter,
           s.replayed);
    single("driftd_ingest_log_bytes",
           "HTTP ingest: bytes of ingest log on disk (not yet checkpointed)", MetricType::Gauge,
           s.log_bytes);
    single("driftd_ingest_log_segments", "HTTP ingest: ingest log segment files", MetricType::Gauge,
           s.log_segments);
  }
  return out;
}

}  // namespace driftd
