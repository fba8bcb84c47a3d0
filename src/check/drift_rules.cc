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
  if (const auto it = method_thresholds.find(std::string(method)); it != method_thresholds.end()) {
    return it->second;
  }
  const StatisticInfo* s = find_statistic(method);
  return s != nullptr && s->direction != DriftDirection::kNotAMethod ? s->default_threshold : NAN;
}

namespace {
std::string methods_list() {
  std::string out;
  for (const Detector* d : all_detectors()) {
    for (const StatisticInfo& s : d->statistics()) {
      if (s.direction == DriftDirection::kNotAMethod) continue;
      out += (out.empty() ? "" : ", ") + std::string(s.key);
    }
  }
  return out;
}

Status check_method(const std::string& method, const std::string& where) {
  const StatisticInfo* s = find_statistic(method);
  if (s == nullptr || s->direction == DriftDirection::kNotAMethod) {
    return Error{where + ": unknown drift method '" + method + "' (methods: " + methods_list() +
                 ")"};
  }
  return {};
}
}  // namespace

Status DriftRules::validate() const {
  if (auto st = check_method(default_method, "drift.method"); !st) return st;
  for (const auto& [m, t] : method_thresholds) {
    if (auto st = check_method(m, "drift.thresholds." + m); !st) return st;
    if (!std::isfinite(t)) return Error{"drift.thresholds." + m + ": must be a finite number"};
  }
  for (const auto& [c, r] : columns) {
    if (auto st = check_method(r.method, "drift.columns." + c + ".method"); !st) return st;
    if (!std::isfinite(r.threshold))
      return Error{"drift.columns." + c + ".threshold: must be finite"};
  }
  if (!(share_threshold > 0 && share_threshold <= 1)) {
    return Error{"drift.share: must be in (0, 1]"};
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
  auto thresholds = r.table("thresholds");
  if (!thresholds) return thresholds.error();
  if (*thresholds != nullptr) {
    TableReader tr(**thresholds, r.child("thresholds"), source);
    for (const auto& [method, unused] : **thresholds) {
      double v = 0;
      DRIFTD_TRY(tr.number(method.str(), v));
      rules.method_thresholds[std::string(method.str())] = v;
    }
  }
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
  DRIFTD_TRY(r.finish("method, threshold, share, thresholds, columns"));
  if (!std::isnan(threshold)) rules.method_thresholds[rules.default_method] = threshold;
  for (auto& [col, rule] : rules.columns) {
    if (rule.method.empty()) rule.method = rules.default_method;
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
