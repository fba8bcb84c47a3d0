// Drift decisions, rules, schema changes.
#include <cmath>

#include "driftd/check/check.h"
#include "driftd/check/report.h"
#include "driftd/check/report_html.h"
#include "test_util.h"

using namespace driftd;

namespace {
Baseline baseline_of(const std::string& csv, std::set<std::string> categorical = {}) {
  BaselineBuildOptions o;
  o.built_at = "2026-01-01T00:00:00Z";
  o.categorical = std::move(categorical);
  auto b = build_baseline(FileBuffer::from_string(csv, "train.csv"), o);
  REQUIRE(b.ok());
  return *b;
}
CheckReport check_of(const Baseline& b, const std::string& csv, const CheckOptions& o = {}) {
  auto r = run_check(b, FileBuffer::from_string(csv, "serving.csv"), o);
  REQUIRE(r.ok());
  return *r;
}
const FeatureResult& feature(const CheckReport& r, const std::string& name) {
  for (const auto& f : r.features) {
    if (f.name == name) return f;
  }
  FAIL("no feature " << name);
  throw;
}
std::string numbers(int from, int to, const std::string& header) {
  std::string s = header + "\n";
  for (int i = from; i < to; ++i) s += std::to_string(i) + "," + std::to_string(i % 7) + "\n";
  return s;
}
}  // namespace

TEST_CASE("default rule: the calibrated tests, dataset drift when any feature drifts", "[check]") {
  const auto b = baseline_of(numbers(0, 1000, "a,b"));
  const auto same = check_of(b, numbers(0, 1000, "a,b"));
  CHECK_FALSE(feature(same, "a").drift);
  CHECK(feature(same, "a").rule.method == "calibrated");
  CHECK(feature(same, "a").rule.threshold == 0.001);
  CHECK_FALSE(same.dataset_drift);
  const auto shifted = check_of(b, numbers(600, 1600, "a,b"));
  const auto& a = feature(shifted, "a");
  CHECK(a.drift);
  REQUIRE_FALSE(a.reasons.empty());
  for (const auto& reason : a.reasons) {
    INFO(reason.test);
    CHECK(reason.adjusted_p_value <= 0.001);
    CHECK(std::fabs(reason.effect_value - (reason.effect == "std_ratio" ? 1 : 0)) >= reason.floor);
  }
  CHECK_FALSE(feature(shifted, "b").drift);  // i % 7: the same law in both
  CHECK(shifted.drift_share == 0.5);
  CHECK(shifted.dataset_drift);
  // The shift moves a's rows away from how a and b went together too: the
  // multivariate test flags it, outside the share of features.
  CHECK(shifted.drifting_features == std::vector<std::string>{"a", kMultivariateColumn});
  CHECK(shifted.features_compared == 2);
}

TEST_CASE("a statistic as the method: PSI >= 0.2 flags drift, dataset drift at a share",
          "[check]") {
  const auto b = baseline_of(numbers(0, 1000, "a,b"));
  CheckOptions o;
  o.rules.default_method = "psi";
  o.rules.share_threshold = 0.5;
  const auto same = check_of(b, numbers(0, 1000, "a,b"), o);
  CHECK_FALSE(feature(same, "a").drift);
  CHECK(feature(same, "a").get("psi") == 0.0);
  CHECK_FALSE(same.dataset_drift);
  const auto shifted = check_of(b, numbers(600, 1600, "a,b"), o);
  CHECK(feature(shifted, "a").drift);
  CHECK(feature(shifted, "a").rule.method == "psi");
  CHECK(feature(shifted, "a").rule.threshold == 0.2);
  CHECK(feature(shifted, "a").reasons.empty());
  CHECK_FALSE(feature(shifted, "b").drift);
  CHECK(shifted.drift_share == 0.5);
  CHECK(shifted.dataset_drift);
  CHECK_FALSE(shifted.false_alarm_rate.has_value());
}

TEST_CASE("rules from TOML: per method, per column, share", "[check]") {
  auto rules = parse_drift_rules(
      "[drift]\nmethod = \"ks_p_value\"\nshare = 0.9\n[drift.thresholds]\nks_p_value = 0.01\n"
      "[drift.columns.b]\nmethod = \"wasserstein\"\nthreshold = 0.5\n",
      "rules.toml");
  REQUIRE(rules.ok());
  CHECK(rules->rule_for("a").method == "ks_p_value");
  CHECK(rules->rule_for("a").threshold == 0.01);
  CHECK(rules->rule_for("b").method == "wasserstein");
  CHECK(rules->rule_for("b").threshold == 0.5);
  CheckOptions o;
  o.rules = *rules;
  const auto b = baseline_of(numbers(0, 1000, "a,b"));
  const auto r = check_of(b, numbers(600, 1600, "a,b"), o);
  CHECK(feature(r, "a").drift);  // p-value far below 0.01
  CHECK_FALSE(r.dataset_drift);  // 1 of 2 < 0.9
}

