// Loads driftd.toml. Every table has a fixed set of keys, checked one by one
// so that a misspelt key is an error naming it and its line instead of a
// silently ignored setting.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <toml++/toml.h>

#include "alerts/rules/rules_toml.h"
#include "alerts/sinks/sink.h"
#include "alerts/triggers/trigger.h"
#include "driftd/daemon/daemon_config.h"
#include "src/check/drift_rules_toml.h"
#include "src/common/toml_reader.h"
#include "src/sources/source.h"

namespace driftd {

namespace {

Result<ModelConfig> parse_model(const toml::table& t, const std::string& prefix,
                                const std::string& source, const alerts::RuleList& default_rules) {
  TableReader r(t, prefix, source);
  ModelConfig m;
  DRIFTD_TRY(r.str("name", m.name));
  DRIFTD_TRY(r.str("version", m.version));
  DRIFTD_TRY(r.str("baseline", m.baseline_path));
  DRIFTD_TRY(r.str("reference", m.reference_path));
  DRIFTD_TRY(r.str("reference_name", m.reference_name));
  int64_t ks_resolution = static_cast<int64_t>(m.monitor.ks_resolution);
  DRIFTD_TRY(r.integer("ks_resolution", ks_resolution));
  int64_t max_new = static_cast<int64_t>(m.monitor.max_new_categories);
  DRIFTD_TRY(r.integer("max_new_categories", max_new));
  if (ks_resolution < 16 || ks_resolution > 65536) {
    return Error{r.where(*t.get("ks_resolution"), "ks_resolution") + ": must be in [16, 65536]"};
  }
  if (max_new < 0 || max_new > 1000000) {
    return Error{r.where(*t.get("max_new_categories"), "max_new_categories") +
                 ": must be in [0, 1000000]"};
  }
  m.monitor.ks_resolution = static_cast<size_t>(ks_resolution);
  m.monitor.max_new_categories = static_cast<size_t>(max_new);

  WindowSettings& w = m.monitor.window;
  if (const toml::node* wn = r.node("window")) {
    const toml::table* wt = wn->as_table();
    if (!wt) return Error{r.where(*wn, "window") + ": expected a table"};
    TableReader wr(*wt, prefix + ".window", source);
    std::string type = "time";
    DRIFTD_TRY(wr.str("type", type));
    if (type != "time" && type != "count") {
      return Error{wr.where(*wt->get("type"), "type") + ": expected \"time\" or \"count\""};
    }
    w.kind = type == "count" ? WindowSettings::Kind::kCount : WindowSettings::Kind::kTime;
    auto read_size = [&](std::string_view key, int64_t& out) -> Status {
      return w.kind == WindowSettings::Kind::kCount ? wr.integer(key, out) : wr.duration(key, out);
    };
    int64_t size = w.kind == WindowSettings::Kind::kCount ? 10000 : w.size;
    DRIFTD_TRY(read_size("size", size));
    int64_t step = size;
    DRIFTD_TRY(read_size("step", step));
    int64_t lateness = 0;
    DRIFTD_TRY(wr.duration("allowed_lateness", lateness));
    int64_t max_future = w.max_future;
    DRIFTD_TRY(wr.duration("max_future", max_future));
    DRIFTD_TRY(wr.finish("type, size, step, allowed_lateness, max_future"));
    const toml::node* at = wt->get("size") ? wt->get("size") : wn;
    if (size <= 0) return Error{wr.where(*at, "size") + ": must be positive"};
    if (step <= 0 || step > size || size % step != 0) {
      const toml::node* sn = wt->get("step") ? wt->get("step") : wn;
      return Error{wr.where(*sn, "step") + ": must be positive and divide size (" +
                   std::to_string(size) + ")"};
    }
    if (size / step > 1000) {
      return Error{wr.where(*at, "size") + ": at most 1000 steps per window (size / step)"};
    }
    for (const char* key : {"allowed_lateness", "max_future"}) {
      if (w.kind == WindowSettings::Kind::kCount && wt->get(key)) {
        return Error{wr.where(*wt->get(key), key) + ": only time windows have it"};
      }
    }
    if (max_future < 0) {
      return Error{wr.where(*wt->get("max_future"), "max_future") +
                   ": must be 0 (no bound) or positive"};
    }
    w.max_future = max_future;
    w.size = size;
    w.step = step;
    w.allowed_lateness = lateness;
  }
  if (const toml::node* ln = r.node("labels")) {
    const toml::table* lt = ln->as_table();
    if (!lt) return Error{r.where(*ln, "labels") + ": expected a table"};
    TableReader lr(*lt, prefix + ".labels", source);
    LabelJoinSettings& l = m.monitor.labels;
    DRIFTD_TRY(lr.duration("ttl", l.ttl_ms));
    int64_t max_pending = static_cast<int64_t>(l.max_pending);
    DRIFTD_TRY(lr.integer("max_pending", max_pending));
    DRIFTD_TRY(lr.number("threshold", l.threshold));
    DRIFTD_TRY(lr.finish("ttl, max_pending, threshold"));
    if (l.ttl_ms <= 0) return Error{lr.where(*lt->get("ttl"), "ttl") + ": must be positive"};
    if (max_pending < 0 || max_pending > 100000000) {
      return Error{lr.where(*lt->get("max_pending"), "max_pending") +
                   ": must be in [0, 100000000] (0 turns the label join off)"};
    }
    l.max_pending = static_cast<size_t>(max_pending);
  }
  if (const toml::node* dn = r.node("drift")) {
    auto rules = parse_drift_node(*dn, source, prefix + ".drift");
    if (!rules) return rules.error();
    m.monitor.rules = std::move(*rules);
  }
  auto own_rules = alerts::parse_rules(r, "rules", true);
  if (!own_rules) return own_rules.error();
  DRIFTD_TRY(
      r.finish("name, version, baseline, reference, reference_name, window, labels, drift, "
               "rules, ks_resolution, max_new_categories"));
  if (m.name.empty()) return Error{r.where_table() + ": name is required"};
  auto rules =
      alerts::rules_for_model(default_rules, *own_rules, m.name,
                              w.kind == WindowSettings::Kind::kTime, !m.reference_path.empty());
  if (!rules) return rules.error();
  m.rules = std::move(*rules);
  if (m.baseline_path.empty()) return Error{r.where_table() + ": baseline is required"};
  m.baseline_path = resolve_config_path(source, m.baseline_path);
  auto baseline = load_baseline(m.baseline_path);
  if (!baseline) {
    return Error{r.where(*t.get("baseline"), "baseline") + ": " + baseline.error().message};
  }
  if (auto st = check_baseline_identity(*baseline, m.baseline_path, m.name, m.version); !st) {
    return Error{r.where(*t.get("baseline"), "baseline") + ": " + st.error().message};
  }
  if (m.version.empty()) m.version = baseline->model_version;
  m.baseline = std::make_shared<const Baseline>(std::move(*baseline));
  if (!m.reference_path.empty()) {
    const toml::node* rn = t.get("reference");
    m.reference_path = resolve_config_path(source, m.reference_path);
    auto reference = load_baseline(m.reference_path);
    if (!reference) return Error{r.where(*rn, "reference") + ": " + reference.error().message};
    // Of the same model (any version: it may be built from serving data).
    if (auto st = check_baseline_identity(*reference, m.reference_path, m.name, ""); !st) {
      return Error{r.where(*rn, "reference") + ": " + st.error().message};
    }
    if (auto st = check_reference_schema(*m.baseline, *reference, m.reference_path); !st) {
      return Error{r.where(*rn, "reference") + ": " + st.error().message};
    }
    m.reference = std::make_shared<const Baseline>(std::move(*reference));
  }
  if (m.reference_name.empty() || m.reference_name == "training") {
    const toml::node* nn = t.get("reference_name");
    return Error{(nn ? r.where(*nn, "reference_name") : r.where_table()) +
                 ": must be a non-empty name other than \"training\""};
  }
  return m;
}

// The bearer token, from a file (its first line) or an environment
// variable; the error names where it was looked for, never the token.
Result<std::string> read_token(const std::string& file, const std::string& env,
                               const std::string& where) {
  std::string token;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Error{where + ": token_file " + file + " cannot be read"};
    std::getline(in, token);
  } else {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr) return Error{where + ": the environment variable " + env + " is not set"};
    token = v;
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.size() < 16) {
    return Error{where + ": the token from " +
                 (file.empty() ? "the environment variable " + env : "token_file " + file) +
                 " is empty or shorter than 16 characters"};
  }
  return token;
}

