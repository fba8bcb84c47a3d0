#include "alerts/sinks/webhook/webhook.h"

#include <openssl/hmac.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>

#include "alerts/http/http_post.h"
#include "driftd/io/base64.h"
#include "driftd/io/json_writer.h"
#include "src/common/time_format.h"

namespace driftd::alerts {

std::optional<std::vector<unsigned char>> webhook_key(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) {
    return base64_decode(secret.substr(kPrefix.size()));
  }
  return std::vector<unsigned char>(secret.begin(), secret.end());
}

std::string webhook_signature(std::span<const unsigned char> key, std::string_view id,
                              int64_t timestamp, std::string_view body) {
  const std::string signed_content =
      std::string(id) + "." + std::to_string(timestamp) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
       &mac_len);
  std::string out = "v1,";
  base64_append(out, std::span<const unsigned char>(mac, mac_len));
  return out;
}

std::string webhook_message_id(std::string_view notification_key) {
  const XXH128_hash_t h = XXH3_128bits(notification_key.data(), notification_key.size());
  char buf[40];
  std::snprintf(buf, sizeof buf, "msg_%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

namespace {

class WebhookSink final : public Sink {
 public:
  WebhookSink(SinkSettings settings, HttpTarget target, std::vector<unsigned char> key,
              std::string cloudevents_source)
      : settings_(std::move(settings)),
        target_(std::move(target)),
        key_(std::move(key)),
        cloudevents_source_(std::move(cloudevents_source)) {}

  Delivery deliver(const OutboxItem& item) override {
    const std::string id = webhook_message_id(item.key);
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t timestamp = now_ms / 1000;
    HttpPost post;
    post.body = cloudevents_source_.empty()
                    ? item.body
                    : cloudevent_json(item, id, cloudevents_source_, now_ms);
    if (!cloudevents_source_.empty()) post.content_type = "application/cloudevents+json";
    post.headers.push_back("webhook-id: " + id);
    post.headers.push_back("webhook-timestamp: " + std::to_string(timestamp));
    post.headers.push_back("webhook-signature: " +
                           webhook_signature(key_, id, timestamp, post.body));
    return http_.post(target_, post, settings_.timeout_ms);
  }

 private:
  SinkSettings settings_;
  HttpTarget target_;
  std::vector<unsigned char> key_;
  std::string cloudevents_source_;  // empty: the notification as it is
  HttpClient http_;
};

}  // namespace

std::string cloudevent_json(const OutboxItem& item, std::string_view id, std::string_view source,
                            int64_t now_ms) {
  // CloudEvents 1.0, structured content mode (JSON event format).
  JsonWriter j(-1);
  j.begin_object();
  j.key("specversion").value("1.0");
  j.key("id").value(id);
  j.key("source").value(source);
  j.key("type").value(item.kind == "trigger" ? std::string("dev.driftd.trigger")
                                             : std::string("dev.driftd.alert.") +
                                                   (item.firing ? "firing" : "resolved"));
  j.key("time").value(format_rfc3339_ms(now_ms));
  j.key("datacontenttype").value("application/json");
  j.key("data").raw_value(item.body);
  j.end_object();
  return std::move(j.str());
}

Result<std::shared_ptr<Sink>> make_webhook_sink(TableReader& r, const SinkSettings& settings,
                                                const std::string&) {
  HttpTarget target;
  DRIFTD_TRY(read_http_target(r, target));
  auto secret = read_secret(r, "secret", true);
  if (!secret) return secret.error();
  std::string envelope, source = "urn:driftd";
  DRIFTD_TRY(r.str("envelope", envelope));
  DRIFTD_TRY(r.str("cloudevents_source", source));
  if (!envelope.empty() && envelope != "cloudevents" && envelope != "none") {
    return Error{r.where(*r.table().get("envelope"), "envelope") +
                 ": expected \"none\" or \"cloudevents\""};
  }
  auto key = webhook_key(*secret);
  if (!key || key->empty()) {
    return Error{r.where_table() + ": the secret starts with whsec_ but is not base64 after it"};
  }
  return std::shared_ptr<Sink>(
      std::make_shared<WebhookSink>(settings, std::move(target), std::move(*key),
                                    envelope == "cloudevents" ? std::move(source) : std::string()));
}

}  // namespace driftd::alerts