TEST_CASE("bad rules name the key and line", "[check]") {
  CHECK(parse_drift_rules("[drift]\nmethod = \"psi\"\nthreshhold = 0.1\n", "r.toml")
            .error()
            .message ==
        "r.toml:3: drift.threshhold: unknown key (expected method, threshold, share, "
        "false_alarm_rate, correction, sequential, sequential_run_length, floors, thresholds, "
        "columns)");
  CHECK(parse_drift_rules("[drift]\nmethod = \"psy\"\n", "r.toml")
            .error()
            .message.rfind(
                "r.toml: drift.method: unknown drift method 'psy' (methods: calibrated, psi, ",
                0) == 0);
  CHECK(parse_drift_rules("[drift]\nshare = \"half\"\n", "r.toml").error().message ==
        "r.toml:2: drift.share: expected a number");
  CHECK(parse_drift_rules("[drift\n", "r.toml").error().message.rfind("r.toml:1:", 0) == 0);
  CHECK(parse_drift_rules("[alerts]\n", "r.toml").error().message ==
        "r.toml:1: alerts: unknown key (expected drift)");
}

TEST_CASE("schema changes: a column only in serving is new, one only in the baseline is missing",
          "[check]") {
  const auto b = baseline_of("a,gone\n1,2\n3,4\n5,6\n");
  const auto r = check_of(b, "a,extra\n1,x\n2,y\n");
  CHECK(r.new_columns == std::vector<std::string>{"extra"});
  CHECK(r.missing_columns == std::vector<std::string>{"gone"});
  const auto& gone = feature(r, "gone");
  CHECK(gone.status == "missing_in_serving");
  CHECK(gone.drift);
  CHECK(gone.missing_rate == 1.0);
  CHECK_FALSE(gone.get("psi").has_value());
}

TEST_CASE("type errors in a numeric column are counted and excluded, never fatal", "[check]") {
  const auto b = baseline_of(numbers(0, 100, "a,b"));
  const auto r = check_of(b, "a,b\n1,1\nabc,2\n3,x\n4,4\n");
  CHECK(feature(r, "a").type_error_rate == 0.25);
  CHECK(feature(r, "b").type_error_rate == 0.25);
  CHECK(feature(r, "a").get("ks_statistic").has_value());
}

TEST_CASE("categorical: new categories, pooled 'other' categories are known", "[check]") {
  std::string train = "c\n";
  for (int i = 0; i < 10; ++i) train += "A\n";
  for (int i = 0; i < 5; ++i) train += "B\n";
  train += "C\nD\n";
  BaselineBuildOptions o;
  o.built_at = "2026-01-01T00:00:00Z";
  o.categorical = {"c"};
  o.settings.max_categories = 2;  // C and D pooled into 'other'
  auto b = build_baseline(FileBuffer::from_string(train, "t.csv"), o);
  REQUIRE(b.ok());
  const auto r = check_of(*b, "c\nA\nB\nC\nZ\n");
  const auto& c = feature(r, "c");
  CHECK(c.get("new_category_rate") == 0.25);  // Z only; C is a known, pooled category
  CHECK(c.get("chi2_p_value").has_value());
}

TEST_CASE("all-missing serving column: statistics are null, the missing rate drifts", "[check]") {
  const auto b = baseline_of(numbers(0, 50, "a,b"));
  const auto r = check_of(b, "a,b\n,1\n,2\n");
  const auto& a = feature(r, "a");
  CHECK(a.missing_rate == 1.0);
  CHECK_FALSE(a.get("psi").has_value());
  CHECK_FALSE(a.get("ks_p_value").has_value());
  // Every value missing where the baseline had none is drift, and says so.
  CHECK(a.drift);
  REQUIRE(a.reasons.size() == 1);
  CHECK(a.reasons[0].test == "missing_p_value");
  CHECK(a.reasons[0].effect_value == 1.0);
}

TEST_CASE("report JSON has the documented shape", "[check]") {
  const auto b = baseline_of(numbers(0, 100, "a,b"));
  const auto json = report_json(check_of(b, numbers(0, 100, "a,b")));
  for (const char* key :
       {"\"rows\": 100", "\"features\": {", "\"drift_share\": 0.0", "\"dataset_drift\": false",
        "\"performance\": null", "\"drift_method\": \"calibrated\"", "\"threshold\": 0.001",
        "\"drift_reasons\": []", "\"drifting_features\": []", "\"false_alarm_rate\": 0.001"}) {
    INFO(key);
    CHECK(json.find(key) != std::string::npos);
  }
}

