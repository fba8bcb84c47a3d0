#include "alerts/rules/rules_toml.h"

#include <algorithm>
#include <set>

#include "driftd/io/file_buffer.h"

namespace driftd::alerts {

namespace {

Result<RuleSpec> parse_rule(const toml::table& t, const std::string& prefix,
                            const std::string& source, bool per_model) {
  TableReader r(t, prefix, source);
  RuleSpec s;
  s.where = r.where_table();
  s.where_key = r.locate({"name", "condition", "resolve", "for", "cooldown", "severity", "sinks"});
  DRIFTD_TRY(r.str("name", s.name));
  DRIFTD_TRY(r.str("condition", s.condition));
  DRIFTD_TRY(r.str("resolve", s.resolve));
  std::string severity = to_string(s.severity);
  DRIFTD_TRY(r.str("severity", severity));
  if (severity == "info") {
    s.severity = Severity::kInfo;
  } else if (severity == "warning") {
    s.severity = Severity::kWarning;
  } else if (severity == "critical") {
    s.severity = Severity::kCritical;
  } else {
    return Error{s.where_key["severity"] + ": expected \"info\", \"warning\" or \"critical\""};
  }
  // `for`: a number of windows, or a duration of event time.
  if (const toml::node* n = r.node("for")) {
    if (auto windows = n->value_exact<int64_t>()) {
      s.for_windows = *windows;
    } else if (auto text = n->value<std::string>()) {
      auto ms = parse_duration_ms(*text);
      if (!ms) return Error{s.where_key["for"] + ": " + ms.error().message};
      s.for_ms = *ms;
    } else {
      return Error{s.where_key["for"] +
                   ": expected a number of windows (3) or a duration of event time (\"30m\")"};
    }
  }
  DRIFTD_TRY(r.duration("cooldown", s.cooldown_ms));
  if (s.cooldown_ms < 0) return Error{s.where_key["cooldown"] + ": must not be negative"};
  int64_t min_rows = static_cast<int64_t>(s.min_rows);
  DRIFTD_TRY(r.integer("min_rows", min_rows));
  if (min_rows < 0) {
    return Error{r.where(*t.get("min_rows"), "min_rows") + ": must not be negative"};
  }
  s.min_rows = static_cast<uint64_t>(min_rows);
  if (!per_model) DRIFTD_TRY(r.strings("models", s.models));
  DRIFTD_TRY(r.strings("sinks", s.sinks));
  std::string against = "training";
  DRIFTD_TRY(r.str("against", against));
  if (against != "training" && against != "reference") {
    return Error{r.where(*t.get("against"), "against") +
                 ": expected \"training\" (the baseline) or \"reference\" (the second one)"};
  }
  s.against_reference = against == "reference";
  DRIFTD_TRY(r.string_table("labels", s.labels));
  DRIFTD_TRY(r.string_table("annotations", s.annotations));
  for (const char* table : {"labels", "annotations"}) {
    if (const toml::table* sub = t.get_as<toml::table>(table)) {
      for (const auto& [k, v] : *sub) {
        s.where_key[std::string(table) + "." + std::string(k.str())] =
            r.where(v, std::string(table) + "." + std::string(k.str()));
      }
    }
  }
  DRIFTD_TRY(r.finish(per_model ? "name, condition, resolve, severity, for, cooldown, min_rows, "
                                  "against, sinks, labels, annotations"
                                : "name, condition, resolve, severity, for, cooldown, min_rows, "
                                  "against, models, sinks, labels, annotations"));
  if (s.name.empty()) return Error{s.where + ": name is required"};
  if (s.condition.empty()) return Error{s.where + ": condition is required"};
  return s;
}

}  // namespace

Result<RuleList> parse_rules(TableReader& parent, std::string_view key, bool per_model) {
  auto tables = parent.tables(key);
  if (!tables) return tables.error();
  RuleList out;
  std::set<std::string> names;
  for (size_t i = 0; i < tables->size(); ++i) {
    const std::string prefix = parent.child(key) + "[" + std::to_string(i) + "]";
    auto spec = parse_rule(*(*tables)[i], prefix, parent.source(), per_model);
    if (!spec) return spec.error();
    if (!names.insert(spec->name).second) {
      return Error{spec->where + ": a second rule named '" + spec->name + "'"};
    }
    auto rule = Rule::compile(std::move(*spec));
    if (!rule) return rule.error();
    out.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  return out;
}

Status load_rule_files(const std::vector<std::string>& paths, RuleList& rules) {
  for (const std::string& path : paths) {
    auto file = FileBuffer::load(path);
    if (!file) return file.error();
    auto doc = parse_toml(file->text(), path);
    if (!doc) return doc.error();
    TableReader top(*doc, "", path);
    auto more = parse_rules(top, "rules", false);
    if (!more) return more.error();
    DRIFTD_TRY(top.finish("rules (a rule file holds [[rules]] tables only)"));
    for (auto& r : *more) {
      for (const auto& known : rules) {
        if (known->name() == r->name()) {
          return Error{r->spec().where + ": a second rule named '" + r->name() +
                       "' (the first: " + known->spec().where + ")"};
        }
      }
      rules.push_back(std::move(r));
    }
  }
  return {};
}

Result<RuleList> rules_for_model(const RuleList& defaults, const RuleList& own,
                                 const std::string& model, bool time_windows, bool has_reference) {
  RuleList out;
  for (const auto& d : defaults) {
    if (!d->applies_to(model)) continue;
    bool replaced = false;
    for (const auto& o : own) replaced |= o->name() == d->name();
    if (!replaced) out.push_back(d);
  }
  out.insert(out.end(), own.begin(), own.end());
  for (const auto& r : out) {
    if (r->spec().against_reference && !has_reference && !own.empty() &&
        std::find(own.begin(), own.end(), r) != own.end()) {
      return Error{r->spec().where + ": against = \"reference\", but model " + model +
                   " has no reference"};
    }
  }
  // A top-level rule against the second reference applies to the models
  // that have one.
  std::erase_if(out, [&](const auto& r) { return r->spec().against_reference && !has_reference; });
  if (!time_windows) {
    for (const auto& r : out) {
      const RuleSpec& s = r->spec();
      const auto where = [&](const char* key) {
        const auto it = s.where_key.find(key);
        return it != s.where_key.end() ? it->second : s.where;
      };
      if (s.for_ms >= 0) {
        return Error{where("for") + ": model " + model +
                     " has count windows, which have no event time: give `for` as a number of "
                     "windows"};
      }
      if (s.cooldown_ms > 0) {
        return Error{where("cooldown") + ": model " + model +
                     " has count windows, which have no event time: a cooldown needs time "
                     "windows"};
      }
    }
  }
  return out;
}

}  // namespace driftd::alerts
