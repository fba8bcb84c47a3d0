// The daemon's HTTP endpoints on Boost.Beast: /healthz, /readyz, /metrics,
// GET /v1/models, GET /v1/models/{model}/drift and, with an http source,
// POST /v1/predictions and /v1/labels. One thread accepts; each connection
// gets a thread of its own (synchronous Beast with read deadlines), up to
// max_connections, so an ingest request waiting for its group commit never
// holds up a scrape.
#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 needs std::exchange

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <set>
#include <thread>

#include "driftd/json_writer.h"
#include "src/daemon/http_ingest.h"
#include "src/daemon/metric_family.h"
#include "src/daemon/published.h"

namespace driftd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

prometheus::ClientMetric counter_value(double v, prometheus::ClientMetric::Label a = {},
                                       prometheus::ClientMetric::Label b = {}) {
  prometheus::ClientMetric m;
  if (!a.name.empty()) m.label.push_back(std::move(a));
  if (!b.name.empty()) m.label.push_back(std::move(b));
  m.counter.value = v;
  return m;
}

prometheus::ClientMetric gauge_value(double v,
                                     std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  return m;
}

// Reads the published state at scrape time (never per event).
class PublishedCollector final : public prometheus::Collectable {
 public:
  explicit PublishedCollector(const Published& p) : p_(p) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricFamily;
    using prometheus::MetricType;
    std::lock_guard<std::mutex> lock(p_.mu);
    const auto family = metric_family;
    MetricFamily received = family("driftd_source_events_received_total",
                                   "Events read from a source", MetricType::Counter);
    MetricFamily rejected =
        family("driftd_source_events_rejected_total",
               "Events refused (and dead-lettered), by reason", MetricType::Counter);
    MetricFamily late =
        family("driftd_source_events_late_total",
               "Events later than every open window (counted, not added)", MetricType::Counter);
    MetricFamily labels = family("driftd_source_label_events_total",
                                 "Label events read from a source", MetricType::Counter);
    MetricFamily offset =
        family("driftd_source_offset_bytes", "File source: byte offset of the next event to read",
               MetricType::Gauge);
    MetricFamily kafka_offset =
        family("driftd_kafka_partition_next_offset",
               "Kafka source: the next offset to read in an assigned partition", MetricType::Gauge);
    MetricFamily kafka_lag =
        family("driftd_kafka_consumer_lag_messages",
               "Kafka source: high watermark minus the next offset, per assigned partition",
               MetricType::Gauge);
    for (const auto& s : p_.sources) {
      received.metric.push_back(counter_value(static_cast<double>(s.received), {"source", s.name}));
      late.metric.push_back(counter_value(static_cast<double>(s.late), {"source", s.name}));
      labels.metric.push_back(counter_value(static_cast<double>(s.labels), {"source", s.name}));
      for (size_t r = 1; r < kRejectReasons; ++r) {
        rejected.metric.push_back(
            counter_value(static_cast<double>(s.rejected[r]), {"source", s.name},
                          {"reason", to_string(static_cast<RejectReason>(r))}));
      }
      if (s.type == "file") {
        offset.metric.push_back(gauge_value(static_cast<double>(s.offset), {{"source", s.name}}));
      }
      for (const auto& p : s.partitions) {
        std::vector<prometheus::ClientMetric::Label> labels_of_partition = {
            {"source", s.name}, {"topic", p.topic}, {"partition", std::to_string(p.partition)}};
        if (p.next_offset >= 0) {
          kafka_offset.metric.push_back(
              gauge_value(static_cast<double>(p.next_offset), labels_of_partition));
        }
        if (p.lag >= 0) {
          kafka_lag.metric.push_back(
              gauge_value(static_cast<double>(p.lag), std::move(labels_of_partition)));
        }
      }
    }
    MetricFamily events = family("driftd_model_events_total", "Events added to a model's windows",
                                 MetricType::Counter);
    MetricFamily model_late =
        family("driftd_model_events_late_total", "A model's events later than every open window",
               MetricType::Counter);
    MetricFamily windows = family("driftd_model_windows_closed_total",
                                  "Windows evaluated and logged", MetricType::Counter);
    MetricFamily stat =
        family("driftd_feature_statistic", "A drift statistic of a feature in the latest window",
               MetricType::Gauge);
    MetricFamily drift =
        family("driftd_feature_drift", "1 when the feature drifted in the latest window",
               MetricType::Gauge);
    MetricFamily missing =
        family("driftd_feature_missing_ratio", "Share of missing values in the latest window",
               MetricType::Gauge);
    MetricFamily share =
        family("driftd_model_drift_share", "Share of features drifting in the latest window",
               MetricType::Gauge);
    MetricFamily dataset =
        family("driftd_model_dataset_drift",
               "1 when the latest window's drift share reached its threshold", MetricType::Gauge);
    MetricFamily rows =
        family("driftd_model_window_rows", "Rows in the latest window", MetricType::Gauge);
    MetricFamily window_end = family("driftd_model_window_end_timestamp_seconds",
                                     "End of the latest window (event time)", MetricType::Gauge);
    MetricFamily label_events =
        family("driftd_model_labels_total",
               "Label events by outcome: joined to their prediction, unmatched (no waiting "
               "prediction), late (its window closed)",
               MetricType::Counter);
    MetricFamily label_dropped =
        family("driftd_model_label_predictions_dropped_total",
               "Predictions that stopped waiting for a label: expired (ttl) or evicted (cap)",
               MetricType::Counter);
    MetricFamily pending = family(
        "driftd_model_label_pending_predictions",
        "Predictions waiting for their label (bounded by labels.max_pending)", MetricType::Gauge);
    MetricFamily perf =
        family("driftd_model_performance",
               "A performance metric of the latest window's joined labels", MetricType::Gauge);
    for (const auto& m : p_.models) {
      const prometheus::ClientMetric::Label model{"model", m.name}, version{"version", m.version};
      events.metric.push_back(counter_value(static_cast<double>(m.events), model, version));
      for (const auto& [outcome, v] : {std::pair{"joined", m.labels.joined},
                                       {"unmatched", m.labels.unmatched},
                                       {"late", m.labels.late}}) {
        auto c = counter_value(static_cast<double>(v), model, version);
        c.label.push_back({"outcome", outcome});
        label_events.metric.push_back(std::move(c));
      }
      for (const auto& [why, v] :
           {std::pair{"expired", m.labels.expired}, {"evicted", m.labels.evicted}}) {
        auto c = counter_value(static_cast<double>(v), model, version);
        c.label.push_back({"reason", why});
        label_dropped.metric.push_back(std::move(c));
      }
      pending.metric.push_back(
          gauge_value(static_cast<double>(m.pending_labels), {model, version}));
      model_late.metric.push_back(counter_value(static_cast<double>(m.late), model, version));
      windows.metric.push_back(counter_value(static_cast<double>(m.windows), model, version));
      if (!m.latest) continue;
      const CheckReport& r = m.latest->report;
      share.metric.push_back(gauge_value(r.drift_share, {model, version}));
      dataset.metric.push_back(gauge_value(r.dataset_drift ? 1 : 0, {model, version}));
      rows.metric.push_back(gauge_value(static_cast<double>(r.rows), {model, version}));
      if (m.window.kind == WindowSettings::Kind::kTime) {
        window_end.metric.push_back(
            gauge_value(static_cast<double>(m.latest->end) / 1000.0, {model, version}));
      }
      if (r.performance) {
        for (const auto& metric : r.performance->metrics) {
          if (!metric.value) continue;
          perf.metric.push_back(
              gauge_value(*metric.value, {model, version, {"metric", metric.name}}));
        }
      }
      for (const auto& f : r.features) {
        const prometheus::ClientMetric::Label feature{"feature", f.name};
        drift.metric.push_back(gauge_value(f.drift ? 1 : 0, {model, version, feature}));
        missing.metric.push_back(gauge_value(f.missing_rate, {model, version, feature}));
        for (const auto& s : f.stats) {
          if (!s.value) continue;
          stat.metric.push_back(
              gauge_value(*s.value, {model, version, feature, {"statistic", s.key}}));
        }
      }
      // The second reference: the same series with a `reference` label
      // (the training baseline's series have none).
      if (const CheckReport* ref = m.latest->reference.get()) {
        const prometheus::ClientMetric::Label reference{"reference", m.latest->reference_name};
        share.metric.push_back(gauge_value(ref->drift_share, {model, version, reference}));
        dataset.metric.push_back(
            gauge_value(ref->dataset_drift ? 1 : 0, {model, version, reference}));
        for (const auto& f : ref->features) {
          const prometheus::ClientMetric::Label feature{"feature", f.name};
          drift.metric.push_back(
              gauge_value(f.drift ? 1 : 0, {model, version, feature, reference}));
          for (const auto& s : f.stats) {
            if (!s.value) continue;
            stat.metric.push_back(
                gauge_value(*s.value, {model, version, feature, {"statistic", s.key}, reference}));
          }
        }
      }
    }
    MetricFamily ckpt = family("driftd_checkpoint_last_success_timestamp_seconds",
                               "Wall time of the last checkpoint written", MetricType::Gauge);
    ckpt.metric.push_back(gauge_value(p_.last_checkpoint_unix, {}));
    MetricFamily ckpt_fail = family("driftd_checkpoint_failures_total",
                                    "Checkpoints that could not be written", MetricType::Counter);
    ckpt_fail.metric.push_back(counter_value(static_cast<double>(p_.checkpoint_failures)));
    MetricFamily log_fail =
        family("driftd_windows_log_write_failures_total",
               "Closed windows that could not be appended to the windows log", MetricType::Counter);
    log_fail.metric.push_back(counter_value(static_cast<double>(p_.windows_log_failures)));
    MetricFamily reload_fail =
        family("driftd_config_reload_failures_total",
               "SIGHUP reloads refused (the old config kept running)", MetricType::Counter);
    reload_fail.metric.push_back(counter_value(static_cast<double>(p_.reload_failures)));
    return {received,     rejected,      late,       labels, offset,    kafka_offset, kafka_lag,
            events,       model_late,    windows,    stat,   drift,     missing,      share,
            dataset,      rows,          window_end, ckpt,   ckpt_fail, log_fail,     reload_fail,
            label_events, label_dropped, pending,    perf};
  }

 private:
  const Published& p_;
};

