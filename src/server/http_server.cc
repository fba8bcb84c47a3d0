// The daemon's HTTP endpoints on Boost.Beast: /healthz, /readyz, /metrics,
// GET /v1/models, GET /v1/models/{model}/drift and /report, GET /v1/alerts,
// /v1/alerts/history, /v1/triggers and, with an http source,
// POST /v1/predictions and /v1/labels.
//
// Threads and invariants:
// - One I/O thread runs every connection asynchronously (Asio); every
//   session's state is touched on it alone. A connection costs memory, not
//   a thread, so idle or slow clients cannot starve anyone of threads.
// - Every read and write has a deadline (Beast's tcp_stream timers): a new
//   connection must send a whole header within header_timeout of its first
//   byte (and that byte within header_timeout), a keep-alive connection its
//   next request's first byte within idle_timeout, a body must arrive within
//   body_timeout and an answer leave within write_timeout. A connection past
//   its deadline is closed and counted by phase.
// - At max_connections a new connection closes the connection that has
//   waited longest for a request (idle or dripping its header: a slowloris);
//   only when every connection is busy is it answered 503 and closed.
// - /healthz and /readyz are answered on the I/O thread at once; every
//   other handler (ingest checks, /metrics, the JSON API) runs on one of
//   `workers` threads and its answer is written back by the I/O thread.
//   Durable ingest answers once the group commit has the events on disk
//   (the committer calls back): no thread waits for a disk.
// - With a token, requests need "Authorization: Bearer <token>" (compared
//   in constant time, never logged): ingest and /v1 always, /metrics and
//   the probes as configured. With TLS, connections are TLS only.
//
// Past 600 lines because a session's state machine (read, route, answer,
// deadlines) and the server's connection limits share private state on
// one I/O thread; the metrics it serves are built in metrics.cc.
#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 needs std::exchange

#include <openssl/crypto.h>
#include <sys/resource.h>

#include <prometheus/text_serializer.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <limits>
#include <list>
#include <optional>
#include <thread>

#include "alerts/outbox/deliverer.h"
#include "alerts/outbox/outbox.h"
#include "driftd/check/report_html.h"
#include "driftd/io/json_writer.h"
#include "src/common/time_format.h"
#include "src/daemon/log.h"
#include "src/server/http_server.h"
#include "src/server/metric_family.h"
#include "src/server/metrics.h"
#include "src/server/published.h"
#include "src/sources/http/http_source.h"

namespace driftd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr size_t kHeaderLimit = 16 * 1024;  // larger headers: 431
constexpr uint64_t kOtherBodyLimit = 64 * 1024;
constexpr uint64_t kLingerBytes = 64u << 20;  // read and dropped after an early answer, at most

std::string json_error(std::string_view message) {
  JsonWriter w(-1);
  w.begin_object().key("error").value(message).end_object();
  return std::move(w.str()) + "\n";
}

// The file name of a path: /v1/models shows no absolute paths.
std::string file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool loopback(const std::string& listen) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

}  // namespace

// What the server counts of itself (read at scrape time).
struct ServerCounters {
  std::atomic<uint64_t> accepted{0}, refused_busy{0}, evicted{0}, header_too_large{0};
  std::atomic<uint64_t> timeout_header{0}, timeout_body{0}, timeout_idle{0}, timeout_write{0};
  std::atomic<uint64_t> tls_failures{0}, unauthorized{0};
  std::atomic<int64_t> open{0};
  std::mutex mu;
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (path class, status)
  void count_request(const std::string& path_class, int status) {
    std::lock_guard<std::mutex> lock(mu);
    ++requests[{path_class, status}];
  }
};

namespace {

// A handler's work on a worker thread: its own ingest handler (parsers,
// buffers), kept between requests.
struct Worker {
  std::unique_ptr<IngestHandler> ingest;
};

class WorkerPool {
 public:
  using Task = std::function<void(Worker&)>;
  WorkerPool(size_t n, IngestQueue* queue) {
    for (size_t i = 0; i < n; ++i) {
      threads_.emplace_back([this, queue] {
        Worker w;
        if (queue != nullptr) w.ingest = std::make_unique<IngestHandler>(*queue);
        for (;;) {
          Task task;
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
            if (tasks_.empty()) return;  // stopping, nothing left
            task = std::move(tasks_.front());
            tasks_.pop_front();
          }
          task(w);
        }
      });
    }
  }
  ~WorkerPool() { stop(); }
  void post(Task t) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(t));
    cv_.notify_one();
  }
  // Runs what is queued, then joins.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// A session's entry in the server's list: what eviction looks at.