Result<ServerConfig> parse_server(const toml::table& t, const std::string& source,
                                  std::string& log_level) {
  ServerConfig c;
  TableReader r(t, "server", source);
  DRIFTD_TRY(r.str("listen", c.listen));
  DRIFTD_TRY(r.str("log_level", log_level));
  int64_t max_connections = static_cast<int64_t>(c.max_connections);
  DRIFTD_TRY(r.integer("max_connections", max_connections));
  int64_t workers = static_cast<int64_t>(c.workers);
  DRIFTD_TRY(r.integer("workers", workers));
  int64_t max_metric_features = static_cast<int64_t>(c.max_metric_features);
  DRIFTD_TRY(r.integer("max_metric_features", max_metric_features));
  DRIFTD_TRY(r.duration("header_timeout", c.header_timeout_ms));
  DRIFTD_TRY(r.duration("body_timeout", c.body_timeout_ms));
  DRIFTD_TRY(r.duration("idle_timeout", c.idle_timeout_ms));
  DRIFTD_TRY(r.duration("write_timeout", c.write_timeout_ms));
  const toml::node* auth = r.node("auth");
  const toml::node* tls = r.node("tls");
  DRIFTD_TRY(
      r.finish("listen, log_level, max_connections, workers, max_metric_features, header_timeout, "
               "body_timeout, idle_timeout, write_timeout, auth, tls"));
  if (max_connections < 1 || max_connections > 100000) {
    return Error{r.where(*t.get("max_connections"), "max_connections") +
                 ": must be in [1, 100000]"};
  }
  c.max_connections = static_cast<size_t>(max_connections);
  if (workers < 1 || workers > 64) {
    return Error{r.where(*t.get("workers"), "workers") + ": must be in [1, 64]"};
  }
  c.workers = static_cast<size_t>(workers);
  if (max_metric_features < 0 || max_metric_features > 10'000'000) {
    return Error{r.where(*t.get("max_metric_features"), "max_metric_features") +
                 ": must be in [0, 10000000]"};
  }
  c.max_metric_features = static_cast<size_t>(max_metric_features);
  for (const char* key : {"header_timeout", "body_timeout", "idle_timeout", "write_timeout"}) {
    const int64_t v = std::string_view(key) == "header_timeout" ? c.header_timeout_ms
                      : std::string_view(key) == "body_timeout" ? c.body_timeout_ms
                      : std::string_view(key) == "idle_timeout" ? c.idle_timeout_ms
                                                                : c.write_timeout_ms;
    if (v <= 0 || v > 3'600'000) {
      return Error{r.where(*t.get(key), key) + ": must be positive and at most 1h"};
    }
  }
  if (c.listen.rfind(':') == std::string::npos) {
    return Error{r.where(*t.get("listen"), "listen") + ": expected host:port"};
  }
  static const std::set<std::string> levels = {"trace", "debug",    "info", "warn",
                                               "error", "critical", "off"};
  if (!levels.count(log_level)) {
    return Error{r.where(*t.get("log_level"), "log_level") +
                 ": expected trace, debug, info, warn, error, critical or off"};
  }
  if (auth != nullptr) {
    const toml::table* at = auth->as_table();
    if (!at) return Error{r.where(*auth, "auth") + ": expected a table"};
    TableReader ar(*at, "server.auth", source);
    std::string file, env, metrics = "open", health = "open";
    DRIFTD_TRY(ar.str("token_file", file));
    DRIFTD_TRY(ar.str("token_env", env));
    DRIFTD_TRY(ar.str("metrics", metrics));
    DRIFTD_TRY(ar.str("health", health));
    DRIFTD_TRY(ar.finish("token_file, token_env, metrics, health"));
    if (file.empty() == env.empty()) {
      return Error{ar.where_table() + ": set one of token_file and token_env"};
    }
    for (const auto& [key, v] : {std::pair{"metrics", metrics}, {"health", health}}) {
      if (v != "open" && v != "protected") {
        return Error{ar.where(*at->get(key), key) + ": expected \"open\" or \"protected\""};
      }
    }
    if (!file.empty()) file = resolve_config_path(source, file);
    auto token = read_token(file, env, ar.where_table());
    if (!token) return token.error();
    c.token = std::move(*token);
    c.token_origin = file.empty() ? "environment variable " + env : "file " + file;
    c.protect_metrics = metrics == "protected";
    c.protect_health = health == "protected";
  }
  if (tls != nullptr) {
    const toml::table* tt = tls->as_table();
    if (!tt) return Error{r.where(*tls, "tls") + ": expected a table"};
    TableReader tr(*tt, "server.tls", source);
    DRIFTD_TRY(tr.str("cert_file", c.tls_cert_file));
    DRIFTD_TRY(tr.str("key_file", c.tls_key_file));
    DRIFTD_TRY(tr.finish("cert_file, key_file"));
    if (c.tls_cert_file.empty() || c.tls_key_file.empty()) {
      return Error{tr.where_table() + ": set both cert_file and key_file"};
    }
    for (std::string* f : {&c.tls_cert_file, &c.tls_key_file}) {
      *f = resolve_config_path(source, *f);
      if (!std::ifstream(*f)) return Error{tr.where_table() + ": cannot read " + *f};
    }
  }
  return c;
}

}  // namespace

