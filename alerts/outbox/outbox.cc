#include "alerts/outbox/outbox.h"

#include <sqlite3.h>

namespace driftd::alerts {

namespace {

constexpr int kApplicationId = 0x64726674;  // "drft"
constexpr int kPending = 0, kDelivered = 1, kDead = 2;
constexpr const char* kVersion2Indexes =
    ";CREATE INDEX notifications_alert ON notifications(alert, seq)"
    ";CREATE INDEX notifications_kind ON notifications(kind, seq)";

const char* state_name(int64_t state) {
  switch (state) {
    case kPending:
      return "pending";
    case kDelivered:
      return "delivered";
    default:
      return "dead";
  }
}

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Statement() { sqlite3_finalize(s_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_OK;
};

std::string sqlite_error(sqlite3* db, const std::string& path, const std::string& what) {
  return "outbox " + path + ": " + what + ": " + sqlite3_errmsg(db);
}

}  // namespace

Result<std::unique_ptr<Outbox>> Outbox::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error{"outbox " + path + ": cannot open: " + why};
  }
  std::unique_ptr<Outbox> box(new Outbox(db, path));
  // Another process holding the database: refused after 2 s, not waited on.
  sqlite3_busy_timeout(db, 2000);
  auto fail = [&](const std::string& what) -> Error {
    return Error{sqlite_error(db, path, what) +
                 " (a damaged or foreign file: move it away to start an empty outbox; "
                 "undelivered notifications in it would be lost)"};
  };
  // What the file is, before anything is written to it.
  int app_id = 0, version = 0;
  bool empty = true;
  {
    Statement s(db, "PRAGMA application_id");
    if (!s.ok() || s.step() != SQLITE_ROW) return fail("not a database");
    app_id = static_cast<int>(s.integer(0));
  }
  {
    Statement s(db, "PRAGMA user_version");
    if (!s.ok() || s.step() != SQLITE_ROW) return fail("not a database");
    version = static_cast<int>(s.integer(0));
  }
  {
    Statement s(db, "SELECT count(*) FROM sqlite_schema");
    if (!s.ok() || s.step() != SQLITE_ROW) return fail("not a database");
    empty = s.integer(0) == 0;
  }
  if (!empty && app_id != kApplicationId) {
    return Error{"outbox " + path + ": an SQLite database, but not a driftd outbox"};
  }
  if (!empty && (version < 1 || version > kFormatVersion)) {
    return Error{"outbox " + path + ": format version " + std::to_string(version) +
                 ", this driftd reads versions 1 to " + std::to_string(kFormatVersion)};
  }
  if (!empty) {
    Statement s(db, "PRAGMA quick_check");
    if (!s.ok() || s.step() != SQLITE_ROW || s.text(0) != "ok") {
      return Error{"outbox " + path + ": damaged (" + (s.ok() ? s.text(0) : "unreadable") +
                   "): move it away to start an empty outbox"};
    }
  }
  if (auto st = box->exec("PRAGMA journal_mode=WAL"); !st) return fail("WAL mode");
  if (auto st = box->exec("PRAGMA synchronous=FULL"); !st) return fail("synchronous mode");
  // A write lock now: a second process on the same outbox is refused here.
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error{sqlite_error(db, path, "cannot lock it") +
                 " (is another driftd or a tool holding it?)"};
  }
  if (empty) {
    const std::string schema =
        "PRAGMA application_id=" + std::to_string(kApplicationId) +
        ";PRAGMA user_version=" + std::to_string(kFormatVersion) +
        ";CREATE TABLE notifications(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " key TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, body TEXT NOT NULL,"
        " kind TEXT NOT NULL DEFAULT 'alert', alert TEXT NOT NULL DEFAULT '',"
        " firing INTEGER NOT NULL DEFAULT 0)"
        ";CREATE TABLE deliveries(sink TEXT NOT NULL, seq INTEGER NOT NULL,"
        " state INTEGER NOT NULL, attempts INTEGER NOT NULL, next_at_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL, detail TEXT NOT NULL, PRIMARY KEY(sink, seq))"
        ";CREATE INDEX deliveries_pending ON deliveries(sink, state, seq)" +
        std::string(kVersion2Indexes);
    if (auto st = box->exec(schema.c_str()); !st) {
      (void)box->exec("ROLLBACK");
      return st.error();
    }
  } else if (version == 1) {
    // Version 1 had alerts only, with their identity inside the body.
    const std::string migrate =
        "ALTER TABLE notifications ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert'"
        ";ALTER TABLE notifications ADD COLUMN alert TEXT NOT NULL DEFAULT ''"
        ";ALTER TABLE notifications ADD COLUMN firing INTEGER NOT NULL DEFAULT 0"
        ";UPDATE notifications SET firing = (json_extract(body, '$.state') = 'firing'),"
        " alert = json_extract(body, '$.model.name') || '@' || json_extract(body,"
        " '$.model.version') || '/' || json_extract(body, '$.rule') || '|' ||"
        " coalesce(json_extract(body, '$.feature'), '') WHERE json_valid(body)" +
        std::string(kVersion2Indexes) + ";PRAGMA user_version=2";
    if (auto st = box->exec(migrate.c_str()); !st) {
      (void)box->exec("ROLLBACK");
      return Error{st.error().message + " (while bringing a version 1 outbox to version 2)"};
    }
  }
  if (auto st = box->exec("COMMIT"); !st) return st.error();
  return box;
}

