// Retraining triggers (alerts/triggers/trigger.h): a policy's alerts start
// a trigger with its evidence and idempotency key; the cooldown and the cap
// per day hold back the others, in event time; the state is saved and
// loaded with checks; [[triggers]] tables read with located errors.
#include <catch2/catch.hpp>

#include "alerts/triggers/trigger.h"

namespace driftd::alerts {
namespace {

constexpr int64_t kHour = 3'600'000;

WindowResult window_at(int64_t end) {
  WindowResult w;
  w.start = end - kHour;
  w.end = end;
  w.id = "fraud@3/t/" + std::to_string(w.start) + "-" + std::to_string(w.end);
  w.report.rows = 1000;
  w.report.features_compared = 2;
  w.report.features_drifted = 1;
  w.report.drift_share = 0.5;
  FeatureResult amount;
  amount.name = "amount";
  amount.drift = true;
  amount.rule = {"psi", 0.2};
  amount.drift_value = 0.5;
  amount.stats.push_back({"psi", 0.5});
  FeatureResult age;
  age.name = "age";
  age.stats.push_back({"psi", 0.01});
  w.report.features = {amount, age};
  return w;
}

Notification fired(const std::string& rule, const std::string& feature = "") {
  Notification n;
  n.rule = rule;
  n.model = "fraud";
  n.version = "3";
  n.feature = feature;
  n.firing = true;
  n.value = 0.5;
  n.threshold = 0.2;
  return n;
}

std::shared_ptr<const TriggerSpec> policy(int64_t cooldown_ms, int64_t max_per_day) {
  auto p = std::make_shared<TriggerSpec>();
  p->name = "retrain";
  p->on = {"accuracy_drop", "data_drift"};
  p->cooldown_ms = cooldown_ms;
  p->max_per_day = max_per_day;
  p->sinks = {"dags"};
  return p;
}

TEST_CASE("a trigger: the first of its rules names it, the evidence rides along", "[alerts]") {
  ModelTriggers t("fraud", "3", true, R"({"file":"baseline.json"})", {policy(0, 10)});
  std::vector<Trigger> out;
  const WindowResult w = window_at(10 * kHour);
  // data_drift fires on two features, accuracy_drop on the model: one trigger.
  t.evaluate(w, {fired("data_drift", "amount"), fired("data_drift", "age"), fired("accuracy_drop")},
             0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].sent);
  CHECK(out[0].rule == "accuracy_drop");
  CHECK(out[0].key == "trigger/retrain/fraud@3/accuracy_drop/" + w.id);
  CHECK(out[0].sinks == std::vector<std::string>{"dags"});
  const std::string& b = out[0].body;
  CHECK(b.rfind(R"({"kind":"trigger","trigger":"retrain","model":{"name":"fraud","version":"3"},)"
                R"("idempotency_key":"trigger/retrain/fraud@3/accuracy_drop/)",
                0) == 0);
  CHECK(
      b.find(R"("because":[{"rule":"accuracy_drop","severity":"warning","value":0.5,)"
             R"("threshold":0.2},{"rule":"data_drift","severity":"warning","feature":"amount")") !=
      std::string::npos);
  CHECK(b.find(R"("drifting_features":[{"name":"amount","role":"feature","method":"psi",)"
               R"("value":0.5,"threshold":0.2,"missing_rate":0.0,"statistics":{"psi":0.5}}])") !=
        std::string::npos);
  CHECK(b.find(R"("baseline":{"file":"baseline.json"})") != std::string::npos);
  CHECK(b.find("\"name\":\"age\"") == std::string::npos);  // not drifting: not evidence
  // Alerts of other rules, or resolves, start nothing.
  out.clear();
  Notification resolved = fired("data_drift");
  resolved.firing = false;
  t.evaluate(window_at(20 * kHour), {fired("schema_changed"), resolved}, 0, out);
  CHECK(out.empty());
}

