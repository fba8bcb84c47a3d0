// Rule conditions (alerts/rules/condition.h): the examples parse and
// evaluate as a reader expects; errors name the column; three-valued logic;
// the canonical form parses back to itself.
#include <catch2/catch.hpp>

#include "alerts/rules/condition.h"

using driftd::CheckReport;
using driftd::ColumnRole;
using driftd::FeatureResult;
using driftd::alerts::Condition;
using driftd::alerts::ConditionScope;
using driftd::alerts::Truth;

namespace {

FeatureResult feature(const std::string& name, double psi, double ks_p, double missing,
                      double baseline_missing, bool drift, ColumnRole role = ColumnRole::kFeature) {
  FeatureResult f;
  f.name = name;
  f.role = role;
  f.stats = {{"psi", psi}, {"ks_p_value", ks_p}, {"wasserstein", std::nullopt}};
  f.missing_rate = missing;
  f.baseline_missing_rate = baseline_missing;
  f.drift = drift;
  f.drift_value = psi;
  f.rule.threshold = 0.2;
  return f;
}

// Three features (one drifting), a prediction, a label; performance now and
// in training.
CheckReport window() {
  CheckReport w;
  w.rows = 800;
  w.features = {feature("amount", 0.31, 0.001, 0.0, 0.0, true),
                feature("age", 0.05, 0.4, 0.15, 0.02, false),
                feature("country", 0.01, 0.9, 0.0, 0.0, false),
                feature("score", 0.12, 0.02, 0.0, 0.0, false, ColumnRole::kPrediction),
                feature("label", 0.0, 1.0, 0.0, 0.0, false, ColumnRole::kLabel)};
  w.features_compared = 3;
  w.features_drifted = 1;
  w.drift_share = 1.0 / 3;
  w.new_columns = {"extra"};
  driftd::Performance now, then;
  now.rows = 300;
  now.metrics = {{"roc_auc", 0.71}, {"accuracy", 0.9}};
  then.rows = 20000;
  then.metrics = {{"roc_auc", 0.80}, {"accuracy", 0.92}};
  w.performance = now;
  w.baseline_performance = then;
  return w;
}

Condition parsed(const std::string& text) {
  auto c = Condition::parse(text);
  INFO(text);
  REQUIRE(c.ok());
  if (!c.ok()) FAIL(c.error().message);
  return std::move(*c);
}

std::string error_of(const std::string& text) {
  auto c = Condition::parse(text);
  INFO(text);
  REQUIRE_FALSE(c.ok());
  return c.error().message;
}

}  // namespace

TEST_CASE("conditions: the issue's examples, by scope and feature", "[alerts]") {
  const CheckReport w = window();
  const FeatureResult& amount = w.features[0];
  const FeatureResult& age = w.features[1];
  struct Case {
    const char* text;
    ConditionScope scope;
    Truth amount, age;  // model scope: both the window's value
  };
  const auto F = ConditionScope::kFeature, M = ConditionScope::kModel;
  const auto T = Truth::kTrue, N = Truth::kFalse, U = Truth::kUnknown;
  const std::vector<Case> cases = {
      {"psi > 0.2", F, T, N},
      {"ks_p_value < 0.01 and rows >= 500", F, T, N},
      {"ks_p_value < 0.01 and rows >= 5000", F, N, N},
      {"drift_share >= 0.3", M, T, T},
      {"performance.roc_auc < baseline.roc_auc - 0.05", M, T, T},
      {"missing_rate > baseline_missing_rate + 0.1", F, N, T},
      {"schema.new_columns > 0 or schema.missing_columns > 0", M, T, T},
      {"any feature: psi > 0.2", M, T, T},
      {"all feature: psi > 0.2", M, N, N},
      {"count(feature: drift) >= 3", M, N, N},
      {"count(feature: psi > 0.04) == 2", M, T, T},
      {"prediction.psi > 0.1 and not label.drift", M, T, T},
      {"drift", F, T, N},
      {"not drift", F, N, T},
      {"abs(psi - 0.3) < 0.02", F, T, N},
      {"max(psi, missing_rate) >= 0.15", F, T, T},
      {"performance.rows >= 300 and dataset_drift == false", M, T, T},
      // Undefined statistics: unknown, unless the other side decides.
      {"wasserstein > 0.1", F, U, U},
      {"wasserstein > 0.1 or psi > 0.2", F, T, U},
      {"wasserstein > 0.1 and psi > 0.2", F, U, N},
      {"not (wasserstein > 0.1)", F, U, U},
      {"psi / 0 > 1", F, U, U},
      {"(any feature: psi > 0.2) and rows >= 500", M, T, T},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const Condition cond = parsed(c.text);
    CHECK(cond.scope() == c.scope);
    CHECK(to_string(cond.evaluate(w, &amount)) == std::string(to_string(c.amount)));
    CHECK(to_string(cond.evaluate(w, &age)) == std::string(to_string(c.age)));
    // The canonical form is the same condition.
    const Condition again = parsed(cond.canonical());
    CHECK(again.canonical() == cond.canonical());
    CHECK(again.evaluate(w, &amount) == cond.evaluate(w, &amount));
  }
}

