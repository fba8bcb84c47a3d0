// Streaming windows against the batch check on the same rows: bins, PSI,
// JS, Hellinger, moments and categorical statistics agree to rounding; KS D
// within the documented 1/G bound (the issue asks for 0.005); W1 close.
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "driftd/check/check.h"
#include "driftd/check/report.h"
#include "driftd/io/json_writer.h"
#include "driftd/stats/summary.h"
#include "driftd/window/window.h"
#include "driftd/window/window_line.h"
#include "test_util.h"

namespace driftd {
namespace {

struct Rows {
  std::vector<double> x, y;          // numeric features
  std::vector<std::string> country;  // categorical; "" = missing
};

Rows make_rows(size_t n, double shift, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(shift, 1.0);
  std::lognormal_distribution<double> lognormal(0.0, 1.0 + shift * 0.2);
  std::uniform_int_distribution<int> pick(0, 9);
  const char* names[] = {"DE", "FR", "US", "US", "GB", "DE", "IT", "ES", "US", "NL"};
  Rows r;
  for (size_t i = 0; i < n; ++i) {
    r.x.push_back(i % 97 == 0 ? std::nan("") : normal(rng));
    r.y.push_back(std::round(lognormal(rng) * 4) / 4);  // ties on purpose
    const int k = pick(rng);
    r.country.push_back(i % 53 == 0 ? "" : (shift > 0 && k == 9 ? "BR" : names[k]));
  }
  return r;
}

Table to_table(const Rows& r) {
  Table t;
  t.rows = r.x.size();
  auto column = [](const char* name, ColumnKind kind) {
    Column col;
    col.name = name;
    col.kind = kind;
    return col;
  };
  Column x = column("x", ColumnKind::kNumeric), y = column("y", ColumnKind::kNumeric);
  Column c = column("country", ColumnKind::kCategorical);
  for (size_t i = 0; i < r.x.size(); ++i) {
    x.numbers.push_back(r.x[i]);
    if (std::isnan(r.x[i])) ++x.missing;
    y.numbers.push_back(r.y[i]);
    if (std::isinf(r.y[i])) ++y.infinite;  // as the CSV reader counts them
    if (r.country[i].empty()) {
      c.codes.push_back(Column::kMissingCode);
      ++c.missing;
    } else {
      c.codes.push_back(c.intern(r.country[i]));
    }
  }
  t.columns = {std::move(x), std::move(y), std::move(c)};
  return t;
}

std::shared_ptr<const Baseline> baseline_of(const Rows& r) {
  BaselineBuildOptions o;
  o.model_name = "fraud";
  o.model_version += '3';  // not = "3": GCC 12 -Wrestrict false positive at -O3
  o.built_at = "2026-11-26T00:00:00Z";
  auto b = profile_table(to_table(r), o);
  REQUIRE(b.ok());
  return std::make_shared<const Baseline>(std::move(*b));
}

void stage_row(ModelMonitor& m, const Rows& r, size_t i) {
  m.stage_number(m.column_of("x"), r.x[i]);
  m.stage_number(m.column_of("y"), r.y[i]);
  if (r.country[i].empty()) {
    m.stage_null(m.column_of("country"));
  } else {
    m.stage_text(m.column_of("country"), r.country[i]);
  }
}

// Every row of `serving` through the monitor as one event each (count
// windows): the windows that closed.
std::vector<WindowResult> windows_of(ModelMonitor& m, const Rows& serving) {
  std::vector<WindowResult> windows;
  for (size_t i = 0; i < serving.x.size(); ++i) {
    stage_row(m, serving, i);
    REQUIRE(m.commit(0, [&](WindowResult&& w) { windows.push_back(std::move(w)); }));
  }
  return windows;
}

const FeatureResult& feature(const CheckReport& rep, const std::string& name) {
  for (const auto& f : rep.features) {
    if (f.name == name) return f;
  }
  FAIL("no feature " << name);
  return rep.features.front();
}

void expect_matches_batch(const CheckReport& streamed, const CheckReport& batch, double ks_bound) {
  REQUIRE(streamed.rows == batch.rows);
  for (const auto& b : batch.features) {
    const FeatureResult& s = feature(streamed, b.name);
    INFO("feature " << b.name);
    CHECK(s.missing == b.missing);
    CHECK(s.drift == b.drift);
    // The report's distributions: the same bins, labels and shares.
    REQUIRE((s.distribution != nullptr) == (b.distribution != nullptr));
    if (b.distribution) {
      const Distribution &sd = *s.distribution, &bd = *b.distribution;
      CHECK(sd.edges == bd.edges);
      CHECK(sd.labels == bd.labels);
      CHECK(sd.first_new == bd.first_new);
      REQUIRE(sd.baseline.size() == bd.baseline.size());
      REQUIRE(sd.current.size() == bd.current.size());
      for (size_t i = 0; i < bd.current.size(); ++i) {
        CHECK(sd.baseline[i] == bd.baseline[i]);
        CHECK(std::fabs(sd.current[i] - bd.current[i]) <= 1e-12);
      }
    }
    for (const auto& stat : b.stats) {
      INFO("statistic " << stat.key);
      const auto got = s.get(stat.key);
      REQUIRE(got.has_value() == stat.value.has_value());
      if (!stat.value) continue;
      const double want = *stat.value;
      if (stat.key == "ks_statistic") {
        CHECK(std::fabs(*got - want) <= ks_bound);
      } else if (stat.key == "ks_p_value") {
        continue;  // a function of D: checked through D
      } else if (stat.key == "wasserstein") {
        CHECK(std::fabs(*got - want) <= 0.01 * want + 1e-3);
      } else if (stat.key == "kurtosis" || stat.key == "baseline_kurtosis") {
        CHECK(std::fabs(*got - want) <= 1e-6 * std::fabs(want) + 1e-8);
      } else {
        CHECK(test::agrees(want, *got, stat.key.find("p_value") != std::string::npos));
      }
    }
  }
  CHECK(streamed.drift_share == batch.drift_share);
}

// A windows-log line read back holds what the metrics show.
void expect_round_trip(const WindowResult& w, const WindowSettings& settings) {
  const std::string line = window_json_line(w, settings);
  auto back = parse_window_line(line, "line");
  REQUIRE(back.ok());
  CHECK(back->id == w.id);
  CHECK(back->start == w.start);
  CHECK(back->end == w.end);
  auto same = [](const CheckReport& a, const CheckReport& b) {
    CHECK(a.rows == b.rows);
    CHECK(a.drift_share == b.drift_share);
    CHECK(a.dataset_drift == b.dataset_drift);
    CHECK(a.drifting_features == b.drifting_features);
    CHECK(a.false_alarm_rate == b.false_alarm_rate);
    CHECK(a.model_name == b.model_name);
    REQUIRE(a.features.size() == b.features.size());
    for (size_t i = 0; i < a.features.size(); ++i) {
      const FeatureResult &x = a.features[i], &y = b.features[i];
      INFO("feature " << x.name);
      CHECK(x.name == y.name);
      CHECK(x.role == y.role);
      CHECK(x.drift == y.drift);
      CHECK(x.missing_rate == y.missing_rate);
      REQUIRE(x.reasons.size() == y.reasons.size());
      for (size_t k = 0; k < x.reasons.size(); ++k) {
        CHECK(x.reasons[k].test == y.reasons[k].test);
        CHECK(x.reasons[k].adjusted_p_value == y.reasons[k].adjusted_p_value);
        CHECK(x.reasons[k].effect_value == y.reasons[k].effect_value);
      }
      REQUIRE(x.stats.size() == y.stats.size());
      for (size_t k = 0; k < x.stats.size(); ++k) {
        CHECK(x.stats[k].key == y.stats[k].key);
        CHECK(x.stats[k].value == y.stats[k].value);  // doubles print round-trip exact
      }
    }
    REQUIRE(a.performance.has_value() == b.performance.has_value());
    if (a.performance) {
      CHECK(a.performance->task == b.performance->task);
      REQUIRE(a.performance->metrics.size() == b.performance->metrics.size());
      for (size_t k = 0; k < a.performance->metrics.size(); ++k) {
        CHECK(a.performance->metrics[k].name == b.performance->metrics[k].name);
        CHECK(a.performance->metrics[k].value == b.performance->metrics[k].value);
      }
    }
  };
  same(back->report, w.report);
  REQUIRE((back->reference != nullptr) == (w.reference != nullptr));
  if (w.reference) {
    CHECK(back->reference_name == w.reference_name);
    same(*back->reference, *w.reference);
  }
  // Everything the line says is read back (what `rules replay` judges is
  // what the daemon judged): written again, it is the same line.
  CHECK(window_json_line(*back, settings) == line);
  CHECK_FALSE(parse_window_line(line.substr(0, line.size() / 2), "cut").ok());
  CHECK_FALSE(parse_window_line("{}", "empty").ok());
}

TEST_CASE("a count window reproduces the batch check on the same rows", "[window]") {
  const Rows train = make_rows(20000, 0.0, 1);
  const auto base = baseline_of(train);
  for (const double shift : {0.0, 0.6}) {
    INFO("shift " << shift);
    const Rows serving = make_rows(5000, shift, 7);
    const MonitorSettings s = test::count_windows(5000);
    ModelMonitor m(base, s);
    const std::vector<WindowResult> windows = windows_of(m, serving);
    REQUIRE(windows.size() == 1);
    CHECK(windows[0].id == "fraud@3/n/0-5000");
    const CheckReport batch = compare(*base, to_table(serving), CheckOptions{});
    expect_matches_batch(windows[0].report, batch, 1.0 / 512);
  }
}

TEST_CASE("a constant column means one thing in a window and in the batch check", "[window]") {
  // set_spread_and_shape is the one definition: min == max gives mean = the
  // value and std = 0 exactly, and no skewness or kurtosis, on both paths.
  const Rows train = make_rows(20000, 0.0, 1);
  const auto base = baseline_of(train);
  Rows serving = make_rows(2000, 0.0, 5);
  for (double& v : serving.x) v = 0.1;  // not exact in binary: a sum of them is not 0.1 n
  const MonitorSettings s = test::count_windows(2000);
  ModelMonitor m(base, s);
  const std::vector<WindowResult> windows = windows_of(m, serving);
  REQUIRE(windows.size() == 1);
  const CheckReport batch = compare(*base, to_table(serving), CheckOptions{});
  const double mean_shift =
      (0.1 - base->columns[0].numeric.moments.mean) / base->columns[0].numeric.moments.std;
  for (const CheckReport* r : {static_cast<const CheckReport*>(&windows[0].report), &batch}) {
    const FeatureResult& x = feature(*r, "x");
    CHECK(x.get("mean_shift") == mean_shift);
    CHECK(x.get("std_ratio") == 0.0);
    CHECK_FALSE(x.get("skewness").has_value());
  }
  expect_matches_batch(windows[0].report, batch, 1.0 / 512);
  // And the batch moments of a constant sample, straight.
  const std::vector<double> constant(1000, 0.1);
  const Moments mo = compute_moments(constant);
  CHECK(mo.mean == 0.1);
  CHECK(mo.std == 0.0);
  CHECK_FALSE(mo.skewness.has_value());
}

TEST_CASE("a flipped correlation: the multivariate test flags it in a window as in the check",
          "[window][multivariate]") {
  // x and y keep their laws (normal; y = rho x + noise is normal for either
  // sign of rho); only how they move together changes.
  auto correlated = [](size_t n, double rho, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> z;
    Rows r;
    for (size_t i = 0; i < n; ++i) {
      const double u = z(rng);
      r.x.push_back(i % 97 == 0 ? std::nan("") : u);
      r.y.push_back(rho * u + std::sqrt(1 - rho * rho) * z(rng));
      r.country.push_back(i % 2 ? "FR" : "DE");
    }
    return r;
  };
  const auto base = baseline_of(correlated(20000, 0.8, 1));
  REQUIRE(base->multivariate);
  CHECK(base->multivariate->columns == std::vector<std::string>{"x", "y"});
  for (const double rho : {0.8, -0.8}) {
    INFO("rho " << rho);
    const Rows serving = correlated(3000, rho, 9);
    ModelMonitor m(base, test::count_windows(3000));
    const std::vector<WindowResult> windows = windows_of(m, serving);
    REQUIRE(windows.size() == 1);
    const CheckReport batch = compare(*base, to_table(serving), CheckOptions{});
    expect_matches_batch(windows[0].report, batch, 1.0 / 512);
    for (const CheckReport* r : {static_cast<const CheckReport*>(&windows[0].report), &batch}) {
      const FeatureResult& mv = feature(*r, kMultivariateColumn);
      CHECK(mv.drift == (rho < 0));
      CHECK(feature(*r, "x").drift == false);
      CHECK(feature(*r, "y").drift == false);
      CHECK(r->dataset_drift == (rho < 0));
      if (rho < 0) {
        CHECK(r->drifting_features == std::vector<std::string>{kMultivariateColumn});
        REQUIRE(mv.reasons.size() == 1);
        CHECK(mv.reasons[0].test == "reconstruction_p_value");
        CHECK(mv.reasons[0].effect == "reconstruction_error_change");
      }
    }
    expect_round_trip(windows[0], test::count_windows(3000).window);
  }
}

TEST_CASE("cells staged for a rejected event never reach a window", "[window]") {
  // Numeric cells are staged straight into the batch's next row; a rejected
  // event's must be forgotten there, or they would be counted with the next
  // event's (whose absent cells would take them). Rows whose x is NaN here
  // leave x absent instead, which the batch check counts alike (missing).
  const Rows train = make_rows(20000, 0.0, 1);
  const auto base = baseline_of(train);
  Rows serving = make_rows(3000, 0.3, 9);  // > kBatchRows: several batches
  // Infinities too: a batch run holding one is counted cell by cell.
  for (size_t i = 0; i < serving.y.size(); i += 101) serving.y[i] = i % 2 ? HUGE_VAL : -HUGE_VAL;
  const MonitorSettings s = test::count_windows(3000);
  ModelMonitor m(base, s);
  std::vector<WindowResult> windows;
  for (size_t i = 0; i < serving.x.size(); ++i) {
    m.stage_number(m.column_of("x"), 1e6);
    m.stage_number(m.column_of("y"), -1e6);
    m.stage_text(m.column_of("country"), "ZZ");
    m.clear_stage();
    if (!std::isnan(serving.x[i])) m.stage_number(m.column_of("x"), serving.x[i]);
    m.stage_number(m.column_of("y"), serving.y[i]);
    if (!serving.country[i].empty()) m.stage_text(m.column_of("country"), serving.country[i]);
    REQUIRE(m.commit(0, [&](WindowResult&& w) { windows.push_back(std::move(w)); }));
  }
  REQUIRE(windows.size() == 1);
  expect_matches_batch(windows[0].report, compare(*base, to_table(serving), CheckOptions{}),
                       1.0 / 512);
}

TEST_CASE("the bucket index finds the same grid slot as a binary search", "[window]") {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal(0, 1);
  std::lognormal_distribution<double> heavy(0, 2.5);
  std::vector<std::vector<double>> trainings(5);
  for (int i = 0; i < 5000; ++i) {
    trainings[0].push_back(normal(rng));
    trainings[1].push_back(heavy(rng) * (i == 7 ? 1e9 : 1));  // one far outlier
    trainings[2].push_back(std::round(normal(rng) * 2) / 2);  // ties
    trainings[3].push_back(4.0);                              // constant
    trainings[4].push_back(i % 2 ? -1e300 : 1e300);           // huge, two values
  }
  for (size_t t = 0; t < trainings.size(); ++t) {
    Table table;
    table.rows = trainings[t].size();
    Column c;
    c.name = "v";
    c.numbers.assign(trainings[t].begin(), trainings[t].end());
    table.columns.push_back(std::move(c));
    auto b = profile_table(table, BaselineBuildOptions{});
    REQUIRE(b.ok());
    for (const size_t g : {16u, 512u}) {
      const NumericGrid grid(b->columns[0], g);
      std::vector<double> probes = grid.point();  // every point, and its neighbours
      for (const double p : grid.point()) {
        probes.push_back(std::nextafter(p, -HUGE_VAL));
        probes.push_back(std::nextafter(p, HUGE_VAL));
      }
      for (int i = 0; i < 20000; ++i) {
        probes.push_back(trainings[t][static_cast<size_t>(i) % 5000] * (1 + 1e-3 * normal(rng)));
        probes.push_back(normal(rng) * 1e3);
      }
      for (const double v : {-HUGE_VAL, HUGE_VAL, -1e308, 1e308, 0.0, -0.0}) probes.push_back(v);
      size_t mismatches = 0;
      for (const double v : probes) mismatches += grid.slot_of(v) != grid.slot_of_by_search(v);
      INFO("training " << t << ", G = " << g);
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("KS D stays within 1/G of the exact value at every resolution", "[window]") {
  const Rows train = make_rows(30000, 0.0, 3);
  const auto base = baseline_of(train);
  const Rows serving = make_rows(8000, 0.3, 11);
  const CheckReport batch = compare(*base, to_table(serving), CheckOptions{});
  for (const size_t g : {64u, 200u, 512u, 2048u}) {
    MonitorSettings s;
    s.ks_resolution = g;
    s.window.kind = WindowSettings::Kind::kCount;
    s.window.size = s.window.step = 8000;
    ModelMonitor m(base, s);
    std::vector<WindowResult> out;
    for (size_t i = 0; i < serving.x.size(); ++i) {
      stage_row(m, serving, i);
      (void)m.commit(0, [&](WindowResult&& w) { out.push_back(std::move(w)); });
    }
    REQUIRE(out.size() == 1);
    for (const char* col : {"x", "y"}) {
      INFO("G = " << g << ", column " << col);
      const double exact = *feature(batch, col).get("ks_statistic");
      const double streamed = *feature(out[0].report, col).get("ks_statistic");
      CHECK(streamed <= exact + 1e-12);  // a maximum over a subset of points
      CHECK(exact - streamed <= 1.0 / static_cast<double>(g) + 1.0 / 30000);
    }
  }
}

TEST_CASE("sliding time windows are unions of panes, late events are counted", "[window]") {
  const Rows train = make_rows(10000, 0.0, 5);
  const auto base = baseline_of(train);
  const Rows serving = make_rows(6000, 0.2, 9);
  MonitorSettings s;
  s.window.size = 3000;  // ms
  s.window.step = 1000;
  s.window.allowed_lateness = 500;
  ModelMonitor m(base, s);
  std::vector<WindowResult> out;
  const int64_t t0 = 1764115200000;  // 2025-11-26T00:00:00Z
  auto on = [&](WindowResult&& w) { out.push_back(std::move(w)); };
  // One event per ms, each ninth event 400 ms out of order (within lateness).
  for (size_t i = 0; i < serving.x.size(); ++i) {
    const int64_t ts = t0 + static_cast<int64_t>(i) - (i % 9 == 0 ? 400 : 0);
    stage_row(m, serving, i);
    REQUIRE(m.commit(ts, on));
  }
  // An event older than every open window: counted as late, not added.
  stage_row(m, serving, 0);
  CHECK_FALSE(m.commit(t0, on));
  CHECK(m.late_events() == 1);
  m.flush(on);
  // The first event is 400 ms early: windows end every second from t0 to
  // t0+8000 (the last two partial, closed by the flush).
  REQUIRE(out.size() == 9);
  for (size_t k = 0; k < out.size(); ++k) {
    const int64_t end = t0 + 1000 * static_cast<int64_t>(k);
    CHECK(out[k].end == end);
    CHECK(out[k].start == end - 3000);
    // The same rows by event time, through the batch check.
    Rows sub;
    for (size_t i = 0; i < serving.x.size(); ++i) {
      const int64_t ts = t0 + static_cast<int64_t>(i) - (i % 9 == 0 ? 400 : 0);
      if (ts >= out[k].start && ts < out[k].end) {
        sub.x.push_back(serving.x[i]);
        sub.y.push_back(serving.y[i]);
        sub.country.push_back(serving.country[i]);
      }
    }
    INFO("window " << out[k].id);
    expect_matches_batch(out[k].report, compare(*base, to_table(sub), CheckOptions{}), 1.0 / 512);
  }
}

TEST_CASE("a monitor restored from its saved state continues exactly", "[window]") {
  const Rows train = make_rows(10000, 0.0, 5);
  const auto base = baseline_of(train);
  const Rows serving = make_rows(9000, 0.4, 13);
  MonitorSettings s;
  s.window.size = 2000;
  s.window.step = 1000;
  auto run = [&](ModelMonitor& m, size_t from, size_t to, std::vector<std::string>& lines) {
    for (size_t i = from; i < to; ++i) {
      stage_row(m, serving, i);
      (void)m.commit(static_cast<int64_t>(i) - (i % 5 == 0 ? 300 : 0),
                     [&](WindowResult&& w) { lines.push_back(window_json_line(w, s.window)); });
    }
  };
  std::vector<std::string> straight, resumed;
  ModelMonitor a(base, s);
  run(a, 0, serving.x.size(), straight);

  ModelMonitor b(base, s);
  run(b, 0, 4321, resumed);
  ByteWriter w;
  b.save(w);
  ModelMonitor c(base, s);
  ByteReader r(w.bytes());
  REQUIRE(c.load(r));
  CHECK(r.at_end());
  run(c, 4321, serving.x.size(), resumed);
  CHECK(resumed == straight);
  CHECK(straight.size() == 9);  // ends 0, 1000, ..., 8000

  // Every truncation of the state is refused, none crashes.
  for (size_t len = 0; len < w.bytes().size(); len += 1 + len / 16) {
    ModelMonitor d(base, s);
    ByteReader t(std::string_view(w.bytes()).substr(0, len));
    CHECK_FALSE(d.load(t));
  }
}

TEST_CASE("a second reference: every window also carries the reference's report", "[window]") {
  const auto base = baseline_of(make_rows(10000, 0.0, 5));
  // The reference: "last week", already shifted; its columns in another order.
  Rows week = make_rows(6000, 0.3, 77);
  Table wt = to_table(week);
  std::swap(wt.columns[0], wt.columns[2]);
  BaselineBuildOptions o;
  o.model_name = "fraud";
  o.model_version += '2';
  o.built_at = "2026-11-20T00:00:00Z";
  auto built = profile_table(wt, o);
  REQUIRE(built.ok());
  const auto reference = std::make_shared<const Baseline>(std::move(*built));
  REQUIRE(check_reference_schema(*base, *reference, "week.json").ok());

  const Rows serving = make_rows(7000, 0.4, 13);
  MonitorSettings s;
  s.window.size = 2000;
  s.window.step = 1000;
  // Windows of the monitor with a reference, of one on the training
  // baseline and of one on the reference alone, over the same events.
  auto run = [&](ModelMonitor& m, size_t from, size_t to, std::vector<WindowResult>& out) {
    for (size_t i = from; i < to; ++i) {
      stage_row(m, serving, i);
      (void)m.commit(static_cast<int64_t>(i) - (i % 5 == 0 ? 300 : 0),
                     [&](WindowResult&& w) { out.push_back(std::move(w)); });
    }
  };
  ModelMonitor both(base, s), training(base, s), alone(reference, s);
  both.attach_reference(reference, "last_week");
  std::vector<WindowResult> got, want_training, want_reference;
  run(both, 0, serving.x.size(), got);
  run(training, 0, serving.x.size(), want_training);
  run(alone, 0, serving.x.size(), want_reference);
  REQUIRE(got.size() == want_training.size());
  REQUIRE(got.size() == want_reference.size());
  REQUIRE(got.size() == 7);
  auto json = [](const CheckReport& r) {
    JsonWriter w(-1);
    w.begin_object();
    write_report_fields(w, r);
    w.end_object();
    return w.str();
  };
  for (size_t k = 0; k < got.size(); ++k) {
    INFO("window " << got[k].id);
    CHECK(json(got[k].report) == json(want_training[k].report));
    REQUIRE(got[k].reference != nullptr);
    CHECK(got[k].reference_name == "last_week");
    CHECK(json(*got[k].reference) == json(want_reference[k].report));
  }
  for (const auto& w : got) expect_round_trip(w, s.window);
  // The logged line carries both; the reference is told apart by name.
  const std::string line = window_json_line(got.back(), s.window);
  CHECK(line.find("\"reference\":{\"name\":\"last_week\",\"model\"") != std::string::npos);
  // Drift against the shifted week is smaller than against training.
  CHECK(got.back().reference->drift_share <= got.back().report.drift_share);

  // A restored monitor with its reference continues exactly.
  ModelMonitor b(base, s);
  b.attach_reference(reference, "last_week");
  std::vector<WindowResult> resumed;
  run(b, 0, 3333, resumed);
  ByteWriter w;
  b.save(w);
  ModelMonitor c(base, s);
  c.attach_reference(reference, "last_week");
  ByteReader r(w.bytes());
  REQUIRE(c.load(r));
  CHECK(r.at_end());
  run(c, 3333, serving.x.size(), resumed);
  REQUIRE(resumed.size() == got.size());
  for (size_t k = 0; k < got.size(); ++k) {
    CHECK(json(*resumed[k].reference) == json(*got[k].reference));
  }
  // Flush closes the reference's last window with ours.
  std::vector<WindowResult> flushed;
  both.flush([&](WindowResult&& x) { flushed.push_back(std::move(x)); });
  REQUIRE_FALSE(flushed.empty());
  CHECK(flushed.back().reference != nullptr);

  // A reference without a monitored column, or with another kind, is refused.
  Rows narrow = make_rows(500, 0.0, 3);
  Table nt = to_table(narrow);
  nt.columns.pop_back();  // no country
  auto missing = profile_table(nt, o);
  REQUIRE(missing.ok());
  auto st = check_reference_schema(*base, *missing, "narrow.json");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == "narrow.json: the reference lacks column 'country' of the baseline");
}

}  // namespace
}  // namespace driftd

namespace driftd {
namespace {

// A model with a score and a 0/1 label, for the label join.
struct Scored {
  std::vector<double> x, score, label;
};

Scored make_scored(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  Scored s;
  for (size_t i = 0; i < n; ++i) {
    const double x = normal(rng);
    const double p = 1 / (1 + std::exp(-2 * x));
    s.x.push_back(x);
    s.score.push_back(std::round(p * 1000) / 1000);  // ties on purpose
    s.label.push_back(unit(rng) < p ? 1 : 0);
  }
  return s;
}

std::shared_ptr<const Baseline> scored_baseline(const Scored& s) {
  Table t;
  t.rows = s.x.size();
  auto column = [](const char* name, const std::vector<double>& v) {
    Column c;
    c.name = name;
    c.kind = ColumnKind::kNumeric;
    c.numbers.assign(v.begin(), v.end());
    return c;
  };
  t.columns = {column("x", s.x), column("score", s.score), column("label", s.label)};
  BaselineBuildOptions o;
  o.model_name = "churn";
  o.model_version += '1';
  o.prediction_column = "score";
  o.label_column = "label";
  o.built_at = "2026-11-26T00:00:00Z";
  auto b = profile_table(t, o);
  REQUIRE(b.ok());
  return std::make_shared<const Baseline>(std::move(*b));
}

std::string id_of(size_t i) {
  return "req-" + std::to_string(i);
}

// Predictions at ts = 10 i; the label of prediction i arrives `delay`
// events later (every third prediction never gets one). Returns the
// windows closed.
std::vector<WindowResult> run_scored(ModelMonitor& m, const Scored& s, size_t from, size_t to,
                                     size_t delay) {
  std::vector<WindowResult> out;
  auto keep = [&](WindowResult&& w) { out.push_back(std::move(w)); };
  for (size_t i = from; i < to; ++i) {
    m.stage_number(m.column_of("x"), s.x[i]);
    m.stage_number(m.prediction_column(), s.score[i]);
    m.stage_id_key(ModelMonitor::id_key(id_of(i)));
    (void)m.commit(static_cast<int64_t>(10 * i), keep);
    if (i >= delay && (i - delay) % 3 != 0) {
      const size_t j = i - delay;
      CHECK(m.join_label(ModelMonitor::id_key(id_of(j)), s.label[j],
                         static_cast<int64_t>(10 * i + 5)) == LabelOutcome::kJoined);
    }
  }
  return out;
}

TEST_CASE("label join: per-window performance equals the batch metrics of the joined pairs",
          "[window][labels]") {
  const Scored s = make_scored(6000, 21);
  const auto base = scored_baseline(s);
  MonitorSettings settings;
  settings.window.size = settings.window.step = 20000;  // 2000 predictions per window
  ModelMonitor m(base, settings);
  REQUIRE(m.joins_labels());
  auto windows = run_scored(m, s, 0, 6000, 50);
  m.flush([&](WindowResult&& w) { windows.push_back(std::move(w)); });
  for (const auto& w : windows) expect_round_trip(w, m.settings().window);
  REQUIRE(windows.size() == 3);
  // Label lag: every label came 50 predictions (10 ms apart) plus 5 ms after
  // its prediction, 0.505 s: all in the first bucket (up to 1 s).
  const auto& lag = m.label_counters().lag_seconds;
  const uint64_t joined = m.label_counters().joined;
  CHECK(joined > 3000);
  CHECK(lag.counts()[0] == joined);
  CHECK(lag.sum() == Approx(0.505 * static_cast<double>(joined)));
  for (const WindowResult& w : windows) {
    INFO("window " << w.id);
    // The pairs whose label arrived (label time 10 i + 5) inside the window.
    std::vector<double> scores, labels;
    for (size_t i = 50; i < 6000; ++i) {
      const size_t j = i - 50;
      if (j % 3 == 0) continue;
      const int64_t t = static_cast<int64_t>(10 * i + 5);
      if (t < w.start || t >= w.end) continue;
      scores.push_back(s.score[j]);
      labels.push_back(s.label[j]);
    }
    REQUIRE(w.report.performance.has_value());
    const Performance& got = *w.report.performance;
    const Performance want = classification_metrics(scores, labels, 0.5);
    CHECK(got.rows == want.rows);
    for (const auto& metric : want.metrics) {
      INFO("metric " << metric.name);
      REQUIRE(got.get(metric.name).has_value());
      if (metric.name == "roc_auc") {
        // Pairs sharing an open grid cell count as ties (window.h).
        CHECK(std::fabs(*got.get(metric.name) - *metric.value) < 0.005);
      } else {
        CHECK(test::agrees(*metric.value, *got.get(metric.name), false));
      }
    }
    // Label drift: the label column, outside the drift share.
    const FeatureResult& label = feature(w.report, "label");
    CHECK(label.role == ColumnRole::kLabel);
    CHECK(label.rows == scores.size());
  }
  const auto& c = m.label_counters();
  CHECK(c.joined == (6000 - 50) - (6000 - 50 + 2) / 3);
  CHECK(m.pending_labels() == 50 + (6000 - 50 + 2) / 3);
  CHECK(m.join_label(ModelMonitor::id_key("never-seen"), 1, 59990) == LabelOutcome::kUnmatched);
  CHECK(m.join_label(ModelMonitor::id_key(id_of(100)), 1, 59990) == LabelOutcome::kUnmatched);
}

TEST_CASE("label join: ttl expiry and the pending cap are counted", "[window][labels]") {
  const Scored s = make_scored(2000, 22);
  const auto base = scored_baseline(s);
  MonitorSettings settings;
  settings.window.size = settings.window.step = 1000000;
  settings.labels.ttl_ms = 100;  // ten predictions' worth of event time
  ModelMonitor m(base, settings);
  (void)run_scored(m, s, 0, 200, 5);
  CHECK(m.label_counters().expired > 0);
  CHECK(m.pending_labels() <= 11);
  // Older than the ttl: gone.
  CHECK(m.join_label(ModelMonitor::id_key(id_of(3)), 1, 2000) == LabelOutcome::kUnmatched);

  MonitorSettings capped = settings;
  capped.labels.ttl_ms = 1 << 30;
  capped.labels.max_pending = 10;
  ModelMonitor c(base, capped);
  (void)run_scored(c, s, 0, 200, 5);
  CHECK(c.pending_labels() <= 10);
  CHECK(c.label_counters().evicted > 0);
  CHECK(c.label_counters().joined == 200 - 5 - (200 - 5 + 2) / 3);
}

TEST_CASE("label join: a restored monitor joins the labels of predictions made before",
          "[window][labels]") {
  const Scored s = make_scored(4000, 23);
  const auto base = scored_baseline(s);
  MonitorSettings settings;
  settings.window.size = 20000;
  settings.window.step = 10000;
  ModelMonitor whole(base, settings);
  auto expected = run_scored(whole, s, 0, 4000, 70);
  ModelMonitor first(base, settings);
  auto got = run_scored(first, s, 0, 1700, 70);
  ByteWriter w;
  first.save(w);
  ModelMonitor second(base, settings);
  ByteReader r(w.bytes());
  REQUIRE(second.load(r));
  CHECK(r.at_end());
  CHECK(second.pending_labels() == first.pending_labels());
  for (auto& x : run_scored(second, s, 1700, 4000, 70)) got.push_back(std::move(x));
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(window_json_line(got[i], settings.window) ==
          window_json_line(expected[i], settings.window));
  }
  CHECK(second.label_counters().joined == whole.label_counters().joined);
}

TEST_CASE("pending labels: the hash table agrees with a map under inserts, takes and expiry",
          "[window][labels]") {
  std::mt19937_64 rng(5);
  PendingLabels table;
  std::map<uint64_t, std::pair<double, int64_t>> ref;
  std::deque<std::pair<uint64_t, int64_t>> order;  // arrival order of live entries
  uint64_t evicted = 0;
  const size_t cap = 3000;
  int64_t now = 0;
  for (int step = 0; step < 200000; ++step) {
    const uint64_t key = 1 + rng() % 5000;  // small key space: collisions and replacements
    const int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      ++now;
      table.insert(key, static_cast<double>(step), now, cap, &evicted);
      // The reference: evict the oldest live entries first, then insert.
      if (!ref.count(key)) {
        while (ref.size() >= cap) {
          auto [k, t] = order.front();
          order.pop_front();
          auto it = ref.find(k);
          if (it != ref.end() && it->second.second == t) ref.erase(it);
        }
      }
      ref[key] = {static_cast<double>(step), now};
      order.emplace_back(key, now);
    } else if (op < 9) {
      PendingLabels::Entry e;
      const bool found = table.take(key, &e);
      auto it = ref.find(key);
      REQUIRE(found == (it != ref.end()));
      if (found) {
        CHECK(e.score == it->second.first);
        ref.erase(it);
      }
    } else {
      const int64_t before = now - 500;
      table.expire(before);
      while (!order.empty()) {
        auto [k, t] = order.front();
        auto it = ref.find(k);
        const bool live = it != ref.end() && it->second.second == t;
        if (live && t >= before) break;
        order.pop_front();
        if (live) ref.erase(it);
      }
    }
    REQUIRE(table.size() == ref.size());
  }
  for (const auto& [key, v] : ref) {
    PendingLabels::Entry e;
    REQUIRE(table.take(key, &e));
    CHECK(e.ts == v.second);
  }
  CHECK(table.size() == 0);
}

}  // namespace
}  // namespace driftd
