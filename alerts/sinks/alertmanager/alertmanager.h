// The alertmanager sink: alerts POSTed to Alertmanager's API v2
// (POST <url>/api/v2/alerts, a JSON array of postable alerts: labels,
// annotations, startsAt, endsAt, generatorURL). Alertmanager forgets an
// alert that is not said again, so the alerts firing are re-sent every
// `repeat_interval` (default 1m) with endsAt four intervals ahead, as
// Prometheus does: if driftd stops for good, they resolve by themselves.
// A resolve is sent with endsAt at the window that resolved it. After a
// restart the alerts still firing are read back from the outbox and
// re-sent. Triggers are not alerts: this sink takes alerts only.
#pragma once

#include <string>
#include <string_view>

#include "alerts/sinks/sink.h"

namespace driftd::alerts {

inline constexpr std::string_view kAlertmanagerKeys =
    "url, headers, ca_file, repeat_interval, bearer_token_env, bearer_token_file";

Result<std::shared_ptr<Sink>> make_alertmanager_sink(TableReader& r, const SinkSettings& settings,
                                                     const std::string& state_dir);

// One postable alert (a JSON object) from a notification's body, at wall
// clock `now_ms`; endsAt is now + `valid_for_ms` while firing. An error
// for a body that is not an alert notification.
Result<std::string> alertmanager_alert_json(std::string_view body, int64_t now_ms,
                                            int64_t valid_for_ms);

}  // namespace driftd::alerts
