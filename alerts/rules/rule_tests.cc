#include "alerts/rules/rule_tests.h"

#include <algorithm>

#include <map>
#include <memory>
#include <vector>

#include "alerts/rules/rule.h"
#include "alerts/rules/rules_toml.h"
#include "driftd/io/file_buffer.h"
#include "driftd/window/window.h"
#include "driftd/window/window_line.h"
#include "src/common/toml_reader.h"

namespace driftd::alerts {

namespace {

std::string alert_name(const std::string& rule, bool firing, const std::string& feature) {
  return std::string(firing ? "firing " : "resolved ") + rule +
         (feature.empty() ? std::string() : " for " + feature);
}

// Calls `each(window, line number)` for every line of a windows log; a
// malformed line is an error naming the file and the line.
template <typename Each>
Status read_windows_log(const std::string& path, Each&& each) {
  auto log = FileBuffer::load(path);
  if (!log) return log.error();
  std::string_view rest = log->text();
  size_t line_no = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    ++line_no;
    if (line.empty()) continue;
    auto w = parse_window_line(line, path + ":" + std::to_string(line_no));
    if (!w) return w.error();
    each(std::move(*w), line_no);
  }
  return {};
}

// ---- windows written inline in a test ----------------------------------------------

Status parse_feature(const toml::table& t, const std::string& prefix, const std::string& source,
                     FeatureResult& f) {
  TableReader r(t, prefix, source);
  std::string role = "feature";
  DRIFTD_TRY(r.str("role", role));
  if (role == "feature") {
    f.role = ColumnRole::kFeature;
  } else if (role == "prediction") {
    f.role = ColumnRole::kPrediction;
  } else if (role == "label") {
    f.role = ColumnRole::kLabel;
  } else {
    return Error{r.where(*t.get("role"), "role") +
                 ": expected \"feature\", \"prediction\" or \"label\""};
  }
  DRIFTD_TRY(r.boolean("drift", f.drift));
  DRIFTD_TRY(r.number("missing_rate", f.missing_rate));
  DRIFTD_TRY(r.number("baseline_missing_rate", f.baseline_missing_rate));
  DRIFTD_TRY(r.number("type_error_rate", f.type_error_rate));
  DRIFTD_TRY(r.number("infinite_rate", f.infinite_rate));
  DRIFTD_TRY(r.number("threshold", f.rule.threshold));
  if (const toml::node* n = r.node("drift_value")) {
    auto v = n->value<double>();
    if (!v) return Error{r.where(*n, "drift_value") + ": expected a number"};
    f.drift_value = *v;
  }
  // Every other key is a statistic: a number, or "null" for one that is
  // undefined on the window.
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (key == "role" || key == "drift" || key == "missing_rate" ||
        key == "baseline_missing_rate" || key == "type_error_rate" || key == "infinite_rate" ||
        key == "threshold" || key == "drift_value") {
      continue;
    }
    if (auto num = v.value<double>()) {
      f.stats.push_back({key, *num});
    } else if (auto text = v.value<std::string>(); text && *text == "null") {
      f.stats.push_back({key, std::nullopt});
    } else {
      return Error{r.where(v, key) + ": expected a number, or \"null\" for an undefined statistic"};
    }
  }
  return {};
}

Status parse_performance(TableReader& parent, std::string_view key,
                         std::optional<Performance>& out) {
  auto t = parent.table(key);
  if (!t) return t.error();
  if (*t == nullptr) return {};
  Performance p;
  for (const auto& [k, v] : **t) {
    if (k.str() == "rows") {
      auto rows = v.value_exact<int64_t>();
      if (!rows || *rows < 0) {
        return Error{parent.where(v, std::string(key) + ".rows") + ": expected a count"};
      }
      p.rows = static_cast<uint64_t>(*rows);
    } else if (auto num = v.value<double>()) {
      p.metrics.push_back({std::string(k.str()), *num});
    } else {
      return Error{parent.where(v, std::string(key) + "." + std::string(k.str())) +
                   ": expected a number"};
    }
  }
  out = std::move(p);
  return {};
}