TEST_CASE("conditions: performance and baseline unknown without labels", "[alerts]") {
  CheckReport w = window();
  w.performance.reset();
  CHECK(parsed("performance.roc_auc < baseline.roc_auc - 0.05").evaluate(w, nullptr) ==
        Truth::kUnknown);
  CHECK(parsed("performance.rows > 0 or rows > 100").evaluate(w, nullptr) == Truth::kTrue);
}

TEST_CASE("conditions: the sides of the first comparison, for templates", "[alerts]") {
  const CheckReport w = window();
  const auto s = parsed("psi > 0.1 + 0.1 and rows > 10").sides(w, &w.features[0]);
  REQUIRE(s.value);
  REQUIRE(s.threshold);
  CHECK(*s.value == 0.31);
  CHECK(*s.threshold == Approx(0.2));
  CHECK_FALSE(parsed("wasserstein > 0.1").sides(w, &w.features[0]).value);
  CHECK_FALSE(parsed("drift").sides(w, &w.features[0]).threshold);
}

TEST_CASE("conditions: errors name the column and what is wrong", "[alerts]") {
  struct Case {
    const char* text;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"psii > 0.2", "column 1: unknown name 'psii' (did you mean psi?)"},
      {"psi > 0.2 and performance.auc < 0.7", "column 27: unknown performance metric 'auc'"},
      {"psi > ", "column 7: the condition ends too early"},
      {"psi > 0.2)", "column 10: unexpected ')'"},
      {"(psi > 0.2", "column 11: expected ')' at the end"},
      {"psi", "column 1: the condition is a number"},
      {"psi and drift", "column 5: 'and' needs true or false, not a number"},
      {"drift > 1", "column 7: '>' needs a number, not true or false"},
      {"drift == 1", "column 7: '==' compares a number with true or false"},
      {"0 < psi < 1", "column 9: comparisons do not chain"},
      {"psi = 0.2", "column 5: '=' is not an operator"},
      {"psi > 0.2 # note", "column 11: unexpected character '#'"},
      {"any feature: count(feature: drift) > 1", "a quantifier inside a quantifier"},
      {"count(drift) > 1", "count takes 'feature: CONDITION'"},
      {"sqrt(psi) > 1", "column 1: unknown function 'sqrt'"},
      {"any psi > 0.2", "'any' goes with 'feature:'"},
      {"performance > 1", "'performance' needs a name after it"},
      {"schema.columns > 0", "unknown schema count 'columns'"},
      {"prediction.pss > 0.1", "unknown statistic 'pss' (did you mean psi?)"},
      {"feature.psi > 0.1", "unknown prefix 'feature'"},
      {"a.b.c > 1", "column 5: a name has at most two parts"},
      {"psi > 1e999", "column 7: not a number"},
      {"psi > 0.2x", "column 7: not a number"},
      {"", "column 1: the condition ends too early"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const std::string e = error_of(c.text);
    CHECK_THAT(e, Catch::Contains(c.error));
  }
  CHECK_THAT(error_of(std::string(5000, ' ')), Catch::Contains("longer than 4096 bytes"));
  CHECK_THAT(error_of(std::string(300, '(') + "drift" + std::string(300, ')')),
             Catch::Contains("nested too deep"));
  // Parentheses alone add no depth; operators do, chained or nested.
  parsed(std::string(100, '(') + "drift" + std::string(100, ')'));
  std::string chain = "psi";
  for (int i = 0; i < 64; ++i) chain += " - 1";
  CHECK_THAT(error_of(chain + " > 0"), Catch::Contains("nested too deep"));
  chain = "psi";
  for (int i = 0; i < 60; ++i) chain += " - 1";
  const Condition deep = parsed(chain + " > 0");
  CHECK(parsed(deep.canonical()).canonical() == deep.canonical());
  CHECK_THAT(error_of(std::string(100, '-') + "psi > 0"), Catch::Contains("nested too deep"));
  CHECK_THAT(error_of(std::string(200, 'n').replace(0, 200,
                                                    [] {
                                                      std::string s;
                                                      for (int i = 0; i < 100; ++i) s += "not ";
                                                      return s;
                                                    }()) +
                      "drift"),
             Catch::Contains("nested too deep"));
}

