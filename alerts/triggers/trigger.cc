#include "alerts/triggers/trigger.h"

#include <algorithm>
#include <set>

#include "driftd/io/json_writer.h"

namespace driftd::alerts {

namespace {

constexpr int64_t kDayMs = 24 * 3'600'000;
constexpr size_t kMaxEvidenceFeatures = 50;

Result<TriggerSpec> parse_trigger(const toml::table& t, const std::string& prefix,
                                  const std::string& source) {
  TableReader r(t, prefix, source);
  TriggerSpec s;
  s.where = r.where_table();
  s.where_key = r.locate(
      {"name", "on", "condition", "min_rows", "cooldown", "max_per_day", "sinks", "models"});
  DRIFTD_TRY(r.str("name", s.name));
  DRIFTD_TRY(r.strings("on", s.on));
  std::string condition;
  DRIFTD_TRY(r.str("condition", condition));
  if (!condition.empty()) {
    auto c = Condition::parse(condition);
    if (!c) return Error{s.where_key["condition"] + ": " + c.error().message};
    const Condition::Reach reach = c->reach();
    if (!reach.can_be_true) {
      return Error{s.where_key["condition"] + ": can never be true" +
                   (reach.ranges.empty() ? "" : " (" + reach.ranges + ")") +
                   ": the trigger would never start a retrain"};
    }
    s.condition = std::make_shared<const Condition>(std::move(*c));
  }
  int64_t min_rows = static_cast<int64_t>(s.min_rows);
  DRIFTD_TRY(r.integer("min_rows", min_rows));
  if (min_rows < 0) return Error{s.where_key["min_rows"] + ": must not be negative"};
  s.min_rows = static_cast<uint64_t>(min_rows);
  DRIFTD_TRY(r.strings("models", s.models));
  DRIFTD_TRY(r.duration("cooldown", s.cooldown_ms));
  DRIFTD_TRY(r.integer("max_per_day", s.max_per_day));
  DRIFTD_TRY(r.strings("sinks", s.sinks));
  DRIFTD_TRY(r.finish("name, on, condition, min_rows, models, cooldown, max_per_day, sinks"));
  if (s.name.empty()) return Error{s.where + ": name is required"};
  for (char c : s.name) {
    if (c == '/' || c == '|') return Error{s.where_key["name"] + ": a name may not hold / or |"};
  }
  if (s.on.empty() && !s.condition) {
    return Error{(s.where_key.count("on") ? s.where_key["on"] : s.where) +
                 ": on = [...] (the rules whose alerts start a retrain) or condition = \"...\" "
                 "(the windows that do) is required"};
  }
  if (s.cooldown_ms < 0) return Error{s.where_key["cooldown"] + ": must not be negative"};
  if (s.max_per_day < 1 || s.max_per_day > 1000) {
    return Error{s.where_key["max_per_day"] + ": must be between 1 and 1000"};
  }
  return s;
}

void write_feature(JsonWriter& j, const FeatureResult& f) {
  j.begin_object();
  j.key("name").value(f.name);
  j.key("role").value(f.role == ColumnRole::kPrediction ? "prediction"
                      : f.role == ColumnRole::kLabel    ? "label"
                                                        : "feature");
  j.key("method").value(f.rule.method);
  j.key("value").value(f.drift_value);
  j.key("threshold").value(f.rule.threshold);
  j.key("missing_rate").value(f.missing_rate);
  j.key("statistics").begin_object();
  for (const StatValue& s : f.stats) j.key(s.key).value(s.value);
  j.end_object();
  j.end_object();
}

void write_performance(JsonWriter& j, const std::optional<Performance>& p) {
  if (!p) {
    j.null();
    return;
  }
  j.begin_object();
  j.key("rows").value(p->rows);
  for (const Metric& m : p->metrics) j.key(m.name).value(m.value);
  j.end_object();
}

// Why a trigger was made: an alert that fired, or the policy's condition.
struct Cause {
  std::string rule;           // empty: the condition
  const char* severity = "";  // the rule's
  std::string condition;      // the condition's text
  std::string feature;        // feature scope: the (first) feature
  std::optional<double> value, threshold;
};

std::string trigger_json(const std::string& policy, const std::string& model,
                         const std::string& version, bool time_windows,
                         const std::string& baseline_json, const WindowResult& w,
                         const std::vector<Cause>& because, const std::string& key) {
  JsonWriter j(-1);
  j.begin_object();
  j.key("kind").value("trigger");
  j.key("trigger").value(policy);
  j.key("model").begin_object();
  j.key("name").value(model);
  j.key("version").value(version);
  j.end_object();
  j.key("idempotency_key").value(key);
  j.key("because").begin_array();
  for (const Cause& c : because) {
    j.begin_object();
    if (c.rule.empty()) {
      j.key("condition").value(c.condition);
    } else {
      j.key("rule").value(c.rule);
      j.key("severity").value(c.severity);
    }
    if (!c.feature.empty()) j.key("feature").value(c.feature);
    j.key("value").value(c.value);
    j.key("threshold").value(c.threshold);
    j.end_object();
  }
  j.end_array();
  j.key("window").begin_object();
  j.key("id").value(w.id);
  j.key("kind").value(time_windows ? "time" : "count");
  j.key("start").value(w.start);
  j.key("end").value(w.end);
  j.key("rows").value(w.report.rows);
  j.end_object();
  const CheckReport& r = w.report;
  j.key("evidence").begin_object();
  j.key("features_compared").value(r.features_compared);
  j.key("features_drifted").value(r.features_drifted);
  j.key("drift_share").value(r.drift_share);
  j.key("dataset_drift").value(r.dataset_drift);
  std::vector<const FeatureResult*> drifting;
  for (const FeatureResult& f : r.features) {
    if (f.drift) drifting.push_back(&f);
  }
  std::stable_sort(drifting.begin(), drifting.end(),
                   [](const auto* a, const auto* b) { return a->severity > b->severity; });
  j.key("drifting_features").begin_array();
  for (size_t i = 0; i < drifting.size() && i < kMaxEvidenceFeatures; ++i) {
    write_feature(j, *drifting[i]);
  }
  j.end_array();
  j.key("new_columns").begin_array();
  for (const auto& c : r.new_columns) j.value(c);
  j.end_array();
  j.key("missing_columns").begin_array();
  for (const auto& c : r.missing_columns) j.value(c);
  j.end_array();
  j.key("performance");
  write_performance(j, r.performance);
  j.key("baseline_performance");
  write_performance(j, r.baseline_performance);
  if (w.reference) {
    j.key("reference").begin_object();
    j.key("name").value(w.reference_name);
    j.key("features_drifted").value(w.reference->features_drifted);
    j.key("drift_share").value(w.reference->drift_share);
    j.end_object();
  }
  j.end_object();
  j.key("baseline").raw_value(baseline_json);
  j.key("key").value(key);
  j.end_object();
  return std::move(j.str());
}

}  // namespace

bool TriggerSpec::applies_to(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

Result<TriggerList> parse_triggers(TableReader& parent, std::string_view key) {
  TriggerList out;
  auto tables = parent.tables(key);
  if (!tables) return tables.error();
  std::map<std::string, std::string> seen;
  size_t i = 0;
  for (const toml::table* t : *tables) {
    auto s =
        parse_trigger(*t, parent.child(key) + "[" + std::to_string(i++) + "]", parent.source());
    if (!s) return s.error();
    if (auto [it, fresh] = seen.emplace(s->name, s->where); !fresh) {
      return Error{s->where + ": a second trigger named '" + s->name +
                   "' (the first: " + it->second + ")"};
    }
    out.push_back(std::make_shared<const TriggerSpec>(std::move(*s)));
  }
  return out;
}

std::string trigger_key(const std::string& policy, const std::string& model,
                        const std::string& version, const std::string& rule,
                        const std::string& window_id) {
  return "trigger/" + policy + "/" + model + "@" + version + "/" + rule + "/" + window_id;
}

ModelTriggers::ModelTriggers(std::string model, std::string version, bool time_windows,
                             std::string baseline_json, TriggerList policies)
    : model_(std::move(model)),
      version_(std::move(version)),
      time_windows_(time_windows),
      baseline_json_(std::move(baseline_json)),
      policies_(std::move(policies)),
      sent_(policies_.size()) {}

void ModelTriggers::evaluate(const WindowResult& w, const std::vector<Notification>& changes,
                             int64_t now_ms, std::vector<Trigger>& out) {
  const int64_t at = time_windows_ ? w.end : now_ms;
  for (size_t i = 0; i < policies_.size(); ++i) {
    const TriggerSpec& p = *policies_[i];
    std::vector<Cause> because;
    // In the policy's order of rules: the first one names the trigger.
    for (const std::string& rule : p.on) {
      for (const Notification& n : changes) {
        if (n.firing && n.rule == rule) {
          because.push_back(
              Cause{n.rule, to_string(n.severity), "", n.feature, n.value, n.threshold});
        }
      }
    }
    if (because.empty() && p.condition && w.report.rows >= p.min_rows) {
      const Condition& c = *p.condition;
      const auto cause = [&](const FeatureResult* f) {
        const Condition::Sides sides = c.sides(w.report, f);
        because.push_back(Cause{"", "", c.text(), f ? f->name : "", sides.value, sides.threshold});
      };
      if (c.scope() == ConditionScope::kModel) {
        if (c.evaluate(w.report, nullptr) == Truth::kTrue) cause(nullptr);
      } else {
        for (const FeatureResult& f : w.report.features) {
          if (f.role == ColumnRole::kFeature && c.evaluate(w.report, &f) == Truth::kTrue) {
            cause(&f);
            break;
          }
        }
      }
    }
    if (because.empty()) continue;
    Trigger t;
    t.policy = p.name;
    t.model = model_;
    t.version = version_;
    // A condition's trigger is named "condition" in its key.
    t.rule = because.front().rule.empty() ? "condition" : because.front().rule;
    t.window_id = w.id;
    t.key = trigger_key(p.name, model_, version_, t.rule, w.id);
    t.sinks = p.sinks;
    std::vector<int64_t>& sent = sent_[i];
    std::erase_if(sent, [&](int64_t s) { return s <= at - kDayMs; });
    if (!sent.empty() && at - sent.back() < p.cooldown_ms) {
      t.sent = false;
      t.held_back = "cooldown: the last trigger was " + std::to_string((at - sent.back()) / 1000) +
                    " s before, the cooldown is " + std::to_string(p.cooldown_ms / 1000) + " s";
    } else if (static_cast<int64_t>(sent.size()) >= p.max_per_day) {
      t.sent = false;
      t.held_back = "max_per_day: " + std::to_string(sent.size()) + " in the last 24 hours";
    }
    if (t.sent) {
      sent.push_back(at);
      t.body =
          trigger_json(p.name, model_, version_, time_windows_, baseline_json_, w, because, t.key);
    }
    out.push_back(std::move(t));
  }
}

void ModelTriggers::save(ByteWriter& w) const {
  w.u64(policies_.size());
  for (size_t i = 0; i < policies_.size(); ++i) {
    w.str(policies_[i]->name);
    w.u64(sent_[i].size());
    for (int64_t t : sent_[i]) w.i64(t);
  }
}

Status ModelTriggers::load(ByteReader& r) {
  const uint64_t n = r.count(8 + 8);
  std::vector<std::vector<int64_t>> sent(policies_.size());
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    const std::string name = r.str();
    const uint64_t m = r.count(8);
    std::vector<int64_t> times;
    for (uint64_t j = 0; j < m && r.ok(); ++j) times.push_back(r.i64());
    if (!r.ok()) break;
    if (!std::is_sorted(times.begin(), times.end())) r.fail("trigger times out of order");
    for (size_t i = 0; i < policies_.size(); ++i) {
      if (policies_[i]->name == name) sent[i] = std::move(times);
    }
  }
  if (!r.ok()) return Error{"trigger states: " + r.error()};
  sent_ = std::move(sent);
  return {};
}

}  // namespace driftd::alerts