Status parse_report(const toml::table& t, const std::string& prefix, const std::string& source,
                    CheckReport& rep, std::shared_ptr<const CheckReport>* reference) {
  TableReader r(t, prefix, source);
  int64_t rows = 1000;
  DRIFTD_TRY(r.integer("rows", rows));
  if (rows < 0) return Error{r.where(*t.get("rows"), "rows") + ": must not be negative"};
  rep.rows = static_cast<uint64_t>(rows);
  auto features = r.table("features");
  if (!features) return features.error();
  if (*features != nullptr) {
    TableReader fr(**features, r.child("features"), source);
    for (const auto& [name, unused] : **features) {
      auto ft = fr.table(name.str());
      if (!ft) return ft.error();
      FeatureResult f;
      f.name = std::string(name.str());
      DRIFTD_TRY(parse_feature(**ft, fr.child(name.str()), source, f));
      if (f.role == ColumnRole::kFeature) {
        ++rep.features_compared;
        rep.features_drifted += f.drift;
      }
      rep.features.push_back(std::move(f));
    }
  }
  DRIFTD_TRY(r.strings("new_columns", rep.new_columns));
  DRIFTD_TRY(r.strings("missing_columns", rep.missing_columns));
  rep.drift_share = rep.features_compared ? static_cast<double>(rep.features_drifted) /
                                                static_cast<double>(rep.features_compared)
                                          : 0;
  DRIFTD_TRY(r.number("drift_share", rep.drift_share));
  rep.dataset_drift = rep.features_compared > 0 && rep.drift_share >= rep.share_threshold;
  DRIFTD_TRY(r.boolean("dataset_drift", rep.dataset_drift));
  DRIFTD_TRY(parse_performance(r, "performance", rep.performance));
  DRIFTD_TRY(parse_performance(r, "baseline_performance", rep.baseline_performance));
  if (reference != nullptr) {
    auto rt = r.table("reference");
    if (!rt) return rt.error();
    if (*rt != nullptr) {
      auto ref = std::make_shared<CheckReport>();
      DRIFTD_TRY(parse_report(**rt, r.child("reference"), source, *ref, nullptr));
      *reference = std::move(ref);
    }
  }
  return r.finish(reference != nullptr
                      ? "rows, features, new_columns, missing_columns, drift_share, dataset_drift, "
                        "performance, baseline_performance, reference"
                      : "rows, features, new_columns, missing_columns, drift_share, dataset_drift, "
                        "performance, baseline_performance");
}

// ---- the models a test file's rules run for -----------------------------------------

struct TestModel {
  std::string name, version;
  bool time_windows = true;
  RuleList rules;
};

struct Produced {
  size_t window;  // 1-based
  Notification n;
  bool matched = false;
};

// Whether every label (annotation) the expectation gives is as it says.
void compare_values(const KeyValues& want, const KeyValues& got, const char* what,
                    const std::string& context, std::string& diff) {
  for (const auto& [k, v] : want) {
    const std::string* value = nullptr;
    for (const auto& [gk, gv] : got) {
      if (gk == k) value = &gv;
    }
    if (value == nullptr) {
      diff += "      " + context + ": " + what + " " + k + ": want \"" + v + "\", got none\n";
    } else if (*value != v) {
      diff += "      " + context + ": " + what + " " + k + ": want \"" + v + "\", got \"" + *value +
              "\"\n";
    }
  }
}

}  // namespace

std::string describe_rules(const DaemonConfig& config, size_t& count) {
  std::vector<const Rule*> order;
  std::map<const Rule*, std::string> runs_for;
  for (const auto& m : config.models) {
    for (const auto& r : m.rules) {
      std::string& list = runs_for[r.get()];
      if (list.empty()) order.push_back(r.get());
      list += (list.empty() ? "" : ", ") + m.name + "@" + m.version;
    }
  }
  count = order.size();
  std::string out;
  for (const Rule* r : order) {
    out += r->describe();
    out += "  runs for:  " + runs_for[r] + "\n";
  }
  return out;
}

std::vector<std::string> rule_warnings(const DaemonConfig& config) {
  std::vector<const Rule*> seen;
  std::vector<std::string> out;
  for (const auto& m : config.models) {
    for (const auto& r : m.rules) {
      if (std::find(seen.begin(), seen.end(), r.get()) != seen.end()) continue;
      seen.push_back(r.get());
      out.insert(out.end(), r->warnings().begin(), r->warnings().end());
    }
  }
  return out;
}

Result<RuleTestReport> run_rule_tests(const std::string& path) {
  auto file = FileBuffer::load(path);
  if (!file) return file.error();
  return run_rule_tests_text(file->text(), path);
}

