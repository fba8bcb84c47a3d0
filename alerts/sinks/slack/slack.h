// The slack sink: each alert and trigger as a Slack incoming-webhook
// message (https://api.slack.com/messaging/webhooks) with its key figures:
// rule, severity, model and version, feature, value against threshold, the
// window, and the summary annotation; for a trigger, why and the drifting
// features. The webhook URL is a secret (anyone holding it can post), so
// it is read from `url_env` or `url_file`, never the configuration's text.
#pragma once

#include <string>
#include <string_view>

#include "alerts/sinks/sink.h"

namespace driftd::alerts {

inline constexpr std::string_view kSlackKeys = "url_env, url_file, headers, ca_file, channel";

Result<std::shared_ptr<Sink>> make_slack_sink(TableReader& r, const SinkSettings& settings,
                                              const std::string& state_dir);

// The message (Slack's JSON) for a notification's body.
Result<std::string> slack_message_json(std::string_view body, std::string_view channel);

}  // namespace driftd::alerts