TEST_CASE("compare on a borrowed table equals compare that reuses the table's arrays", "[check]") {
  std::string train = "x,c,score,label\n", serving = train;
  for (int i = 0; i < 500; ++i) {
    train += std::to_string(i % 37) + "," + "abc"[i % 3] + "," + std::to_string((i % 10) / 10.0) +
             "," + std::to_string(i % 2) + "\n";
    serving += (i % 17 == 0 ? std::string("") : std::to_string(i % 41)) + "," + "abd"[i % 3] + "," +
               std::to_string((i % 9) / 10.0) + "," + std::to_string((i / 2) % 2) + "\n";
  }
  BaselineBuildOptions o;
  o.built_at = "2026-01-01T00:00:00Z";
  o.categorical = {"c"};
  o.prediction_column = "score";
  o.label_column = "label";
  auto b = build_baseline(FileBuffer::from_string(train, "t.csv"), o);
  REQUIRE(b.ok());
  const auto file = FileBuffer::from_string(serving, "s.csv");
  auto table = read_table(file, InputFormat::kCsv, b->schema(), {});
  REQUIRE(table.ok());
  const std::string borrowed = report_json(compare(*b, *table, CheckOptions{}));
  const std::string consumed = report_json(compare(*b, std::move(*table), CheckOptions{}));
  CHECK(borrowed == consumed);
  CHECK(borrowed.find("\"roc_auc\"") != std::string::npos);
}

TEST_CASE("distributions for the report: numeric on the baseline bins, new categories last",
          "[check][report]") {
  std::string train = "x,c\n", serving = "x,c\n";
  for (int i = 0; i < 2000; ++i) {
    train += std::to_string(i % 100) + "," + (i % 3 == 0 ? "a" : "b") + "\n";
    serving += std::to_string(i % 50) + "," + (i % 4 == 0 ? "new" : "a") + "\n";
  }
  const auto b = baseline_of(train, {"c"});
  const auto r = check_of(b, serving);
  const FeatureResult& x = feature(r, "x");
  REQUIRE(x.distribution);
  const Distribution& dx = *x.distribution;
  CHECK(dx.labels.empty());
  CHECK(dx.edges == b.columns[0].numeric.cut_points);
  REQUIRE(dx.baseline.size() == dx.edges.size() + 1);
  REQUIRE(dx.current.size() == dx.baseline.size());
  double sb = 0, sc = 0, upper_half = 0;
  for (size_t i = 0; i < dx.current.size(); ++i) {
    sb += dx.baseline[i];
    sc += dx.current[i];
    if (i > 0 && dx.edges[i - 1] >= 50) upper_half += dx.current[i];
  }
  CHECK(sb == Approx(1.0));
  CHECK(sc == Approx(1.0));
  CHECK(upper_half == 0.0);  // serving never goes above 49
  const FeatureResult& c = feature(r, "c");
  REQUIRE(c.distribution);
  const Distribution& dc = *c.distribution;
  REQUIRE(dc.first_new < dc.labels.size());
  CHECK(dc.labels[dc.first_new] == "new");
  CHECK(dc.baseline[dc.first_new] == 0.0);
  CHECK(dc.current[dc.first_new] == Approx(0.25));
}

TEST_CASE("the HTML report escapes every name from the data", "[check][report]") {
  std::string train = "<b>x</b>,c\n", serving = "<b>x</b>,c\n";
  for (int i = 0; i < 500; ++i) {
    train += std::to_string(i) + ",a\n";
    serving += std::to_string(i) + "," + (i % 2 ? "<script>alert(1)</script>" : "a") + "\n";
  }
  const auto b = baseline_of(train, {"c"});
  const auto r = check_of(b, serving);
  HtmlReportContext context;
  context.title = "\"quoted\" & <title>";
  const std::string page = report_html(r, context);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<b>x") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("&lt;b&gt;x&lt;/b&gt;") != std::string::npos);
  CHECK(page.find("&quot;quoted&quot; &amp; &lt;title&gt;") != std::string::npos);
  CHECK(page.find("<svg") != std::string::npos);
  // An empty report renders too.
  const std::string empty = report_html(CheckReport{});
  CHECK(empty.find("</html>") != std::string::npos);
}

