#include "src/sources/http/http_ingest.h"

#include "driftd/io/json_writer.h"
#include "src/daemon/log.h"

namespace driftd {

// ---- IngestBatch ----------------------------------------------------------------

void IngestBatch::add(std::string_view line, IngestKind kind) {
  Entry e;
  e.offset = static_cast<uint32_t>(bytes.size());
  e.len = static_cast<uint32_t>(line.size());
  e.kind = kind;
  bytes.append(line);
  bytes.push_back('\n');
  entries.push_back(e);
  ++accepted;
}

void IngestBatch::refuse(std::string_view line, IngestKind kind, RejectReason reason,
                         std::string_view why) {
  Entry e;
  e.offset = static_cast<uint32_t>(bytes.size());
  e.len = static_cast<uint32_t>(line.size());
  e.kind = kind;
  e.reason = reason;
  bytes.append(line);
  bytes.push_back('\n');
  e.detail_offset = static_cast<uint32_t>(bytes.size());
  e.detail_len = static_cast<uint32_t>(why.size());
  bytes.append(why);
  bytes.push_back('\n');
  entries.push_back(e);
}

void IngestBatch::append(const IngestBatch& other) {
  // (ends_request travels with each entry.)
  const auto shift = static_cast<uint32_t>(bytes.size());
  bytes.append(other.bytes);
  for (Entry e : other.entries) {
    e.offset += shift;
    e.detail_offset += shift;
    entries.push_back(e);
  }
  accepted += other.accepted;
}

// ---- IngestQueue ----------------------------------------------------------------

IngestQueue::IngestQueue(const SourceConfig& config)
    : config_(config), options_(config_.options_as<HttpSourceOptions>()) {
  stats_.limit_bytes = options_.queue_bytes;
  stats_.durable = options_.durable;
  routes_ = std::make_shared<const Router>();
}

IngestQueue::~IngestQueue() {
  close();
}

void IngestQueue::preload(const IngestRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_.add(r.payload, r.kind);
  ready_.entries.back().seq = r.seq;
  ++stats_.replayed;
}

void IngestQueue::start(std::unique_ptr<IngestLog> log) {
  std::lock_guard<std::mutex> lock(mu_);
  log_ = std::move(log);
  if (log_) {
    stats_.log_bytes = log_->bytes_on_disk();
    stats_.log_segments = log_->segments();
    committer_ = std::thread([this] { commit_loop(); });
  }
  started_ = true;
}

bool IngestQueue::full_locked(size_t bytes, std::string* why) {
  const uint64_t queued = pending_.bytes.size() + writing_.bytes.size() + ready_.bytes.size();
  // An empty queue takes any body (max_body_bytes bounds it), so a large
  // request cannot be refused for ever.
  if (queued == 0 || queued + bytes <= options_.queue_bytes) return false;
  ++stats_.throttled;
  *why = "the ingest queue is full (" + std::to_string(queued) +
         " bytes queued, queue_bytes = " + std::to_string(options_.queue_bytes) + "); retry later";
  return true;
}

bool IngestQueue::admits(size_t bytes, std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || !started_) return true;  // submit() answers 503
  return !full_locked(bytes, why);
}

void IngestQueue::set_paused(std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = std::move(reason);
}

IngestQueue::Submitted IngestQueue::submit(IngestBatch& batch, std::string* why) {
  std::mutex m;
  std::condition_variable cv;
  bool answered = false;
  Submitted result = Submitted::kFailed;
  submit(batch, [&](Submitted s, const std::string& w) {
    std::lock_guard<std::mutex> lock(m);
    result = s;
    *why = w;
    answered = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return answered; });
  return result;
}

