// HTTP ingest (the sidecar mode): POST /v1/predictions and /v1/labels.
//
// Threads and invariants:
// - HTTP threads judge each event with the decoder's own EventReader (the
//   same verdict and reason as a file or Kafka source gives the same line,
//   before the answer; a label on /v1/labels besides) and submit the
//   request's events as one batch. A refused line never stops the good ones;
//   it is answered (400 with its line and reason) and handed on for the
//   dead-letter file.
// - With `durable = true` one committer thread appends submitted batches to
//   the ingest log and fsyncs them, many requests per fsync (group commit);
//   a request is answered 2xx only once its events are on disk. Sequence
//   numbers are given by the committer, in log order.
// - The ingest thread takes everything committed with one swap under the
//   queue's mutex per batch (never a lock per event) and hands the lines to
//   the decoder like any other source. Its position is the next sequence
//   number to apply; the checkpoint stores it, and the log below it is
//   deleted once the checkpoint is durable.
// - Memory is bounded: submissions that would take the queued bytes over
//   `queue_bytes` are refused whole with 429 and Retry-After.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "driftd/daemon/daemon_config.h"
#include "driftd/decode/event_decoder.h"
#include "driftd/sources/ingest_log.h"
#include "src/sources/source.h"

namespace driftd {

// Its keys ([[sources]] with type = "http"; POST /v1/predictions and
// /v1/labels on the server's listen address).
struct HttpSourceOptions final : SourceOptionsOf<HttpSourceOptions> {
  bool durable = true;                 // ingest log + fsync before the 2xx
  uint64_t max_body_bytes = 8u << 20;  // larger bodies: 413
  uint64_t queue_bytes = 64u << 20;    // accepted, not yet applied; beyond: 429
  uint64_t segment_bytes = 64u << 20;  // ingest log segment size
  std::string log_dir = "ingest";      // relative to the state dir unless absolute
  bool operator==(const HttpSourceOptions&) const = default;
};

// Events on their way from HTTP threads to the ingest thread.
struct IngestBatch {
  struct Entry {
    uint64_t seq = 0;  // 0 for a refused line (never logged)
    uint32_t offset = 0, len = 0;
    IngestKind kind = IngestKind::kPrediction;
    RejectReason reason = RejectReason::kNone;  // kNone: an event to decode
    uint32_t detail_offset = 0, detail_len = 0;
    bool ends_request = false;  // the last accepted event of its request (the log's group)
  };
  std::string bytes;  // lines, each followed by '\n'; refusal details
  std::vector<Entry> entries;
  uint64_t accepted = 0;
  void clear() {
    // The batches that rotate through the queue keep the capacity of the
    // largest burst each has held (up to queue_bytes), so RSS would creep
    // up with every new record burst. What is far beyond this use is given
    // back (a batch at a time, never an event).
    constexpr size_t kKeepBytes = 1 << 20;
    if (bytes.capacity() > kKeepBytes && bytes.size() < bytes.capacity() / 8) {
      std::string().swap(bytes);
    }
    if (entries.capacity() * sizeof(Entry) > kKeepBytes &&
        entries.size() < entries.capacity() / 8) {
      std::vector<Entry>().swap(entries);
    }
    bytes.clear();
    entries.clear();
    accepted = 0;
  }
  void add(std::string_view line, IngestKind kind);
  void refuse(std::string_view line, IngestKind kind, RejectReason reason, std::string_view why);
  // Appends another batch's entries (offsets moved).
  void append(const IngestBatch& other);
};

class IngestQueue {
 public:
  explicit IngestQueue(const SourceConfig& config);
  ~IngestQueue();
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;

  const SourceConfig& config() const { return config_; }
  const HttpSourceOptions& options() const { return options_; }

  // Start-up, before any submission: records replayed from the log, then
  // the committer (log == nullptr when not durable).
  void preload(const IngestRecord& record);
  void start(std::unique_ptr<IngestLog> log);