TEST_CASE("cooldown and max_per_day hold triggers back, in event time", "[alerts]") {
  ModelTriggers t("fraud", "3", true, "{}", {policy(6 * kHour, 2)});
  auto at = [&](int64_t hour) {
    std::vector<Trigger> out;
    t.evaluate(window_at(hour * kHour), {fired("data_drift")}, 0, out);
    REQUIRE(out.size() == 1);
    return out[0];
  };
  CHECK(at(100).sent);
  const Trigger held = at(103);
  CHECK_FALSE(held.sent);
  CHECK(held.body.empty());
  CHECK(held.held_back == "cooldown: the last trigger was 10800 s before, the cooldown is 21600 s");
  CHECK(at(106).sent);
  const Trigger capped = at(113);
  CHECK_FALSE(capped.sent);
  CHECK(capped.held_back == "max_per_day: 2 in the last 24 hours");
  CHECK(at(124).sent);  // hour 100's trigger is a day old
}

TEST_CASE("count windows: the cooldown runs on the wall clock", "[alerts]") {
  ModelTriggers t("fraud", "3", false, "{}", {policy(kHour, 10)});
  std::vector<Trigger> out;
  t.evaluate(window_at(5), {fired("data_drift")}, 1'000 * kHour, out);
  t.evaluate(window_at(6), {fired("data_drift")}, 1'000 * kHour + 60'000, out);
  t.evaluate(window_at(7), {fired("data_drift")}, 1'001 * kHour, out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].sent);
  CHECK_FALSE(out[1].sent);
  CHECK(out[2].sent);
}

TEST_CASE("trigger states: saved and loaded; truncated bytes refused", "[alerts]") {
  ModelTriggers t("fraud", "3", true, "{}", {policy(6 * kHour, 5)});
  std::vector<Trigger> out;
  t.evaluate(window_at(100 * kHour), {fired("data_drift")}, 0, out);
  ByteWriter w;
  t.save(w);
  ModelTriggers restored("fraud", "3", true, "{}", {policy(6 * kHour, 5)});
  ByteReader r(w.bytes());
  REQUIRE(restored.load(r).ok());
  CHECK(r.at_end());
  // The replay of the same window after a restart: held back by the cooldown
  // (the outbox would have kept its key once anyway).
  out.clear();
  restored.evaluate(window_at(102 * kHour), {fired("data_drift")}, 0, out);
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].sent);
  for (size_t len = 0; len < w.bytes().size(); ++len) {
    ModelTriggers cut("fraud", "3", true, "{}", {policy(0, 5)});
    ByteReader cr(std::string_view(w.bytes()).substr(0, len));
    const Status st = cut.load(cr);
    CHECK((!st.ok() || !cr.at_end()));
  }
  // Times out of order: refused, not trusted.
  ByteWriter bad;
  bad.u64(1);
  bad.str("retrain");
  bad.u64(2);
  bad.i64(5);
  bad.i64(4);
  ModelTriggers victim("fraud", "3", true, "{}", {policy(0, 5)});
  ByteReader br(bad.bytes());
  CHECK_FALSE(victim.load(br).ok());
}