struct SessionSlot {
  std::function<void()> close;  // closes the socket (on the I/O thread)
  bool waiting = true;          // waiting for (or reading) a request's header
  std::chrono::steady_clock::time_point since;
};

}  // namespace

struct HttpServer::Impl {
  const Published& published;
  ServerConfig config;
  IngestQueue* ingest;
  // Open sessions, for eviction and stop(). The list's links are guarded
  // by sessions_mu (a session may end on a worker thread, where its last
  // reference went); a slot's fields are its session's, on the I/O thread.
  // Declared before the io_context: handlers still queued when the server
  // stops hold sessions, which are destroyed with the io_context and
  // leave this list (and the counters) as they go, so both must outlive it.
  std::mutex sessions_mu;
  std::list<SessionSlot> sessions;
  ServerCounters counters;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls;
  std::thread io_thread;
  std::unique_ptr<WorkerPool> workers;
  std::atomic<bool> stopping{false};
  Impl(const Published& p, ServerConfig c, IngestQueue* q)
      : published(p), config(std::move(c)), ingest(q) {}

  // ---- routing -------------------------------------------------------------

  enum class Access { kOpen, kProtected };
  // What a path is: its metrics class and whether it needs the token.
  static std::string path_class(std::string_view path) {
    if (path == "/v1/predictions") return "predictions";
    if (path == "/v1/labels") return "labels";
    if (path == "/healthz") return "healthz";
    if (path == "/readyz") return "readyz";
    if (path == "/metrics") return "metrics";
    if (path == "/v1/models") return "models";
    if (path == "/v1/alerts" || path == "/v1/alerts/history" || path == "/v1/triggers")
      return "alerts";
    if (path.rfind("/v1/models/", 0) == 0) return path.ends_with("/report") ? "report" : "drift";
    return "other";
  }
  bool needs_token(const std::string& cls) const {
    if (config.token.empty()) return false;
    if (cls == "healthz" || cls == "readyz") return config.protect_health;
    if (cls == "metrics") return config.protect_metrics;
    return true;
  }
  bool authorized(const Request& req) const {
    const auto it = req.find(http::field::authorization);
    if (it == req.end()) return false;
    const std::string_view v(it->value().data(), it->value().size());
    constexpr std::string_view kBearer = "Bearer ";
    if (v.size() != kBearer.size() + config.token.size() || v.substr(0, kBearer.size()) != kBearer)
      return false;
    // Constant time in the token's bytes (OpenSSL's CRYPTO_memcmp).
    return CRYPTO_memcmp(v.data() + kBearer.size(), config.token.data(), config.token.size()) == 0;
  }