Result<DaemonConfig> parse_daemon_config(std::string_view text, const std::string& source) {
  auto parsed = parse_toml(text, source);
  if (!parsed) return parsed.error();
  const toml::table& doc = *parsed;
  DaemonConfig c;
  c.source_file = source;
  TableReader top(doc, "", source);
  if (const toml::node* n = top.node("server")) {
    const toml::table* t = n->as_table();
    if (!t) return Error{top.where(*n, "server") + ": expected a table"};
    auto server = parse_server(*t, source, c.log_level);
    if (!server) return server.error();
    c.server = std::move(*server);
  }
  if (const toml::node* n = top.node("state")) {
    const toml::table* t = n->as_table();
    if (!t) return Error{top.where(*n, "state") + ": expected a table"};
    TableReader r(*t, "state", source);
    DRIFTD_TRY(r.str("dir", c.state_dir));
    int64_t interval = static_cast<int64_t>(c.checkpoint_interval_s * 1000);
    DRIFTD_TRY(r.duration("checkpoint_interval", interval));
    int64_t deadline = static_cast<int64_t>(c.shutdown_deadline_s * 1000);
    DRIFTD_TRY(r.duration("shutdown_deadline", deadline));
    DRIFTD_TRY(r.str("windows_log", c.windows_log));
    DRIFTD_TRY(r.str("dead_letter", c.dead_letter));
    DRIFTD_TRY(r.str("alerts_log", c.alerts_log));
    DRIFTD_TRY(r.duration("outbox_retention", c.outbox_retention_ms));
    int64_t keep = c.outbox_keep;
    DRIFTD_TRY(r.integer("outbox_keep", keep));
    DRIFTD_TRY(r.finish(
        "dir, checkpoint_interval, shutdown_deadline, windows_log, dead_letter, alerts_log, "
        "outbox_retention, outbox_keep"));
    if (c.outbox_retention_ms <= 0 || keep < 0) {
      return Error{r.where_table() +
                   ": outbox_retention must be positive, outbox_keep not "
                   "negative"};
    }
    c.outbox_keep = keep;
    if (interval <= 0) {
      return Error{r.where(*t->get("checkpoint_interval"), "checkpoint_interval") +
                   ": must be positive"};
    }
    c.checkpoint_interval_s = static_cast<double>(interval) / 1000;
    c.shutdown_deadline_s = static_cast<double>(deadline) / 1000;
  }
  c.state_dir = resolve_config_path(source, c.state_dir);
  auto in_state = [&](std::string& p, const char* fallback) {
    if (p.empty()) p = fallback;
    if (!std::filesystem::path(p).is_absolute())
      p = (std::filesystem::path(c.state_dir) / p).string();
  };
  in_state(c.windows_log, "windows.jsonl");
  in_state(c.dead_letter, "dead-letter.jsonl");
  in_state(c.alerts_log, "alerts.jsonl");

  auto array_of_tables = [&](const char* key, auto&& each) -> Status {
    const toml::node* n = top.node(key);
    if (n == nullptr) return {};
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
      return Error{top.where(*n, key) + ": expected [[" + std::string(key) + "]] tables"};
    }
    for (size_t i = 0; i < a->size(); ++i) {
      if (auto st = each(*a->get(i)->as_table(), std::string(key) + "[" + std::to_string(i) + "]");
          !st) {
        return st;
      }
    }
    return {};
  };
  DRIFTD_TRY(array_of_tables("sources", [&](const toml::table& t, const std::string& p) -> Status {
    auto s = parse_source(t, p, source);
    if (!s) return s.error();
    c.sources.push_back(std::move(*s));
    return {};
  }));
  DRIFTD_TRY(array_of_tables("sinks", [&](const toml::table& t, const std::string& p) -> Status {
    auto sink = alerts::parse_sink(t, p, source, c.state_dir);
    if (!sink) return sink.error();
    for (const auto& other : c.sinks) {
      if (other->settings.name == sink->settings.name) {
        return Error{source + ":" + std::to_string(t.source().begin.line) + ": " + p +
                     ": a second sink named '" + sink->settings.name + "'"};
      }
    }
    c.sinks.push_back(std::make_shared<const alerts::SinkConfig>(std::move(*sink)));
    return {};
  }));
  auto default_rules = alerts::parse_rules(top, "rules", false);
  if (!default_rules) return default_rules.error();
  std::vector<std::string> rule_files;
  DRIFTD_TRY(top.strings("rule_files", rule_files));
  for (auto& f : rule_files) f = resolve_config_path(source, f);
  DRIFTD_TRY(alerts::load_rule_files(rule_files, *default_rules));
  DRIFTD_TRY(array_of_tables("models", [&](const toml::table& t, const std::string& p) -> Status {
    auto m = parse_model(t, p, source, *default_rules);
    if (!m) return m.error();
    for (const auto& other : c.models) {
      if (other.name == m->name && other.version == m->version) {
        return Error{source + ":" + std::to_string(t.source().begin.line) + ": " + p + ": model " +
                     m->name + " version " + m->version + " is configured twice"};
      }
    }
    c.models.push_back(std::move(*m));
    return {};
  }));
  auto triggers = alerts::parse_triggers(top, "triggers");
  if (!triggers) return triggers.error();
  DRIFTD_TRY(top.finish("server, state, sources, models, rules, rule_files, sinks, triggers"));
  // A sink named by a rule or a trigger exists and takes that kind.
  auto check_sinks = [&](const std::vector<std::string>& names, const std::string& where,
                         alerts::SinkTakes kind) -> Status {
    for (const auto& name : names) {
      const alerts::SinkConfig* sink = nullptr;
      for (const auto& s : c.sinks) {
        if (s->settings.name == name) sink = s.get();
      }
      if (sink == nullptr) {
        return Error{where + ": no sink named '" + name + "' is configured ([[sinks]])"};
      }
      if (!(static_cast<int>(sink->takes) & static_cast<int>(kind))) {
        return Error{where + ": sink '" + name + "' (type " + sink->settings.type + ") takes " +
                     (kind == alerts::SinkTakes::kAlerts ? "retraining triggers, not alerts"
                                                         : "alerts, not retraining triggers")};
      }
    }
    return {};
  };
  for (const auto& m : c.models) {
    for (const auto& rule : m.rules) {
      const auto it = rule->spec().where_key.find("sinks");
      DRIFTD_TRY(check_sinks(
          rule->spec().sinks,
          it != rule->spec().where_key.end() ? it->second : rule->spec().where + ".sinks",
          alerts::SinkTakes::kAlerts));
    }
  }
  for (const auto& t : *triggers) {
    const auto where = [&](const char* key) {
      const auto it = t->where_key.find(key);
      return it != t->where_key.end() ? it->second : t->where + "." + key;
    };
    DRIFTD_TRY(check_sinks(t->sinks, where("sinks"), alerts::SinkTakes::kTriggers));
    for (const auto& name : t->models) {
      bool known = false;
      for (const auto& m : c.models) known |= m.name == name;
      if (!known) return Error{where("models") + ": no model named '" + name + "' is configured"};
    }
    for (const auto& rule : t->on) {
      bool known = false;
      for (auto& m : c.models) {
        if (!t->applies_to(m.name)) continue;
        for (const auto& r : m.rules) known |= r->name() == rule;
      }
      if (!known) {
        return Error{where("on") + ": no rule named '" + rule +
                     "' is run by the models this trigger applies to"};
      }
    }
    for (auto& m : c.models) {
      if (t->applies_to(m.name)) m.triggers.push_back(t);
    }
  }
  if (c.models.empty()) return Error{source + ": no [[models]]: nothing to monitor"};
  for (const auto& rule : *default_rules) {
    for (const auto& name : rule->spec().models) {
      bool known = false;
      for (const auto& m : c.models) known |= m.name == name;
      if (!known) {
        return Error{rule->spec().where + ".models: no model named '" + name + "' is configured"};
      }
    }
  }
  if (c.sources.empty()) return Error{source + ": no [[sources]]: nothing to read"};
  std::set<std::string> names;
  std::map<std::string, size_t> of_type;
  for (const auto& s : c.sources) {
    if (!names.insert(s.name).second) {
      return Error{source + ": two sources are named '" + s.name + "' (names key the checkpoint)"};
    }
    const SourceType* type = source_type(s.type);
    if (++of_type[s.type] > 1 && !type->one_only.empty()) {
      return Error{source + ": more than one source of type \"" + s.type + "\" (" +
                   std::string(type->one_only) + ")"};
    }
  }
  return c;
}

Status check_daemon_environment(const DaemonConfig& config) {
  for (const SourceConfig& src : config.sources) {
    const SourceType* type = source_type(src.type);
    if (type->check_environment != nullptr) DRIFTD_TRY(type->check_environment(src));
  }
  // The first existing ancestor of the state dir must be a writable dir.
  std::filesystem::path dir = std::filesystem::absolute(config.state_dir);
  std::error_code ec;
  while (!std::filesystem::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) {
    dir = dir.parent_path();
  }
  if (!std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error{"state dir " + config.state_dir + ": " + dir.string() +
                 " is not a writable directory (driftd run would refuse to start)"};
  }
  return {};
}

Result<DaemonConfig> load_daemon_config(const std::string& path) {
  auto file = FileBuffer::load(path);
  if (!file) return file.error();
  return parse_daemon_config(file->text(), path);
}

}  // namespace driftd
