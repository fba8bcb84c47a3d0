// driftd's statistics against numpy/scipy/sklearn on the committed cases of
// tests/data/reference (made by tests/reference/make_reference.py).
#include <simdjson.h>
#include <filesystem>

#include "driftd/baseline/baseline.h"
#include "driftd/check/check.h"
#include "test_util.h"

using namespace driftd;

namespace {

BaselineBuildOptions options_from(simdjson::dom::array args) {
  BaselineBuildOptions o;
  o.built_at = "2026-01-01T00:00:00Z";
  std::vector<std::string> a;
  for (auto x : args) a.emplace_back(std::string_view(x.get_string()));
  for (size_t i = 0; i + 1 < a.size(); i += 2) {
    if (a[i] == "--categorical") {
      std::string s = a[i + 1];
      size_t start = 0;
      while (start <= s.size()) {
        const size_t comma = s.find(',', start);
        o.categorical.insert(s.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    if (a[i] == "--prediction") o.prediction_column = a[i + 1];
    if (a[i] == "--label") o.label_column = a[i + 1];
    if (a[i] == "--id") o.id_column = a[i + 1];
    if (a[i] == "--timestamp") o.timestamp_column = a[i + 1];
  }
  return o;
}

void compare_value(const std::string& where, simdjson::dom::element expected,
                   std::optional<double> actual, bool p_value) {
  INFO(where);
  if (expected.is_null()) {
    CHECK_FALSE(actual.has_value());
    return;
  }
  REQUIRE(actual.has_value());
  const double e = double(expected);
  INFO("expected " << e << " actual " << *actual);
  CHECK(test::agrees(e, *actual, p_value));
}

}  // namespace

TEST_CASE("statistics agree with numpy/scipy/sklearn on every reference case", "[reference]") {
  const auto root = test::data_path("reference");
  size_t cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    const std::string dir = entry.path().string();
    const std::string name = entry.path().filename().string();
    SECTION(name) {
      ++cases;
      simdjson::dom::parser parser;
      simdjson::dom::element c = parser.load(dir + "/case.json");
      auto train = FileBuffer::load(dir + "/train.csv");
      REQUIRE(train.ok());
      auto built = build_baseline(*train, options_from(c["build_args"].get_array()));
      REQUIRE(built.ok());
      // Through the file format and back: what check uses is what was stored.
      auto baseline = parse_baseline(serialize_baseline(*built), name);
      REQUIRE(baseline.ok());
      auto serving = FileBuffer::load(dir + "/serving.csv");
      REQUIRE(serving.ok());
      auto report = run_check(*baseline, *serving, CheckOptions{});
      REQUIRE(report.ok());
      auto exp = c["expected"];
      CHECK(report->rows == uint64_t(exp["rows"]));
      for (auto [col, stats] : exp["features"].get_object()) {
        const FeatureResult* f = nullptr;
        for (const auto& r : report->features) {
          if (r.name == col) f = &r;
        }
        REQUIRE(f != nullptr);
        for (auto [key, value] : stats.get_object()) {
          const std::string k(key);
          const std::string where = name + "." + std::string(col) + "." + k;
          std::optional<double> actual;
          if (k == "missing_rate") {
            actual = f->missing_rate;
          } else if (k == "baseline_missing_rate") {
            actual = f->baseline_missing_rate;
          } else {
            actual = f->get(k);
          }
          compare_value(where, value, actual, k.find("p_value") != std::string::npos);
        }
      }
      simdjson::dom::element perf;
      if (!exp["performance"].get(perf)) {
        REQUIRE(report->performance.has_value());
        REQUIRE(report->baseline_performance.has_value());
        CHECK(std::string(to_string(report->performance->task)) == std::string_view(perf["task"]));
        for (const char* side : {"current", "baseline"}) {
          const Performance& p =
              std::string(side) == "current" ? *report->performance : *report->baseline_performance;
          for (auto [key, value] : perf[side].get_object()) {
            if (key == "rows") {
              CHECK(p.rows == uint64_t(value));
              continue;
            }
            compare_value(name + ".performance." + side + "." + std::string(key), value, p.get(key),
                          false);
          }
        }
      }
    }
  }
  CHECK(cases >= 1);
}