namespace {
// A column of the calibrated method with the given statistics.
FeatureResult calibrated_column(const std::string& name, std::vector<StatValue> stats) {
  FeatureResult r;
  r.name = name;
  r.stats = std::move(stats);
  return r;
}
CheckReport family_of_six() {
  // Sorted p-values 1e-6, 1e-5, 4e-4, 0.2, 0.5, 0.9: Holm's adjusted ones
  // are 6e-6, 5e-5, 1.6e-3, 0.6, 1, 1 (6 p, then the running maximum of
  // (6 - j) p_(j)).
  CheckReport rep;
  rep.features.push_back(calibrated_column("a", {{"location_p_value", 1e-6},
                                                 {"mean_shift", 0.3},
                                                 {"scale_p_value", 0.5},
                                                 {"std_ratio", 1.0}}));
  rep.features.push_back(calibrated_column("b", {{"location_p_value", 1e-5},
                                                 {"mean_shift", 0.01},
                                                 {"scale_p_value", 0.9},
                                                 {"std_ratio", 1.0}}));
  rep.features.push_back(calibrated_column("c", {{"ks_p_value", 4e-4},
                                                 {"ks_statistic", 0.05},
                                                 {"location_p_value", 0.2},
                                                 {"mean_shift", 0.0}}));
  return rep;
}
}  // namespace

TEST_CASE("calibrated: Holm's adjusted p-values over every column, and the effect floors",
          "[check]") {
  DriftRules rules;  // calibrated at 0.001, Holm
  CheckReport rep = family_of_six();
  decide_calibrated(rep, rules);
  summarize_features(rep);
  CHECK(rep.calibrated_tests == 6);
  REQUIRE(rep.false_alarm_rate);
  CHECK(*rep.false_alarm_rate == 0.001);
  const FeatureResult &a = feature(rep, "a"), &b = feature(rep, "b"), &c = feature(rep, "c");
  CHECK(*a.drift_value == Approx(6e-6));
  CHECK(*b.drift_value == Approx(5e-5));
  CHECK(*c.drift_value == Approx(1.6e-3));
  // a: rejected and past its floor; b: rejected, but a shift of 0.01 sd is
  // below the 0.05 floor; c: not rejected at 0.001.
  CHECK(a.drift);
  REQUIRE(a.reasons.size() == 1);
  CHECK(a.reasons[0].test == "location_p_value");
  CHECK(a.reasons[0].effect == "mean_shift");
  CHECK(a.reasons[0].effect_value == 0.3);
  CHECK(a.reasons[0].floor == 0.05);
  CHECK_FALSE(b.drift);
  CHECK_FALSE(c.drift);
  CHECK(rep.dataset_drift);  // any feature, by default
  CHECK(rep.drifting_features == std::vector<std::string>{"a"});

  // At 0.002 Holm rejects c's KS too (1.6e-3); Bonferroni's 6 p = 2.4e-3 does not.
  rules.false_alarm_rate = 0.002;
  rep = family_of_six();
  decide_calibrated(rep, rules);
  CHECK(feature(rep, "c").drift);
  rules.correction = Correction::kBonferroni;
  rep = family_of_six();
  decide_calibrated(rep, rules);
  CHECK(*feature(rep, "c").drift_value == Approx(2.4e-3));
  CHECK_FALSE(feature(rep, "c").drift);

  // A floor raised past a's shift leaves nothing drifting.
  rules = DriftRules{};
  rules.floors["mean_shift"] = 0.5;
  rep = family_of_six();
  decide_calibrated(rep, rules);
  summarize_features(rep);
  CHECK_FALSE(feature(rep, "a").drift);
  CHECK_FALSE(rep.dataset_drift);
}

TEST_CASE("calibrated rules: the keys, and the mistakes refused", "[check]") {
  auto ok = parse_drift_rules(R"([drift]
false_alarm_rate = 0.01
correction = "bonferroni"
share = 0.3
[drift.floors]
mean_shift = 0.1
)",
                              "r.toml");
  REQUIRE(ok.ok());
  CHECK(ok->default_method == "calibrated");
  CHECK(ok->false_alarm_rate == 0.01);
  CHECK(ok->correction == Correction::kBonferroni);
  CHECK(ok->floors.at("mean_shift") == 0.1);
  for (const char* bad :
       {"[drift]\nthreshold = 0.2\n", "[drift]\ncorrection = \"fdr\"\n",
        "[drift]\nfalse_alarm_rate = 1.5\n", "[drift.floors]\npsi = 0.1\n",
        "[drift.floors]\nmean_shift = -1\n", "[drift.columns.x]\nthreshold = 0.2\n"}) {
    INFO(bad);
    CHECK_FALSE(parse_drift_rules(bad, "r.toml").ok());
  }
  // A statistic as the method keeps its threshold.
  auto psi = parse_drift_rules("[drift]\nmethod = \"psi\"\nthreshold = 0.25\n", "r.toml");
  REQUIRE(psi.ok());
  CHECK(psi->rule_for("x").threshold == 0.25);
}
