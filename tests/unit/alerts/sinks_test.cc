// What the sinks send, byte for byte where a receiver's API fixes it:
// Alertmanager's postable alerts, Slack's message, Airflow's DAG run with
// its run id, the CloudEvents envelope; Retry-After read as RFC 9110 says;
// the outbox's version 2 (a version 1 file migrated in place, the alerts
// still firing read back, history, retention that keeps an alert's newest
// notification); and the sink tables' errors.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "alerts/http/http_post.h"
#include "alerts/outbox/outbox.h"
#include "alerts/rules/rule.h"
#include "alerts/sinks/airflow/airflow.h"
#include "alerts/sinks/alertmanager/alertmanager.h"
#include "alerts/sinks/slack/slack.h"
#include "alerts/sinks/webhook/webhook.h"
#include "sink_test_util.h"

namespace driftd::alerts {
namespace {

using test::sink_from;

// 2026-12-02T12:00:00Z
constexpr int64_t kNow = 1796212800000;

const std::string kFiring =
    R"({"kind":"alert","state":"firing","rule":"feature_shift","severity":"warning",)"
    R"("model":{"name":"fraud","version":"3"},"feature":"amount","value":0.41,"threshold":0.2,)"
    R"("window":{"id":"fraud@3/t/1796209200000-1796209500000","kind":"time",)"
    R"("start":1796209200000,"end":1796209500000,"rows":1000},"fired_at":1796209500000,)"
    R"("labels":{"alertname":"feature_shift","model":"fraud","model_version":"3",)"
    R"("feature":"amount","severity":"warning"},"annotations":{"summary":"amount PSI 0.41 <x>"},)"
    R"("key":"fraud@3/feature_shift/firing/fraud@3/t/1796209200000-1796209500000|amount"})";

std::string resolved_body() {
  std::string s = kFiring;
  s.replace(s.find("\"firing\""), 8, "\"resolved\"");
  s.replace(s.find("\"labels\""), 0, R"("resolved_at":1796210100000,)");
  return s;
}

TEST_CASE("alertmanager: postable alerts, endsAt ahead while firing, at the resolve after",
          "[alerts]") {
  auto firing = alertmanager_alert_json(kFiring, kNow, 240'000);
  REQUIRE(firing.ok());
  CHECK(
      *firing ==
      R"({"labels":{"alertname":"feature_shift","model":"fraud","model_version":"3",)"
      R"("feature":"amount","severity":"warning"},"annotations":{"summary":"amount PSI 0.41 <x>"},)"
      R"("startsAt":"2026-12-02T11:05:00Z","endsAt":"2026-12-02T12:04:00Z"})");
  auto resolved = alertmanager_alert_json(resolved_body(), kNow, 240'000);
  REQUIRE(resolved.ok());
  CHECK(resolved->find(R"("startsAt":"2026-12-02T11:05:00Z","endsAt":"2026-12-02T11:15:00Z")") !=
        std::string::npos);
  // Event time ahead of the wall clock: never an end before the start.
  auto early = alertmanager_alert_json(resolved_body(), 1796209000000, 240'000);
  REQUIRE(early.ok());
  CHECK(early->find(R"("startsAt":"2026-12-02T10:56:40Z","endsAt":"2026-12-02T10:56:40Z")") !=
        std::string::npos);
  CHECK_FALSE(alertmanager_alert_json(R"({"kind":"trigger"})", kNow, 1).ok());
  CHECK_FALSE(alertmanager_alert_json("{", kNow, 1).ok());
}

TEST_CASE("slack: the key figures of an alert and of a trigger, mrkdwn escaped", "[alerts]") {
  auto m = slack_message_json(kFiring, "#ml-alerts");
  REQUIRE(m.ok());
  CHECK(*m ==
        R"({"channel":"#ml-alerts","text":":warning: *FIRING* `feature_shift` (warning) on model )"
        R"(*fraud* version 3, feature `amount`\nvalue 0.41 (threshold 0.2); window )"
        R"(2026-12-02T11:00:00Z to 2026-12-02T11:05:00Z, 1000 rows\namount PSI 0.41 &lt;x&gt;"})");
  auto t = slack_message_json(
      R"({"kind":"trigger","trigger":"retrain","model":{"name":"fraud","version":"3"},)"
      R"("because":[{"rule":"data_drift"}],"window":{"kind":"count","start":0,"end":500,"rows":500},)"
      R"("evidence":{"drifting_features":[{"name":"amount","method":"psi","value":0.5}]}})",
      "");
  REQUIRE(t.ok());
  CHECK(
      *t ==
      R"({"text":":arrows_counterclockwise: *Retraining triggered* (retrain) for model *fraud* )"
      R"(version 3\nbecause `data_drift`; window 0 to 500, 500 rows\ndrifting: amount psi 0.5"})");
  CHECK_FALSE(
      slack_message_json(R"({"kind":"other","model":{"name":"a","version":"1"}})", "").ok());
}

TEST_CASE("airflow: one DAG run per idempotency key, the trigger as conf", "[alerts]") {
  const std::string key = "trigger/retrain/fraud@3/data_drift/fraud@3/t/0-300000";
  const std::string id = airflow_run_id(key);
  CHECK(id.rfind("driftd__trigger_retrain_fraud_3_data_drift_fraud_3_t_0-300000__", 0) == 0);
  CHECK(id.size() == std::string("driftd__").size() + key.size() + 2 + 16);
  for (char c : id) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'));
  CHECK(airflow_run_id(key) == id);
  CHECK(airflow_run_id(key + "x") != id);
  // A key cut to 180 bytes still names its run alone.
  const std::string long_a(300, 'a'), long_b = std::string(299, 'a') + "b";
  CHECK(airflow_run_id(long_a) != airflow_run_id(long_b));
  CHECK(airflow_run_id(long_a).size() == 8 + 180 + 18);
  const std::string trigger = R"({"kind":"trigger","idempotency_key":")" + key + R"(","n":1})";
  auto body = airflow_dag_run_json(trigger);
  REQUIRE(body.ok());
  CHECK(*body == R"({"dag_run_id":")" + id + R"(","conf":)" + trigger +
                     R"(,"note":"started by driftd: )" + key + R"("})");
  CHECK_FALSE(airflow_dag_run_json(R"({"kind":"trigger"})").ok());
}

TEST_CASE("webhook: the CloudEvents 1.0 envelope", "[alerts]") {
  OutboxItem item;
  item.key = "k";
  item.body = R"({"kind":"alert"})";
  item.kind = "alert";
  item.firing = true;
  CHECK(cloudevent_json(item, "msg_1", "urn:driftd", kNow) ==
        R"({"specversion":"1.0","id":"msg_1","source":"urn:driftd",)"
        R"("type":"dev.driftd.alert.firing","time":"2026-12-02T12:00:00Z",)"
        R"("datacontenttype":"application/json","data":{"kind":"alert"}})");
  item.kind = "trigger";
  CHECK(cloudevent_json(item, "msg_1", "urn:driftd", kNow).find(R"("type":"dev.driftd.trigger")") !=
        std::string::npos);
}

TEST_CASE("Retry-After: delay-seconds or an HTTP date (RFC 9110 10.2.3)", "[alerts]") {
  CHECK(parse_retry_after("120", kNow) == 120'000);
  CHECK(parse_retry_after(" 7\r\n", kNow) == 7'000);
  CHECK(parse_retry_after("0", kNow) == 0);
  CHECK(parse_retry_after("Wed, 02 Dec 2026 12:00:30 GMT", kNow) == 30'000);
  CHECK(parse_retry_after("Wed, 02 Dec 2026 11:00:00 GMT", kNow) == 0);  // past: now
  CHECK(parse_retry_after("99999999999999999999999", kNow) == int64_t{365} * 86'400'000);
  CHECK_FALSE(parse_retry_after("", kNow).has_value());
  CHECK_FALSE(parse_retry_after("-5", kNow).has_value());
  CHECK_FALSE(parse_retry_after("12abc", kNow).has_value());
  CHECK_FALSE(parse_retry_after("soon", kNow).has_value());
}

std::string fresh_path(const std::string& name) {
  const std::string dir =
      std::string(P_tmpdir) + "/driftd-sinks-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

Outbox::Entry alert(const std::string& key, bool firing, const std::string& body = "{}") {
  return {key, body, {"am"}, "alert", "fraud@3/feature_shift|amount", firing};
}

TEST_CASE("outbox: the alerts still firing per sink, history, retention keeps the newest",
          "[alerts]") {
  const std::string path = fresh_path("firing.sqlite");
  auto box = Outbox::open(path);
  REQUIRE(box.ok());
  Outbox& o = **box;
  REQUIRE(o.add({alert("f1", true, "{\"n\":1}")}, 1000).ok());
  auto deliver_head = [&](const std::string& sink) {
    auto h = o.head(sink);
    REQUIRE(h.ok());
    REQUIRE(h->has_value());
    REQUIRE(o.delivered((*h)->item.seq, sink, 2000, "HTTP 200").ok());
  };
  // Not delivered yet: nothing to repeat.
  CHECK(o.firing("am")->empty());
  deliver_head("am");
  auto firing = o.firing("am");
  REQUIRE(firing.ok());
  REQUIRE(firing->size() == 1);
  CHECK((*firing)[0].key == "f1");
  CHECK((*firing)[0].kind == "alert");
  CHECK((*firing)[0].firing);
  // Its resolve, made but not delivered: still firing as far as the sink said.
  REQUIRE(o.add({alert("r1", false)}, 3000).ok());
  CHECK(o.firing("am")->size() == 1);
  deliver_head("am");
  CHECK(o.firing("am")->empty());
  // Fired again and delivered; a trigger beside it.
  REQUIRE(o.add({alert("f2", true)}, 4000).ok());
  REQUIRE(o.add({{"t1", "{\"kind\":\"trigger\"}", {"am"}, "trigger", "", false}}, 4000).ok());
  deliver_head("am");
  deliver_head("am");
  CHECK(o.firing("am")->at(0).key == "f2");
  auto alerts = o.history("alert", 0, 10);
  REQUIRE(alerts.ok());
  REQUIRE(alerts->size() == 3);
  CHECK((*alerts)[0].key == "f2");  // newest first
  REQUIRE((*alerts)[0].deliveries.size() == 1);
  CHECK((*alerts)[0].deliveries[0].sink == "am");
  CHECK((*alerts)[0].deliveries[0].state == "delivered");
  CHECK((*alerts)[0].deliveries[0].attempts == 1);
  auto older = o.history("alert", (*alerts)[0].seq, 1);
  REQUIRE(older.ok());
  REQUIRE(older->size() == 1);
  CHECK((*older)[0].key == "r1");
  auto triggers = o.history("trigger", 0, 10);
  REQUIRE(triggers.ok());
  REQUIRE(triggers->size() == 1);
  CHECK((*triggers)[0].key == "t1");
  // Retention: everything old goes but the alert's newest notification.
  REQUIRE(o.prune(1'000'000, 0).ok());
  auto left = o.history("alert", 0, 10);
  REQUIRE(left->size() == 1);
  CHECK((*left)[0].key == "f2");
  CHECK(o.firing("am")->at(0).key == "f2");
  CHECK(o.history("trigger", 0, 10)->empty());
}

TEST_CASE("outbox: a version 1 file is brought to version 2 in place", "[alerts]") {
  const std::string path = fresh_path("v1.sqlite");
  {
    // The version 1 schema, as driftd 0.1 made it.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* v1 =
        "PRAGMA application_id=1685218932;PRAGMA user_version=1;"
        "CREATE TABLE notifications(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " key TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE TABLE deliveries(sink TEXT NOT NULL, seq INTEGER NOT NULL,"
        " state INTEGER NOT NULL, attempts INTEGER NOT NULL, next_at_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL, detail TEXT NOT NULL, PRIMARY KEY(sink, seq));"
        "CREATE INDEX deliveries_pending ON deliveries(sink, state, seq);";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO notifications(key, created_ms, body) VALUES(?,1,?)",
                               -1, &s, nullptr) == SQLITE_OK);
    sqlite3_bind_text(s, 1, "f1", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kFiring.c_str(), -1, SQLITE_STATIC);
    REQUIRE(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_finalize(s);
    REQUIRE(sqlite3_exec(db, "INSERT INTO deliveries VALUES('am', 1, 1, 1, 1, 1, 'HTTP 200')",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    auto box = Outbox::open(path);
    REQUIRE(box.ok());
    auto firing = (*box)->firing("am");
    REQUIRE(firing.ok());
    REQUIRE(firing->size() == 1);
    CHECK((*firing)[0].body == kFiring);
    // The migrated identity is the one driftd gives new notifications.
    Notification n;
    n.model = "fraud";
    n.version = "3";
    n.rule = "feature_shift";
    n.feature = "amount";
    REQUIRE(
        (*box)->add({{"r1", resolved_body(), {"am"}, "alert", alert_identity(n), false}}, 2).ok());
    auto h = (*box)->head("am");
    REQUIRE((*box)->delivered((*h)->item.seq, "am", 3, "HTTP 200").ok());
    CHECK((*box)->firing("am")->empty());
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int(s, 0) == 2);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_CASE("sink tables: alertmanager, slack, kafka and airflow keys checked at load", "[alerts]") {
  auto r = sink_from(
      "[[sinks]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\n"
      "repeat_interval = \"30s\"\n");
  REQUIRE(r.ok());
  CHECK(r->takes == SinkTakes::kAlerts);
  r = sink_from(
      "[[sinks]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"http://x\"\n"
      "repeat_interval = \"100ms\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "d.toml:5: sinks[0].repeat_interval: must be between 1s and 1h");
  ::unsetenv("DRIFTD_TEST_NO_SLACK");
  r = sink_from(
      "[[sinks]]\nname = \"chat\"\ntype = \"slack\"\nurl_env = \"DRIFTD_TEST_NO_SLACK\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "d.toml:4: sinks[0].url_env: the environment variable DRIFTD_TEST_NO_SLACK is not set");
  ::setenv("DRIFTD_TEST_SLACK", "https://hooks.slack.example/services/T0/B0/secret", 1);
  r = sink_from("[[sinks]]\nname = \"chat\"\ntype = \"slack\"\nurl_env = \"DRIFTD_TEST_SLACK\"\n");
  REQUIRE(r.ok());
  CHECK(r->takes == SinkTakes::kBoth);
  r = sink_from(
      "[[sinks]]\nname = \"bus\"\ntype = \"kafka\"\nbrokers = \"127.0.0.1:9092\"\n"
      "topic = \"alerts\"\nproperties = { \"linger.ms\" = \"fast\" }\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("d.toml:6: sinks[0].properties: linger.ms: ", 0) == 0);
  r = sink_from("[[sinks]]\nname = \"bus\"\ntype = \"kafka\"\nbrokers = \"127.0.0.1:9092\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "d.toml:1: sinks[0]: topic is required");
  r = sink_from(
      "[[sinks]]\nname = \"dags\"\ntype = \"airflow\"\nurl = \"http://airflow:8080\"\n"
      "dag_id = \"retrain fraud\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "d.toml:5: sinks[0].dag_id: a DAG id holds letters, digits, '_', '.' and '-' only");
  r = sink_from(
      "[[sinks]]\nname = \"dags\"\ntype = \"airflow\"\nurl = \"http://airflow:8080\"\n"
      "dag_id = \"retrain\"\nusername = \"driftd\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "d.toml:1: sinks[0]: username needs password_env or password_file");
  r = sink_from(
      "[[sinks]]\nname = \"dags\"\ntype = \"airflow\"\nurl = \"http://airflow:8080\"\n"
      "dag_id = \"retrain_fraud\"\n");
  REQUIRE(r.ok());
  CHECK(r->takes == SinkTakes::kTriggers);
}

}  // namespace
}  // namespace driftd::alerts