  static Response make_response(const Request& req, http::status status, std::string body,
                                const char* type) {
    Response res{status, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  // The probes: answered on the I/O thread, never behind other work.
  Response probe(const Request& req, std::string_view path) const {
    if (path == "/healthz") return make_response(req, http::status::ok, "ok\n", "text/plain");
    if (published.ready.load())
      return make_response(req, http::status::ok, "ready\n", "text/plain");
    std::string why;
    {
      std::lock_guard<std::mutex> lock(published.mu);
      why = published.not_ready;
    }
    return make_response(req, http::status::service_unavailable,
                         "not ready: " + (why.empty() ? std::string("starting") : why) + "\n",
                         "text/plain");
  }

  // Every GET but the probes, on a worker.
  Response serve_get(const Request& req, std::string_view path, std::string_view query) {
    if (path == "/metrics") {
      std::vector<prometheus::MetricFamily> families =
          published_metric_families(published, config.max_metric_features);
      for (auto& f : server_families()) families.push_back(std::move(f));
      for (auto& f : process_metric_families()) families.push_back(std::move(f));
      if (ingest != nullptr) {
        for (auto& f : ingest_metric_families(*ingest)) families.push_back(std::move(f));
      }
      return make_response(req, http::status::ok, prometheus::TextSerializer().Serialize(families),
                           "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/v1/alerts") {
      // Pending and firing alerts, as of each model's last window close.
      std::string body = "{\"alerts\":[";
      bool first = true;
      std::lock_guard<std::mutex> lock(published.mu);
      for (const auto& m : published.models) {
        for (const auto& a : m.active_alerts) {
          JsonWriter j(-1);
          j.begin_object();
          j.key("rule").value(a.rule);
          j.key("severity").value(a.severity);
          j.key("model").value(m.name);
          j.key("version").value(m.version);
          if (!a.feature.empty()) j.key("feature").value(a.feature);
          j.key("state").value(a.firing ? "firing" : "pending");
          j.key("since").value(a.since);
          if (a.firing) j.key("fired_window").value(a.fired_window);
          j.key("value").value(a.value);
          j.key("threshold").value(a.threshold);
          j.end_object();
          body += first ? "\n" : ",\n";
          body += j.str();
          first = false;
        }
      }
      body += "]}\n";
      return make_response(req, http::status::ok, std::move(body), "application/json");
    }
    if (path == "/v1/alerts/history" || path == "/v1/triggers") {
      return history(req, path == "/v1/triggers" ? "trigger" : "alert", query);
    }
    if (path == "/v1/models") {
      JsonWriter w;
      w.begin_object().key("models").begin_array();
      std::lock_guard<std::mutex> lock(published.mu);
      for (const auto& m : published.models) {
        w.begin_object();
        w.key("name").value(m.name);
        w.key("version").value(m.version);
        w.key("baseline").value(file_name(m.baseline_path));
        w.key("reference");
        if (m.reference_path.empty()) {
          w.null();
        } else {
          w.begin_object().key("name").value(m.reference_name);
          w.key("baseline").value(file_name(m.reference_path)).end_object();
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
      return make_response(req, http::status::ok, std::move(w.str()) + "\n", "application/json");
    }
    // /v1/models/{model}/drift (the latest window's JSON line) and
    // /v1/models/{model}/report (the same window as an HTML page).
    const bool drift_path = path.size() > 17 && path.substr(path.size() - 6) == "/drift";
    const bool report_path = path.size() > 18 && path.substr(path.size() - 7) == "/report";
    if (path.rfind("/v1/models/", 0) == 0 && (drift_path || report_path)) {
      const std::string_view model = path.substr(11, path.size() - 11 - (drift_path ? 6 : 7));
      std::string_view version;
      if (query.rfind("version=", 0) == 0) version = query.substr(8, query.find('&') - 8);
      std::lock_guard<std::mutex> lock(published.mu);
      std::vector<const ModelView*> matches;
      for (const auto& m : published.models) {
        if (m.name == model && (version.empty() || m.version == version)) matches.push_back(&m);
      }
      if (matches.empty()) {
        return make_response(
            req, http::status::not_found,
            json_error("no monitored model '" + std::string(model) +
                       (version.empty() ? "'" : "' version '" + std::string(version) + "'")),
            "application/json");
      }
      if (matches.size() > 1) {
        std::string versions;
        for (const auto* m : matches) versions += (versions.empty() ? "" : ", ") + m->version;
        return make_response(
            req, http::status::bad_request,
            json_error("model '" + std::string(model) + "' has several versions (" + versions +
                       "): add ?version=V"),
            "application/json");
      }
      if (matches[0]->latest_json.empty()) {
        return make_response(req, http::status::not_found,
                             json_error("no window has closed yet for this model"),
                             "application/json");
      }
      if (report_path) {
        const ModelView& m = *matches[0];
        HtmlReportContext context;
        context.title =
            "window " + m.latest->id + " (" +
            (m.window.kind == WindowSettings::Kind::kTime
                 ? format_rfc3339_ms(m.latest->start) + " to " + format_rfc3339_ms(m.latest->end)
                 : "events " + std::to_string(m.latest->start) + " to " +
                       std::to_string(m.latest->end)) +
            ")";
        context.baseline = file_name(m.baseline_path);
        context.generated_at = format_rfc3339_ms(wall_clock_ms());
        context.no_distribution_reason =
            "this window was restored from the windows log at start-up, which keeps statistics, "
            "not distributions; the next window shows them";
        return make_response(req, http::status::ok, report_html(m.latest->report, context),
                             "text/html; charset=utf-8");
      }
      return make_response(req, http::status::ok, matches[0]->latest_json, "application/json");
    }
    return make_response(req, http::status::not_found, json_error("no such endpoint"),
                         "application/json");
  }

  // The outbox's newest notifications of a kind, newest first, each with
  // its deliveries: ?limit=N (1 to 1000, default 100) and ?before=SEQ
  // (the page after one whose `next_before` it was).
  Response history(const Request& req, const std::string& kind, std::string_view query) {
    if (published.outbox == nullptr) {
      return make_response(req, http::status::not_found,
                           json_error("no [[sinks]] are configured: the history of alerts and "
                                      "triggers is kept in the outbox, which sinks deliver from "
                                      "(the alerts log has every change)"),
                           "application/json");
    }
    int64_t limit = 100, before = 0;
    for (const auto& [name, value] : {std::pair<const char*, int64_t*>{"limit", &limit},
                                      std::pair<const char*, int64_t*>{"before", &before}}) {
      auto v = query_value(query, name);
      if (!v) continue;
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc() || end != v->data() + v->size() || n < 0) {
        return make_response(req, http::status::bad_request,
                             json_error(std::string(name) + ": expected a non-negative integer"),
                             "application/json");
      }
      *value = n;
    }
    if (limit < 1 || limit > 1000) {
      return make_response(req, http::status::bad_request, json_error("limit: expected 1 to 1000"),
                           "application/json");
    }
    auto records = published.outbox->history(kind, before, static_cast<size_t>(limit));
    if (!records) {
      return make_response(req, http::status::service_unavailable,
                           json_error(records.error().message), "application/json");
    }
    JsonWriter w(-1);
    w.begin_object().key(kind == "trigger" ? "triggers" : "alerts").begin_array();
    for (const auto& r : *records) {
      w.begin_object();
      w.key("seq").value(r.seq);
      w.key("created").value(format_rfc3339_ms(r.created_ms));
      w.key("notification").raw_value(r.body);
      w.key("deliveries").begin_array();
      for (const auto& d : r.deliveries) {
        w.begin_object();
        w.key("sink").value(d.sink);
        w.key("state").value(d.state);
        w.key("attempts").value(d.attempts);
        w.key("updated").value(format_rfc3339_ms(d.updated_ms));
        w.key("detail").value(d.detail);
        w.end_object();
      }
      w.end_array();
      w.end_object();
    }
    w.end_array();
    w.key("next_before");
    if (records->size() == static_cast<size_t>(limit)) {
      w.value(records->back().seq);
    } else {
      w.null();
    }
    w.end_object();
    return make_response(req, http::status::ok, std::move(w.str()) + "\n", "application/json");
  }

  // The value of `name` in a query string ("a=1&b=2"), undecoded.
  static std::optional<std::string_view> query_value(std::string_view query,
                                                     std::string_view name) {
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
          pair[name.size()] == '=') {
        return pair.substr(name.size() + 1);
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    return std::nullopt;
  }

  std::vector<prometheus::MetricFamily> server_families() {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    out.push_back(metric_family("driftd_http_requests_total",
                                "HTTP requests answered, by path class and status",
                                MetricType::Counter));
    {
      std::lock_guard<std::mutex> lock(counters.mu);
      for (const auto& [key, n] : counters.requests) {
        add_sample(out.back(), static_cast<double>(n),
                   {{"path", key.first}, {"code", std::to_string(key.second)}});
      }
    }
    out.push_back(metric_family("driftd_http_connections_open", "HTTP connections open now",
                                MetricType::Gauge));
    add_sample(out.back(), static_cast<double>(counters.open.load()));
    out.push_back(metric_family("driftd_http_connections_accepted_total",
                                "HTTP connections accepted", MetricType::Counter));
    add_sample(out.back(), static_cast<double>(counters.accepted.load()));
    out.push_back(metric_family(
        "driftd_http_connections_closed_total",
        "HTTP connections the server closed: busy (503 at max_connections, every connection "
        "busy), evicted (the longest-waiting one, to make room), header_too_large (431), "
        "tls_handshake (failed), and a deadline passed (timeout_header, timeout_idle, "
        "timeout_body, timeout_write)",
        MetricType::Counter));
    for (const auto& [reason, v] : {std::pair{"busy", counters.refused_busy.load()},
                                    {"evicted", counters.evicted.load()},
                                    {"header_too_large", counters.header_too_large.load()},
                                    {"tls_handshake", counters.tls_failures.load()},
                                    {"timeout_header", counters.timeout_header.load()},
                                    {"timeout_idle", counters.timeout_idle.load()},
                                    {"timeout_body", counters.timeout_body.load()},
                                    {"timeout_write", counters.timeout_write.load()}}) {
      add_sample(out.back(), static_cast<double>(v), {{"reason", reason}});
    }
    out.push_back(metric_family("driftd_http_unauthorized_requests_total",
                                "HTTP requests refused with 401 (no or a wrong bearer token)",
                                MetricType::Counter));
    add_sample(out.back(), static_cast<double>(counters.unauthorized.load()));
    return out;
  }

  // ---- connections ---------------------------------------------------------

  // Makes room for a new connection; false when every connection is busy.
  bool make_room() {
    std::function<void()> close;
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      if (sessions.size() < config.max_connections) return true;
      auto oldest = sessions.end();
      for (auto it = sessions.begin(); it != sessions.end(); ++it) {
        if (it->waiting && (oldest == sessions.end() || it->since < oldest->since)) oldest = it;
      }
      if (oldest == sessions.end()) return false;
      oldest->waiting = false;  // closed once
      close = oldest->close;
    }
    ++counters.evicted;
    close();  // outside the lock: the session may end here
    return true;
  }

  void accept();
  template <class Stream>
  void start_session(Stream stream);
  void refuse_busy(tcp::socket socket);
};

namespace {

template <class Stream>
tcp::socket& socket_of(Stream& s) {
  return beast::get_lowest_layer(s).socket();
}
template <class Stream>
beast::tcp_stream& tcp_of(Stream& s) {
  return beast::get_lowest_layer(s);
}

// One connection. Lives in shared_ptrs held by its pending operations; all
// of it runs on the I/O thread.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(HttpServer::Impl& server, Stream stream) : server_(server), stream_(std::move(stream)) {}

  void start(std::list<SessionSlot>::iterator slot) {
    slot_ = slot;
    std::weak_ptr<Session> weak = this->shared_from_this();
    slot_->close = [weak] {
      if (auto s = weak.lock()) s->close();
    };
    slot_->since = std::chrono::steady_clock::now();
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      tcp_of(stream_).expires_after(ms(server_.config.header_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  ++self->server_.counters.tls_failures;
                                  return self->end();
                                }
                                self->await_request(true);
                              });
    } else {
      await_request(true);
    }
  }

  ~Session() {
    {
      std::lock_guard<std::mutex> lock(server_.sessions_mu);
      server_.sessions.erase(slot_);
    }
    --server_.counters.open;
  }

 private:
  static std::chrono::milliseconds ms(int64_t v) { return std::chrono::milliseconds(v); }

  void close() {
    beast::error_code ec;
    socket_of(stream_).close(ec);
  }

  // Waits for a request's first byte (a new connection: header_timeout; a
  // kept-alive one: idle_timeout), then reads its header.
  void await_request(bool first) {
    slot_->waiting = true;
    slot_->since = std::chrono::steady_clock::now();
    if (server_.stopping.load()) return end();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Unlimited while the header is read (Beast would refuse a large
    // Content-Length there, with no status); the path's limit after it.
    // (Not boost::none: Boost 1.74 compares the length with the optional,
    // and any length is "greater" than none.)
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    if (buffer_.size() > 0) return read_header();  // pipelined bytes
    tcp_of(stream_).expires_after(
        ms(first ? server_.config.header_timeout_ms : server_.config.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this(), first](
                                                       beast::error_code ec, size_t n) {
      if (ec) {
        if (ec == beast::error::timeout) {
          ++(first ? self->server_.counters.timeout_header : self->server_.counters.timeout_idle);
        }
        return self->end();
      }
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    tcp_of(stream_).expires_after(ms(server_.config.header_timeout_ms));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      ++server_.counters.header_too_large;
      Request req;
      req.version(11);
      return finish(HttpServer::Impl::make_response(
                        req, http::status::request_header_fields_too_large,
                        json_error("request header over 16 KiB"), "application/json"),
                    "other", true);
    }
    if (ec) {
      if (ec == beast::error::timeout) ++server_.counters.timeout_header;
      return end();
    }
    slot_->waiting = false;
    Request& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    path_ = std::string(target.substr(0, target.find('?')));
    query_ = target.find('?') == std::string_view::npos
                 ? std::string()
                 : std::string(target.substr(target.find('?') + 1));
    cls_ = HttpServer::Impl::path_class(path_);
    const bool ingest_path = cls_ == "predictions" || cls_ == "labels";
    auto refuse = [&](http::status status, std::string message, const char* allow = nullptr) {
      Response res =
          HttpServer::Impl::make_response(req, status, json_error(message), "application/json");
      if (allow != nullptr) res.set(http::field::allow, allow);
      if (status == http::status::unauthorized) {
        res.set(http::field::www_authenticate, "Bearer realm=\"driftd\"");
      }
      // The body, if any, is not read: answered, then the rest of what the
      // client sends is read and dropped for a while (a client that sends
      // its whole body before it reads can then read the answer), then closed.
      linger_ = true;
      finish(std::move(res), cls_, true);
    };
    if (server_.needs_token(cls_) && !server_.authorized(req)) {
      ++server_.counters.unauthorized;
      return refuse(http::status::unauthorized,
                    "a bearer token is required (Authorization: "
                    "Bearer <token>)");
    }
    if (ingest_path) {
      if (server_.ingest == nullptr) {
        return refuse(http::status::not_found,
                      "HTTP ingest is off: add a [[sources]] table with type = \"http\"");
      }
      if (req.method() != http::verb::post) {
        return refuse(http::status::method_not_allowed, "send events with POST", "POST");
      }
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return refuse(http::status::method_not_allowed, "only GET is served here", "GET, HEAD");
    }
    const uint64_t limit = ingest_path ? server_.ingest->options().max_body_bytes : kOtherBodyLimit;
    if (parser_->content_length() && *parser_->content_length() > limit) {
      return refuse(http::status::payload_too_large,
                    "request body over " + std::to_string(limit) +
                        " bytes (max_body_bytes): send smaller batches");
    }
    parser_->body_limit(limit);
    if (ingest_path && beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      tcp_of(stream_).expires_after(ms(server_.config.write_timeout_ms));
      return http::async_write(
          stream_, *cont,
          [self = this->shared_from_this(), cont, limit](beast::error_code wec, size_t) {
            if (wec) {
              if (wec == beast::error::timeout) ++self->server_.counters.timeout_write;
              return self->end();
            }
            self->read_body(limit);
          });
    }
    read_body(limit);
  }

  void read_body(uint64_t limit) {
    tcp_of(stream_).expires_after(ms(server_.config.body_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this(), limit](beast::error_code ec, size_t) {
                       self->on_body(ec, limit);
                     });
  }

  void on_body(beast::error_code ec, uint64_t limit) {
    Request& req = parser_->get();
    if (ec == http::error::body_limit) {
      linger_ = true;
      return finish(
          HttpServer::Impl::make_response(req, http::status::payload_too_large,
                                          json_error("request body over " + std::to_string(limit) +
                                                     " bytes (max_body_bytes): send smaller "
                                                     "batches"),
                                          "application/json"),
          cls_, true);
    }
    if (ec) {
      if (ec == beast::error::timeout) ++server_.counters.timeout_body;
      return end();
    }
    tcp_of(stream_).expires_never();
    if (cls_ == "healthz" || cls_ == "readyz") {
      return finish(server_.probe(req, path_), cls_, false);
    }
    // Everything else runs on a worker; the answer comes back here.
    auto self = this->shared_from_this();
    server_.workers->post([self](Worker& w) {
      Request& r = self->parser_->get();
      if (self->cls_ == "predictions" || self->cls_ == "labels") {
        if (!self->server_.published.ready.load()) {
          std::string why;
          {
            std::lock_guard<std::mutex> lock(self->server_.published.mu);
            why = self->server_.published.not_ready;
          }
          Response res = HttpServer::Impl::make_response(
              r, http::status::service_unavailable,
              json_error("not ready" + (why.empty() ? "" : ": " + why)), "application/json");
          res.set(http::field::retry_after, "1");
          return self->answer(std::move(res));
        }
        w.ingest->handle(self->cls_ == "labels" ? IngestKind::kLabel : IngestKind::kPrediction,
                         r.body(),
                         [self, version = r.version(), keep = r.keep_alive()](IngestReply reply) {
                           Response res{static_cast<http::status>(reply.status), version};
                           res.keep_alive(keep);
                           res.set(http::field::content_type, "application/json");
                           if (reply.retry_after) res.set(http::field::retry_after, "1");
                           res.body() = std::move(reply.body);
                           res.prepare_payload();
                           self->answer(std::move(res));
                         });
        return;
      }
      self->answer(self->server_.serve_get(r, self->path_, self->query_));
    });
  }

  // From any thread: writes the answer on the I/O thread.
  void answer(Response res) {
    asio::post(server_.io, [self = this->shared_from_this(), res = std::move(res)]() mutable {
      self->finish(std::move(res), self->cls_, false);
    });
  }

  void finish(Response res, const std::string& cls, bool close_after) {
    if (close_after) res.keep_alive(false);
    if (parser_ && parser_->get().method() == http::verb::head) {
      res.body().clear();
      res.content_length(0);  // (the length of the GET answer is not sent)
    }
    server_.counters.count_request(cls, res.result_int());
    response_ = std::make_shared<Response>(std::move(res));
    tcp_of(stream_).expires_after(ms(server_.config.write_timeout_ms));
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) {
                          if (ec == beast::error::timeout) ++self->server_.counters.timeout_write;
                          return self->end();
                        }
                        const bool keep = self->response_->keep_alive();
                        self->response_.reset();
                        if (self->linger_) return self->linger();
                        if (!keep || self->server_.stopping.load()) return self->end();
                        self->await_request(false);
                      });
  }