TEST_CASE("a policy's condition starts a retrain on the windows where it holds", "[alerts]") {
  auto spec = std::make_shared<TriggerSpec>();
  spec->name = "retrain";
  spec->on = {"accuracy_drop"};
  spec->cooldown_ms = 0;
  spec->max_per_day = 100;
  auto parsed = Condition::parse("psi > 0.4");
  REQUIRE(parsed.ok());
  spec->condition = std::make_shared<const Condition>(std::move(*parsed));
  ModelTriggers t("fraud", "3", true, "{}", {spec});
  std::vector<Trigger> out;
  const WindowResult w = window_at(10 * kHour);
  t.evaluate(w, {}, 0, out);  // amount's PSI is 0.5
  REQUIRE(out.size() == 1);
  CHECK(out[0].sent);
  CHECK(out[0].rule == "condition");
  CHECK(out[0].key == "trigger/retrain/fraud@3/condition/" + w.id);
  CHECK(out[0].body.find(R"("because":[{"condition":"psi > 0.4","feature":"amount","value":0.5,)"
                         R"("threshold":0.4}])") != std::string::npos);
  // An `on` rule that fires names the trigger instead.
  out.clear();
  t.evaluate(window_at(11 * kHour), {fired("accuracy_drop")}, 0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "accuracy_drop");
  // Where it does not hold, or on a thin window: nothing.
  out.clear();
  WindowResult calm = window_at(12 * kHour);
  calm.report.features[0].stats[0].value = 0.3;
  t.evaluate(calm, {}, 0, out);
  WindowResult thin = window_at(13 * kHour);
  thin.report.rows = 99;
  t.evaluate(thin, {}, 0, out);
  CHECK(out.empty());
}

Result<TriggerList> triggers_from(const std::string& text) {
  static const std::string source = "d.toml";
  auto doc = parse_toml(text, source);
  REQUIRE(doc.ok());
  static toml::table table;
  table = std::move(*doc);
  TableReader r(table, "", source);
  return parse_triggers(r, "triggers");
}

TEST_CASE("[[triggers]] in TOML: keys read, errors name line and key", "[alerts]") {
  auto t = triggers_from(
      "[[triggers]]\nname = \"retrain\"\non = [\"data_drift\"]\ncooldown = \"12h\"\n"
      "max_per_day = 2\nsinks = [\"dags\"]\nmodels = [\"fraud\"]\n");
  REQUIRE(t.ok());
  REQUIRE(t->size() == 1);
  CHECK((*t)[0]->cooldown_ms == 12 * kHour);
  CHECK((*t)[0]->max_per_day == 2);
  CHECK((*t)[0]->applies_to("fraud"));
  CHECK_FALSE((*t)[0]->applies_to("churn"));
  t = triggers_from("[[triggers]]\nname = \"retrain\"\n");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message ==
        "d.toml:1: triggers[0]: on = [...] (the rules whose alerts start a retrain) or condition "
        "= \"...\" (the windows that do) is required");
  t = triggers_from("[[triggers]]\nname = \"retrain\"\ncondition = \"drift_share >= \"\n");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message.rfind("d.toml:3: triggers[0].condition: column ", 0) == 0);
  t = triggers_from("[[triggers]]\nname = \"retrain\"\ncondition = \"drift_share > 1\"\n");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message ==
        "d.toml:3: triggers[0].condition: can never be true (drift_share in [0, 1]): the trigger "
        "would never start a retrain");
  t = triggers_from(
      "[[triggers]]\nname = \"retrain\"\ncondition = \"drift_share >= 0.5\"\nmin_rows = 10\n");
  REQUIRE(t.ok());
  CHECK((*t)[0]->condition != nullptr);
  CHECK((*t)[0]->on.empty());
  CHECK((*t)[0]->min_rows == 10);
  t = triggers_from("[[triggers]]\nname = \"retrain\"\non = [\"a\"]\nmax_per_day = 0\n");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message == "d.toml:4: triggers[0].max_per_day: must be between 1 and 1000");
  t = triggers_from("[[triggers]]\nname = \"retrain\"\non = [\"a\"]\nwhen = \"now\"\n");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message.rfind("d.toml:4: triggers[0].when: unknown key", 0) == 0);
  t = triggers_from(
      "[[triggers]]\nname = \"retrain\"\non = [\"a\"]\n[[triggers]]\nname = \"retrain\"\n"
      "on = [\"b\"]\n");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message ==
        "d.toml:4: triggers[1]: a second trigger named 'retrain' (the first: d.toml:1: "
        "triggers[0])");
}

}  // namespace
}  // namespace driftd::alerts