Outbox::~Outbox() {
  sqlite3_close(db_);
}

Status Outbox::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = "outbox " + path_ + ": " + (err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return Error{message};
  }
  return {};
}

Result<size_t> Outbox::add(const std::vector<Entry>& entries, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  DRIFTD_TRY(exec("BEGIN IMMEDIATE"));
  size_t added = 0;
  {
    Statement insert(db_,
                     "INSERT OR IGNORE INTO notifications(key, created_ms, body, kind, alert,"
                     " firing) VALUES(?, ?, ?, ?, ?, ?)");
    Statement route(db_,
                    "INSERT OR IGNORE INTO deliveries(sink, seq, state, attempts, next_at_ms,"
                    " updated_ms, detail) VALUES(?, ?, 0, 0, ?, ?, '')");
    if (!insert.ok() || !route.ok()) {
      (void)exec("ROLLBACK");
      return Error{sqlite_error(db_, path_, "cannot prepare")};
    }
    for (const Entry& e : entries) {
      insert.bind(1, e.key).bind(2, now_ms).bind(3, e.body).bind(4, e.kind).bind(5, e.alert);
      insert.bind(6, e.firing ? 1 : 0);
      const int rc = insert.step();
      insert.reset();
      if (rc != SQLITE_DONE) {
        Error err{sqlite_error(db_, path_, "cannot add a notification")};
        (void)exec("ROLLBACK");
        return err;
      }
      if (sqlite3_changes(db_) == 0) continue;  // already there: a window judged again
      ++added;
      const int64_t seq = sqlite3_last_insert_rowid(db_);
      for (const std::string& sink : e.sinks) {
        route.bind(1, sink).bind(2, seq).bind(3, now_ms).bind(4, now_ms);
        const int rr = route.step();
        route.reset();
        if (rr != SQLITE_DONE) {
          Error err{sqlite_error(db_, path_, "cannot route a notification")};
          (void)exec("ROLLBACK");
          return err;
        }
      }
    }
  }
  if (auto st = exec("COMMIT"); !st) {
    (void)exec("ROLLBACK");
    return st.error();
  }
  return added;
}

namespace {

// An item's columns, as head() and firing() select them (n: notifications,
// d: its delivery to the sink), and reading them back from a row.
constexpr std::string_view kItemColumns =
    "SELECT n.seq, n.key, n.body, n.kind, n.firing, n.created_ms, d.attempts";
constexpr int kItemColumnCount = 7;

OutboxItem read_item(Statement& s) {
  OutboxItem item;
  item.seq = s.integer(0);
  item.key = s.text(1);
  item.body = s.text(2);
  item.kind = s.text(3);
  item.firing = s.integer(4) != 0;
  item.created_ms = s.integer(5);
  item.attempts = s.integer(6);
  return item;
}

}  // namespace

Result<std::optional<Outbox::Head>> Outbox::head(const std::string& sink) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string sql = std::string(kItemColumns) +
                          ", d.next_at_ms FROM deliveries d JOIN notifications n ON n.seq = d.seq"
                          " WHERE d.sink = ? AND d.state = 0 ORDER BY d.seq LIMIT 1";
  Statement s(db_, sql.c_str());
  if (!s.ok()) return Error{sqlite_error(db_, path_, "cannot read")};
  s.bind(1, sink);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Head>();
  if (rc != SQLITE_ROW) return Error{sqlite_error(db_, path_, "cannot read")};
  Head h;
  h.item = read_item(s);
  h.next_at_ms = s.integer(kItemColumnCount);
  return std::optional<Head>(std::move(h));
}

Result<std::vector<OutboxItem>> Outbox::firing(const std::string& sink) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string sql =
      std::string(kItemColumns) +
      " FROM notifications n JOIN deliveries d ON d.seq = n.seq AND d.sink = ?1 AND d.state = 1"
      " WHERE n.firing = 1 AND n.seq IN (SELECT max(n2.seq) FROM notifications n2"
      " JOIN deliveries d2 ON d2.seq = n2.seq AND d2.sink = ?1 AND d2.state != 0"
      " WHERE n2.kind = 'alert' AND n2.alert != '' GROUP BY n2.alert) ORDER BY n.seq";
  Statement s(db_, sql.c_str());
  if (!s.ok()) return Error{sqlite_error(db_, path_, "cannot read")};
  s.bind(1, sink);
  std::vector<OutboxItem> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_item(s));
  if (rc != SQLITE_DONE) return Error{sqlite_error(db_, path_, "cannot read")};
  return out;
}