  // After an answer to a request whose body was not read: no more is
  // written (TCP half-close), and what still comes is read and dropped
  // until the client closes, for at most body_timeout (capped at 5 s) and
  // kLingerBytes, so that the client sees the answer and not a reset.
  void linger() {
    if constexpr (!std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::error_code ec;
      socket_of(stream_).shutdown(tcp::socket::shutdown_send, ec);
    }
    tcp_of(stream_).expires_after(ms(std::min<int64_t>(server_.config.body_timeout_ms, 5000)));
    drain();
  }
  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) return self->end();
                              self->drain();
                            });
  }

  // The connection ends: a graceful TLS close where there is one, then
  // the socket (the session goes with its last pending operation).
  void end() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      if (socket_of(stream_).is_open() && !ended_) {
        ended_ = true;
        tcp_of(stream_).expires_after(std::chrono::seconds(1));
        stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
          beast::error_code ec;
          socket_of(self->stream_).shutdown(tcp::socket::shutdown_both, ec);
          socket_of(self->stream_).close(ec);
        });
        return;
      }
    }
    beast::error_code ec;
    socket_of(stream_).shutdown(tcp::socket::shutdown_send, ec);
    socket_of(stream_).close(ec);
  }

  HttpServer::Impl& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::list<SessionSlot>::iterator slot_;
  bool ended_ = false;
  bool linger_ = false;  // answered before the body was read: drain, then close
  uint64_t drained_ = 0;
  std::string path_, query_, cls_;
};

}  // namespace

