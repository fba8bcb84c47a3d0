// The outbox: every notification is written here, durably, before any sink
// is tried, and each sink's delivery of it is tracked here until it is
// delivered or dead-lettered. SQLite (WAL, synchronous=FULL) in the state
// dir, so that a crash loses nothing written and a restart resumes every
// delivery where it stood. A notification's key is unique: a window closed
// again after a restart (the replay since the last checkpoint) adds
// nothing twice.
//
// Format: the database's application_id is 0x64726674 ("drft") and its
// user_version the format version (2; a version 1 file is brought to 2 in
// place, at open); a file that is not an outbox, of a newer version,
// damaged (integrity check) or locked by another process is refused at open
// with a message naming it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "alerts/sinks/sink.h"
#include "driftd/common/result.h"

struct sqlite3;

namespace driftd::alerts {

class Outbox {
 public:
  static constexpr int kFormatVersion = 2;

  static Result<std::unique_ptr<Outbox>> open(const std::string& path);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  struct Entry {
    std::string key, body;
    std::vector<std::string> sinks;  // the sinks it goes to
    std::string kind = "alert";      // or "trigger"
    std::string alert;               // an alert's identity (alert_identity); empty for a trigger
    bool firing = false;
  };
  // In one transaction, durable when it returns; an entry whose key is
  // already there adds nothing. How many were new.
  Result<size_t> add(const std::vector<Entry>& entries, int64_t now_ms);

  // The oldest notification `sink` has not delivered or dead-lettered
  // (deliveries keep their order: a later one waits for it), and when it
  // is due.
  struct Head {
    OutboxItem item;
    int64_t next_at_ms = 0;
  };
  Result<std::optional<Head>> head(const std::string& sink);
  Status delivered(int64_t seq, const std::string& sink, int64_t now_ms, const std::string& detail);
  Status retry_later(int64_t seq, const std::string& sink, int64_t next_at_ms,
                     const std::string& detail);
  Status dead(int64_t seq, const std::string& sink, int64_t now_ms, const std::string& detail);

  // For each alert whose last notification `sink` delivered says firing,
  // that notification, oldest first (what Alertmanager must hear again
  // after a restart).
  Result<std::vector<OutboxItem>> firing(const std::string& sink);

  // The newest notifications of a kind ("alert" or "trigger"), newest
  // first, below `before_seq` (0: from the newest), each with its
  // deliveries: GET /v1/alerts/history and /v1/triggers.
  struct Record {
    int64_t seq = 0, created_ms = 0;
    std::string key, body;
    struct Attempt {
      std::string sink, state;  // pending, delivered, dead
      int64_t attempts = 0, updated_ms = 0;
      std::string detail;
    };
    std::vector<Attempt> deliveries;
  };
  Result<std::vector<Record>> history(const std::string& kind, int64_t before_seq, size_t limit);

  struct Counts {
    uint64_t pending = 0, delivered = 0, dead = 0;
  };
  Result<Counts> counts(const std::string& sink);
  // Forgets notifications every sink is done with, made before
  // `before_ms`, beyond the newest `keep` (bounded history). An alert's
  // newest notification is kept whatever its age: a firing alert that has
  // not changed for a month must still be re-sent after a restart.
  Status prune(int64_t before_ms, int64_t keep);

  const std::string& path() const { return path_; }

 private:
  Outbox(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status exec(const char* sql);
  Status finish_delivery(int64_t seq, const std::string& sink, int state, int64_t at_ms,
                         const std::string& detail, bool attempted);

  std::mutex mu_;  // one connection, shared by the daemon's thread and the sinks'
  sqlite3* db_;
  std::string path_;
};

}  // namespace driftd::alerts