Result<RuleTestReport> run_rule_tests_text(std::string_view text, const std::string& path) {
  auto parsed = parse_toml(text, path);
  if (!parsed) return parsed.error();
  TableReader top(*parsed, "", path);
  std::string config_path;
  DRIFTD_TRY(top.str("config", config_path));
  auto inline_rules = parse_rules(top, "rules", false);
  if (!inline_rules) return inline_rules.error();
  std::vector<std::string> rule_files;
  DRIFTD_TRY(top.strings("rule_files", rule_files));
  for (auto& f : rule_files) f = resolve_config_path(path, f);
  DRIFTD_TRY(load_rule_files(rule_files, *inline_rules));
  auto tests = top.tables("tests");
  if (!tests) return tests.error();
  DRIFTD_TRY(top.finish("config, rules, rule_files, tests"));
  if (config_path.empty() == inline_rules->empty()) {
    return Error{path + ": give the rules under test either as config = \"driftd.toml\" or as " +
                 "[[rules]] and rule_files (" +
                 (config_path.empty() ? "neither is here" : "both are here") + ")"};
  }
  if (tests->empty()) return Error{path + ": no [[tests]]"};
  std::vector<TestModel> models;
  if (!config_path.empty()) {
    auto config = load_daemon_config(resolve_config_path(path, config_path));
    if (!config) return config.error();
    for (const auto& m : config->models) {
      models.push_back(
          {m.name, m.version, m.monitor.window.kind == WindowSettings::Kind::kTime, m.rules});
    }
  }

  RuleTestReport report;
  for (size_t i = 0; i < tests->size(); ++i) {
    const toml::table& t = *(*tests)[i];
    const std::string prefix = "tests[" + std::to_string(i) + "]";
    TableReader r(t, prefix, path);
    std::string name, model_name, version, windows_log;
    DRIFTD_TRY(r.str("name", name));
    DRIFTD_TRY(r.str("model", model_name));
    DRIFTD_TRY(r.str("version", version));
    DRIFTD_TRY(r.str("windows_log", windows_log));
    int64_t window_ms = 5 * 60 * 1000;
    DRIFTD_TRY(r.duration("window_size", window_ms));
    auto inline_windows = r.tables("windows");
    if (!inline_windows) return inline_windows.error();
    auto expects = r.tables("expect");
    if (!expects) return expects.error();
    DRIFTD_TRY(r.finish("name, model, version, windows_log, window_size, windows, expect"));
    if (name.empty()) return Error{r.where_table() + ": name is required"};
    if (windows_log.empty() == inline_windows->empty()) {
      return Error{r.where_table() + ": give the windows either as windows_log = \"...\" or as " +
                   "[[" + prefix + ".windows]] tables"};
    }
    if (window_ms <= 0) {
      return Error{r.where(*t.get("window_size"), "window_size") + ": must be positive"};
    }

    // The model whose rules run.
    TestModel model;
    if (!inline_rules->empty()) {
      model.name = model_name.empty() ? "model" : model_name;
      model.version = version.empty() ? "1" : version;
      auto rules = rules_for_model(*inline_rules, {}, model.name, true, true);
      if (!rules) return rules.error();
      model.rules = std::move(*rules);
    } else {
      const TestModel* found = nullptr;
      size_t matches = 0;
      for (const auto& m : models) {
        if ((model_name.empty() || m.name == model_name) &&
            (version.empty() || m.version == version)) {
          found = &m;
          ++matches;
        }
      }
      if (matches != 1) {
        std::string names;
        for (const auto& m : models)
          names += (names.empty() ? "" : ", ") + m.name + "@" + m.version;
        return Error{r.where_table() + ": " +
                     (matches == 0 ? "no configured model matches" : "several models match") +
                     " (configured: " + names + "); name one with model = and version ="};
      }
      model = *found;
    }

    // Its windows.
    std::vector<WindowResult> windows;
    if (!windows_log.empty()) {
      DRIFTD_TRY(
          read_windows_log(resolve_config_path(path, windows_log), [&](WindowResult&& w, size_t) {
            if (w.report.model_name == model.name && w.report.model_version == model.version) {
              windows.push_back(std::move(w));
            }
          }));
    } else {
      for (size_t k = 0; k < inline_windows->size(); ++k) {
        WindowResult w;
        // 2026-01-01T00:00:00Z onwards, one window after another.
        constexpr int64_t kEpoch = 1767225600000;
        w.start = kEpoch + static_cast<int64_t>(k) * window_ms;
        w.end = w.start + window_ms;
        w.id = model.name + "@" + model.version + "/t/" + std::to_string(w.start) + "-" +
               std::to_string(w.end);
        w.report.model_name = model.name;
        w.report.model_version = model.version;
        w.reference_name = "reference";
        DRIFTD_TRY(parse_report(*(*inline_windows)[k],
                                prefix + ".windows[" + std::to_string(k) + "]", path, w.report,
                                &w.reference));
        windows.push_back(std::move(w));
      }
    }

    // What the rules do on them.
    std::vector<Produced> produced;
    ModelAlerts alerts(model.name, model.version, model.time_windows, model.rules);
    std::vector<Notification> notes;
    for (size_t k = 0; k < windows.size(); ++k) {
      notes.clear();
      alerts.evaluate(windows[k], notes);
      for (auto& n : notes) produced.push_back({k + 1, std::move(n)});
    }

    // Against what the test expects.
    std::string diff;
    for (size_t e = 0; e < expects->size(); ++e) {
      const toml::table& et = *(*expects)[e];
      TableReader er(et, prefix + ".expect[" + std::to_string(e) + "]", path);
      int64_t window = 0;
      std::string rule, state, feature;
      KeyValues labels, annotations;
      DRIFTD_TRY(er.integer("window", window));
      DRIFTD_TRY(er.str("rule", rule));
      DRIFTD_TRY(er.str("state", state));
      DRIFTD_TRY(er.str("feature", feature));
      DRIFTD_TRY(er.string_table("labels", labels));
      DRIFTD_TRY(er.string_table("annotations", annotations));
      DRIFTD_TRY(er.finish("window, rule, state, feature, labels, annotations"));
      if (window < 1 || static_cast<size_t>(window) > windows.size()) {
        return Error{er.where_table() + ": window must be in [1, " +
                     std::to_string(windows.size()) + "] (the test's windows, counted from 1)"};
      }
      if (state != "firing" && state != "resolved") {
        return Error{er.where_table() + ": state must be \"firing\" or \"resolved\""};
      }
      bool known_rule = false;
      for (const auto& mr : model.rules) known_rule |= mr->name() == rule;
      if (!known_rule) {
        return Error{er.where_table() + ": model " + model.name + " has no rule '" + rule + "'"};
      }
      const bool firing = state == "firing";
      const std::string context =
          "window " + std::to_string(window) + ": " + alert_name(rule, firing, feature);
      Produced* match = nullptr;
      for (auto& p : produced) {
        if (!p.matched && p.window == static_cast<size_t>(window) && p.n.rule == rule &&
            p.n.firing == firing && p.n.feature == feature) {
          match = &p;
          break;
        }
      }
      if (match == nullptr) {
        diff += "      " + context + ": expected, did not happen\n";
        continue;
      }
      match->matched = true;
      compare_values(labels, match->n.labels, "label", context, diff);
      compare_values(annotations, match->n.annotations, "annotation", context, diff);
    }
    for (const auto& p : produced) {
      if (p.matched) continue;
      diff += "      window " + std::to_string(p.window) + ": " +
              alert_name(p.n.rule, p.n.firing, p.n.feature) + ": happened, not expected\n";
    }
    ++report.tests;
    if (diff.empty()) {
      ++report.passed;
      report.text += "  ok    " + name + "\n";
    } else {
      report.text += "  FAIL  " + name + "\n" + diff;
    }
  }
  report.text += std::to_string(report.tests) + " test" + (report.tests == 1 ? "" : "s") + ", " +
                 std::to_string(report.passed) + " passed, " +
                 std::to_string(report.tests - report.passed) + " failed\n";
  return report;
}