void HttpServer::Impl::refuse_busy(tcp::socket socket) {
  ++counters.refused_busy;
  auto res = std::make_shared<Response>(http::status::service_unavailable, 11);
  res->set(http::field::content_type, "application/json");
  res->set(http::field::retry_after, "1");
  res->body() = json_error("too many connections (max_connections = " +
                           std::to_string(config.max_connections) + "), all busy");
  res->keep_alive(false);
  res->prepare_payload();
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  stream->expires_after(std::chrono::seconds(1));
  // (Over TLS the plain answer is not understood; the close is.)
  if (tls) {
    beast::error_code ec;
    stream->socket().close(ec);
    return;
  }
  http::async_write(*stream, *res, [stream, res](beast::error_code, size_t) {
    beast::error_code ec;
    stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream->socket().close(ec);
  });
}

template <class Stream>
void HttpServer::Impl::start_session(Stream stream) {
  std::list<SessionSlot>::iterator slot;
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.push_back(SessionSlot{});
    slot = std::prev(sessions.end());
  }
  ++counters.open;
  auto session = std::make_shared<Session<Stream>>(*this, std::move(stream));
  session->start(slot);
}

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopping.load()) return;
    if (!ec) {
      ++counters.accepted;
      if (!make_room()) {
        refuse_busy(std::move(socket));
      } else if (tls) {
        start_session(beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls));
      } else {
        start_session(beast::tcp_stream(std::move(socket)));
      }
    } else if (ec == asio::error::no_descriptors) {
      // Out of file descriptors: wait a little rather than spin.
      jlog(spdlog::level::err, "HTTP accept: {} (raise the open-files limit)", ec.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    accept();
  });
}

