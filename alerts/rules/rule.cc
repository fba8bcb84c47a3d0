#include "alerts/rules/rule.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "driftd/io/json_writer.h"
#include "src/common/time_format.h"

namespace driftd::alerts {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "warning";
}

const char* to_string(Phase p) {
  switch (p) {
    case Phase::kInactive:
      return "inactive";
    case Phase::kPending:
      return "pending";
    case Phase::kFiring:
      return "firing";
    case Phase::kResolved:
      return "resolved";
  }
  return "inactive";
}

namespace {

struct NamedVar {
  std::string_view name;
  Template::Var var;
};
constexpr std::array<NamedVar, 12> kVars = {{
    {"rule", Template::Var::kRule},
    {"severity", Template::Var::kSeverity},
    {"model", Template::Var::kModel},
    {"version", Template::Var::kVersion},
    {"feature", Template::Var::kFeature},
    {"value", Template::Var::kValue},
    {"threshold", Template::Var::kThreshold},
    {"window.id", Template::Var::kWindowId},
    {"window.start", Template::Var::kWindowStart},
    {"window.end", Template::Var::kWindowEnd},
    {"rows", Template::Var::kRows},
    {"state", Template::Var::kState},
}};

std::string var_list() {
  std::string out;
  for (const auto& v : kVars) out += (out.empty() ? "" : ", ") + std::string(v.name);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Six significant digits: what a person reads in a message.
std::string format_number(std::optional<double> v) {
  if (!v) return "unknown";
  if (!std::isfinite(*v)) return std::isnan(*v) ? "NaN" : (*v > 0 ? "+Inf" : "-Inf");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

bool valid_rule_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!word(name[0])) return false;
  for (char c : name) {
    if (!word(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') return false;
  }
  return true;
}

// Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*, and not reserved (__).
bool valid_label_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.rfind("__", 0) == 0) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string format_bound(int64_t bound, bool time_window) {
  return time_window ? format_rfc3339_ms(bound) : std::to_string(bound);
}

std::string format_value(std::optional<double> v) {
  return format_number(v);
}

Result<Template> Template::parse(std::string_view text, bool feature_scope) {
  Template t;
  t.text_ = std::string(text);
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{{") != 0) {
      literal += text[i++];
      continue;
    }
    const size_t close = text.find("}}", i + 2);
    if (close == std::string_view::npos) {
      return Error{"column " + std::to_string(i + 1) + ": '{{' without a closing '}}'"};
    }
    const std::string_view name = trim(text.substr(i + 2, close - i - 2));
    const NamedVar* found = nullptr;
    for (const auto& v : kVars) {
      if (v.name == name) found = &v;
    }
    if (found == nullptr) {
      return Error{"column " + std::to_string(i + 1) + ": unknown value {{" + std::string(name) +
                   "}} (values: " + var_list() + ")"};
    }
    if (found->var == Var::kFeature && !feature_scope) {
      return Error{"column " + std::to_string(i + 1) +
                   ": {{feature}} has no value: the condition is judged once per model, not per "
                   "feature"};
    }
    t.parts_.push_back({std::move(literal), found->var});
    literal.clear();
    i = close + 2;
  }
  if (!literal.empty()) t.parts_.push_back({std::move(literal), std::nullopt});
  return t;
}

std::string Template::render(const Context& c) const {
  std::string out;
  for (const Part& p : parts_) {
    out += p.literal;
    if (!p.var) continue;
    switch (*p.var) {
      case Var::kRule:
        out += c.rule ? c.rule->name : "";
        break;
      case Var::kSeverity:
        out += c.rule ? to_string(c.rule->severity) : "";
        break;
      case Var::kModel:
        out += c.model;
        break;
      case Var::kVersion:
        out += c.version;
        break;
      case Var::kFeature:
        out += c.feature;
        break;
      case Var::kValue:
        out += format_number(c.value);
        break;
      case Var::kThreshold:
        out += format_number(c.threshold);
        break;
      case Var::kWindowId:
        out += c.window ? c.window->id : "";
        break;
      case Var::kWindowStart:
        if (c.window) out += format_bound(c.window->start, c.time_window);
        break;
      case Var::kWindowEnd:
        if (c.window) out += format_bound(c.window->end, c.time_window);
        break;
      case Var::kRows:
        if (c.window) out += std::to_string(c.window->report.rows);
        break;
      case Var::kState:
        out += c.state;
        break;
    }
  }
  return out;
}

Result<Rule> Rule::compile(RuleSpec spec) {
  const auto where = [&](const std::string& key) {
    const auto it = spec.where_key.find(key);
    return it != spec.where_key.end() ? it->second : spec.where + "." + key;
  };
  if (!valid_rule_name(spec.name)) {
    return Error{where("name") + ": '" + spec.name +
                 "' is not a rule name (a letter or _, then letters, digits, _ . -; at most 128)"};
  }
  Rule r;
  auto condition = Condition::parse(spec.condition);
  if (!condition) return Error{where("condition") + ": " + condition.error().message};
  r.condition_ = std::move(*condition);
  if (!spec.resolve.empty()) {
    auto resolve = Condition::parse(spec.resolve);
    if (!resolve) return Error{where("resolve") + ": " + resolve.error().message};
    if (resolve->scope() == ConditionScope::kFeature &&
        r.condition_.scope() == ConditionScope::kModel) {
      return Error{where("resolve") +
                   ": names a feature's statistic, but the condition is judged once per model "
                   "(use a quantifier: any feature: ...)"};
    }
    r.resolve_ = std::move(*resolve);
  }
  if (spec.for_windows < 1 || spec.for_windows > 100000) {
    return Error{where("for") + ": must be in [1, 100000] windows"};
  }
  const bool feature_scope = r.condition_.scope() == ConditionScope::kFeature;
  for (const auto& [kvs, out, kind] :
       {std::tuple{&spec.labels, &r.labels_, "labels"},
        std::tuple{&spec.annotations, &r.annotations_, "annotations"}}) {
    for (const auto& [k, v] : *kvs) {
      const std::string key = std::string(kind) + "." + k;
      if (kind == std::string_view("labels") && !valid_label_name(k)) {
        return Error{where(key) + ": '" + k +
                     "' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"};
      }
      auto t = Template::parse(v, feature_scope);
      if (!t) return Error{where(key) + ": " + t.error().message};
      out->emplace_back(k, std::move(*t));
    }
  }
  for (const auto& [k, unused] : r.labels_) {
    for (const char* reserved :
         {"alertname", "model", "model_version", "feature", "severity", "reference"}) {
      if (k == reserved) {
        return Error{where("labels." + k) + ": '" + k + "' is set by driftd"};
      }
    }
  }
  const auto ranges = [](const Condition::Reach& reach) {
    return reach.ranges.empty() ? std::string() : " (" + reach.ranges + ")";
  };
  const Condition::Reach fires = r.condition_.reach();
  if (!fires.can_be_true) {
    r.warnings_.push_back(where("condition") + ": can never be true" + ranges(fires) +
                          ": the rule never fires");
  } else if (!fires.can_be_false && !r.resolve_) {
    r.warnings_.push_back(where("condition") + ": can never be false" + ranges(fires) +
                          ": the rule fires on every window and never resolves");
  }
  if (r.resolve_ && fires.can_be_true) {
    const Condition::Reach resolves = r.resolve_->reach();
    if (!resolves.can_be_true) {
      r.warnings_.push_back(where("resolve") + ": can never be true" + ranges(resolves) +
                            ": a firing alert never resolves");
    }
  }
  r.spec_ = std::move(spec);
  return r;
}

bool Rule::applies_to(std::string_view model) const {
  if (spec_.models.empty()) return true;
  for (const auto& m : spec_.models) {
    if (m == model) return true;
  }
  return false;
}

std::string Rule::describe() const {
  std::string out =
      "rule " + spec_.name + " (" + to_string(spec_.severity) + ", " +
      (scope() == ConditionScope::kFeature ? "one alert per feature" : "one alert per model") +
      ")\n";
  out += "  condition: " + condition_.canonical() + "\n";
  out +=
      "  resolve:   " + (resolve_ ? resolve_->canonical() : "not " + condition_.canonical()) + "\n";
  out += "  for:       ";
  if (spec_.for_ms >= 0) {
    out += std::to_string(spec_.for_ms) + " ms of event time\n";
  } else {
    out += std::to_string(spec_.for_windows) +
           (spec_.for_windows == 1 ? " window\n" : " consecutive windows\n");
  }
  out += "  cooldown:  " + std::to_string(spec_.cooldown_ms) + " ms\n";
  out += "  min_rows:  " + std::to_string(spec_.min_rows) + "\n";
  out += std::string("  against:   ") +
         (spec_.against_reference ? "the second reference" : "the training baseline") + "\n";
  std::string models;
  for (const auto& m : spec_.models) models += (models.empty() ? "" : ", ") + m;
  out += "  models:    " + (models.empty() ? std::string("all") : models) + "\n";
  for (const auto& [k, t] : labels_) out += "  label " + k + " = \"" + t.text() + "\"\n";
  for (const auto& [k, t] : annotations_) out += "  annotation " + k + " = \"" + t.text() + "\"\n";
  return out;
}

Transition step(AlertState& s, const RuleSpec& rule, Truth condition, Truth resolve,
                const WindowResult& w) {
  if (s.phase == Phase::kFiring) {
    const bool resolved =
        rule.resolve.empty() ? condition == Truth::kFalse : resolve == Truth::kTrue;
    if (!resolved) {
      if (condition == Truth::kTrue) ++s.held;
      return Transition::kNone;
    }
    s.phase = Phase::kResolved;
    s.ever_resolved = true;
    s.resolved_at = w.end;
    s.held = 0;
    return Transition::kResolved;
  }
  if (condition == Truth::kUnknown) return Transition::kNone;
  if (condition == Truth::kFalse) {
    if (s.phase == Phase::kPending) {
      s.phase = s.ever_resolved ? Phase::kResolved : Phase::kInactive;
      s.held = 0;
    }
    return Transition::kNone;
  }
  if (s.phase != Phase::kPending) {
    s.phase = Phase::kPending;
    s.held = 0;
    s.pending_since = w.end;
  }
  ++s.held;
  const bool held_long_enough = rule.for_ms >= 0
                                    ? w.end - s.pending_since >= rule.for_ms
                                    : s.held >= static_cast<uint64_t>(rule.for_windows);
  const bool cooled = !s.ever_resolved || w.end - s.resolved_at >= rule.cooldown_ms;
  if (!held_long_enough || !cooled) return Transition::kNone;
  s.phase = Phase::kFiring;
  s.fired_at = w.end;
  s.fired_window = w.id;
  return Transition::kFired;
}

std::string alert_identity(const Notification& n) {
  return n.model + "@" + n.version + "/" + n.rule + "|" + n.feature;
}

std::string notification_json(const Notification& n) {
  JsonWriter j(-1);
  j.begin_object();
  j.key("kind").value("alert");
  j.key("state").value(n.firing ? "firing" : "resolved");
  j.key("rule").value(n.rule);
  j.key("severity").value(to_string(n.severity));
  j.key("model").begin_object();
  j.key("name").value(n.model);
  j.key("version").value(n.version);
  j.end_object();
  if (!n.feature.empty()) j.key("feature").value(n.feature);
  j.key("value").value(n.value);
  j.key("threshold").value(n.threshold);
  j.key("window").begin_object();
  j.key("id").value(n.window_id);
  j.key("kind").value(n.time_window ? "time" : "count");
  j.key("start").value(n.window_start);
  j.key("end").value(n.window_end);
  j.key("rows").value(n.rows);
  j.end_object();
  j.key("fired_at").value(n.fired_at);
  if (!n.firing) j.key("resolved_at").value(n.resolved_at);
  j.key("labels").begin_object();
  for (const auto& [k, v] : n.labels) j.key(k).value(v);
  j.end_object();
  j.key("annotations").begin_object();
  for (const auto& [k, v] : n.annotations) j.key(k).value(v);
  j.end_object();
  j.key("key").value(n.key);
  j.end_object();
  return std::move(j.str());
}

ModelAlerts::ModelAlerts(std::string model, std::string version, bool time_windows,
                         std::vector<std::shared_ptr<const Rule>> rules)
    : model_(std::move(model)),
      version_(std::move(version)),
      time_windows_(time_windows),
      rules_(std::move(rules)),
      states_(rules_.size()) {}

Notification ModelAlerts::notify(const Rule& rule, const std::string& feature, const AlertState& s,
                                 const WindowResult& w, bool firing) const {
  Notification n;
  n.rule = rule.name();
  n.model = model_;
  n.version = version_;
  n.feature = feature;
  n.severity = rule.spec().severity;
  n.firing = firing;
  n.window_id = w.id;
  n.window_start = w.start;
  n.window_end = w.end;
  n.time_window = time_windows_;
  n.rows = w.report.rows;
  n.value = s.value;
  n.threshold = s.threshold;
  n.fired_at = s.fired_at;
  n.resolved_at = s.resolved_at;
  n.sinks = rule.spec().sinks;
  Template::Context c;
  c.rule = &rule.spec();
  c.model = model_;
  c.version = version_;
  c.feature = feature;
  c.state = firing ? "firing" : "resolved";
  c.window = &w;
  c.time_window = time_windows_;
  c.value = s.value;
  c.threshold = s.threshold;
  n.labels.emplace_back("alertname", rule.name());
  n.labels.emplace_back("model", model_);
  n.labels.emplace_back("model_version", version_);
  if (!feature.empty()) n.labels.emplace_back("feature", feature);
  n.labels.emplace_back("severity", to_string(rule.spec().severity));
  if (rule.spec().against_reference) n.labels.emplace_back("reference", w.reference_name);
  for (const auto& [k, t] : rule.labels()) n.labels.emplace_back(k, t.render(c));
  for (const auto& [k, t] : rule.annotations()) n.annotations.emplace_back(k, t.render(c));
  // '/' cannot occur in a rule name; a feature name may hold anything, so
  // it goes last but one, before the window id (which holds no '|').
  n.key = model_ + "@" + version_ + "/" + rule.name() + "/" + (firing ? "firing" : "resolved") +
          "/" + w.id + "|" + feature;
  return n;
}

void ModelAlerts::evaluate(const WindowResult& w, std::vector<Notification>& out) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = *rules_[i];
    const CheckReport* report = rule.spec().against_reference ? w.reference.get() : &w.report;
    if (report == nullptr || report->rows < rule.spec().min_rows) continue;
    auto& states = states_[i];
    auto judge = [&](const std::string& name, const FeatureResult* f) {
      const Truth c = rule.condition().evaluate(*report, f);
      auto it = states.find(name);
      if (it == states.end()) {
        // An alert never raised has no state (so the states, the checkpoint
        // and active() hold only alerts that did something): only a true
        // condition moves it.
        if (c != Truth::kTrue) return;
        it = states.emplace(name, AlertState{}).first;
      }
      AlertState& s = it->second;
      // The resolve condition matters only to a firing alert.
      const Truth r = rule.resolve() && s.phase == Phase::kFiring
                          ? rule.resolve()->evaluate(*report, f)
                          : Truth::kUnknown;
      const Transition t = step(s, rule.spec(), c, r, w);
      // The figures of the last window that held, or of the one that
      // resolved the alert.
      if (c == Truth::kTrue || t == Transition::kResolved) {
        const auto sides = rule.condition().sides(*report, f);
        s.value = sides.value;
        s.threshold = sides.threshold;
      }
      if (t != Transition::kNone) out.push_back(notify(rule, name, s, w, t == Transition::kFired));
    };
    if (rule.scope() == ConditionScope::kFeature) {
      for (const FeatureResult& f : report->features) {
        if (f.role != ColumnRole::kFeature) continue;
        judge(f.name, &f);
      }
    } else {
      judge(std::string(), nullptr);
    }
  }
}