Result<ReplayReport> replay_rules(const DaemonConfig& config, const std::string& windows_log) {
  std::vector<std::unique_ptr<ModelAlerts>> alerts(config.models.size());
  ReplayReport out;
  std::vector<Notification> notes;
  DRIFTD_TRY(read_windows_log(windows_log, [&](WindowResult&& window, size_t line_no) {
    const WindowResult* w = &window;
    size_t m = 0;
    while (m < config.models.size() && (config.models[m].name != w->report.model_name ||
                                        config.models[m].version != w->report.model_version)) {
      ++m;
    }
    if (m == config.models.size()) {
      ++out.skipped;
      return;
    }
    const ModelConfig& model = config.models[m];
    const bool time_windows = model.monitor.window.kind == WindowSettings::Kind::kTime;
    if (!alerts[m]) {
      alerts[m] =
          std::make_unique<ModelAlerts>(model.name, model.version, time_windows, model.rules);
    }
    ++out.windows;
    notes.clear();
    alerts[m]->evaluate(*w, notes);
    for (const Notification& n : notes) {
      (n.firing ? out.fired : out.resolved) += 1;
      out.text += format_bound(n.window_end, n.time_window) + "  " +
                  (n.firing ? "firing  " : "resolved") + "  " + n.rule + "  " + n.model + "@" +
                  n.version + (n.feature.empty() ? "" : "  " + n.feature) +
                  "  value=" + format_value(n.value) + " threshold=" + format_value(n.threshold) +
                  "  (" + windows_log + ":" + std::to_string(line_no) + ")\n";
    }
  }));
  size_t still_firing = 0;
  for (const auto& a : alerts) {
    if (!a) continue;
    for (const auto& active : a->active()) still_firing += active.state->phase == Phase::kFiring;
  }
  out.text += std::to_string(out.windows) + " windows judged";
  if (out.skipped > 0) {
    out.text += " (" + std::to_string(out.skipped) + " of models not configured skipped)";
  }
  out.text += ": " + std::to_string(out.fired) + " fired, " + std::to_string(out.resolved) +
              " resolved, " + std::to_string(still_firing) + " still firing at the end\n";
  return out;
}

}  // namespace driftd::alerts
