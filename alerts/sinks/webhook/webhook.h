// The webhook sink: each notification POSTed as JSON (docs/ALERTS.md) and
// signed per the Standard Webhooks spec (https://www.standardwebhooks.com):
//   webhook-id         msg_ + a digest of the notification's key: the same
//                      on every retry and after a restart, so a receiver
//                      can drop repeats
//   webhook-timestamp  seconds since the epoch, at the attempt
//   webhook-signature  v1,<base64 HMAC-SHA256(key, id.timestamp.body)>
// The secret comes from an environment variable or a file, never the
// configuration's text, and is never logged; "whsec_<base64>" secrets are
// decoded as the spec says. HTTPS through libcurl, certificates verified.
// `envelope = "cloudevents"` wraps the body in a CloudEvents 1.0 event.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/sinks/sink.h"

namespace driftd::alerts {

inline constexpr std::string_view kWebhookKeys =
    "url, headers, ca_file, secret_env, secret_file, envelope, cloudevents_source";

Result<std::shared_ptr<Sink>> make_webhook_sink(TableReader& r, const SinkSettings& settings,
                                                const std::string& state_dir);

// The HMAC key of a secret: "whsec_<base64>" decoded, else the secret's
// bytes; nullopt for a whsec_ secret whose base64 is invalid.
std::optional<std::vector<unsigned char>> webhook_key(std::string_view secret);
// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
std::string webhook_signature(std::span<const unsigned char> key, std::string_view id,
                              int64_t timestamp, std::string_view body);
// "msg_" + 32 hex digits of the key's XXH3-128.
std::string webhook_message_id(std::string_view notification_key);
// The notification in a CloudEvents 1.0 envelope (structured mode, JSON
// format): type dev.driftd.alert.firing|resolved or dev.driftd.trigger.
std::string cloudevent_json(const OutboxItem& item, std::string_view id, std::string_view source,
                            int64_t now_ms);

}  // namespace driftd::alerts