std::vector<ModelAlerts::Active> ModelAlerts::active() const {
  std::vector<Active> out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (const auto& [feature, s] : states_[i]) {
      if (s.phase == Phase::kPending || s.phase == Phase::kFiring) {
        out.push_back({rules_[i].get(), feature, &s});
      }
    }
  }
  return out;
}

namespace {

void put_optional(ByteWriter& w, const std::optional<double>& v) {
  w.u8(v.has_value());
  w.f64(v.value_or(0));
}

std::optional<double> get_optional(ByteReader& r) {
  const uint8_t has = r.u8();
  const double v = r.f64();
  if (has > 1) r.fail("an optional's flag is not 0 or 1");
  return has == 1 ? std::optional<double>(v) : std::nullopt;
}

}  // namespace

void ModelAlerts::save(ByteWriter& w) const {
  uint64_t n = 0;
  for (const auto& m : states_) n += m.size();
  w.u64(n);
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (const auto& [feature, s] : states_[i]) {
      w.str(rules_[i]->name());
      w.str(feature);
      w.u8(static_cast<uint8_t>(s.phase));
      w.u64(s.held);
      w.i64(s.pending_since);
      w.i64(s.fired_at);
      w.i64(s.resolved_at);
      w.u8(s.ever_resolved);
      w.str(s.fired_window);
      put_optional(w, s.value);
      put_optional(w, s.threshold);
    }
  }
}

