// The alerts outbox (alerts/outbox/outbox.h), the delivery backoff, the
// webhook sink's signing (the Standard Webhooks spec's own example) and
// the [[sinks]] tables' errors.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "alerts/outbox/deliverer.h"
#include "alerts/outbox/outbox.h"
#include "alerts/sinks/webhook/webhook.h"
#include "sink_test_util.h"

namespace driftd::alerts {
namespace {

using test::sink_from;

std::string fresh_path(const std::string& name) {
  const std::string dir =
      std::string(P_tmpdir) + "/driftd-outbox-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

TEST_CASE("outbox: each key once, per-sink order, outcomes kept across a reopen", "[alerts]") {
  const std::string path = fresh_path("a.sqlite");
  {
    auto box = Outbox::open(path);
    REQUIRE(box.ok());
    Outbox& o = **box;
    auto added = o.add({{"k1", "{\"n\":1}", {"hook", "audit"}, "alert", "a1", true},
                        {"k2", "{\"n\":2}", {"hook"}, "alert", "a2", true}},
                       1000);
    REQUIRE(added.ok());
    CHECK(*added == 2);
    // The same window judged again after a restart: nothing new.
    auto again = o.add({{"k1", "{\"n\":1}", {"hook", "audit"}, "alert", "a1", true},
                        {"k3", "{\"n\":3}", {"hook"}, "alert", "a3", true}},
                       2000);
    REQUIRE(again.ok());
    CHECK(*again == 1);

    auto head = o.head("hook");
    REQUIRE(head.ok());
    REQUIRE(head->has_value());
    CHECK((*head)->item.key == "k1");
    CHECK((*head)->item.body == "{\"n\":1}");
    CHECK((*head)->next_at_ms == 1000);
    // A retry keeps it at the head: k2 waits behind it.
    REQUIRE(o.retry_later((*head)->item.seq, "hook", 5000, "HTTP 503").ok());
    head = o.head("hook");
    CHECK((*head)->item.key == "k1");
    CHECK((*head)->item.attempts == 1);
    CHECK((*head)->next_at_ms == 5000);
    REQUIRE(o.delivered((*head)->item.seq, "hook", 6000, "HTTP 200").ok());
    head = o.head("hook");
    CHECK((*head)->item.key == "k2");
    REQUIRE(o.dead((*head)->item.seq, "hook", 7000, "HTTP 400: bad").ok());
    CHECK(o.head("hook")->value().item.key == "k3");
    CHECK(o.head("audit")->value().item.key == "k1");  // each sink on its own
    auto counts = o.counts("hook");
    REQUIRE(counts.ok());
    CHECK(counts->pending == 1);
    CHECK(counts->delivered == 1);
    CHECK(counts->dead == 1);
  }
  auto reopened = Outbox::open(path);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->head("hook")->value().item.key == "k3");
  CHECK((*reopened)->counts("hook")->delivered == 1);
  // Pruning keeps what a sink still has to deliver.
  REQUIRE((*reopened)->prune(1'000'000, 0).ok());
  CHECK((*reopened)->head("hook")->value().item.key == "k3");
  CHECK((*reopened)->head("audit")->value().item.key == "k1");
}

TEST_CASE("outbox: a foreign, damaged or newer file is refused by name", "[alerts]") {
  const std::string foreign = fresh_path("foreign.sqlite");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(foreign.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto r = Outbox::open(foreign);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "outbox " + foreign + ": an SQLite database, but not a driftd outbox");

  const std::string newer = fresh_path("newer.sqlite");
  {
    auto box = Outbox::open(newer);
    REQUIRE(box.ok());
  }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(newer.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version=3", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  r = Outbox::open(newer);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "outbox " + newer + ": format version 3, this driftd reads versions 1 to 2");

  const std::string garbage = fresh_path("garbage.sqlite");
  std::ofstream(garbage) << std::string(8192, 'x');
  r = Outbox::open(garbage);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("outbox " + garbage + ": ", 0) == 0);

  // A truncated outbox (a disk that lost its tail): refused, never read as empty.
  const std::string cut = fresh_path("cut.sqlite");
  {
    auto box = Outbox::open(cut);
    REQUIRE(box.ok());
    std::vector<Outbox::Entry> many;
    for (int i = 0; i < 2000; ++i) {
      many.push_back(
          {"key" + std::to_string(i), std::string(200, 'b'), {"hook"}, "alert", "a", false});
    }
    REQUIRE((*box)->add(many, 1).ok());
  }
  {
    sqlite3* db = nullptr;  // fold the WAL into the file, then cut it
    REQUIRE(sqlite3_open(cut.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
  }
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  r = Outbox::open(cut);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("damaged") != std::string::npos);
}

TEST_CASE("outbox: a second process holding it is refused, not waited on", "[alerts]") {
  const std::string path = fresh_path("locked.sqlite");
  { REQUIRE(Outbox::open(path).ok()); }
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto r = Outbox::open(path);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("locked") != std::string::npos);
}

TEST_CASE("delivery backoff: doubling, capped, jittered, Retry-After honoured", "[alerts]") {
  SinkSettings s;
  s.backoff_initial_ms = 1000;
  s.backoff_max_ms = 8000;
  CHECK(Deliverer::backoff_ms(s, 1, -1, 1.0) == 1000);
  CHECK(Deliverer::backoff_ms(s, 2, -1, 1.0) == 2000);
  CHECK(Deliverer::backoff_ms(s, 4, -1, 1.0) == 8000);
  CHECK(Deliverer::backoff_ms(s, 60, -1, 1.0) == 8000);
  CHECK(Deliverer::backoff_ms(s, 2, -1, 0.5) == 1000);
  CHECK(Deliverer::backoff_ms(s, 1, 30'000, 1.0) == 30'000);
  CHECK(Deliverer::backoff_ms(s, 1, 100, 1.0) == 1000);
  CHECK(Deliverer::backoff_ms(s, 1, 86'400'000, 1.0) == 3'600'000);
}

TEST_CASE("webhook signatures follow the Standard Webhooks spec's example", "[alerts]") {
  // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
  const auto key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(key.has_value());
  CHECK(webhook_signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                          "{\"test\": 2432232314}") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  CHECK(webhook_key("plain-secret") ==
        std::vector<unsigned char>{'p', 'l', 'a', 'i', 'n', '-', 's', 'e', 'c', 'r', 'e', 't'});
  CHECK_FALSE(webhook_key("whsec_not base64!").has_value());
  const std::string id = webhook_message_id("fraud@3/psi/firing/w|amount");
  CHECK(id.size() == 4 + 32);
  CHECK(id.rfind("msg_", 0) == 0);
  CHECK(id == webhook_message_id("fraud@3/psi/firing/w|amount"));  // the same on every retry
  CHECK(id != webhook_message_id("fraud@3/psi/resolved/w|amount"));
}

TEST_CASE("[[sinks]]: errors name the key, a missing secret names its variable", "[alerts]") {
  ::unsetenv("DRIFTD_TEST_NO_SUCH_SECRET");
  auto r = sink_from(
      "[[sinks]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"https://x.example/h\"\n"
      "secret_env = \"DRIFTD_TEST_NO_SUCH_SECRET\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "d.toml:5: sinks[0].secret_env: the environment variable DRIFTD_TEST_NO_SUCH_SECRET is "
        "not set");
  r = sink_from("[[sinks]]\nname = \"ops\"\ntype = \"pager\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "d.toml:3: sinks[0].type: unknown sink type 'pager' (types: webhook, log, alertmanager, "
        "slack, kafka, airflow)");
  r = sink_from("[[sinks]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"ftp://x\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "d.toml:4: sinks[0].url: expected an http:// or https:// URL");
  r = sink_from("[[sinks]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://x\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("secret_env") != std::string::npos);
  r = sink_from("[[sinks]]\nname = \"audit\"\ntype = \"log\"\npath = \"a.jsonl\"\nurl = \"x\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "d.toml:5: sinks[0].url: unknown key (expected name, type, timeout, backoff_initial, "
        "backoff_max, path)");
  ::setenv("DRIFTD_TEST_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  r = sink_from(
      "[[sinks]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"https://x.example/h\"\n"
      "secret_env = \"DRIFTD_TEST_SECRET\"\ntimeout = \"2s\"\nheaders = { X-Team = \"risk\" }\n");
  REQUIRE(r.ok());
  CHECK(r->settings.timeout_ms == 2000);
  CHECK(r->sink != nullptr);
}

}  // namespace
}  // namespace driftd::alerts