std::string json_error(std::string_view message) {
  JsonWriter w(-1);
  w.begin_object().key("error").value(message).end_object();
  return std::move(w.str()) + "\n";
}

}  // namespace

std::string render_metrics(const Published& published) {
  PublishedCollector collector(published);
  return prometheus::TextSerializer().Serialize(collector.Collect());
}

struct HttpServer::Impl {
  const Published& published;
  std::string listen;
  IngestQueue* ingest;
  size_t max_connections;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<bool> stopping{false};
  // Open connections: their sockets are shut down at stop().
  std::mutex conn_mu;
  std::condition_variable conn_cv;
  std::set<int> open_fds;
  size_t active = 0;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  std::shared_ptr<PublishedCollector> collector;

  Impl(const Published& p, std::string l, IngestQueue* q, size_t max_conn)
      : published(p), listen(std::move(l)), ingest(q), max_connections(max_conn) {
    requests = &prometheus::BuildCounter()
                    .Name("driftd_http_requests_total")
                    .Help("HTTP requests served, by path class and status")
                    .Register(*registry);
    collector = std::make_shared<PublishedCollector>(published);
  }

  http::response<http::string_body> handle(http::request<http::string_body>& req,
                                           IngestHandler* ingest_handler) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    auto reply = [&](http::status status, std::string body, const char* type) {
      res.result(status);
      res.set(http::field::content_type, type);
      res.body() = std::move(body);
      res.prepare_payload();
    };
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const std::string_view query =
        target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
    std::string path_class = "other";
    const bool ingest_path = path == "/v1/predictions" || path == "/v1/labels";
    if (ingest_path) {
      path_class = path == "/v1/labels" ? "labels" : "predictions";
      if (ingest_handler == nullptr) {
        reply(http::status::not_found,
              json_error("HTTP ingest is off: add a [[sources]] table with type = \"http\""),
              "application/json");
      } else if (req.method() != http::verb::post) {
        reply(http::status::method_not_allowed, json_error("send events with POST"),
              "application/json");
        res.set(http::field::allow, "POST");
      } else if (!published.ready.load()) {
        reply(http::status::service_unavailable, json_error("not ready"), "application/json");
        res.set(http::field::retry_after, "1");
      } else {
        IngestReply r = ingest_handler->handle(
            path == "/v1/labels" ? IngestKind::kLabel : IngestKind::kPrediction, req.body());
        reply(static_cast<http::status>(r.status), std::move(r.body), "application/json");
        if (r.retry_after) res.set(http::field::retry_after, "1");
      }
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reply(http::status::method_not_allowed, json_error("only GET is served here"),
            "application/json");
      res.set(http::field::allow, "GET, HEAD");
    } else if (path == "/healthz") {
      path_class = "healthz";
      reply(http::status::ok, "ok\n", "text/plain");
    } else if (path == "/readyz") {
      path_class = "readyz";
      if (published.ready.load()) {
        reply(http::status::ok, "ready\n", "text/plain");
      } else {
        reply(http::status::service_unavailable,
              "not ready: loading baselines or opening sources\n", "text/plain");
      }
    } else if (path == "/metrics") {
      path_class = "metrics";
      std::vector<prometheus::MetricFamily> families = collector->Collect();
      for (auto& f : registry->Collect()) families.push_back(std::move(f));
      if (ingest != nullptr) {
        for (auto& f : ingest_metric_families(*ingest)) families.push_back(std::move(f));
      }
      reply(http::status::ok, prometheus::TextSerializer().Serialize(families),
            "text/plain; version=0.0.4");
    } else if (path == "/v1/models") {
      path_class = "models";
      JsonWriter w;
      w.begin_object().key("models").begin_array();
      std::lock_guard<std::mutex> lock(published.mu);
      for (const auto& m : published.models) {
        w.begin_object();
        w.key("name").value(m.name);
        w.key("version").value(m.version);
        w.key("baseline").value(m.baseline_path);
        w.key("reference");
        if (m.reference_path.empty()) {
          w.null();
        } else {
          w.begin_object().key("name").value(m.reference_name);
          w.key("baseline").value(m.reference_path).end_object();
        }
        w.key("window").begin_object();
        w.key("kind").value(m.window.kind == WindowSettings::Kind::kCount ? "count" : "time");
        w.key("size").value(m.window.size);
        w.key("step").value(m.window.step);
        w.key("allowed_lateness").value(m.window.allowed_lateness);
        w.end_object();
        w.key("events").value(m.events);
        w.key("late_events").value(m.late);
        w.key("windows_closed").value(m.windows);
        w.key("latest_window");
        if (m.latest) {
          w.value(m.latest->id);
        } else {
          w.null();
        }
        w.key("features").begin_array();
        for (const auto& f : m.features) w.value(f);
        w.end_array();
        w.end_object();
      }
      w.end_array().end_object();
      reply(http::status::ok, std::move(w.str()) + "\n", "application/json");
    } else if (path.rfind("/v1/models/", 0) == 0 && path.size() > 17 &&
               path.substr(path.size() - 6) == "/drift") {
      path_class = "drift";
      const std::string_view model = path.substr(11, path.size() - 11 - 6);
      std::string_view version;
      if (query.rfind("version=", 0) == 0) version = query.substr(8, query.find('&') - 8);
      std::lock_guard<std::mutex> lock(published.mu);
      std::vector<const ModelView*> matches;
      for (const auto& m : published.models) {
        if (m.name == model && (version.empty() || m.version == version)) matches.push_back(&m);
      }
      if (matches.empty()) {
        reply(http::status::not_found,
              json_error("no monitored model '" + std::string(model) +
                         (version.empty() ? "'" : "' version '" + std::string(version) + "'")),
              "application/json");
      } else if (matches.size() > 1) {
        std::string versions;
        for (const auto* m : matches) versions += (versions.empty() ? "" : ", ") + m->version;
        reply(http::status::bad_request,
              json_error("model '" + std::string(model) + "' has several versions (" + versions +
                         "): add ?version=V"),
              "application/json");
      } else if (matches[0]->latest_json.empty()) {
        reply(http::status::not_found, json_error("no window has closed yet for this model"),
              "application/json");
      } else {
        reply(http::status::ok, matches[0]->latest_json, "application/json");
      }
    } else {
      reply(http::status::not_found, json_error("no such endpoint"), "application/json");
    }
    requests->Add({{"path", path_class}, {"code", std::to_string(res.result_int())}}).Increment();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  // Serves one connection's requests until it closes, errs or idles.
  void serve(tcp::socket& socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::unique_ptr<IngestHandler> ingest_handler;
    if (ingest != nullptr) ingest_handler = std::make_unique<IngestHandler>(*ingest);
    for (;;) {
      stream.expires_after(std::chrono::seconds(5));
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      beast::error_code ec;
      http::read_header(stream, buffer, parser, ec);
      if (ec) break;  // closed, timed out or malformed: drop the connection
      const auto target = parser.get().target();
      const bool ingest_path =
          ingest != nullptr && parser.get().method() == http::verb::post &&
          (target.starts_with("/v1/predictions") || target.starts_with("/v1/labels"));
      const uint64_t limit = ingest_path ? ingest->config().max_body_bytes : 64 * 1024;
      parser.body_limit(limit);
      bool too_large = parser.content_length() && *parser.content_length() > limit;
      if (!too_large) {
        if (ingest_path && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
          http::write(stream, cont, ec);
          if (ec) break;
        }
        stream.expires_after(std::chrono::seconds(30));
        http::read(stream, buffer, parser, ec);
        if (ec == http::error::body_limit) {
          too_large = true;
        } else if (ec) {
          break;
        }
      }
      if (too_large) {
        // The rest of the body is not read: answer and close.
        http::response<http::string_body> res{http::status::payload_too_large,
                                              parser.get().version()};
        res.set(http::field::content_type, "application/json");
        res.body() = json_error("request body over " + std::to_string(limit) +
                                " bytes (max_body_bytes): send smaller batches");
        res.keep_alive(false);
        res.prepare_payload();
        requests->Add({{"path", ingest_path ? "ingest" : "other"}, {"code", "413"}}).Increment();
        http::write(stream, res, ec);
        break;
      }
      auto res = handle(parser.get(), ingest_handler.get());
      stream.expires_after(std::chrono::seconds(30));
      http::write(stream, res, ec);
      if (ec || !res.keep_alive() || stopping.load()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    socket = std::move(stream.socket());
  }

  void refuse_busy(tcp::socket& socket) {
    http::response<http::string_body> res{http::status::service_unavailable, 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::retry_after, "1");
    res.body() = json_error(
        "too many connections (max_connections = " + std::to_string(max_connections) + ")");
    res.keep_alive(false);
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  void accept_loop() {
    while (!stopping.load()) {
      beast::error_code aec;
      auto socket = std::make_shared<tcp::socket>(io);
      acceptor.accept(*socket, aec);
      if (aec) {
        if (stopping.load()) break;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(conn_mu);
        if (active >= max_connections) {
          refuse_busy(*socket);
          continue;
        }
        ++active;
        open_fds.insert(socket->native_handle());
      }
      std::thread([this, socket] {
        const int fd = socket->native_handle();
        serve(*socket);
        std::lock_guard<std::mutex> lock(conn_mu);
        open_fds.erase(fd);  // before close: stop() never shuts a reused descriptor
        beast::error_code ec;
        socket->close(ec);
        --active;
        conn_cv.notify_all();
      }).detach();
    }
  }

  void stop_connections() {
    std::unique_lock<std::mutex> lock(conn_mu);
    for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);
    conn_cv.wait(lock, [&] { return active == 0; });
  }
};

HttpServer::HttpServer(const Published& published, std::string listen, IngestQueue* ingest,
                       size_t max_connections)
    : impl_(std::make_unique<Impl>(published, std::move(listen), ingest, max_connections)) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start() {
  const std::string& listen = impl_->listen;
  const size_t colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  beast::error_code ec;
  tcp::resolver resolver(impl_->io);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec || endpoints.empty())
    return Error{"cannot resolve listen address " + listen + ": " + ec.message()};
  const tcp::endpoint ep = *endpoints.begin();
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + listen + ": " + ec.message()};
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->thread = std::thread([this] { impl_->accept_loop(); });
  return {};
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  beast::error_code ec;
  // Unblock accept(): shutting the listening socket down makes it return.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ec);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->stop_connections();
}

}  // namespace driftd