TEST_CASE("conditions that can never be true, or never false, are found", "[alerts]") {
  const auto reach = [](const std::string& text) { return parsed(text).reach(); };
  // Out of a value's range.
  for (const char* never :
       {"psi < 0", "ks_p_value > 1", "drift_share > 1.5", "rows < 0", "missing_rate >= 1.01",
        "performance.roc_auc > 1", "abs(mean_shift) < 0", "count(feature: drift) < 0",
        "schema.new_columns + schema.missing_columns < 0", "any feature: jensen_shannon > 2",
        "psi < 0 and rows >= 500", "not (psi >= 0)", "1 > 2", "false"}) {
    INFO(never);
    CHECK_FALSE(reach(never).can_be_true);
  }
  // A conjunction that says two incompatible things of one value.
  for (const char* never :
       {"psi > 0.5 and psi < 0.2", "psi > 0.2 and not (psi > 0.1)",
        "rows >= 500 and ks_p_value < 0.01 and rows < 100", "psi > 0.2 and psi <= 0.2",
        "0.3 < psi and psi < 0.3", "not (psi <= 0.5 or psi >= 0.2)"}) {
    INFO(never);
    CHECK_FALSE(reach(never).can_be_true);
  }
  // Ordinary conditions, edges included: possible both ways.
  for (const char* fine :
       {"psi > 0.2", "ks_p_value < 0.01 and rows >= 500", "drift_share >= 0.3",
        "performance.roc_auc < baseline.roc_auc - 0.05",
        "missing_rate > baseline_missing_rate + 0.1", "psi >= 0.2 and psi <= 0.2",
        "ks_p_value <= 0", "drift_share >= 1", "psi > 0.5 or psi < 0.2", "mean_shift < -3",
        "psi > 0.3 and (any feature: psi < 0.1)", "count(feature: drift) >= 3",
        "performance.r2 < 0", "drift and not drift", "threshold > 5",
        "schema.new_columns > 0 or schema.missing_columns > 0", "psi / rows > 1"}) {
    INFO(fine);
    const auto r = reach(fine);
    CHECK(r.can_be_true);
  }
  // Never false.
  for (const char* always :
       {"psi >= 0", "ks_p_value <= 1 or rows > 5", "rows > -1", "true", "not (drift_share > 1)"}) {
    INFO(always);
    const auto r = reach(always);
    CHECK(r.can_be_true);
    CHECK_FALSE(r.can_be_false);
  }
  CHECK(reach("psi > 0.2").can_be_false);
  CHECK(reach("psi < 0 and ks_p_value > 0.5").ranges == "psi in [0, +inf), ks_p_value in [0, 1]");
  CHECK(reach("drift_share < -1").ranges == "drift_share in [0, 1]");
}