Result<std::vector<Outbox::Record>> Outbox::history(const std::string& kind, int64_t before_seq,
                                                    size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "SELECT seq, created_ms, key, body FROM notifications WHERE kind = ?1"
              " AND (?2 <= 0 OR seq < ?2) ORDER BY seq DESC LIMIT ?3");
  Statement d(db_,
              "SELECT sink, state, attempts, updated_ms, detail FROM deliveries WHERE seq = ?"
              " ORDER BY sink");
  if (!s.ok() || !d.ok()) return Error{sqlite_error(db_, path_, "cannot read")};
  s.bind(1, kind).bind(2, before_seq).bind(3, static_cast<int64_t>(limit));
  std::vector<Record> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    Record r;
    r.seq = s.integer(0);
    r.created_ms = s.integer(1);
    r.key = s.text(2);
    r.body = s.text(3);
    d.bind(1, r.seq);
    int dr;
    while ((dr = d.step()) == SQLITE_ROW) {
      r.deliveries.push_back(
          {d.text(0), state_name(d.integer(1)), d.integer(2), d.integer(3), d.text(4)});
    }
    d.reset();
    if (dr != SQLITE_DONE) return Error{sqlite_error(db_, path_, "cannot read")};
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error{sqlite_error(db_, path_, "cannot read")};
  return out;
}

Status Outbox::finish_delivery(int64_t seq, const std::string& sink, int state, int64_t at_ms,
                               const std::string& detail, bool attempted) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              state == kPending
                  ? "UPDATE deliveries SET attempts = attempts + ?, next_at_ms = ?, detail = ?,"
                    " updated_ms = ? WHERE sink = ? AND seq = ?"
                  : "UPDATE deliveries SET attempts = attempts + ?, state = ?, detail = ?,"
                    " updated_ms = ? WHERE sink = ? AND seq = ?");
  if (!s.ok()) return Error{sqlite_error(db_, path_, "cannot update")};
  s.bind(1, attempted ? 1 : 0).bind(2, state == kPending ? at_ms : state).bind(3, detail);
  s.bind(4, at_ms).bind(5, sink).bind(6, seq);
  if (s.step() != SQLITE_DONE) return Error{sqlite_error(db_, path_, "cannot update")};
  return {};
}

Status Outbox::delivered(int64_t seq, const std::string& sink, int64_t now_ms,
                         const std::string& detail) {
  return finish_delivery(seq, sink, kDelivered, now_ms, detail, true);
}

Status Outbox::retry_later(int64_t seq, const std::string& sink, int64_t next_at_ms,
                           const std::string& detail) {
  return finish_delivery(seq, sink, kPending, next_at_ms, detail, true);
}

Status Outbox::dead(int64_t seq, const std::string& sink, int64_t now_ms,
                    const std::string& detail) {
  return finish_delivery(seq, sink, kDead, now_ms, detail, true);
}

Result<Outbox::Counts> Outbox::counts(const std::string& sink) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_, "SELECT state, count(*) FROM deliveries WHERE sink = ? GROUP BY state");
  if (!s.ok()) return Error{sqlite_error(db_, path_, "cannot read")};
  s.bind(1, sink);
  Counts c;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    const auto n = static_cast<uint64_t>(s.integer(1));
    switch (s.integer(0)) {
      case kPending:
        c.pending = n;
        break;
      case kDelivered:
        c.delivered = n;
        break;
      case kDead:
        c.dead = n;
        break;
      default:
        break;
    }
  }
  if (rc != SQLITE_DONE) return Error{sqlite_error(db_, path_, "cannot read")};
  return c;
}

Status Outbox::prune(int64_t before_ms, int64_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "DELETE FROM notifications WHERE created_ms < ?1"
              " AND seq <= (SELECT max(seq) FROM notifications) - ?2"
              " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = notifications.seq"
              " AND d.state = 0) AND seq NOT IN (SELECT max(seq) FROM notifications"
              " WHERE kind = 'alert' GROUP BY alert)");
  Statement orphans(db_, "DELETE FROM deliveries WHERE seq NOT IN (SELECT seq FROM notifications)");
  if (!s.ok() || !orphans.ok()) return Error{sqlite_error(db_, path_, "cannot prune")};
  s.bind(1, before_ms).bind(2, keep);
  if (s.step() != SQLITE_DONE || orphans.step() != SQLITE_DONE) {
    return Error{sqlite_error(db_, path_, "cannot prune")};
  }
  return {};
}

}  // namespace driftd::alerts
