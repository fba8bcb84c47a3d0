// Alert rules (alerts/rules/rule.h, rules_toml.h, rule_tests.h): the state
// machine of one alert (for, hysteresis, cooldown, thin and unknown
// windows), one alert per feature or per model, templates checked at load,
// states saved and loaded with checks, rules read from TOML with located
// errors, and rule test files run with a diff.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "alerts/rules/rule.h"
#include "alerts/rules/rule_tests.h"
#include "alerts/rules/rules_toml.h"

namespace driftd::alerts {
namespace {

constexpr int64_t kMinute = 60 * 1000;

std::shared_ptr<const Rule> rule_of(RuleSpec spec) {
  auto r = Rule::compile(std::move(spec));
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::make_shared<const Rule>(std::move(*r));
}

RuleSpec spec_of(std::string condition) {
  RuleSpec s;
  s.name = "psi_high";
  s.condition = std::move(condition);
  s.min_rows = 100;
  return s;
}

// Window `i` (5 minutes each) with the given PSI per feature.
WindowResult window(int i, std::vector<std::pair<std::string, std::optional<double>>> psi,
                    uint64_t rows = 1000) {
  WindowResult w;
  w.start = 1767225600000 + i * 5 * kMinute;
  w.end = w.start + 5 * kMinute;
  w.id = "fraud@3/t/" + std::to_string(w.start) + "-" + std::to_string(w.end);
  w.report.model_name = "fraud";
  w.report.model_version = "3";
  w.report.rows = rows;
  for (auto& [name, value] : psi) {
    FeatureResult f;
    f.name = name;
    f.stats.push_back({"psi", value});
    f.drift = value && *value > 0.2;
    w.report.features.push_back(std::move(f));
  }
  for (const auto& f : w.report.features) {
    ++w.report.features_compared;
    w.report.features_drifted += f.drift;
  }
  w.report.drift_share = static_cast<double>(w.report.features_drifted) /
                         static_cast<double>(w.report.features_compared);
  return w;
}

// Runs the windows; returns "i:firing:feature" per change.
std::vector<std::string> run(ModelAlerts& alerts, const std::vector<WindowResult>& windows) {
  std::vector<std::string> out;
  std::vector<Notification> notes;
  for (size_t i = 0; i < windows.size(); ++i) {
    notes.clear();
    alerts.evaluate(windows[i], notes);
    for (const auto& n : notes) {
      out.push_back(std::to_string(i + 1) + ":" + (n.firing ? "firing" : "resolved") +
                    (n.feature.empty() ? "" : ":" + n.feature));
    }
  }
  return out;
}

using Changes = std::vector<std::string>;

TEST_CASE("an alert fires after `for` windows, resolves when the condition is false", "[alerts]") {
  RuleSpec s = spec_of("psi > 0.2");
  s.for_windows = 2;
  ModelAlerts alerts("fraud", "3", true, {rule_of(s)});
  CHECK(run(alerts, {window(0, {{"amount", 0.3}}),    // pending
                     window(1, {{"amount", 0.1}}),    // back to inactive: the hold is broken
                     window(2, {{"amount", 0.3}}),    // pending
                     window(3, {{"amount", 0.4}}),    // fires
                     window(4, {{"amount", 0.5}}),    // still firing: nothing new
                     window(5, {{"amount", 0.05}}),   // resolves
                     window(6, {{"amount", 0.05}})})  // nothing
        == Changes{"4:firing:amount", "6:resolved:amount"});
}

TEST_CASE("unknown and thin windows neither fire nor resolve", "[alerts]") {
  ModelAlerts alerts("fraud", "3", true, {rule_of(spec_of("psi > 0.2"))});
  CHECK(run(alerts, {window(0, {{"amount", std::nullopt}}),  // unknown
                     window(1, {{"amount", 0.9}}, 99),       // thin: below min_rows 100
                     window(2, {{"amount", 0.9}}),           // fires
                     window(3, {{"amount", std::nullopt}}),  // unknown: stays firing
                     window(4, {{"amount", 0.01}}, 10),      // thin: stays firing
                     window(5, {{"amount", 0.01}})})         // resolves
        == Changes{"3:firing:amount", "6:resolved:amount"});
}

TEST_CASE("`for` as event time: held from the first window's end", "[alerts]") {
  RuleSpec s = spec_of("psi > 0.2");
  s.for_ms = 10 * kMinute;  // windows of 5 minutes: the third true window
  ModelAlerts alerts("fraud", "3", true, {rule_of(s)});
  CHECK(run(alerts, {window(0, {{"amount", 0.3}}), window(1, {{"amount", 0.3}}),
                     window(2, {{"amount", 0.3}}), window(3, {{"amount", 0.3}})}) ==
        Changes{"3:firing:amount"});
}

TEST_CASE("a resolve condition gives hysteresis", "[alerts]") {
  RuleSpec s = spec_of("psi > 0.2");
  s.resolve = "psi < 0.1";
  ModelAlerts alerts("fraud", "3", true, {rule_of(s)});
  CHECK(run(alerts, {window(0, {{"amount", 0.3}}),    // fires
                     window(1, {{"amount", 0.15}}),   // between: stays firing
                     window(2, {{"amount", 0.25}}),   // stays firing, no second alert
                     window(3, {{"amount", 0.05}})})  // resolves
        == Changes{"1:firing:amount", "4:resolved:amount"});
}

TEST_CASE("a cooldown holds a new firing after a resolve", "[alerts]") {
  RuleSpec s = spec_of("psi > 0.2");
  s.cooldown_ms = 15 * kMinute;
  ModelAlerts alerts("fraud", "3", true, {rule_of(s)});
  CHECK(run(alerts, {window(0, {{"amount", 0.3}}),   // fires
                     window(1, {{"amount", 0.0}}),   // resolves at its end
                     window(2, {{"amount", 0.3}}),   // 5 minutes later: held
                     window(3, {{"amount", 0.3}}),   // 10: held
                     window(4, {{"amount", 0.3}})})  // 15: fires again
        == Changes{"1:firing:amount", "2:resolved:amount", "5:firing:amount"});
}

TEST_CASE("one alert per feature, or one per model with a quantifier", "[alerts]") {
  RuleSpec per_feature = spec_of("psi > 0.2");
  RuleSpec per_model = spec_of("count(feature: psi > 0.2) >= 2");
  per_model.name = "many_features";
  ModelAlerts alerts("fraud", "3", true, {rule_of(per_feature), rule_of(per_model)});
  std::vector<Notification> notes;
  alerts.evaluate(window(0, {{"amount", 0.3}, {"age", 0.5}, {"country", 0.01}}), notes);
  REQUIRE(notes.size() == 3);
  CHECK(notes[0].feature == "amount");
  CHECK(notes[1].feature == "age");
  CHECK(notes[2].rule == "many_features");
  CHECK(notes[2].feature.empty());
  const KeyValues want = {{"alertname", "psi_high"},
                          {"model", "fraud"},
                          {"model_version", "3"},
                          {"feature", "amount"},
                          {"severity", "warning"}};
  CHECK(notes[0].labels == want);
  CHECK(notes[2].labels.size() == 4);  // no feature label
  CHECK(notes[0].value == 0.3);
  CHECK(notes[0].threshold == 0.2);
  // One key per change: the same window again (a replay) makes the same key.
  ModelAlerts again("fraud", "3", true, {rule_of(per_feature), rule_of(per_model)});
  std::vector<Notification> replayed;
  again.evaluate(window(0, {{"amount", 0.3}, {"age", 0.5}, {"country", 0.01}}), replayed);
  REQUIRE(replayed.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(replayed[i].key == notes[i].key);
  CHECK(notes[0].key != notes[1].key);
  CHECK(alerts.active().size() == 3);
}

TEST_CASE("templates render the alert's values and are checked at load", "[alerts]") {
  RuleSpec s = spec_of("psi > 0.2");
  s.labels = {{"team", "risk-{{model}}"}};
  s.annotations = {{"summary", "PSI of {{feature}} is {{value}} (threshold {{threshold}})"},
                   {"window", "{{window.start}} to {{window.end}}, {{rows}} rows, {{ state }}"}};
  ModelAlerts alerts("fraud", "3", true, {rule_of(s)});
  std::vector<Notification> notes;
  alerts.evaluate(window(0, {{"amount", 0.31234567}}), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].labels.back() == std::pair<std::string, std::string>{"team", "risk-fraud"});
  CHECK(notes[0].annotations[0].second == "PSI of amount is 0.312346 (threshold 0.2)");
  CHECK(notes[0].annotations[1].second ==
        "2026-01-01T00:00:00Z to 2026-01-01T00:05:00Z, 1000 rows, firing");

  auto error_of = [](RuleSpec bad) {
    auto r = Rule::compile(std::move(bad));
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  RuleSpec unknown = spec_of("psi > 0.2");
  unknown.where = "d.toml:3: rules[0]";
  unknown.annotations = {{"summary", "x {{valeu}}"}};
  CHECK(error_of(unknown) ==
        "d.toml:3: rules[0].annotations.summary: column 3: unknown value {{valeu}} (values: rule, "
        "severity, model, version, feature, value, threshold, window.id, window.start, "
        "window.end, rows, state)");
  RuleSpec no_feature = spec_of("drift_share > 0.5");
  no_feature.annotations = {{"summary", "{{feature}}"}};
  CHECK(error_of(no_feature).find("{{feature}} has no value") != std::string::npos);
  RuleSpec unclosed = spec_of("psi > 0.2");
  unclosed.annotations = {{"summary", "a {{value"}};
  CHECK(error_of(unclosed).find("column 3: '{{' without a closing '}}'") != std::string::npos);
  RuleSpec bad_label = spec_of("psi > 0.2");
  bad_label.labels = {{"team-name", "x"}};
  CHECK(error_of(bad_label).find("is not a label name") != std::string::npos);
  RuleSpec reserved = spec_of("psi > 0.2");
  reserved.labels = {{"severity", "x"}};
  CHECK(error_of(reserved).find("'severity' is set by driftd") != std::string::npos);
  RuleSpec bad_name = spec_of("psi > 0.2");
  bad_name.name = "psi high";
  CHECK(error_of(bad_name).find("is not a rule name") != std::string::npos);
  RuleSpec bad_condition = spec_of("psi >");
  bad_condition.where_key["condition"] = "d.toml:4: rules[0].condition";
  CHECK(error_of(bad_condition).rfind("d.toml:4: rules[0].condition: column ", 0) == 0);
  RuleSpec feature_resolve = spec_of("drift_share > 0.5");
  feature_resolve.resolve = "psi < 0.1";
  CHECK(error_of(feature_resolve).find("judged once per model") != std::string::npos);
}

TEST_CASE("alert states: saved and loaded; truncated or damaged bytes refused", "[alerts]") {
  RuleSpec a = spec_of("psi > 0.2");
  RuleSpec b = spec_of("drift_share >= 0.5");
  b.name = "share";
  b.for_windows = 3;
  const auto ra = rule_of(a), rb = rule_of(b);
  ModelAlerts alerts("fraud", "3", true, {ra, rb});
  (void)run(alerts, {window(0, {{"amount", 0.3}, {"age", 0.1}})});
  ByteWriter w;
  alerts.save(w);
  const std::string bytes = w.bytes();

  ModelAlerts back("fraud", "3", true, {ra, rb});
  ByteReader r(bytes);
  REQUIRE(back.load(r).ok());
  CHECK(r.at_end());
  // Restored: amount fires no second time, and share's hold goes on (2 more).
  CHECK(run(back, {window(1, {{"amount", 0.3}, {"age", 0.1}}),
                   window(2, {{"amount", 0.3}, {"age", 0.1}})}) == Changes{"2:firing"});
  for (size_t len = 0; len < bytes.size(); ++len) {
    ModelAlerts cut("fraud", "3", true, {ra, rb});
    ByteReader cr(std::string_view(bytes).substr(0, len));
    const bool loaded = cut.load(cr).ok() && cr.at_end();
    CHECK_FALSE(loaded);
  }
  std::string bad_phase = bytes;
  // The first state's phase: after the count and two strings (amount's:
  // age's alert, never raised, has no state).
  const size_t phase_at = 8 + 8 + ra->name().size() + 8 + std::string("amount").size();
  bad_phase[phase_at] = 9;
  ModelAlerts damaged("fraud", "3", true, {ra, rb});
  ByteReader dr(bad_phase);
  const Status st = damaged.load(dr);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("phase out of range") != std::string::npos);
  // A reload that removes a rule keeps the others' states.
  ModelAlerts fewer("fraud", "3", true, {rb});
  ByteReader fr(bytes);
  REQUIRE(fewer.load(fr).ok());
  CHECK(run(fewer, {window(1, {{"amount", 0.3}, {"age", 0.1}}),
                    window(2, {{"amount", 0.3}, {"age", 0.1}})}) == Changes{"2:firing"});
}

Result<RuleList> rules_from(const std::string& text) {
  static std::string source;
  source = "d.toml";
  auto doc = parse_toml(text, source);
  REQUIRE(doc.ok());
  static toml::table table;
  table = std::move(*doc);
  TableReader r(table, "", source);
  return parse_rules(r, "rules", false);
}

TEST_CASE("rules in TOML: every key read, errors name line and key", "[alerts]") {
  auto rules = rules_from(R"([[rules]]
name = "feature_psi"
condition = "psi > 0.2"
resolve = "psi < 0.1"
severity = "critical"
for = 3
cooldown = "1h"
min_rows = 500
models = ["fraud"]
labels = { team = "risk" }
annotations = { summary = "{{feature}}: {{value}}" }

[[rules]]
name = "skew"
condition = "any feature: psi > 0.3"
against = "reference"
for = "30m"
)");
  REQUIRE(rules.ok());
  REQUIRE(rules->size() == 2);
  const RuleSpec& s = (*rules)[0]->spec();
  CHECK(s.severity == Severity::kCritical);
  CHECK(s.for_windows == 3);
  CHECK(s.for_ms == -1);
  CHECK(s.cooldown_ms == 3600 * 1000);
  CHECK(s.min_rows == 500);
  CHECK(s.models == std::vector<std::string>{"fraud"});
  CHECK((*rules)[1]->spec().for_ms == 30 * kMinute);
  CHECK((*rules)[1]->spec().against_reference);
  CHECK((*rules)[0]->describe().find("condition: (psi > 0.2)") != std::string::npos);

  auto error_of = [](const std::string& text) {
    auto r = rules_from(text);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(error_of("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.2\"\nfor = \"ten\"\n") ==
        "d.toml:4: rules[0].for: 'ten' is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)");
  CHECK(error_of("[[rules]]\nname = \"a\"\ncondition = \"psy > 0.2\"\n")
            .rfind("d.toml:3: rules[0].condition: column 1: unknown ", 0) == 0);
  CHECK(error_of("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.2\"\nseverity = \"high\"\n") ==
        "d.toml:4: rules[0].severity: expected \"info\", \"warning\" or \"critical\"");
  CHECK(error_of("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.2\"\nfire_for = 2\n")
            .rfind("d.toml:4: rules[0].fire_for: unknown key (expected name, condition", 0) == 0);
  CHECK(error_of("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.2\"\n[[rules]]\nname = \"a\"\n"
                 "condition = \"psi > 0.3\"\n") == "d.toml:4: rules[1]: a second rule named 'a'");
  CHECK(error_of("[[rules]]\nname = \"a\"\n") == "d.toml:1: rules[0]: condition is required");
  CHECK(error_of("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.2\"\nannotations = { s = 1 }\n") ==
        "d.toml:4: rules[0].annotations.s: expected a string");

  // Count windows have no event time.
  auto timed = rules_from("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.2\"\nfor = \"10m\"\n");
  REQUIRE(timed.ok());
  auto count = rules_for_model(*timed, {}, "fraud", false, false);
  REQUIRE_FALSE(count.ok());
  CHECK(count.error().message ==
        "d.toml:4: rules[0].for: model fraud has count windows, which have no event time: give "
        "`for` as a number of windows");
  // A model's own rule replaces the top-level one of its name.
  auto own = rules_from("[[rules]]\nname = \"a\"\ncondition = \"psi > 0.5\"\n");
  REQUIRE(own.ok());
  auto merged = rules_for_model(*timed, *own, "fraud", true, false);
  REQUIRE(merged.ok());
  REQUIRE(merged->size() == 1);
  CHECK((*merged)[0]->spec().condition == "psi > 0.5");
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(P_tmpdir) + "/driftd_rule_test_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST_CASE("rule test files: a passing test, a failing one with its diff", "[alerts]") {
  const std::string path = write_temp("ok.toml", R"([[rules]]
name = "feature_psi"
condition = "psi > 0.2"
min_rows = 0
for = 2
annotations = { summary = "{{feature}} PSI {{value}}" }

[[tests]]
name = "fires on the second window, resolves on the third"
[[tests.windows]]
features.amount = { psi = 0.3 }
[[tests.windows]]
features.amount = { psi = 0.4 }
[[tests.windows]]
features.amount = { psi = 0.01 }
[[tests.expect]]
window = 2
rule = "feature_psi"
state = "firing"
feature = "amount"
annotations = { summary = "amount PSI 0.4" }
[[tests.expect]]
window = 3
rule = "feature_psi"
state = "resolved"
feature = "amount"

[[tests]]
name = "a wrong expectation"
[[tests.windows]]
features.amount = { psi = 0.3 }
[[tests.windows]]
features.amount = { psi = 0.3 }
[[tests.expect]]
window = 1
rule = "feature_psi"
state = "firing"
feature = "amount"
)");
  auto report = run_rule_tests(path);
  REQUIRE(report.ok());
  CHECK(report->tests == 2);
  CHECK(report->passed == 1);
  CHECK(report->text ==
        "  ok    fires on the second window, resolves on the third\n"
        "  FAIL  a wrong expectation\n"
        "      window 1: firing feature_psi for amount: expected, did not happen\n"
        "      window 2: firing feature_psi for amount: happened, not expected\n"
        "2 tests, 1 passed, 1 failed\n");

  const std::string bad = write_temp("bad.toml", R"([[rules]]
name = "feature_psi"
condition = "psi > 0.2"
[[tests]]
name = "x"
[[tests.windows]]
features.amount = { psi = "high" }
)");
  auto refused = run_rule_tests(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message ==
        bad +
            ":7: tests[0].windows[0].features.amount.psi: expected a number, or \"null\" for an "
            "undefined statistic");
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("a rule that can never fire or never resolve is warned about at load", "[alerts]") {
  auto rules = rules_from(R"([[rules]]
name = "never"
condition = "psi < 0"

[[rules]]
name = "always"
condition = "rows >= 0"

[[rules]]
name = "stuck"
condition = "psi > 0.2"
resolve = "psi > 0.5 and psi < 0.1"

[[rules]]
name = "fine"
condition = "psi > 0.2"
resolve = "psi < 0.1"

[[rules]]
name = "always_with_resolve"
condition = "drift_share <= 1"
resolve = "rows > 10"
)");
  REQUIRE(rules.ok());
  REQUIRE(rules->size() == 5);
  const auto warnings = [&](size_t i) { return (*rules)[i]->warnings(); };
  REQUIRE(warnings(0).size() == 1);
  CHECK(warnings(0)[0] ==
        "d.toml:3: rules[0].condition: can never be true (psi in [0, +inf)): the rule never "
        "fires");
  REQUIRE(warnings(1).size() == 1);
  CHECK(warnings(1)[0] ==
        "d.toml:7: rules[1].condition: can never be false (rows in [0, +inf)): the rule fires "
        "on every window and never resolves");
  REQUIRE(warnings(2).size() == 1);
  CHECK(warnings(2)[0] ==
        "d.toml:12: rules[2].resolve: can never be true (psi in [0, +inf)): a firing alert "
        "never resolves");
  CHECK(warnings(3).empty());
  CHECK(warnings(4).empty());  // its own resolve: it can resolve
}

}  // namespace
}  // namespace driftd::alerts
