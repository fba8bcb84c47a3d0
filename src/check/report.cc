#include <algorithm>
#include <cmath>
#include <cstdio>

#include "driftd/check/check.h"
#include "driftd/check/report.h"
#include "driftd/io/json_writer.h"

namespace driftd {

namespace {
void write_metrics(JsonWriter& w, const Performance& p) {
  w.begin_object();
  w.key("rows").value(p.rows);
  for (const auto& m : p.metrics) w.key(m.name).value(m.value);
  w.end_object();
}
}  // namespace

std::string report_json(const CheckReport& r) {
  JsonWriter w;
  w.begin_object();
  write_report_fields(w, r);
  w.end_object();
  std::string out = std::move(w.str());
  out += '\n';
  return out;
}

void write_report_fields(JsonWriter& w, const CheckReport& r) {
  w.key("model").begin_object();
  w.key("name").value(r.model_name);
  w.key("version").value(r.model_version);
  w.end_object();
  w.key("rows").value(r.rows);
  w.key("skipped_rows").value(r.skipped_rows);
  if (!r.skipped_examples.empty()) {
    w.key("skipped_examples").begin_array();
    for (const auto& e : r.skipped_examples) {
      w.begin_object();
      w.key("line").value(e.line);
      w.key("column").value(e.column);
      w.key("reason").value(e.reason);
      w.end_object();
    }
    w.end_array();
  }
  w.key("features").begin_object();
  for (const auto& f : r.features) {
    w.key(f.name).begin_object();
    w.key("kind").value(to_string(f.kind));
    w.key("role").value(to_string(f.role));
    w.key("status").value(f.status);
    for (const auto& s : f.stats) w.key(s.key).value(s.value);
    w.key("missing_rate").value(f.missing_rate);
    w.key("baseline_missing_rate").value(f.baseline_missing_rate);
    w.key("type_error_rate").value(f.type_error_rate);
    w.key("infinite_rate").value(f.infinite_rate);
    w.key("drift").value(f.drift);
    w.key("drift_method").value(f.rule.method);
    w.key("threshold");
    if (f.rule.method == "schema") {
      w.null();
    } else {
      w.value(f.rule.threshold);
    }
    w.key("drift_value").value(f.drift_value);
    if (f.rule.method == kCalibratedMethod) {
      w.key("drift_reasons").begin_array();
      for (const auto& reason : f.reasons) {
        w.begin_object();
        w.key("test").value(reason.test);
        w.key("p_value").value(reason.p_value);
        w.key("adjusted_p_value").value(reason.adjusted_p_value);
        w.key("effect").value(reason.effect);
        w.key("effect_value").value(reason.effect_value);
        w.key("floor").value(reason.floor);
        if (reason.sequential) {
          w.key("kind").value("sequential");
          w.key("cusum").value(reason.cusum);
          w.key("windows").value(reason.windows);
        }
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
  }
  w.end_object();
  w.key("schema").begin_object();
  w.key("new_columns").begin_array();
  for (const auto& c : r.new_columns) w.value(c);
  w.end_array();
  w.key("missing_columns").begin_array();
  for (const auto& c : r.missing_columns) w.value(c);
  w.end_array();
  w.end_object();
  w.key("features_compared").value(r.features_compared);
  w.key("features_drifted").value(r.features_drifted);
  w.key("drift_share").value(r.drift_share);
  w.key("drift_share_threshold").value(r.share_threshold);
  w.key("dataset_drift").value(r.dataset_drift);
  w.key("drifting_features").begin_array();
  for (const auto& name : r.drifting_features) w.value(name);
  w.end_array();
  w.key("false_alarm_rate").value(r.false_alarm_rate);
  w.key("calibrated_tests").value(r.calibrated_tests);
  w.key("performance");
  if (r.performance || r.baseline_performance) {
    w.begin_object();
    const Task task = r.performance ? r.performance->task : r.baseline_performance->task;
    w.key("task").value(to_string(task));
    w.key("current");
    if (r.performance) {
      write_metrics(w, *r.performance);
    } else {
      w.null();
    }
    w.key("baseline");
    if (r.baseline_performance) {
      write_metrics(w, *r.baseline_performance);
    } else {
      w.null();
    }
    w.end_object();
  } else {
    w.null();
  }
}

namespace {

std::string fmt(std::optional<double> v, const char* spec = "%.4g") {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, spec, *v);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right = false) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

const char* kind_label(const FeatureResult& f) {
  return f.name == kMultivariateColumn ? "multivariate" : to_string(f.kind);
}

std::string report_table(const CheckReport& r, bool color) {
  const char* red = color ? "\033[31;1m" : "";
  const char* yellow = color ? "\033[33m" : "";
  const char* green = color ? "\033[32m" : "";
  const char* dim = color ? "\033[2m" : "";
  const char* reset = color ? "\033[0m" : "";

  std::vector<const FeatureResult*> order;
  for (const auto& f : r.features) order.push_back(&f);
  std::stable_sort(order.begin(), order.end(), [](const FeatureResult* a, const FeatureResult* b) {
    if (a->drift != b->drift) return a->drift;
    return a->severity > b->severity;
  });
  size_t name_w = 7;
  for (const auto* f : order)
    name_w = std::max(name_w, f->name.size() + (f->role == ColumnRole::kFeature ? 0 : 13));
  std::string out;
  out += "model " + (r.model_name.empty() ? std::string("-") : r.model_name) + " version " +
         (r.model_version.empty() ? std::string("-") : r.model_version) + ", " +
         std::to_string(r.rows) + " rows";
  if (r.skipped_rows) out += ", " + std::to_string(r.skipped_rows) + " malformed rows skipped";
  out += "\n\n";
  out += "  " + pad("column", name_w) + "  " + pad("kind", 12) + "  " + pad("method", 16) + " " +
         pad("value", 10, true) + " " + pad("threshold", 10, true) + " " + pad("psi", 8, true) +
         " " + pad("missing", 8, true) + "\n";
  for (const auto* f : order) {
    std::string label = f->name;
    if (f->role != ColumnRole::kFeature) label += " (" + std::string(to_string(f->role)) + ")";
    const char* colour = f->drift ? red : (f->severity >= 0.5 ? yellow : green);
    const std::string mark = f->drift ? "! " : "  ";
    std::string value = f->status == "missing_in_serving" ? "absent" : fmt(f->drift_value);
    std::string threshold = f->rule.method == "schema" ? "-" : fmt(f->rule.threshold);
    char missing[32];
    std::snprintf(missing, sizeof missing, "%.1f%%", 100 * f->missing_rate);
    out += colour + mark + pad(label, name_w) + "  " + pad(kind_label(*f), 12) + "  " +
           pad(f->rule.method, 16) + " " + pad(value, 10, true) + " " + pad(threshold, 10, true) +
           " " + pad(fmt(f->get("psi"), "%.3f"), 8, true) + " " + pad(missing, 8, true) + reset +
           "\n";
  }
  out += "\n";
  // Why each column drifts, when the calibrated method says so.
  for (const auto* f : order) {
    for (const auto& reason : f->reasons) {
      if (reason.sequential) {
        out += std::string(red) + "  " + f->name + ": " + reason.test + " sequential, CUSUM " +
               fmt(reason.cusum) + " over " + std::to_string(reason.windows) + " windows, " +
               reason.effect + " " + fmt(reason.effect_value) + " on average, past its floor " +
               fmt(reason.floor) + reset + "\n";
        continue;
      }
      out += std::string(red) + "  " + f->name + ": " + reason.test + " " + fmt(reason.p_value) +
             " (adjusted " + fmt(reason.adjusted_p_value) + "), " + reason.effect + " " +
             fmt(reason.effect_value) + " past its floor " + fmt(reason.floor) + reset + "\n";
    }
  }
  if (r.false_alarm_rate) {
    out += std::string(dim) + "  calibrated: " + std::to_string(r.calibrated_tests) +
           " tests at a false-alarm rate of " + fmt(*r.false_alarm_rate) + " per window" + reset +
           "\n";
  }
  char share[64];
  if (r.share_threshold > 0) {
    std::snprintf(share, sizeof share, "share %.2f, dataset drift at %.2f", r.drift_share,
                  r.share_threshold);
  } else {
    std::snprintf(share, sizeof share, "share %.2f, dataset drift when any drifts", r.drift_share);
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s%llu of %llu features drift (%s): %s%s\n",
                r.dataset_drift ? red : green, static_cast<unsigned long long>(r.features_drifted),
                static_cast<unsigned long long>(r.features_compared), share,
                r.dataset_drift ? "DATASET DRIFT" : "no dataset drift", reset);
  out += line;
  if (!r.new_columns.empty()) {
    out += std::string(yellow) + "new columns (not in the baseline):";
    for (const auto& c : r.new_columns) out += " " + c;
    out += std::string(reset) + "\n";
  }
  if (!r.missing_columns.empty()) {
    out += std::string(red) + "columns missing from the serving data:";
    for (const auto& c : r.missing_columns) out += " " + c;
    out += std::string(reset) + "\n";
  }
  if (r.performance || r.baseline_performance) {
    const Performance* any = r.performance ? &*r.performance : &*r.baseline_performance;
    out += std::string("\nperformance (") + to_string(any->task) + ")" + dim +
           "  current / baseline" + reset + "\n";
    for (const auto& m : any->metrics) {
      const auto cur = r.performance ? r.performance->get(m.name) : std::nullopt;
      const auto base = r.baseline_performance ? r.baseline_performance->get(m.name) : std::nullopt;
      out += "  " + pad(m.name, 10) + " " + pad(fmt(cur), 10, true) + " / " + fmt(base) + "\n";
    }
  }
  return out;
}

}  // namespace driftd
