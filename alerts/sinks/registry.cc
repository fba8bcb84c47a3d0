// The sink types: one line each.
#include "alerts/sinks/airflow/airflow.h"
#include "alerts/sinks/alertmanager/alertmanager.h"
#include "alerts/sinks/kafka/kafka_sink.h"
#include "alerts/sinks/log/log_sink.h"
#include "alerts/sinks/slack/slack.h"
#include "alerts/sinks/webhook/webhook.h"

namespace driftd::alerts {

namespace {
constexpr SinkType kSinkTypes[] = {
    {"webhook", SinkTakes::kBoth, kWebhookKeys, make_webhook_sink},
    {"log", SinkTakes::kBoth, kLogSinkKeys, make_log_sink},
    {"alertmanager", SinkTakes::kAlerts, kAlertmanagerKeys, make_alertmanager_sink},
    {"slack", SinkTakes::kBoth, kSlackKeys, make_slack_sink},
    {"kafka", SinkTakes::kBoth, kKafkaSinkKeys, make_kafka_sink},
    {"airflow", SinkTakes::kTriggers, kAirflowKeys, make_airflow_sink},
};
}  // namespace

std::span<const SinkType> sink_types() {
  return kSinkTypes;
}

Result<SinkConfig> parse_sink(const toml::table& t, const std::string& prefix,
                              const std::string& source, const std::string& state_dir) {
  TableReader r(t, prefix, source);
  SinkConfig c;
  SinkSettings& s = c.settings;
  DRIFTD_TRY(r.str("name", s.name));
  DRIFTD_TRY(r.str("type", s.type));
  DRIFTD_TRY(r.duration("timeout", s.timeout_ms));
  DRIFTD_TRY(r.duration("backoff_initial", s.backoff_initial_ms));
  DRIFTD_TRY(r.duration("backoff_max", s.backoff_max_ms));
  if (s.name.empty()) return Error{r.where_table() + ": name is required"};
  const SinkType* type = nullptr;
  std::string types;
  for (const SinkType& st : sink_types()) {
    types += (types.empty() ? "" : ", ") + std::string(st.type);
    if (st.type == s.type) type = &st;
  }
  if (type == nullptr) {
    const toml::node* n = t.get("type");
    return Error{
        (n ? r.where(*n, "type") : r.where_table()) + ": " +
        (s.type.empty() ? std::string("type is required") : "unknown sink type '" + s.type + "'") +
        " (types: " + types + ")"};
  }
  if (s.timeout_ms <= 0 || s.timeout_ms > 600'000) {
    return Error{r.where(*t.get("timeout"), "timeout") + ": must be positive and at most 10m"};
  }
  if (s.backoff_initial_ms <= 0 || s.backoff_max_ms < s.backoff_initial_ms) {
    return Error{r.where_table() + ": backoff_initial must be positive and at most backoff_max"};
  }
  auto sink = type->make(r, s, state_dir);
  if (!sink) return sink.error();
  DRIFTD_TRY(
      r.finish("name, type, timeout, backoff_initial, backoff_max, " + std::string(type->keys)));
  c.sink = std::move(*sink);
  c.takes = type->takes;
  return c;
}

}  // namespace driftd::alerts
