#include <cmath>

#include <toml++/toml.h>

#include "driftd/check/drift_rules.h"
#include "driftd/detectors/detector.h"
#include "src/check/drift_rules_toml.h"
#include "src/common/toml_reader.h"

namespace driftd {

DriftRule DriftRules::rule_for(const std::string& column) const {
  if (const auto it = columns.find(column); it != columns.end()) return it->second;
  DriftRule r;
  r.method = default_method;
  if (const double t = threshold_of(default_method); !std::isnan(t)) r.threshold = t;
  return r;
}

double DriftRules::threshold_of(std::string_view method) const {
  if (method == kCalibratedMethod) return false_alarm_rate;
  if (const auto it = method_thresholds.find(std::string(method)); it != method_thresholds.end()) {
    return it->second;
  }
  const StatisticInfo* s = find_statistic(method);
  return s != nullptr && s->direction != DriftDirection::kNotAMethod ? s->default_threshold : NAN;
}

double DriftRules::floor_of(const DriftTest& test) const {
  const auto it = floors.find(test.effect);
  return it != floors.end() ? it->second : test.floor;
}

const char* to_string(Correction c) {
  return c == Correction::kHolm ? "holm" : "bonferroni";
}

namespace {
std::string methods_list() {
  std::string out(kCalibratedMethod);
  for (const Detector* d : all_detectors()) {
    for (const StatisticInfo& s : d->statistics()) {
      if (s.direction == DriftDirection::kNotAMethod) continue;
      out += ", " + std::string(s.key);
    }
  }
  return out;
}

Status check_method(const std::string& method, const std::string& where) {
  if (method == kCalibratedMethod) return {};
  const StatisticInfo* s = find_statistic(method);
  if (s == nullptr || s->direction == DriftDirection::kNotAMethod) {
    return Error{where + ": unknown drift method '" + method + "' (methods: " + methods_list() +
                 ")"};
  }
  return {};
}
bool is_test_effect(const std::string& effect) {
  for (const Detector* d : all_detectors()) {
    for (const StatisticInfo& s : d->statistics()) {
      if (s.test != nullptr && effect == s.test->effect) return true;
    }
  }
  return false;
}

std::string effects_list() {
  std::string out;
  for (const Detector* d : all_detectors()) {
    for (const StatisticInfo& s : d->statistics()) {
      if (s.test != nullptr) out += (out.empty() ? "" : ", ") + std::string(s.test->effect);
    }
  }
  return out;
}
// A table of numbers by name ([drift.floors], [drift.thresholds]).
Status read_numbers(TableReader& r, const char* key, const std::string& source,
                    std::map<std::string, double>& out) {
  auto table = r.table(key);
  if (!table) return table.error();
  if (*table == nullptr) return {};
  TableReader tr(**table, r.child(key), source);
  for (const auto& [name, unused] : **table) {
    double v = 0;
    DRIFTD_TRY(tr.number(name.str(), v));
    out[std::string(name.str())] = v;
  }
  return {};
}
}  // namespace

Status DriftRules::validate() const {
  if (auto st = check_method(default_method, "drift.method"); !st) return st;
  for (const auto& [m, t] : method_thresholds) {
    if (m == kCalibratedMethod) {
      return Error{
          "drift.thresholds.calibrated: the calibrated method has no threshold (set "
          "drift.false_alarm_rate)"};
    }
    if (auto st = check_method(m, "drift.thresholds." + m); !st) return st;
    if (!std::isfinite(t)) return Error{"drift.thresholds." + m + ": must be a finite number"};
  }
  for (const auto& [c, r] : columns) {
    if (auto st = check_method(r.method, "drift.columns." + c + ".method"); !st) return st;
    if (!std::isfinite(r.threshold))
      return Error{"drift.columns." + c + ".threshold: must be finite"};
  }
  if (!(share_threshold >= 0 && share_threshold <= 1)) {
    return Error{"drift.share: must be in [0, 1] (0: dataset drift when any feature drifts)"};
  }
  if (!(sequential_run_length >= 10 && sequential_run_length <= 1e9)) {
    return Error{"drift.sequential_run_length: must be in [10, 1e9] windows"};
  }
  if (!(false_alarm_rate > 0 && false_alarm_rate < 1)) {
    return Error{"drift.false_alarm_rate: must be in (0, 1)"};
  }
  for (const auto& [effect, floor] : floors) {
    if (!is_test_effect(effect)) {
      return Error{"drift.floors." + effect +
                   ": not the effect of a calibrated test (effects: " + effects_list() + ")"};
    }
    if (!(floor >= 0) || !std::isfinite(floor)) {
      return Error{"drift.floors." + effect + ": must be a finite number >= 0"};
    }
  }
  return {};
}

Result<DriftRules> parse_drift_rules(std::string_view text, const std::string& source) {
  auto parsed = parse_toml(text, source);
  if (!parsed) return parsed.error();
  TableReader top(*parsed, "", source);
  DriftRules rules;
  if (const toml::node* drift = top.node("drift")) {
    auto r = parse_drift_node(*drift, source, "drift");
    if (!r) return r.error();
    rules = std::move(*r);
  }
  DRIFTD_TRY(top.finish("drift"));
  return rules;
}

Result<DriftRules> parse_drift_node(const toml::node& drift_node, const std::string& source,
                                    const std::string& prefix) {
  const toml::table* drift = drift_node.as_table();
  if (drift == nullptr) {
    return Error{source + ":" + std::to_string(drift_node.source().begin.line) + ": " + prefix +
                 ": expected a table"};
  }
  TableReader r(*drift, prefix, source);
  DriftRules rules;
  DRIFTD_TRY(r.str("method", rules.default_method));
  double threshold = std::nan("");
  DRIFTD_TRY(r.number("threshold", threshold));
  DRIFTD_TRY(r.number("share", rules.share_threshold));
  DRIFTD_TRY(r.number("false_alarm_rate", rules.false_alarm_rate));
  std::string correction = to_string(rules.correction);
  DRIFTD_TRY(r.str("correction", correction));
  DRIFTD_TRY(r.boolean("sequential", rules.sequential));
  DRIFTD_TRY(r.number("sequential_run_length", rules.sequential_run_length));
  DRIFTD_TRY(read_numbers(r, "floors", source, rules.floors));
  DRIFTD_TRY(read_numbers(r, "thresholds", source, rules.method_thresholds));
  auto columns = r.table("columns");
  if (!columns) return columns.error();
  if (*columns != nullptr) {
    TableReader cr(**columns, r.child("columns"), source);
    for (const auto& [column, unused] : **columns) {
      auto ct = cr.table(column.str());
      if (!ct) return ct.error();
      // A column without a method uses the default one; without a
      // threshold, the method's threshold (both filled in below).
      DriftRule rule;
      rule.method = "";
      rule.threshold = std::nan("");
      TableReader one(**ct, cr.child(column.str()), source);
      DRIFTD_TRY(one.str("method", rule.method));
      DRIFTD_TRY(one.number("threshold", rule.threshold));
      DRIFTD_TRY(one.finish("method, threshold"));
      rules.columns[std::string(column.str())] = rule;
    }
  }
  DRIFTD_TRY(
      r.finish("method, threshold, share, false_alarm_rate, correction, sequential, "
               "sequential_run_length, floors, thresholds, columns"));
  if (correction == "holm") {
    rules.correction = Correction::kHolm;
  } else if (correction == "bonferroni") {
    rules.correction = Correction::kBonferroni;
  } else {
    return Error{source + ": " + prefix + ".correction: \"" + correction +
                 "\" is not one of holm, bonferroni"};
  }
  if (!std::isnan(threshold)) {
    if (rules.default_method == kCalibratedMethod) {
      return Error{source + ": " + prefix +
                   ".threshold: the calibrated method has no threshold of its own (set "
                   "false_alarm_rate, or floors for the effects)"};
    }
    rules.method_thresholds[rules.default_method] = threshold;
  }
  for (auto& [col, rule] : rules.columns) {
    if (rule.method.empty()) rule.method = rules.default_method;
    if (rule.method == kCalibratedMethod && !std::isnan(rule.threshold)) {
      return Error{source + ": " + prefix + ".columns." + col +
                   ".threshold: a column judged by the calibrated method has no threshold of its "
                   "own"};
    }
    if (std::isnan(rule.threshold)) rule.threshold = rules.threshold_of(rule.method);
  }
  if (auto st = rules.validate(); !st) return Error{source + ": " + st.error().message};
  return rules;
}

Result<DriftRules> load_drift_rules(const std::string& path) {
  auto file = FileBuffer::load(path);
  if (!file) return file.error();
  return parse_drift_rules(file->text(), path);
}

}  // namespace driftd