void IngestQueue::submit(IngestBatch& batch, SubmitDone done) {
  std::unique_lock<std::mutex> lock(mu_);
  std::string why;
  if (closed_ || !started_) {
    lock.unlock();
    done(Submitted::kClosed, closed_ ? "driftd is shutting down" : "driftd is starting");
    return;
  }
  if (!paused_.empty()) {
    why = paused_;
    lock.unlock();
    done(Submitted::kPaused, why);
    return;
  }
  if (full_locked(batch.bytes.size(), &why)) {
    lock.unlock();
    done(Submitted::kFull, why);
    return;
  }
  Waiter w;
  for (auto& e : batch.entries) {
    if (e.reason != RejectReason::kNone) continue;
    w.predictions += e.kind == IngestKind::kPrediction;
    w.labels += e.kind == IngestKind::kLabel;
  }
  w.refused = batch.entries.size() - batch.accepted;
  // The request's events are one group in the log: its last event closes it.
  for (auto it = batch.entries.rbegin(); it != batch.entries.rend(); ++it) {
    if (it->reason == RejectReason::kNone) {
      it->ends_request = true;
      break;
    }
  }
  if (!log_ || batch.accepted == 0) {
    // In memory only (or only refused lines, nothing to make durable):
    // sequence numbers here, ready at once.
    const size_t first = ready_.entries.size();
    ready_.append(batch);
    if (!log_) {
      for (size_t i = first; i < ready_.entries.size(); ++i) {
        if (ready_.entries[i].reason == RejectReason::kNone)
          ready_.entries[i].seq = next_memory_seq_++;
      }
    }
    stats_.accepted_predictions += w.predictions;
    stats_.accepted_labels += w.labels;
    stats_.refused += w.refused;
    stats_.queued_bytes = pending_.bytes.size() + writing_.bytes.size() + ready_.bytes.size();
    batch.clear();
    lock.unlock();
    done(Submitted::kAccepted, "");
    return;
  }
  w.done = std::move(done);
  pending_.append(batch);
  pending_waiters_.push_back(std::move(w));
  stats_.queued_bytes = pending_.bytes.size() + writing_.bytes.size() + ready_.bytes.size();
  batch.clear();
  work_cv_.notify_one();
}

void IngestQueue::commit_loop() {
  std::vector<Waiter> waiters;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] {
      return !pending_.entries.empty() || closed_ || release_before_ > released_;
    });
    if (!pending_.entries.empty()) {
      // Group commit: every request that arrived while the last fsync ran
      // goes into this one, each request a group of records of its own.
      std::swap(pending_, writing_);
      waiters.swap(pending_waiters_);
      const uint64_t first_seq = log_->next_seq();
      lock.unlock();
      encoded_.clear();
      uint64_t seq = first_seq;
      for (auto& e : writing_.entries) {
        if (e.reason != RejectReason::kNone) continue;
        e.seq = seq++;
        append_ingest_record(encoded_, e.seq, e.kind,
                             std::string_view(writing_.bytes.data() + e.offset, e.len),
                             e.ends_request);
      }
      const Status st = log_->append(encoded_, seq - first_seq);
      lock.lock();
      ++stats_.log_fsyncs;
      if (st) {
        ready_.append(writing_);
        for (const Waiter& w : waiters) {
          stats_.accepted_predictions += w.predictions;
          stats_.accepted_labels += w.labels;
          stats_.refused += w.refused;
        }
      } else {
        ++stats_.log_failures;
        jlog(spdlog::level::err, "ingest log: {} ({} events refused with 503)", st.error().message,
             seq - first_seq);
      }
      writing_.clear();
      stats_.log_bytes = log_->bytes_on_disk();
      stats_.log_segments = log_->segments();
      stats_.queued_bytes = pending_.bytes.size() + ready_.bytes.size();
      // Answered outside the lock (the callbacks post to the server's loop).
      lock.unlock();
      const std::string why = st ? "" : "cannot write the ingest log: " + st.error().message;
      for (Waiter& w : waiters) w.done(st ? Submitted::kAccepted : Submitted::kFailed, why);
      waiters.clear();
      lock.lock();
    }
    if (release_before_ > released_) {
      const uint64_t seq = release_before_;
      released_ = seq;
      // Runs under the lock: the log is this thread's, and deleting files
      // is rare (a segment at a time).
      if (auto st = log_->release_before(seq); !st) {
        jlog(spdlog::level::err, "ingest log: {}", st.error().message);
      }
      stats_.log_bytes = log_->bytes_on_disk();
      stats_.log_segments = log_->segments();
    }
    if (closed_ && pending_.entries.empty()) return;
  }
}

