// The Prometheus families built from the published snapshot: one family per
// statistic, the label set, the series cap, histograms, the process.
#include <regex>

#include "driftd/check/check.h"
#include "driftd/common/histogram.h"
#include "src/server/metrics.h"
#include "src/server/published.h"
#include "test_util.h"

using namespace driftd;

namespace {

CheckReport report_of(int columns) {
  std::string header, train, serving;
  for (int c = 0; c < columns; ++c) header += (c ? ",f" : "f") + std::to_string(c);
  train = serving = header + "\n";
  for (int i = 0; i < 1000; ++i) {
    for (int c = 0; c < columns; ++c) {
      train += (c ? "," : "") + std::to_string(i % 97);
      serving += (c ? "," : "") + std::to_string((i % 97) * (c + 1));
    }
    train += "\n";
    serving += "\n";
  }
  BaselineBuildOptions o;
  o.built_at = "2026-01-01T00:00:00Z";
  o.model_name = "m";
  o.model_version = "1";
  auto b = build_baseline(FileBuffer::from_string(train, "train.csv"), o);
  REQUIRE(b.ok());
  auto r = run_check(*b, FileBuffer::from_string(serving, "serving.csv"), CheckOptions{});
  REQUIRE(r.ok());
  return *r;
}

void add_model(Published& p, const std::string& version, int columns) {
  ModelView v;
  v.name = "m";
  v.version = version;
  v.baseline_path = "/data/m.json";
  v.window.kind = WindowSettings::Kind::kTime;
  v.newest_event_ms = 1'700'000'000'000;
  auto w = std::make_shared<WindowResult>();
  w->report = report_of(columns);
  w->end = 1'700'000'000'000;
  v.latest = w;
  v.window_close_seconds.observe(0.002);
  v.window_close_seconds.observe(0.3);
  p.models.push_back(std::move(v));
}

size_t count_lines(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    n += at == 0 || text[at - 1] == '\n';
  }
  return n;
}

}  // namespace

TEST_CASE("a statistic's family: driftd_feature_<key>, a rate written as a ratio", "[metrics]") {
  CHECK(feature_metric_name("psi") == "driftd_feature_psi");
  CHECK(feature_metric_name("ks_p_value") == "driftd_feature_ks_p_value");
  CHECK(feature_metric_name("new_category_rate") == "driftd_feature_new_category_ratio");
}

TEST_CASE("per-feature gauges with model, model_version, feature and role", "[metrics]") {
  Published p;
  add_model(p, "1", 3);
  const std::string text = render_metrics(p, 10'000);
  CHECK(text.find("# TYPE driftd_feature_psi gauge") != std::string::npos);
  CHECK(text.find("driftd_feature_psi{model=\"m\",model_version=\"1\",feature=\"f0\","
                  "role=\"feature\"} ") != std::string::npos);
  CHECK(text.find("driftd_feature_ks_statistic{model=\"m\",model_version=\"1\",feature=\"f2\","
                  "role=\"feature\"} ") != std::string::npos);
  CHECK(text.find("driftd_model_drift_threshold{model=\"m\",model_version=\"1\","
                  "statistic=\"psi\"} 0.2") != std::string::npos);
  CHECK(text.find("driftd_metric_features_dropped 0") != std::string::npos);
  // No sample of the old one-family shape, no bare `version` label.
  CHECK(text.find("driftd_feature_statistic") == std::string::npos);
  CHECK(text.find(",version=\"") == std::string::npos);
  // Histograms: cumulative buckets, count and sum.
  CHECK(text.find("driftd_model_window_close_duration_seconds_bucket{model=\"m\","
                  "model_version=\"1\",le=\"0.0025\"} 1") != std::string::npos);
  CHECK(text.find("driftd_model_window_close_duration_seconds_bucket{model=\"m\","
                  "model_version=\"1\",le=\"+Inf\"} 2") != std::string::npos);
  CHECK(text.find("driftd_model_window_close_duration_seconds_count{model=\"m\","
                  "model_version=\"1\"} 2") != std::string::npos);
  // The process and the build.
  CHECK(text.find("driftd_build_info{version=\"" DRIFTD_VERSION "\",simd_target=\"") !=
        std::string::npos);
  const std::regex rss("\nprocess_resident_memory_bytes ([0-9.e+]+)\n");
  std::smatch m;
  REQUIRE(std::regex_search(text, m, rss));
  CHECK(std::stod(m[1]) > 1e6);
  CHECK(text.find("\nprocess_open_fds ") != std::string::npos);
  CHECK(text.find("\nprocess_cpu_seconds_total ") != std::string::npos);
}

TEST_CASE("the series cap: features past max_metric_features are dropped and counted",
          "[metrics]") {
  Published p;
  add_model(p, "1", 3);
  add_model(p, "2", 3);
  // Each model's report has 4 columns: f0 to f2 and the multivariate
  // test's _multivariate (which has no PSI).
  const std::string text = render_metrics(p, 4);
  CHECK(count_lines(text, "driftd_feature_drift{") == 4);
  CHECK(count_lines(text, "driftd_feature_psi{") == 3);
  CHECK(count_lines(text, "driftd_feature_reconstruction_p_value{") == 1);
  CHECK(text.find("driftd_metric_features_dropped 4") != std::string::npos);
  CHECK(text.find("driftd_metric_features_limit 4") != std::string::npos);
  // Model-level series are not capped.
  CHECK(count_lines(text, "driftd_model_drift_share{") == 2);
  CHECK(render_metrics(p, 0).find("driftd_metric_features_dropped 8") != std::string::npos);
}

TEST_CASE("a histogram counts each observation in the first bucket that holds it", "[metrics]") {
  static constexpr double kBounds[] = {1, 2, 5};
  Histogram h(kBounds);
  for (const double v : {0.5, 1.0, 1.5, 5.0, 7.0}) h.observe(v);
  CHECK(h.counts() == std::vector<uint64_t>{2, 1, 1, 1});
  CHECK(h.sum() == 15.0);
}
