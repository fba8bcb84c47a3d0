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

// Which statistic decides drift for a column, and its threshold.
struct DriftRule {
  std::string method = "psi";
  double threshold = 0.2;
};

struct DriftRules {
  std::string default_method = "psi";
  std::map<std::string, double> method_thresholds;  // overrides of built-in defaults
  std::map<std::string, DriftRule> columns;         // per-column rule
  double share_threshold = 0.5;                     // dataset drift at this share of features

  DriftRule rule_for(const std::string& column) const;
  // The threshold of a statistic used as the method of a column without
  // its own rule: the [drift.thresholds] override, else the built-in default
  // (NaN for a statistic that cannot be a method).
  double threshold_of(std::string_view method) const;
  // Every method named is a known statistic usable as a method.
  Status validate() const;
};

// Reads a [drift] section from TOML (see config/check.example.toml). Unknown
// keys and wrong types are errors naming the key and line.
Result<DriftRules> load_drift_rules(const std::string& path);
Result<DriftRules> parse_drift_rules(std::string_view toml_text, const std::string& source);

}  // namespace driftd
