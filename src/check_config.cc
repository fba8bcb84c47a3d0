#include <cmath>
#include <sstream>

#include <toml++/toml.h>

#include "driftd/check.h"
#include "driftd/detector.h"
#include "src/drift_rules_toml.h"

namespace driftd {

DriftRule DriftRules::rule_for(const std::string& column) const {
  if (const auto it = columns.find(column); it != columns.end()) return it->second;
  DriftRule r;
  r.method = default_method;
  if (const auto it = method_thresholds.find(default_method); it != method_thresholds.end()) {
    r.threshold = it->second;
  } else if (const StatisticInfo* s = find_statistic(default_method)) {
    r.threshold = s->default_threshold;
  }
  return r;
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

Result<toml::table> parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    return Error{os.str()};
  }
}

Result<DriftRules> parse_drift_rules(std::string_view text, const std::string& source) {
  auto parsed = parse_toml(text, source);
  if (!parsed) return parsed.error();
  const toml::table& doc = *parsed;
  for (const auto& [k, node] : doc) {
    if (k.str() != "drift") {
      return Error{source + ":" + std::to_string(node.source().begin.line) + ": " +
                   std::string(k.str()) + ": unknown key"};
    }
  }
  if (!doc.contains("drift")) return DriftRules{};
  return parse_drift_node(*doc.get("drift"), source, "drift");
}

Result<DriftRules> parse_drift_node(const toml::node& drift_node, const std::string& source,
                                    const std::string& prefix) {
  auto where = [&](const toml::node& n, const std::string& key) {
    return source + ":" + std::to_string(n.source().begin.line) + ": " + key;
  };
  auto number = [&](const toml::node& n, const std::string& key) -> Result<double> {
    if (auto v = n.value<double>()) return *v;
    return Error{where(n, key) + ": expected a number"};
  };
  DriftRules rules;
  const toml::table* drift = drift_node.as_table();
  if (drift == nullptr) return Error{where(drift_node, prefix) + ": expected a table"};
  bool have_threshold = false;
  double threshold = 0;
  for (const auto& [k, node] : *drift) {
    const std::string key = prefix + "." + std::string(k.str());
    if (k == "method") {
      const auto v = node.value<std::string>();
      if (!v) return Error{where(node, key) + ": expected a string"};
      rules.default_method = *v;
    } else if (k == "threshold") {
      auto v = number(node, key);
      if (!v) return v.error();
      have_threshold = true;
      threshold = *v;
    } else if (k == "share") {
      auto v = number(node, key);
      if (!v) return v.error();
      rules.share_threshold = *v;
    } else if (k == "thresholds") {
      const toml::table* t = node.as_table();
      if (!t) return Error{where(node, key) + ": expected a table"};
      for (const auto& [m, tn] : *t) {
        auto v = number(tn, key + "." + std::string(m.str()));
        if (!v) return v.error();
        rules.method_thresholds[std::string(m.str())] = *v;
      }
    } else if (k == "columns") {
      const toml::table* t = node.as_table();
      if (!t) return Error{where(node, key) + ": expected a table"};
      for (const auto& [col, cn] : *t) {
        const std::string ckey = key + "." + std::string(col.str());
        const toml::table* ct = cn.as_table();
        if (!ct) return Error{where(cn, ckey) + ": expected a table with method and threshold"};
        DriftRule r;
        bool have_t = false;
        r.method = "";
        for (const auto& [ck, cv] : *ct) {
          if (ck == "method") {
            const auto v = cv.value<std::string>();
            if (!v) return Error{where(cv, ckey + ".method") + ": expected a string"};
            r.method = *v;
          } else if (ck == "threshold") {
            auto v = number(cv, ckey + ".threshold");
            if (!v) return v.error();
            r.threshold = *v;
            have_t = true;
          } else {
            return Error{where(cv, ckey + "." + std::string(ck.str())) +
                         ": unknown key (expected method, threshold)"};
          }
        }
        rules.columns[std::string(col.str())] = r;
        if (!have_t)
          rules.columns[std::string(col.str())].threshold = std::nan("");  // filled below
      }
    } else {
      return Error{where(node, key) +
                   ": unknown key (expected method, threshold, share, thresholds, columns)"};
    }
  }
  if (have_threshold) rules.method_thresholds[rules.default_method] = threshold;
  // Column rules without a method use the default one; without a threshold,
  // the method's threshold.
  for (auto& [col, r] : rules.columns) {
    if (r.method.empty()) r.method = rules.default_method;
    if (std::isnan(r.threshold)) {
      if (auto it = rules.method_thresholds.find(r.method); it != rules.method_thresholds.end()) {
        r.threshold = it->second;
      } else if (const StatisticInfo* s = find_statistic(r.method)) {
        r.threshold = s->default_threshold;
      }
    }
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
