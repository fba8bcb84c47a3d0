// Drift rules: which statistic decides drift for each column and at what
// threshold, and the share of drifting features that makes dataset drift
// (the check's rules file and each daemon model's [drift] table).
// src/check/drift_rules.cc.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "driftd/common/result.h"

namespace driftd {

struct DriftTest;

// The default method: every column's calibrated tests (the statistics whose
// StatisticInfo::test is set) judged together, one family per window, at a
// false-alarm rate (docs/VERDICTS.md).
inline constexpr std::string_view kCalibratedMethod = "calibrated";

// Which statistic decides drift for a column, and its threshold (for
// "calibrated": the false-alarm rate).
struct DriftRule {
  std::string method = std::string(kCalibratedMethod);
  double threshold = 0.001;
};

enum class Correction { kHolm, kBonferroni };

struct DriftRules {
  std::string default_method = std::string(kCalibratedMethod);
  std::map<std::string, double> method_thresholds;  // overrides of built-in defaults
  std::map<std::string, DriftRule> columns;         // per-column rule
  // Dataset drift when at least this share of features drifts; 0: when any
  // feature does.
  double share_threshold = 0;
  // The calibrated method: the chance that a window of a stable stream
  // flags any column, split over the window's tests by Holm's step-down
  // (Holm 1979, "A simple sequentially rejective multiple test procedure",
  // Scand. J. Statist. 6) or Bonferroni's division.
  double false_alarm_rate = 0.001;
  Correction correction = Correction::kHolm;
  // Overrides of the tests' effect floors, by the effect's name
  // ([drift.floors] mean_shift = 0.1).
  std::map<std::string, double> floors;
  // The daemon's sequential charts on tumbling windows
  // (window/sequential.h): the average number of windows of a stable
  // stream between two false alarms of any of the model's charts.
  bool sequential = true;
  double sequential_run_length = 10000;

  DriftRule rule_for(const std::string& column) const;
  // The threshold of a statistic used as the method of a column without
  // its own rule: the [drift.thresholds] override, else the built-in default
  // (NaN for a statistic that cannot be a method); for "calibrated", the
  // false-alarm rate.
  double threshold_of(std::string_view method) const;
  double floor_of(const DriftTest& test) const;
  // Every method named is a known statistic usable as a method, or
  // "calibrated"; every floor names a calibrated test's effect.
  Status validate() const;
};

const char* to_string(Correction c);

// Reads a [drift] section from TOML (see config/check.example.toml). Unknown
// keys and wrong types are errors naming the key and line.
Result<DriftRules> load_drift_rules(const std::string& path);
Result<DriftRules> parse_drift_rules(std::string_view toml_text, const std::string& source);

}  // namespace driftd