Status ModelAlerts::load(ByteReader& r) {
  // Each state: two strings' lengths, then at least 1 + 8 * 4 + 1 + 8 + 2 * 9 bytes.
  const uint64_t n = r.count(8 + 8 + 1 + 32 + 1 + 8 + 18);
  std::vector<std::map<std::string, AlertState, std::less<>>> states(rules_.size());
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    const std::string rule = r.str();
    std::string feature = r.str();
    AlertState s;
    const uint8_t phase = r.u8();
    s.held = r.u64();
    s.pending_since = r.i64();
    s.fired_at = r.i64();
    s.resolved_at = r.i64();
    const uint8_t ever = r.u8();
    s.fired_window = r.str();
    s.value = get_optional(r);
    s.threshold = get_optional(r);
    if (phase > static_cast<uint8_t>(Phase::kResolved)) r.fail("an alert phase out of range");
    if (ever > 1) r.fail("a flag is not 0 or 1");
    if (!r.ok()) break;
    s.phase = static_cast<Phase>(phase);
    s.ever_resolved = ever == 1;
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (rules_[i]->name() != rule) continue;
      // A rule that changed scope (per model <-> per feature) starts over.
      if (feature.empty() != (rules_[i]->scope() == ConditionScope::kModel)) break;
      states[i][std::move(feature)] = std::move(s);
      break;
    }
  }
  if (!r.ok()) return Error{"alert states: " + r.error()};
  states_ = std::move(states);
  return {};
}

}  // namespace driftd::alerts