bool IngestQueue::take(IngestBatch& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ready_.entries.empty()) return false;
  std::swap(ready_, out);
  stats_.queued_bytes = pending_.bytes.size() + writing_.bytes.size();
  return true;
}

void IngestQueue::release_before(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  if (seq > release_before_) {
    release_before_ = seq;
    work_cv_.notify_one();
  }
}

void IngestQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    work_cv_.notify_one();
  }
  if (committer_.joinable()) committer_.join();
}

void IngestQueue::set_routes(std::shared_ptr<const Router> routes) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_ = std::move(routes);
}

std::shared_ptr<const Router> IngestQueue::routes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return routes_;
}

IngestQueue::Stats IngestQueue::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

// ---- request handling -----------------------------------------------------------

namespace {

constexpr size_t kMaxListedErrors = 100;
constexpr size_t kKeepParserBytes = 1 << 20;

bool blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

std::string_view trim_cr(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

}  // namespace

void IngestHandler::consider(std::string_view text, size_t capacity, size_t line, IngestKind kind) {
  std::string_view detail;
  RejectReason reason = reader_.verdict(text.data(), text.size(), capacity, *routes_, &detail);
  std::string why(detail);
  if (reason == RejectReason::kNone && kind == IngestKind::kLabel && !reader_.last_was_label()) {
    const EventFields& f = queue_.config().fields;
    reason = RejectReason::kBadLabel;
    why = "/v1/labels takes label events: \"" + f.label + "\" and no \"" + f.features + "\"";
  }
  if (reason == RejectReason::kNone) {
    batch_.add(text, kind);
  } else {
    batch_.refuse(text, kind, reason, why);
    errors_.push_back(LineError{line, std::move(why)});
  }
}

void IngestHandler::consider_copy(std::string_view text, size_t line, IngestKind kind) {
  padded_.assign(text);
  padded_.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  consider(std::string_view(padded_.data(), text.size()), padded_.size(), line, kind);
}

namespace {

IngestReply error_reply(int status, std::string_view message, bool retry_after = false) {
  JsonWriter w(-1);
  w.begin_object().key("error").value(message).end_object();
  IngestReply reply;
  reply.status = status;
  reply.body = std::move(w.str()) + "\n";
  reply.retry_after = retry_after;
  return reply;
}

}  // namespace

IngestReply IngestHandler::handle(IngestKind kind, std::string& body) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<IngestReply> out;
  handle(kind, body, [&](IngestReply r) {
    std::lock_guard<std::mutex> lock(m);
    out = std::move(r);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void IngestHandler::handle(IngestKind kind, std::string& body_bytes, Answer done) {
  // simdjson's padding after the body: its lines are judged where they lie.
  const size_t body_size = body_bytes.size();
  body_bytes.resize(body_size + simdjson::SIMDJSON_PADDING, '\0');
  const std::optional<IngestReply> early = judge(kind, body_bytes, body_size);
  // The body is the caller's again before anyone is answered.
  body_bytes.resize(body_size);
  if (early) return done(std::move(*early));
  IngestReply reply;
  JsonWriter w(-1);
  w.begin_object().key("accepted").value(batch_.accepted);
  if (!errors_.empty()) {
    w.key("rejected").value(static_cast<uint64_t>(errors_.size()));
    w.key("errors").begin_array();
    for (size_t i = 0; i < errors_.size() && i < kMaxListedErrors; ++i) {
      w.begin_object().key("line").value(static_cast<uint64_t>(errors_[i].line));
      w.key("reason").value(errors_[i].reason).end_object();
    }
    w.end_array();
    if (errors_.size() > kMaxListedErrors) w.key("errors_truncated").value(true);
  }
  w.end_object();
  reply.status = errors_.empty() ? 202 : 400;
  reply.body = std::move(w.str()) + "\n";
  queue_.submit(batch_, [reply = std::move(reply), done = std::move(done)](
                            IngestQueue::Submitted s, const std::string& why) mutable {
    switch (s) {
      case IngestQueue::Submitted::kAccepted:
        return done(std::move(reply));
      case IngestQueue::Submitted::kFull:
        return done(error_reply(429, why, true));
      case IngestQueue::Submitted::kClosed:
      case IngestQueue::Submitted::kFailed:
      case IngestQueue::Submitted::kPaused:
        return done(error_reply(503, why, true));
    }
  });
}

std::optional<IngestReply> IngestHandler::judge(IngestKind kind, const std::string& body_bytes,
                                                size_t body_size) {
  batch_.clear();
  errors_.clear();
  routes_ = queue_.routes();
  reader_.set_now_ms(wall_clock_ms());
  const std::string_view body(body_bytes.data(), body_size);
  const size_t capacity = body_bytes.size();
  std::string_view rest = body;
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n' || rest.front() == '\r' ||
                           rest.front() == '\t')) {
    rest.remove_prefix(1);
  }
  if (rest.empty()) return error_reply(400, "empty body: send a JSON object, an array or NDJSON");
  if (std::string why; !queue_.admits(body.size(), &why)) return error_reply(429, why, true);
  if (rest.front() == '[') {
    // A JSON array of events: parsed whole; each element, as the line the
    // log keeps (minified), judged alone.
    simdjson::dom::array events;
    if (auto err = parser_.parse(body.data(), body.size(), false).get_array().get(events)) {
      const std::string why = std::string("invalid JSON array: ") + simdjson::error_message(err);
      batch_.refuse(body, kind, RejectReason::kInvalidJson, why);
      errors_.push_back(LineError{1, why});
    } else {
      size_t index = 0;
      for (simdjson::dom::element e : events) {
        minified_ = simdjson::minify(e);
        consider_copy(minified_, ++index, kind);
      }
    }
  } else {
    // NDJSON (one object is one line). A single object spread over several
    // lines is taken whole when no line parses alone.
    size_t line = 0, start = 0, json_lines = 0, lines = 0;
    while (start <= body.size()) {
      const size_t nl = body.find('\n', start);
      const size_t end = nl == std::string_view::npos ? body.size() : nl;
      ++line;
      const std::string_view text = trim_cr(body.substr(start, end - start));
      if (!blank(text)) {
        ++lines;
        const size_t before = errors_.size();
        // The bytes after the line (the rest of the body, then the padding) are readable.
        consider(text, capacity - static_cast<size_t>(text.data() - body_bytes.data()), line, kind);
        const RejectReason r =
            errors_.size() == before ? RejectReason::kNone : batch_.entries.back().reason;
        json_lines += r != RejectReason::kInvalidJson && r != RejectReason::kNotAnObject;
      }
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    if (lines > 1 && json_lines == 0) {
      simdjson::dom::element doc;
      if (!parser_.parse(body.data(), body.size(), false).get(doc) && doc.is_object()) {
        batch_.clear();
        errors_.clear();
        minified_ = simdjson::minify(doc);
        consider_copy(minified_, 1, kind);
      }
    }
  }
  if (body.size() > kKeepParserBytes) {
    // A whole large body was parsed at once (an array): give the parser's
    // buffers back, so idle connections do not each hold a body's worth.
    parser_ = simdjson::dom::parser();
  }
  return std::nullopt;
}

}  // namespace driftd