HttpServer::HttpServer(const Published& published, const ServerConfig& config, IngestQueue* ingest)
    : impl_(std::make_unique<Impl>(published, config, ingest)) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start() {
  Impl& s = *impl_;
  const std::string& listen = s.config.listen;
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = listen.substr(colon + 1);
  // Sockets are descriptors: room for max_connections and the daemon's files.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    const rlim_t want = static_cast<rlim_t>(s.config.max_connections) + 256;
    if (lim.rlim_cur < want) {
      lim.rlim_cur = std::min(want, lim.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &lim);
      if (lim.rlim_cur < want) {
        jlog(spdlog::level::warn,
             "the open-files limit ({}) is below max_connections + 256 ({}): connections past "
             "it are refused by the kernel",
             lim.rlim_cur, want);
      }
    }
  }
  if (!s.config.tls_cert_file.empty()) {
    s.tls.emplace(ssl::context::tls_server);
    beast::error_code ec;
    s.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
    s.tls->use_certificate_chain_file(s.config.tls_cert_file, ec);
    if (ec) return Error{"TLS: cannot use " + s.config.tls_cert_file + ": " + ec.message()};
    s.tls->use_private_key_file(s.config.tls_key_file, ssl::context::pem, ec);
    if (ec) return Error{"TLS: cannot use " + s.config.tls_key_file + ": " + ec.message()};
  }
  beast::error_code ec;
  tcp::resolver resolver(s.io);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec || endpoints.empty())
    return Error{"cannot resolve listen address " + listen + ": " + ec.message()};
  const tcp::endpoint ep = *endpoints.begin();
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + listen + ": " + ec.message()};
  port_ = s.acceptor.local_endpoint().port();
  if (!loopback(listen) && s.config.token.empty()) {
    jlog(spdlog::level::warn,
         "listening on {} beyond loopback without authentication: anyone who reaches it can "
         "post events and read the API (set [server.auth])",
         listen);
  }
  s.workers = std::make_unique<WorkerPool>(s.config.workers, s.ingest);
  s.accept();
  s.io_thread = std::thread([&s] { s.io.run(); });
  return {};
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  Impl& s = *impl_;
  if (!s.io_thread.joinable()) return;  // never started
  // On the I/O thread: stop accepting, close every connection.
  asio::post(s.io, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    std::vector<std::function<void()>> closes;
    {
      std::lock_guard<std::mutex> lock(s.sessions_mu);
      for (auto& slot : s.sessions) closes.push_back(slot.close);
    }
    for (auto& close : closes) close();
  });
  // Handlers in flight finish (an ingest handler's answer may still come
  // from the committer, posted to a loop that is about to stop: dropped
  // with its session).
  s.workers->stop();
  s.io.stop();
  s.io_thread.join();
}

}  // namespace driftd
