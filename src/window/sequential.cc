#include "driftd/window/sequential.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <boost/math/special_functions/erf.hpp>

#include "driftd/detectors/detector.h"

namespace driftd {

namespace {

// Phi^-1(1 - q) for q in (0, 1], from the complementary error function's
// inverse: accurate in the far tail, where 1 - q rounds to 1.
double upper_normal_quantile(double q) {
  q = std::clamp(q, 1e-300, 1.0);
  if (q >= 1) return -8.3;  // p = 1: as far below 0 as q = 1e-300 is above
  return std::sqrt(2.0) * boost::math::erfc_inv(2 * q);
}

// Siegmund's approximation of a CUSUM's in-control average run length.
double run_length_of(double h, double k) {
  const double b = 2 * k * (h + 1.166);
  return (std::exp(b) - b - 1) / (2 * k * k);
}

}  // namespace

double SequentialDetector::threshold(size_t charts) const {
  if (const auto it = thresholds_.find(charts); it != thresholds_.end()) return it->second;
  const double target = run_length_ * static_cast<double>(std::max<size_t>(charts, 1));
  double lo = 0, hi = 200;
  for (int i = 0; i < 100; ++i) {  // run_length_of grows with h
    const double mid = (lo + hi) / 2;
    (run_length_of(mid, kReference) < target ? lo : hi) = mid;
  }
  thresholds_[charts] = hi;
  return hi;
}

void SequentialDetector::update(CheckReport& report, const DriftRules& rules) {
  struct Score {
    FeatureResult* feature;
    const StatisticInfo* info;
    double z, effect;
  };
  std::vector<Score> scores;
  size_t charts = 0;
  for (FeatureResult& r : report.features) {
    if (r.rule.method != kCalibratedMethod || r.status != "ok") continue;
    for (const StatValue& s : r.stats) {
      if (!s.value) continue;
      const StatisticInfo* info = find_statistic(s.key);
      if (info == nullptr || info->test == nullptr) continue;
      const auto effect = effect_of(r, info->test->effect);
      if (!effect) continue;
      const double change = *effect - info->test->center;
      const bool two_sided = info->test->signed_change;
      double z = upper_normal_quantile(two_sided ? *s.value / 2 : *s.value);
      if (two_sided && change < 0) z = -z;
      scores.push_back({&r, info, z, change});
      charts += two_sided ? 2 : 1;
    }
  }
  const double h = threshold(charts);
  const auto step = [&](Side& side, double z, double effect) {
    side.s = std::min(std::max(0.0, side.s + z - kReference), h + kHeadroom);
    if (side.s == 0) {
      side.effect_sum = 0;
      side.windows = 0;
    } else {
      side.effect_sum += effect;
      ++side.windows;
    }
  };
  bool changed = false;
  for (const Score& sc : scores) {
    Chart& chart = charts_[sc.feature->name + "\n" + sc.info->key];
    step(chart.up, sc.z, sc.effect);
    if (sc.info->test->signed_change) step(chart.down, -sc.z, sc.effect);
    const double floor = rules.floor_of(*sc.info->test);
    // A test this window rejects on its own says so already, and its
    // chart starts again: what the chart is for is a change no window shows
    // (and a run that spans a reported change would alarm on it once more
    // after it ended).
    const bool by_window =
        std::any_of(sc.feature->reasons.begin(), sc.feature->reasons.end(),
                    [&](const DriftReason& r) { return !r.sequential && r.test == sc.info->key; });
    if (by_window) {
      chart = Chart{};
      continue;
    }
    for (Side* side : {&chart.up, &chart.down}) {
      if (side->s <= h || side->windows == 0) continue;
      const double mean_effect = side->effect_sum / static_cast<double>(side->windows);
      if (std::fabs(mean_effect) < floor) continue;
      FeatureResult& r = *sc.feature;
      DriftReason reason;
      reason.test = sc.info->key;
      reason.p_value = r.get(sc.info->key).value_or(1);
      reason.adjusted_p_value = std::nan("");
      reason.effect = sc.info->test->effect;
      reason.effect_value = mean_effect + sc.info->test->center;
      reason.floor = floor;
      reason.sequential = true;
      reason.cusum = side->s;
      reason.windows = side->windows;
      r.reasons.push_back(std::move(reason));
      changed |= !r.drift;
      r.drift = true;
      r.severity = std::max(r.severity, 1.0);
      // Restarted after its alarm (Page's scheme): one false alarm is one
      // window, and a change that persists alarms again within h / (z - k).
      *side = Side{};
    }
  }
  if (changed) summarize_features(report);
}

void SequentialDetector::save(ByteWriter& out) const {
  out.u64(charts_.size());
  for (const auto& [key, chart] : charts_) {
    out.str(key);
    for (const Side* side : {&chart.up, &chart.down}) {
      out.f64(side->s);
      out.f64(side->effect_sum);
      out.u64(side->windows);
    }
  }
}

bool SequentialDetector::load(ByteReader& in) {
  charts_.clear();
  const uint64_t n = in.count(8 + 2 * 24);
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    const std::string key = in.str();
    Chart chart;
    for (Side* side : {&chart.up, &chart.down}) {
      side->s = in.f64();
      side->effect_sum = in.f64();
      side->windows = in.u64();
      // A checksum does not make a state true.
      if (!(side->s >= 0 && side->s < 1e6) || !std::isfinite(side->effect_sum)) {
        in.fail("a sequential chart out of range");
      }
    }
    charts_[key] = chart;
  }
  return in.ok();
}

}  // namespace driftd