  enum class Submitted { kAccepted, kFull, kClosed, kFailed, kPaused };
  // From an HTTP handler: queues the batch (emptied, one request's events:
  // the log keeps them all or none) and calls `done` once its events are on
  // disk when durable (from the committer thread), else at once. `why` says
  // what went wrong. Never blocks on the disk.
  using SubmitDone = std::function<void(Submitted, const std::string& why)>;
  void submit(IngestBatch& batch, SubmitDone done);
  // The same, waiting for the answer (tests).
  Submitted submit(IngestBatch& batch, std::string* why);
  // While paused (the daemon cannot make its windows durable), submissions
  // are answered kPaused with the reason; empty: taking again.
  void set_paused(std::string reason);

  // A cheap look before checking a body: false (counted as throttled, with
  // the reason) when `bytes` more would not be taken now. submit() decides;
  // this only spares an overloaded daemon the work of checking the body.
  bool admits(size_t bytes, std::string* why);

  // From the ingest thread: swaps everything committed into `out` (which
  // must be empty); false when there was nothing.
  bool take(IngestBatch& out);
  // After a checkpoint covering every record below `seq`.
  void release_before(uint64_t seq);
  // Refuses new submissions, writes what is pending, stops the committer.
  void close();

  // The models' routes (without monitors) for the HTTP threads' verdicts.
  void set_routes(std::shared_ptr<const Router> routes);
  std::shared_ptr<const Router> routes() const;

  // Metrics (read at scrape time).
  struct Stats {
    uint64_t queued_bytes = 0, limit_bytes = 0;
    uint64_t accepted_predictions = 0, accepted_labels = 0, refused = 0;
    uint64_t throttled = 0, log_fsyncs = 0, log_failures = 0, replayed = 0;
    uint64_t log_bytes = 0, log_segments = 0;
    bool durable = false;
  };
  Stats stats() const;

 private:
  struct Waiter {
    SubmitDone done;
    uint64_t predictions = 0, labels = 0, refused = 0;
  };
  void commit_loop();
  bool full_locked(size_t bytes, std::string* why);  // counts a refusal

  SourceConfig config_;
  const HttpSourceOptions& options_;  // *config_.options
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  IngestBatch pending_, writing_, ready_;
  std::vector<Waiter> pending_waiters_;
  std::string paused_;
  std::unique_ptr<IngestLog> log_;
  std::thread committer_;
  uint64_t next_memory_seq_ = 1;  // not durable: sequence numbers in memory
  uint64_t release_before_ = 0, released_ = 0;
  bool closed_ = false, started_ = false;
  std::shared_ptr<const Router> routes_;
  Stats stats_;
  std::string encoded_;  // the committer's log bytes, reused
};

// An HTTP ingest request, answered.
struct IngestReply {
  int status = 202;
  std::string body;  // JSON
  bool retry_after = false;
};

// Checks and submits one request body. One per thread that handles
// requests (it keeps its parsers and buffers between requests).
class IngestHandler {
 public:
  explicit IngestHandler(IngestQueue& queue) : queue_(queue), reader_(queue.config().fields) {}
  // Judges and submits a body; `done` gets the answer, at once or (durable)
  // from the committer thread once the events are on disk. `body` gets
  // simdjson's padding appended while it is judged, and is left as it came
  // before `done` runs (so the caller may free it from there).
  using Answer = std::function<void(IngestReply)>;
  void handle(IngestKind kind, std::string& body, Answer done);
  // The same, waiting for the answer (tests).
  IngestReply handle(IngestKind kind, std::string& body);

 private:
  struct LineError {
    size_t line;
    std::string reason;
  };
  // Judges every event of a padded body into batch_ and errors_; an answer
  // when the request is refused whole.
  std::optional<IngestReply> judge(IngestKind kind, const std::string& body_bytes,
                                   size_t body_size);
  // Judges one event (its text readable with simdjson's padding after it)
  // and adds it to the batch, accepted or refused.
  void consider(std::string_view text, size_t capacity, size_t line, IngestKind kind);
  // The same for text without padding (copied into padded_ first).
  void consider_copy(std::string_view text, size_t line, IngestKind kind);

  IngestQueue& queue_;
  EventReader reader_;
  simdjson::dom::parser parser_;  // splits JSON array bodies
  IngestBatch batch_;
  std::vector<LineError> errors_;
  std::shared_ptr<const Router> routes_;
  std::string minified_, padded_;
};

}  // namespace driftd
