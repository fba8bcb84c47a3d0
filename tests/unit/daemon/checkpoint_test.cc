// The checkpoint's framing without a process: the golden files of every
// format version still load, and truncation, corruption and other versions
// are refused with what went wrong.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "alerts/rules/rule.h"
#include "alerts/triggers/trigger.h"
#include "driftd/daemon/checkpoint.h"
#include "driftd/window/sequential.h"
#include "test_util.h"

namespace driftd {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A firing notification of rule amount_shift at `w`.
alerts::Notification notes_fired(const WindowResult& w) {
  alerts::Notification n;
  n.rule = "amount_shift";
  n.model = "fraud";
  n.version = "3";
  n.firing = true;
  n.window_id = w.id;
  return n;
}

TEST_CASE("checkpoint: golden files (v6 to v2), truncation, corruption, other versions",
          "[daemon][golden]") {
  // The golden file holds a fixed checkpoint: a file source, a Kafka
  // source and one model's window state. Regenerate it only on a
  // deliberate format change (and bump kCheckpointFormatVersion).
  const auto base = test::golden_baseline();
  MonitorSettings s;
  s.window.size = 4000;
  s.window.step = 1000;
  ModelMonitor m(base, s);
  for (int i = 0; i < 50; ++i) {
    for (const auto* c : m.columns()) {
      const int col = m.column_of(c->name);
      if (c->kind == ColumnKind::kNumeric) {
        m.stage_number(col, 0.25 * i);
      } else {
        m.stage_text(col, i % 3 ? "DE" : "new-place");
      }
    }
    (void)m.commit(100 * i, [](WindowResult&&) {});
  }
  Checkpoint c;
  CheckpointSource file;
  file.name = "events";
  file.identity = "/var/log/serving/events.jsonl";
  ByteWriter file_position;
  file_position.u64(123456);
  file.position = file_position.bytes();
  file.received = 1000;
  file.added = 990;
  file.late = 3;
  file.labels = 5;
  file.rejected[static_cast<size_t>(RejectReason::kInvalidJson)] = 2;
  c.sources.push_back(file);
  CheckpointSource kafka;
  kafka.name = "stream";
  kafka.identity = "kafka";
  ByteWriter kafka_position;  // the Kafka source's record: (topic, partition, next offset)*
  kafka_position.u64(2);
  kafka_position.str("predictions");
  kafka_position.u32(0);
  kafka_position.i64(4242);
  kafka_position.str("predictions");
  kafka_position.u32(1);
  kafka_position.i64(17);
  kafka.position = kafka_position.bytes();
  kafka.received = 4259;
  kafka.added = 4259;
  c.sources.push_back(kafka);
  CheckpointModel model;
  model.key = "fraud\n3\nkey";
  model.windows = 7;
  model.latest_json = "{\"window\":{}}\n";
  ByteWriter state;
  m.save(state);
  model.state = state.bytes();
  // One alert firing for feature "amount" (version 4 on).
  alerts::RuleSpec spec;
  spec.name = "amount_shift";
  spec.condition = "psi > 0.2";
  spec.min_rows = 0;
  auto rule = alerts::Rule::compile(spec);
  REQUIRE(rule.ok());
  const std::vector<std::shared_ptr<const alerts::Rule>> rules = {
      std::make_shared<const alerts::Rule>(std::move(*rule))};
  alerts::ModelAlerts fired("fraud", "3", true, rules);
  WindowResult window;
  window.id = "fraud@3/t/0-4000";
  window.end = 4000;
  window.report.rows = 50;
  FeatureResult amount;
  amount.name = "amount";
  amount.stats.push_back({"psi", 0.5});
  window.report.features.push_back(amount);
  std::vector<alerts::Notification> notes;
  fired.evaluate(window, notes);
  REQUIRE(notes.size() == 1);
  ByteWriter alert_states;
  fired.save(alert_states);
  model.alerts = alert_states.bytes();
  // One retraining trigger sent at that window (version 5 on).
  auto policy = std::make_shared<alerts::TriggerSpec>();
  policy->name = "retrain";
  policy->on = {"amount_shift"};
  const alerts::TriggerList policies = {policy};
  alerts::ModelTriggers triggered("fraud", "3", true, "{}", policies);
  std::vector<alerts::Trigger> sent;
  triggered.evaluate(window, notes, 0, sent);
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].sent);
  ByteWriter trigger_states;
  triggered.save(trigger_states);
  model.triggers = trigger_states.bytes();
  // The sequential charts after one window (version 6 on).
  SequentialDetector charts(1000);
  CheckReport scored;
  FeatureResult amount_tests;
  amount_tests.name = "amount";
  amount_tests.stats = {{"location_p_value", 0.0027}, {"mean_shift", 0.1}};
  scored.features.push_back(amount_tests);
  charts.update(scored, DriftRules{});
  ByteWriter chart_states;
  charts.save(chart_states);
  model.sequential = chart_states.bytes();
  c.models.push_back(model);
  const std::string framed = encode_checkpoint(c);

  const std::string golden_path = test::data_path("golden/checkpoint_v6.bin");
  if (std::getenv("DRIFTD_WRITE_GOLDEN")) {
    std::ofstream(golden_path, std::ios::binary) << framed;
  }
  const std::string golden = read_all(golden_path);
  CHECK(golden == framed);

  auto decoded = decode_checkpoint(golden, "golden");
  REQUIRE(decoded.ok());
  REQUIRE(decoded->sources.size() == 2);
  CHECK(decoded->sources[0].name == "events");
  CHECK(decoded->sources[0].identity == file.identity);
  CHECK(decoded->sources[0].position == file.position);
  CHECK(decoded->sources[0].added == 990);
  CHECK(decoded->sources[0].late == 3);
  CHECK(decoded->sources[0].labels == 5);
  CHECK(decoded->sources[0].rejected == file.rejected);
  CHECK(decoded->sources[1].position == kafka.position);
  REQUIRE(decoded->models.size() == 1);
  CHECK(decoded->models[0].key == model.key);
  CHECK(decoded->models[0].windows == 7);
  CHECK(decoded->models[0].latest_json == model.latest_json);
  ModelMonitor restored(base, s);
  ByteReader r(decoded->models[0].state);
  REQUIRE(restored.load(r));
  CHECK(r.at_end());
  CHECK(restored.events() == 50);
  alerts::ModelAlerts restored_alerts("fraud", "3", true, rules);
  ByteReader ar(decoded->models[0].alerts);
  REQUIRE(restored_alerts.load(ar).ok());
  CHECK(ar.at_end());
  REQUIRE(restored_alerts.active().size() == 1);
  CHECK(restored_alerts.active()[0].feature == "amount");
  CHECK(restored_alerts.active()[0].state->phase == alerts::Phase::kFiring);
  // The same window again (a replay after a restart) fires nothing twice.
  notes.clear();
  restored_alerts.evaluate(window, notes);
  CHECK(notes.empty());
  alerts::ModelTriggers restored_triggers("fraud", "3", true, "{}", policies);
  ByteReader tr(decoded->models[0].triggers);
  REQUIRE(restored_triggers.load(tr).ok());
  CHECK(tr.at_end());
  // Its cooldown (a day by default) runs from the restored trigger.
  sent.clear();
  restored_triggers.evaluate(window, {notes_fired(window)}, 0, sent);
  REQUIRE(sent.size() == 1);
  CHECK_FALSE(sent[0].sent);

  for (size_t len = 0; len < golden.size(); ++len) {
    CHECK_FALSE(decode_checkpoint(golden.substr(0, len), "cut").ok());
  }
  for (size_t at : {size_t{0}, size_t{9}, golden.size() / 2, golden.size() - 1}) {
    std::string bad = golden;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    INFO("flipped byte " << at);
    CHECK_FALSE(decode_checkpoint(bad, "flipped").ok());
  }
  // A flipped bit in the header's version is damage, not another version.
  std::string flipped_version = golden;
  flipped_version[8] = 1;
  auto damaged = decode_checkpoint(flipped_version, "flipped");
  REQUIRE_FALSE(damaged.ok());
  CHECK(damaged.error().message.find("checksum mismatch") != std::string::npos);
  const auto payload = unframe_checkpoint(golden, "golden");
  REQUIRE(payload.ok());
  auto refused = decode_checkpoint(frame_checkpoint(payload->bytes, 1), "v1");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("format version 1") != std::string::npos);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->models.size() == 1);
  CHECK(decoded->models[0].sequential == model.sequential);
  // Version 5 (no sequential charts) still loads: the same checkpoint as
  // written by the driftd before.
  auto v5 = decode_checkpoint(read_all(test::data_path("golden/checkpoint_v5.bin")), "v5");
  REQUIRE(v5.ok());
  REQUIRE(v5->models.size() == 1);
  CHECK(v5->models[0].sequential.empty());
  CHECK(v5->models[0].triggers == decoded->models[0].triggers);
  CHECK(v5->models[0].state == decoded->models[0].state);
  // Version 4 (no trigger states) still loads: the same checkpoint as
  // written by the driftd before.
  auto v4 = decode_checkpoint(read_all(test::data_path("golden/checkpoint_v4.bin")), "v4");
  REQUIRE(v4.ok());
  REQUIRE(v4->models.size() == 1);
  CHECK(v4->models[0].alerts == decoded->models[0].alerts);
  CHECK(v4->models[0].triggers.empty());
  CHECK(v4->models[0].state == decoded->models[0].state);
  // Version 3 (no alert states) still loads: the same checkpoint as
  // written by the driftd before.
  auto v3 = decode_checkpoint(read_all(test::data_path("golden/checkpoint_v3.bin")), "v3");
  REQUIRE(v3.ok());
  REQUIRE(v3->models.size() == 1);
  CHECK(v3->models[0].alerts.empty());
  CHECK(v3->models[0].state == decoded->models[0].state);
  // Version 2 (eight rejection counters, uncounted) still loads: the same
  // checkpoint as written by the driftd before.
  auto v2 = decode_checkpoint(read_all(test::data_path("golden/checkpoint_v2.bin")), "v2");
  REQUIRE(v2.ok());
  REQUIRE(v2->sources.size() == 2);
  CHECK(v2->sources[0].rejected == file.rejected);
  CHECK(v2->sources[1].position == kafka.position);
  REQUIRE(v2->models.size() == 1);
  ModelMonitor from_v2(base, s);
  ByteReader r2(v2->models[0].state);
  REQUIRE(from_v2.load(r2));
  CHECK(from_v2.events() == 50);
  // A payload whose checksum is right but whose lengths are not is refused
  // by the reader's bounds checks, not trusted.
  ByteWriter lying;
  lying.u64(1u << 30);  // a billion sources in a few bytes
  auto malformed = decode_checkpoint(frame_checkpoint(lying.bytes()), "lying");
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.error().message.find("malformed") != std::string::npos);
}

}  // namespace
}  // namespace driftd
