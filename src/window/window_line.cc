// The windows log's line: writing a WindowResult as one JSON line, and
// reading it back, which is what a restart needs to serve the latest
// window's metrics at once (the checkpoint keeps the line, not the report).
#include <simdjson.h>

#include "driftd/window/window_line.h"

#include "driftd/check/report.h"
#include "driftd/io/json_writer.h"

namespace driftd {

namespace {

bool is_report_field(std::string_view key) {
  static constexpr std::string_view kFields[] = {"kind",
                                                 "role",
                                                 "status",
                                                 "missing_rate",
                                                 "baseline_missing_rate",
                                                 "type_error_rate",
                                                 "infinite_rate",
                                                 "drift",
                                                 "drift_method",
                                                 "threshold",
                                                 "drift_value",
                                                 "drift_reasons"};
  for (auto k : kFields) {
    if (k == key) return true;
  }
  return false;
}

std::optional<double> number_or_null(simdjson::dom::element e) {
  double v;
  if (e.get_double().get(v)) return std::nullopt;
  return v;
}

Status parse_report(simdjson::dom::object obj, CheckReport& r, const std::string& source) {
  auto bad = [&](const char* what) { return Error{source + ": window line: " + what}; };
  std::string_view s;
  if (!obj["model"]["name"].get_string().get(s)) r.model_name = s;
  if (!obj["model"]["version"].get_string().get(s)) r.model_version = s;
  if (obj["rows"].get_uint64().get(r.rows)) return bad("no rows");
  simdjson::dom::object features;
  if (obj["features"].get_object().get(features)) return bad("no features");
  for (auto entry : features) {
    simdjson::dom::object f;
    if (entry.value.get_object().get(f)) return bad("a feature is not an object");
    FeatureResult fr;
    fr.name = entry.key;
    std::string_view role;
    if (!f["role"].get_string().get(role)) {
      for (ColumnRole c : {ColumnRole::kFeature, ColumnRole::kPrediction, ColumnRole::kLabel,
                           ColumnRole::kId, ColumnRole::kTimestamp}) {
        if (role == to_string(c)) fr.role = c;
      }
    }
    std::string_view kind;
    if (!f["kind"].get_string().get(kind)) {
      fr.kind = kind == to_string(ColumnKind::kCategorical) ? ColumnKind::kCategorical
                                                            : ColumnKind::kNumeric;
    }
    if (!f["status"].get_string().get(s)) fr.status = s;
    if (f["drift"].get_bool().get(fr.drift) ||
        f["missing_rate"].get_double().get(fr.missing_rate)) {
      return bad("a feature without drift or missing_rate");
    }
    // Written by every driftd since the windows log began, but read as
    // optional: what alert rules read of a replayed window (rules replay).
    for (auto [key, out] : {std::pair{"baseline_missing_rate", &fr.baseline_missing_rate},
                            std::pair{"type_error_rate", &fr.type_error_rate},
                            std::pair{"infinite_rate", &fr.infinite_rate}}) {
      if (f[key].get_double().get(*out) != simdjson::SUCCESS) *out = 0;
    }
    if (auto t = f["threshold"]; !t.error()) {
      fr.rule.threshold = number_or_null(t.value_unsafe()).value_or(0);
    }
    if (auto d = f["drift_value"]; !d.error()) fr.drift_value = number_or_null(d.value_unsafe());
    if (!f["drift_method"].get_string().get(s)) fr.rule.method = s;
    simdjson::dom::array reasons;
    if (!f["drift_reasons"].get_array().get(reasons)) {
      for (auto e : reasons) {
        DriftReason reason;
        std::string_view test, effect;
        if (e["test"].get_string().get(test) || e["effect"].get_string().get(effect) ||
            e["p_value"].get_double().get(reason.p_value) ||
            e["effect_value"].get_double().get(reason.effect_value) ||
            e["floor"].get_double().get(reason.floor)) {
          return bad("a drift reason without its test, p-value, effect or floor");
        }
        // A sequential reason's adjusted p-value is null.
        double adjusted = std::nan("");
        if (!e["adjusted_p_value"].get_double().get(adjusted)) reason.adjusted_p_value = adjusted;
        if (e["adjusted_p_value"].is_null()) reason.adjusted_p_value = std::nan("");
        std::string_view reason_kind;
        if (!e["kind"].get_string().get(reason_kind) && reason_kind == "sequential") {
          reason.sequential = true;
          if (e["cusum"].get_double().get(reason.cusum) ||
              e["windows"].get_uint64().get(reason.windows)) {
            return bad("a sequential drift reason without its CUSUM or windows");
          }
        }
        reason.test = test;
        reason.effect = effect;
        fr.reasons.push_back(std::move(reason));
      }
    }
    for (auto field : f) {
      if (!is_report_field(field.key)) {
        fr.stats.push_back(StatValue{std::string(field.key), number_or_null(field.value)});
      }
    }
    r.features.push_back(std::move(fr));
  }
  for (auto [key, out] : {std::pair{"new_columns", &r.new_columns},
                          std::pair{"missing_columns", &r.missing_columns}}) {
    simdjson::dom::array names;
    if (obj["schema"][key].get_array().get(names)) continue;
    for (auto n : names) {
      if (n.get_string().get(s)) return bad("a schema column name is not a string");
      out->emplace_back(s);
    }
  }
  simdjson::dom::array drifting;
  if (!obj["drifting_features"].get_array().get(drifting)) {
    for (auto n : drifting) {
      if (n.get_string().get(s)) return bad("a drifting feature's name is not a string");
      r.drifting_features.emplace_back(s);
    }
  }
  if (auto rate = obj["false_alarm_rate"]; !rate.error()) {
    r.false_alarm_rate = number_or_null(rate.value_unsafe());
  }
  if (obj["calibrated_tests"].get_uint64().get(r.calibrated_tests) != simdjson::SUCCESS) {
    r.calibrated_tests = 0;
  }
  if (obj["features_compared"].get_uint64().get(r.features_compared) ||
      obj["features_drifted"].get_uint64().get(r.features_drifted) ||
      obj["drift_share"].get_double().get(r.drift_share) ||
      obj["drift_share_threshold"].get_double().get(r.share_threshold) ||
      obj["dataset_drift"].get_bool().get(r.dataset_drift)) {
    return bad("no drift share or dataset drift");
  }
  Task task = Task::kClassification;
  if (!obj["performance"]["task"].get_string().get(s)) {
    task = s == to_string(Task::kRegression) ? Task::kRegression : Task::kClassification;
  }
  for (auto [key, out] :
       {std::pair{"current", &r.performance}, std::pair{"baseline", &r.baseline_performance}}) {
    simdjson::dom::object metrics;
    if (obj["performance"][key].get_object().get(metrics)) continue;
    Performance p;
    p.task = task;
    for (auto field : metrics) {
      if (field.key == "rows") {
        if (field.value.get_uint64().get(p.rows)) return bad("performance rows");
      } else {
        p.metrics.push_back(Metric{std::string(field.key), number_or_null(field.value)});
      }
    }
    *out = std::move(p);
  }
  return {};
}

}  // namespace

Result<WindowResult> parse_window_line(std::string_view line, const std::string& source) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (auto err = parser.parse(line.data(), line.size()).get_object().get(doc)) {
    return Error{source + ": window line: " + simdjson::error_message(err)};
  }
  WindowResult w;
  simdjson::dom::object window;
  std::string_view id;
  if (doc["window"].get_object().get(window) || window["id"].get_string().get(id) ||
      window["start"].get_int64().get(w.start) || window["end"].get_int64().get(w.end)) {
    return Error{source + ": window line: no window id and bounds"};
  }
  w.id = id;
  if (auto st = parse_report(doc, w.report, source); !st) return st.error();
  simdjson::dom::object ref;
  if (!doc["reference"].get_object().get(ref)) {
    std::string_view name;
    if (!ref["name"].get_string().get(name)) w.reference_name = name;
    auto report = std::make_shared<CheckReport>();
    if (auto st = parse_report(ref, *report, source); !st) return st.error();
    w.reference = std::move(report);
  }
  return w;
}

std::string window_json_line(const WindowResult& w, const WindowSettings& settings) {
  JsonWriter j(-1);
  j.begin_object();
  j.key("window").begin_object();
  j.key("id").value(w.id);
  const bool by_count = settings.kind == WindowSettings::Kind::kCount;
  j.key("kind").value(by_count ? "count" : "time");
  j.key("start").value(w.start);
  j.key("end").value(w.end);
  j.key("size").value(settings.size);
  j.key("step").value(settings.step);
  j.end_object();
  write_report_fields(j, w.report);
  if (w.reference) {
    j.key("reference").begin_object();
    j.key("name").value(w.reference_name);
    write_report_fields(j, *w.reference);
    j.end_object();
  }
  j.end_object();
  std::string out = std::move(j.str());
  out += '\n';
  return out;
}

}  // namespace driftd
